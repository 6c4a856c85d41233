"""Verify and repair: measure each take, compare it with the spec, and retry with a repair on a miss.

A take meets the spec when its measured tempo is within the tolerance (default ±4 %; half or double time is
a miss), its key is the spec's or the relative major/minor by both key estimators (librosa chroma with
Krumhansl-Kessler profiles, and essentia's KeyExtractor: a disagreement is a miss), it does not clip and it
is not silent.
Takes are ranked by `take_score` (lower is better):
    tempo: relative error when within tolerance, 0.5 for a tempo-octave error (half or double time),
           else 0.5 + the relative error (capped at 0.5)
  + key:   0 exact, 0.25 relative, 1.0 miss
  + 2.0 if clipping, + 5.0 if silent.
Repairs accumulate: attempt 2 gets a new seed and firmer prompt wording that leads with tempo and key;
attempt 3 and later also raise classifier-free guidance by 1.5 each (a diffusion engine, tools/music/
diffusion.py: 1.5x, 2x … the steps and guidance +1 each, guidance only where the model uses it). (MusicGen-Melody with
`condition_on_sketch` follows the sketch's harmony and tempo from the first attempt on; the sketch renderer
itself ignores prompt and guidance, so for it only the seed changes.) With --takes N each attempt is a batch
of N takes, all measured; the attempt is accepted when one of them meets the spec, and the best one leads.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent.records import Attempt, LevelCheck, SectionSpan, Verification, Wanted
from agent.trace import Trace
from tools.analysis import (
    MIN_KEY_CONFIDENCE,
    AudioAnalysis,
    agreed_key_verdict,
    analyze,
    tempo_measurable,
    tempo_verdict,
)
from tools.music.base import Audio, AudioSink, GenerationParams, MusicBackend
from tools.spec import MusicSpec

TEMPO_PASSES = ("ok", "too short")  # a take too short to measure is not held to a tempo it cannot show
KEY_PASSES = ("exact", "relative", "unclear")


@dataclass(frozen=True)
class Verdict:
    tempo: str
    tempo_error: float | None
    key: str
    clipping: bool
    silent: bool

    @property
    def met(self) -> bool:
        return self.tempo in TEMPO_PASSES and self.key in KEY_PASSES and not self.clipping and not self.silent

    @property
    def score(self) -> float:
        error = self.tempo_error if self.tempo_error is not None else 1.0
        tempo = 0.0 if self.tempo == "too short" else error if self.tempo == "ok" else \
            0.5 if self.tempo == "octave" else 0.5 + min(error, 0.5)
        key = {"exact": 0.0, "relative": 0.25, "unclear": 0.25}.get(self.key, 1.0)
        return round(tempo + key + 2.0 * self.clipping + 5.0 * self.silent, 4)

    def misses(self) -> list[str]:
        out = []
        if self.tempo not in TEMPO_PASSES:
            out.append("tempo-octave error" if self.tempo == "octave" else "tempo off")
        if self.key not in KEY_PASSES:
            out.append("wrong key")
        out += ["clipping"] * self.clipping + ["silent"] * self.silent
        return out


def judge(analysis: AudioAnalysis, spec: MusicSpec, tolerance: float) -> Verdict:
    """A take too short for its tempo (under MIN_BEATS beats) is not tempo-checked, and its key only when the
    estimate is confident: such a take is accepted as it is, never repaired for what cannot be measured."""
    key = agreed_key_verdict(analysis, spec.key, spec.mode)
    if not tempo_measurable(analysis.duration_s, spec.tempo_bpm):
        return Verdict(tempo="too short", tempo_error=None,
                       key="unclear" if key == "miss" and analysis.key_confidence < MIN_KEY_CONFIDENCE else key,
                       clipping=analysis.clipping, silent=analysis.silent)
    tempo, error = tempo_verdict(analysis.tempo_bpm, spec.tempo_bpm, tolerance)
    return Verdict(tempo=tempo, tempo_error=error, key=key, clipping=analysis.clipping, silent=analysis.silent)


def firm_prompt(prompt: str, spec: MusicSpec) -> str:
    """Lead with the facts MusicGen follows least reliably."""
    return f"exactly {spec.tempo_bpm} BPM in {spec.key} {spec.mode}, steady beat, {prompt}"


@dataclass
class MeasuredTake:
    """A generated take with its measurement, verdict and the attempt record written to the trace."""

    audio: Audio
    analysis: AudioAnalysis
    verdict: Verdict
    record: Attempt

    @property
    def attempt(self) -> int:
        return self.record.attempt

    @property
    def take(self) -> int | None:
        return self.record.take


class Verifier:
    """Runs up to `attempts` generations (each a batch of `takes`) for one spec and keeps the best batch."""

    def __init__(self, backend: MusicBackend, trace: Trace, attempts: int = 3, tolerance: float = 0.04,
                 analyse: Callable[[Any, int], AudioAnalysis] = analyze):
        if attempts < 1:
            raise ValueError(f"verify.attempts must be at least 1, not {attempts}")
        self.backend, self.trace, self.attempts, self.tolerance, self.analyse = backend, trace, attempts, tolerance, analyse

    def run(self, spec: MusicSpec, prompt: str, params: GenerationParams, takes: int = 1,
            sink: AudioSink | None = None) -> tuple[list[MeasuredTake], MeasuredTake, Verification]:
        """Returns the chosen attempt's takes, the best of them and how verification ended. An attempt is accepted as soon as one
        of its takes meets the spec; a repair regenerates the whole batch."""
        best: tuple[list[MeasuredTake], MeasuredTake] | None = None
        plan = (prompt, params)
        from tools.optional import essentia

        second = essentia()
        if not second.ready and second.warning() not in self.trace.warnings:
            self.trace.warnings.append(second.warning())
        for attempt in range(1, self.attempts + 1):
            audios = self.backend.generate_takes(spec, plan[0], plan[1], takes, sink)
            batch = [self._measure(audio, spec, attempt, plan, k + 1 if takes > 1 else None)
                     for k, audio in enumerate(audios)]
            top = min(batch, key=lambda t: t.verdict.score)
            if best is None or top.verdict.score < best[1].verdict.score:
                best = (batch, top)
            if top.verdict.met:
                self._decide(top, "accept", "the take meets the spec")
                return self._choose(batch, top, met=True)
            if attempt == self.attempts:
                self._decide(top, "stop", f"missed: {', '.join(top.verdict.misses())}; attempt limit reached")
                break
            plan, repair = self._repair(spec, prompt, params, attempt)
            self._decide(top, f"retry: {repair}", f"missed: {', '.join(top.verdict.misses())}")
        kept = best[1]
        self.trace.warnings.append(
            f"no take met the spec after {self.attempts} attempts: kept attempt {kept.attempt} "
            f"(tempo {kept.analysis.tempo_bpm} for {spec.tempo_bpm} BPM, key {kept.analysis.key} {kept.analysis.mode} "
            f"for {spec.key} {spec.mode})")
        return self._choose(*best, met=False)

    def _choose(self, batch: list[MeasuredTake], take: MeasuredTake, met: bool):
        take.record.chosen = True
        verification = Verification(attempts=take.attempt if met else self.attempts, chosen=take.attempt, met=met,
                                    score=take.verdict.score, tolerance=self.tolerance, take=take.take)
        self.trace.verification = verification
        return batch, take, verification

    def _repair(self, spec: MusicSpec, prompt: str, params: GenerationParams, attempt: int):
        """The plan for attempt+1 and its name: firmer wording, and the backend's own moves (MusicGen: a new
        seed, then more guidance; a diffusion engine: a new seed, then more steps and guidance)."""
        new, repair = self.backend.repair(params, attempt)
        return (firm_prompt(prompt, spec), new), repair

    def _measure(self, audio: Audio, spec: MusicSpec, attempt: int, plan, take: int | None) -> MeasuredTake:
        start = self.trace.now_ms()
        analysis = self.analyse(audio.samples, audio.sample_rate)
        verdict = judge(analysis, spec, self.tolerance)
        which = {"attempt": attempt, **({"take": take} if take else {})}
        self.trace.add("tool_call", "analyze_audio", start, arguments=which,
                       result=f"tempo {analysis.tempo_bpm} BPM, key {analysis.key} {analysis.mode} "
                              f"(conf {analysis.key_confidence}; essentia {analysis.key_b} {analysis.mode_b}), "
                              f"{analysis.loudness_lufs} LUFS, peak {analysis.peak_dbfs} dBFS")
        record = Attempt(attempt=attempt, take=take, seed=plan[1].seed, prompt=plan[0],
                         guidance_scale=plan[1].guidance_scale, steps=plan[1].steps,
                         wanted=Wanted(tempo_bpm=spec.tempo_bpm, key=spec.key, mode=spec.mode),
                         measured=analysis, tempo=verdict.tempo, tempo_error=verdict.tempo_error,
                         key=verdict.key, score=verdict.score, met=verdict.met)
        self.trace.attempts.append(record)  # written as it happens: a failed run keeps what was measured
        return MeasuredTake(audio, analysis, verdict, record)

    def _decide(self, take: MeasuredTake, decision: str, why: str) -> None:
        take.record.decision, take.record.why = decision, why
        which = f"attempt {take.attempt}" + (f" take {take.take}" if take.take else "")
        self.trace.add("note", "verify", self.trace.now_ms(), result=f"{which}: {decision} — {why}")


LEVEL_STEP = 0.15  # neighbouring sections planned this far apart in level must come out in that order


def check_levels(audio: Audio) -> tuple[list[SectionSpan], list[LevelCheck]]:
    """The take's sections with their measured level, and for every pair of neighbours planned at clearly
    different levels whether the louder-planned one measures louder (a chorus above its verse)."""
    from tools.listen import levels_db

    spans = [SectionSpan(**s) for s in audio.sections]
    levels = levels_db(audio.samples, audio.sample_rate, [(s.start_s, s.end_s) for s in spans])
    spans = [s.model_copy(update={"level_db": level}) for s, level in zip(spans, levels)]
    named = _numbered([s.name for s in spans])
    checks = []
    for k in range(len(spans) - 1):
        a, b = spans[k], spans[k + 1]
        if abs(a.energy - b.energy) < LEVEL_STEP:
            continue
        loud, quiet, (ln, qn) = (a, b, (named[k], named[k + 1])) if a.energy > b.energy else (b, a, (named[k + 1], named[k]))
        diff = round(loud.level_db - quiet.level_db, 1)
        checks.append(LevelCheck(louder=ln, quieter=qn, planned=round(loud.energy - quiet.energy, 2),
                                 measured_db=diff, holds=diff > 0))
    return spans, checks


def _numbered(names: list[str]) -> list[str]:
    """'chorus', 'chorus' → 'chorus 1', 'chorus 2' (a name that occurs once stays as it is)."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(f"{name} {seen[name]}" if names.count(name) > 1 else name)
    return out
