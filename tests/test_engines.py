"""The diffusion engines (ACE-Step 1.5, Stable Audio Open) on tiny random pipelines saved like hub checkpoints:
shapes, rates, seeds, takes, duration limits, verify and repair, the trace, the CLI and `albumgen models`."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from agent.run.verify import Verifier
from agent.trace import Trace
from tests.conftest import ROOT, run_cli
from tools.analysis import analyze
from tools.errors import BackendError, InputError
from tools.music import MUSIC_BACKENDS
from tools.music.base import GenerationParams
from tools.prompt import render_prompt
from tools.spec import MusicSpec

pytestmark = pytest.mark.slow

ROCK = MusicSpec(genre="rock", moods=("energetic",), energy=0.8, valence=0.6, tempo_bpm=128, key="E", mode="minor",
                 time_signature="4/4", instruments=("electric guitar", "bass guitar", "drums"))
COVER = ROOT / "covers" / "midnight-orbit.png"
ENGINES = [("acestep", "tiny_acestep_dir", 48000), ("stable-audio", "tiny_stable_audio_dir", 44100)]


def _engine(name, folder, **options):
    return MUSIC_BACKENDS.create(name, {"model": str(folder), "device": "cpu", "steps": 3, **options})


@pytest.mark.parametrize(("name", "fixture", "rate"), ENGINES)
def test_takes_are_one_batch_at_the_engines_rate_and_each_is_its_own_seed(name, fixture, rate, request):
    engine = _engine(name, request.getfixturevalue(fixture))
    prompt = render_prompt(ROCK, engine.prompt_template)
    takes = engine.generate_takes(ROCK, prompt, GenerationParams(duration_s=2.5, seed=11), 2)
    assert [a.samples.shape for a in takes] == [(2, round(2.5 * rate))] * 2 and takes[0].sample_rate == rate
    assert takes[0].samples.dtype == np.float32 and np.abs(takes[0].samples).max() <= 1.0
    assert not np.allclose(takes[0].samples, takes[1].samples)  # two takes, not one twice
    alone = engine.generate(ROCK, prompt, GenerationParams(duration_s=2.5, seed=12))
    np.testing.assert_allclose(alone.samples, takes[1].samples, atol=1e-5)  # take 2 of seed 11 is seed 12
    details = takes[1].details
    assert details["renderer"] == name and details["model"] == str(request.getfixturevalue(fixture))
    assert details["steps"] == 3 and details["seconds"] > 0 and details["seed"] == 12 and details["take"] == 2
    assert details["device"] == "cpu" and "ran on CPU" in details["warning"]
    assert takes[0].sections[0]["start_s"] == 0 and takes[0].sections[-1]["end_s"] == 2.5  # the form, timed


def test_each_engine_is_prompted_in_its_own_terms(tiny_acestep_dir, tiny_stable_audio_dir):
    ace, stable = _engine("acestep", tiny_acestep_dir), _engine("stable-audio", tiny_stable_audio_dir)
    caption = render_prompt(ROCK, ace.prompt_template)
    assert caption.startswith("rock, energetic") and "BPM" not in caption  # bpm and key go as metadata
    assert "128 BPM, E minor" in render_prompt(ROCK, stable.prompt_template)
    take = ace.generate(ROCK, caption, GenerationParams(duration_s=3, seed=1))
    tags = take.details["structure"].split("\n\n")
    assert [t.splitlines()[0] for t in tags] == [f"[{s['name']}]" for s in take.sections]  # the form, as tags
    assert all(t.splitlines()[1] == "[instrumental]" for t in tags)
    assert take.details["guidance_scale"] == 3.0  # the run's guidance: a base (not turbo) model uses it
    assert stable.generate(ROCK, "x", GenerationParams(duration_s=1, seed=1)).details["negative_prompt"]


def test_durations_past_the_engines_window_are_refused_clearly(tiny_stable_audio_dir):
    engine = _engine("stable-audio", tiny_stable_audio_dir)
    with pytest.raises(InputError, match=r"duration 8 s is longer than stable-audio makes in one take \(5\.94 s"):
        engine.generate(ROCK, "x", GenerationParams(duration_s=8, seed=1))
    assert MUSIC_BACKENDS.create("acestep", {"max_duration_s": 600}).max_duration_s() == 600


def test_a_run_too_long_for_the_engine_stops_before_anything_is_planned(tiny_stable_audio_dir, config_file, tmp_path):
    config = _profile_config(config_file, "stable-audio", tiny_stable_audio_dir)
    proc = run_cli("--config", str(config), "generate", str(COVER), "-p", "stable-audio", "-o", str(tmp_path / "out"),
                   "--duration", "8", timeout=300)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1] == (
        f"error: duration 8 s is longer than stable-audio makes in one take (5.94 s for {tiny_stable_audio_dir}): "
        "use --duration 5 or less, or -p acestep for up to 10 minutes")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())  # nothing written


@pytest.mark.parametrize(("name", "fixture", "rate"), ENGINES)
def test_verify_repairs_a_diffusion_take_with_seed_steps_and_guidance(name, fixture, rate, request):
    engine = _engine(name, request.getfixturevalue(fixture))
    trace = Trace(run_id="t")

    def off_tempo(samples, sample_rate):  # the real analysis, heard at a tempo the spec does not ask for
        assert sample_rate == rate
        return replace(analyze(samples, sample_rate), tempo_bpm=60.0)

    verifier = Verifier(engine, trace, attempts=3, analyse=off_tempo)
    params = GenerationParams(duration_s=2, seed=5, guidance_scale=engine.options.guidance_scale)
    verifier.run(ROCK, render_prompt(ROCK, engine.prompt_template), params)
    first, second, third = trace.attempts
    assert second.seed != first.seed and second.steps is None  # attempt 2: a new seed and firmer wording
    assert third.steps == 5 and third.seed != second.seed  # attempt 3: 1.5x the steps as well
    assert third.guidance_scale == params.guidance_scale + 1.0
    assert third.prompt.startswith("exactly 128 BPM in E minor") and first.decision == "retry: new seed, firmer prompt"
    assert second.decision == "retry: new seed, firmer prompt, more steps, higher guidance"
    assert trace.verification.met is False and any("no take met the spec" in w for w in trace.warnings)


def test_a_model_that_does_not_fit_says_what_to_change(tiny_acestep_dir, monkeypatch):
    import torch

    engine = _engine("acestep", tiny_acestep_dir)
    pipe = engine._loaded[0]

    def out_of_memory(**_kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(type(pipe), "__call__", lambda self, **kw: out_of_memory(**kw))
    with pytest.raises(BackendError, match="does not fit in GPU memory: set offload: model"):
        engine.generate(ROCK, "x", GenerationParams(duration_s=1, seed=1))


def test_availability_names_the_extra_and_the_folder(tiny_acestep_dir, monkeypatch, tmp_path):
    import tools.music.diffusion as diffusion

    ok, why = _engine("acestep", tiny_acestep_dir).availability()
    assert ok and why.startswith(f"local folder {tiny_acestep_dir}") and "runs on CPU" in why
    ok, why = MUSIC_BACKENDS.create("acestep", {"model": "no-such/model-here"}).availability()
    assert not ok and "not downloaded yet" in why
    monkeypatch.setattr(diffusion, "missing", lambda *modules: ["torchsde"])
    ok, why = MUSIC_BACKENDS.create("stable-audio", {}).availability()
    assert not ok and why == "torchsde not installed: pip install 'albumgen[diffusion]'"
    with pytest.raises(BackendError, match="cannot load .* as a AceStepPipeline"):
        _ = MUSIC_BACKENDS.create("acestep", {"model": str(tmp_path)})._loaded


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA GPU")
def test_on_cuda_the_engine_runs_in_bfloat16(tiny_acestep_dir):
    engine = MUSIC_BACKENDS.create("acestep", {"model": str(tiny_acestep_dir), "steps": 2})
    take = engine.generate(ROCK, "x", GenerationParams(duration_s=1, seed=1))
    assert take.details["device"] == "cuda" and take.details["dtype"] == "bfloat16" and "warning" not in take.details


# -- end to end: the CLI with each engine's profile, pointed at the tiny pipeline ---------------------------
def _profile_config(config_file, name, folder):
    import yaml

    data = yaml.safe_load((ROOT / "config.yaml").read_text())
    music = {**data["profiles"][name]["music"], "model": str(folder), "steps": 3, "device": "cpu"}
    return config_file({"profiles": {**data["profiles"], name: {**data["profiles"][name], "music": music}}})


@pytest.mark.parametrize(("name", "fixture", "rate"), ENGINES)
def test_generate_with_each_engine_profile_end_to_end(name, fixture, rate, request, config_file, tmp_path):
    config = _profile_config(config_file, name, request.getfixturevalue(fixture))
    runs = []
    for out in ("a", "b"):
        proc = run_cli("--config", str(config), "generate", str(COVER), "-p", name, "-o", str(tmp_path / out),
                       "--duration", "3", "--seed", "4", "--takes", "2", "--stream", "--json", timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
        runs.append(json.loads(proc.stdout))
    run_dir, other = (Path(r["audio"]).parent for r in runs)
    trace = json.loads((run_dir / "trace.json").read_text())
    assert trace["status"] == "ok" and trace["backends"]["music"]["backend"] == name
    audio = trace["audio"]
    assert audio["renderer"] == name and audio["sample_rate"] == rate and audio["channels"] == 2
    assert audio["steps"] >= 3 and audio["seconds"] > 0 and "not streamable" in audio["stream"]
    assert trace["spec"]["tempo_bpm"] and trace["prompt"] and trace["attempts"]  # planned, prompted, verified
    story = (run_dir / "trace.md").read_text()
    assert f"{audio['model']}: 3 steps" in story and "Stream: not streamable" in story
    info = sf.info(str(run_dir / "take-1.wav"))
    assert info.samplerate == rate and info.channels == 2 and abs(info.duration - 3) < 0.01
    for take in ("take-1.wav", "take-2.wav"):  # the same seed makes the same takes
        np.testing.assert_array_equal(sf.read(str(run_dir / take))[0], sf.read(str(other / take))[0])


def test_models_lists_both_engines_with_why(config_file):
    rows = json.loads(run_cli("models", "--json").stdout)
    music = {r["where"]: r for r in rows if r["kind"] == "music"}
    assert music["profile acestep"]["backend"] == "acestep" and music["profile stable-audio"]["backend"] == "stable-audio"
    assert "not downloaded yet" in music["profile acestep"]["why"] or music["profile acestep"]["ready"]
