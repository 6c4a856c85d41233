"""Verify and repair: measure each take, compare it with the spec, and retry with a repair on a miss.

A take meets the spec when its measured tempo is within the tolerance (default ±4 %; half or double time is
a miss), its key is the spec's or the relative major/minor, it does not clip and it is not silent.
Takes are ranked by `take_score` (lower is better):
    tempo: relative error when within tolerance, 0.5 for a tempo-octave error (half or double time),
           else 0.5 + the relative error (capped at 0.5)
  + key:   0 exact, 0.25 relative, 1.0 miss
  + 2.0 if clipping, + 5.0 if silent.
Repairs accumulate: attempt 2 gets a new seed and firmer prompt wording that leads with tempo and key;
attempt 3 and later also raise classifier-free guidance by 1.5 each. (MusicGen-Melody with
`condition_on_sketch` follows the sketch's harmony and tempo from the first attempt on; the sketch renderer
itself ignores prompt and guidance, so for it only the seed changes.)
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable

from agent.trace import Trace
from tools.analysis import AudioAnalysis, analyze, key_verdict, tempo_verdict
from tools.music.base import Audio, GenerationParams, MusicBackend
from tools.spec import MusicSpec



@dataclass(frozen=True)
class Verdict:
    tempo: str
    tempo_error: float | None
    key: str
    clipping: bool
    silent: bool

    @property
    def met(self) -> bool:
        return self.tempo == "ok" and self.key in ("exact", "relative") and not self.clipping and not self.silent

    @property
    def score(self) -> float:
        error = self.tempo_error if self.tempo_error is not None else 1.0
        tempo = error if self.tempo == "ok" else 0.5 if self.tempo == "octave" else 0.5 + min(error, 0.5)
        key = {"exact": 0.0, "relative": 0.25}.get(self.key, 1.0)
        return round(tempo + key + 2.0 * self.clipping + 5.0 * self.silent, 4)

    def misses(self) -> list[str]:
        out = []
        if self.tempo != "ok":
            out.append("tempo-octave error" if self.tempo == "octave" else "tempo off")
        if self.key not in ("exact", "relative"):
            out.append("wrong key")
        out += ["clipping"] * self.clipping + ["silent"] * self.silent
        return out


def judge(analysis: AudioAnalysis, spec: MusicSpec, tolerance: float) -> Verdict:
    tempo, error = tempo_verdict(analysis.tempo_bpm, spec.tempo_bpm, tolerance)
    return Verdict(tempo=tempo, tempo_error=error, key=key_verdict(analysis.key, analysis.mode, spec.key, spec.mode),
                   clipping=analysis.clipping, silent=analysis.silent)


def firm_prompt(prompt: str, spec: MusicSpec) -> str:
    """Lead with the facts MusicGen follows least reliably."""
    return f"exactly {spec.tempo_bpm} BPM in {spec.key} {spec.mode}, steady beat, {prompt}"


@dataclass
class Take:
    audio: Audio
    analysis: AudioAnalysis
    verdict: Verdict
    attempt: int


class Verifier:
    """Runs up to `attempts` generations for one spec and keeps the best take."""

    def __init__(self, backend: MusicBackend, trace: Trace, attempts: int = 3, tolerance: float = 0.04,
                 analyse: Callable[[Any, int], AudioAnalysis] = analyze):
        self.backend, self.trace, self.attempts, self.tolerance, self.analyse = backend, trace, attempts, tolerance, analyse

    def run(self, spec: MusicSpec, prompt: str, params: GenerationParams) -> Take:
        best: Take | None = None
        plan = (prompt, params)
        for attempt in range(1, self.attempts + 1):
            audio = self.backend.generate(spec, plan[0], plan[1])
            take = self._measure(audio, spec, attempt, plan)
            if best is None or take.verdict.score < best.verdict.score:
                best = take
            if take.verdict.met:
                self._decide(take, "accept", "the take meets the spec")
                return self._choose(take, met=True)
            if attempt == self.attempts:
                self._decide(take, "stop", f"missed: {', '.join(take.verdict.misses())}; attempt limit reached")
                break
            plan, repair = self._repair(spec, prompt, params, attempt)
            self._decide(take, f"retry: {repair}", f"missed: {', '.join(take.verdict.misses())}")
        assert best is not None
        self.trace.warnings.append(
            f"no take met the spec after {self.attempts} attempts: kept attempt {best.attempt} "
            f"(tempo {best.analysis.tempo_bpm} for {spec.tempo_bpm} BPM, key {best.analysis.key} {best.analysis.mode} "
            f"for {spec.key} {spec.mode})")
        return self._choose(best, met=False)

    def _choose(self, take: Take, met: bool) -> Take:
        self.trace.attempts[take.attempt - 1]["chosen"] = True
        self.trace.verification = {"attempts": len(self.trace.attempts), "chosen": take.attempt, "met": met,
                                   "score": take.verdict.score, "tolerance": self.tolerance}
        return take

    def _repair(self, spec: MusicSpec, prompt: str, params: GenerationParams, attempt: int):
        """The plan for attempt+1 and its name: always a new seed and firmer wording, then more guidance."""
        new = replace(params, seed=(params.seed + 7919 * attempt) % 2**32,
                      guidance_scale=params.guidance_scale + 1.5 * (attempt - 1))
        repair = "new seed, firmer prompt" + (", higher guidance" if attempt > 1 else "")
        return (firm_prompt(prompt, spec), new), repair

    def _measure(self, audio: Audio, spec: MusicSpec, attempt: int, plan) -> Take:
        start = self.trace.now_ms()
        analysis = self.analyse(audio.samples, audio.sample_rate)
        verdict = judge(analysis, spec, self.tolerance)
        self.trace.add("tool_call", "analyze_audio", start, arguments={"attempt": attempt},
                       result=f"tempo {analysis.tempo_bpm} BPM, key {analysis.key} {analysis.mode} "
                              f"(conf {analysis.key_confidence}), {analysis.loudness_lufs} LUFS, peak {analysis.peak_dbfs} dBFS")
        self.trace.attempts.append({
            "attempt": attempt, "seed": plan[1].seed, "prompt": plan[0], "guidance_scale": plan[1].guidance_scale,
            "wanted": {"tempo_bpm": spec.tempo_bpm, "key": spec.key, "mode": spec.mode},
            "measured": analysis.to_dict(), "tempo": verdict.tempo, "tempo_error": verdict.tempo_error,
            "key": verdict.key, "score": verdict.score, "met": verdict.met})
        return Take(audio, analysis, verdict, attempt)

    def _decide(self, take: Take, decision: str, why: str) -> None:
        self.trace.attempts[take.attempt - 1].update(decision=decision, why=why)
        self.trace.add("note", "verify", self.trace.now_ms(), result=f"attempt {take.attempt}: {decision} — {why}")
