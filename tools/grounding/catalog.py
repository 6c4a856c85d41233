"""Catalogue neighbours and predictions as evidence items, numbered after the cover's own (E12, E13, ...).

A neighbour item says which catalogue cover is near, how near, and what its music is; a prediction item
says what the trained model predicts and how well it scored in cross-validation. The prior weighs them
(tools/grounding/prior.py); the trace and trace.md list them with every other item, so a decision citing
E13 can be checked against the named catalogue cover.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from tools.grounding.evidence import Evidence, EvidenceSet


def neighbour_items(catalog: str, neighbours: Sequence) -> list[Evidence]:
    return [Evidence(id="", kind="neighbour",
                     text=f"similar cover in catalogue {catalog}: {n.name} (similarity {n.similarity:.2f}) is "
                          f"{n.attributes.short()}",
                     value=round(n.similarity, 4), confidence=round(n.similarity, 4),
                     detail={"catalog": catalog, "cover": n.cover, "attributes": n.attributes.to_dict()})
            for n in neighbours]


def prediction_items(catalog: str, predictions: Sequence) -> list[Evidence]:
    out = []
    for p in predictions:
        shown = (", ".join(f"{v} {q:.2f}" for v, q in p.top) if p.top else f"{p.value:g}")
        if p.field == "mode":
            shown = ", ".join(f"{'major' if v == 1 else 'minor'} {q:.2f}" for v, q in p.top)
        out.append(Evidence(id="", kind="predicted",
                            text=f"catalogue {catalog} predictor: {p.field} {shown} (cross-validated "
                                 f"{p.metric} {p.score:.2f})",
                            value=p.value, confidence=round(p.score, 4),
                            detail={"catalog": catalog, "field": p.field, "probability": p.probability,
                                    "score": p.score, "metric": p.metric, "top": [list(t) for t in p.top]}))
    return out


def extended(evidence: EvidenceSet, items: Sequence[Evidence]) -> EvidenceSet:
    """The cover's evidence with `items` appended, numbered on from its last id."""
    start = len(evidence) + 1
    return EvidenceSet(evidence.items + tuple(replace(e, id=f"E{start + k}") for k, e in enumerate(items)))
