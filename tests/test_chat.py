"""Chat refinement and the run store: edits as asked, undo, resume after a crash, concurrent writers."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from langchain_core.messages import AIMessage

from agent.api import AlbumGen
from agent.chat.session import ChatSession
from agent.config import load_config
from agent.store import MIGRATIONS, RunStore
from tests.conftest import ROOT, run_cli
from tests.fakes import ScriptedChatModel, call

COVER = str(ROOT / "covers" / "midnight-orbit.png")
PLAN = [
    call("set_genre", genre="synthwave", rationale="E1 neon magenta planet"),
    call("set_mood", moods=["dreamy"], energy=0.5, valence=0.5, rationale="E5 soft violet glow"),
    call("set_tempo", bpm=100, rationale="E7 a slow orbit"),
    call("set_key", key="F#", mode="minor", rationale="E2 dark night sky"),
    call("set_time_signature", time_signature="4/4", rationale="E8 centred layout"),
    call("set_instruments", instruments=["synth pad", "synth bass"], rationale="E11 the word orbit"),
    call("set_era", era="1980s", rationale="E11 retro type"),
]


@pytest.fixture()
def store(tmp_path):
    s = RunStore(tmp_path / "runs.db")
    yield s
    s.close()


def scripted_app(model):
    app = AlbumGen(load_config(), profile="offline", chat_model=model)
    app.mode = "free"
    return app


def test_migrations_are_ordered_recorded_and_idempotent(tmp_path):
    first = RunStore(tmp_path / "r.db")
    again = RunStore(tmp_path / "r.db")
    rows = first.db.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall()
    assert [tuple(r) for r in rows] == [(i, name) for i, (name, _) in enumerate(MIGRATIONS, start=1)]
    assert first.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    first.close(), again.close()


@pytest.mark.slow
def test_scripted_model_chat_makes_the_exact_edits(tmp_path, store):
    model = ScriptedChatModel().enqueue(*PLAN, call("generate_music"), AIMessage(content="done"))
    app = scripted_app(model)
    session, first = ChatSession.start(app, store, COVER, tmp_path, duration=3, seed=9)
    assert first.data["take"] == 1 and first.data["spec"]["tempo_bpm"] == 100
    # an explicit request is read directly; the model is not asked
    slower = session.handle("slower please")
    assert slower.data["changes"] == ["tempo_bpm 100 → 85"] and slower.data["spec"]["seed"] == 9
    # a free-form request goes to the model, which picks the edit tools
    model.enqueue(call("set_instruments", instruments=["synth pad", "synth bass", "saxophone"],
                       rationale="listener wants a lonely sax"), call("generate_music"), AIMessage(content="ok"))
    sax = session.handle("give it something lonely and human on top")
    assert sax.data["changes"] == ["+ saxophone"]
    prompt = str(model.seen[-3]["messages"][-1].content)
    assert "give it something lonely" in prompt and "take 2: tempo_bpm 100 → 85" in prompt  # bounded memory
    another = session.handle("another take")
    assert [c.split(" ")[0] for c in another.data["changes"]] == ["seed"]
    undo = session.handle("/undo")
    assert undo.data["spec"] == sax.data["spec"]
    takes = store.takes(session.id)
    assert len(takes) == 4 and [t.spec.seed for t in takes][:3] == [9, 9, 9] and takes[3].spec.seed != 9
    # a listener's tempo outside synthwave's range is made, and the reply says so in its own turn
    fast = session.handle("make it 170 bpm")
    assert fast.data["spec"]["tempo_bpm"] == 170 and any("outside synthwave's range" in w for w in fast.data["warnings"])
    assert any(line.startswith("warning: ") and "outside synthwave's range" in line for line in fast.lines)
    calm = session.handle("slower please")  # a later turn shows only its own warnings
    assert not any("outside synthwave's range" in line for line in calm.lines) or calm.data["spec"]["tempo_bpm"] > 118
    assert session.handle("/quit").quit


@pytest.mark.slow
def test_chat_cli_with_smollm2_over_piped_stdin(tmp_path):
    home = tmp_path / "home"
    script = "slower\nadd saxophone\nanother take\n/undo\n120 bpm\n/takes\n"
    proc = subprocess.run([sys.executable, "-m", "agent.cli", "chat", COVER, "-o", str(tmp_path / "out"),
                           "--duration", "4", "--seed", "5", "--json"], input=script, capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "ALBUMGEN_HOME": str(home)}, timeout=600)
    assert proc.returncode == 0, proc.stderr
    turns = [json.loads(line) for line in proc.stdout.splitlines()]
    first, slower, sax, another, undo, bpm, takes = turns
    assert slower["spec"]["tempo_bpm"] < first["spec"]["tempo_bpm"]
    assert "saxophone" in sax["spec"]["instruments"] and sax["spec"]["seed"] == first["spec"]["seed"] == 5
    assert another["spec"]["seed"] != 5 and another["spec"]["instruments"] == sax["spec"]["instruments"]
    assert undo["spec"] == sax["spec"]
    assert bpm["spec"]["tempo_bpm"] == 120 and bpm["spec"]["seed"] == 5
    store = RunStore(home / "runs.db")
    sessions = store.sessions()
    assert len(sessions) == 1 and sessions[0].takes == 5 and len(takes["takes"]) == 5
    assert store.integrity() == "ok"


@pytest.mark.slow
def test_kill_9_mid_generation_then_resume(tmp_path):
    home = tmp_path / "home"
    env = {**os.environ, "ALBUMGEN_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-m", "agent.cli", "chat", COVER, "-o", str(tmp_path / "out"),
                             "--duration", "60", "--seed", "2", "--json"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    proc.stdin.write("slower\n")
    proc.stdin.flush()
    first = json.loads(proc.stdout.readline())
    deadline = time.time() + 120
    db = home / "runs.db"
    while time.time() < deadline:  # wait until the second turn is generating, then kill -9
        with sqlite3.connect(db) as con:
            if con.execute("SELECT COUNT(*) FROM turns WHERE status='running'").fetchone()[0]:
                break
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    store = RunStore(db)
    assert store.integrity() == "ok"
    turns = store.turns(first["session"])
    assert [t.status for t in turns] == ["ok", "running"] and len(store.takes(first["session"])) == 1
    resumed = run_cli("chat", "--resume", first["session"], "--json", env=env)
    assert resumed.returncode == 0, resumed.stderr
    hello = json.loads(resumed.stdout.splitlines()[0])
    assert hello == {"session": first["session"], "takes": 1}
    assert RunStore(db).integrity() == "ok"


@pytest.mark.slow
def test_threads_read_and_write_one_store_at_once(tmp_path):
    """The web app's sessions share one RunStore: reads and writes from many threads at once."""
    import threading

    store, errors, ids = RunStore(tmp_path / "runs.db"), [], []

    def writer(k: int) -> None:
        try:
            sid = store.new_session("chat", f"c{k}.png", "sha", "offline", "smollm2", str(tmp_path))
            ids.append(sid)
            for n in range(20):
                store.add_message(sid, "user", f"message {n}")
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    def reader() -> None:
        try:
            for _ in range(40):
                for row in store.sessions(50):
                    store.messages(row.id, 5)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)] + [threading.Thread(target=reader)
                                                                               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(store.sessions(50)) == 4
    assert all(len(store.messages(sid, 100)) == 20 for sid in ids) and store.integrity() == "ok"


def test_two_processes_write_the_same_store(tmp_path):
    env = {**os.environ, "ALBUMGEN_HOME": str(tmp_path / "home")}
    cmds = [[sys.executable, "-m", "agent.cli", "generate", COVER, "-o", str(tmp_path / f"out{i}"), "--duration", "2",
             "--seed", str(i), "--no-verify"] for i in (1, 2)]
    procs = [subprocess.Popen(c, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for c in cmds]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    store = RunStore(tmp_path / "home" / "runs.db")
    rows = store.sessions()
    assert len(rows) == 2 and all(r.kind == "generate" and r.takes == 1 for r in rows)
    assert store.integrity() == "ok"
    shown = run_cli("runs", "show", rows[0].id, env=env)
    assert shown.returncode == 0 and "## How the agent decided" in shown.stdout
    listed = run_cli("runs", "list", env=env)
    assert rows[0].id in listed.stdout and rows[1].id in listed.stdout
    replayed = run_cli("runs", "replay", rows[0].id, "-o", str(tmp_path / "replays"), env=env)
    assert replayed.returncode == 0 and "identical to the original take" in replayed.stdout, replayed.stdout


@pytest.mark.parametrize("args", [["runs", "show", "nope123"], ["runs", "replay", "nope123"],
                                  ["chat", "--resume", "nope123"]])
def test_unknown_run_ids_are_one_line_errors(tmp_path, args):
    proc = run_cli(*args, env={"ALBUMGEN_HOME": str(tmp_path)})
    assert proc.returncode == 2 and proc.stderr.strip() == \
        "error: run 'nope123' not found: see `albumgen runs list` for ids"
