"""One catalogue as a pipeline uses it: a new cover embedded, its nearest covers found in the index, and the
trained predictor asked."""
from __future__ import annotations

import threading
from typing import Any

from tools.catalog.index import CatalogIndex, Neighbour, check_name
from tools.errors import InputError


class Catalog:
    """One catalogue as a pipeline uses it: embed a new cover with the catalogue's embedder, find its k
    nearest covers, and ask the trained predictor (when `catalog train` has been run)."""

    def __init__(self, name: str, k: int = 5, index: CatalogIndex | None = None):
        from tools.catalog.predict import Predictor

        self.index = index or CatalogIndex()
        self.info = self.index.require(check_name(name))
        if self.info["covers"] == 0:
            raise InputError(f"catalogue {name} holds no covers: import some with albumgen catalog import FILE --name {name}")
        self.name, self.k = name, k
        self.predictor = Predictor.load(self.index, name)
        self._lock = threading.Lock()

    def find(self, image) -> tuple[list[Neighbour], list]:
        from tools.catalog.embed import embedder

        with self._lock:
            vector = embedder(self.info["embedder"]).embed(image)
            neighbours = self.index.search(self.name, vector, self.k)
            predictions = self.predictor.predict(vector) if self.predictor else []
        return neighbours, predictions

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "covers": self.info["covers"], "embedder": self.info["embedder"], "k": self.k,
                "predictor": self.predictor.bundle["scores"] if self.predictor else None}
