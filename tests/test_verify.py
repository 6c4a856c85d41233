"""Verify and repair: the analysis tool on rendered sketches, the repair loop, melody conditioning, `analyze`."""
import json

import numpy as np
import pytest
import soundfile as sf

from agent.run.verify import Verifier, firm_prompt
from agent.trace import Trace, to_markdown
from tests.conftest import run_cli
from tools.analysis import analyze, key_verdict, tempo_verdict
from tools.music import MUSIC_BACKENDS
from tools.music.base import GenerationParams, MusicBackend
from tools.spec import MusicSpec
from tools.vocab import vocabulary

# 12 sketches: tempi 70-170, major and minor keys with sharps and flats, 3/4 and 4/4, drums and no drums
SKETCHES = [("lo-fi", 72, "Eb", "major", "4/4"), ("reggae", 80, "G", "minor", "4/4"),
            ("classical", 84, "F", "major", "3/4"), ("hip hop", 88, "F#", "minor", "4/4"),
            ("jazz", 96, "Bb", "major", "4/4"), ("folk", 104, "G", "major", "3/4"),
            ("funk", 110, "C#", "minor", "4/4"), ("pop", 116, "D", "major", "4/4"),
            ("electronic", 124, "Ab", "minor", "4/4"), ("rock", 132, "E", "minor", "4/4"),
            ("country", 144, "B", "minor", "3/4"), ("punk", 170, "A", "major", "4/4")]


def sketch_spec(genre, bpm, key, mode, meter):
    g = vocabulary().genres[genre]
    kit = () if g.drums == "none" or any(i in g.instruments for i in ("drums", "drum machine")) else ("drums",)
    return MusicSpec(genre=genre, moods=("warm",), energy=0.6, valence=0.5, tempo_bpm=bpm, key=key, mode=mode,
                     time_signature=meter, instruments=g.instruments + kit)


@pytest.mark.slow
def test_analysis_recovers_tempo_and_key_of_twelve_sketches():
    renderer = MUSIC_BACKENDS.create("sketch")
    table, hits = [], 0
    for genre, bpm, key, mode, meter in SKETCHES:
        spec = sketch_spec(genre, bpm, key, mode, meter)
        audio = renderer.generate(spec, "", GenerationParams(duration_s=20, seed=1))
        a = analyze(audio.samples, audio.sample_rate)
        tempo_ok = tempo_verdict(a.tempo_bpm, bpm, tolerance=0.02)[0] == "ok"  # octave errors are misses
        key_ok = key_verdict(a.key, a.mode, key, mode) == "exact"
        hits += tempo_ok and key_ok
        table.append(f"{genre:10} {meter} {bpm:3} BPM → {a.tempo_bpm}  {key} {mode} → {a.key} {a.mode}")
    print("\n".join(table))
    assert hits >= 11, "\n".join(table)


def test_verdicts():
    assert tempo_verdict(96.3, 96) == ("ok", 0.0031)
    assert tempo_verdict(48.1, 96)[0] == "octave" and tempo_verdict(192, 96)[0] == "octave"
    assert tempo_verdict(110, 96)[0] == "miss" and tempo_verdict(None, 96) == ("miss", None)
    assert key_verdict("A", "minor", "A", "minor") == "exact"
    assert key_verdict("C", "major", "A", "minor") == "relative"
    assert key_verdict("Eb", "minor", "D#", "minor") == "exact"  # enharmonic
    assert key_verdict("E", "minor", "A", "minor") == "miss"


class ScriptedTempoSketch(MusicBackend):
    """Stands in for a model that misses the tempo: renders real sketch audio at scripted tempi."""

    name = "scripted"

    def __init__(self, tempi):
        super().__init__()
        self.tempi, self.calls = list(tempi), []
        self.sketch = MUSIC_BACKENDS.create("sketch")

    def generate(self, spec, prompt, params, sink=None):
        self.calls.append((prompt, params))
        bpm = self.tempi.pop(0) if len(self.tempi) > 1 else self.tempi[0]
        return self.sketch.generate(spec.model_copy(update={"tempo_bpm": bpm}), prompt, params)


SPEC = sketch_spec("rock", 120, "A", "minor", "4/4")


@pytest.mark.slow
def test_repair_loop_retries_a_wrong_tempo_and_keeps_the_right_take():
    trace = Trace(run_id="t")
    backend = ScriptedTempoSketch([100, 120])
    _batch, best, verification = Verifier(backend, trace, attempts=3).run(SPEC, "rock",
                                                                         GenerationParams(duration_s=8, seed=5))
    assert best.attempt == 2 and best.verdict.met
    assert [a.decision for a in trace.attempts] == ["retry: new seed, firmer prompt", "accept"]
    assert trace.attempts[0].tempo == "miss" and trace.attempts[1].chosen and best.record is trace.attempts[1]
    assert backend.calls[1][1].seed != backend.calls[0][1].seed
    assert verification.model_dump() == {"attempts": 2, "chosen": 2, "met": True, "score": best.verdict.score,
                                         "tolerance": 0.04, "take": None}
    assert trace.verification == verification
    assert not trace.warnings and "## Verification" in to_markdown(trace)


@pytest.mark.slow
def test_repair_loop_stops_at_the_limit_keeps_the_best_and_warns():
    trace = Trace(run_id="t")
    backend = ScriptedTempoSketch([80, 110, 140])  # 110 is closest to 120
    _batch, best, verification = Verifier(backend, trace, attempts=3).run(SPEC, "rock",
                                                                         GenerationParams(duration_s=8, seed=5))
    assert len(trace.attempts) == 3 and best.attempt == 2 and not best.verdict.met and not verification.met
    assert [a.decision for a in trace.attempts] == ["retry: new seed, firmer prompt",
                                                       "retry: new seed, firmer prompt, higher guidance", "stop"]
    assert backend.calls[1][0] == backend.calls[2][0] == firm_prompt("rock", SPEC)
    assert [c[1].guidance_scale for c in backend.calls] == [3.0, 3.0, 4.5]
    assert len({c[1].seed for c in backend.calls}) == 3
    assert trace.warnings and "no take met the spec after 3 attempts: kept attempt 2" in trace.warnings[0]


@pytest.mark.slow
def test_melody_conditioning_feeds_the_sketch_chroma(tiny_musicgen_melody_dir):
    backend = MUSIC_BACKENDS.create("musicgen", {"model": str(tiny_musicgen_melody_dir), "device": "cpu",
                                                 "condition_on_sketch": True})
    model = backend._loaded[0]
    seen = {}
    real_generate = model.generate

    def spy(**kwargs):
        seen.update(kwargs)
        return real_generate(**kwargs)

    model.generate = spy
    audio = backend.generate(SPEC, "rock", GenerationParams(duration_s=1.0, seed=2))
    assert audio.details["melody"] == "sketch" and abs(audio.samples.shape[1] - 32000) <= 640
    chroma = seen["input_features"][0].numpy()
    assert chroma.shape == (model.config.chroma_length, 12)
    voiced = chroma[chroma.sum(axis=1) > 0]
    assert len(voiced) > 5 and np.all(voiced.sum(axis=1) == 1)  # one-hot dominant pitch class per frame
    a_minor = {9, 11, 0, 2, 4, 5, 7, 8}  # natural minor + the leading tone G#
    in_key = np.isin(voiced.argmax(axis=1), list(a_minor)).mean()
    assert in_key >= 0.8 and 9 in set(voiced.argmax(axis=1))  # mostly in key, the tonic A among them


@pytest.mark.slow
def test_condition_on_sketch_needs_a_melody_checkpoint(tiny_musicgen_dir):
    from tools.errors import BackendError

    backend = MUSIC_BACKENDS.create("musicgen", {"model": str(tiny_musicgen_dir), "condition_on_sketch": True})
    with pytest.raises(BackendError, match="needs a MusicGen-Melody checkpoint"):
        backend.generate(SPEC, "rock", GenerationParams(duration_s=1, seed=0))


@pytest.mark.slow
def test_analyze_cli_measures_a_sketch(tmp_path):
    audio = MUSIC_BACKENDS.create("sketch").generate(SPEC, "", GenerationParams(duration_s=8, seed=1))
    path = tmp_path / "take.flac"
    sf.write(path, audio.samples.T, audio.sample_rate)
    proc = run_cli("analyze", str(path), "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert abs(result["tempo_bpm"] - 120) / 120 < 0.02 and (result["key"], result["mode"]) == ("A", "minor")
    assert abs(result["loudness_lufs"] + 14) < 1 and result["clipped_ratio"] == 0 and result["peak_dbfs"] <= -1


@pytest.mark.parametrize("content, fragment", [(b"plain text, not audio", "is not audio soundfile can read"),
                                               (b"", "is empty (0 bytes)"), (None, "analysis needs at least 0.5 s")])
def test_analyze_cli_rejects_bad_audio_in_one_line(tmp_path, content, fragment):
    path = tmp_path / "bad.wav"
    if content is None:
        sf.write(path, np.zeros(3200, dtype=np.float32), 32000)  # 0.1 s
    else:
        path.write_bytes(content)
    proc = run_cli("analyze", str(path))
    assert proc.returncode == 2 and proc.stderr.strip().startswith("error: ") and fragment in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_a_take_too_short_for_its_tempo_says_so_and_is_accepted_without_repair():
    from agent.run.present import tempo_key_line

    spec = sketch_spec("ambient", 60, "C", "major", "4/4")
    sketch = MUSIC_BACKENDS.create("sketch")
    trace = Trace(run_id="t")
    _batch, best, verification = Verifier(sketch, trace, attempts=3).run(spec, "ambient",
                                                                        GenerationParams(duration_s=4, seed=1))
    assert best.verdict.tempo == "too short" and best.verdict.tempo_error is None
    assert verification.met and verification.attempts == 1 and len(trace.attempts) == 1
    line = tempo_key_line(spec, best.analysis)
    assert line.startswith("60 BPM (too short to measure tempo)"), line
    long_trace = Trace(run_id="t2")
    _batch, long_best, _v = Verifier(sketch, long_trace, attempts=3).run(spec, "ambient",
                                                                       GenerationParams(duration_s=20, seed=1))
    assert long_best.verdict.tempo == "ok" and "(measured " in tempo_key_line(spec, long_best.analysis)


# Every genre of the vocabulary, major and minor, sharps and flats, 3/4 and 4/4, plus minor plans whose
# progressions lean on bVII and bVI (the ones a listener used to hear in the relative major)
TWENTY_FOUR = [
    ("ambient", 75, "C", "major", "4/4"), ("blues", 90, "Bb", "minor", "4/4"), ("cinematic", 85, "E", "major", "4/4"),
    ("classical", 95, "F#", "minor", "3/4"), ("country", 110, "Eb", "major", "4/4"),
    ("electronic", 120, "A", "minor", "4/4"), ("folk", 100, "Db", "major", "3/4"), ("funk", 107, "G", "minor", "4/4"),
    ("hip hop", 85, "B", "major", "4/4"), ("house", 124, "Ab", "minor", "4/4"), ("jazz", 130, "D", "major", "4/4"),
    ("lo-fi", 77, "F", "minor", "4/4"), ("metal", 140, "C", "major", "4/4"), ("pop", 110, "Bb", "minor", "4/4"),
    ("punk", 144, "E", "major", "4/4"), ("r&b", 85, "F#", "minor", "4/4"), ("reggae", 77, "Eb", "major", "4/4"),
    ("rock", 125, "A", "minor", "4/4"), ("synthwave", 99, "Db", "major", "4/4"), ("techno", 135, "G", "minor", "4/4"),
    ("cinematic", 80, "C", "minor", "4/4"), ("r&b", 90, "Bb", "minor", "4/4"), ("rock", 132, "Ab", "major", "3/4"),
    ("folk", 96, "C#", "minor", "3/4")]


@pytest.mark.slow
def test_both_key_estimators_hear_the_planned_key_of_twenty_four_sketches():

    renderer = MUSIC_BACKENDS.create("sketch")
    rows, a_hits, b_hits, tempo_hits = [], 0, 0, 0
    for genre, bpm, key, mode, meter in TWENTY_FOUR:
        spec = sketch_spec(genre, bpm, key, mode, meter).model_copy(update={"valence": 0.35 if mode == "minor" else 0.6})
        audio = renderer.generate(spec, "", GenerationParams(duration_s=20, seed=1))
        a = analyze(audio.samples, audio.sample_rate)
        a_ok = key_verdict(a.key, a.mode, key, mode) == "exact"
        b_ok = key_verdict(a.key_b, a.mode_b, key, mode) == "exact"
        tempo_ok = tempo_verdict(a.tempo_bpm, bpm, tolerance=0.02)[0] == "ok"
        a_hits, b_hits, tempo_hits = a_hits + a_ok, b_hits + b_ok, tempo_hits + tempo_ok
        rows.append(f"| {genre} {meter} {bpm} | {key} {mode} | {a.key} {a.mode}{'' if a_ok else ' ✗'} | "
                    f"{a.key_b} {a.mode_b}{'' if b_ok else ' ✗'} | {a.tempo_bpm} |")
    print("\n".join(["| sketch | spec key | librosa (A) | essentia (B) | tempo |", "| --- | --- | --- | --- | --- |"] + rows))
    # tempo as today: the beat tracker hears metal's and punk's patterns at half time (the twelve-sketch
    # test above allows its punk take the same miss); every other sketch within 2 %
    assert a_hits >= 23 and b_hits >= 23 and tempo_hits >= 22, "\n".join(rows)
    # the minor progressions with bVII and bVI are among those rendered (the cadences keep them in key)
    from tools.form import form_table

    assert any("bVII" in p or "bVI" in p for p in form_table()["progressions"]["minor"]["verse"])


def test_a_missing_optional_piece_is_named_by_models_and_in_the_trace(monkeypatch):
    """Without essentia, verification says it checks the key with one estimator; without the NRC lexicon, a run
    whose cover has words says they carry no feeling; `albumgen models` lists every optional piece."""
    import importlib.util

    import tools.grounding.evidence as evidence
    import tools.optional as optional
    from tools.grounding.evidence import EvidenceSet, text_evidence

    rows = json.loads(run_cli("models", "--json").stdout)
    assert {r["model"] for r in rows if r["where"] == "optional"} == {"the NRC emotion lexicon", "essentia",
                                                                      "a full General MIDI soundfont"}
    real_find = importlib.util.find_spec
    monkeypatch.setattr(optional.importlib.util, "find_spec",
                        lambda name, *a: None if name == "essentia" else real_find(name, *a))
    trace = Trace(run_id="t")

    class Stop(Exception):
        pass

    class Backend:
        def __getattr__(self, name):  # the first generation stops the run: only the warning is checked
            raise Stop

    with pytest.raises(Stop):
        Verifier(Backend(), trace).run(MusicSpec(genre="jazz", tempo_bpm=100, key="C", mode="major"), "p", None)
    assert trace.warnings == [optional.essentia().warning()] and "one estimator" in trace.warnings[0]
    words = EvidenceSet.number(text_evidence([("BLUE NOTE", 0.99)]))
    assert optional.cover_warnings(words) == []  # the lexicon is installed here
    monkeypatch.setattr(evidence, "nrc_lexicon", lambda: {})
    assert optional.cover_warnings(words) == [optional.nrc_lexicon().warning()]
    assert "carry no feeling" in optional.cover_warnings(words)[0] and optional.cover_warnings(EvidenceSet()) == []


def test_a_measured_key_is_named_in_the_plans_spelling_when_it_is_the_same_pitch():
    from agent.run.present import tempo_key_line
    from tools.analysis import AudioAnalysis

    spec = sketch_spec("classical", 80, "Gb", "major", "3/4")
    measured = AudioAnalysis(duration_s=20.0, sample_rate=44100, tempo_bpm=80.1, beats=26, key="F#", mode="major",
                             key_confidence=0.5, loudness_lufs=-16.0, peak_dbfs=-1.0, clipped_ratio=0.0,
                             silence_ratio=0.0, key_b="F#", mode_b="major")
    assert "Gb major (measured Gb major, conf 0.5; essentia Gb major)" in tempo_key_line(spec, measured)
    other = AudioAnalysis(**{**measured.to_dict(), "key": "G", "key_b": None})
    assert "(measured G major, conf 0.5)" in tempo_key_line(spec, other)  # a different pitch keeps its own name
