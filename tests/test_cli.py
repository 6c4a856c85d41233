"""The `albumgen` command end to end on the offline profile, and every bad input as a one-line error."""
import json
import subprocess
import sys

import pytest
from PIL import Image

from tests.conftest import ROOT, run_cli

COVER = str(ROOT / "covers" / "midnight-orbit.png")


def _assert_one_line_error(proc, fragment):
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_generate_offline_writes_the_run_folder_and_explains_itself(tmp_path):
    proc = run_cli("generate", COVER, "-o", str(tmp_path), "--duration", "6", "--seed", "3")
    assert proc.returncode == 0, proc.stderr
    assert "hint: this is the offline profile" in proc.stderr and "--profile musicgen" in proc.stderr
    noise = [line for line in proc.stderr.splitlines() if line.strip() and not line.startswith(("… ", "warning: ", "hint: "))]
    assert noise == [], f"libraries printed into the run's stderr: {noise}"  # e.g. essentia's import-time INFO
    (run_dir,) = list(tmp_path.iterdir())
    assert run_dir.name.startswith("midnight-orbit-")
    assert {"audio.wav", "trace.json", "trace.md", "spec.json", "sketch.mid", "evidence.png", "stems"} == \
        {p.name for p in run_dir.iterdir()}
    assert sorted(p.suffix for p in (run_dir / "stems").iterdir()) and all(p.suffix == ".wav" for p in (run_dir / "stems").iterdir())
    trace = json.loads((run_dir / "trace.json").read_text())
    assert trace["status"] == "ok" and trace["cover"]["sha256"] and trace["agent_mode"] == "guided"
    assert trace["backends"]["llm"]["model"] == "smollm2" and trace["backends"]["music"]["backend"] == "sketch"
    assert "MIDNIGHT ORBIT" in trace["description"]["text"]
    setters = {s["name"]: s for s in trace["steps"] if s["kind"] in ("tool_call",) and not s["error"]}
    for name in ("set_genre", "set_mood", "set_tempo"):
        assert len(setters[name]["arguments"]["rationale"]) >= 3, name
    # the agent plans and ends by handing the plan over; the music stage then measures the takes
    calls = [s["name"] for s in trace["steps"] if s["kind"] == "tool_call"]
    assert [c for c in calls if c != "analyze_audio"][-1] == "generate_music"
    assert calls.index("analyze_audio") > calls.index("generate_music")
    assert trace["audio"]["renderer"] == "fluidsynth" and trace["audio"]["duration_s"] == 6.0
    measured, planned = trace["audio"]["measured"], trace["spec"]
    assert abs(measured["tempo_bpm"] - planned["tempo_bpm"]) / planned["tempo_bpm"] <= 0.02
    assert (measured["key"], measured["mode"]) == (planned["key"], planned["mode"])
    assert f"{planned['tempo_bpm']} BPM (measured {measured['tempo_bpm']})" in proc.stdout
    assert f"(measured {measured['key']} {measured['mode']}, conf " in proc.stdout
    assert trace["verification"]["met"] and trace["attempts"][0]["decision"] == "accept"
    assert set(trace["timings_ms"]) == {"vision", "grounding", "agent", "music", "write"}
    spec = json.loads((run_dir / "spec.json").read_text())
    assert spec == trace["spec"] and f"{spec['tempo_bpm']} BPM" in proc.stdout and trace["prompt"] in proc.stdout
    import soundfile as sf
    info = sf.info(str(run_dir / "audio.wav"))
    assert info.samplerate == 44100 and info.channels == 2 and abs(info.duration - 6.0) < 1 / 50
    md = (run_dir / "trace.md").read_text()
    assert "## How the agent decided" in md and "because:" in md and "## Music spec" in md

    again = run_cli("generate", COVER, "-o", str(tmp_path), "--duration", "6", "--seed", "3")
    _assert_one_line_error(again, "already exists: pass --force")


@pytest.mark.slow
def test_generate_json_prints_exactly_one_object(tmp_path):
    proc = run_cli("generate", COVER, "-o", str(tmp_path), "--duration", "2", "--seed", "4", "--json",
                   "--format", "flac", "--no-verify")
    assert proc.returncode == 0, proc.stderr
    obj = json.loads(proc.stdout)
    assert set(obj) == {"audio", "trace", "spec", "prompt", "verified", "warnings"} and proc.stdout.count("\n") == 1
    assert obj["verified"] is None and obj["warnings"] == json.loads(open(obj["trace"]).read())["warnings"]
    assert obj["audio"].endswith("audio.flac")
    import soundfile as sf
    assert sf.info(obj["audio"]).format == "FLAC"
    assert json.loads(open(obj["trace"]).read())["attempts"] == []
    assert obj["spec"]["seed"] == 4 and obj["spec"]["duration_s"] == 2.0
    assert json.loads(open(obj["trace"]).read())["prompt"] == obj["prompt"]


def _truncated_jpeg(d):
    p = d / "cut.jpg"
    Image.effect_noise((64, 64), 40).convert("RGB").save(p)
    p.write_bytes(p.read_bytes()[:300])
    return p


def _text_png(d):
    p = d / "notes.png"
    p.write_text("hello")
    return p


def _empty(d):
    p = d / "empty.png"
    p.write_bytes(b"")
    return p


@pytest.mark.parametrize("make_cover, extra, fragment", [
    (lambda d: d / "missing.png", [], "not found: check the path"),
    (lambda d: d, [], "is a directory"),
    (_empty, [], "is empty (0 bytes)"),
    (_text_png, [], "is not an image Pillow can read"),
    (_truncated_jpeg, [], "is truncated or corrupt"),
    (lambda d: COVER, ["--duration", "0"], "--duration 0 is out of range: use 0.5 to 300 seconds"),
    (lambda d: COVER, ["--duration", "9999"], "--duration 9999 is out of range"),
    (lambda d: COVER, ["-p", "nope"], "unknown profile 'nope': use one of offline, musicgen, acestep, stable-audio, hosted"),
    (lambda d: COVER, ["-m", "gpt-4o"], "unknown model 'gpt-4o'"),
])
def test_bad_inputs_fail_in_one_line_and_leave_no_folder(tmp_path, make_cover, extra, fragment):
    out = tmp_path / "out"
    proc = run_cli("generate", str(make_cover(tmp_path)), "-o", str(out), *extra)
    _assert_one_line_error(proc, fragment)
    assert not out.exists()


def test_malformed_config_is_a_one_line_error(tmp_path):
    bad = tmp_path / "config.yaml"
    bad.write_text("profiles: [oops\n")
    proc = run_cli("--config", str(bad), "generate", COVER, "-o", str(tmp_path / "out"))
    _assert_one_line_error(proc, "not valid YAML")
    assert not (tmp_path / "out").exists()


def test_config_show_masks_secrets():
    proc = run_cli("config", "show", env={"OPENAI_API_KEY": "sk-should-not-show"})
    assert proc.returncode == 0 and "OPENAI_API_KEY (set)" in proc.stdout and "sk-should-not-show" not in proc.stdout


def test_help_is_instant_and_imports_no_heavy_library():
    code = ("import sys, runpy; sys.argv=['albumgen','--help']\n"
            "try: runpy.run_module('agent.cli', run_name='__main__')\n"
            "except SystemExit: pass\n"
            "heavy=[m for m in ('torch','transformers','llama_cpp','gradio','langchain','PIL') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT).stdout
    assert "Usage: albumgen" in out and "HEAVY []" in out


@pytest.mark.slow
def test_backend_failure_keeps_the_partial_trace_and_exits_1(tmp_path, config_file):
    broken = {"offline": {"vision": {"backend": "offline"}, "llm": {"backend": "llama-cpp", "model": "smollm2"},
                          "music": {"backend": "musicgen", "model": str(tmp_path / "no-such-model")}}}
    proc = run_cli("--config", str(config_file({"profiles": broken})), "generate", COVER, "-o", str(tmp_path / "out"),
                   "--seed", "1", "--duration", "2")
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error: musicgen: cannot load")
    (run_dir,) = list((tmp_path / "out").iterdir())
    assert sorted(p.name for p in run_dir.iterdir()) == ["evidence.png", "trace.json", "trace.md"]  # no partial audio
    trace = json.loads((run_dir / "trace.json").read_text())
    assert trace["status"] == "failed" and "musicgen: cannot load" in trace["error"]
    assert "MIDNIGHT ORBIT" in trace["description"]["text"]
    assert trace["spec"]["genre"] and trace["prompt"]  # the plan survives the failed generation
    assert "Status: **failed**" in (run_dir / "trace.md").read_text()
