"""What travels between the batch driver and its workers, typed: a cover to make (Task), what came of it
(Outcome) and the plan and measurement a finished row keeps (RowSummary). All picklable, for pool pipes and
Ray alike."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Literal


@dataclass(frozen=True)
class RowSummary:
    """A done row's plan, its measurement and its warnings (summary.csv and the grounding statistics)."""

    genre: str | None = None
    moods: list[str] = field(default_factory=list)
    tempo_wanted: int | None = None
    tempo_measured: float | None = None
    key_wanted: str | None = None
    key_measured: str | None = None
    duration_s: float | None = None
    energy: float | None = None
    valence: float | None = None
    cited: int = 0  # rationales citing this cover's own evidence
    decisions: int = 0
    verified: bool | None = None  # None: not verified
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> RowSummary | None:
        """From the manifest's JSON; keys a later AlbumGen added are ignored."""
        if not data:
            return None
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class Task:
    """One cover for a worker: its manifest row, the file, its seed and overrides, and whether its run folder
    may already exist (a retry or a resumed row is redone into its own folder)."""

    idx: int
    key: str
    cover: str
    seed: int
    duration: float | None = None
    genre: str | None = None
    attempts: int = 0
    redo: bool = False


@dataclass(frozen=True)
class Outcome:
    """What came of a task (or, for progress, that it is being retried)."""

    idx: int
    status: Literal["done", "failed", "retry"]
    key: str = ""
    run_dir: str | None = None
    error: str | None = None
    seconds: float | None = None
    rss_mb: float | None = None
    summary: RowSummary | None = None
    replace_worker: bool = False  # it timed out: its models may be half-loaded, a fresh worker takes over
