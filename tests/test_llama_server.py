"""A real third-party OpenAI-compatible server: llama-cpp-python's own server serving the SmolLM2 GGUF on
loopback. The `openai` backend runs a whole `albumgen generate` against it, as with vLLM, Ollama or LM Studio."""
import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from agent.planning.llm import builtin_gguf
from tests.conftest import ROOT, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    pytest.importorskip("llama_cpp.server", reason="needs llama-cpp-python[server]")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(builtin_gguf("smollm2")),
                             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--model_alias", "smollm2"],
                            stdout=subprocess.DEVNULL, stderr=log.open("w"))  # a file: a full pipe would block it
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
        if proc.poll() is not None:
            pytest.fail(f"llama_cpp.server exited: {log.read_text()[-2000:]}")
    else:
        proc.kill()
        pytest.fail("llama_cpp.server did not start within 90 s")
    yield url
    proc.terminate()  # uvicorn waits for a request still in flight; a server that does not stop is killed
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)


@pytest.mark.parametrize("mode", ["guided", "free"])
def test_generate_against_llama_cpp_server(tmp_path, config_file, llama_server, mode):
    alias = {"backend": "openai", "model": "smollm2", "base_url": llama_server, "mode": mode, "timeout_s": 120}
    cfg = config_file({"aliases": {"local-server": alias}})
    proc = run_cli("--config", str(cfg), "generate", str(ROOT / "covers" / "midnight-orbit.png"), "-o",
                   str(tmp_path), "-m", "local-server", "--duration", "4", "--seed", "2", "--json",
                   timeout=540)  # free mode: up to 24 steps of a 135M model on 2 cores (110 s here)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    trace = json.loads(open(result["trace"]).read())
    assert trace["status"] == "ok" and trace["backends"]["llm"] == {"backend": "openai", "model": "smollm2",
                                                                     "base_url": llama_server}
    llm_calls = [s for s in trace["steps"] if s["kind"] == "llm_call"]
    assert llm_calls and all(s["error"] is None for s in llm_calls)
    if mode == "guided":  # forced tool calls come back as real tool calls through the server
        assert sum(bool(s["detail"]["tool_calls"]) for s in llm_calls) >= 4
    assert set(result["spec"]) >= {"genre", "tempo_bpm", "key", "mode"} and result["spec"]["tempo_bpm"]
