"""The cover drives the music: evidence, the prior's directions, decisions without positional bias, coherence
rules and cited rationales — on images the tests draw, real photographs, and the real offline models."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from agent.planning.guided import GuidedPlanner
from agent.planning.loop import GENERATE, Agent, ToolBox
from agent.trace import Trace
from tests.fakes import ScriptedChatModel, call
from tests.images import arousal_index, colour_field, colour_sweep, pastel_flowers, pleasure_index, text_cover
from tools.errors import SpecError
from tools.grounding.coherence import mood_conflicts, problems, rationale_problem
from tools.grounding.evidence import EvidenceSet, colour_evidence, label_evidence, text_evidence
from tools.grounding.prior import Prior, associations
from tools.spec import MusicSpec, SpecEditor

PHOTOS = ["astronaut.png", "chelsea.png", "coffee.png", "hubble_deep_field.jpg", "motorcycle_left.png",
          "rocket.jpg", "camera.png", "no_time_for_that_tiny.gif"]


def prior_of(image, labels=(), texts=()) -> Prior:
    return Prior(EvidenceSet.number(colour_evidence(image) + label_evidence(labels, 0.25) + text_evidence(texts)))


# -- evidence and the prior (pixels only: fast) -----------------------------------------------------------
def test_the_associations_table_names_only_known_genres_moods_and_instruments():
    data = associations()  # raises on a typo
    assert data["labels"]["min_confidence"] == 0.25 and len(data["genre_affect"]) == 20


def test_darker_and_bluer_gives_lower_valence_and_minor():
    dark_blue, light_yellow = prior_of(colour_field(22, 40, 270)), prior_of(colour_field(82, 40, 90))
    assert dark_blue.affect.valence < 0.35 < 0.65 < light_yellow.affect.valence
    assert dark_blue.rank("mode").top.value == "minor" and light_yellow.rank("mode").top.value == "major"
    # one change at a time: lightness alone, then warmth alone, moves valence the documented way
    assert prior_of(colour_field(30, 30, 270)).affect.valence < prior_of(colour_field(70, 30, 270)).affect.valence
    assert prior_of(colour_field(50, 30, 270)).affect.valence < prior_of(colour_field(50, 30, 90)).affect.valence


def test_more_saturated_gives_more_energy_and_a_faster_tempo():
    muted, vivid = prior_of(colour_field(50, 8, 30)), prior_of(colour_field(50, 55, 30))
    assert muted.affect.energy + 0.2 < vivid.affect.energy
    assert muted.rank("tempo_bpm", MusicSpec(genre="rock")).top.value < vivid.rank("tempo_bpm", MusicSpec(genre="rock")).top.value


def test_affect_never_sits_at_a_bound():
    for image in (colour_field(2, 0, 0), colour_field(98, 0, 0), colour_field(60, 80, 90)):
        a = prior_of(image).affect
        assert 0.05 <= a.valence <= 0.95 and 0.05 <= a.energy <= 0.95 and 0 < a.valence < 1


def test_an_uncertain_label_is_reported_but_never_drives_a_decision():
    image = colour_field(50, 20, 200)
    plain = prior_of(image)
    noisy = prior_of(image, labels=[("Petri dish", 0.18), ("assault rifle", 0.2)])
    items = noisy.evidence.of_kind("label", certain=False)
    assert all(e.uncertain and e.text.startswith("uncertain: maybe") for e in items)
    assert noisy.rank("genre").values() == plain.rank("genre").values() and noisy.affect == plain.affect
    sure = prior_of(image, labels=[("assault rifle", 0.8)])
    assert sure.rank("genre").option("metal").score > plain.rank("genre").option("metal").score + 0.3


def test_cover_text_names_a_genre_and_carries_nrc_affect():
    p = prior_of(text_cover("DEATH METAL"), texts=[("DEATH METAL", 0.97)])
    affect = p.evidence.first("text_affect")
    assert affect is not None and {"fear", "sadness"} <= set(affect.value) and "'death'" in affect.text
    assert p.rank("genre").top.value == "metal"
    assert p.affect.valence < 0.3 and p.affect.energy > 0.5


def test_the_prior_ranks_every_option_with_evidence_and_ties_never_follow_list_order():
    p = prior_of(colour_field(40, 30, 200))
    for field in ("genre", "moods", "mode", "key", "time_signature", "instruments", "era"):
        ranking = p.rank(field, MusicSpec(genre="jazz"))
        scores = [o.score for o in ranking.options]
        assert scores == sorted(scores, reverse=True)
        assert ranking.top.evidence and set(ranking.top.evidence) <= p.evidence.ids, field
    tied = [o for o in p.rank("key").options if o.score == p.rank("key").options[-1].score]
    assert [o.value for o in tied] == sorted(o.value for o in tied)


# -- coherence and rationales --------------------------------------------------------------------------------
def test_contradictory_moods_are_named():
    assert mood_conflicts(["aggressive", "calm"]) and mood_conflicts(["cheerful", "sad"])
    assert mood_conflicts(["peaceful", "tense"]) and not mood_conflicts(["dark", "mysterious", "tense"])


def test_setters_refuse_uncited_rationales_and_incoherent_plans_with_a_fix():
    p = prior_of(colour_field(25, 35, 270))
    editor = SpecEditor(MusicSpec(), prior=p)
    with pytest.raises(SpecError, match="cites no evidence of this cover: name the ids"):
        editor.set_genre("jazz", "it looks like jazz to me")
    editor.set_genre("jazz", "E2 dark and E4 cool blue: late-night jazz")
    with pytest.raises(SpecError, match="moods aggressive and calm contradict each other"):
        editor.set_mood(["aggressive", "calm"], 0.5, 0.4, "E2 dark")
    with pytest.raises(SpecError, match="energy 0.95 does not fit the moods calm"):
        editor.set_mood(["calm"], 0.95, 0.6, "E2 dark")
    with pytest.raises(SpecError, match="outside jazz's range 60-200"):
        editor.set_tempo(220, "E3 vivid colour")
    with pytest.raises(SpecError, match="banjo does not fit jazz and nothing on the cover calls for it"):
        editor.set_instruments(["piano", "banjo"], "E2 dark")
    with pytest.raises(SpecError, match="7/8 is unusual for jazz"):
        editor.set_time_signature("7/8", "E7 texture")
    assert editor.spec.genre == "jazz" and editor.spec.moods == ()


def test_a_listener_edit_is_applied_with_a_warning_not_refused():
    editor = SpecEditor(MusicSpec(genre="jazz"), prior=prior_of(colour_field(25, 35, 270)), strict=False)
    editor.set_tempo(220, "the listener asked: faster")
    assert editor.spec.tempo_bpm == 220 and "outside jazz's range" in editor.warnings[0]


def test_degenerate_rationales_are_refused():
    ev = prior_of(colour_field(25, 35, 270)).evidence
    assert rationale_problem("E2 E2 E2, E1, E1, E1, E1, E1", ev) is not None
    assert "restates the task" in rationale_problem("E2: the plan is to choose a tempo in BPM, an integer", ev)
    assert "repeats itself" in rationale_problem("E2 is dark. E2 is dark.", ev)
    assert rationale_problem("E2 dark and E4 cool blue suggest a slow minor piece", ev) is None
    # many ids, or two neighbours with the same music, are facts, not repetition
    listed = ("152: energy 0.81 (from E1, E2, E3, E4) → 152 BPM within metal's 140-200; catalogue tempo 160 BPM "
              "(E1, E2, E3) | E1 similar cover: metal-1.png is metal, 160 BPM, E minor; E2 similar cover: metal-2.png "
              "is metal, 158 BPM, E minor")
    assert rationale_problem(listed, ev) is None
    # the cover's words quoted by three items are the cover's words, not repetition ("The Mighty Clouds" once
    # made the prior's own genre rationale refused); the same unquoted words three times still are
    quoted = ("rock: E1 a band's name (\"the mighty clouds\") → rock +1.00 | E2 cover text \"The Mighty Clouds\" "
              "(OCR 1.00); E2 the words \"the mighty clouds / precious lord\" sit nearest rock")
    assert rationale_problem(quoted, ev) is None
    assert "repeats itself" in rationale_problem("E1 the mighty clouds, E2 the mighty clouds, E3 the mighty clouds", ev)


# -- decisions: no positional bias ---------------------------------------------------------------------------
class FirstOptionModel(ScriptedChatModel):
    """A positionally biased model: whatever it is offered, it picks the first option listed."""

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        import re

        from langchain_core.outputs import ChatGeneration, ChatResult

        text = str(messages[-1].content)
        first = re.search(r"Options with the evidence behind them: ([^(;]+) \(", text).group(1).strip()
        tool = kwargs["tool_choice"]
        key = {"set_genre": "genre", "set_era": "era", "set_time_signature": "time_signature"}[tool]
        return ChatResult(generations=[ChatGeneration(message=call(tool, **{key: first, "rationale": "E2 looks dark"}))])


def planner_for(model, prior) -> tuple[GuidedPlanner, Trace]:
    trace = Trace(run_id="t")
    box = ToolBox(SpecEditor(MusicSpec(), prior=prior), trace, lambda: "ok")
    agent = Agent(model, box, trace)
    return GuidedPlanner(agent, prior, prior.evidence.as_prompt(), 0.5), trace


def test_a_model_that_always_takes_the_first_option_gets_no_say():
    prior = prior_of(colour_field(25, 35, 270))
    planner, trace = planner_for(FirstOptionModel(), prior)
    planner.decide("set_genre")
    decision = trace.decisions[0]
    assert decision.model.method == "two orderings" and decision.model.agreed == []
    assert decision.decided_by == "prior" and decision.choice == prior.rank("genre").top.value
    # its answer in the prior's order named the same genre, so its (cited) rationale is kept, labelled as its own
    assert decision.rationale_source == "model" and decision.rationale == "E2 looks dark"


def test_a_choice_that_survives_both_orderings_counts_as_the_models():
    prior = prior_of(colour_field(25, 35, 270))
    second = prior.rank("genre").options[1].value
    model = ScriptedChatModel().enqueue(*[call("set_genre", genre=second, rationale="E2 dark, E4 cool: a night mood")] * 2)
    planner, trace = planner_for(model, prior)
    planner.decide("set_genre")
    d = trace.decisions[0]
    assert d.model.agreed == [second] and d.model.top == second
    if d.choice == second:  # the model may overturn a close prior, never silently
        assert d.decided_by == "model" and d.rationale_source == "model"


def test_free_mode_sees_the_ranked_evidence_and_a_rationale_without_ids_is_a_tool_error():
    prior = prior_of(colour_field(25, 35, 270))
    model = ScriptedChatModel().enqueue(
        call("set_genre", genre="ambient", rationale="feels right"),
        call("set_genre", genre="ambient", rationale="E2 dark, E4 cool blue: a still night"),
        call(GENERATE), __import__("langchain_core.messages", fromlist=["AIMessage"]).AIMessage(content="Done."))
    trace = Trace(run_id="t")
    generated = []
    box = ToolBox(SpecEditor(MusicSpec(), prior=prior), trace, lambda: generated.append(1) or "ok")
    agent = Agent(model, box, trace)
    agent.run("free", prior.evidence.as_prompt())
    first_prompt = str(model.seen[0]["messages"][-1].content)
    assert "the prior's best options per setting" in first_prompt and "- genre: " in first_prompt
    assert trace.tool_calls("set_genre")[0].error.startswith("the rationale cites no evidence")
    assert generated == [1] and box.editor.spec.missing() == []
    # what the model left open was decided by the prior (never a fixed default), and the plan is coherent
    assert {d.field for d in trace.decisions} >= {"moods", "tempo_bpm", "instruments"}
    assert all(d.decided_by == "fallback" for d in trace.decisions) and not problems(box.editor.spec, prior)


# -- the real offline models ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def offline_app():
    from agent.api import AlbumGen

    return AlbumGen(profile="offline")


def plan(app, image_or_path, tmp_path: Path, name: str = "cover.png") -> dict:
    path = Path(image_or_path) if isinstance(image_or_path, (str, Path)) else tmp_path / name
    if not isinstance(image_or_path, (str, Path)):
        image_or_path.save(path)
    result = app.generate(path, out_dir=tmp_path / "out", seed=7, verify=False, log=False, force=True)
    return json.loads(result.trace_path.read_text())


@pytest.mark.slow
def test_guided_decision_is_the_same_whatever_the_order_of_the_options(offline_app):
    """The real SmolLM2 GGUF: candidates scored in two orders give identical scores, hence the same choice."""
    prior = prior_of(colour_field(25, 35, 270))
    model = offline_app.chat_model
    planner, _ = planner_for(model, prior)
    ranking = prior.rank("genre")
    values = [o.value for o in ranking.options[:6]]
    runs = []
    for order in (values, values[::-1], values[2:] + values[:2]):
        model.score_cache.clear()  # computed afresh in each order, not read back from the memo
        runs.append(planner._logprob("genre", order, model.score_continuations))
    forward, backward, shuffled = runs
    assert forward.logprobs == backward.logprobs == shuffled.logprobs
    assert len(set(forward.logprobs.values())) > 1  # the model does prefer something
    choices = set()
    for _ in range(3):  # the whole decision (both prompts, combination) repeats exactly
        model.score_cache.clear()
        p, trace = planner_for(model, prior)
        p.decide("set_genre")
        choices.add(trace.decisions[0].choice)
    assert len(choices) == 1


@pytest.mark.slow
def test_drawn_covers_get_plans_in_the_documented_directions(offline_app, tmp_path):
    covers = {"dark blue": colour_field(20, 35, 270), "light yellow": colour_field(85, 45, 95),
              "death metal": text_cover("DEATH METAL"), "pastel flowers": pastel_flowers()}
    traces = {name: plan(offline_app, img, tmp_path, f"{name.replace(' ', '-')}.png") for name, img in covers.items()}
    spec = {name: t["spec"] for name, t in traces.items()}
    assert spec["dark blue"]["valence"] < spec["light yellow"]["valence"]
    assert spec["dark blue"]["mode"] == "minor" and spec["light yellow"]["mode"] == "major"
    assert spec["death metal"]["genre"] in ("metal", "punk") and spec["death metal"]["valence"] < 0.35
    assert spec["pastel flowers"]["valence"] > spec["death metal"]["valence"] + 0.3
    assert len({s["genre"] for s in spec.values()}) >= 3
    for name, t in traces.items():
        assert not mood_conflicts(t["spec"]["moods"]), name
        assert all(t["rationales"].values()) and all(EvidenceSet.from_dicts(t["evidence"]).cited(r)
                                                     for r in t["rationales"].values()), name
    # the run folder shows its evidence and decisions
    md = next((tmp_path / "out").glob("death-metal-*/trace.md")).read_text()
    assert "## Decisions" in md and "| genre | **" in md and "prior's top options" in md
    assert 'cover text "DEATH' in md and "**metal**" in md
    png = next((tmp_path / "out").glob("death-metal-*/evidence.png"))
    from PIL import Image

    assert Image.open(png).size[0] == 960


@pytest.mark.slow
def test_eight_real_photographs_get_different_coherent_grounded_plans(offline_app, tmp_path):
    import skimage.data

    folder = Path(skimage.data.__file__).parent
    traces = [plan(offline_app, folder / name, tmp_path) for name in PHOTOS]
    genres = [t["spec"]["genre"] for t in traces]
    assert len(set(genres)) >= 5, genres
    assert not any(mood_conflicts(t["spec"]["moods"]) for t in traces)
    rationales = [(r, t) for t in traces for r in t["rationales"].values()]
    cited = sum(bool(EvidenceSet.from_dicts(t["evidence"]).cited(r)) for r, t in rationales)
    assert cited / len(rationales) >= 0.95
    for t in traces:
        assert t["timings_ms"]["agent"] < 20000
        assert {d["field"] for d in t["decisions"]} == {"genre", "moods", "tempo_bpm", "mode", "key",
                                                        "time_signature", "instruments", "era", "form", "space"}
        assert 0.0 < t["spec"]["energy"] < 1.0 and 0.0 < t["spec"]["valence"] < 1.0


@pytest.mark.slow
def test_colour_sweep_correlates_with_pleasure_and_arousal(offline_app, tmp_path):
    from scipy.stats import spearmanr

    rows = []
    for k, (design, image) in enumerate(colour_sweep()):
        t = plan(offline_app, image, tmp_path, f"sweep-{k:02d}.png")
        rows.append((pleasure_index(design), arousal_index(design), t["spec"]))
    p, a = [r[0] for r in rows], [r[1] for r in rows]
    valence = spearmanr([r[2]["valence"] for r in rows], p).statistic
    energy = spearmanr([r[2]["energy"] for r in rows], a).statistic
    tempo = spearmanr([r[2]["tempo_bpm"] for r in rows], a).statistic
    assert valence >= 0.7 and energy >= 0.5 and tempo >= 0.5, (valence, energy, tempo)
    assert not math.isnan(valence)


# -- asking the model only when its answer can matter --------------------------------------------------------
def test_a_skipped_preference_could_not_have_changed_any_choice():
    """Random priors and adversarial preferences: whenever the prior's margin is beyond the model's reach,
    every preference the model could state leaves the choice as the prior's; just inside the reach, one flips it."""
    import random

    from tools.grounding.decide import MODEL_REACH, Preference, beyond_reach, choose_many, choose_moods, choose_one
    from tools.grounding.prior import Option

    rng = random.Random(5)
    moods = ["calm", "peaceful", "dreamy", "warm", "hopeful", "cheerful", "sad", "dark"]
    skipped = 0
    for trial in range(400):
        weight = rng.choice([0.25, 0.5, 1.0])
        values = moods[: rng.randint(2, 8)]
        options = [Option(v, rng.uniform(0, 4) if rng.random() < 0.7 else rng.uniform(0, 0.6)) for v in values]
        for field, choose in (("genre", lambda o, p, w=weight: choose_one(o, p, w)),
                              ("moods", lambda o, p, w=weight: choose_moods(o, p, w)),
                              ("instruments", lambda o, p, w=weight: choose_many(o, p, w, 2))):
            skip, numbers = beyond_reach(field, options, weight, count=2)
            if not skip:
                continue
            skipped += 1
            assert numbers["reach"] == weight * MODEL_REACH
            alone = choose(options, None)
            for _ in range(12):  # extreme preferences: all mass on one candidate, or random orders of magnitude
                favoured = rng.choice(values)
                logprobs = {v: (0.0 if v == favoured else -rng.uniform(0, 60)) for v in values}
                assert choose(options, Preference("logprob", logprobs)) == alone, (trial, field, options, logprobs)
    assert skipped > 100
    # near the bound: a lead just inside the reach is asked, and the model's preference can overturn it
    reach_in_score = 0.5 * MODEL_REACH * 0.25  # weight 0.5; prior temperature 0.25
    inside = [Option("jazz", 1.0 + reach_in_score - 0.01), Option("rock", 1.0)]
    outside = [Option("jazz", 1.0 + reach_in_score + 0.01), Option("rock", 1.0)]
    assert not beyond_reach("genre", inside, 0.5)[0] and beyond_reach("genre", outside, 0.5)[0]
    assert choose_one(inside, Preference("logprob", {"jazz": -MODEL_REACH, "rock": 0.0}), 0.5) == "rock"


class MeterLover:
    """A chat model with log-probabilities that, shown a cover, is sure the meter is 3/4."""

    def score_continuations(self, messages, candidates, persist=False):
        shown = "(no cover)" not in str(messages[-1].content)
        return [0.0 if (shown and c == "3/4") else -20.0 if shown else -1.0 for c in candidates]


def test_a_guided_choice_the_setter_refuses_is_recorded_as_overruled_with_the_reason():
    prior = prior_of(colour_field(50, 30, 200))
    trace = Trace(run_id="t")
    box = ToolBox(SpecEditor(MusicSpec(genre="electronic", tempo_bpm=124), prior=prior), trace, lambda: "ok")
    agent = Agent(MeterLover(), box, trace)
    agent.rationale_tries = 0  # rationales composed from the evidence (this model cannot write any)
    planner = GuidedPlanner(agent, prior, prior.evidence.as_prompt(), 0.5)
    planner.decide("set_time_signature")
    decision = trace.decisions[0]
    assert decision.choice == "4/4" and decision.decided_by == "overruled"
    assert decision.model.overruled.choice == "3/4" and "unusual for electronic" in decision.model.overruled.reason
    assert any("set_time_signature: 3/4 was refused" in w for w in trace.warnings)
