"""The cue table of prompts/requests.yaml and the matcher that finds its cues in a text with the language reader.

Chat requests (tools.grounding.request) and the words on a cover (tools.grounding.prior) are read by this one
matcher over the one table, so 'NO SLEEP' on a cover and "no sleep" in chat mean the same thing.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from typing import Any

from tools.language import comparative, read
from tools.vocab import prompt_table, vocabulary


@functools.cache
def request_table() -> dict[str, Any]:
    """prompts/requests.yaml, its moods, genres and instruments checked against the vocabulary."""
    data = prompt_table("requests.yaml")
    vocab = vocabulary()
    known = {"moods": vocab.moods, "genres": vocab.genres, "add": vocab.instruments, "remove": vocab.instruments}
    for name, cue in data["cues"].items():
        for key, names in known.items():
            unknown = set(cue.get(key) or []) - set(names)
            if unknown:
                raise ValueError(f"prompts/requests.yaml: cue {name!r} names unknown {key}: {sorted(unknown)}")
    return data


AFFECT_FIELDS = ("valence", "energy", "tempo")
MOOD_PULL = 0.6  # a mood named in a request moves valence and energy this share of its offset from the middle


@functools.cache
def mood_cues() -> dict[str, dict[str, Any]]:
    """A cue per mood of the vocabulary ('melancholic', 'tense'): it moves valence and energy toward the mood's
    own place in the vocabulary's valence-energy plane, or away from it when negated ('less melancholic')."""
    out = {}
    for mood, hint in vocabulary().moods.items():
        effects = {"valence": round(MOOD_PULL * (hint["valence"] - 0.5), 2),
                   "energy": round(MOOD_PULL * (hint["energy"] - 0.5), 2), "moods": [mood]}
        out[f"mood:{mood}"] = {"words": [mood], **effects}
    return out


@dataclass(frozen=True)
class Cue:
    """One cue found in a request: the phrase, its scale (the reader's sense: 'much' 1.6, 'a bit' 0.5, 'less' -1)."""

    name: str
    phrase: str
    scale: float
    effects: dict[str, Any]
    turned: str = ""  # why a cue asks for less: 'negated', 'too much', 'said of the take'
    said: str = ""  # the words as the text has them ('gloomier', where the table lists 'gloomy')

    def describe(self) -> str:
        parts = []
        for key, up, down in (("valence", "happier", "sadder"), ("energy", "more energy", "calmer"),
                              ("tempo", "faster", "slower")):
            value = self.effects.get(key, 0) * self.scale
            if abs(value) >= 0.05:
                parts.append(up if value > 0 else down)
        if self.effects.get("mode"):
            parts.append(self._mode())
        if self.effects.get("density"):
            parts.append("fuller" if self.effects["density"] * self.scale > 0 else "sparser")
        for key in ("moods", "genres", "add"):
            if self.effects.get(key) and self.scale > 0:
                parts.append("/".join(self.effects[key][:3]))
        if self.effects.get("era") and self.scale > 0:
            parts.append(f"{self.effects['era']} feel")
        return ", ".join(parts) or "no change"

    def _mode(self) -> str:
        mode = self.effects["mode"]
        return mode if self.scale > 0 else ("major" if mode == "minor" else "minor")


NOTE_LETTERS = frozenset("abcdefg")


def match_cues(text: str, table: dict[str, dict[str, Any]], describing: bool = False) -> list[Cue]:
    """Every cue of `table` the text contains, once each, in the order they come, each scaled by the language
    reader (tools/language.py): negated over its clause ('I don't want it sad', 'less like a party'), 'too X'
    as less X, 'not X enough' as more X, 'much' / 'a bit' as stronger / weaker. Words match by lemma
    ('gloomier' finds 'gloomy'). A longer phrase takes its words first ('happy hardcore' is a genre, not a
    happy one; 'witch house' is not house); a cue named 'kind:name' (a genre or mood by its own name) is
    skipped where another cue already read its words. A fault word ('boring', 'thin') in a request asks for its
    remedy; in words `describing` the music (a cover's), it is the quality itself: 'EMPTY ROOMS' is sparse."""
    utterance = read(text, take=not describing)  # in chat, 'it's a bit slow' is said of the take
    candidates, spans = [], []  # spans: every match's (cue, words, length), the unchosen ones too
    for order, (name, cue) in enumerate(table.items()):
        for phrase in sorted(cue["words"], key=lambda p: -len(str(p))):
            match = utterance.find(str(phrase))
            if match is not None and match.start and utterance.words[match.start - 1].text in NOTE_LETTERS \
                    and str(phrase) in ("flat", "sharp"):
                match = None  # 'in E flat' names a key, not a dull take
            if match is not None and match.sense and cue.get("fault"):
                match = _as_fault(utterance, match, describing)
            if match is not None and match.sense:
                spans.append((name, set(range(match.start, match.end + 1)), match.end - match.start + 1))
                first = next((c for c in candidates if c[1] == name), None)
                if first is None:
                    candidates.append((order, name, str(phrase), match, cue))
                elif (first[3].sense > 0) != (match.sense > 0) and match.start > first[3].start:
                    # the cue said twice, the other way later: the later is the request ("I'm getting horror movie
                    # vibes, tone down the creepiness" asks for less creepy)
                    candidates[candidates.index(first)] = (order, name, str(phrase), match, cue)
    # 'turn the darkness down' asks for less darkness, read by its own cue inside the verb's: the verb's gap phrase
    # ('turn * down') yields to it (kept where nothing inside is a cue: 'bring the energy way down')
    inner = [c for c in candidates if utterance.words[c[3].start].lowered]
    candidates = [c for c in candidates if "*" not in c[2] or not any(c[3].start < i[3].start <= c[3].end for i in inner)]
    found, taken = [], []  # taken: (span, its length in words)
    # a phrase with a gap yields to one without over the same words ('low on energy' is no 'lower * energy')
    for order, name, phrase, match, cue in sorted(candidates, key=lambda c: (c[3].start - c[3].end, "*" in c[2], c[0])):
        span, size = set(range(match.start, match.end + 1)), match.end - match.start + 1
        if any(span & other and (":" in name or other_size > size or (other == span and "*" in phrase))
               for other, other_size in taken):
            continue
        # a cue's second phrase holds its words too ('fewer layers, more space': 'space' is no outer space)
        if any(other_name != name and span & other and other_size > size for other_name, other, other_size in spans):
            continue
        effects = {k: v for k, v in cue.items() if k not in ("words", "fault")}
        word = utterance.words[match.start]
        turned = "set against" if cue.get("fault") and not describing and _set_against(utterance, match.start) \
            else "" if match.sense >= 0 else "too much" if word.too else "said of the take" if word.said \
            else "turned down" if word.lowered else "negated" if word.negated else "turned around"
        said = " ".join(w.text for w in utterance.words[match.start:match.end + 1])
        found.append((match.start, order, Cue(name, phrase, round(match.sense, 2), effects, turned, said), match.end))
        taken.append((span, size))
    return _weighed_against(sorted(found, key=lambda f: f[:2]), utterance)


def _as_fault(utterance, match, describing: bool):
    """A fault cue's match: in words describing the music the quality itself; in chat its remedy (_remedy), also
    where it is denied just after a comma ('mellow, not comatose': the take is comatose, _set_against)."""
    if describing:
        return replace(match, sense=-match.sense)
    remedied = _remedy(utterance, match)
    if remedied is None and _set_against(utterance, match.start):
        return replace(match, sense=abs(match.sense))
    return remedied


def _set_against(utterance, start: int) -> bool:
    """Whether the phrase at `start` follows a bare 'not' just after a comma ('mellow, not comatose'): it is set
    against what the clause before asked for, as a correction ('faster but not louder' only bounds it)."""
    words = utterance.words
    return start >= 2 and words[start - 1].text == "not" and words[start - 2].clause != words[start - 1].clause \
        and utterance.toks[words[start - 1].at - 1] in {",", ";"}


def _weighed_against(found: list[tuple[int, int, Cue, int]], utterance) -> list[Cue]:
    """The cues, each quality asked for and then set against another ('X, not Y') settled field by field: on the
    field Y moves most, a bare quality X (where the music should sit) yields to it ('mellow, not comatose' says the
    take is comatose: more energy, though 'mellow' alone is less; 'upbeat, not manic' is calmer), a comparative
    (a move asked for: 'calmer, not boring') does not; on Y's lesser fields Y yields to X ('calmer, not slower'
    is no faster-energy request, only not slower). A fault set against nothing is no cue ('no, not boring')."""
    out: list[Cue] = []
    previous: tuple[Cue, int] | None = None
    for start, _order, cue, end in found:
        # set against the quality just before it, asked for ('mellow' of 'mellow, not comatose')
        follows = previous is not None and previous[1] == start - 2 and previous[0].scale > 0 \
            and _set_against(utterance, start)
        if cue.turned == "set against" and not follows:
            previous = None
            continue
        if follows:
            first, shift = previous[0], {f: cue.effects.get(f, 0.0) * cue.scale for f in AFFECT_FIELDS}
            main = max(shift, key=lambda f: abs(shift[f]))
            opposed = {f for f in AFFECT_FIELDS if shift[f] * first.effects.get(f, 0.0) * first.scale < 0}
            if main in opposed and not any(comparative(w) for w in first.said.split()):
                # its moods with it: they hold the music where X sits ('moody' is dark), which Y says it passed
                out[out.index(first)] = replace(first, effects={k: v for k, v in first.effects.items()
                                                                if k not in (main, "moods")})
            lesser = opposed - {main}
            cue = replace(cue, effects={k: v for k, v in cue.effects.items() if k not in lesser})
        out.append(cue)
        previous = (cue, end)
    return out


@functools.lru_cache(maxsize=1024)
def scene_cues(line: str) -> tuple[Cue, ...]:
    """The request table's cues a cover line holds, its words describing the music (`match_cues`): read once
    for the evidence (a word the scene reads carries no NRC feeling besides) and for the prior's affect."""
    return tuple(match_cues(line, request_table()["cues"], describing=True))


def _remedy(utterance, match):
    """A fault cue's word names what is wrong with the take ('boring'): 'it's boring', 'too dull' and 'less
    boring' all ask for its remedy, at their strength; 'not boring' says nothing is wrong (None), and a comparative
    asks for the quality itself, the remedy turned around ('make it thinner': fewer parts)."""
    word = utterance.words[match.start]
    if comparative(word.text.lower()):  # 'thinner': asks for it
        return replace(match, sense=-match.sense)
    if word.negated and not utterance.remedy_asked(match.start) and not word.too:
        return None
    return replace(match, sense=abs(match.sense))
