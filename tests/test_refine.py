"""Chat refinement that understands what people say: scenes, occasions, moods, comparisons, density, era and
instrumentation change the plan in the documented directions, on the real offline models; a message with
nothing to act on makes no take and offers choices; the order of candidate edits never matters."""
from __future__ import annotations

import pytest

from agent.api import AlbumGen
from agent.chat.refine import _tried, changes_anything, edit_problems, read_message, request_preference
from agent.chat.session import ChatSession
from agent.store import RunStore
from tests.conftest import ROOT
from tests.understanding import start_spec
from tools.edit_requests import Edit
from tools.grounding.request import EditChooser, find_cues, read_request, shifted
from tools.spec import MusicSpec

COVER = str(ROOT / "covers" / "midnight-orbit.png")
BASE = MusicSpec(genre="pop", moods=("warm", "hopeful"), energy=0.5, valence=0.6, tempo_bpm=108, key="C", mode="major",
                 time_signature="4/4", instruments=("piano", "synth pad", "bass guitar", "drums"), duration_s=4, seed=3)
DANCE = {"house", "pop", "funk", "techno", "electronic"}


def faster(b, a):
    return a["tempo_bpm"] > b["tempo_bpm"] and a["energy"] > b["energy"]


def slower(b, a):
    return a["tempo_bpm"] < b["tempo_bpm"] and a["energy"] < b["energy"]


def sadder(b, a):
    return a["valence"] < b["valence"]


# request -> what must hold between the plan before (b) and after (a)
REQUESTS = {
    "make it sound like a rainy day": lambda b, a: sadder(b, a) and slower(b, a) and a["mode"] == "minor",
    "more like a party": lambda b, a: faster(b, a) and a["genre"] in DANCE and a["valence"] >= b["valence"],
    "something for a workout": lambda b, a: faster(b, a),
    "I want to dance to it": lambda b, a: faster(b, a) and a["genre"] in DANCE,
    "like a lullaby": lambda b, a: slower(b, a) and "drums" not in a["instruments"] and a["mode"] == "major",
    "less busy, fewer instruments": lambda b, a: len(a["instruments"]) < len(b["instruments"]),
    "sparser": lambda b, a: len(a["instruments"]) < len(b["instruments"]),
    "richer, more layered": lambda b, a: len(a["instruments"]) > len(b["instruments"]),
    "more retro": lambda b, a: a["era"] == "1970s",
    "like the 80s": lambda b, a: a["era"] == "1980s" and a["duration_s"] == b["duration_s"],  # a decade, not 80 s
    "add some groove": lambda b, a: a["genre"] in {"funk", "house", "jazz"} and a["energy"] > b["energy"],
    "as if in a cathedral": lambda b, a: {"choir", "organ"} & set(a["instruments"]) and a["tempo_bpm"] < b["tempo_bpm"],
    "for a road trip at night": lambda b, a: a["genre"] in {"rock", "synthwave", "country", "jazz", "lo-fi"},
    "like a funeral": lambda b, a: sadder(b, a) and a["mode"] == "minor" and a["tempo_bpm"] < b["tempo_bpm"],
    "sunny summer afternoon": lambda b, a: a["valence"] > b["valence"] and a["mode"] == "major",
    "make it sound like a horror movie": lambda b, a: sadder(b, a) and a["mode"] == "minor",
    "music to study to": lambda b, a: a["energy"] < b["energy"] and "drums" not in a["instruments"],
    "too happy": lambda b, a: sadder(b, a),
    "darker and slower": lambda b, a: sadder(b, a) and a["tempo_bpm"] < b["tempo_bpm"] and a["mode"] == "minor",
    "heavier": lambda b, a: a["energy"] > b["energy"],
    "more acoustic": lambda b, a: {"acoustic guitar", "upright bass"} & (set(a["instruments"]) - set(b["instruments"]))
    and "synth pad" not in a["instruments"],
}


@pytest.fixture(scope="module")
def chat(tmp_path_factory):
    """A chat on the offline profile (SmolLM2 GGUF, sketch renderer), its plan set to a mid-range base."""
    out = tmp_path_factory.mktemp("refine")
    store = RunStore(out / "runs.db")
    app = AlbumGen(profile="offline")
    session, _ = ChatSession.start(app, store, COVER, out / "runs", duration=4, seed=3)
    base = session.apply_edits(_edits_to(BASE), "base plan")
    assert base.data["spec"]["genre"] == "pop" and base.data["spec"]["tempo_bpm"] == 108
    return session, store


def _edits_to(spec: MusicSpec) -> list[Edit]:
    why = {"rationale": "the test's base plan"}
    return [Edit("set_genre", {"genre": spec.genre, **why}),
            Edit("set_mood", {"moods": list(spec.moods), "energy": spec.energy, "valence": spec.valence, **why}),
            Edit("set_tempo", {"bpm": spec.tempo_bpm, **why}), Edit("set_key", {"key": spec.key, "mode": spec.mode, **why}),
            Edit("set_instruments", {"instruments": list(spec.instruments), **why}), Edit("set_era", {"era": "modern", **why})]


@pytest.mark.slow
def test_natural_requests_change_the_plan_in_the_documented_direction(chat):
    session, store = chat
    produced, failed = {}, []
    for request, holds in REQUESTS.items():
        before = session.spec.model_dump(mode="json")
        takes_before = len(store.takes(session.id))
        reply = session.handle(request)
        assert reply.data.get("take"), f"{request!r} made no take: {reply.lines}"
        after = reply.data["spec"]
        produced[request] = reply.data["changes"]
        assert after != before, f"{request!r} left the plan unchanged but made a take"
        assert len(store.takes(session.id)) == takes_before + 1
        if not holds(before, after):
            failed.append(f"{request!r}: {reply.data['changes']}")
        assert any(line.lstrip().startswith("because R1") for line in reply.lines), reply.lines
        session.handle("/undo")
        assert session.spec.model_dump(mode="json") == before
    assert not failed, "wrong direction:\n" + "\n".join(failed)
    print("\n".join(f"{r!r}: {'; '.join(c)}" for r, c in produced.items()))


@pytest.mark.slow
def test_a_request_with_nothing_to_act_on_makes_no_take_and_a_number_picks_a_choice(chat):
    session, store = chat
    for vague in ("hmm", "asdf", "what about it"):  # 'ok' is an acknowledgement: it keeps the take, offers nothing
        takes = len(store.takes(session.id))
        reply = session.handle(vague)
        assert reply.data["take"] is None and len(store.takes(session.id)) == takes
        assert 2 <= len(reply.data["choices"]) <= 3 and "answer with a number" in reply.lines[-1]
    offered = session.handle("rainey").data["choices"]
    assert offered[0].startswith("like rain")  # the cue word it resembles comes first
    before = session.spec
    picked = session.handle("1")
    assert picked.data["take"] and picked.data["spec"]["valence"] < before.valence
    assert session.handle("9").data.get("take") is None  # no offer is open any more: '9' is read, not picked


def test_modifiers_scale_and_negate_within_their_clause():
    assert [c.scale for c in find_cues("much sadder")] == [1.6]
    assert [c.scale for c in find_cues("a bit sadder")] == [0.5]
    assert [c.scale for c in find_cues("not so sad")] == [-1.0]
    assert [(c.name, c.scale) for c in find_cues("less busy, fewer instruments")] == [("busy", -1.0), ("fewer", 1.0)]
    def valence(request):
        return read_request(request, BASE).valence

    assert valence("much sadder") < valence("sadder") < valence("a bit sadder") < BASE.valence < valence("not so sad")


def test_shifts_move_the_plan_its_way_without_pinning_it_at_a_bound():
    for value in (0.03, 0.1, 0.5, 0.9, 0.97):
        down, up = shifted(value, -0.45), shifted(value, 0.45)
        assert 0 < down < value or value <= 0.03
        assert value < up < 1 or value >= 0.97
    assert shifted(0.5, -0.3) == 0.2 and shifted(0.1, -0.3) > 0.02


@pytest.mark.slow
def test_the_order_of_candidate_edits_does_not_change_the_chosen_edits(chat):
    session, _ = chat
    model = session.app.chat_model
    for request in ("make it sound like a rainy day", "more like a party", "as if in a cathedral"):
        prefer = request_preference(model, request)
        plan = read_request(request, BASE)
        assert len(plan.moods) > 1 and len(plan.genres) > 1  # real alternatives to choose among
        first = EditChooser(plan, prefer).choose()
        for permute in (lambda xs: xs[::-1], lambda xs: xs[1:] + xs[:1]):
            plan.moods, plan.genres, plan.adds = permute(plan.moods), permute(plan.genres), permute(plan.adds)
            again = EditChooser(plan, prefer).choose()
            assert [(e.tool, e.arguments) for e in again] == [(e.tool, e.arguments) for e in first], request
        assert any(e.model for e in first), "the model's preference was measured"


def test_keyword_edits_win_over_the_reader_for_the_same_setting():
    refinement = read_message("darker and 90 bpm", BASE)
    tempo = [e for e in refinement.edits if e.tool == "set_tempo"]
    assert [e.arguments["bpm"] for e in tempo] == [90]
    assert {"set_mood", "set_key"} <= {e.tool for e in refinement.edits}


@pytest.mark.parametrize("request_, key, mode", [
    ("put it in a minor key", "C", "minor"),            # 'a' is the article: the plan's own key, in minor
    ("just a minor tweak, a bit slower", None, None),   # a minor tweak names no key and no mode
    ("not in a minor key", "C", "major"),                # a negated mode asks for the other one
    ("no minor key", "C", "major"),
    ("don't make it minor", "C", "major"),
    ("play it in A minor", "A", "minor"),                # the key of A, named
    ("a minor please", "A", "minor"),
    ("E flat major", "Eb", "major"),
    ("not in A minor please", None, None),               # a named key refused says which key it isn't, not which it is
])
def test_a_mode_is_read_as_said_and_a_negated_one_turned_around(request_, key, mode):
    from agent.chat.refine import _tried

    start = BASE.model_copy(update={"mode": "minor"}) if mode == "major" else BASE
    after = _tried(read_message(request_, start, None), start)[0]
    assert (after.key, after.mode) == ((key, mode) if key else (start.key, start.mode))


@pytest.mark.slow
def test_praise_keeps_the_take_and_praise_with_a_request_makes_one(chat):
    session, store = chat
    takes = len(store.takes(session.id))
    for praise in ("honestly, I love it", "ok"):
        reply = session.handle(praise)
        assert reply.data["take"] is None and reply.data["choices"] == [] and len(store.takes(session.id)) == takes
        assert reply.lines == ["keeping this take: say what to change ('slower', 'add saxophone') or ask for another take"]
    before = session.spec
    # 'not bad' is praise, not a feeling to weigh against 'sombre' (the two had cancelled: no take)
    made = session.handle("not bad, but make it a bit more sombre")
    assert made.data["take"] and session.spec.valence < before.valence


@pytest.mark.slow
def test_a_question_about_the_plan_is_answered_without_a_take(chat):
    session, store = chat
    takes, spec = len(store.takes(session.id)), session.spec
    for question in ("how did you pick the genre?", "what key is it in?", "why did you choose these instruments?"):
        reply = session.handle(question)
        assert reply.data["take"] is None and len(store.takes(session.id)) == takes, (question, reply.lines)
        assert f"{spec.tempo_bpm} BPM, {spec.key} {spec.mode}" in reply.lines[0] and "/trace" in reply.lines[1]


@pytest.mark.parametrize("praise", ["I love how dreamy it is", "this is fun", "it's dark and I love it",
                                    "I like how slow it is"])
def test_a_quality_praised_in_its_clause_is_kept(praise):
    spec = start_spec("jazz")
    assert not changes_anything(read_message(praise, spec), spec), praise


@pytest.mark.parametrize("request_, faster", [("it's great but a bit slow", True), ("it's fine, a bit slower please", False),
                                              ("I don't like how slow it is", True), ("half as fast", False),
                                              ("add 20 bpm", True), ("knock off 10 bpm", False), ("15% slower", False)])
def test_a_tempo_complaint_after_praise_and_a_tempo_by_an_amount(request_, faster):
    spec = start_spec("jazz")
    after = _tried(read_message(request_, spec), spec)[0]
    assert (after.tempo_bpm > spec.tempo_bpm) == faster and after.tempo_bpm != spec.tempo_bpm, request_
    if "bpm" in request_:
        assert abs(after.tempo_bpm - spec.tempo_bpm) == int(request_.split()[-2])


@pytest.mark.parametrize("request_, field, up", [
    ("the opposite of sad", "valence", True), ("steer clear of sad", "valence", True),
    ("ease up on the intensity", "energy", False), ("lay off the distortion", "energy", False),
    ("I'm tired of the gloom", "valence", True), ("like speeding away from the cops", "energy", True),
])
def test_negation_forms_turn_the_quality_around_and_only_theirs(request_, field, up):
    spec = start_spec("rock")
    after = _tried(read_message(request_, spec), spec)[0]
    assert (getattr(after, field) > getattr(spec, field)) == up and getattr(after, field) != getattr(spec, field), request_


@pytest.mark.parametrize("request_", ["a different genre", "move away from jazz", "something other than jazz",
                                      "try another style"])
def test_a_genre_turned_away_from_or_left_unnamed_changes_the_genre(request_):
    spec = start_spec("jazz")
    after = _tried(read_message(request_, spec), spec)[0]
    assert after.genre != "jazz", request_


@pytest.mark.parametrize("request_, field, up", [
    # a bare quality, then its extreme denied after a comma: the take passed it ('calm, not asleep')
    ("i wanted calm, not asleep", "energy", True), ("upbeat, not manic", "energy", False),
    ("i wanted moody, not miserable", "valence", True),
    # a comparative is a move asked for, bounded by what follows ('calmer, not boring' is still calmer)
    ("make it calmer, not boring", "energy", False), ("i meant calmer, not slower", "energy", False),
    # 'but not' bounds the first quality rather than correcting it ('upbeat but not cheesy' is upbeat)
    ("upbeat but not cheesy", "valence", True),
    # what it is meant to be, after a denied knowing, is wanted; a denial of the meaning itself is not
    ("you can't tell it's meant to be sad", "valence", False), ("it's not meant to be sad", "valence", True),
])
def test_a_quality_set_against_another_settles_field_by_field(request_, field, up):
    spec = start_spec("rock")
    after = _tried(read_message(request_, spec), spec)[0]
    assert (getattr(after, field) > getattr(spec, field)) == up and getattr(after, field) != getattr(spec, field), request_


def test_a_fault_denied_after_nothing_asked_is_no_request_and_a_groove_adds_no_second_bass():
    assert find_cues("no, not boring") == []
    spec = start_spec("jazz")
    after = _tried(read_message("make it groovier", spec), spec)[0]
    assert "bass guitar" not in after.instruments and "upright bass" in after.instruments
    assert after.energy > spec.energy


# The held-out sets' first-run misses, read since: held_out_30 to held_out_44, each with its first-run figure and
# what mended it (the sets themselves stay as they ran: tests/data/understanding/phrasings.yaml)
MENDED = [
    # the second sweep: 'the horn' is the plan's own (a jazz plan's saxophone)
    ("sweep", "jazz", "lose the horn", lambda b, a: "saxophone" not in a.instruments and len(a.instruments) == 3),
    # held_out_29's first run (29/30): 'too' ends at its purpose (it had asked for less funeral too)
    ("held_out_29", "jazz", "the mood is way too upbeat for a funeral scene", lambda b, a: a.valence < b.valence and a.energy < b.energy),
    # held_out_30's first run (24/30): a part's fault said with a hedge or after 'I find'; a cue said twice, the later
    # way the request ('tone down the creepiness' after 'horror movie vibes'); 'to this' makes falling asleep a
    # complaint; a -ness noun is its adjective's quality.
    ("held_out_30", "jazz", "I find the drums a bit overbearing", lambda b, a: len(a.instruments) < len(b.instruments)),
    ("held_out_30", "jazz", "the saxophone needs to leave", lambda b, a: len(a.instruments) < len(b.instruments)),
    ("held_out_30", "jazz", "I'm getting horror movie vibes, tone down the creepiness", lambda b, a: a.valence > b.valence),
    ("held_out_30", "jazz", "I could fall asleep to this, wake it up", lambda b, a: a.energy > b.energy),
    ("held_out_30", "jazz", "something I could fall asleep to", lambda b, a: a.energy < b.energy),
    ("held_out_30", "jazz", "it's got no soul", lambda b, a: a.valence > b.valence),
    # held_out_31's first run (27/30).
    ("held_out_31", "rock", "more mischief", lambda b, a: a.valence > b.valence),
    ("held_out_31", "rock", "it has a lot of nervous energy, settle it", lambda b, a: a.energy < b.energy),
    # held_out_32's first run (23/30): a common misspelling the web writes too ('repetative', 75 times rarer than its
    # word), a part wished for in a plain sentence, washy, expensive, zoning out said of the take or wished for.
    ("held_out_32", "jazz", "make it sound more expensive", lambda b, a: len(a.instruments) > len(b.instruments)),
    ("held_out_32", "jazz", "I'm zoning out listening to this", lambda b, a: a.energy > b.energy),
    ("held_out_32", "jazz", "music to zone out to", lambda b, a: a.energy < b.energy),
    ("held_out_32", "jazz", "its too repetative", lambda b, a: a.energy > b.energy),
    ("held_out_32", "jazz", "not as washy please", lambda b, a: a.energy > b.energy),
    ("held_out_32", "jazz", "the cello would suit this", lambda b, a: len(a.instruments) > len(b.instruments)),
    # held_out_33's first run (24/30): "it's giving X" is said of the take; sugar; a build; going nowhere.
    ("held_out_33", "jazz", "it's giving elevator", lambda b, a: a.energy > b.energy),
    ("held_out_33", "jazz", "less sugar, more spice", lambda b, a: a.valence < b.valence),
    ("held_out_33", "jazz", "it needs a proper build", lambda b, a: a.energy > b.energy),
    ("held_out_33", "jazz", "it feels like it's going nowhere", lambda b, a: a.energy > b.energy),
    ("held_out_33", "rock", "the organ sounds cheap", lambda b, a: "organ" not in a.instruments),
    # held_out_34's first run (25/30): a dip in energy is a fault ('too much' there is no 'a bit much'); serious;
    # amble; brood.
    ("held_out_34", "jazz", "the energy dips too much, keep it lively", lambda b, a: a.energy > b.energy),
    ("held_out_34", "rock", "it's a bit too serious, loosen up", lambda b, a: a.valence > b.valence),
    ("held_out_34", "rock", "less of a march, more of an amble", lambda b, a: a.energy < b.energy),
    ("held_out_34", "jazz", "make it brood", lambda b, a: a.valence < b.valence),
    ("held_out_34", "jazz", "make it less polished, more garage", lambda b, a: a.genre == "rock"),
    ("held_out_34", "jazz", "make it uk garage", lambda b, a: a.genre == "electronic"),
    # held_out_35's first run (27/30): "it sounds like it's X" is said of the take; a part that comes in is added;
    # what the take 'has no' of is asked for ('with no' still takes out).
    ("held_out_35", "jazz", "it sounds like it's underwater, make it clearer", lambda b, a: a.energy > b.energy),
    ("held_out_35", "jazz", "can the choir come in", lambda b, a: "choir" in a.instruments),
    ("held_out_35", "jazz", "it has no drive", lambda b, a: a.energy > b.energy and a.genre == b.genre),
    ("held_out_35", "rock", "it's got no piano", lambda b, a: "piano" in a.instruments),
    ("held_out_35", "jazz", "with no drums", lambda b, a: "drums" not in a.instruments),
    # held_out_36's first run (26/30): "it's like X" is said of the take; 'a bit much' of a part; same-y; 'get the
    # strings in'; praise pointing back ('I love it') holds what the clause before said of the take.
    ("held_out_36", "jazz", "it's like background noise at a dentist, give it some personality", lambda b, a: a.energy > b.energy),
    ("held_out_36", "jazz", "the sax is a bit much", lambda b, a: "saxophone" not in a.instruments),
    ("held_out_36", "jazz", "the sax is much better", lambda b, a: "saxophone" in a.instruments),
    ("held_out_36", "jazz", "it's all a bit same-y", lambda b, a: a.energy > b.energy),
    ("held_out_36", "rock", "get the strings in", lambda b, a: "strings" in a.instruments),
    ("held_out_36", "jazz", "it's like a lullaby, I love it", lambda b, a: a == b),
    ("held_out_36", "jazz", "it's a bit slow, I like it though, but faster", lambda b, a: a.tempo_bpm > b.tempo_bpm),
    # held_out_37's first run (25/30): "a bit of a dirge" is said of the take; a part wished 'a nice touch'; stiffness
    # is a fault whose remedy loosens; a cue's second phrase holds its words ('more space' is no outer space); a part
    # missed is asked for.
    ("held_out_37", "jazz", "honestly it's a bit of a dirge, perk it up", lambda b, a: a.valence > b.valence),
    ("held_out_37", "jazz", "the trumpet would be a nice touch", lambda b, a: "trumpet" in a.instruments),
    ("held_out_37", "jazz", "it's a bit stiff and robotic", lambda b, a: a.energy > b.energy),
    ("held_out_37", "rock", "fewer layers, more space", lambda b, a: len(a.instruments) < len(b.instruments)),
    ("held_out_37", "rock", "i miss the sax", lambda b, a: "saxophone" in a.instruments),
    # held_out_38's first run (27/30): praise of a part carries no feeling to ask for (NRC had read 'lovely' as joy)
    # unless the message asks; first gear; soggy.
    ("held_out_38", "jazz", "feels like it's stuck in first gear", lambda b, a: a.energy > b.energy),
    ("held_out_38", "rock", "for a soggy walk to work", lambda b, a: a.energy < b.energy),
    ("held_out_38", "jazz", "the piano part is lovely, keep it", lambda b, a: a == b),
    ("held_out_38", "jazz", "love the sax", lambda b, a: a == b),
    ("held_out_38", "jazz", "make it lovelier", lambda b, a: a.valence > b.valence),
    # held_out_39's first run (26/30): the take by another name ('the melody', 'the whole mix') is said of; 'the sax
    # solo is the best bit' is praise of a passage, not a line-up of one.
    ("held_out_39", "jazz", "it has a nice groove but the melody is kind of sad, cheer it up", lambda b, a: a.valence > b.valence),
    ("held_out_39", "rock", "the whole mix is muddy and heavy, lighten it", lambda b, a: a.energy < b.energy),
    ("held_out_39", "jazz", "the sax solo is the best bit, keep it", lambda b, a: a == b),
    ("held_out_39", "jazz", "make it a piano solo", lambda b, a: tuple(a.instruments) == ("piano",)),
    ("held_out_39", "jazz", "the tempo is a bit slow", lambda b, a: a.tempo_bpm > b.tempo_bpm),
    # held_out_40's first run (26/30): a filler before what is said of the take; 'go easy on' a part lowers it and
    # keeps it, as 'tone the drums down' does; a part out of tune goes; one that 'would add' something comes in.
    ("held_out_40", "jazz", "erm, it's all a bit drab", lambda b, a: a.valence > b.valence),
    ("held_out_40", "rock", "go a little easier on the drumming", lambda b, a: a.energy < b.energy and "drums" in a.instruments),
    ("held_out_40", "jazz", "the piano sounds out of tune", lambda b, a: "piano" not in a.instruments),
    ("held_out_40", "jazz", "cellos would add some depth", lambda b, a: "cello" in a.instruments),
    # held_out_41's first run (26/30): a likeness said of the take is said whole ('like a car advert'); any one noun
    # after 'the' is a subject the take's quality is said of ('the drums feel lazy'); plural copulas.
    ("held_out_41", "rock", "this feels like a car advert, make it less cheesy", lambda b, a: a.valence < b.valence),
    ("held_out_41", "jazz", "the drums feel lazy, tighten them up", lambda b, a: a.energy > b.energy),
    ("held_out_41", "jazz", "the energy's just not there", lambda b, a: a.energy > b.energy),
    ("held_out_41", "jazz", "the drums are great", lambda b, a: a == b),
    ("held_out_41", "jazz", "make it sound like a lullaby", lambda b, a: a.energy < b.energy),
    # held_out_42's first run (24/30): 'the high end' of a mix is no expensive sound; 'lacking' asks for what is
    # missing, as 'lacks' does; a hook; 'haunting' is no haunted house (it had added strings and a pad).
    ("held_out_42", "jazz", "knock it down a gear", lambda b, a: a.energy < b.energy),
    ("held_out_42", "rock", "there's too much happening in the high end", lambda b, a: len(a.instruments) < len(b.instruments)),
    ("held_out_42", "jazz", "it's lacking a hook", lambda b, a: a.energy > b.energy),
    ("held_out_42", "jazz", "i think a violin would be lovely", lambda b, a: "violin" in a.instruments),
    ("held_out_42", "jazz", "haunting and sparse", lambda b, a: len(a.instruments) < len(b.instruments)),
    ("held_out_42", "jazz", "make it catchy", lambda b, a: a.energy > b.energy),
    # held_out_43's first run (26/30).
    ("held_out_43", "jazz", "too many notes", lambda b, a: len(a.instruments) < len(b.instruments)),
    ("held_out_43", "jazz", "a harp would be gorgeous here", lambda b, a: "harp" in a.instruments),
    ("held_out_43", "jazz", "it has a weird vibe, make it friendlier", lambda b, a: a.valence > b.valence),
    ("held_out_43", "jazz", "it sounds too tidy", lambda b, a: a.energy > b.energy),
    # held_out_44's first run (25/30): a style named and turned away from that the plan has neither the genre nor the
    # instruments of asks nothing ('less robotic' still complains of the sound); sass; bored of a part.
    ("held_out_44", "rock", "i don't want anything electronic", lambda b, a: a == b),
    ("held_out_44", "jazz", "can you make it less robotic", lambda b, a: a.energy < b.energy),
    ("held_out_44", "jazz", "a bit more sass", lambda b, a: a.energy > b.energy),
    ("held_out_44", "jazz", "i'm bored of the piano", lambda b, a: "piano" not in a.instruments),
    ("held_out_44", "jazz", "i want something that makes me want to run", lambda b, a: a.energy > b.energy),
    # held_out_45's first run (27/30): a part asked for by a small measure ('a splash of', 'a dash of'); a quality put
    # first and denied after it; 'cheer up'.
    ("held_out_45", "rock", "a splash of flute would be lovely", lambda b, a: "flute" in a.instruments),
    ("held_out_45", "rock", "a dash of cello please", lambda b, a: "cello" in a.instruments),
    ("held_out_44", "jazz", "a funeral dirge it is not, cheer up", lambda b, a: a.valence > b.valence),
    ("held_out_45", "rock", "slow it is not, so speed up", lambda b, a: a.tempo_bpm > b.tempo_bpm),
    # held_out_46's first run (28/30): 'a western' is the cowboy's country; 'lighter on the drums' asks for less of
    # them, kept, as 'go easy on the drums' does (the set's label, fewer parts, stays a miss)
    ("held_out_46", "jazz", "can it sound more like a western", lambda b, a: a.genre == "country"),
    ("held_out_46", "rock", "lighter on the drums", lambda b, a: a.energy < b.energy and a.valence == b.valence),
    # held_out_47's first run (29/30): a part asked for with a polite word that is also a feeling ('fun', 'welcome'):
    # the part is added and the polite word asks nothing of the music
    ("held_out_47", "jazz", "a marimba would be fun", lambda b, a: "marimba" in a.instruments and a.valence == b.valence),
    ("held_out_47", "jazz", "a harp would be a welcome addition", lambda b, a: "harp" in a.instruments and a.energy == b.energy),
    # held_out_48's first run (26/30): 'a lot of stuff going on' said of the take; a part wished for after its line
    # ('a warm violin line would be lovely'), a solo wished for is no whole line-up, a part 'better gone'; the
    # head-nod of hip hop; 'I don't hate it' is praise
    ("held_out_48", "rock", "there's too much stuff happening", lambda b, a: len(a.instruments) < len(b.instruments)),
    ("held_out_48", "rock", "there's a lot of stuff going on", lambda b, a: len(a.instruments) < len(b.instruments)),
    ("held_out_48", "jazz", "a warm violin line would be lovely", lambda b, a: "violin" in a.instruments),
    ("held_out_48", "rock", "a trumpet solo would sound great", lambda b, a: "trumpet" in a.instruments and len(a.instruments) == 5),
    ("held_out_48", "jazz", "the sax would be better gone", lambda b, a: "saxophone" not in a.instruments and a.valence == b.valence),
    ("held_out_48", "jazz", "give me something i can nod my head to", lambda b, a: a.genre == "hip hop"),
    ("held_out_48", "jazz", "i don't hate it", lambda b, a: a == b),
    # held_out_49's first run (27/30): a midnight drive is the night's, not a road trip's; a meter said in words
    # ('can you make it a waltz' was read as 3/4 already: the set's label asked for calmer)
    ("held_out_49", "jazz", "make it feel like a midnight drive", lambda b, a: a.energy < b.energy),
    ("held_out_49", "rock", "three four time", lambda b, a: a.time_signature == "3/4"),
    ("held_out_49", "rock", "in six-eight please", lambda b, a: a.time_signature == "6/8"),
    ("held_out_49", "rock", "play it four times", lambda b, a: a.time_signature == b.time_signature),
    # held_out_50's first run (27/30): a half-time feel written with a hyphen; 'hear the cello' asks for it, and
    # "I can't hear the piano" still keeps the piano
    ("held_out_50", "rock", "half-time feel please", lambda b, a: a.tempo_bpm < b.tempo_bpm),
    ("held_out_50", "jazz", "double-time", lambda b, a: a.tempo_bpm > b.tempo_bpm),
    ("held_out_50", "jazz", "can we hear the cello", lambda b, a: "cello" in a.instruments),
    ("held_out_50", "jazz", "i can't hear the piano", lambda b, a: "piano" in a.instruments),
    ("held_out_50", "rock", "i can't hear the flute", lambda b, a: "flute" in a.instruments),
    # held_out_51's first run (27/30): a tempo said in words; a ballad is slow and tender; a part that drowns the
    # rest out goes
    ("held_out_51", "rock", "a hundred bpm please", lambda b, a: a.tempo_bpm == 100),
    ("held_out_51", "jazz", "ninety bpm", lambda b, a: a.tempo_bpm == 90 and a.genre == b.genre),  # not the nineties
    ("held_out_51", "jazz", "one forty please", lambda b, a: a.tempo_bpm == 140),
    ("held_out_51", "rock", "turn it into a ballad", lambda b, a: a.energy < b.energy and a.tempo_bpm < b.tempo_bpm),
    ("held_out_51", "jazz", "the drums drown everything out", lambda b, a: "drums" not in a.instruments),
    # held_out_53's first run (28/30): a part wished for with any word of praise ('would sound majestic'), not one
    # of fault; a part taking a back seat calms the take, kept (the set's label, cut, stays a miss)
    ("held_out_53", "jazz", "a french horn would sound majestic", lambda b, a: "french horn" in a.instruments),
    ("held_out_53", "jazz", "a flute would sound awful", lambda b, a: "flute" not in a.instruments),
    ("held_out_53", "rock", "could the guitar take a back seat", lambda b, a: a.energy < b.energy and "electric guitar" in a.instruments),
    # held_out_54's first run (27/30): a part asked for by a small measure, laid on top; 'one-note' is dull
    ("held_out_54", "jazz", "maybe a little glockenspiel on top", lambda b, a: "vibraphone" in a.instruments),
    ("held_out_54", "jazz", "just a bit of flute", lambda b, a: "flute" in a.instruments and a.valence == b.valence),
    ("held_out_54", "jazz", "it's a bit one-note", lambda b, a: a.energy > b.energy),
    # held_out_55's first run (27/30): treading water, just sitting there ('an 80s synthpop track' is read as pop,
    # the subgenre's family, where the set's label asked for synthwave)
    ("held_out_55", "jazz", "it's treading water", lambda b, a: a.energy > b.energy),
    ("held_out_55", "jazz", "it just sits there", lambda b, a: a.energy > b.energy),
    # held_out_56's first run (26/30, the damp squib inverted: 'damp' was read as rain): a damp squib, half-hearted,
    # underwhelming are dull; 'knock ten bpm off'; 'bring the whole thing right down'
    ("held_out_56", "rock", "it's a damp squib", lambda b, a: a.energy > b.energy),
    ("held_out_56", "jazz", "it sounds a bit half-hearted", lambda b, a: a.energy > b.energy),
    ("held_out_56", "rock", "knock ten bpm off", lambda b, a: a.tempo_bpm == b.tempo_bpm - 10),
    ("held_out_56", "rock", "shave 5% off it", lambda b, a: a.tempo_bpm < b.tempo_bpm),
    ("held_out_56", "rock", "bring the whole thing right down", lambda b, a: a.energy < b.energy),
    ("held_out_56", "rock", "turn it right down", lambda b, a: a.energy < b.energy),
    # held_out_57's first run (28/30; the waves on a beach inverted, the beach's party outweighing the waves): the
    # energy said to be too high or too low
    ("held_out_57", "rock", "make it sound like waves on a beach", lambda b, a: a.energy < b.energy),
    ("held_out_57", "rock", "the energy is way too high", lambda b, a: a.energy < b.energy),
    ("held_out_57", "jazz", "the energy's too low", lambda b, a: a.energy > b.energy),
    # held_out_58's first run (28/30; 'overly sentimental' inverted): 'overly' is 'too'; hair on it
    ("held_out_58", "jazz", "it's overly sentimental", lambda b, a: a.valence < b.valence),
    ("held_out_58", "jazz", "it's overly dark", lambda b, a: a.valence > b.valence),
    ("held_out_58", "jazz", "put some hair on it", lambda b, a: a.energy > b.energy),
    # held_out_59's first run (27/30; the deserted city at dawn inverted): "the piano's not needed"; wading through
    # treacle; 'deserted' is empty, not the desert
    ("held_out_59", "jazz", "the piano's not needed", lambda b, a: "piano" not in a.instruments),
    ("held_out_59", "jazz", "it sounds like it's wading through treacle", lambda b, a: a.tempo_bpm > b.tempo_bpm),
    ("held_out_59", "jazz", "like a deserted city at dawn", lambda b, a: a.valence < b.valence),
    # held_out_61's first run (26/30; "it doesn't feel warm at all" inverted, the negation read over 'warm' where
    # the take's warmth was denied): a verb of perception denied after its subject asks for the quality, as "it
    # isn't warm" does; 'stop' asks for a fault's remedy; a celeste
    ("held_out_61", "jazz", "it doesn't feel warm at all", lambda b, a: a.valence > b.valence),
    ("held_out_61", "jazz", "it doesn't sound very upbeat", lambda b, a: a.valence > b.valence),
    ("held_out_61", "jazz", "stop making it drag", lambda b, a: a.tempo_bpm > b.tempo_bpm),
    ("held_out_61", "jazz", "stop being so boring", lambda b, a: a.energy > b.energy),
    ("held_out_61", "jazz", "it doesn't drag", lambda b, a: a == b),
    ("held_out_61", "jazz", "a celeste would be pretty", lambda b, a: "vibraphone" in a.instruments),
    # held_out_62's first run (24/30; three negations inverted, each a judgement of the take denied): "I wouldn't
    # call it lively", "I don't think it's lively", "I don't hear any joy in it", "this isn't what I'd call relaxing"
    # ask for the quality, as "it isn't lively" does ("I don't want it lively" still asks for less); a removal
    # denied keeps ("I don't want it to lose its edge"); predictable, never gets going
    ("held_out_62", "jazz", "i wouldn't call it lively", lambda b, a: a.energy > b.energy),
    ("held_out_62", "jazz", "i don't find it lively", lambda b, a: a.energy > b.energy),
    ("held_out_62", "jazz", "i don't think it's lively", lambda b, a: a.energy > b.energy),
    ("held_out_62", "jazz", "i don't want it lively", lambda b, a: a.energy < b.energy),
    ("held_out_62", "jazz", "i don't hear any joy in it", lambda b, a: a.valence > b.valence),
    ("held_out_62", "rock", "this isn't what i'd call relaxing", lambda b, a: a.energy < b.energy),
    ("held_out_62", "jazz", "i find it slow", lambda b, a: a.tempo_bpm > b.tempo_bpm),
    ("held_out_62", "jazz", "would it sound better faster", lambda b, a: a.tempo_bpm > b.tempo_bpm),
    ("held_out_62", "jazz", "i don't want it to lose its edge", lambda b, a: a == b),
    ("held_out_62", "jazz", "don't lose the warmth", lambda b, a: a == b),
    ("held_out_62", "jazz", "it could be less predictable", lambda b, a: a.energy > b.energy),
    ("held_out_62", "jazz", "it never really gets going", lambda b, a: a.energy > b.energy),
    # held_out_63's first run (20/30; seven negations inverted, each denying the take a quality, which asks for
    # it): what the take hasn't got or there is none of; a judgement or a perception denied ("I wouldn't describe
    # it as cheerful", "it doesn't make me want to dance", "I can't say it's very exciting"); 'not exactly';
    # a tag question ('not exactly a party, is it'); a flugelhorn. "I'd rather not have the sax" still cuts it.
    ("held_out_63", "jazz", "it hasn't got much bite", lambda b, a: a.energy > b.energy),
    ("held_out_63", "jazz", "it doesn't have any drive", lambda b, a: a.energy > b.energy),
    ("held_out_63", "jazz", "there's no urgency to it", lambda b, a: a.energy > b.energy),
    ("held_out_63", "rock", "there's nothing dreamy about it", lambda b, a: a.energy < b.energy),
    ("held_out_63", "jazz", "i wouldn't describe it as cheerful", lambda b, a: a.valence > b.valence),
    ("held_out_63", "jazz", "it doesn't make me want to dance", lambda b, a: a.energy > b.energy),
    ("held_out_63", "jazz", "it's not exactly upbeat", lambda b, a: a.energy > b.energy),
    ("held_out_63", "jazz", "not exactly a party, is it", lambda b, a: a.energy > b.energy),
    ("held_out_63", "jazz", "i can't say it's very exciting", lambda b, a: a.valence > b.valence),
    ("held_out_63", "jazz", "this sounds a bit childish", lambda b, a: a.valence < b.valence),  # its own feeling
    ("held_out_63", "jazz", "a flugelhorn would be lovely", lambda b, a: "trumpet" in a.instruments),
    ("held_out_63", "jazz", "i'd rather not have the sax", lambda b, a: "saxophone" not in a.instruments),
    ("held_out_63", "jazz", "can we not have the drums", lambda b, a: "drums" not in a.instruments),
    # held_out_64's first run (25/30; three negations inverted): a verb the take does, denied ("it doesn't really
    # swing"); 'hardly', 'never' denying a quality said of the take; "it's not got enough energy"; a clause held
    # by 'any more' ("don't speed it up any more")
    ("held_out_64", "rock", "it doesn't really swing", lambda b, a: a.energy > b.energy),
    ("held_out_64", "jazz", "it's hardly upbeat", lambda b, a: a.energy > b.energy),
    ("held_out_64", "jazz", "it never sounds happy", lambda b, a: a.valence > b.valence),
    ("held_out_64", "jazz", "it's not got enough energy", lambda b, a: a.energy > b.energy),
    ("held_out_64", "jazz", "it's got no drive", lambda b, a: a.energy > b.energy),
    ("held_out_64", "jazz", "don't speed it up any more", lambda b, a: a == b),
    ("held_out_64", "jazz", "i don't want it to swing", lambda b, a: a.energy < b.energy),
    # held_out_65's first run (26/30; 'no one would dance to this' inverted): what no one could do to the take,
    # asked for; a pulse; "it's grand as it is" is praise; 'it could breathe more' is no denial
    ("held_out_65", "jazz", "no one would dance to this", lambda b, a: a.energy > b.energy),
    ("held_out_65", "jazz", "you couldn't dance to it", lambda b, a: a.energy > b.energy),
    ("held_out_65", "jazz", "so i can dance", lambda b, a: a.energy > b.energy),
    ("held_out_65", "jazz", "it doesn't have much of a pulse", lambda b, a: a.energy > b.energy),
    ("held_out_65", "rock", "it's grand as it is", lambda b, a: a == b),
    # held_out_66's first run (26/30; two negations inverted): 'in the least', 'half as' between a denial and its
    # quality; never takes off; pipe down
    ("held_out_66", "rock", "it's not in the least bit scary", lambda b, a: a.valence < b.valence),
    ("held_out_66", "jazz", "it isn't half as fun as it should be", lambda b, a: a.valence >= b.valence),
    ("held_out_66", "jazz", "it never quite takes off", lambda b, a: a.energy > b.energy),
    ("held_out_66", "rock", "pipe down a bit", lambda b, a: a.energy < b.energy),
    # held_out_67's first run (20/30; three negations inverted): 'no', 'nearly', 'anything but' between the take and
    # its quality deny it ("it's no fun at all", "it's anything but calm"; 'anything but calm' alone still asks
    # for less calm); 'could not be more boring' is no denial; 'the chorus doesn't lift'; "isn't enough going on";
    # 'leave the tempo alone' (no loneliness); a part that doesn't need to be there; an emphatic denial opening the
    # message describes the take ('not one bit dreamy')
    ("held_out_67", "jazz", "it's no fun at all", lambda b, a: a.valence > b.valence),
    ("held_out_67", "rock", "it's anything but calm", lambda b, a: a.energy < b.energy),
    ("held_out_67", "rock", "anything but calm", lambda b, a: a.energy > b.energy),
    ("held_out_67", "jazz", "it could not be more boring", lambda b, a: a.energy > b.energy),
    ("held_out_67", "jazz", "the chorus doesn't lift", lambda b, a: a.energy > b.energy),
    ("held_out_67", "jazz", "there isn't enough going on", lambda b, a: len(a.instruments) > len(b.instruments)),
    ("held_out_67", "jazz", "it hasn't any life in it", lambda b, a: a.energy > b.energy),
    ("held_out_67", "jazz", "leave the tempo alone, it's fine", lambda b, a: a == b),
    ("held_out_67", "jazz", "the drums don't need to be there", lambda b, a: "drums" not in a.instruments),
    ("held_out_67", "jazz", "there's no urgency to it", lambda b, a: a.energy > b.energy),
    ("held_out_67", "rock", "not one bit dreamy", lambda b, a: a.energy < b.energy),  # an emphatic denial describes
    ("held_out_67", "rock", "not dreamy", lambda b, a: a.energy > b.energy),  # a plain one asks
    # held_out_68's first run (21/30; three negations inverted): the take's own names after a quantity are what it
    # lacks ("I'm not getting any groove from it"); 'nothing about it', 'no way is this'; "it shouldn't feel so
    # rushed" asks for the fault's remedy; much better is praise; a late summer evening; a whisper of flute
    ("held_out_68", "rock", "i'm not getting any groove from it", lambda b, a: a.energy > b.energy),
    ("held_out_68", "jazz", "nothing about it feels happy", lambda b, a: a.valence > b.valence),
    ("held_out_68", "rock", "no way is this relaxing", lambda b, a: a.energy < b.energy),
    ("held_out_68", "jazz", "it shouldn't feel so rushed", lambda b, a: a.tempo_bpm < b.tempo_bpm),
    ("held_out_68", "jazz", "it shouldn't be so sad", lambda b, a: a.valence > b.valence),
    ("held_out_68", "rock", "it's not got much soul", lambda b, a: a.valence > b.valence),
    ("held_out_68", "jazz", "it doesn't seem to go anywhere", lambda b, a: a.energy > b.energy),
    ("held_out_68", "jazz", "thank you, that's much better", lambda b, a: a == b),
    ("held_out_68", "rock", "like a late summer evening", lambda b, a: a.energy < b.energy),
    ("held_out_68", "rock", "a whisper of flute", lambda b, a: "flute" in a.instruments),
    # held_out_69's first run (25/30, no negation inverted), the session's final measure: 'can it not be so
    # repetitive' asks for the fault's remedy; a chore to listen to; a racket
    ("held_out_69", "jazz", "can it not be so repetitive", lambda b, a: a.energy > b.energy),
    ("held_out_69", "jazz", "it feels like a chore to listen to", lambda b, a: a.energy > b.energy),
    ("held_out_69", "rock", "it's a bit of a racket", lambda b, a: a.energy < b.energy),
    # held_out_70's first run (26/30; three negations inverted), the reader as submitted: what nobody would call it;
    # a calm it never reaches. ("I wouldn't say it's got much groove" is still read as less groove.)
    ("held_out_70", "rock", "nobody would call this calm", lambda b, a: a.energy < b.energy),
    ("held_out_70", "rock", "no one could relax to this", lambda b, a: a.energy < b.energy),
    ("held_out_70", "rock", "it never really relaxes", lambda b, a: a.energy < b.energy),
    ("held_out_70", "jazz", "would it sound better faster", lambda b, a: a.tempo_bpm > b.tempo_bpm),
    # held_out_71's first run (24/30; five negations inverted), the reader as submitted: a quality the take is
    # denied by any verb, with the take or a listener as the subject, asks for it (_described); what it has not got
    ("held_out_71", "jazz", "this doesn't come across as energetic at all", lambda b, a: a.energy > b.energy),
    ("held_out_71", "rock", "you wouldn't call it relaxing", lambda b, a: a.energy < b.energy),
    ("held_out_71", "jazz", "i'm not hearing the sadness", lambda b, a: a.valence < b.valence),
    ("held_out_71", "rock", "it could hardly be called mellow", lambda b, a: a.energy < b.energy),
    ("held_out_71", "jazz", "it's not got the darkness i wanted", lambda b, a: a.valence < b.valence),
    ("held_out_71", "jazz", "there isn't much life in it", lambda b, a: a.energy > b.energy),
    ("held_out_70", "rock", "i wouldn't say it's got much groove", lambda b, a: a.energy > b.energy),
    # held_out_72's first run (28/30; two negations inverted), after _described: 'going to' and 'go as far as' are no
    # wish; "nobody's" denies as its subject
    ("held_out_72", "rock", "i wouldn't go as far as calling it peaceful", lambda b, a: a.energy < b.energy),
    ("held_out_72", "jazz", "nobody's going to call this fast", lambda b, a: a.tempo_bpm > b.tempo_bpm),
    ("held_out_72", "jazz", "we're not going for gloomy", lambda b, a: a.valence > b.valence),
    # held_out_73's first run (25/30; three negations inverted): 'to me' leads a statement; 'nothing' denies as the
    # subject before a verb; praise after a denial is none ("it doesn't feel fun"); "let's not have it" is no "it's
    # not got"; 'any energy'
    ("held_out_73", "rock", "to me it doesn't sound wistful", lambda b, a: a.valence < b.valence),
    ("held_out_73", "jazz", "there's hardly any energy in this", lambda b, a: a.energy > b.energy),
    ("held_out_73", "jazz", "sadly it doesn't feel fun", lambda b, a: a.valence > b.valence),
    ("held_out_73", "rock", "nothing here sounds tender", lambda b, a: a.energy < b.energy),
    ("held_out_73", "jazz", "let's not have it so busy", lambda b, a: len(a.instruments) < len(b.instruments)),
    ("held_out_73", "rock", "nothing too mellow", lambda b, a: a.energy > b.energy),
    # held_out_74's first run (24/30; three negations inverted): 'why' leads a denial and its 'more' is the quality's;
    # 'not a moment of it' denies as the subject; a likeness after a verb of perception is perceived; a fault under
    # 'rather' or 'wish' asks for its remedy
    ("held_out_74", "jazz", "why doesn't it feel more hopeful", lambda b, a: a.valence > b.valence),
    ("held_out_74", "rock", "not a single moment of it feels calm", lambda b, a: a.energy < b.energy),
    ("held_out_74", "jazz", "i'm not getting a summery feeling from it", lambda b, a: a.valence > b.valence),
    ("held_out_74", "jazz", "i'd rather it didn't drag so much", lambda b, a: a.tempo_bpm > b.tempo_bpm),
    # held_out_75's first run (28/30; one negation inverted): "needn't" was respelled 'need' (a slip one letter off)
    ("held_out_75", "jazz", "it needn't be so dark", lambda b, a: a.valence > b.valence),
    ("held_out_75", "jazz", "it mustn't be so gloomy", lambda b, a: a.valence > b.valence),
    # held_out_76's first run (29/30; one negation inverted): 'still not X' says what the take still lacks
    ("held_out_76", "jazz", "nope, still not upbeat", lambda b, a: a.valence > b.valence),
    ("held_out_76", "jazz", "still no energy", lambda b, a: a.energy > b.energy),
    # held_out_77's first run (26/30; one negation inverted): 'feeling' is a dislike only before what is disliked
    # ("I'm not feeling the gloom"), 'going' a wish only as 'going for'; 'not what I'd call'; "there's no need for"
    ("held_out_77", "jazz", "it doesn't leave me feeling hopeful", lambda b, a: a.valence > b.valence),
    ("held_out_77", "jazz", "not what i'd call funky", lambda b, a: a.genre == "funk"),
    ("held_out_77", "rock", "there's no need for the organ", lambda b, a: "organ" not in a.instruments),
    ("held_out_77", "jazz", "i'm not feeling the gloom", lambda b, a: a.valence > b.valence),
    # held_out_78's first run (21/30; two negations inverted): a comparative denied and compared said of the take
    # asks for it; 'where's the energy'; nothing happens; 'it never lets loose' states; "I'm over / done with the X"
    ("held_out_78", "jazz", "it isn't any livelier than before", lambda b, a: a.energy > b.energy),
    ("held_out_78", "jazz", "it's no happier than the last one", lambda b, a: a.valence > b.valence),
    ("held_out_78", "jazz", "it's no more exciting than the last take", lambda b, a: a.energy > b.energy),
    ("held_out_78", "jazz", "where's the energy?", lambda b, a: a.energy > b.energy),
    ("held_out_78", "jazz", "hardly anything happens", lambda b, a: a.energy > b.energy),
    ("held_out_78", "jazz", "it never lets loose", lambda b, a: a.energy > b.energy),
    ("held_out_78", "jazz", "it won't ever get going", lambda b, a: a.energy > b.energy),
    ("held_out_78", "rock", "i'm over the dreamy stuff", lambda b, a: a.energy > b.energy),
    ("held_out_78", "jazz", "i'm so done with the sadness", lambda b, a: a.valence > b.valence),
    ("held_out_78", "jazz", "don't make it any livelier", lambda b, a: a == b),
    # held_out_79's first run (27/30; two negations inverted): 'u' is a listener; 'no X to it' lacks X ('there's'
    # elided; "no drums in it" still asks them out); an expectation denied asks for less
    ("held_out_79", "jazz", "u cant dance to this", lambda b, a: a.energy > b.energy),
    ("held_out_79", "rock", "meh, no real groove to it", lambda b, a: a.energy > b.energy),
    ("held_out_79", "rock", "no drums in it", lambda b, a: "drums" not in a.instruments),
    ("held_out_79", "jazz", "wasnt expecting it to be so sad, make it happier", lambda b, a: a.valence > b.valence),
    # held_out_80's first run (14/30; thirteen negations inverted): a question put negatively asks for what it denies
    # (_asked_back), 'why' and 'how come' questions complain of what they deny, 'why not' suggests, 'do we really need
    # it this loud?' complains; 'could you not' still asks for less
    ("held_out_80", "jazz", "shouldn't it be more upbeat?", lambda b, a: a.valence > b.valence),
    ("held_out_80", "jazz", "wouldn't it be better slower?", lambda b, a: a.tempo_bpm < b.tempo_bpm),
    ("held_out_80", "jazz", "couldn't it be a little darker?", lambda b, a: a.valence < b.valence),
    ("held_out_80", "jazz", "doesn't it feel kind of empty?", lambda b, a: len(a.instruments) > len(b.instruments)),
    ("held_out_80", "jazz", "how come it's not more energetic?", lambda b, a: a.energy > b.energy),
    ("held_out_80", "rock", "can't it swing a bit more?", lambda b, a: a.energy > b.energy),
    ("held_out_80", "jazz", "isn't it meant to be sad?", lambda b, a: a.valence < b.valence),
    ("held_out_80", "rock", "wasn't this supposed to be relaxing?", lambda b, a: a.energy < b.energy),
    ("held_out_80", "jazz", "is it really not possible to make it faster?", lambda b, a: a.tempo_bpm > b.tempo_bpm),
    ("held_out_80", "jazz", "shouldn't the chorus lift more?", lambda b, a: a.energy > b.energy),
    ("held_out_80", "jazz", "doesn't it need some warmth?", lambda b, a: a.valence > b.valence),
    ("held_out_80", "jazz", "why does it never get loud?", lambda b, a: a.energy > b.energy),
    ("held_out_80", "jazz", "aren't the chords a bit gloomy?", lambda b, a: a.valence > b.valence),
    ("held_out_80", "jazz", "isn't it kind of boring?", lambda b, a: a.energy > b.energy),
    ("held_out_80", "rock", "do we really need it this loud?", lambda b, a: a.energy < b.energy),
    ("held_out_80", "jazz", "why not try it in minor?", lambda b, a: a.mode == 'minor'),
    ("held_out_80", "jazz", "could you not make it so sad?", lambda b, a: a.valence > b.valence),
    ("held_out_80", "jazz", "don't take out the piano", lambda b, a: a == b),
    # held_out_81's first run (23/30; two negations inverted): 'just' carries what is said of the take past a comma;
    # the take before compared ('the last one wasn't this slow') says this one is; what it has lost; 'it's less X'
    ("held_out_81", "jazz", "it's unexciting", lambda b, a: a.energy > b.energy),
    ("held_out_81", "jazz", "it's not unpleasant, just a bit slow", lambda b, a: a.tempo_bpm > b.tempo_bpm),
    ("held_out_81", "jazz", "the last one wasn't this slow", lambda b, a: a.tempo_bpm > b.tempo_bpm),
    ("held_out_81", "jazz", "the last take didn't feel upbeat", lambda b, a: a.valence > b.valence),
    ("held_out_81", "jazz", "no complaints here", lambda b, a: a == b),
    ("held_out_81", "jazz", "i wouldn't change a thing", lambda b, a: a == b),
    ("held_out_81", "jazz", "it's lost its energy", lambda b, a: a.energy > b.energy),
    ("held_out_81", "jazz", "it's become far less fun", lambda b, a: a.valence > b.valence),
    # held_out_82's first run (16/30; five negations inverted): a denial cancelled by a second, by a litotes or by 'no
    # reason' (_cancelled); a phrase's gap never spans a denial ('energy * up' is not "the energy never lets up");
    # 'fails to', 'refuses to'; 'there's little X'; 'is there any X in it?'; '-less' words of feeling
    ("held_out_82", "jazz", "there's little energy in it", lambda b, a: a.energy > b.energy),
    ("held_out_82", "jazz", "it refuses to get going", lambda b, a: a.energy > b.energy),
    ("held_out_82", "jazz", "it sounds joyless", lambda b, a: a.valence > b.valence),
    ("held_out_82", "jazz", "it's totally humourless", lambda b, a: a.valence > b.valence),
    ("held_out_82", "jazz", "is there any energy in it at all?", lambda b, a: a.energy > b.energy),
    ("held_out_82", "jazz", "not unhappy with it", lambda b, a: a == b),
    ("held_out_82", "rock", "the energy never lets up", lambda b, a: a.energy < b.energy),
    ("held_out_82", "rock", "there's no let-up", lambda b, a: a.energy < b.energy),
    ("held_out_82", "jazz", "i wouldn't mind it a bit faster", lambda b, a: a.tempo_bpm > b.tempo_bpm),
    ("held_out_82", "jazz", "wouldn't say no to more warmth", lambda b, a: a.valence > b.valence),
    ("held_out_82", "jazz", "no reason it can't be happier", lambda b, a: a.valence > b.valence),
    ("held_out_82", "jazz", "it's never not busy", lambda b, a: len(a.instruments) < len(b.instruments)),
    ("held_out_82", "rock", "the opposite of sad", lambda b, a: a.valence > b.valence),
    ("held_out_82", "jazz", "i'm sick of jazz", lambda b, a: a.genre != 'jazz'),
    # held_out_83's first run (21/30; none inverted): 'a sax solo' is a passage, not the line-up; slang praise
    ("held_out_83", "jazz", "it doesn't need a sax solo", lambda b, a: 'saxophone' not in a.instruments),
    ("held_out_83", "jazz", "piano solo", lambda b, a: a.instruments == ('piano',)),
    ("held_out_83", "jazz", "it's killing it, no notes", lambda b, a: a == b),
    # held_out_84's first run (25/30; none inverted): the verb 'mean' is no adjective ('I meant calmer' had read
    # 'meaner'); a comparative corrected after a comma is held ('calmer, not slower')
    ("held_out_84", "jazz", "it's good but it doesn't really go anywhere", lambda b, a: a.energy > b.energy),
    ("held_out_84", "rock", "i meant calmer, not slower", lambda b, a: a.energy < b.energy),
    ("held_out_84", "jazz", "i mean, it's fine", lambda b, a: a == b),
    ("held_out_84", "jazz", "make it meaner", lambda b, a: a.energy > b.energy),
    ("held_out_84", "jazz", "make it mean and nasty", lambda b, a: a.energy > b.energy),
    ("held_out_84", "jazz", "what does that mean", lambda b, a: a == b),
    ("held_out_84", "jazz", "faster, not louder", lambda b, a: a.tempo_bpm > b.tempo_bpm and a.energy == b.energy),
    # held_out_86's first run (23/30; four negations inverted): a retraction drops what came before it ('no wait');
    # 'eh?', 'right?' are tags; what the take would never make anyone do; 'people', 'they' are listeners; "don't you
    # dare" is no question
    ("held_out_86", "jazz", "people won't find it exciting", lambda b, a: a.energy > b.energy),
    ("held_out_86", "jazz", "darker, no wait, brighter", lambda b, a: a.valence > b.valence),
    ("held_out_86", "jazz", "not very upbeat, eh?", lambda b, a: a.valence > b.valence),
    ("held_out_86", "jazz", "a bit slow, right?", lambda b, a: a.tempo_bpm > b.tempo_bpm),
    ("held_out_86", "jazz", "it'd never make anyone cry", lambda b, a: a.valence < b.valence),
    ("held_out_86", "jazz", "it doesn't make me happy", lambda b, a: a.valence > b.valence),
    ("held_out_86", "jazz", "don't you dare make it sadder", lambda b, a: a.valence > b.valence),
    ("held_out_86", "jazz", "no, wait, that's fine", lambda b, a: a == b),
    # held_out_87's first run (28/30, an ordinary mix): running to it, a stronger beat ('big beat' stays a genre);
    # held_out_88's (21/30; two negations inverted): 'too little' is not enough; 'less than thrilling' describes;
    # 'none of the X of the first take' misses X; 'nothing * happens'; 'not half bad' is praise
    ("held_out_87", "jazz", "i want something i can run to", lambda b, a: a.tempo_bpm > b.tempo_bpm),
    ("held_out_87", "jazz", "it needs a stronger beat", lambda b, a: a.energy > b.energy),
    ("held_out_87", "jazz", "big beat", lambda b, a: a.genre == 'electronic'),
    ("held_out_88", "jazz", "too little energy", lambda b, a: a.energy > b.energy),
    ("held_out_88", "jazz", "too few instruments", lambda b, a: len(a.instruments) > len(b.instruments)),
    ("held_out_88", "jazz", "less than thrilling", lambda b, a: a.energy > b.energy),
    ("held_out_88", "jazz", "none of the warmth of the first take", lambda b, a: a.valence > b.valence),
    ("held_out_88", "jazz", "nothing exciting happens", lambda b, a: a.energy > b.energy),
    ("held_out_88", "jazz", "there's too little going on", lambda b, a: len(a.instruments) > len(b.instruments)),
    ("held_out_88", "jazz", "not enough happening", lambda b, a: len(a.instruments) > len(b.instruments)),
    ("held_out_88", "jazz", "it's not half bad", lambda b, a: a == b),
    # held_out_89's first run (16/30; six negations inverted): a comparative the take is supposed to reach ('any
    # slower and I'd fall asleep'); 'so not X'; what 'you' made it; "won't stop"; 'gone'; "I didn't say darker"
    # takes it back (a proposition after 'say' is still judged); 'quit'; "I've had enough of"
    ("held_out_89", "jazz", "any slower and i'd fall asleep", lambda b, a: a.tempo_bpm > b.tempo_bpm),
    ("held_out_89", "jazz", "if it were any slower it'd stop", lambda b, a: a.tempo_bpm > b.tempo_bpm),
    ("held_out_89", "jazz", "could you make it any faster?", lambda b, a: a.tempo_bpm > b.tempo_bpm),
    ("held_out_89", "jazz", "i can barely stay awake", lambda b, a: a.energy > b.energy),
    ("held_out_89", "jazz", "so not upbeat", lambda b, a: a.valence > b.valence),
    ("held_out_89", "jazz", "you didn't make it faster", lambda b, a: a.tempo_bpm > b.tempo_bpm),
    ("held_out_89", "jazz", "it won't stop being gloomy", lambda b, a: a.valence > b.valence),
    ("held_out_89", "jazz", "it's gone all cheerful", lambda b, a: a.valence < b.valence),
    ("held_out_89", "jazz", "you've made it sound like a kids' show", lambda b, a: a.valence < b.valence),
    ("held_out_89", "jazz", "i didn't say darker", lambda b, a: a.valence > b.valence),
    ("held_out_89", "jazz", "i can't say it's very exciting", lambda b, a: a.valence > b.valence),
    ("held_out_89", "jazz", "quit slowing it down", lambda b, a: a.tempo_bpm > b.tempo_bpm),
    ("held_out_89", "jazz", "i've had enough of the slow stuff", lambda b, a: a.tempo_bpm > b.tempo_bpm),
    # held_out_90's first run (28/30; none inverted): what a supposed comparative would lead to is no request;
    # 'too little X' lacks X
    ("held_out_90", "jazz", "any gloomier and it'd be a funeral", lambda b, a: a.valence > b.valence),
    ("held_out_90", "jazz", "there's too little warmth", lambda b, a: a.valence > b.valence),
    # held_out_91's first run (22/30; five negations inverted): 'not overly' understates; what a song is without or
    # there isn't a single one of, and what it is no longer, it lacks; 'keep it from'
    ("held_out_91", "jazz", "it's not overly cheerful", lambda b, a: a.valence > b.valence),
    ("held_out_91", "jazz", "it's a song without any energy", lambda b, a: a.energy > b.energy),
    ("held_out_91", "jazz", "it's fine without any drums", lambda b, a: 'drums' not in a.instruments),
    ("held_out_91", "jazz", "it's not upbeat anymore", lambda b, a: a.valence > b.valence),
    ("held_out_91", "jazz", "don't speed it up any more", lambda b, a: a == b),
    ("held_out_91", "jazz", "there isn't a single happy note in it", lambda b, a: a.valence > b.valence),
    ("held_out_91", "jazz", "keep it from sounding sad", lambda b, a: a.valence > b.valence),
    ("held_out_91", "jazz", "make it a piano solo", lambda b, a: a.instruments == ('piano',)),
    # held_out_92's first run (24/30; three negations inverted): a quality the take could not have more of is said of
    # it ('could hardly be any sleepier'); what it is short or low on, or there's not a single one of, it lacks; 'the
    # last thing I want' denies the wish; 'spare me the X' takes it out
    ("held_out_92", "jazz", "it could hardly be any sleepier", lambda b, a: a.energy > b.energy),
    ("held_out_92", "jazz", "it couldn't be any slower", lambda b, a: a.tempo_bpm > b.tempo_bpm),
    ("held_out_92", "jazz", "it can't get any more boring", lambda b, a: a.energy > b.energy),
    ("held_out_92", "jazz", "it shouldn't be any slower", lambda b, a: a.tempo_bpm >= b.tempo_bpm),
    ("held_out_92", "jazz", "a bit short on energy", lambda b, a: a.energy > b.energy),
    ("held_out_92", "jazz", "it's running low on energy", lambda b, a: a.energy > b.energy),
    ("held_out_92", "jazz", "there's not a single happy note in it", lambda b, a: a.valence > b.valence),
    ("held_out_92", "jazz", "the last thing I want is a sad song", lambda b, a: a.valence > b.valence),
    ("held_out_92", "jazz", "spare me the cheesy sax", lambda b, a: "saxophone" not in a.instruments),
    ("held_out_92", "jazz", "no more of this moping", lambda b, a: a.valence > b.valence),
    # held_out_93's first run (26/30; one negation inverted): 'why so X?' complains of X; 'no rush' and its kin slow
    # it down; a barn burner is lively
    ("held_out_93", "jazz", "why so serious?", lambda b, a: a.valence > b.valence),
    ("held_out_93", "jazz", "why so slow?", lambda b, a: a.tempo_bpm > b.tempo_bpm),
    ("held_out_93", "rock", "there's no rush", lambda b, a: a.tempo_bpm < b.tempo_bpm),
    ("held_out_93", "rock", "no need to rush it", lambda b, a: a.tempo_bpm < b.tempo_bpm),
    ("held_out_93", "rock", "what's the hurry?", lambda b, a: a.tempo_bpm < b.tempo_bpm),
    ("held_out_93", "jazz", "it's not exactly a barn burner", lambda b, a: a.energy > b.energy),
    # held_out_94's first run (24/30; five negations inverted): a negated superlative opening the message is said of
    # the take; "X isn't my thing" disowns X; 'no getting around' asserts; "I'm not saying" disclaims; praise said
    # of the take stays with the elided complaint after it ("it's fine, just a bit sleepy" had read 'a bit sleepy')
    ("held_out_94", "jazz", "not the liveliest thing i've heard", lambda b, a: a.energy > b.energy),
    ("held_out_94", "jazz", "slow isn't my thing", lambda b, a: a.tempo_bpm > b.tempo_bpm),
    ("held_out_94", "jazz", "sad songs aren't really my thing", lambda b, a: a.valence > b.valence),
    ("held_out_94", "jazz", "jazz isn't really my cup of tea", lambda b, a: a.genre != "jazz"),
    ("held_out_94", "jazz", "there's no getting around how slow it is", lambda b, a: a.tempo_bpm > b.tempo_bpm),
    ("held_out_94", "jazz", "i'm not saying it's bad, just a bit sleepy", lambda b, a: a.energy > b.energy),
    ("held_out_94", "jazz", "it's fine, just a bit sleepy", lambda b, a: a.energy > b.energy),
    ("held_out_94", "jazz", "it's great but a little sleepy", lambda b, a: a.energy > b.energy),
    ("held_out_94", "jazz", "sounds good, a bit sleepy though", lambda b, a: a.energy > b.energy),
    # held_out_95's first run (26/30; one negation inverted): 'ought not' is a wish denied; a contraction typed
    # without its apostrophe ("oughtn t") is no typing slip; cheese is saccharine; undanceable, non-stop
    ("held_out_95", "jazz", "it ought not to be this gloomy", lambda b, a: a.valence > b.valence),
    ("held_out_95", "jazz", "it oughtn t be this gloomy", lambda b, a: a.valence > b.valence),
    ("held_out_95", "jazz", "tone down the cheese", lambda b, a: a.valence < b.valence),
    ("held_out_95", "jazz", "it's undanceable", lambda b, a: a.energy > b.energy),
    ("held_out_95", "jazz", "non-stop energy please", lambda b, a: a.energy > b.energy),
    # held_out_96's first run (25/30; two negations inverted): what 'isn't working' or 'isn't doing it any favours'
    # is disowned; what 'is too much' is overdone; 'had enough' without 'of'; the energy missed is asked for
    ("held_out_96", "jazz", "the gloom isn't working for me", lambda b, a: a.valence > b.valence),
    ("held_out_96", "jazz", "the slow tempo isn't doing it any favours", lambda b, a: a.tempo_bpm > b.tempo_bpm),
    ("held_out_96", "jazz", "we've had enough slow songs", lambda b, a: a.tempo_bpm > b.tempo_bpm),
    ("held_out_96", "jazz", "the melancholy is too much", lambda b, a: a.valence > b.valence),
    ("held_out_96", "jazz", "the sax is a bit much", lambda b, a: "saxophone" not in a.instruments),
    ("held_out_96", "jazz", "i miss the energy of the first version", lambda b, a: a.energy > b.energy),
    # held_out_98's first run (23/30; one negation inverted): a mode named before 'chords' or after 'from' or
    # 'avoid'; what is kept out, left off or '-free'; 'zero' denies as 'no' does (and lacks after 'has' or 'there's')
    ("held_out_98", "rock", "avoid minor chords", lambda b, a: a.mode == "major"),
    ("held_out_98", "rock", "steer away from minor", lambda b, a: a.mode == "major"),
    ("held_out_88", "rock", "no minor chords", lambda b, a: a.mode == "major"),
    ("held_out_98", "jazz", "keep the drums out of it", lambda b, a: "drums" not in a.instruments),
    ("held_out_98", "jazz", "keep the drums out front", lambda b, a: "drums" in a.instruments),
    ("held_out_98", "rock", "leave the organ off this one", lambda b, a: "organ" not in a.instruments),
    ("held_out_98", "jazz", "sax-free please", lambda b, a: "saxophone" not in a.instruments),
    ("held_out_98", "jazz", "a version with zero drums", lambda b, a: "drums" not in a.instruments),
    ("held_out_98", "jazz", "zero sadness please", lambda b, a: a.valence > b.valence),
    ("held_out_98", "jazz", "the chorus has zero punch", lambda b, a: a.energy > b.energy),
    # earlier sets' misses left open before, read since: 'not so much X as Y' in a request asks for Y; what 'you
    # forgot' is added; a fault denied in what is asked for ('something that doesn't drag') or after "don't let"
    ("held_out_84", "jazz", "make it not so much jazz as blues", lambda b, a: a.genre == "blues"),
    ("held_out_89", "jazz", "you forgot the strings", lambda b, a: "strings" in a.instruments),
    ("held_out_91", "jazz", "something that doesn't drag", lambda b, a: a.tempo_bpm > b.tempo_bpm),
    ("held_out_91", "jazz", "don't let it get boring", lambda b, a: a.energy > b.energy),
    ("held_out_95", "jazz", "not so much sad as sleepy", lambda b, a: a.energy > b.energy),
    # held_out_99's first run (25/30; one negation inverted, four other rows): a letter held for stress ('sooo')
    # is read once; 'so X' opening a message is said of the take; after praise a hedged quality is said ("better
    # but still a bit sad"), in the keyword layer too; 'it's giving' likens to the clause's end; "can it not be"
    # asks it not to be (where "is it not" asks back)
    ("held_out_99", "jazz", "sooo slow", lambda b, a: a.tempo_bpm > b.tempo_bpm),
    ("held_out_99", "jazz", "booooring", lambda b, a: a.energy > b.energy),
    ("held_out_99", "jazz", "better but still a bit sad", lambda b, a: a.valence > b.valence),
    ("held_out_99", "jazz", "it's giving wake in the rain", lambda b, a: a.valence > b.valence),
    ("held_out_99", "jazz", "can it not be so sleepy", lambda b, a: a.energy > b.energy),
    ("held_out_86", "jazz", "darker, no wait, brighter", lambda b, a: a.valence > b.valence),
    # held_out_100's first run (21/30; five negations inverted): 'not enough X' asks for more X (it had asked for
    # less: "not enough warmth" turned it colder), not where the take is said to lack it ("it hasn't got enough
    # bite"); an instrument after 'in the' only says where; 'has no business being' denies; how gloomy 'it got';
    # what the take could not have less of it lacks; timid is weak; homework is study
    ("held_out_100", "jazz", "not enough warmth", lambda b, a: a.valence > b.valence),
    ("held_out_100", "jazz", "nowhere near enough swing", lambda b, a: a.energy > b.energy),
    ("held_out_100", "jazz", "not enough oomph in the drums", lambda b, a: a.energy > b.energy and "drums" in a.instruments),
    ("held_out_100", "jazz", "it hasn't got enough bite", lambda b, a: a.energy > b.energy),
    ("held_out_100", "jazz", "there isn't enough warmth", lambda b, a: a.valence > b.valence),
    ("held_out_100", "jazz", "it has no business being this slow", lambda b, a: a.tempo_bpm > b.tempo_bpm),
    ("held_out_100", "jazz", "i can't believe how gloomy it got", lambda b, a: a.valence > b.valence),
    ("held_out_100", "jazz", "it couldn't sound any less like a party", lambda b, a: a.energy > b.energy),
    ("held_out_100", "jazz", "too timid", lambda b, a: a.energy > b.energy),
    ("held_out_100", "jazz", "make it sound less like homework", lambda b, a: a.energy > b.energy),
    ("held_out_100", "jazz", "don't overdo the gloom", lambda b, a: a.valence > b.valence),
    # held_out_101's first run (26/30 on this session's families phrased anew; two negations inverted): the take
    # at its utmost past an adverb ('could not possibly be any gloomier') or by 'much' ("can't get much slower");
    # 'spare us'; a contrast said of the take complains of what follows 'as' and of nothing before it
    ("held_out_101", "jazz", "it could not possibly be any gloomier", lambda b, a: a.valence > b.valence),
    ("held_out_101", "jazz", "honestly it can't get much slower", lambda b, a: a.tempo_bpm > b.tempo_bpm),
    ("held_out_101", "rock", "spare us the organ", lambda b, a: "organ" not in a.instruments),
    ("held_out_101", "jazz", "it's not so much slow as sleepy", lambda b, a: a.energy > b.energy),
    # held_out_102's first run (13/20 on long chat messages; two negations inverted): what someone else says of the
    # take is said of it; a purpose after 'not what we want' is no denial; 'so' after a comma is no hedge (", so not
    # scary at all" had read 'scary' as said of the take); "the organ not so much"; 'something about it feels';
    # holding back is weak
    ("held_out_102", "jazz", "my partner says it sounds like a horror film, which is not what we want for a wedding",
     lambda b, a: a.valence > b.valence),
    ("held_out_102", "jazz", "my band said it drags", lambda b, a: a.tempo_bpm > b.tempo_bpm),
    ("held_out_102", "jazz", "it's for a kids' party, so not scary at all", lambda b, a: a.valence > b.valence),
    ("held_out_102", "rock", "the drums are great, the organ not so much", lambda b, a: "organ" not in a.instruments),
    ("held_out_102", "jazz", "i can't put my finger on it, something about it feels gloomy", lambda b, a: a.valence > b.valence),
    ("held_out_102", "jazz", "it feels like it's holding back, let it go", lambda b, a: a.energy > b.energy),
    # held_out_103's first run (16/20; three negations inverted): an understated likeness with an article ('hardly
    # a toe-tapper', 'not exactly a barn burner') complains, where 'this isn't a lullaby' says what it should not be;
    # 'nothing about it says party'
    ("held_out_103", "jazz", "it's hardly a toe-tapper", lambda b, a: a.energy > b.energy),
    ("held_out_103", "jazz", "this isn't a lullaby", lambda b, a: a.energy > b.energy),
    ("held_out_103", "jazz", "nothing about it says party", lambda b, a: a.energy > b.energy),
    # left after held_out_103 and held_out_91, mended in the next session: a bare quality set against its extreme
    # after a comma says the take passed it ('mellow, not comatose'); what the take is meant to be, after a denied
    # knowing, is wanted (the denial is the guess's)
    ("held_out_103", "jazz", "i asked for mellow, not comatose", lambda b, a: a.energy > b.energy),
    ("held_out_91", "jazz", "i'd never have guessed this was meant to be sad", lambda b, a: a.valence < b.valence),
    # held_out_105's first run (34/37, no negation inverted): 'nothing fancy' is plainer (it had read as sad), and
    # a groove's bass guitar joins no line-up that has a bass
    ("held_out_105", "jazz", "nothing fancy, just a simple groove",
     lambda b, a: len(a.instruments) < len(b.instruments) and "bass guitar" not in a.instruments),
    # held_out_106's first run (38/40; one negation inverted): 'doesn't have to be' is a wish denied, not a lack
    # ('it doesn't have any drive'); a pronoun swapped out is the part named before it
    ("held_out_106", "rock", "it doesn't have to be this loud", lambda b, a: a.energy < b.energy),
    ("held_out_106", "rock", "i don't love the organ, swap it for piano",
     lambda b, a: "organ" not in a.instruments and "piano" in a.instruments),
    # noticed beside it: drive is the music's push, not a road trip ('it doesn't have any drive' had gone country)
    ("held_out_106", "jazz", "it doesn't have any drive", lambda b, a: a.energy > b.energy and a.genre == b.genre),
    # held_out_107's first run (36/40, none of its forty negations inverted): noise is loudness; 'minor keys' are
    # keys of music, not keyboards; 'can we have no drums' asks them out (not 'it has no drive', a lack); a song
    # that never builds wants more push
    ("held_out_107", "rock", "not a fan of all the noise", lambda b, a: a.energy < b.energy),
    ("held_out_107", "rock", "never liked minor keys", lambda b, a: a.mode == "major" and a.instruments == b.instruments),
    ("held_out_107", "jazz", "can we have no drums", lambda b, a: "drums" not in a.instruments),
    ("held_out_107", "jazz", "it never builds", lambda b, a: a.energy > b.energy),
    # held_out_109's first run (27/30, written to break the reader; one negation inverted): a message that opens
    # 'neither X nor Y' says both of the take; 'barely anything going on' is thin; 'stop it from being so X' asks
    # for X's remedy
    ("held_out_109", "jazz", "neither fast nor fun", lambda b, a: a.tempo_bpm > b.tempo_bpm and a.valence > b.valence),
    ("held_out_109", "jazz", "barely anything going on", lambda b, a: a.energy > b.energy),
    ("held_out_109", "jazz", "stop it from being so repetitive", lambda b, a: a.energy > b.energy),
    # the first sweep's last tempo misses: breakneck and pedestrian are tempos, said of the take a complaint
    ("sweep", "jazz", "it's breakneck", lambda b, a: a.tempo_bpm < b.tempo_bpm),
    ("sweep", "jazz", "it's a bit pedestrian", lambda b, a: a.tempo_bpm > b.tempo_bpm),
    ("sweep", "jazz", "it's too pedestrian, give it some urgency", lambda b, a: a.tempo_bpm > b.tempo_bpm and a.energy > b.energy),
]


@pytest.mark.parametrize("split, start, request_, check", MENDED, ids=[f"{m[0]}: {m[2]}" for m in MENDED])
def test_the_held_out_sets_first_run_misses_are_read_since(split, start, request_, check):
    spec = start_spec(start)
    assert check(spec, _tried(read_message(request_, spec), spec)[0]), (split, request_)


@pytest.mark.parametrize("praise", ["very nice, leave it", "leave it", "let it be"])
def test_leave_it_is_praise(praise):
    from tools.grounding.request import is_feedback

    assert is_feedback(praise) and not is_feedback("leave it out")


def test_a_written_word_is_a_slip_only_when_long_and_far_rarer():
    from tools.language import slip

    assert slip("repetative") == "repetitive"
    assert slip("shouldn") is None and slip("washy") is None and slip("doesn") is None
    # held_out_75: a contraction's first half is no slip, even where it is one letter from a common word ('mustn',
    # 'needn' had become 'must', 'need', and the denial was lost)
    from tools.language import respelled

    assert respelled("it mustn't be so gloomy, it needn't drag") == ("it mustn't be so gloomy, it needn't drag", [])
    assert respelled("it mightn’t be slowerr") == ("it mightn’t be slower", [("slowerr", "slower")])


@pytest.mark.parametrize("text, alone, read", [
    ("a marimba would be fun", True, "marimba"),
    ("cello please", True, "cello"),
    ("drum and bass", True, "drum and bass"),  # a genre's name kept whole for the reader
    ("synth-heavy", False, "synth"),  # 'heavy' is no politeness: the alias's second word does not cover it
    ("a flute and make it fun", False, "flute and"),
])
def test_a_message_of_parts_and_politeness_is_read_without_the_polite_words(text, alone, read):
    from tools.edit_requests import asked_alone, polite_words_dropped

    assert asked_alone(text) is alone
    assert polite_words_dropped(text) == read


def test_a_part_asked_for_that_already_plays_says_so():
    """held_out_49's 'more cowbell' (the set's drums) made no take and said nothing could be read."""
    spec = start_spec("jazz")
    for text in ("more drums", "more cowbell"):
        refinement = read_message(text, spec)
        assert not changes_anything(refinement, spec)
        assert edit_problems(refinement, spec) == ["the drums already play in this take, and a take has no volume for "
                                                   "a single part (say 'more energy' for busier playing)"]
    assert edit_problems(read_message("slower", spec), spec) == []


@pytest.mark.parametrize("said, digits", [
    ("a hundred bpm please", "100 bpm please"), ("a hundred and twenty", "120"), ("ninety-five bpm", "95 bpm"),
    ("one forty", "140"), ("two hundred", "200"), ("one more go", "one more go"), ("the nineties", "the nineties"),
])
def test_a_tempo_said_in_words_is_read_as_its_number(said, digits):
    from tools.edit_requests import spoken_numbers

    assert spoken_numbers(said) == digits
