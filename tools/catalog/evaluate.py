"""`albumgen catalog eval`: how well each method guesses a cover's music, measured on the catalogue itself.

Retrieval k=1/5/10: leave-one-out (each cover's neighbours among all the others, the same vote the prior
uses). The trained predictor: 5-fold out-of-fold predictions. The evidence prior alone: the prior of "the
cover drives the music" on each cover's own stored evidence (no catalogue). Baseline: the majority genre and
mode, the mean tempo, energy and valence.
"""
from __future__ import annotations

import time
from collections import Counter
from types import SimpleNamespace
from typing import Any

from tools.catalog.consensus import consensus, weights
from tools.catalog.index import CatalogIndex, Entries

METRICS = ("genre_top1", "genre_top3", "tempo_mae", "tempo_within_8pct", "mode_accuracy", "energy_mae", "valence_mae")
RETRIEVAL_K = (1, 5, 10)


def _score(entries: Entries, guesses: list[dict[str, Any]]) -> dict[str, float | None]:
    """Metrics of one method: `guesses[i]` holds genres (ranked), tempo, mode (1/0), energy, valence."""
    import numpy as np

    truth = entries.attributes
    out: dict[str, float | None] = {
        "genre_top1": float(np.mean([g["genres"][:1] == [t.genre] for g, t in zip(guesses, truth)])),
        "genre_top3": float(np.mean([t.genre in g["genres"][:3] for g, t in zip(guesses, truth)]))}
    tempo = [(g["tempo"], t.tempo) for g, t in zip(guesses, truth) if g.get("tempo") is not None]
    out["tempo_mae"] = float(np.mean([abs(a - b) for a, b in tempo])) if tempo else None
    out["tempo_within_8pct"] = float(np.mean([abs(a - b) <= 0.08 * b for a, b in tempo])) if tempo else None
    modes = [(g["mode"], t.mode) for g, t in zip(guesses, truth) if t.mode is not None and g.get("mode") is not None]
    out["mode_accuracy"] = float(np.mean([round(a) == b for a, b in modes])) if modes else None
    for name in ("energy", "valence"):
        pairs = [(g[name], getattr(t, name)) for g, t in zip(guesses, truth)
                 if getattr(t, name) is not None and g.get(name) is not None]
        out[f"{name}_mae"] = float(np.mean([abs(a - b) for a, b in pairs])) if pairs else None
    return {k: (round(v, 4) if v is not None else None) for k, v in out.items()}


def _retrieval(entries: Entries, k: int) -> list[dict[str, Any]]:
    import numpy as np

    sims = entries.vectors @ entries.vectors.T
    np.fill_diagonal(sims, -np.inf)  # leave one out: a cover is never its own neighbour
    k = min(k, len(entries.ids) - 1)
    nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    out = []
    for i, row in enumerate(nearest):
        row = row[np.argsort(-sims[i, row])]
        attrs = [entries.attributes[j] for j in row]
        c = consensus(attrs, sims[i, row].tolist())
        top = c.ranked_genres()[0]
        out.append({"genres": c.ranked_genres(), "tempo": c.tempo_of(top, attrs, weights(sims[i, row].tolist())),
                    "mode": c.major, "energy": c.energy, "valence": c.valence})
    return out


def _predictor(entries: Entries) -> list[dict[str, Any]] | None:
    from tools.catalog.predict import cross_validated

    oof = cross_validated(entries)
    if "genre" not in oof:
        return None
    out: list[dict[str, Any]] = [{} for _ in entries.ids]
    for field, (mask, _y, classes, pred) in oof.items():
        rows = [i for i, m in enumerate(mask) if m]
        for i, p in zip(rows, pred):
            if field == "genre":
                out[i]["genres"] = [classes[j].item() for j in (-p).argsort()[:3]]
            elif field == "mode":
                out[i]["mode"] = float(p[list(classes).index(1)]) if 1 in classes else 0.0
            else:
                out[i][field] = float(p)
    return out


def _prior(entries: Entries) -> list[dict[str, Any]]:
    from tools.grounding.evidence import EvidenceSet
    from tools.grounding.prior import Prior

    out = []
    for evidence in entries.evidence:
        prior = Prior(EvidenceSet.from_dicts(evidence))
        genre = prior.rank("genre")
        top = genre.top.value
        out.append({"genres": genre.values()[:3], "tempo": float(prior.rank("tempo_bpm", SimpleNamespace(genre=top)).top.value),
                    "mode": 1.0 if prior.rank("mode", SimpleNamespace(genre=top)).top.value == "major" else 0.0,
                    "energy": prior.affect.energy, "valence": prior.affect.valence})
    return out


def _baseline(entries: Entries) -> list[dict[str, Any]]:
    import numpy as np

    attrs = entries.attributes
    genres = [g for g, _n in sorted(Counter(a.genre for a in attrs).items(), key=lambda gn: (-gn[1], gn[0]))]
    modes = [a.mode for a in attrs if a.mode is not None]

    def mean(name):
        values = [getattr(a, name) for a in attrs if getattr(a, name) is not None]
        return float(np.mean(values)) if values else None

    guess = {"genres": genres[:3], "tempo": mean("tempo"), "energy": mean("energy"), "valence": mean("valence"),
             "mode": float(Counter(modes).most_common(1)[0][0]) if modes else None}
    return [guess] * len(attrs)


def evaluate(index: CatalogIndex, name: str) -> dict[str, Any]:
    """Every method's metrics side by side, the best method (by genre top-1) and the baseline."""
    start = time.perf_counter()
    entries = index.entries(name)
    if len(entries.ids) < 3:
        from tools.errors import InputError

        raise InputError(f"catalogue {name} has {len(entries.ids)} covers: evaluation needs at least 3")
    methods: dict[str, dict[str, Any]] = {}
    for k in RETRIEVAL_K:
        if k < len(entries.ids):
            methods[f"retrieval k={k}"] = _score(entries, _retrieval(entries, k))
    predicted = _predictor(entries)
    if predicted is not None:
        methods["trained predictor"] = _score(entries, predicted)
    methods["evidence prior"] = _score(entries, _prior(entries))
    baseline = _score(entries, _baseline(entries))
    best = max(methods, key=lambda m: (methods[m]["genre_top1"], -(methods[m]["tempo_mae"] or 0)))
    return {"catalog": name, "covers": len(entries.ids), "best": best, **methods[best],
            **{f"baseline_{k}": v for k, v in baseline.items()},
            "methods": {**methods, "baseline (majority / mean)": baseline},
            "seconds": round(time.perf_counter() - start, 2)}


def table(result: dict[str, Any]) -> str:
    heads = ("method", "genre top-1", "top-3", "tempo MAE", "tempo ±8 %", "mode acc", "energy MAE", "valence MAE")
    lines = [f"catalogue {result['catalog']}: {result['covers']} covers · leave-one-out retrieval, 5-fold predictor",
             "| " + " | ".join(heads) + " |", "|" + " --- |" * len(heads)]
    for method, m in result["methods"].items():
        cells = [_fmt(m[k], k) for k in METRICS]
        mark = " **(best)**" if method == result["best"] else ""
        lines.append(f"| {method}{mark} | " + " | ".join(cells) + " |")
    lines.append(f"evaluated in {result['seconds']} s")
    return "\n".join(lines)


def _fmt(value, metric: str) -> str:
    if value is None:
        return "n/a"
    if metric == "tempo_mae":
        return f"{value:.1f} BPM"
    if metric.endswith("_mae"):
        return f"{value:.3f}"
    return f"{value:.0%}"
