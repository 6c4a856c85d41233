"""What a set of neighbours says: a similarity-weighted genre vote, weighted means of tempo, energy and
valence, and the weighted share of major. The prior and `catalog eval` use this one computation."""
from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from tools.catalog.rows import Attributes
from tools.vocab import prompt_table


@functools.cache
def settings() -> dict:
    return prompt_table("catalog.yaml")


def weights(similarities: Sequence[float]) -> list[float]:
    power = settings()["similarity_power"]
    return [max(float(s), 0.0) ** power + 1e-9 for s in similarities]


@dataclass(frozen=True)
class Consensus:
    genres: dict[str, float]  # share of the vote, best first, summing to 1
    tempo: float | None
    energy: float | None
    valence: float | None
    major: float | None  # weighted share of major among the neighbours whose mode is known

    def ranked_genres(self) -> list[str]:
        return list(self.genres)

    def tempo_of(self, genre: str, attributes: Sequence[Attributes], w: Sequence[float]) -> float | None:
        """The weighted mean tempo of the neighbours of this genre (all of them when none is)."""
        same = [(a.tempo, x) for a, x in zip(attributes, w) if a.genre == genre]
        return weighted_mean(same) if same else self.tempo


def weighted_mean(pairs) -> float | None:
    """The mean of (value, weight) pairs whose value is known; None when none is."""
    pairs = [(v, w) for v, w in pairs if v is not None]
    total = sum(w for _v, w in pairs)
    return sum(v * w for v, w in pairs) / total if total else None


def consensus(attributes: Sequence[Attributes], similarities: Sequence[float]) -> Consensus:
    w = weights(similarities)
    votes: dict[str, float] = {}
    for a, x in zip(attributes, w):
        votes[a.genre] = votes.get(a.genre, 0.0) + x
    total = sum(votes.values()) or 1.0
    genres = dict(sorted(((g, v / total) for g, v in votes.items()), key=lambda gv: (-gv[1], gv[0])))
    return Consensus(genres=genres,
                     tempo=weighted_mean((a.tempo, x) for a, x in zip(attributes, w)),
                     energy=weighted_mean((a.energy, x) for a, x in zip(attributes, w)),
                     valence=weighted_mean((a.valence, x) for a, x in zip(attributes, w)),
                     major=weighted_mean((a.mode, x) for a, x in zip(attributes, w)))
