"""Render a MusicSpec into a music engine's text prompt from its template in prompts/ (MusicGen's by default)."""
from __future__ import annotations

import functools
import re

from tools.errors import SpecError
from tools.spec import MusicSpec
from tools.vocab import prompt_path

_TEMPLATE = "musicgen_prompt.j2"


@functools.cache
def _template(name: str):
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)
    return env.from_string(prompt_path(name).read_text(encoding="utf-8"))


def _join(words: list[str]) -> str:
    """['a'] -> 'a'; ['a', 'b'] -> 'a and b'; ['a', 'b', 'c'] -> 'a, b and c'."""
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _energy_word(energy: float | None) -> str:
    if energy is None:
        return "medium"
    return "low" if energy < 0.35 else "high" if energy > 0.7 else "medium"


def _genre_phrase(spec: MusicSpec) -> str:
    sub = spec.subgenre or ""
    if not sub or sub == spec.genre:
        return spec.genre
    return sub if spec.genre in sub.split() or spec.genre in sub else f"{sub} {spec.genre}"


def tidy(text: str) -> str:
    """Remove doubled words ('a a', 'jazz jazz'), stray separators and whitespace."""
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\b(\w+)( \1\b)+", r"\1", text, flags=re.IGNORECASE)
    text = re.sub(r"\s*,(\s*,)+", ",", text)
    text = re.sub(r"\s+,", ",", text)
    return text.strip(" ,")


def render_prompt(spec: MusicSpec, template: str = _TEMPLATE) -> str:
    """The MusicGen text prompt for a complete spec; raises SpecError naming what is missing."""
    missing = spec.missing()
    if missing:
        raise SpecError(f"the spec is incomplete: set {', '.join(missing)} first")
    text = _template(template).render(
        moods=_join(list(spec.moods)),
        genre=_genre_phrase(spec),
        era=spec.era,
        instruments=_join(list(spec.instruments)),
        tempo_bpm=spec.tempo_bpm,
        key=spec.key,
        mode=spec.mode,
        time_signature=spec.time_signature,
        energy=_energy_word(spec.energy),
    )
    return tidy(text)


def render_sections(spec: MusicSpec, template: str) -> str:
    """The plan's form for an engine that takes structure tags (ACE-Step); an empty string without a form."""
    return _template(template).render(sections=list(spec.sections)).strip()


SECTION_TEMPLATE = "musicgen_section.j2"


def section_prompt(prompt: str, section, template: str = SECTION_TEMPLATE) -> str:
    """The take's prompt with what one section adds: 'dark rock, ...; chorus, full and loud, electric guitar and drums'."""
    level = "full and loud" if section.energy >= 0.8 else "building" if section.energy >= 0.6 else \
        "steady" if section.energy >= 0.45 else "sparse and quiet"
    return tidy(_template(template).render(prompt=prompt, section=section.name, level=level,
                                           instruments=_join(list(section.instruments))))
