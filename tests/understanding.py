"""Scoring the language reader on the held-out sets of tests/data/understanding/: whether a chat phrasing
moves each field its listener meant, and whether a drawn idiom cover gets a genre a listener accepts and
obeys what its words state. benchmarks/understanding.py prints these; the tests hold the held-out half to
the issue's bar."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).resolve().parent / "data" / "understanding"


@functools.cache
def phrasing_set() -> dict[str, Any]:
    return yaml.safe_load((DATA / "phrasings.yaml").read_text(encoding="utf-8"))


@functools.cache
def cover_set() -> list[dict[str, Any]]:
    return yaml.safe_load((DATA / "covers.yaml").read_text(encoding="utf-8"))["covers"]


@functools.cache
def sweep_rows() -> list[dict[str, Any]]:
    """tests/data/understanding/sweeps.yaml as phrasing rows (split 'sweep', a tuning set: the tables were written
    from it)."""
    groups = yaml.safe_load((DATA / "sweeps.yaml").read_text(encoding="utf-8"))["sweeps"]
    return [{"text": text, "start": g["start"], "expect": g["expect"], "tags": [], "split": "sweep"}
            for g in groups for text in g["texts"]]


def start_spec(name: str):
    from tools.spec import MusicSpec

    return MusicSpec(**phrasing_set()["starts"][name], time_signature="4/4", duration_s=30.0)


@dataclass
class Outcome:
    """One case scored: right when every expectation holds; `inverted` lists fields moved the wrong way."""

    text: str
    split: str
    tags: list[str]
    right: bool
    misses: list[str] = field(default_factory=list)
    inverted: list[str] = field(default_factory=list)


def _moved(before: float | None, after: float | None) -> int:
    before = 0.5 if before is None else before
    after = before if after is None else after
    return 0 if abs(after - before) < 1e-9 else (1 if after > before else -1)


def _check(key: str, want: Any, before, after, changed: bool) -> tuple[bool, bool]:
    """(holds, inverted) for one expectation."""
    if key in ("valence", "energy", "tempo"):
        name = "tempo_bpm" if key == "tempo" else key
        got = _moved(getattr(before, name), getattr(after, name))
        sign = 1 if want == "up" else -1
        return got == sign, got == -sign
    if key == "mode":
        return after.mode == want, after.mode != want and after.mode != before.mode
    if key == "genre":
        if str(want).startswith("!"):
            return after.genre != want[1:], after.genre == want[1:] and before.genre != want[1:]
        return after.genre == want, False
    if key == "add":
        return want in after.instruments, False
    if key == "remove":
        return want not in after.instruments, want in after.instruments and want not in before.instruments
    if key == "density":
        got = len(after.instruments) - len(before.instruments)
        sign = 1 if want == "more" else -1
        return got * sign > 0, got * sign < 0
    if key == "none":
        return not changed, False
    raise ValueError(f"unknown expectation {key!r}")


def phrasing_outcome(row: dict[str, Any], prefer=None) -> Outcome:
    """Reads one phrasing against its starting plan, as chat does, and checks each expected direction."""
    from agent.chat.refine import _tried, changes_anything, read_message

    before = start_spec(row["start"])
    refinement = read_message(row["text"], before, prefer)
    after = _tried(refinement, before)[0]
    changed = changes_anything(refinement, before)
    misses, inverted = [], []
    for key, want in row["expect"].items():
        holds, wrong = _check(key, want, before, after, changed)
        if not holds:
            misses.append(f"{key} {want}")
        if wrong:
            inverted.append(key)
    return Outcome(row["text"], row["split"], row["tags"], not misses, misses, inverted)


def plan_of_cover(recipe: dict[str, Any], describer) -> tuple[Any, Any]:
    """The offline describer's evidence of the drawn cover and the prior over it."""
    from tests.images import idiom_cover
    from tools.cover import Cover
    from tools.grounding.prior import Prior

    image = idiom_cover(recipe)
    cover = Cover(path=Path(f"{recipe['title']}.png"), sha256="", image=image, original_size=image.size, format="PNG")
    description = describer.describe(cover)
    return description, Prior(description.evidence)


def cover_outcome(recipe: dict[str, Any], describer) -> Outcome:
    """Whether the prior's genre is one a listener accepts, every stated key, mode, tempo and instrument is the
    prior's top choice, and no instrument the cover rules out ('NO GUITARS': `absent`) is among its five."""
    description, prior = plan_of_cover(recipe, describer)
    genre = prior.rank("genre").top.value
    misses = [] if genre in recipe["accept"] else [f"genre {genre} (accept {', '.join(recipe['accept'])})"]
    for key, want in (recipe.get("state") or {}).items():
        if key == "instrument":
            got = want if want in prior.rank("instruments").values()[:5] else None
        else:
            got = prior.rank({"tempo": "tempo_bpm"}.get(key, key)).top.value
        if got != want:
            misses.append(f"{key} {got} (stated {want})")
    played = [o.value for o in prior.rank("instruments").options if o.score > 0][:5]
    misses += [f"instrument {name} (the cover rules it out)" for name in recipe.get("absent") or [] if name in played]
    return Outcome(recipe["title"], recipe["split"], ["cover"], not misses, misses)


def score(outcomes: list[Outcome], split: str) -> tuple[int, int]:
    chosen = [o for o in outcomes if o.split == split]
    return sum(o.right for o in chosen), len(chosen)
