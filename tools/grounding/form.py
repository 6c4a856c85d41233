"""The form and the room of a take, decided from the evidence like every other field: the genre's typical
form (prompts/forms.yaml) shaped by the energy read from the cover, and the space named by something on the
cover (a church, a stage, a bedroom) or else the genre's usual room. Each comes with a rationale citing ids."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tools.form import choose_form, default_space, form_table, space_words
from tools.grounding.decide import Decision, PriorOption


@dataclass(frozen=True)
class Planned:
    """A setter call the planner makes (set_form / set_space) and the decision the trace records."""

    tool: str
    arguments: dict[str, Any]
    decision: Decision


def _ids(ids: list[str] | tuple[str, ...], n: int = 4) -> list[str]:
    return list(dict.fromkeys(ids))[:n]


def form_plan(spec, prior) -> Planned:
    """set_form: the genre's form; an intense cover (energy >= 0.6) gets a two-bar intro and its peak early,
    a calm one a full-phrase intro and, where the genre has one, the form with the least repetition."""
    energy = spec.energy if spec.energy is not None else 0.5
    form = choose_form(spec.genre, energy)
    ids = _cited(prior, spec.genre, affect_first=True)
    options = form_table()["genre_forms"].get(spec.genre) or [form]
    shape = "a two-bar intro and the first peak early" if energy >= 0.6 else "a full-phrase intro and a slow build"
    cite = f" ({', '.join(ids)})" if ids else ""
    why = f"{form} is how {spec.genre} is usually built; the cover's energy {energy:.2f}{cite} asks for {shape}"
    return Planned("set_form", {"form": form, "rationale": why}, _decision("form", form, options, ids, why))


def space_plan(spec, prior) -> Planned:
    """set_space: a room named by the cover's own evidence (labels, words, scene), else the genre's usual one."""
    words = space_words()
    items = list(prior.evidence) if prior is not None else []
    for item in items:
        text = f"{item.text} {item.value if isinstance(item.value, str) else ''}".lower()
        for word, space in sorted(words.items(), key=lambda w: -len(w[0])):
            if re.search(rf"\b{re.escape(word)}\b", text):
                why = f"{item.id} shows {word!r}: the music sounds as if in a {space}"
                return Planned("set_space", {"space": space, "rationale": why}, _decision("space", space, [space],
                                                                                          [item.id], why))
    space = default_space(spec.genre, spec.energy if spec.energy is not None else 0.5)
    ids = _cited(prior, spec.genre, affect_first=False)
    cite = f" ({', '.join(ids)})" if ids else ""
    why = f"nothing on the cover names a room; a {space} is where {spec.genre}{cite} is usually heard"
    return Planned("set_space", {"space": space, "rationale": why}, _decision("space", space, [space], ids, why))


def _cited(prior, genre: str, affect_first: bool) -> list[str]:
    """Evidence ids to cite: the affect's (energy) or the genre's supporters first, the other as a fallback."""
    if prior is None:
        return []
    affect, supporters = list(prior.affect.evidence), list(prior.supports("genre", genre))
    return _ids((affect + supporters) if affect_first else (supporters + affect))


def _decision(field: str, choice: str, options: list[str], ids: list[str], why: str) -> Decision:
    return Decision(field=field, choice=choice, decided_by="prior",
                    prior=[PriorOption(value=o, score=1.0 if o == choice else 0.0, evidence=ids if o == choice else [])
                           for o in options],
                    evidence=ids, rationale=why)
