"""The music backend interface, per-call generation parameters and the audio it returns."""
from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Any

from tools.registry import Backend
from tools.spec import MAX_DURATION_S, MusicSpec


@dataclass(frozen=True)
class GenerationParams:
    """Everything one generation call needs; validated here, never kept as model state."""

    duration_s: float
    seed: int
    guidance_scale: float = 3.0
    temperature: float = 1.0
    top_k: int = 250

    def __post_init__(self):
        if not 0.5 <= self.duration_s <= MAX_DURATION_S:
            raise ValueError(f"duration {self.duration_s} s is out of range: use 0.5 to {MAX_DURATION_S:g} seconds")
        if not 0 <= self.seed < 2**32:
            raise ValueError(f"seed {self.seed} is out of range: use 0 to {2**32 - 1}")
        if self.guidance_scale < 1.0 or self.temperature <= 0 or self.top_k < 0:
            raise ValueError("guidance_scale must be >= 1, temperature > 0 and top_k >= 0")


@dataclass
class Audio:
    """Generated audio as float32 samples shaped (channels, frames), with what made it."""

    samples: Any
    sample_rate: int
    details: dict[str, Any] = field(default_factory=dict)
    extra_files: dict[str, bytes] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return self.samples.shape[-1] / self.sample_rate


class MusicBackend(Backend):
    """Generates audio for a spec; `prompt` is the text rendered from prompts/musicgen_prompt.j2."""

    @abstractmethod
    def generate(self, spec: MusicSpec, prompt: str, params: GenerationParams) -> Audio: ...
