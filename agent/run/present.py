"""What people read about a run: the short summary lines of the CLI and the chat, and the --json object.
Presentation only: it reads a RunResult and computes nothing the pipeline needs."""
from __future__ import annotations

from typing import Any

from tools.analysis import AudioAnalysis
from tools.spec import MusicSpec


def tempo_key_line(spec: MusicSpec, measured: AudioAnalysis | None) -> str:
    """'96 BPM (measured 96.3) · A minor (measured A minor, conf 0.81)'; without measurement, the plan only;
    a take too short to measure says so instead of printing a number that means nothing."""
    from tools.analysis import MIN_KEY_CONFIDENCE, tempo_measurable

    if not measured:
        return f"{spec.tempo_bpm} BPM · {spec.key} {spec.mode}"
    short = not tempo_measurable(measured.duration_s, spec.tempo_bpm)
    tempo = "too short to measure tempo" if short else f"measured {measured.tempo_bpm}"
    key = "key unclear in so short a take" if short and measured.key_confidence < MIN_KEY_CONFIDENCE else \
        f"measured {spelled(measured.key, spec.key)} {measured.mode}, conf {measured.key_confidence}" + \
        (f"; essentia {spelled(measured.key_b, spec.key)} {measured.mode_b}" if measured.key_b else "")
    return f"{spec.tempo_bpm} BPM ({tempo}) · {spec.key} {spec.mode} ({key})"


def spelled(measured: str | None, planned: str | None) -> str | None:
    """A measured tonic in the plan's spelling when they are one pitch class: the analysis names F#, a plan
    in G flat major reads 'Gb', not a key that looks missed."""
    from tools.vocab import PITCH_CLASS

    same = measured in PITCH_CLASS and planned in PITCH_CLASS and PITCH_CLASS[measured] == PITCH_CLASS[planned]
    return planned if same else measured


def plan_lines(result) -> list[str]:
    """The spec with measured tempo and key, and the prompt."""
    spec = result.spec
    return [f"genre       {spec.genre}" + (f" ({spec.subgenre})" if spec.subgenre else ""),
            f"mood        {', '.join(spec.moods)} · energy {spec.energy} · valence {spec.valence}",
            f"tempo       {tempo_key_line(spec, result.measured)} · {spec.time_signature}",
            f"instruments {', '.join(spec.instruments)}" + (f" · era {spec.era}" if spec.era else ""),
            f"prompt      {result.prompt}"]


def run_lines(result) -> list[str]:
    """The short human summary of `generate`: the plan, then where its files are."""
    out = plan_lines(result) + [f"audio       {result.audio_path}"]
    if result.take_paths:
        out.append(f"takes       {len(result.take_paths)} in {result.run_dir} (best: {result.audio_path.name})")
    stream = result.trace.stream
    if stream is not None and stream.first_audio_s is not None:
        out.append(f"streamed    first audio after {stream.first_audio_s} s of music generation")
    return out + [f"trace       {result.trace_path} (and trace.md)"]


def run_summary(result) -> dict[str, Any]:
    """The --json output: audio, trace, spec, prompt, whether the take met the spec (None: not verified), the
    run's warnings (and takes with --takes N > 1)."""
    verification = result.trace.verification
    out = {"audio": str(result.audio_path), "trace": str(result.trace_path),
           "spec": result.spec.model_dump(mode="json"), "prompt": result.prompt,
           "verified": None if verification is None else verification.met, "warnings": list(result.trace.warnings)}
    if result.take_paths:
        out["takes"] = [str(p) for p in result.take_paths]
    return out
