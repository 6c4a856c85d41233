"""The musical vocabulary (genres, moods, instruments, keys) read from prompts/vocabulary.yaml."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
PITCH_CLASS = {"C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "F": 5, "F#": 6, "Gb": 6,
               "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11}
SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}


@dataclass(frozen=True)
class Genre:
    name: str
    tempo: tuple[int, int]
    default_tempo: int
    mode: str
    drums: str
    swing: float
    time_signature: str
    instruments: tuple[str, ...]


@dataclass(frozen=True)
class Vocabulary:
    genres: dict[str, Genre]
    moods: dict[str, dict]
    instruments: dict[str, dict]
    tonics: tuple[str, ...]
    modes: tuple[str, ...]
    time_signatures: tuple[str, ...]
    tempo_range: tuple[int, int]


def prompt_path(name: str) -> Path:
    return PROMPTS_DIR / name


@functools.cache
def prompt_table(name: str) -> Any:
    """A YAML file of prompts/, read once per process (callers must not change what it returns). PyYAML's
    libyaml parser when the wheel has it (the tables hold thousands of phrases: about 10x faster to read)."""
    import yaml

    return yaml.load(prompt_path(name).read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@functools.cache
def vocabulary() -> Vocabulary:
    data = prompt_table("vocabulary.yaml")
    genres = {
        name: Genre(name=name, tempo=tuple(g["tempo"]), default_tempo=g["default_tempo"], mode=g["mode"],
                    drums=g["drums"], swing=float(g["swing"]), time_signature=g["time_signature"],
                    instruments=tuple(g["instruments"]))
        for name, g in data["genres"].items()
    }
    return Vocabulary(genres=genres, moods=data["moods"], instruments=data["instruments"],
                      tonics=tuple(data["tonics"]), modes=tuple(data["modes"]),
                      time_signatures=tuple(data["time_signatures"]), tempo_range=tuple(data["tempo_range"]))


# an instrument as chat names it: its name in the sound set (vocabulary.yaml)
ALIASES = {"sax": "saxophone", "saxophones": "saxophone", "guitar": "electric guitar", "guitars": "electric guitar",
           "synth": "synth lead", "synths": "synth lead", "bass": "bass guitar", "drum": "drums", "beat": "drums",
           "beats": "drums", "drumming": "drums", "violins": "violin", "string": "strings", "horn": "french horn", "pads": "pad",
           "keys": "electric piano", "rhodes": "electric piano", "trumpets": "trumpet", "flutes": "flute",
           # a band's horns are its brass section; 'a horn' alone is the orchestra's French horn
           "horns": "brass", "horn section": "brass", "brass section": "brass",
           # 'an upright' is the double bass; an upright piano is a piano
           "upright": "upright bass", "upright piano": "piano", "fiddles": "fiddle",
           # the line-up's only voices are the choir's
           "backing vocals": "choir", "backing singers": "choir", "vocals": "choir", "voices": "choir",
           "singers": "choir",
           # an instrument the sound set lacks, asked for: its nearest kin that the set has (the reading shows which)
           "tuba": "brass", "flugelhorn": "trumpet", "cornet": "trumpet", "trombone": "brass", "trombones": "brass", "oboe": "clarinet", "bassoon": "clarinet",
           "harpsichord": "piano", "xylophone": "marimba", "glockenspiel": "vibraphone", "bells": "vibraphone",
           "celesta": "vibraphone", "celeste": "vibraphone", "kalimba": "marimba", "steel drums": "marimba", "steel pan": "marimba",
           "mandolin": "banjo", "ukulele": "acoustic guitar", "uke": "acoustic guitar", "accordion": "organ",
           "harmonium": "organ", "congas": "drums", "bongos": "drums", "tabla": "drums", "tambourine": "drums",
           "cowbell": "drums", "handclaps": "drums", "claps": "drums", "shaker": "drums", "percussion": "drums",
           "808": "drum machine", "808s": "drum machine", "909": "drum machine", "moog": "synth lead",
           "theremin": "synth lead", "arpeggiator": "synth lead"}
# a genre as chat says it in a word of its own
GENRE_WORDS = {"jazzy": "jazz", "jazzier": "jazz", "rockier": "rock", "funky": "funk", "funkier": "funk",
               "lofi": "lo-fi", "hiphop": "hip hop", "rap": "hip hop", "orchestral": "cinematic",
               "techno-ish": "techno", "poppy": "pop", "bluesy": "blues", "folky": "folk", "metallic": "metal",
               "soulful": "r&b", "punky": "punk", "housey": "house", "grungy": "rock", "proggy": "rock",
               "twangy": "country"}
