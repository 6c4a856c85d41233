"""Agent LLM backends for real: SmolLM2 GGUF through llama-cpp, ChatOpenAI against a loopback server
(scripted tool calls incl. invalid ones) through the whole API, and a tiny transformers causal LM."""
import json
import os
import subprocess
import sys

import pytest

from agent.api import AlbumGen
from agent.config import load_config
from agent.planning.llm import LLM_BACKENDS, builtin_gguf
from agent.planning.loop import Agent, ToolBox
from agent.trace import Trace
from tests.conftest import DATA, ROOT
from tests.fakes import LoopbackOpenAI, openai_tool_call
from tools.spec import SETTERS, SpecEditor


def _guided(chat_model, retries=2):
    trace = Trace(run_id="t")
    box = ToolBox(SpecEditor(), trace, lambda: "ok: generated")
    Agent(chat_model, box, trace, max_retries=retries).run("guided", load_description())
    return box, trace


def load_description() -> str:
    return ("Dominant colours: deep indigo 60%, magenta 20%. Lighting: dark, vivid, cool. A ringed planet over a "
            "starry sky. Text on the cover: \"MIDNIGHT ORBIT\" (0.95).")


def test_smollm2_is_located_inside_its_package():
    path = builtin_gguf("smollm2")
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50_000_000


@pytest.mark.slow
def test_smollm2_guided_agent_yields_a_valid_complete_spec():
    model = LLM_BACKENDS.create("llama-cpp", {"model": "smollm2"}).chat_model()
    box, trace = _guided(model)
    spec = box.editor.spec
    assert spec.missing() == []
    llm_calls = [s for s in trace.steps if s.kind == "llm_call"]
    assert len(llm_calls) >= len(SETTERS) and all(s.detail["tool_choice"] for s in llm_calls)
    decided = {s.name for s in trace.tool_calls() if s.result and not s.arguments.get("rationale", "").startswith("fallback")}
    assert len(decided) >= 4, f"SmolLM2 decided only {decided}"
    for step in trace.tool_calls():
        if step.result and step.name in SETTERS:
            assert len(step.arguments["rationale"]) >= 3


SCRIPT = [
    openai_tool_call("set_genre", {"genre": "synthwave", "rationale": "E1 neon magenta planet, retro-futurist type"}),
    openai_tool_call("set_tempo", {"bpm": 900, "rationale": "orbit speed"}, 1),
    openai_tool_call("set_tempo", "{\"bpm\": 100, \"rationale\": ", 2),  # truncated JSON arguments
    openai_tool_call("set_tempo", {"bpm": 100, "rationale": "E7 steady cruising pace of an orbit"}, 3),
    openai_tool_call("set_mood", {"moods": ["nostalgic", "dreamy"], "energy": 0.55, "valence": 0.5,
                                  "rationale": "E2 dark sky with E4 warm glow"}, 4),
    openai_tool_call("set_key", {"key": "F#", "mode": "minor", "rationale": "E2 deep indigo night"}, 5),
    openai_tool_call("set_time_signature", {"time_signature": "4/4", "rationale": "E8 symmetric layout"}, 6),
    openai_tool_call("set_instruments", {"instruments": ["synth lead", "synth pad", "synth bass", "drum machine"],
                                         "rationale": "E1 space, neon"}, 7),
    openai_tool_call("set_era", {"era": "1980s", "rationale": "E1 retro typography"}, 8),
    openai_tool_call("generate_music", {}, 9),
    {"content": "Nostalgic synthwave in F# minor at 100 BPM."},
]


@pytest.mark.slow
def test_openai_backend_runs_the_whole_pipeline_against_a_loopback_server(tmp_path, monkeypatch, config_file):
    server = LoopbackOpenAI(list(SCRIPT))
    monkeypatch.setenv("LOOPBACK_KEY", "sk-loopback-secret")
    alias = {"backend": "openai", "model": "scripted", "base_url": server.base_url, "api_key_env": "LOOPBACK_KEY",
             "max_retries": 0, "mode": "free"}
    try:
        app = AlbumGen(load_config(config_file({"aliases": {"loop": alias}})), profile="offline", model="loop")
        result = app.generate(DATA / "chelsea.png", out_dir=tmp_path, duration=3, seed=11)
    finally:
        server.close()
    spec = result.spec
    assert (spec.genre, spec.tempo_bpm, spec.key, spec.mode) == ("synthwave", 100, "F#", "minor")
    assert sorted(p.name for p in result.run_dir.iterdir()) == ["audio.wav", "evidence.png", "sketch.mid",
                                                                "spec.json", "stems", "trace.json", "trace.md"]
    trace = json.loads(result.trace_path.read_text())
    assert trace["status"] == "ok" and trace["backends"]["llm"]["base_url"] == server.base_url
    tempo_calls = [s for s in trace["steps"] if s["kind"] == "tool_call" and s["name"] == "set_tempo"]
    assert [bool(s["error"]) for s in tempo_calls] == [True, True, False]
    assert "(got 900)" in tempo_calls[0]["error"] and "not valid JSON" in tempo_calls[1]["error"]
    invalid = [s for s in trace["steps"] if s["kind"] == "llm_call" and s["detail"]["invalid_tool_calls"]]
    assert len(invalid) == 1
    first = server.requests[0]["body"]
    assert {t["function"]["name"] for t in first["tools"]} == {*SETTERS, "generate_music"}
    assert "sk-loopback-secret" not in result.trace_path.read_text()
    assert server.requests[0]["auth"] == "Bearer sk-loopback-secret"


@pytest.fixture(scope="module")
def tiny_causal_lm_dir(tmp_path_factory):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, LlamaTokenizer

    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("tiny-lm")
    chars = list("abcdefghijklmnopqrstuvwxyz{}\":,0123456789 ▁")
    tok = LlamaTokenizer(vocab={t: i for i, t in enumerate(["<unk>", "<s>", "</s>"] + chars)}, merges=[],
                         unk_token="<unk>", bos_token="<s>", eos_token="</s>")
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=4096,
                      bos_token_id=1, eos_token_id=2)
    LlamaForCausalLM(cfg).save_pretrained(out)
    tok.save_pretrained(out)
    return out


@pytest.mark.slow
def test_transformers_llm_backend_runs_guided_and_falls_back_on_gibberish(tiny_causal_lm_dir):
    backend = LLM_BACKENDS.create("transformers", {"model": str(tiny_causal_lm_dir), "max_new_tokens": 8,
                                                   "device": "cpu"})
    box, trace = _guided(backend.chat_model(), retries=0)
    assert box.editor.spec.missing() == []
    llm_calls = [s for s in trace.steps if s.kind == "llm_call"]
    assert len(llm_calls) == len(SETTERS) and all(s.detail["tokens"]["output_tokens"] >= 1 for s in llm_calls)
    assert {s.name for s in trace.steps if s.kind == "fallback"} <= set(SETTERS)


@pytest.mark.slow
def test_a_local_chat_model_serves_one_caller_at_a_time(tiny_causal_lm_dir):
    """Web sessions and batch threads share one loaded model: calls from many threads take turns."""
    import threading

    from langchain_core.messages import HumanMessage

    chat = LLM_BACKENDS.create("transformers", {"model": str(tiny_causal_lm_dir), "max_new_tokens": 4,
                                                "device": "cpu"}).chat_model()
    real, busy, most = chat.model.generate, [0], [0]

    def counted(*args, **kwargs):  # the real generate, counting callers inside it at once
        busy[0] += 1
        most[0] = max(most[0], busy[0])
        try:
            return real(*args, **kwargs)
        finally:
            busy[0] -= 1

    chat.model.generate = counted
    answers: list = []
    threads = [threading.Thread(target=lambda: answers.append(chat.invoke([HumanMessage("a calm cover")])))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == 4 and most[0] == 1


@pytest.mark.slow
def test_smollm2_scores_are_kept_on_disk_and_read_back_by_a_fresh_process(tmp_path, monkeypatch):
    """A second process with the same model file reads the persisted (calibration) scores back instead of
    evaluating anything; scores about a cover are not kept; a damaged cache file is recomputed; the file is
    named by the model file and the llama.cpp build."""
    from langchain_core.messages import HumanMessage

    from agent.planning import score_cache
    from agent.planning.chat_models import LlamaCppChatModel

    monkeypatch.setenv("ALBUMGEN_HOME", str(tmp_path))
    monkeypatch.setattr(score_cache, "_OPEN", {})
    backend = LLM_BACKENDS.create("llama-cpp", {"model": "smollm2"})
    question = [HumanMessage("<cover>\n(no cover)\n</cover>\nWhich genre fits?")]
    first = backend.chat_model().score_continuations(question, ["jazz", "metal", "ambient"], persist=True)
    backend.chat_model().score_continuations([HumanMessage("<cover>\nA red barn\n</cover>\nWhich genre fits?")], ["folk"])
    files = list((tmp_path / "cache" / "scores").glob("*.json"))
    assert len(files) == 1 and len(json.loads(files[0].read_text())["scores"]) == 3  # not the barn's

    monkeypatch.setattr(score_cache, "_OPEN", {})  # as a fresh process: nothing in memory
    evaluated = []
    real = LlamaCppChatModel._score
    monkeypatch.setattr(LlamaCppChatModel, "_score", lambda self, p, c: evaluated.append(list(c)) or real(self, p, c))
    again = backend.chat_model().score_continuations(question, ["metal", "jazz", "ambient", "folk"], persist=True)
    assert again[:3] == [first[1], first[0], first[2]] and evaluated == [["folk"]]

    files[0].write_text("{not json")
    monkeypatch.setattr(score_cache, "_OPEN", {})
    assert backend.chat_model().score_continuations(question, ["jazz"], persist=True) == [first[0]]
    assert evaluated[-1] == ["jazz"]
    assert score_cache.llama_identity(backend.llama()).endswith(f"llama-cpp-python {__import__('llama_cpp').__version__}")


TURN = """
import sys, time
import tools.registry as registry
if sys.argv[1] == "share":
    registry.limit_threads(1)
if sys.argv[1] == "impatient":
    registry.TURN_WAIT_S = 0.3
with registry.cores_in_turn():
    print(time.monotonic(), flush=True)
    time.sleep(float(sys.argv[2]))
    print(time.monotonic(), flush=True)
"""


def _turn(mode: str, hold_s: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", TURN, mode, str(hold_s)], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True)


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="a worker's share is the whole of one core")
@pytest.mark.parametrize(("mode", "overlap"), [("all", False), ("share", True), ("impatient", True)])
def test_processes_that_use_every_core_take_turns_and_batch_workers_do_not_wait(mode, overlap):
    """Two processes' models never run at once; batch workers (a share of the cores) do not wait, and a
    holder that never lets go (here: one told to wait only 0.3 s) is waited for TURN_WAIT_S at most."""
    # the first holds its turn long enough for the second to start (limit_threads imports torch: ~2 s here)
    first = _turn("share" if mode == "share" else "all", 5.0)
    first_start = float(first.stdout.readline())  # it holds its turn now
    second = _turn(mode, 0.5)
    second_start, _ = map(float, second.communicate(timeout=60)[0].split())
    first_end = float(first.communicate(timeout=60)[0])
    assert first.returncode == second.returncode == 0
    assert (second_start < first_end) is overlap, (first_start, first_end, second_start)
