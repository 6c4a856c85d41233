"""Typed records that travel between the stages of a run: what each verification attempt measured, the
takes written, and what made the kept take. The trace is written from them; nothing reads them back."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class Attempt(BaseModel):
    """One measured take of one verification attempt: what was wanted, what was heard, the verdict."""

    attempt: int
    take: int | None = None  # its place in the attempt's batch with --takes N > 1
    seed: int
    prompt: str
    guidance_scale: float
    steps: int | None = None  # a diffusion engine's denoising steps when a repair changed them
    wanted: dict[str, Any]
    measured: dict[str, Any]
    tempo: str
    tempo_error: float | None
    key: str
    score: float
    met: bool
    decision: str | None = None
    why: str | None = None
    chosen: bool = False


class Verification(BaseModel):
    """How verification ended: the attempt kept (and its take), whether it met the spec, its score."""

    attempts: int
    chosen: int
    met: bool
    score: float
    tolerance: float
    take: int | None = None


class TakeFile(BaseModel):
    """A take written to the run folder, with its measurement and score when it was verified."""

    take: int
    path: str
    measured: dict[str, Any] | None = None
    score: float | None = None


class MadeWith(BaseModel):
    """What made the kept take, so that it can be made again: a repair may have changed seed, prompt and
    guidance; with --takes N the kept take is take `take` of a batch of `takes`."""

    seed: int
    prompt: str
    guidance_scale: float | None = None
    steps: int | None = None
    takes: int = 1
    take: int = 1


class SectionSpan(BaseModel):
    """One section of the kept take as written: seconds of the audio, bars, planned level, chords, players;
    `level_db` is what verification measured there."""

    name: str
    start_s: float
    end_s: float
    bars: int
    energy: float
    chords: list[str]
    instruments: list[str]
    level_db: float | None = None


class LevelCheck(BaseModel):
    """Whether two neighbouring sections planned at different levels came out in that order."""

    louder: str  # "chorus 2" (the section planned louder, numbered by its order in the take)
    quieter: str
    planned: float  # planned level difference (0..1)
    measured_db: float
    holds: bool


class CoverRecord(BaseModel):
    """The cover a run read: where it was, its content hash and its size before any downscaling."""

    path: str
    sha256: str
    width: int
    height: int
    format: str | None = None


class BackendRecord(BaseModel):
    """One backend of a run: its registry name and model id (a hosted endpoint's base URL; never a key)."""

    backend: str
    model: str
    base_url: str | None = None


class StreamRecord(BaseModel):
    """--stream: the partial files written while the takes were made and when the first audio appeared."""

    paths: list[str]
    first_audio_s: float | None = None
    chunks: int = 0
    seconds: list[float] = []


class AffectRecord(BaseModel):
    """Valence and energy read from the cover's evidence (tools.grounding.prior.Affect), with the indices they
    came from, the evidence ids used and how the words moved them."""

    valence: float
    energy: float
    pleasure_index: float
    arousal_index: float
    evidence: list[str] = []
    notes: list[str] = []
