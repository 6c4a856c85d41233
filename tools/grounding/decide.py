"""Decisions: the prior's ranking combined with a model's preference measured without positional bias, and
the typed record of each decision that the trace is written from."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, JsonValue

from tools.grounding.coherence import compatible
from tools.grounding.prior import Option, Prior, Ranking
from tools.json_values import as_json

PRIOR_TEMPERATURE = 0.25  # prior scores -> probabilities: a 0.25 lead is worth e (one nat)
# The most a model's preference can favour one candidate over another, in nats (e^8: about 3000 to 1). Clipping
# there bounds what the model can change, so a call whose answer cannot change the choice is not made:
# with model_weight w, a prior lead of more than w * MODEL_REACH nats is beyond the model's reach. Calibrated
# preferences of SmolLM2 span 1-8 nats over 2-9 candidates.
MODEL_REACH = 8.0
CANDIDATES = {"genre": 6, "moods": 8, "tempo_bpm": 9, "mode": 2, "key": 4, "time_signature": 3,
              "instruments": 8, "era": 4}


@dataclass(frozen=True)
class Preference:
    """A model's preference over candidates: log-probabilities (normalised over the candidates), and how
    they were measured ('logprob': calibrated continuation log-probabilities; 'two orderings': the value the
    model chose when the options were listed in both orders)."""

    method: str
    logprobs: dict[Any, float]
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def top(self) -> Any:
        return max(self.logprobs, key=lambda v: (self.logprobs[v], str(v))) if self.logprobs else None


class PriorOption(BaseModel):
    """One option a decision was chosen from: its value, its score (the prior's, or a request's combined
    score), the evidence ids behind it and why; `support` is a request option's score before the model's."""

    value: JsonValue
    score: float
    evidence: list[str] = []
    why: list[str] = []
    support: float | None = None

    @classmethod
    def of(cls, option: Option) -> PriorOption:
        return cls(value=as_json(option.value), score=round(option.score, 3), evidence=list(option.evidence),
                   why=list(option.why))


class Overruled(BaseModel):
    """A model's choice the setter refused, and the setter's reason."""

    choice: JsonValue
    reason: str


class ModelView(BaseModel):
    """What the model preferred and how it was measured: 'logprob' (calibrated log-probabilities), 'two
    orderings' (its answers with the options in both orders, and the values they agreed on) or 'skipped' (the
    prior's margin was beyond the model's reach: the numbers)."""

    model_config = ConfigDict(extra="forbid")

    method: str
    top: JsonValue = None
    logprobs: dict[str, float] = {}
    calibrated: dict[str, float] | None = None
    answers: list[list[str]] | None = None
    agreed: list[str] | None = None
    reason: str | None = None
    margin: float | None = None
    reach: float | None = None
    overruled: Overruled | None = None

    @classmethod
    def of(cls, pref: Preference | None, **extra: Any) -> ModelView | None:
        if pref is None:
            return None
        return cls(method=pref.method, top=as_json(pref.top),
                   logprobs={str(k): round(v, 3) for k, v in pref.logprobs.items()}, **as_json(pref.detail), **extra)


class Decision(BaseModel):
    """One field decided: what the prior ranked, what the model preferred, what was chosen, who decided
    it and the rationale (written by the model, or composed from the evidence when it could not)."""

    model_config = ConfigDict(frozen=True)

    field: str
    choice: JsonValue
    decided_by: str  # prior | model | prior+model | fallback | overruled (the model's pick was refused) | request
    prior: list[PriorOption]
    model: ModelView | None = None
    evidence: list[str] = []
    rationale: str = ""
    rationale_source: str = "composed"  # model | composed


def calibrated_preference(values: list[Any], with_context: list[float], without: list[float]) -> Preference:
    """A preference from continuation log-probabilities, calibrated against the same question without the
    context (Zhao et al. 2021): log p(v | context) - log p(v | nothing), normalised over the candidates with
    an exact sum, so neither their order nor how many came before can change it."""
    pmi = {v: a - b for v, a, b in zip(values, with_context, without)}
    top = max(pmi.values())
    z = top + math.log(math.fsum(math.exp(p - top) for p in pmi.values()))
    return Preference("logprob", {v: p - z for v, p in pmi.items()},
                      {"calibrated": {str(v): round(p, 3) for v, p in pmi.items()}})


def candidates(ranking: Ranking) -> list[Option]:
    return list(ranking.options[: CANDIDATES.get(ranking.field, 6)])


def _log_softmax(scores: dict[Any, float], temperature: float = 1.0) -> dict[Any, float]:
    m = max(scores.values())
    z = m / temperature + math.log(math.fsum(math.exp((s - m) / temperature) for s in scores.values()))
    return {k: s / temperature - z for k, s in scores.items()}


def combined_scores(options: list[Option], preference: Preference | None, weight: float) -> dict[Any, float]:
    """log p_prior + weight * log p_model for each candidate (the prior alone without a preference)."""
    prior = _log_softmax({o.value: o.score for o in options}, PRIOR_TEMPERATURE)
    if preference is None or not preference.logprobs:
        return prior
    top = max(preference.logprobs.values())
    model = {v: max(lp, top - MODEL_REACH) for v, lp in preference.logprobs.items()}
    floor = min(model.values())
    return {v: p + weight * model.get(v, floor) for v, p in prior.items()}


def _stable_order(scores: dict[Any, float], n: int, reach: float) -> bool:
    """The first `n` of the order (and which comes next) cannot change when any score moves by up to `reach`."""
    order = _ordered(scores)
    return all(scores[order[k]] - scores[order[k + 1]] > reach for k in range(min(n, len(order) - 1)))


def beyond_reach(field: str, options: list[Option], weight: float, count: int = 1,
                 margin: float = 1.0) -> tuple[bool, dict[str, float]]:
    """Whether no preference the model could state (within MODEL_REACH, times `weight`) can change what the
    prior chooses among `options`: (True, the prior's margin and the reach) when the call can be skipped."""
    reach = weight * MODEL_REACH
    if field == "instruments":
        options = [o for o in options if o.score > 0]
    scores = combined_scores(options, None, weight)
    order = _ordered(scores)
    lead = scores[order[0]] - scores[order[1]] if len(order) > 1 else math.inf
    if field == "instruments":  # the line-up and its order: the first `count` and the one after
        skip = _stable_order(scores, count, reach)
    elif field == "moods":  # the lead, and every mood that could join it within `margin`
        near = [v for v in order if scores[order[0]] - scores[v] <= margin + reach]
        undecided = [v for v in near if abs(scores[order[0]] - scores[v] - margin) <= reach]
        skip = not undecided and _stable_order(scores, len(near), reach)
    else:
        skip = lead > reach
    return skip, {"margin": round(lead, 2), "reach": round(reach, 2)}


def _ordered(scores: dict[Any, float]) -> list[Any]:
    return sorted(scores, key=lambda v: (-scores[v], str(v)))  # ties alphabetical: never the offered order


def choose_one(options: list[Option], preference: Preference | None, weight: float) -> Any:
    return _ordered(combined_scores(options, preference, weight))[0]


def choose_moods(options: list[Option], preference: Preference | None, weight: float, margin: float = 1.0) -> list[str]:
    """The best mood, then up to two more within `margin` nats of it that contradict none already chosen."""
    scores = combined_scores(options, preference, weight)
    order = _ordered(scores)
    chosen = [order[0]]
    for mood in order[1:]:
        if len(chosen) == 3 or scores[mood] < scores[order[0]] - margin:
            break
        if compatible(mood, chosen):
            chosen.append(mood)
    return chosen


def choose_many(options: list[Option], preference: Preference | None, weight: float, count: int) -> list[str]:
    scores = combined_scores([o for o in options if o.score > 0], preference, weight)
    return _ordered(scores)[:count]


def decided_by(ranking: Ranking, preference: Preference | None, choice: Any) -> str:
    """prior: the prior's own choice; prior+model: the model preferred it too; model: the model's preference
    changed what the prior alone would have chosen (for lists: the set differs from the prior's top ones)."""
    many = isinstance(choice, (list, tuple))
    prior_choice = {o.value for o in ranking.options[: len(choice)]} if many else ranking.top.value
    same = (set(choice) == prior_choice) if many else choice == prior_choice
    if preference is None or preference.top is None:
        return "prior"
    if same:
        return "prior+model" if preference.top in (choice if many else [choice]) else "prior"
    return "model"


def evidence_for(ranking: Ranking, choice: Any) -> list[str]:
    values = choice if isinstance(choice, (list, tuple)) else [choice]
    ids: list[str] = []
    for value in values:
        option = ranking.option(value)
        ids += list(option.evidence) if option else []
    return list(dict.fromkeys(ids))


def compose_rationale(ranking: Ranking, choice: Any, prior: Prior, limit: int = 300) -> str:
    """A rationale written from the evidence and the association the prior used, strongest first, e.g.
    "metal: E11 the word "metal" → metal +1.49; valence 0.15, energy 0.68 (from E2, E3) near metal's ... |
    E11 cover text "DEATHMETAL"; E2 dark overall (CIELAB L* 16 of 100)"."""
    import re

    values = list(choice) if isinstance(choice, (list, tuple)) else [choice]
    option = ranking.option(values[0])
    whys = [w for w in (option.why if option else ()) if w][:2]
    ids = list(dict.fromkeys(re.findall(r"\bE\d+\b", " ".join(whys)))) or evidence_for(ranking, values)
    facts = "; ".join(f"{i} {prior.evidence.get(i).text}" for i in ids[:2] if prior.evidence.get(i))
    text = f"{', '.join(map(str, values))}: {'; '.join(whys) or 'see evidence'} | {facts}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def prior_table(ranking: Ranking, n: int = 5) -> list[PriorOption]:
    return [PriorOption.of(o) for o in ranking.options[:n]]
