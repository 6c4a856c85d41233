"""Guided decisions for small models: the prior ranks the options from the cover's evidence, the model's own
preference is measured without positional bias, the two are combined, and the setter is called with a
rationale that cites the evidence (the model's, or one composed from the evidence when it cannot write one).

Two ways to measure the preference:
- logprob (chat models with `score_continuations`, e.g. llama.cpp): each candidate is scored as a
  continuation on its own, calibrated against the same question without the cover (Zhao et al. 2021,
  "Calibrate before use"). No option list is shown, so their order cannot matter.
- two orderings (any chat model): the forced setter call is asked twice, options listed best-first and then
  reversed; only a choice that survives both orders counts as the model's preference.
"""
from __future__ import annotations

import math
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.tools import StructuredTool

from tools.grounding.coherence import AFFECT_SLACK, rationale_problem
from tools.grounding.decide import (
    Decision,
    ModelView,
    Overruled,
    Preference,
    beyond_reach,
    calibrated_preference,
    candidates,
    choose_many,
    choose_moods,
    choose_one,
    compose_rationale,
    decided_by,
    evidence_for,
    prior_table,
)
from tools.grounding.prior import Prior, Ranking, clip
from tools.json_values import as_json
from tools.spec import SETTER_FIELDS, normalise_era, normalise_tonic
from tools.vocab import vocabulary

AGREED = 0.7  # two orderings: probability mass given to the value the model chose in both orders


def render_options(ranking: Ranking, order: list[Any]) -> str:
    shown = []
    for value in order:
        option = ranking.option(value)
        cited = ", ".join(option.evidence[:3]) if option and option.evidence else "no evidence"
        shown.append(f"{value} ({cited})")
    return "; ".join(shown)


def answer_values(field: str, args: dict[str, Any]) -> list[Any]:
    """The values of `field` in a setter call's arguments, normalised like the setter does."""
    key = {"tempo_bpm": "bpm"}.get(field, field)
    raw = args.get(key)
    try:
        if field == "key":
            return [normalise_tonic(str(raw))]
        if field == "era":
            return [normalise_era(str(raw))]
    except ValueError:
        return []
    if isinstance(raw, list):
        return list(raw)
    return [] if raw is None else [raw]


def field_values(field: str, texts: list[str]) -> list[str]:
    """Every value a field can take, as candidate texts (the offered `texts` first, then the rest in order)."""
    from tools.grounding.prior import associations
    from tools.spec import TEMPO_MAX, TEMPO_MIN

    vocab = vocabulary()
    every = {"genre": vocab.genres, "moods": vocab.moods, "mode": vocab.modes, "key": vocab.tonics,
             "time_signature": vocab.time_signatures, "instruments": vocab.instruments,
             "era": associations()["eras"], "tempo_bpm": range(TEMPO_MIN, TEMPO_MAX + 1)}.get(field, ())
    return list(dict.fromkeys([*texts, *(str(v) for v in every)]))


NO_COVER = "(no cover)"


def question(field: str, cover: str) -> list:
    """The preference question about one field of a plan for `cover` (the compact evidence, or NO_COVER)."""
    from agent.planning.prompting import agent_prompts

    prompts = agent_prompts()
    return [SystemMessage(prompts["system"].strip()),
            HumanMessage(f"<cover>\n{cover}\n</cover>\n{prompts['preference_questions'][field]}")]


def calibrate(model) -> int:
    """Scores every field's calibration question (about no cover, every value the field can take) and keeps
    the scores on disk, as the first run would: `make setup` does it once. Returns the count of scores."""
    from agent.planning.prompting import agent_prompts

    fields = list(agent_prompts()["preference_questions"])
    return sum(len(model.score_continuations(question(f, NO_COVER), field_values(f, []), persist=True))
               for f in fields)


class GuidedPlanner:
    """Decides each field of a plan for the agent (`agent.planning.loop.Agent`), one setter at a time."""

    def __init__(self, agent, prior: Prior, description: str, model_weight: float):
        self.agent, self.prior, self.description, self.weight = agent, prior, description, model_weight
        self.compact = prior.evidence.compact()  # what the model reads when scored or asked to explain
        self.answers: dict[str, list[dict[str, Any]]] = {}

    @property
    def prompts(self) -> dict[str, Any]:
        from agent.planning.prompting import agent_prompts

        return agent_prompts()

    # -- one setter -------------------------------------------------------------------------------------------
    def decide(self, tool: str, use_model: bool = True) -> None:
        """Decide the field(s) of `tool`, call the setter through the tool box and record the decision."""
        spec = self.agent.toolbox.editor.spec
        fields = ("mode", "key") if tool == "set_key" else (SETTER_FIELDS[tool][0],)
        rankings = {f: self.prior.rank(f, spec) for f in fields}
        prefs = {f: self.preference(tool, f, rankings[f]) if use_model else None for f in fields}
        choices = {f: self.choose(f, rankings[f], prefs[f]) for f in fields}
        args = self.arguments(tool, choices)
        rationale, source = self.rationale(tool, args, rankings, choices, use_model)
        ok, text = self.agent.toolbox.execute(tool, {**args, "rationale": rationale})
        if not ok and source == "model":
            rationale, source = self.composed(rankings, choices), "composed"
            ok, text = self.agent.toolbox.execute(tool, {**args, "rationale": rationale})
        overruled = None
        if not ok:  # the combination broke a rule: the prior's own choice (coherent by construction)
            overruled = {"choice": dict(choices), "reason": text.splitlines()[0]}
            choices = {f: self.choose(f, rankings[f], None) for f in fields}
            self.agent.trace.warnings.append(
                f"{tool}: {', '.join(str(v) for v in overruled['choice'].values())} was refused "
                f"({overruled['reason']}); the prior's own choice was used")
            args = self.arguments(tool, choices)
            rationale, source = self.composed(rankings, choices), "composed"
            ok, text = self.agent.toolbox.execute(tool, {**args, "rationale": rationale})
        if not ok:
            from tools.errors import BackendError

            raise BackendError(f"the prior's own {tool} was refused ({text}): a bug in AlbumGen's "
                               "prior (tools/grounding): please report it with this run's trace.json")
        for f in fields:
            who = decided_by(rankings[f], prefs[f], choices[f]) if use_model else "fallback"
            if overruled is not None and overruled["choice"][f] != choices[f]:
                who = "overruled"  # the model's preference chose something the setter refused
            self.record(f, choices[f], who, rankings[f], prefs[f], rationale, source, overruled)

    def choose(self, field: str, ranking: Ranking, pref: Preference | None) -> Any:
        options = candidates(ranking)
        if field == "moods":
            return choose_moods(options, pref, self.weight)
        if field == "instruments":
            return choose_many(options, pref, self.weight, self.prior.instrument_count())
        return choose_one(options, pref, self.weight)

    def arguments(self, tool: str, choices: dict[str, Any]) -> dict[str, Any]:
        if tool == "set_mood":
            moods = choices["moods"]
            table, affect = vocabulary().moods, self.prior.affect
            out = {"moods": moods}
            for key, measured in (("energy", affect.energy), ("valence", affect.valence)):
                mean = sum(table[m][key] for m in moods) / len(moods)
                value = 0.8 * measured + 0.2 * mean  # the cover's own reading, nudged toward the moods'
                out[key] = round(clip(value, mean - AFFECT_SLACK + 0.05, mean + AFFECT_SLACK - 0.05), 2)
            return out
        if tool == "set_key":
            return {"key": choices["key"], "mode": choices["mode"]}
        if tool == "set_genre" and (subgenre := self.prior.stated_subgenre(choices["genre"])):
            return {"genre": choices["genre"], "subgenre": subgenre}  # the style the cover names, for the prompt
        key = {"set_tempo": "bpm"}.get(tool, SETTER_FIELDS[tool][0])
        return {key: choices[SETTER_FIELDS[tool][0]]}

    def record(self, field, choice, who, ranking, pref, rationale, source, overruled=None) -> None:
        refused = None if overruled is None or pref is None else \
            Overruled(choice=as_json(overruled["choice"][field]), reason=overruled["reason"])
        self.agent.trace.decisions.append(Decision(
            field=field, choice=as_json(choice), decided_by=who, prior=prior_table(ranking),
            model=ModelView.of(pref, overruled=refused), evidence=evidence_for(ranking, choice),
            rationale=rationale, rationale_source=source))

    # -- the model's preference -----------------------------------------------------------------------------
    def preference(self, tool: str, field: str, ranking: Ranking) -> Preference | None:
        options = candidates(ranking)
        if len(options) < 2:
            return None
        count = self.prior.instrument_count() if field == "instruments" else 1
        skip, numbers = beyond_reach(field, options, self.weight, count)
        if skip:  # no answer of the model could change the choice: the call is not made
            self.agent.trace.add("note", "preference skipped", self.agent.trace.now_ms(), detail={
                "field": field, "reason": "prior: margin beyond the model's reach", **numbers})
            return Preference("skipped", {}, {"reason": "prior: margin beyond the model's reach", **numbers})
        scorer = getattr(self.agent.model, "score_continuations", None)
        if scorer is not None:
            return self._logprob(field, [o.value for o in options], scorer)
        return self._two_orderings(tool, field, ranking, [o.value for o in options])

    def _logprob(self, field: str, values: list[Any], scorer) -> Preference:
        texts = [str(v) for v in values]
        start = self.agent.trace.now_ms()
        # calibration: every value the field can take, scored once for this model file and kept on disk by the
        # scorer, so a later cover (or process) never evaluates the "(no cover)" prompt, and the cover's own
        # prefix stays in llama.cpp's cache
        every = field_values(field, texts)
        calibration = dict(zip(every, scorer(question(field, NO_COVER), every, persist=True)))
        without = [calibration[t] for t in texts]
        with_cover = scorer(question(field, self.compact), texts)  # last: explain reuses its prefix
        pref = calibrated_preference(values, with_cover, without)
        self.agent.trace.add("llm_call", "preference", start, detail={
            "field": field, "method": "logprob", "candidates": texts, **pref.detail})
        return pref

    def _two_orderings(self, tool: str, field: str, ranking: Ranking, values: list[Any]) -> Preference | None:
        picks, answers = [], []
        for order in (values, values[::-1]):
            args = self._ask_setter(tool, ranking, order)
            if args is None:
                return None
            answers.append(args)
            picks.append([v for v in answer_values(field, args) if v in values])
        self.answers[tool] = answers
        agreed = [v for v in picks[0] if v in picks[1]]
        if not agreed:
            return Preference("two orderings", {}, {"answers": [list(map(str, p)) for p in picks], "agreed": []})
        rest = len(values) - len(agreed)
        logp = {v: math.log(AGREED / len(agreed)) if v in agreed else math.log((1 - AGREED) / max(rest, 1))
                for v in values}
        return Preference("two orderings", logp, {"answers": [list(map(str, p)) for p in picks],
                                                  "agreed": list(map(str, agreed))})

    def _ask_setter(self, tool: str, ranking: Ranking, order: list[Any]) -> dict[str, Any] | None:
        from agent.planning.prompting import render, spec_summary, step_instruction

        agent = self.agent
        instruction = step_instruction(tool, agent.toolbox.editor.spec) + " " + render(
            self.prompts["ranked_options"], options=render_options(ranking, order))
        task = render(self.prompts["guided_task"], description=self.description,
                      spec=spec_summary(agent.toolbox.editor), instruction=instruction)
        bound = agent.model.bind_tools(agent.toolbox.langchain_tools([tool]), tool_choice=tool)
        ai = agent.ask(bound, [SystemMessage(self.prompts["system"].strip()), HumanMessage(task)])
        calls = [c for c in ai.tool_calls if c["name"] == tool]
        return calls[0]["args"] if calls else None

    # -- the rationale --------------------------------------------------------------------------------------
    def composed(self, rankings: dict[str, Ranking], choices: dict[str, Any]) -> str:
        """The rationale composed from the evidence: one clause per field the setter sets (mode and key)."""
        limit = 300 // len(rankings)
        return " · ".join(compose_rationale(rankings[f], choices[f], self.prior, limit) for f in rankings)

    def rationale(self, tool: str, args: dict, rankings: dict[str, Ranking], choices: dict[str, Any],
                  use_model: bool) -> tuple[str, str]:
        evidence = self.prior.evidence
        field = list(rankings)[-1]
        ranking, choice = rankings[field], choices[field]
        for answer in self.answers.get(tool, []):  # two orderings: an answer that chose the same value
            text = str(answer.get("rationale") or "")
            same = answer_values(field, answer) == (list(choice) if isinstance(choice, (list, tuple)) else [choice])
            if same and not rationale_problem(text, evidence):
                return text, "model"
        if use_model and self.agent.rationale_tries and getattr(self.agent.model, "score_continuations", None):
            text = self._write_rationale(tool, args, ranking)
            if text is not None:
                return text, "model"
        return self.composed(rankings, choices), "composed"

    def _write_rationale(self, tool: str, args: dict, ranking: Ranking) -> str | None:
        from agent.planning.prompting import render

        agent = self.agent
        explain = StructuredTool(name="explain", description="Give the rationale for this decision.",
                                 func=lambda **kw: kw.get("rationale", ""), args_schema={
                                     "type": "object", "required": ["rationale"],
                                     "properties": {"rationale": {"type": "string", "maxLength": 200}}})
        shown = ", ".join(f"{k}={v}" for k, v in args.items())
        task = render(self.prompts["explain_task"], description=self.compact, decision=f"{tool}: {shown}",
                      options=render_options(ranking, ranking.values()[:4]))
        messages = [SystemMessage(self.prompts["system"].strip()), HumanMessage(task)]
        bound = agent.model.bind_tools([explain], tool_choice="explain")
        for _ in range(agent.rationale_tries):
            ai = agent.ask(bound, messages)
            text = next((str(c["args"].get("rationale") or "") for c in ai.tool_calls if c["name"] == "explain"), "")
            problem = rationale_problem(text, self.prior.evidence)
            if problem is None:
                return " ".join(text.split())
            agent.trace.add("note", "explain", agent.trace.now_ms(), result=f"rationale refused: {problem}",
                            arguments={"rationale": text[:300]})
            messages = messages + [ai, HumanMessage(f"error: {problem}. Call explain again.")]
        return None
