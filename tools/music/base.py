"""The music backend interface, per-call generation parameters and the audio it returns."""
from __future__ import annotations

import contextvars
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Protocol

from tools.limits import MAX_DURATION_S, MAX_SEED, MIN_DURATION_S, nth_seed, repair_seed
from tools.registry import Backend
from tools.spec import MusicSpec

DEFAULT_GUIDANCE = 3.0  # MusicGen's own default for classifier-free guidance


@dataclass(frozen=True)
class GenerationParams:
    """Everything one generation call needs; validated here, never kept as model state."""

    duration_s: float
    seed: int
    guidance_scale: float = DEFAULT_GUIDANCE
    temperature: float = 1.0
    top_k: int = 250
    steps: int | None = None  # a diffusion engine's denoising steps (None: its configured number)

    def __post_init__(self):
        if not MIN_DURATION_S <= self.duration_s <= MAX_DURATION_S:
            raise ValueError(f"duration {self.duration_s} s is out of range: use {MIN_DURATION_S:g} to {MAX_DURATION_S:g} seconds")
        if not 0 <= self.seed <= MAX_SEED:
            raise ValueError(f"seed {self.seed} is out of range: use 0 to {MAX_SEED}")
        if self.guidance_scale < 1.0 or self.temperature <= 0 or self.top_k < 0:
            raise ValueError("guidance_scale must be >= 1, temperature > 0 and top_k >= 0")
        if self.steps is not None and self.steps < 1:
            raise ValueError(f"steps {self.steps} is out of range: use 1 or more")


@dataclass
class Audio:
    """Generated audio as float32 samples shaped (channels, frames), with what made it."""

    samples: Any
    sample_rate: int
    details: dict[str, Any] = field(default_factory=dict)
    extra_files: dict[str, bytes] = field(default_factory=dict)
    sections: list[dict[str, Any]] = field(default_factory=list)  # the form as played, in seconds of this audio

    @property
    def duration_s(self) -> float:
        return self.samples.shape[-1] / self.sample_rate


class AudioSink(Protocol):
    """Receives audio while it is being made (`--stream`): `write(take, offset, samples, sample_rate)` puts
    float samples (channels, n) of take `take` (0-based) at sample `offset`. A later write may overwrite an
    earlier one (a backend first sends a preview, then the exact samples); the finished Audio is the truth."""

    def write(self, take: int, offset: int, samples: Any, sample_rate: int) -> None: ...


class MusicBackend(Backend, ABC):
    """Generates audio for a spec; `prompt` is the text rendered from the backend's `prompt_template` in
    prompts/ (MusicGen's by default: each engine is prompted in its own terms)."""

    prompt_template: ClassVar[str] = "musicgen_prompt.j2"

    def repair(self, params: GenerationParams, attempt: int) -> tuple[GenerationParams, str]:
        """Verify's repair after attempt `attempt` missed, and its name (the prompt is made firmer as well):
        a new seed, then more classifier-free guidance (an autoregressive model's moves)."""
        new = replace(params, seed=repair_seed(params.seed, attempt),
                      guidance_scale=params.guidance_scale + 1.5 * (attempt - 1))
        return new, "new seed, firmer prompt" + (", higher guidance" if attempt > 1 else "")

    def check_duration(self, duration_s: float) -> None:
        """Raise InputError when this engine cannot make a take this long (checked before a run starts)."""

    @abstractmethod
    def generate(self, spec: MusicSpec, prompt: str, params: GenerationParams, sink: AudioSink | None = None) -> Audio:
        """One take. Backends that cannot stream send the finished take to `sink` once."""

    def generate_takes(self, spec: MusicSpec, prompt: str, params: GenerationParams, takes: int,
                       sink: AudioSink | None = None) -> list[Audio]:
        """`takes` variations of one plan. This default makes them one by one, take k with seed + k;
        backends that can batch (MusicGen) override it and make them in one pass."""
        return [self.generate(spec, prompt, replace(params, seed=nth_seed(params.seed, k)),
                              TakeSink(sink, k) if sink is not None else None)
                for k in range(takes)]


@dataclass(frozen=True)
class TakeSink:
    """Routes a one-take backend's writes to take `take` of a multi-take sink."""

    sink: AudioSink
    take: int

    def write(self, take: int, offset: int, samples: Any, sample_rate: int) -> None:
        self.sink.write(self.take, offset, samples, sample_rate)


# -- progress of a long generation: (steps done, steps in all, what is being made) ----------------------
StepReport = Callable[[int, int, str], None]
_STEPS: contextvars.ContextVar[StepReport | None] = contextvars.ContextVar("albumgen_music_steps", default=None)


@contextmanager
def reporting_steps(report: StepReport | None) -> Iterator[None]:
    """While inside, a backend that decodes step by step (MusicGen) calls `report(done, total, label)` after
    each decoder step (the CLI's live bar with ETA). Context-local: concurrent runs report to their own."""
    token = _STEPS.set(report)
    try:
        yield
    finally:
        _STEPS.reset(token)


def report_steps(done: int, total: int, label: str) -> None:
    report = _STEPS.get()
    if report is not None:
        report(done, total, label)


def with_form(spec: MusicSpec, duration_s: float) -> MusicSpec:
    """The spec with a form sized to `duration_s`: its own when it fits, else its form (or the genre's) planned
    again. A plan without one (a test's, MusicGen-Melody's conditioning) gets the genre's typical form."""
    from tools.form import choose_form
    from tools.spec import planned_form

    if spec.bar_s is None or spec.genre is None or spec.mode is None:
        return spec  # not enough of a plan for a form (a prompt-only MusicGen call)
    if spec.sections and abs(sum(s.bars for s in spec.sections) * spec.bar_s - duration_s) <= spec.bar_s:
        return spec
    timed = spec.model_copy(update={"duration_s": duration_s, "sections": ()})
    form = spec.form or choose_form(spec.genre, spec.energy if spec.energy is not None else 0.5)
    return MusicSpec.model_validate({**timed.model_dump(), **planned_form(timed, form)})


def section_records(spec: MusicSpec, duration_s: float) -> list[dict[str, Any]]:
    """The form as played (trace.json's `sections`): name, start and end in seconds of the written audio,
    bars, level, chords, who plays. The last section ends where the audio does (its final chord rings on)."""
    times = spec.section_times()
    return [{"name": section.name, "start_s": start, "end_s": round(duration_s, 3) if k == len(times) - 1 else end,
             "bars": section.bars, "energy": section.energy, "chords": list(section.chords),
             "instruments": list(section.instruments)} for k, (section, start, end) in enumerate(times)]
