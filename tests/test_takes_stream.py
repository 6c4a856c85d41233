"""--takes N (one batch) and --stream (growing WAV files, previews while MusicGen samples)."""
import json
import time

import numpy as np
import pytest
import soundfile as sf
from langchain_core.messages import AIMessage

from agent.api import AlbumGen
from agent.config import load_config
from agent.run.present import run_lines
from tests.conftest import ROOT, run_cli
from tests.fakes import ScriptedChatModel, call
from tools.music import MUSIC_BACKENDS
from tools.music.base import GenerationParams
from tools.music.musicgen import CodeStreamer
from tools.spec import MusicSpec
from tools.stream import GrowingWav, PartialTakes

COVER = str(ROOT / "covers" / "midnight-orbit.png")
ROCK = MusicSpec(genre="rock", tempo_bpm=128, key="E", mode="minor")


class RecordingSink:
    """Keeps every write with the time it arrived, by `clock`."""

    def __init__(self, clock=time.perf_counter):
        self.writes, self.clock = [], clock

    def write(self, take, offset, samples, sample_rate):
        self.writes.append((take, offset, np.array(samples, copy=True), self.clock()))

    def assembled(self, take: int, previews_only: bool = False, exact_min: int = 0):
        """The take as the sink saw it: every write in order, or only the short (preview) ones."""
        end = max(o + s.shape[-1] for t, o, s, _ in self.writes if t == take)
        out, seen = np.zeros((1, end), np.float32), np.zeros(end, bool)
        for t, offset, samples, _ in self.writes:
            if t == take and (not previews_only or samples.shape[-1] < exact_min):
                out[:, offset: offset + samples.shape[-1]] = samples
                seen[offset: offset + samples.shape[-1]] = True
        return out, seen


def test_growing_wav_is_a_valid_wav_after_every_write(tmp_path):
    path = tmp_path / "audio.partial.wav"
    wav = GrowingWav(path, channels=2, sample_rate=8000)
    tone = 0.5 * np.sin(np.linspace(0, 200, 8000, dtype=np.float32))
    for i in range(3):
        wav.write(i * 4000, np.stack([tone[:4000], -tone[:4000]]))
        info = sf.info(str(path))  # read by another reader while the file is still open for writing
        assert (info.frames, info.channels, info.samplerate) == ((i + 1) * 4000, 2, 8000)
    wav.write(2000, np.zeros((2, 1000), np.float32))  # overwriting inside keeps the length
    data, _ = sf.read(str(path), dtype="float32", always_2d=True)
    assert data.shape == (12000, 2) and np.all(data[2000:3000] == 0)
    assert np.allclose(data[4000:8000, 0], tone[:4000], atol=1 / 32767) and np.allclose(data[:2000, 1], -tone[:2000], atol=1 / 32767)
    with pytest.raises(ValueError, match="1 channels written to a 2-channel stream"):
        wav.write(0, tone[:10])
    wav.close()


def test_partial_takes_hold_a_steady_preview_level_and_go_once_finished(tmp_path):
    sink = PartialTakes(tmp_path, takes=2)
    quiet = 0.01 * np.sin(np.linspace(0, 2000, 32000, dtype=np.float32))[None]
    sink.write(1, 0, quiet, 32000)
    sink.write(1, 32000, quiet, 32000)
    assert sink.first_audio_s is not None and sink.summary()["paths"] == ["take-2.partial.wav"]
    data, _ = sf.read(str(tmp_path / "take-2.partial.wav"), dtype="float32")
    gain = np.abs(data[:32000]).max() / 0.01
    assert gain > 5 and np.allclose(np.abs(data[32000:]).max() / 0.01, gain, rtol=0.01)  # one gain for the take
    sink.finish()
    assert not list(tmp_path.iterdir())


def _musicgen(path, **options):
    return MUSIC_BACKENDS.create("musicgen", {"model": str(path), "device": "cpu", **options})


def test_musicgen_takes_are_one_batch_of_different_reproducible_variations(tiny_musicgen_dir):
    backend = _musicgen(tiny_musicgen_dir)
    model = backend._loaded[0]
    batches = []
    real_generate = model.generate

    def spy(**kwargs):
        batches.append(kwargs["input_ids"].shape[0])
        return real_generate(**kwargs)

    model.generate = spy
    params = GenerationParams(duration_s=1.0, seed=11)
    takes = backend.generate_takes(ROCK, "rock", params, 3)
    assert batches == [3]  # one generate call for all three
    assert [t.details["take"] for t in takes] == [1, 2, 3] and all(t.details["batch"] == 3 for t in takes)
    assert all(abs(t.samples.shape[1] - 32000) <= 640 for t in takes)
    assert not np.array_equal(takes[0].samples, takes[1].samples) and not np.array_equal(takes[1].samples, takes[2].samples)
    again = backend.generate_takes(ROCK, "rock", params, 3)
    assert all(np.array_equal(a.samples, b.samples) for a, b in zip(takes, again))


def test_musicgen_stream_sends_previews_that_match_the_finished_take(tiny_musicgen_dir, monkeypatch):
    backend = _musicgen(tiny_musicgen_dir, stream_chunk_s=0.5)
    steps = []  # decoder steps so far, counted where the streamer watches them (not wall time: CI is loaded)
    real_watch = CodeStreamer.watch
    monkeypatch.setattr(CodeStreamer, "watch", lambda self, ids: (steps.append(1), real_watch(self, ids))[1])
    sink = RecordingSink(clock=lambda: len(steps))
    backend.generate_takes(ROCK, "rock", GenerationParams(duration_s=3.0, seed=2), 2, sink)
    previews = [w for w in sink.writes if w[2].shape[-1] < 32000]
    assert {w[0] for w in previews} == {0, 1} and len(previews) >= 8  # both takes, every 0.5 s
    assert previews[0][1] == 0 and previews[0][3] < 0.3 * len(steps)  # audio early: within the first 0.9 s of 3 s
    for take in (0, 1):
        exact, _ = sink.assembled(take)
        preview, seen = sink.assembled(take, previews_only=True, exact_min=32000)
        assert seen[: 2 * 32000].all()  # previews cover the take up to the held-back tail
        assert np.abs(preview[:, seen] - exact[:, seen]).max() <= 1e-4 * np.abs(exact).max()


@pytest.mark.slow
def test_long_stream_previews_every_window_and_ends_exact(tiny_musicgen_dir):
    backend = _musicgen(tiny_musicgen_dir, stream_chunk_s=2.0)
    sink = RecordingSink()
    audio = backend.generate_takes(ROCK, "rock", GenerationParams(duration_s=65, seed=4), 1, sink)[0]
    windows = audio.details["windows"]
    assert len(windows) >= 3  # section by section
    exact, seen = sink.assembled(0)
    assert seen[: 65 * 32000].all() and abs(exact.shape[1] - 65 * 32000) <= 640
    preview, pseen = sink.assembled(0, previews_only=True, exact_min=5 * 32000)
    for w in windows:  # each window was previewed while it was sampled
        if w["new_s"] >= 4:
            start = round(w["start_s"] * 32000)
            assert pseen[start + 32000: start + 3 * 32000].all(), w
    assert np.abs(preview[:, pseen] - exact[:, pseen]).max() <= 1e-3 * np.abs(exact).max()


def _musicgen_app(tiny_musicgen_dir, config_file):
    config = config_file({"profiles": {"tiny": {
        "vision": {"backend": "offline"}, "llm": {"backend": "llama-cpp", "model": "smollm2", "mode": "free"},
        "music": {"backend": "musicgen", "model": str(tiny_musicgen_dir), "device": "cpu", "stream_chunk_s": 0.5}}},
        "default_profile": "tiny"})
    model = ScriptedChatModel().enqueue(call("set_genre", genre="rock", rationale="loud cover"), call("generate_music"),
                                        AIMessage(content="done"))
    app = AlbumGen(load_config(config), profile="tiny", chat_model=model)
    app.mode = "free"
    return app


@pytest.mark.slow
def test_a_failed_streamed_run_keeps_the_audio_made_so_far(tmp_path, tiny_musicgen_dir, config_file, monkeypatch):
    import tools.music.musicgen as musicgen

    app = _musicgen_app(tiny_musicgen_dir, config_file)

    def broken_master(samples, sample_rate):
        raise RuntimeError("mastering blew up")

    monkeypatch.setattr(musicgen, "master", broken_master)
    with pytest.raises(RuntimeError, match="mastering blew up"):
        app.generate(COVER, out_dir=tmp_path / "out", duration=2, seed=1, verify=False, log=False, stream=True)
    (run_dir,) = (tmp_path / "out").iterdir()
    trace = json.loads((run_dir / "trace.json").read_text())
    assert trace["status"] == "failed" and "mastering blew up" in trace["error"]
    assert trace["stream"]["paths"] == ["audio.partial.wav"] and trace["stream"]["first_audio_s"] > 0
    info = sf.info(str(run_dir / "audio.partial.wav"))
    assert abs(info.duration - 2.0) <= 1 / 50 and not (run_dir / "audio.wav").exists()


@pytest.mark.slow
def test_musicgen_run_with_takes_and_stream_writes_every_take(tmp_path, tiny_musicgen_dir, config_file):
    app = _musicgen_app(tiny_musicgen_dir, config_file)
    result = app.generate(COVER, out_dir=tmp_path / "out", duration=2, seed=1, verify=False, log=False, takes=2, stream=True)
    names = {p.name for p in result.run_dir.iterdir()}
    assert {"take-1.wav", "take-2.wav", "trace.json", "trace.md", "spec.json"} <= names
    assert not [n for n in names if "partial" in n]  # previews are gone once the takes are written
    assert result.audio_path.name == "take-1.wav" and [p.name for p in result.take_paths] == ["take-1.wav", "take-2.wav"]
    trace = result.trace
    assert [t.take for t in trace.takes] == [1, 2] and trace.audio.batch == 2
    assert trace.stream.paths == ["take-1.partial.wav", "take-2.partial.wav"] and trace.stream.chunks >= 6
    assert "first audio" in "\n".join(run_lines(result)) and "- take 2: `take-2.wav`" in (result.run_dir / "trace.md").read_text()


@pytest.mark.slow
def test_cli_takes_verified_on_the_offline_profile(tmp_path):
    proc = run_cli("generate", COVER, "-o", str(tmp_path), "--duration", "4", "--seed", "5", "--takes", "3",
                   "--stream", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    (run_dir,) = tmp_path.iterdir()
    assert [p.rsplit("/", 1)[-1] for p in out["takes"]] == ["take-1.wav", "take-2.wav", "take-3.wav"]
    assert out["audio"] in out["takes"] and not list(run_dir.glob("*.partial.wav"))
    trace = json.loads((run_dir / "trace.json").read_text())
    chosen = [a for a in trace["attempts"] if a["attempt"] == trace["verification"]["chosen"]]
    assert [a["take"] for a in chosen] == [1, 2, 3]
    assert len({a["seed"] for a in chosen}) == 1  # the plan's seed; the sketch offsets it per take
    best = min(chosen, key=lambda a: a["score"])
    assert out["audio"].endswith(f"take-{best['take']}.wav") and best.get("chosen")
    assert trace["stream"]["first_audio_s"] > 0 and len(trace["stream"]["paths"]) == 3
    audio = [sf.read(p, dtype="int16")[0] for p in out["takes"]]
    assert not np.array_equal(audio[0], audio[1])


def test_takes_out_of_range_is_a_one_line_error(tmp_path):
    proc = run_cli("generate", COVER, "-o", str(tmp_path), "--takes", "9")
    assert proc.returncode == 2 and proc.stderr.strip() == "error: --takes 9 is out of range: use 1 to 8"
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_the_offline_default_streams_the_take_before_verifying_it_and_no_stream_turns_it_off(tmp_path):
    """First audio as soon as the sketch sounds (config defaults.stream), before analysis and the run folder;
    the partial file is gone once the take is written. --no-stream (stream=False) writes no partial file."""
    app = AlbumGen(profile="offline")
    streamed = app.generate(COVER, out_dir=tmp_path / "a", duration=4, seed=2, log=False)
    stream = streamed.trace.stream
    assert stream is not None and stream.paths == ["audio.partial.wav"] and stream.first_audio_s is not None
    music_s = streamed.trace.timings_ms["music"] / 1000
    assert stream.first_audio_s < music_s  # before verification finished: analysis comes after the first sound
    assert not list(streamed.run_dir.glob("*.partial.wav")) and streamed.audio_path.exists()
    quiet = app.generate(COVER, out_dir=tmp_path / "b", duration=4, seed=2, log=False, stream=False)
    assert quiet.trace.stream is None
    assert sf.read(str(quiet.audio_path))[0].tolist() == sf.read(str(streamed.audio_path))[0].tolist()
