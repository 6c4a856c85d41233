"""`albumgen catalog train`: scikit-learn models on a catalogue's embeddings, scored by cross-validation.

Genre and mode: standardised features → logistic regression. Tempo, energy, valence: standardised features →
ridge regression (alpha chosen by inner cross-validation). Each model's k-fold score is saved with it, and the
prior weighs a prediction by that measured score (accuracy for classes, R² clipped at 0 for numbers).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.catalog.index import CatalogIndex, Entries
from tools.errors import InputError, require

NUMERIC = ("tempo", "energy", "valence")
MIN_COVERS = 10
FOLDS = 5


def model_path(index: CatalogIndex, name: str) -> Path:
    return index.path.parent / "catalogs" / f"{name}.joblib"


def _classifier():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=2000))


def _regressor():
    import numpy as np
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(0, 5, 11)))


def _folds(y, classes: bool):
    from collections import Counter

    from sklearn.model_selection import KFold, StratifiedKFold

    if classes and min(Counter(y).values()) >= FOLDS:
        return StratifiedKFold(FOLDS, shuffle=True, random_state=0)
    return KFold(min(FOLDS, len(y)), shuffle=True, random_state=0)


def targets(entries: Entries) -> dict[str, tuple[Any, Any]]:
    """Per field: (row mask of covers that know it, their values)."""
    import numpy as np

    out = {"genre": (np.ones(len(entries.attributes), bool), np.array([a.genre for a in entries.attributes]))}
    for field in (*NUMERIC, "mode"):
        values = [getattr(a, field) for a in entries.attributes]
        mask = np.array([v is not None for v in values])
        out[field] = (mask, np.array([v for v in values if v is not None], dtype=float if field != "mode" else int))
    return out


def cross_validated(entries: Entries) -> dict[str, Any]:
    """Out-of-fold predictions per field (what `catalog eval` scores and `train` reports): genre and mode
    as class probabilities, numbers as values; fields with too few covers or one class are left out."""
    import numpy as np
    from sklearn.model_selection import cross_val_predict

    require("sklearn", "catalog", "scikit-learn")
    out: dict[str, Any] = {}
    for field, (mask, y) in targets(entries).items():
        if mask.sum() < MIN_COVERS or (field in ("genre", "mode") and len(set(y.tolist())) < 2):
            continue
        x = entries.vectors[mask]
        if field in ("genre", "mode"):
            model = _classifier()
            probs = cross_val_predict(model, x, y, cv=_folds(y.tolist(), True), method="predict_proba")
            out[field] = (mask, y, np.array(sorted(set(y.tolist()))), probs)
        else:
            pred = cross_val_predict(_regressor(), x, y, cv=_folds(y, False))
            out[field] = (mask, y, None, np.clip(pred, y.min(), y.max()))  # as predict() does
    return out


def scores(oof: dict[str, Any]) -> dict[str, dict[str, float]]:
    import numpy as np

    out = {}
    for field, (_mask, y, classes, pred) in oof.items():
        if classes is not None:
            out[field] = {"accuracy": round(float(np.mean(classes[pred.argmax(1)] == y)), 4)}
        else:
            ss = float(np.sum((y - y.mean()) ** 2)) or 1.0
            out[field] = {"mae": round(float(np.mean(np.abs(pred - y))), 4),
                          "r2": round(1 - float(np.sum((pred - y) ** 2)) / ss, 4)}
    return out


def train(index: CatalogIndex, name: str) -> dict[str, Any]:
    """Fit every field's model on the whole catalogue, save them with their cross-validated scores."""
    import joblib
    import sklearn

    entries = index.entries(name)
    if len(entries.ids) < MIN_COVERS:
        raise InputError(f"catalogue {name} has {len(entries.ids)} covers: training needs at least {MIN_COVERS}")
    start = time.perf_counter()
    measured = scores(cross_validated(entries))
    models, ranges = {}, {}
    for field, (mask, y) in targets(entries).items():
        if field in measured:
            models[field] = (_classifier() if field in ("genre", "mode") else _regressor()).fit(entries.vectors[mask], y)
            if field in NUMERIC:
                ranges[field] = (float(y.min()), float(y.max()))
    bundle = {"catalog": name, "embedder": index.require(name)["embedder"], "covers": len(entries.ids),
              "models": models, "scores": measured, "ranges": ranges, "folds": FOLDS, "sklearn": sklearn.__version__,
              "seconds": round(time.perf_counter() - start, 2)}
    path = model_path(index, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    joblib.dump(bundle, partial)
    partial.replace(path)
    return {k: v for k, v in bundle.items() if k != "models"} | {"path": str(path)}


@dataclass(frozen=True)
class Prediction:
    field: str
    value: Any
    probability: float | None  # classes: the predicted probability
    score: float  # the model's measured score: accuracy, or R² clipped at 0
    metric: str
    top: tuple[tuple[Any, float], ...] = ()  # classes: the three most probable


class Predictor:
    """A trained catalogue's models, loaded once."""

    def __init__(self, bundle: dict[str, Any]):
        self.bundle = bundle

    @classmethod
    def load(cls, index: CatalogIndex, name: str) -> Predictor | None:
        path = model_path(index, name)
        if not path.exists():
            return None
        import joblib

        return cls(joblib.load(path))

    def predict(self, vector) -> list[Prediction]:
        import numpy as np

        x = np.asarray(vector, dtype=np.float32)[None]
        out = []
        for field, model in self.bundle["models"].items():
            score = self.bundle["scores"][field]
            if field in ("genre", "mode"):
                probs = model.predict_proba(x)[0]
                order = np.argsort(-probs)[:3]
                top = tuple((model.classes_[i].item(), round(float(probs[i]), 3)) for i in order)
                out.append(Prediction(field, top[0][0], top[0][1], score["accuracy"], "accuracy", top))
            else:
                # a linear model extrapolates past anything the catalogue holds (a cover unlike all of them
                # gave tempo 224 and energy 1.36 where every neighbour said 160 and 0.92): keep to its range
                lo, hi = self.bundle.get("ranges", {}).get(field, (-np.inf, np.inf))
                value = float(np.clip(model.predict(x)[0], lo, hi))
                out.append(Prediction(field, round(value, 3), None, max(score["r2"], 0.0), "R²"))
        return out
