"""Batch input: a folder of covers, or a CSV/TSV/JSONL with a cover column and per-row overrides."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.errors import InputError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff")


@dataclass(frozen=True)
class Job:
    """One cover of the batch: its key (unique: the path relative to INPUT, or the row's line), the file,
    per-row overrides, and a problem found while reading it (the row then fails without running)."""

    key: str
    cover: str
    duration: float | None = None
    seed: int | None = None
    genre: str | None = None
    problem: str | None = None

    def overrides(self) -> dict[str, Any]:
        return {k: v for k, v in (("duration", self.duration), ("seed", self.seed), ("genre", self.genre)) if v is not None}


def read_input(path: Path) -> list[Job]:
    """A folder (recursive, image files only, sorted) or a CSV/TSV/JSONL with a cover column and optional
    duration, seed and genre columns (cover paths relative to the file)."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise InputError(f"{path} holds no image files ({', '.join(IMAGE_SUFFIXES)}): give a folder of covers "
                             "or a CSV with a cover column")
        return [Job(str(p.relative_to(path)), str(p.resolve())) for p in files]
    if not path.is_file():
        raise InputError(f"batch input {path} not found: give a folder of covers or a CSV/JSONL with a cover column")
    from tools.catalog.rows import read_records

    columns, records = read_records(path)
    if "cover" not in columns:
        raise InputError(f"{path}: no cover column (columns: {', '.join(columns) or 'none'}): add a 'cover' column "
                         "of image paths relative to the file")
    jobs, seen = [], set()
    for line, record in records:
        job = _row_job(line, record, path.parent)
        if job.key in seen:
            job = Job(job.key + f" (line {line})", job.cover, problem=f"line {line}: the same cover and overrides as an "
                                                                        "earlier row: skipped")
        seen.add(job.key)
        jobs.append(job)
    if not jobs:
        raise InputError(f"{path} has no rows: add one row per cover")
    return jobs


def _row_job(line: int, record: dict[str, Any] | str, base: Path) -> Job:
    from tools.vocab import vocabulary

    if isinstance(record, str):
        return Job(f"line {line}", "", problem=f"line {line}: {record}")
    record = {str(k).strip().lower(): (v.strip() if isinstance(v, str) else v) for k, v in record.items()}
    cover = str(record.get("cover") or "")
    if not cover:
        return Job(f"line {line}", "", problem=f"line {line}: no cover: give an image path in the cover column")
    target = Path(cover).expanduser()
    target = str(target if target.is_absolute() or "://" in cover else (base / target).resolve())
    values: dict[str, Any] = {}
    named = f"{cover} (line {line})"
    try:
        if record.get("duration") not in (None, ""):
            values["duration"] = float(record["duration"])
        if record.get("seed") not in (None, ""):
            values["seed"] = int(float(record["seed"]))
    except ValueError:
        return Job(named, target, problem=f"line {line}: duration/seed {record.get('duration')!r}/"
                                                   f"{record.get('seed')!r} is not a number")
    genre = str(record.get("genre") or "").lower() or None
    if genre and genre not in vocabulary().genres:
        return Job(named, target, problem=f"line {line}: genre {genre!r} is not one AlbumGen knows: use one "
                                                   f"of {', '.join(vocabulary().genres)}")
    key = cover + "".join(f" {k}={v}" for k, v in sorted({**values, "genre": genre}.items()) if v is not None)
    return Job(key, target, genre=genre, **values)

