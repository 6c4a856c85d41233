"""The run pipeline: per-run options that concurrent runs cannot share, validated once."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agent.run.pipeline import RunOptions
from tests.conftest import ROOT
from tools.errors import InputError

COVER = ROOT / "covers" / "midnight-orbit.png"


def test_run_options_are_frozen_and_each_bad_value_is_one_line():
    options = RunOptions(duration_s=4, seed=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.takes = 3  # type: ignore[misc]
    for bad, fragment in [({"audio_format": "mp3"}, "--format mp3 is not supported: use wav or flac"),
                          ({"takes": 9}, "--takes 9 is out of range: use 1 to 8"),
                          ({"duration_s": 0.1}, "--duration 0.1 is out of range"),
                          ({"seed": -1}, "--seed -1 is out of range")]:
        with pytest.raises(InputError, match=fragment.replace("(", r"\(")):
            RunOptions(**{"duration_s": 4, "seed": 1, **bad})


def test_resolve_fills_what_was_not_asked_from_the_config():
    from agent.config import load_config

    config = load_config()
    options = RunOptions.resolve(config, duration=3, takes=2)
    assert (options.duration_s, options.takes, options.audio_format, options.verify) == \
        (3.0, 2, config.defaults.audio_format, config.verify.enabled)
    assert 0 <= options.seed < 2**31 and RunOptions.resolve(config).seed != RunOptions.resolve(config).seed


# Run in a child process: a crash of the whole interpreter (as two threads sharing one llama.cpp context
# once caused, with exit status 0 and no output) must fail the test, not end pytest. Four callers share one
# pipeline (its models) and one run store, as the web server's sessions and a chat do.
CONCURRENT = textwrap.dedent("""
    import json, sys, threading
    from agent.api import AlbumGen
    from agent.chat.session import ChatSession
    from agent.config import load_config
    from web.app import WebApp

    cover, out = sys.argv[1], sys.argv[2]
    app = AlbumGen(profile="offline")
    web = WebApp(load_config(), "offline", out + "/web")
    web._apps[("offline", "(profile)")] = app  # the server's one pipeline per profile, shared with the others
    asked = {"a": dict(takes=3, audio_format="flac", verify=False, seed=11),
             "b": dict(takes=1, audio_format="wav", verify=True, seed=12)}
    results, errors, sessions = {}, {}, {}
    start = threading.Barrier(4)
    quiet = lambda *args, **kwargs: None

    def run(name):
        results[name] = app.generate(cover, out_dir=out + "/" + name, duration=4, log=False, **asked[name])

    def chat(name):
        session, _ = ChatSession.start(app, web.store, cover, out + "/chat", 4.0, 13)
        session.handle("slower")
        sessions[name] = session.id

    def browser(name):
        state, _chat, *_rest, status, _msg, _ev, _dec = web.generate(cover, "offline", "(profile)", 4, 14, quiet)
        assert "take 1 ready" in status, status
        state, _chat, *_rest, status, _msg, _ev, _dec = web.send(state, "more energy", _chat, quiet)
        assert not status.startswith("**Error"), status
        sessions[name] = state.id

    def guarded(job, name):
        start.wait()
        try:
            job(name)
        except BaseException as exc:
            errors[name] = repr(exc)

    jobs = [(run, "a"), (run, "b"), (chat, "chat"), (browser, "web")]
    threads = [threading.Thread(target=guarded, args=job) for job in jobs]
    for t in threads: t.start()
    for t in threads: t.join()
    takes = {n: [{"spec": t.spec.model_dump(mode="json"), "audio": t.audio_path} for t in web.store.takes(i)] for n, i in sessions.items()}
    print(json.dumps({"errors": errors, "takes": takes,
                      "runs": {n: {"dir": str(r.run_dir), "files": sorted(p.name for p in r.run_dir.iterdir()),
                               "trace": json.loads(r.trace_path.read_text())} for n, r in results.items()}}))
""")


@pytest.mark.slow
def test_concurrent_runs_chat_and_web_sessions_on_one_pipeline_each_get_their_own(tmp_path):
    proc = subprocess.run([sys.executable, "-c", CONCURRENT, str(COVER), str(tmp_path)], capture_output=True,
                          text=True, cwd=ROOT, timeout=900, env={**os.environ, "ALBUMGEN_HOME": str(tmp_path / "home")})
    assert proc.returncode == 0 and proc.stdout.strip(), f"the process died: rc {proc.returncode}\n{proc.stderr[-2000:]}"
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["errors"] == {}
    a, b = out["runs"]["a"], out["runs"]["b"]
    assert [f for f in a["files"] if f.startswith(("take-", "audio")) and "." in f] == ["take-1.flac", "take-2.flac", "take-3.flac"]
    assert {"take-1", "take-2", "take-3"} <= set(a["files"])  # each take's MIDI and stems in its own folder
    assert [f for f in b["files"] if f.startswith(("take-", "audio"))] == ["audio.wav"]
    assert a["trace"]["verification"] is None and a["trace"]["attempts"] == [] and len(a["trace"]["takes"]) == 3
    assert b["trace"]["verification"]["chosen"] >= 1 and b["trace"]["takes"] == []
    assert a["trace"]["spec"]["seed"] == 11 and b["trace"]["spec"]["seed"] == 12
    assert a["trace"]["status"] == b["trace"]["status"] == "ok"
    # the chat and the browser session: two takes each, in their own folders, the second as asked
    chat, web = out["takes"]["chat"], out["takes"]["web"]
    assert len(chat) == len(web) == 2
    assert chat[1]["spec"]["tempo_bpm"] < chat[0]["spec"]["tempo_bpm"] and chat[0]["spec"]["seed"] == 13
    assert web[1]["spec"]["energy"] > web[0]["spec"]["energy"] and web[0]["spec"]["seed"] == 14
    folders = [str(Path(t["audio"]).parent) for t in chat + web]
    assert len(set(folders)) == 4 and all(Path(t["audio"]).exists() for t in chat + web)


def test_the_first_describe_and_the_preloads_imports_take_turns(monkeypatch):
    """Two threads importing scipy at once left a batch worker with a half-initialised scipy ('cannot import
    name ... from partially initialized module'), failing every later cover: the first describe holds the
    import turn, the preload's scientific imports wait for it, and later describes hold nothing."""
    import threading

    from agent.run import pipeline

    monkeypatch.setattr(pipeline, "_IMPORTED", threading.Event())  # a fresh process: no describe yet

    def turn_free() -> bool:  # asked from another thread, as the preload asks
        got = []

        def ask():
            got.append(pipeline._IMPORTS.acquire(blocking=False))
            if got[0]:
                pipeline._IMPORTS.release()

        thread = threading.Thread(target=ask)
        thread.start()
        thread.join()
        return got[0]

    with pytest.raises(InputError), pipeline._first_imports():  # a describe that fails keeps the turn for the next
        assert not turn_free()
        raise InputError("unreadable cover")
    assert turn_free() and not pipeline._IMPORTED.is_set()
    with pipeline._first_imports():
        assert not turn_free()
    assert pipeline._IMPORTED.is_set()
    with pipeline._first_imports():
        assert turn_free()  # later describes run alongside the preload
