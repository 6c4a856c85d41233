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
