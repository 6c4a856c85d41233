"""Chat refinement: what one message asks of the plan. Words that name a setting ("slower", "add saxophone")
become edits directly (tools/edit_requests.py); scenes, occasions, moods and comparisons ("like a rainy
day") are read by the request reader (tools/grounding/request.py), whose alternatives a guided model ranks
by calibrated log-probability. When nothing can be read, no take is made: the reply offers the closest
interpretations to pick from by number."""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from tools.edit_requests import (
    Edit,
    asked_alone,
    interpret,
    keeps_instrument,
    named_instruments,
    polite_words_dropped,
    spoken_numbers,
    without_form_words,
)
from tools.grounding.decide import Decision, Preference, PriorOption, calibrated_preference
from tools.grounding.request import Reading, RequestEdit, decide_edits, find_cues, request_table, table_words
from tools.json_values import as_json
from tools.language import respelled
from tools.spec import MusicSpec, SpecEditor

GENERIC_CHOICES = ("calmer and slower", "more energy and faster", "darker", "brighter", "another take")


@dataclass
class Refinement:
    """The edits one message asks for, the request's reading behind them and the decisions to trace."""

    text: str
    edits: list[Edit] = field(default_factory=list)
    explicit: list[Edit] = field(default_factory=list)  # the keyword edits among them
    reading: Reading | None = None
    decisions: list[Decision] = field(default_factory=list)
    held: list[str] = field(default_factory=list)  # fields the reader would have moved but the listener held still
    respelled: list[tuple[str, str]] = field(default_factory=list)  # typing slips read as words ('slowerr': slower)

    def evidence_lines(self) -> list[str]:
        return [f"{e.id} {e.text}" for e in self.reading.evidence] if self.reading else []


def request_preference(model, request: str):
    """A chat model's order-free preference among a field's alternatives: each value is scored as the answer
    (llama.cpp log-probabilities), calibrated against the same question without the request. None for
    models without log-probabilities: the request's own support decides."""
    scorer = getattr(model, "score_continuations", None)
    if scorer is None:
        return None
    from langchain_core.messages import HumanMessage

    from agent.planning.prompting import agent_prompts

    prompts = agent_prompts()

    def question(field_name: str, context: str) -> list:  # short: every token is evaluated on each call
        return [HumanMessage(f"<cover>\nThe listener asks: {context}\n</cover>\n{prompts['request_questions'][field_name]}")]

    def prefer(field_name: str, values: list[Any]) -> Preference | None:
        texts = [str(v) for v in values]
        # calibration first: memoised per process, so the request's own prefix stays in llama.cpp's cache
        # from one field to the next
        without = scorer(question(field_name, "(nothing)"), texts, persist=True)
        return calibrated_preference(values, scorer(question(field_name, request), texts), without)

    return prefer


# 'sadder, but keep the tempo', 'same key please', 'don't touch the instruments': a field the listener holds still
# is one the reader's feeling never moves (an explicit edit of it still counts: 'keep the key, 140 BPM')
KEEP = re.compile(r"\b(?:keep|same|leave|hold|don\s*'?\s*t\s+(?:change|touch)|do\s+not\s+(?:change|touch))\b"
                  r"(?:\s+(?:it|the|its|that|this|same|current))*\s+(?P<what>tempo|speed|pace|bpm|key|genre|style|"
                  r"instruments|line\s*-?\s*up|band|mood|feel)\b")
KEPT_TOOLS = {"tempo": "set_tempo", "speed": "set_tempo", "pace": "set_tempo", "bpm": "set_tempo", "key": "set_key",
              "genre": "set_genre", "style": "set_genre", "instruments": "set_instruments", "band": "set_instruments",
              "lineup": "set_instruments", "mood": "set_mood", "feel": "set_mood"}


HELD_NAMES = {"set_tempo": "tempo", "set_key": "key and mode", "set_genre": "genre", "set_instruments": "instruments",
              "set_mood": "mood"}


def kept_fields(text: str) -> set[str]:
    """The edit tools whose fields the message holds still ('keep the tempo': set_tempo)."""
    return {KEPT_TOOLS[re.sub(r"[\s-]", "", m.group("what"))] for m in KEEP.finditer(text.lower())}


def read_message(text: str, spec: MusicSpec, prefer=None, weight: float = 0.5) -> Refinement:
    """Keyword edits first; the request reader adds edits for the fields they leave alone and the listener does
    not hold still (`kept_fields`)."""
    text, slips = respelled(text, table_words())
    text = spoken_numbers(text)  # 'a hundred bpm', 'make it ninety': not the nineties
    explicit = interpret(text, spec)
    # an instruction already carried out ('lose the organ') is not read for feeling: its verbs are not one
    feeling = not explicit and not keeps_instrument(text)
    # only parts, politely ('a marimba would be fun'): the polite words are no feeling asked of the music
    read_text = without_form_words(polite_words_dropped(text) if explicit and asked_alone(text) else text, spec)
    reading, found = decide_edits(read_text, spec, prefer, weight, feeling=feeling)
    kept = kept_fields(text)
    taken = {e.tool for e in explicit} | kept
    read = [e for e in found if e.tool not in taken]
    edits = explicit + [Edit(e.tool, e.arguments) for e in read]
    held = [HELD_NAMES[e.tool] for e in found if e.tool in kept - {x.tool for x in explicit}]
    return Refinement(text, edits, explicit, reading, [_decision(e) for e in read], held, slips)


def changes_anything(refinement: Refinement, spec: MusicSpec) -> bool:
    """Whether the edits, applied to a scratch copy of the plan, change it (a take of the same plan is only
    made when asked for: 'another take')."""
    return _tried(refinement, spec)[0] != spec


def edit_problems(refinement: Refinement, spec: MusicSpec) -> list[str]:
    """Why the explicit edits could not be made ('flute does not play in outro'), for the reply; a part asked for
    that already plays ('more drums', 'more cowbell': the set's drums) says so."""
    scratch, problems = _tried(refinement, spec)
    if not problems and scratch == spec:
        playing = [name for name in named_instruments(refinement.text) if name in spec.instruments]
        if playing:
            verb = "play" if len(playing) > 1 or playing[0] in ("drums", "strings") else "plays"
            problems.append(f"the {' and '.join(playing)} already {verb} in this take, and a take has no volume for "
                            "a single part (say 'more energy' for busier playing)")
    return problems


def _tried(refinement: Refinement, spec: MusicSpec) -> tuple[MusicSpec, list[str]]:
    scratch, problems = SpecEditor(spec), []
    for edit in refinement.edits:
        try:
            getattr(scratch, edit.tool)(**edit.arguments)
        except (ValueError, TypeError) as exc:
            problems.append(str(exc).splitlines()[0])
    return scratch.spec, problems


def _decision(edit: RequestEdit) -> Decision:
    args = {k: v for k, v in edit.arguments.items() if k != "rationale"}
    choice = args.get(edit.field, args.get("bpm", args.get("mode")))
    return Decision(field=edit.field, choice=as_json(choice), decided_by=edit.decided_by,
                    prior=[PriorOption(value=o.value, score=o.score, evidence=o.evidence) for o in edit.options],
                    model=edit.model, evidence=list(edit.evidence), rationale=edit.arguments["rationale"])


def suggestions(refinement: Refinement) -> str:
    """What free-mode models read beside the request: its evidence and the reader's candidate edits."""
    lines = refinement.evidence_lines()
    for d in refinement.decisions:
        options = ", ".join(str(o.value) for o in d.prior[:3])
        lines.append(f"- {d.field}: {d.choice}" + (f" (alternatives: {options})" if options else ""))
    return "\n".join(lines)


def closest_choices(text: str, spec: MusicSpec, n: int = 3) -> list[str]:
    """Two or three readings to offer when nothing could be read: cue words the message's words resemble
    ('rainey' → 'rain'), then general directions that fit the current plan."""
    words = {str(w) for cue in request_table()["cues"].values() for w in cue["words"]}
    out: list[str] = []
    for word in re.findall(r"[a-z']{3,}", text.lower()):
        for match in difflib.get_close_matches(word, sorted(words), n=1, cutoff=0.75):
            if f"like {match}" not in out and find_cues(match):
                out.append(f"like {match}")
    dark = (spec.valence if spec.valence is not None else 0.5) >= 0.5
    generic = [c for c in GENERIC_CHOICES if c != ("brighter" if dark else "darker")]
    return (out + [c for c in generic if c not in out])[:n]
