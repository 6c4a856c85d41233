"""Catalogue rows: one cover with the music it is known to have, read from a CSV or JSONL file and validated.

Column names are MusicOSet's / Spotify's audio features as they are: `cover` (an image path relative to the
file) or `image_url`, `genre` or `genres` (a name, a list, or a Python-style list string as MusicOSet writes
it), `tempo` (BPM), `key` (pitch class 0-11, -1 unknown), `mode` (1 major, 0 minor), `energy`, `valence`,
`danceability` (0-1), `time_signature` (3 or "3/4"), `year`. A bad row is reported with its line number and
skipped whole; it is never half-imported.
"""
from __future__ import annotations

import ast
import csv
import functools
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tools.errors import InputError
from tools.vocab import prompt_table, vocabulary

REQUIRED = ("genre", "tempo")
OPTIONAL = ("key", "mode", "energy", "valence", "danceability", "time_signature", "year")
COVER_COLUMNS = ("cover", "image_url")
PITCHES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


@dataclass(frozen=True)
class Attributes:
    """What is known of one cover's music; None where the catalogue does not say."""

    genre: str
    tempo: float
    key: int | None = None
    mode: int | None = None
    energy: float | None = None
    valence: float | None = None
    danceability: float | None = None
    time_signature: str | None = None
    year: int | None = None
    source_genre: str | None = None  # the catalogue's own genre text, when it was mapped

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def short(self) -> str:
        """'metal, 160 BPM, E minor, energy 0.90, valence 0.20' (what an evidence line shows)."""
        parts = [self.genre, f"{self.tempo:.0f} BPM"]
        if self.key is not None or self.mode is not None:
            tonic = PITCHES[self.key] + " " if self.key is not None else ""
            parts.append(tonic + ({1: "major", 0: "minor"}.get(self.mode, "")).strip())
        parts += [f"{name} {getattr(self, name):.2f}" for name in ("energy", "valence")
                  if getattr(self, name) is not None]
        return ", ".join(p for p in parts if p)


@dataclass(frozen=True)
class Row:
    line: int
    cover: str  # a local path, or a URL (image_url)
    attributes: Attributes


class RowError(ValueError):
    """One row's problem, shown as 'line N: ...'."""


@functools.cache
def _catalog_table() -> dict[str, Any]:
    table = prompt_table("catalog.yaml")
    unknown = set(table["genre_phrases"]) - set(vocabulary().genres)
    assert not unknown, f"catalog.yaml maps to unknown genres: {unknown}"
    return table


def map_genre(value: Any) -> tuple[str, str | None]:
    """A catalogue genre (a name, a list, or "['dance pop', 'pop']") → (AlbumGen genre, the source text)."""
    names = _genre_list(value)
    if not names:
        raise RowError("genre is empty: give a genre name, e.g. rock")
    known = vocabulary().genres
    for name in names:
        if name.lower() in known:
            return name.lower(), None
    for name in names:
        lowered = f" {name.lower().replace('-', ' ')} "
        for genre, phrases in _catalog_table()["genre_phrases"].items():
            if any(f" {p.replace('-', ' ')} " in lowered or p in name.lower().split() for p in phrases):
                return genre, ", ".join(names)
    raise RowError(f"genre {', '.join(names)!r} is not one AlbumGen knows: use one of {', '.join(known)} "
                   "(or a Spotify genre that names one, e.g. 'album rock')")


def _genre_list(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value or "").strip()
    if text.startswith("["):
        try:
            return _genre_list(ast.literal_eval(text))
        except (ValueError, SyntaxError):
            raise RowError(f"genres {text!r} is not a list: write ['rock', 'pop'] or a single name") from None
    return [text] if text else []


def _number(name: str, value: Any, hint: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RowError(f"{name} {value!r} is not a number: {hint}") from None
    if number != number:  # NaN
        raise RowError(f"{name} is NaN: {hint}")
    lo, hi = _catalog_table()["ranges"].get(name, (float("-inf"), float("inf")))
    if not lo <= number <= hi:
        raise RowError(f"{name} {number:g} is out of range: use {lo} to {hi}")
    return number


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _key(value: Any) -> int | None:
    number = _number("key", value, "give the pitch class 0-11 (0 = C, -1 = unknown)")
    if number == -1:
        return None
    if number not in range(12):
        raise RowError(f"key {value!r} is not a pitch class: use 0-11 (0 = C, -1 = unknown)")
    return int(number)


def _mode(value: Any) -> int:
    text = str(value).strip().lower()
    names = {"major": 1, "minor": 0}
    if text in names:
        return names[text]
    number = _number("mode", value, "use 1 (major) or 0 (minor)")
    if number not in (0, 1):
        raise RowError(f"mode {value!r} is not 0 or 1: use 1 (major) or 0 (minor)")
    return int(number)


def _meter(value: Any) -> str:
    text = str(value).strip()
    beats = text.split("/")[0]
    if not beats.isdigit() or not 1 <= int(beats) <= 12:
        raise RowError(f"time_signature {value!r} is not a meter: use a beat count (3, 4) or 3/4")
    return text if "/" in text else f"{int(beats)}/4"


def parse_row(record: dict[str, Any], line: int) -> Row:
    """One record → Row, or RowError naming the first problem."""
    record = {str(k).strip().lower(): v for k, v in record.items() if k is not None}
    cover = next((str(record[c]).strip() for c in COVER_COLUMNS if not _blank(record.get(c))), None)
    if cover is None:
        raise RowError("no cover: give an image path in the cover column (or image_url)")
    genre_value = record.get("genre") if not _blank(record.get("genre")) else record.get("genres")
    if _blank(genre_value):
        raise RowError("missing value for genre: give a genre name, e.g. rock")
    genre, source = map_genre(genre_value)
    if _blank(record.get("tempo")):
        raise RowError("missing value for tempo: give BPM, e.g. 120")
    values: dict[str, Any] = {"genre": genre, "source_genre": source,
                              "tempo": round(_number("tempo", record["tempo"], "give BPM, e.g. 120"), 2)}
    parsers = {"key": _key, "mode": _mode, "time_signature": _meter,
               "year": lambda v: int(_number("year", v, "give a year, e.g. 1994"))}
    for name in OPTIONAL:
        if _blank(record.get(name)):
            continue
        parse = parsers.get(name) or (lambda v, n=name: round(_number(n, v, "give a number from 0 to 1"), 4))
        values[name] = parse(record[name])
    return Row(line=line, cover=cover, attributes=Attributes(**values))


def read_records(path: Path) -> tuple[list[str], Iterator[tuple[int, dict[str, Any] | str]]]:
    """(the columns, (line, record or a problem text) per row) of a CSV/TSV or JSONL file."""
    if not path.is_file():
        raise InputError(f"catalogue source {path} not found: give a CSV or JSONL file with a cover column")
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        return _jsonl(text)
    dialect = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",\t;") if text.strip() else csv.excel
    reader = csv.DictReader(text.splitlines(), dialect=dialect)
    columns = [c.strip().lower() for c in reader.fieldnames or []]

    def rows():
        for record in reader:
            line = reader.line_num
            if None in record:  # more fields than the header
                yield line, f"{len(record) - 1 + len(record[None])} fields, the header has {len(columns)}"
            elif any(v is None for v in record.values()):  # fewer fields than the header
                absent = [k for k, v in record.items() if v is None]
                yield line, f"missing value for {absent[0]} (the row has fewer fields than the header)"
            else:
                yield line, record

    return columns, rows()


def _jsonl(text: str):
    lines = [(n, s) for n, s in enumerate(text.splitlines(), start=1) if s.strip()]
    columns: set[str] = set()
    parsed: list[tuple[int, dict | str]] = []
    for n, s in lines:
        try:
            record = json.loads(s)
        except json.JSONDecodeError as exc:
            parsed.append((n, f"not valid JSON ({exc.msg})"))
            continue
        if not isinstance(record, dict):
            parsed.append((n, "not a JSON object"))
            continue
        columns |= {str(k).lower() for k in record}
        parsed.append((n, record))
    return sorted(columns), iter(parsed)


def check_columns(columns: list[str], path: Path) -> list[str]:
    """Problems with the file as a whole (no cover column: nothing can be imported) and warnings for the
    optional columns it lacks."""
    have = set(columns)
    if not have & set(COVER_COLUMNS):
        raise InputError(f"{path}: no cover column (columns: {', '.join(columns) or 'none'}): add a 'cover' column "
                         "of image paths relative to the file")
    if not have & {"genre", "genres"}:
        raise InputError(f"{path}: no genre column: add 'genre' (or MusicOSet's 'genres')")
    if "tempo" not in have:
        raise InputError(f"{path}: no tempo column: add 'tempo' in BPM")
    return [f"column {name} is absent: no cover in this file says its {name}" for name in OPTIONAL if name not in have]
