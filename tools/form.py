"""The form of a take: an ordered list of sections (closed vocabulary), each with bars, relative energy,
the instruments that play and one chord per bar in roman numerals of the key; a motif; the room (`space`).

The forms, section progressions, motifs and spaces are data in prompts/forms.yaml. The planner sizes a form
to the take's duration by choosing phrase lengths and repeats, never by cutting: the bars always add up to
the duration within one bar. Edits ("longer intro", "add a bridge", "no drums in the intro") act on the
sections and re-fit the rest.
"""
from __future__ import annotations

import functools
import random
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tools.vocab import PITCH_CLASS, prompt_table, vocabulary


@functools.cache
def form_table() -> dict:
    return prompt_table("forms.yaml")


_T = form_table()
SectionName = Literal[tuple(_T["sections"])]  # type: ignore[valid-type]
FormName = Literal[tuple(_T["forms"])]  # type: ignore[valid-type]
SpaceName = Literal[tuple(_T["spaces"])]  # type: ignore[valid-type]
FormChange = Literal["longer_intro", "shorter_intro", "add_bridge", "drop_section", "mute", "end_on_chorus"]
MAX_SECTION_BARS = 32
_ROMAN = re.compile(r"^(b|#)?(VII|VI|V|IV|III|II|I|vii|vi|v|iv|iii|ii|i)$")
_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_DEGREE = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5, "VI": 6, "VII": 7}


class Section(BaseModel):
    """One section of the form: what it is, how long, how loud relative to the take, who plays, the chords."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: SectionName
    bars: int = Field(ge=1, le=MAX_SECTION_BARS)
    energy: float = Field(ge=0.0, le=1.0, description="level within the take: 0 quietest .. 1 fullest")
    instruments: tuple[str, ...] = ()
    chords: tuple[str, ...] = Field((), description="one roman numeral of the key per bar")

    def with_bars(self, bars: int, mode: str) -> Section:
        """The same section at another length: its progression cycled (or cut) to the new bars, cadence kept."""
        cycle = list(self.chords[: max(1, len(self.chords) - 2)]) or [tonic_numeral(mode)]
        chords = cadence(self.name, [cycle[k % len(cycle)] for k in range(bars)], mode)
        return self.model_copy(update={"bars": bars, "chords": tuple(chords)})


class Motif(BaseModel):
    """Scale-degree steps from the phrase's first chord tone, with each note's length in quarters."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    steps: tuple[int, ...] = Field(min_length=2, max_length=8)
    rhythm: tuple[float, ...] = Field(min_length=2, max_length=8)


def roman_pitch_classes(numeral: str, tonic: str, mode: str) -> list[int]:
    """Root, third and fifth of a roman-numeral chord in a key: upper case major, lower case minor, b/# alter
    the root against the major scale (bVII in C is Bb major; V in A minor is E major, the leading tone)."""
    m = _ROMAN.match(numeral)
    if not m:
        raise ValueError(f"unknown chord {numeral!r}: use roman numerals such as I, vi, bVII")
    accidental, roman = m.group(1), m.group(2)
    root = (PITCH_CLASS[tonic] + _MAJOR[_DEGREE[roman.upper()] - 1] + {"b": -1, "#": 1}.get(accidental or "", 0)) % 12
    third = 4 if roman.isupper() else 3
    return [root, (root + third) % 12, (root + 7) % 12]


def tonic_numeral(mode: str) -> str:
    return "i" if mode == "minor" else "I"


def cadence(name: str, chords: list[str], mode: str) -> list[str]:
    """The section's chords with its ending made clear: a verse, peak or edge section closes IV → I (major)
    or V → i (minor: V is major, the leading tone tells A minor from C major); a pre-chorus or build ends on
    V (a half cadence that leads into the next section)."""
    out = list(chords)
    if not out:
        return out
    role = form_table()["sections"][name]["role"]
    if name in ("pre-chorus", "build"):
        out[-1] = "V"
    elif role in ("peak", "edge") or name in ("verse",):
        out[-1] = tonic_numeral(mode)
        if len(out) >= 3:  # in major IV → I: a V before every phrase end pulled key-finders to the dominant key
            out[-2] = "V" if mode == "minor" else "IV"
    if name == "intro":
        out[0] = tonic_numeral(mode)
    return out


def progression(name: str, mode: str, valence: float, form: str, rng: random.Random) -> list[str]:
    """A section's loop: the 12-bar blues for a blues verse or solo, else the option nearest the valence
    (options run brighter to darker), with the neighbour sometimes taken for variety."""
    table = form_table()["progressions"][mode]
    if form == "blues" and name in ("verse", "solo"):
        return list(table["blues"])
    options = table[name]
    pick = min(len(options) - 1, int((1.0 - valence) * len(options)))
    if rng.random() < 0.3:
        pick = min(len(options) - 1, max(0, pick + rng.choice((-1, 1))))
    return list(options[pick])


def choose_form(genre: str, energy: float) -> str:
    """The genre's typical form; of its alternatives a calm take gets the one with the least repetition
    (the later ones: through-composed, AABA) and an intense one the first (the earliest peak)."""
    options = form_table()["genre_forms"].get(genre) or ["verse-chorus"]
    return options[0] if energy >= 0.45 or len(options) == 1 else options[-1]


def bar_seconds(tempo_bpm: float, time_signature: str) -> float:
    """Seconds of one bar; BPM always counts quarter notes (6/8 at 120 is three quarters a bar)."""
    num, den = (int(x) for x in time_signature.split("/"))
    return num * 4 / den * 60.0 / tempo_bpm


def total_bars(duration_s: float, bar_s: float) -> int:
    return max(1, round(duration_s / bar_s))


def section_lengths(form: str, total: int, energy: float) -> list[tuple[str, int]]:
    """(section, bars) of `form` adding up to exactly `total` bars: the short form when the full one does
    not fit, phrase-long sections grown to two phrases (peaks first), repeats of the core for long takes; an
    intense take gets a two-bar intro, a calm one a full phrase."""
    spec = form_table()["forms"][form]
    phrase = spec["phrase"]
    names = list(spec["sections"])
    bars = [_base_bars(n, phrase, energy) for n in names]
    if sum(bars) > total:
        names = list(spec["short"])
        bars = [_base_bars(n, phrase, energy) for n in names]
    while sum(bars) > total:
        if _halve(names, bars, phrase, sum(bars) - total):
            continue
        if (drop := _droppable(names)) is None:
            break
        del names[drop], bars[drop]
    names, bars = _grow(names, bars, total, phrase, spec)
    _fill(names, bars, total, phrase)
    bars = _shrink(names, bars, total)
    if total < len(names):  # a take of a bar or two: its first section, and its last when there is room
        keep = [0, len(names) - 1][:total] if total > 1 else [len(names) // 2]
        names, bars = [names[k] for k in keep], [1] * len(keep)
    return _remainder(list(zip(names, bars)), total)


def _base_bars(name: str, phrase: int, energy: float) -> int:
    if name == "intro":
        return 2 if energy >= 0.6 else min(phrase, 4)
    if name == "outro":
        return 2 if energy >= 0.6 else min(phrase, 4)
    return phrase


def _droppable(names: list[str]) -> int | None:
    """Which section goes when a form is too long: the latest middle one whose going leaves no two neighbours
    of one name and the form a peak (the opening statement stays, the repeats go); None at three sections."""
    if len(names) <= 3:
        return None
    roles = form_table()["sections"]
    for k in range(len(names) - 2, 0, -1):
        peaks = sum(roles[n]["role"] == "peak" for n in names)
        if names[k - 1] != names[k + 1] and (roles[names[k]]["role"] != "peak" or peaks > 1):
            return k
    return None


def _halve(names: list[str], bars: list[int], phrase: int, over: int) -> bool:
    """Take two bars off an intro or outro longer than two; when the form is only a little too long, off a
    later section that is not a peak (a section shorter by half a phrase beats a section fewer)."""
    roles = form_table()["sections"]
    for role in ("edge", "contrast", "body"):
        if role != "edge" and (over > 2 or phrase < 4):
            return False
        for k in reversed(range(len(names))):
            if roles[names[k]]["role"] == role and bars[k] > 2:
                bars[k] -= 2
                return True
    return False


def _fill(names: list[str], bars: list[int], total: int, phrase: int) -> None:
    """What a whole phrase cannot fill, in half phrases: body first, then peaks and contrast, then the edges."""
    roles = form_table()["sections"]
    step = max(1, phrase // 2)
    for role in ("body", "peak", "contrast", "edge"):
        for k, name in enumerate(names):
            if total - sum(bars) >= step and roles[name]["role"] == role and bars[k] + step <= 2 * phrase:
                bars[k] += step


def _grow(names: list[str], bars: list[int], total: int, phrase: int, spec: dict) -> tuple[list[str], list[int]]:
    """Longer sections (peaks, then the body, up to two phrases each), then the core repeated before the end."""
    roles = form_table()["sections"]
    priority = ("peak", "body", "contrast")
    while sum(bars) + phrase <= total:
        grown = False
        for role in priority:
            for k, name in enumerate(names):
                if roles[name]["role"] == role and bars[k] < 2 * phrase and sum(bars) + phrase <= total:
                    bars[k] += phrase
                    grown = True
                    break
            if grown:
                break
        if not grown:
            core = list(spec["repeat"])
            at = len(names) - 1 if names[-1] == "outro" else len(names)
            names[at:at] = core
            bars[at:at] = [phrase] * len(core)
    return names, bars


def _shrink(names: list[str], bars: list[int], total: int) -> list[int]:
    """Halve the longest sections while the form is still longer than the take (a very short take)."""
    while sum(bars) > total and max(bars) > 1:
        k = max(range(len(bars)), key=lambda i: bars[i])
        bars[k] = max(1, bars[k] - max(1, min(bars[k] // 2, sum(bars) - total)))
    return bars


def _remainder(plan: list[tuple[str, int]], total: int) -> list[tuple[str, int]]:
    """The last few bars go to the outro (or the last section); merge neighbours of the same name."""
    missing = total - sum(b for _, b in plan)
    if missing and plan:
        name, bars = plan[-1]
        plan[-1] = (name, max(1, bars + missing))
    merged: list[tuple[str, int]] = []
    for name, bars in plan:
        if merged and merged[-1][0] == name and merged[-1][1] + bars <= MAX_SECTION_BARS:
            merged[-1] = (name, merged[-1][1] + bars)
        else:
            merged.append((name, bars))
    return merged


def section_instruments(name: str, level: float, instruments: tuple[str, ...], take_energy: float) -> tuple[str, ...]:
    """Who plays at a section's level: everyone at a peak; the body without sustained pads (unless a pad is
    the only harmony); a bridge or episode with the pads instead of the melody; an intro on one harmony instrument (with the drums' hats when the take is intense), a
    breakdown on pads and melody, an outro on harmony and bass."""
    vocab = vocabulary().instruments
    role = {i: ("drums" if vocab[i].get("drums") else vocab[i]["role"]) for i in instruments}
    harmony = sorted((i for i in instruments if role[i] in ("chords", "pad")), key=lambda i: role[i] != "chords")
    if level >= 0.8 or len(instruments) <= 2:
        keep = set(instruments)
    elif name in ("bridge", "episode") and any(role[i] in ("lead", "pad") for i in instruments):
        # a change of colour: the melody rests, the sustained pads come in over the rhythm section (and take
        # over from the chords instrument when there is one)
        pads = {i for i in instruments if role[i] == "pad"}
        keep = {i for i in instruments if role[i] in ("bass", "drums")} | (pads or set(harmony[:1]))
    elif level >= 0.45:
        keep = {i for i in instruments if role[i] != "pad"} | set(harmony[:1])
    elif name == "intro":
        keep = set(harmony[:1]) | ({i for i in instruments if role[i] == "drums"} if take_energy >= 0.6 else set())
    elif name == "outro":
        keep = set(harmony[:1]) | {i for i in instruments if role[i] in ("bass", "lead")}
    else:
        keep = {i for i in instruments if role[i] in ("pad", "lead", "texture")} or set(harmony[:1])
    return tuple(i for i in instruments if i in keep) or instruments[:1]


def plan_sections(form: str, duration_s: float, bar_s: float, mode: str, energy: float, valence: float,
                  instruments: tuple[str, ...], seed: int) -> tuple[Section, ...]:
    """The sections of `form` for a take: bars, level, instruments and chords; a returning section keeps the
    chords it had the first time (a chorus is recognisable), the last peak is the fullest."""
    rng = random.Random(seed)
    table = form_table()["sections"]
    loops: dict[str, list[str]] = {}
    plan = section_lengths(form, total_bars(duration_s, bar_s), energy)
    last_peak = max((k for k, (n, _) in enumerate(plan) if table[n]["role"] == "peak"), default=-1)
    out = []
    for k, (name, bars) in enumerate(plan):
        loop = loops.setdefault(name, progression(name, mode, valence, form, rng))
        chords = cadence(name, [loop[b % len(loop)] for b in range(bars)], mode)
        level = min(1.0, table[name]["energy"] + (0.05 if k == last_peak and k > 0 else 0.0))
        out.append(Section(name=name, bars=bars, energy=round(level, 2), chords=tuple(chords),
                           instruments=section_instruments(name, level, instruments, energy)))
    if out and out[0].chords[0] != tonic_numeral(mode):  # the first bar states the key
        out[0] = out[0].model_copy(update={"chords": (tonic_numeral(mode),) + out[0].chords[1:]})
    return tuple(out)


def choose_motif(seed: int) -> Motif:
    motifs = form_table()["motifs"]
    m = motifs[random.Random(seed ^ 0x5EED).randrange(len(motifs))]
    return Motif(steps=tuple(m["steps"]), rhythm=tuple(float(r) for r in m["rhythm"]))


def space_words() -> dict[str, str]:
    """Every word that names a room, mapped to the space it names ('church' → cathedral)."""
    return {w: name for name, s in form_table()["spaces"].items() for w in s["words"]}


def default_space(genre: str, energy: float) -> str:
    """The room a genre is usually mixed in when nothing on the cover names one."""
    if genre in ("ambient", "cinematic", "classical"):
        return "hall"
    if genre in ("electronic", "house", "techno", "synthwave"):
        return "club"
    if genre in ("lo-fi", "hip hop", "folk", "blues", "jazz"):
        return "room"
    return "studio" if energy >= 0.5 else "room"


def refit(sections: tuple[Section, ...], total: int, mode: str, pinned: frozenset[int] = frozenset()) -> tuple[Section, ...]:
    """The same sections re-sized to `total` bars (a tempo, meter or duration change, or an edit that made one
    section longer or added one). Bars are taken two at a time from the edges first (intro, outro), then
    contrast, body and peaks last, and given the other way round, so a chorus keeps its length longest."""
    if not sections:
        return sections
    if total < len(sections):  # a bar or two: the first section, and the last when there is room
        sections = (sections[0], sections[-1])[:total] if total > 1 else (sections[len(sections) // 2],)
        pinned = frozenset()
    free = [k for k in range(len(sections)) if k not in pinned]
    if not free or sum(s.bars for k, s in enumerate(sections) if k not in free) + len(free) > total:
        free = list(range(len(sections)))  # a pinned section cannot keep its length: everything shares the cut
    rank = {"edge": 0, "contrast": 1, "body": 2, "peak": 3}
    order = sorted(free, key=lambda k: (rank[_T["sections"][sections[k].name]["role"]], -k))
    new = {k: sections[k].bars for k in range(len(sections))}
    diff = total - sum(new.values())
    while diff < 0:
        floor = 2 if any(new[k] > 2 for k in order) else 1
        k = max((k for k in order if new[k] > floor), key=lambda k: (new[k] > 4, -order.index(k)))
        cut = min(-diff, 2 if new[k] - 2 >= floor else 1)
        new[k], diff = new[k] - cut, diff + cut
    grow = list(reversed(order)) + [k for k in range(len(sections)) if k not in order]
    while diff > 0:
        open_ = [k for k in grow if new[k] < MAX_SECTION_BARS]
        if not open_:  # every section is as long as a section gets: the middle of the form plays again
            middle = sections[1:-1] or sections
            return refit(sections[:-1] + middle + sections[-1:], total, mode) if len(sections) > 1 else \
                refit(sections + sections, total, mode)
        k = min(open_, key=lambda k: (new[k], grow.index(k)))
        add = min(diff, 2, MAX_SECTION_BARS - new[k])
        new[k], diff = new[k] + add, diff - add
    return tuple(s.with_bars(new[k], mode) if new[k] != s.bars else s for k, s in enumerate(sections))

def edited(sections: tuple[Section, ...], change: str, mode: str, name: str | None = None,
           instrument: str | None = None) -> tuple[Section, ...]:
    """The sections with one listener's change made (the caller re-fits them to the duration)."""
    out = list(sections)
    if change in ("longer_intro", "shorter_intro"):
        return _intro(out, change == "longer_intro", mode)
    if change == "add_bridge":
        return _bridge(out, mode)
    if change == "drop_section":
        keep = [s for s in out if s.name != name]
        if not name or len(keep) == len(out) or not keep:
            raise ValueError(f"there is no {name or 'such'} section to drop: the form is {_names(out)}")
        return tuple(keep)
    if change == "mute":
        return _mute(out, name, instrument)
    if change == "end_on_chorus":
        return _big_ending(out, mode)
    raise ValueError(f"unknown change {change!r}: use one of {', '.join(FormChange.__args__)}")


def _names(sections: list[Section]) -> str:
    return ", ".join(s.name for s in sections)


def _intro(out: list[Section], longer: bool, mode: str) -> tuple[Section, ...]:
    if not out or out[0].name != "intro":
        first = out[0] if out else None
        intro = Section(name="intro", bars=4, energy=_T["sections"]["intro"]["energy"],
                        instruments=tuple(i for i in (first.instruments if first else ()) if i),
                        chords=tuple(cadence("intro", [tonic_numeral(mode)] * 4, mode)))
        return tuple([intro] + out) if longer else tuple(out)
    bars = out[0].bars * 2 if longer else max(1, out[0].bars // 2)
    out[0] = out[0].with_bars(min(MAX_SECTION_BARS, bars), mode)
    return tuple(out)


def _bridge(out: list[Section], mode: str) -> tuple[Section, ...]:
    """A bridge before the last peak (or before the outro), with the bridge progression and its own level."""
    if any(s.name == "bridge" for s in out):
        raise ValueError(f"the form already has a bridge: {_names(out)}")
    peaks = [k for k, s in enumerate(out) if _T["sections"][s.name]["role"] == "peak"]
    at = peaks[-1] if len(peaks) > 1 else (len(out) - 1 if out[-1].name == "outro" else len(out))
    loop = _T["progressions"][mode]["bridge"][0]
    everyone = tuple(dict.fromkeys(i for s in out for i in s.instruments))
    bridge = Section(name="bridge", bars=4, energy=_T["sections"]["bridge"]["energy"],
                     instruments=tuple(i for i in everyone if i in (out[at - 1].instruments if at else everyone)),
                     chords=tuple(cadence("bridge", [loop[b % len(loop)] for b in range(4)], mode)))
    return tuple(out[:at] + [bridge] + out[at:])


def _mute(out: list[Section], name: str | None, instrument: str | None) -> tuple[Section, ...]:
    hits = [k for k, s in enumerate(out) if (name is None or s.name == name) and instrument in s.instruments]
    if not instrument or not hits:
        raise ValueError(f"{instrument or 'that instrument'} does not play in {name or 'any section'}: "
                         f"the form is {_names(out)}")
    for k in hits:
        out[k] = out[k].model_copy(update={"instruments": tuple(i for i in out[k].instruments if i != instrument)})
    return tuple(out)


def _big_ending(out: list[Section], mode: str) -> tuple[Section, ...]:
    """End on the fullest chorus: the outro goes, the last peak becomes the end with everyone playing."""
    peaks = [s for s in out if _T["sections"][s.name]["role"] == "peak"]
    if not peaks:
        raise ValueError(f"the form has no chorus to end on: {_names(out)}")
    body = [s for s in out if s.name != "outro"]
    everyone = tuple(dict.fromkeys(i for s in out for i in s.instruments))
    ending = peaks[-1].model_copy(update={"energy": 1.0, "instruments": everyone})
    if body[-1].name == ending.name:
        body[-1] = ending
    else:
        body.append(ending)
    body[-1] = body[-1].with_bars(body[-1].bars, mode)
    return tuple(body)


def laid_out(layout: list[str], existing: tuple[Section, ...], mode: str, valence: float, form: str,
             instruments: tuple[str, ...], take_energy: float, seed: int) -> tuple[Section, ...]:
    """Sections from a written layout ('intro 4', 'verse 8', 'chorus'): a section the form has keeps its
    chords, level and players at the new length; a new one is planned like the planner would."""
    known = {s.name: s for s in reversed(existing)}
    rng, out = random.Random(seed), []
    for item in layout:
        parts = item.split()
        name = " ".join(p for p in parts if not p.isdigit()) or "?"
        if name not in _T["sections"]:
            raise ValueError(f"unknown section {name!r}: use {', '.join(_T['sections'])}")
        bars = int(next((p for p in parts if p.isdigit()), known[name].bars if name in known else 4))
        if not 1 <= bars <= MAX_SECTION_BARS:
            raise ValueError(f"section {name} of {bars} bars: use 1 to {MAX_SECTION_BARS}")
        if name in known:
            out.append(known[name].with_bars(bars, mode))
            continue
        loop = progression(name, mode, valence, form, rng)
        level = _T["sections"][name]["energy"]
        out.append(Section(name=name, bars=bars, energy=level, chords=tuple(cadence(name, [loop[b % len(loop)] for b in range(bars)], mode)),
                           instruments=section_instruments(name, level, instruments, take_energy)))
    if not out:
        raise ValueError("the layout is empty: name the sections, e.g. 'intro 4, verse 8, chorus 8, outro 4'")
    return tuple(out)
