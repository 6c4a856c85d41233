"""The agent loop on a scripted chat model: tool errors go back to the model, limits hold, all is traced."""
import pytest
from langchain_core.messages import AIMessage, ToolMessage

from agent.planning.loop import GENERATE, Agent, ToolBox
from agent.trace import Trace, to_markdown
from tests.fakes import ScriptedChatModel, call
from tools.errors import BackendError
from tools.spec import SETTERS, SpecEditor

GOOD = [
    call("set_genre", genre="jazz", rationale="a saxophone on a smoky stage"),
    call("set_mood", moods=["calm", "melancholic"], energy=0.3, valence=0.3, rationale="dim blue light"),
    call("set_tempo", bpm=88, rationale="slow, relaxed posture"),
    call("set_key", key="D", mode="minor", rationale="cold blue palette"),
    call("set_time_signature", time_signature="4/4", rationale="steady composition"),
    call("set_instruments", instruments=["piano", "saxophone", "upright bass"], rationale="saxophone pictured"),
    call("set_era", era="1950s", rationale="vintage typography"),
]


def make_agent(model, max_steps=40, max_retries=2):
    trace = Trace(run_id="test")
    generated = []

    def generate_music() -> str:
        """Generate the music."""
        generated.append(1)
        return "ok: generated"

    toolbox = ToolBox(SpecEditor(), trace, generate_music)
    return Agent(model, toolbox, trace, max_steps=max_steps, max_retries=max_retries), trace, generated


def test_free_mode_feeds_tool_errors_back_and_the_model_recovers():
    model = ScriptedChatModel().enqueue(
        GOOD[0], call("set_tempo", bpm=900, rationale="frantic"), call("set_key", key="H", mode="minor", rationale="x y z"),
        *GOOD[1:], call(GENERATE), AIMessage(content="Cool jazz at 88 BPM."))
    agent, trace, generated = make_agent(model)
    agent.run("free", "a smoky jazz club")
    spec = agent.toolbox.editor.spec
    assert spec.tempo_bpm == 88 and spec.key == "D" and spec.missing() == []
    assert generated == [1]
    errors = [s for s in trace.tool_calls() if s.error]
    assert [e.name for e in errors] == ["set_tempo", "set_key"]
    assert errors[0].error == "invalid arguments for set_tempo: bpm: Input should be less than or equal to 220 (got 900)"
    assert errors[1].error.startswith("invalid arguments for set_key: key: Input should be 'C', 'C#'")
    assert errors[1].error.endswith("(got 'H')")
    # the model saw the error as a tool message on its next call
    fed_back = [m for m in model.seen[2]["messages"] if isinstance(m, ToolMessage)]
    assert "error: invalid arguments for set_tempo: bpm: Input should be less than or equal to 220" in fed_back[-1].content
    assert len([s for s in trace.steps if s.kind == "llm_call"]) == 11  # 10 tool calls + the closing sentence
    md = to_markdown(trace)
    assert "set_tempo" in md and "because: slow, relaxed posture" in md


def test_free_mode_step_limit_ends_an_endless_loop_with_a_clear_error():
    model = ScriptedChatModel().enqueue(*[call("set_tempo", bpm=100 + i, rationale="again") for i in range(50)])
    agent, trace, _ = make_agent(model, max_steps=8)
    with pytest.raises(BackendError, match="did not finish within 8 steps"):
        agent.run("free", "cover")


def test_free_mode_model_that_stops_early_gets_defaults_and_music(tmp_path):
    model = ScriptedChatModel().enqueue(GOOD[0], AIMessage(content="Done, it will be jazz."))
    agent, trace, generated = make_agent(model)
    agent.run("free", "cover")
    assert agent.toolbox.editor.spec.missing() == [] and generated == [1]
    fallbacks = [s.name for s in trace.steps if s.kind == "fallback"]
    assert fallbacks == ["set_mood", "set_tempo", "set_key", "set_time_signature", "set_instruments"]
    assert agent.toolbox.editor.spec.tempo_bpm == 120  # jazz default_tempo from prompts/vocabulary.yaml
    assert any(s.kind == "note" and s.name == GENERATE for s in trace.steps)


def test_guided_mode_forces_each_tool_and_falls_back_after_retries():
    bad_tempo = [call("set_tempo", bpm=900, rationale="fast"), AIMessage(content="I think 100"),
                 AIMessage(content="", invalid_tool_calls=[{"name": "set_tempo", "args": "{bpm:", "id": "x",
                                                            "error": "not JSON", "type": "invalid_tool_call"}])]
    model = ScriptedChatModel().enqueue(*GOOD[:2], *bad_tempo, *GOOD[3:])
    agent, trace, generated = make_agent(model, max_retries=2)
    agent.run("guided", "cover")
    choices = [seen["tool_choice"] for seen in model.seen]
    assert choices == ["set_genre", "set_mood", "set_tempo", "set_tempo", "set_tempo", "set_key",
                       "set_time_signature", "set_instruments", "set_era"]
    assert all(seen["tool_names"] == [seen["tool_choice"]] for seen in model.seen)
    fallback = [s for s in trace.steps if s.kind == "fallback"]
    assert [f.name for f in fallback] == ["set_tempo"] and "after 3 tries" in fallback[0].result
    assert agent.toolbox.editor.spec.tempo_bpm == 120 and generated == [1]


def test_toolbox_rejects_unknown_tools_and_bad_argument_types():
    _, trace, _ = make_agent(ScriptedChatModel())
    box = ToolBox(SpecEditor(), trace, lambda: "ok")
    assert box.execute("write_file", {"path": "../../etc/passwd"}) == (False, "unknown tool 'write_file': use one of "
                                                                       + ", ".join([*SETTERS, GENERATE]))
    ok, text = box.execute("set_tempo", {"bpm": "fast", "rationale": "quick"})
    assert not ok and text.startswith("invalid arguments for set_tempo: bpm:")
    assert [s.error is not None for s in trace.tool_calls()] == [True, True]


def test_tool_schemas_advertise_the_vocabulary_and_bounds():
    _, trace, _ = make_agent(ScriptedChatModel())
    box = ToolBox(SpecEditor(), trace, lambda: "ok")
    schemas = {t.name: t.tool_call_schema for t in box.langchain_tools()}
    assert "jazz" in schemas["set_genre"]["properties"]["genre"]["enum"]
    assert schemas["set_tempo"]["properties"]["bpm"]["maximum"] == 220
    assert schemas["set_tempo"]["properties"]["rationale"]["maxLength"] == 300
    assert schemas[GENERATE]["properties"] == {}
