"""A hosted model that fails: every fault ends in bounded retries and one clear line, or in a run that
recovers; the partial trace is kept; secrets never leak."""
import json
import socket

import pytest

from tests.conftest import ROOT, run_cli
from tests.fakes import FaultyOpenAI, openai_tool_call

pytestmark = pytest.mark.slow
COVER = str(ROOT / "covers" / "midnight-orbit.png")
KEY = "sk-fault-test-0123456789"

PLAN = [openai_tool_call("set_genre", {"genre": "synthwave", "rationale": "neon planet"}),
        openai_tool_call("set_mood", {"moods": ["dreamy"], "energy": 0.5, "valence": 0.5, "rationale": "glow"}),
        openai_tool_call("set_tempo", {"bpm": 100, "rationale": "orbit"}),
        openai_tool_call("set_key", {"key": "F#", "mode": "minor", "rationale": "night"}),
        openai_tool_call("set_time_signature", {"time_signature": "4/4", "rationale": "centred"}),
        openai_tool_call("set_instruments", {"instruments": ["synth pad", "synth bass"], "rationale": "space"}),
        openai_tool_call("generate_music", {}), {"content": "Dreamy synthwave at 100 BPM."}]
ok = [{"message": m} for m in PLAN]


def run_against(tmp_path, config_file, base_url, max_steps=24):
    alias = {"backend": "openai", "model": "stub", "base_url": base_url, "api_key_env": "STUB_KEY",
             "max_retries": 2, "timeout_s": 1.5, "mode": "free"}
    cfg = config_file({"aliases": {"stub": alias}, "agent": {"max_steps": max_steps, "max_retries": 2}})
    out = tmp_path / "out"
    proc = run_cli("--config", str(cfg), "generate", COVER, "-o", str(out), "-m", "stub", "--duration", "2",
                   "--seed", "1", "--no-verify", env={"STUB_KEY": KEY})
    run_dirs = list(out.iterdir()) if out.exists() else []
    return proc, (run_dirs[0] if run_dirs else None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


FAILURES = [  # (name, actions, message fragment, requests the server should see)
    ("read timeout", [{"sleep": 3}], "did not answer in time (read timeout)", 3),
    ("429 on every retry", [{"status": 429, "headers": {"Retry-After": "0"}}], "rate limited (HTTP 429)", 3),
    ("500", [{"status": 500}], "HTTP 500", 3),
    ("503", [{"status": 503}], "HTTP 503", 3),
    ("400 is not retried", [{"status": 400}], "HTTP 400", 1),
    ("401 is not retried", [{"status": 401}], "not authorised (HTTP 401)", 1),
    ("truncated JSON body", [{"raw": b'{"id": "x", "object": "chat.completion", "choi'}], "malformed response", None),
    ("tools forever", [{"message": openai_tool_call("set_tempo", {"bpm": 100, "rationale": "again"})}],
     "did not finish within 8 steps", None),
    ("500 echoing the key", [{"echo_auth": True}], "HTTP 500", 3),
]


@pytest.mark.parametrize("name, actions, fragment, requests", FAILURES, ids=[f[0] for f in FAILURES])
def test_backend_failures_exit_1_with_one_line_and_keep_the_partial_trace(tmp_path, config_file, name, actions,
                                                                          fragment, requests):
    server = FaultyOpenAI(actions)
    try:
        proc, run_dir = run_against(tmp_path, config_file, server.base_url, max_steps=8)
    finally:
        server.close()
    assert proc.returncode == 1, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: llm openai stub at http://127.0.0.1:") and fragment in last, last
    assert "Traceback" not in proc.stderr
    if requests is not None:
        assert len(server.requests) == requests
    trace = json.loads((run_dir / "trace.json").read_text())
    assert trace["status"] == "failed" and fragment in trace["error"]
    assert "MIDNIGHT ORBIT" in trace["description"]["text"]
    assert not list(run_dir.glob("audio.*"))
    for text in (proc.stderr, proc.stdout, (run_dir / "trace.json").read_text(), (run_dir / "trace.md").read_text()):
        assert KEY not in text


def test_connection_refused(tmp_path, config_file):
    proc, run_dir = run_against(tmp_path, config_file, f"http://127.0.0.1:{_free_port()}/v1")
    assert proc.returncode == 1
    assert "cannot connect (connection refused or reset)" in proc.stderr.strip().splitlines()[-1]
    assert json.loads((run_dir / "trace.json").read_text())["status"] == "failed"


RECOVERIES = [  # the model misbehaves but the run recovers: fed-back errors, retries, documented defaults
    ("429 then fine", [{"status": 429, "headers": {"Retry-After": "1"}}] + ok, None),
    ("503 then fine", [{"status": 503}] + ok, None),
    ("arguments not JSON", [{"message": openai_tool_call("set_tempo", "{\"bpm\": 1")}] * 3 + ok, "not valid JSON"),
    ("unknown tool", [{"message": openai_tool_call("write_file", {"path": "../../etc/x"})}] + ok, None),
    ("plain text, no tool call", [{"message": {"content": "I would make it jazz."}}], None),
    ("empty answer", [{"message": {"content": ""}}], None),
]


@pytest.mark.parametrize("name, actions, traced_error", RECOVERIES, ids=[r[0] for r in RECOVERIES])
def test_model_misbehaviour_is_recovered_and_explained(tmp_path, config_file, name, actions, traced_error):
    server = FaultyOpenAI(actions)
    try:
        proc, run_dir = run_against(tmp_path, config_file, server.base_url)
    finally:
        server.close()
    assert proc.returncode == 0, proc.stderr
    trace = json.loads((run_dir / "trace.json").read_text())
    assert trace["status"] == "ok" and (run_dir / "audio.wav").exists()
    if traced_error:
        assert any(traced_error in (s["error"] or "") for s in trace["steps"])
    if name in ("plain text, no tool call", "empty answer"):
        assert [s["name"] for s in trace["steps"] if s["kind"] == "fallback"][:2] == ["set_genre", "set_mood"]
        assert "warning: the model never set genre; the evidence prior decided" in proc.stderr
    assert not (tmp_path / "etc").exists() and not (ROOT.parent / "etc" / "x").exists()
