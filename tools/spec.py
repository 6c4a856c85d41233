"""MusicSpec, the validated musical plan, and SpecEditor, the setter tools that build it.

Every setter checks its values against prompts/vocabulary.yaml and raises SpecError with a message
that names the allowed values, so a model that sent a bad value can correct itself.
"""
from __future__ import annotations

import re
import threading
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tools.errors import SpecError
from tools.form import (
    FormChange,
    FormName,
    Motif,
    Section,
    SectionName,
    SpaceName,
    bar_seconds,
    choose_form,
    choose_motif,
    edited,
    form_table,
    laid_out,
    plan_sections,
    refit,
    section_instruments,
    total_bars,
)
from tools.limits import MAX_DURATION_S, MAX_SEED, MIN_DURATION_S
from tools.vocab import vocabulary

_V = vocabulary()
GenreName = Literal[tuple(_V.genres)]  # type: ignore[valid-type]
MoodName = Literal[tuple(_V.moods)]  # type: ignore[valid-type]
InstrumentName = Literal[tuple(_V.instruments)]  # type: ignore[valid-type]
Tonic = Literal[tuple(_V.tonics)]  # type: ignore[valid-type]
Mode = Literal[tuple(_V.modes)]  # type: ignore[valid-type]
TimeSignature = Literal[tuple(_V.time_signatures)]  # type: ignore[valid-type]
TEMPO_MIN, TEMPO_MAX = _V.tempo_range
# Bounds in the tool schemas also bound grammar-constrained output of small local models.
Rationale = Annotated[str, Field(min_length=3, max_length=300,
                                 description="one sentence on the cover evidence behind this choice, citing its ids (E3)")]

_FLAT_SIGNS = {"♭": "b", "♯": "#"}
_FREE_TEXT = re.compile(r"[^A-Za-z0-9 &'\-]")


def clean_free_text(value: str | None, max_len: int) -> str | None:
    """Reduce model-written free text (sub-genre, era) to a short, harmless phrase."""
    if value is None:
        return None
    text = " ".join(_FREE_TEXT.sub(" ", value).split())[:max_len].strip()
    return text.lower() or None


def normalise_tonic(key: str) -> str:
    """'a' -> 'A', 'bb' -> 'Bb', 'F♯' -> 'F#'; raises SpecError for anything else."""
    raw = key.strip()
    for sign, ascii_sign in _FLAT_SIGNS.items():
        raw = raw.replace(sign, ascii_sign)
    raw = raw[:1].upper() + raw[1:].lower().replace("sharp", "#").replace("flat", "b").replace(" ", "")
    if raw not in _V.tonics:
        raise SpecError(f"unknown key {key!r}: use one of {', '.join(_V.tonics)}")
    return raw


def normalise_era(era: str) -> str | None:
    """'80s' -> '1980s'; other short phrases ('baroque', 'modern') pass through cleaned."""
    text = clean_free_text(era, 30)
    if text and re.fullmatch(r"[0-9]0s", text):
        text = ("20" if text[0] in "012" else "19") + text
    return text


class MusicSpec(BaseModel):
    """The musical plan for one take. Fields left None are not decided yet."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    genre: GenreName | None = None
    subgenre: str | None = None
    moods: tuple[MoodName, ...] = ()
    energy: float | None = Field(None, ge=0.0, le=1.0)
    valence: float | None = Field(None, ge=0.0, le=1.0)
    tempo_bpm: int | None = Field(None, ge=TEMPO_MIN, le=TEMPO_MAX)
    key: Tonic | None = None
    mode: Mode | None = None
    time_signature: TimeSignature | None = None
    instruments: tuple[InstrumentName, ...] = ()
    era: str | None = None
    duration_s: float = Field(10.0, ge=MIN_DURATION_S, le=MAX_DURATION_S)
    seed: int = Field(0, ge=0, le=MAX_SEED)
    form: FormName | None = None
    sections: tuple[Section, ...] = ()
    motif: Motif | None = None
    space: SpaceName | None = None

    @model_validator(mode="after")
    def _form_fits(self) -> MusicSpec:
        """The sections' bars add up to the duration within one bar, and only instruments of the plan play."""
        if not self.sections or self.tempo_bpm is None or self.time_signature is None:
            return self
        bar_s = self.bar_s
        planned = sum(s.bars for s in self.sections) * bar_s
        if abs(planned - self.duration_s) > bar_s + 1e-6:
            raise ValueError(f"the sections last {planned:.1f} s but the take is {self.duration_s:g} s: "
                             f"their bars must add up to the duration within one bar ({bar_s:.2f} s)")
        for section in self.sections:
            if len(section.chords) != section.bars:
                raise ValueError(f"section {section.name} has {section.bars} bars but {len(section.chords)} chords: "
                                 "give one chord per bar")
            extra = set(section.instruments) - set(self.instruments)
            if extra and self.instruments:
                raise ValueError(f"section {section.name} names {sorted(extra)}, which the plan does not have: "
                                 f"use some of {', '.join(self.instruments)}")
        return self

    @property
    def bar_s(self) -> float | None:
        if self.tempo_bpm is None or self.time_signature is None:
            return None
        return bar_seconds(self.tempo_bpm, self.time_signature)

    def section_times(self) -> list[tuple[Section, float, float]]:
        """(section, start s, end s) in the take's time."""
        out, t = [], 0.0
        for section in self.sections:
            end = t + section.bars * (self.bar_s or 0.0)
            out.append((section, round(t, 3), round(end, 3)))
            t = end
        return out

    @field_validator("subgenre")
    @classmethod
    def _clean_subgenre(cls, v: str | None) -> str | None:
        return clean_free_text(v, 40)

    @field_validator("era")
    @classmethod
    def _clean_era(cls, v: str | None) -> str | None:
        return normalise_era(v) if v else None

    def missing(self) -> list[str]:
        """Names of the decisions still open (what the agent must set before generating)."""
        fields = ("genre", "moods", "tempo_bpm", "key", "mode", "time_signature", "instruments")
        # form and space are planned from these when left open (tools.grounding.form)
        return [f for f in fields if getattr(self, f) in (None, ())]

    def changes_from(self, other: MusicSpec) -> list[str]:
        """Human-readable differences, e.g. ['tempo_bpm 92 → 80', '+ saxophone']."""
        out: list[str] = []
        for name in type(self).model_fields:
            old, new = getattr(other, name), getattr(self, name)
            if old == new:
                continue
            if name == "sections":  # a change of players or chords alone follows from another field's change
                if form_line(old) != form_line(new):
                    out.append(f"form {form_line(old) or 'none'} → {form_line(new)}")
            elif name == "motif":
                out.append("new motif")
            elif isinstance(new, tuple):
                out += [f"+ {x}" for x in new if x not in old] + [f"- {x}" for x in old if x not in new]
            else:
                out.append(f"{name} {old} → {new}")
        return out


def form_line(sections: tuple[Section, ...]) -> str:
    """'intro 2, verse 8, chorus 8, outro 4' (bars per section)."""
    return ", ".join(f"{s.name} {s.bars}" for s in sections)


def _require_rationale(rationale: str) -> str:
    text = " ".join((rationale or "").split())
    if len(text) < 3:
        raise SpecError("rationale is empty: cite the visual evidence from the cover description")
    return text[:400]


# Which spec fields each setter changes; the first is the field a guided decision ranks.
SETTER_FIELDS = {"set_genre": ("genre", "subgenre"), "set_mood": ("moods", "energy", "valence"),
                 "set_tempo": ("tempo_bpm",), "set_key": ("key", "mode"), "set_time_signature": ("time_signature",),
                 "set_instruments": ("instruments",), "set_era": ("era",), "set_duration": ("duration_s",),
                 "new_take": ("seed",), "edit_form": ("sections",), "set_layout": ("sections",), "set_form": ("form", "sections", "motif"),
                 "set_space": ("space",)}
FIELD_SETTER = {field: tool for tool, fields in SETTER_FIELDS.items() for field in fields}


def rationale_key(field: str) -> str:
    """Where SpecEditor.rationales keeps the rationale of the setter that sets `field` ('tempo_bpm' -> 'tempo')."""
    tool = FIELD_SETTER.get(field, field)
    return tool.removeprefix("set_")


class SpecEditor:
    """The setter tools an agent uses to fill in a MusicSpec. Each returns a one-line confirmation.

    With a `prior` (the cover's grounding), every rationale must cite the cover's evidence ids, and a change
    that breaks a coherence rule (tools/grounding/coherence.py) is refused with a message the model can act
    on; `strict=False` (a listener's own edits in chat) records such problems as warnings instead."""

    def __init__(self, spec: MusicSpec | None = None, prior=None, strict: bool = True):
        self.spec = spec or MusicSpec()
        self.prior, self.strict = prior, strict
        self.rationales: dict[str, str] = {}
        self.warnings: list[str] = []
        self._lock = threading.Lock()  # an agent may run several tool calls of one message in parallel

    def _update(self, field: str, rationale: str, **values) -> str:
        why = _require_rationale(rationale)
        with self._lock:
            new = MusicSpec.model_validate(fitted(self.spec, values))
            self._check(why, new, values)
            self.spec = new
            self.rationales[field] = why
        shown = ", ".join(f"{k}={_show(getattr(self.spec, k))}" for k, v in values.items() if v is not None)
        return f"ok: {shown}"

    def plan_problems(self) -> list[str]:
        """The coherence rules the whole plan breaks (checked before music is generated)."""
        from tools.grounding.coherence import problems

        return problems(self.spec, self.prior) if self.prior is not None and self.strict else []

    def _check(self, rationale: str, new: MusicSpec, values: dict) -> None:
        from tools.grounding.coherence import problems, rationale_problem

        if self.prior is None:
            return
        found = problems(new, self.prior, set(values))
        if self.strict:
            bad = rationale_problem(rationale, self.prior.evidence)
            if bad or found:
                raise SpecError("; ".join(([bad] if bad else []) + found))
        else:
            self.warnings += [p for p in found if p not in self.warnings]

    def set_genre(self, genre: GenreName, rationale: Rationale,
                  subgenre: Annotated[str | None, Field(max_length=40)] = None) -> str:
        """Set the main genre (closed list) and optionally a free-text sub-genre, citing the visual evidence."""
        if genre not in _V.genres:
            raise SpecError(f"unknown genre {genre!r}: use one of {', '.join(_V.genres)}")
        if subgenre and clean_free_text(subgenre, 40) == genre:
            subgenre = None  # 'ambient (ambient)' says nothing
        return self._update("genre", rationale, genre=genre, subgenre=subgenre)

    def set_mood(self, moods: Annotated[list[MoodName], Field(min_length=1, max_length=3)],
                 energy: Annotated[float, Field(ge=0, le=1)], valence: Annotated[float, Field(ge=0, le=1)],
                 rationale: Rationale) -> str:
        """Set 1-3 moods, energy (0 calm .. 1 intense) and valence (0 sad .. 1 happy), citing the visual evidence."""
        unknown = [m for m in moods if m not in _V.moods]
        if unknown or not 1 <= len(moods) <= 3:
            raise SpecError(f"moods must be 1-3 of: {', '.join(_V.moods)} (got {moods!r})")
        for name, value in (("energy", energy), ("valence", valence)):
            if not 0.0 <= float(value) <= 1.0:
                raise SpecError(f"{name} {value} is out of range: use a number from 0.0 to 1.0")
        return self._update("mood", rationale, moods=tuple(dict.fromkeys(moods)), energy=round(float(energy), 2),
                            valence=round(float(valence), 2))

    def set_tempo(self, bpm: Annotated[int, Field(ge=TEMPO_MIN, le=TEMPO_MAX)], rationale: Rationale) -> str:
        """Set the tempo in beats per minute (integer, 40-220), citing the visual evidence."""
        if isinstance(bpm, bool) or int(bpm) != bpm or not TEMPO_MIN <= bpm <= TEMPO_MAX:
            raise SpecError(f"tempo {bpm} is out of range: use an integer BPM from {TEMPO_MIN} to {TEMPO_MAX}")
        return self._update("tempo", rationale, tempo_bpm=int(bpm))

    def set_key(self, key: Tonic, mode: Mode, rationale: Rationale) -> str:
        """Set the key (tonic such as 'A' or 'Eb') and mode ('major' or 'minor'), citing the visual evidence."""
        tonic = normalise_tonic(key)
        if mode not in _V.modes:
            raise SpecError(f"unknown mode {mode!r}: use 'major' or 'minor'")
        return self._update("key", rationale, key=tonic, mode=mode)

    def set_time_signature(self, time_signature: TimeSignature, rationale: Rationale) -> str:
        """Set the time signature (for example '4/4' or '3/4'), citing the visual evidence."""
        if time_signature not in _V.time_signatures:
            raise SpecError(f"unknown time signature {time_signature!r}: use one of {', '.join(_V.time_signatures)}")
        return self._update("time_signature", rationale, time_signature=time_signature)

    def set_instruments(self, instruments: Annotated[list[InstrumentName], Field(min_length=1, max_length=6)],
                        rationale: Rationale) -> str:
        """Set the 1-6 instruments of the arrangement, citing the visual evidence."""
        unknown = [i for i in instruments if i not in _V.instruments]
        if unknown or not 1 <= len(instruments) <= 6:
            raise SpecError(f"instruments must be 1-6 of: {', '.join(_V.instruments)} (got {instruments!r})")
        return self._update("instruments", rationale, instruments=tuple(dict.fromkeys(instruments)))

    def set_era(self, era: Annotated[str, Field(max_length=30)], rationale: Rationale) -> str:
        """Set the era or period feel (for example '1980s', 'modern', 'baroque'), citing the visual evidence."""
        if not normalise_era(era):
            raise SpecError("era is empty: give a decade such as '1970s' or a period such as 'modern'")
        return self._update("era", rationale, era=era)


    def set_duration(self, seconds: Annotated[float, Field(ge=MIN_DURATION_S, le=MAX_DURATION_S)], rationale: Rationale) -> str:
        """Set the length of the take in seconds (1-300)."""
        if not MIN_DURATION_S <= float(seconds) <= MAX_DURATION_S:
            raise SpecError(f"duration {seconds} s is out of range: use {MIN_DURATION_S:g} to {MAX_DURATION_S:g} seconds")
        return self._update("duration", rationale, duration_s=round(float(seconds), 2))

    def new_take(self, rationale: Rationale) -> str:
        """Ask for another take of the same plan: a new random seed, nothing else changes."""
        return self._update("new_take", rationale, seed=next_seed(self.spec.seed))


    def set_form(self, form: FormName, rationale: Rationale) -> str:
        """Set the form (verse-chorus, aaba, build-drop, through-composed ...): its sections are sized to the duration, with chords and instruments per section."""
        if form not in form_table()["forms"]:
            raise SpecError(f"unknown form {form!r}: use one of {', '.join(form_table()['forms'])}")
        if self.spec.missing():
            raise SpecError(f"set {', '.join(self.spec.missing())} before the form: it is planned from them")
        return self._update("form", rationale, **planned_form(self.spec, form))

    def set_space(self, space: SpaceName, rationale: Rationale) -> str:
        """Set the room the music is heard in: dry, room, studio, club, hall or cathedral (the reverb's size)."""
        if space not in form_table()["spaces"]:
            raise SpecError(f"unknown space {space!r}: use one of {', '.join(form_table()['spaces'])}")
        return self._update("space", rationale, space=space)

    def set_layout(self, layout: Annotated[list[str], Field(min_length=1, max_length=24)], rationale: Rationale) -> str:
        """Lay the form out section by section ('intro 4', 'verse 8', 'chorus 8', 'outro 4'); the bars are re-fitted to the duration."""
        if not self.spec.sections:
            raise SpecError("there is no form yet to lay out: make a take first")
        try:
            sections = laid_out(layout, self.spec.sections, self.spec.mode or "major", _level(self.spec.valence),
                                self.spec.form or "verse-chorus", self.spec.instruments, _level(self.spec.energy),
                                self.spec.seed)
        except ValueError as exc:
            raise SpecError(str(exc)) from None
        return self._update("form", rationale, sections=self._fitted_form(sections))

    def edit_form(self, change: FormChange, rationale: Rationale, section: SectionName | None = None,
                  instrument: InstrumentName | None = None) -> str:
        """Change the form: longer_intro, shorter_intro, add_bridge, drop_section (section), mute (instrument in section), end_on_chorus."""
        if not self.spec.sections:
            raise SpecError("there is no form yet to change: make a take first")
        try:
            sections = edited(self.spec.sections, change, self.spec.mode or "major", section, instrument)
        except ValueError as exc:
            raise SpecError(str(exc)) from None
        pinned = frozenset(k for k, s in enumerate(sections) if s.name == "intro") if "intro" in change else frozenset()
        return self._update("form", rationale, sections=self._fitted_form(sections, pinned))

    def _fitted_form(self, sections: tuple[Section, ...], pinned: frozenset[int] = frozenset()) -> tuple[Section, ...]:
        """A listener's sections re-sized to this take's bars (`pinned` ones keep the length asked for)."""
        return refit(sections, total_bars(self.spec.duration_s, self.spec.bar_s), self.spec.mode or "major", pinned)


def planned_form(spec: MusicSpec, form: str) -> dict:
    """The sections, motif and form name of `form` planned for this spec."""
    sections = plan_sections(form, spec.duration_s, spec.bar_s, spec.mode, _level(spec.energy), _level(spec.valence),
                             spec.instruments, spec.seed)
    return {"form": form, "sections": sections, "motif": spec.motif or choose_motif(spec.seed)}


def _level(value: float | None) -> float:
    return 0.5 if value is None else value


def fitted(spec: MusicSpec, values: dict) -> dict:
    """The spec's fields with `values` applied and the form kept true to them: a new genre or mode plans the
    form again (its forms and chords are the genre's and the mode's), a new tempo, meter or duration re-sizes
    it, new instruments are shared out per section again."""
    data = {**spec.model_dump(), **values}
    if not spec.sections or "sections" in values:
        return data
    new = MusicSpec.model_construct(**{**dict(spec), **values})
    if any(k in values and values[k] != getattr(spec, k) for k in ("genre", "mode")):
        form = spec.form if "genre" not in values else choose_form(new.genre, _level(new.energy))
        return {**data, **planned_form(new, form)}
    sections = spec.sections
    if any(k in values and values[k] != getattr(spec, k) for k in ("tempo_bpm", "time_signature", "duration_s")):
        sections = refit(sections, total_bars(new.duration_s, new.bar_s), new.mode or "major")
    if "instruments" in values:
        sections = tuple(s.model_copy(update={"instruments": section_instruments(
            s.name, s.energy, new.instruments, _level(new.energy))}) for s in sections)
    return {**data, "sections": sections}


def next_seed(seed: int) -> int:
    """A new, reproducible seed derived from the last one."""
    return (seed * 1103515245 + 12345) % 2**31


SETTERS = ("set_genre", "set_mood", "set_tempo", "set_key", "set_time_signature", "set_instruments", "set_era")
EDIT_TOOLS = SETTERS + ("set_duration", "new_take", "set_form", "set_space", "edit_form", "set_layout")


def _show(value) -> str:
    return ", ".join(map(str, value)) if isinstance(value, tuple) else str(value)
