"""The optional pieces the offline default reads when they are there, and what goes quieter without them:
named once by `albumgen models` and as a warning in the trace of a run that needed them."""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Piece:
    name: str
    ready: bool
    without: str  # what a run loses when it is missing
    fix: str

    def warning(self) -> str:
        return f"{self.name} is missing: {self.without} ({self.fix})"


def nrc_lexicon() -> Piece:
    from tools.grounding.evidence import nrc_lexicon as lexicon

    return Piece("the NRC emotion lexicon", bool(lexicon()), "cover words carry no feeling",
                 "pip install --no-deps nrclex==4.1.0")


def essentia() -> Piece:
    return Piece("essentia", importlib.util.find_spec("essentia") is not None,
                 "verification checks the key with one estimator, not two", "pip install 'albumgen[offline]'")


def soundfont() -> Piece:
    from tools.music.sketch import SOUNDFONTS

    return Piece("a full General MIDI soundfont", any(Path(p).exists() for p in SOUNDFONTS),
                 "the sketch plays pretty_midi's 6 MB TimGM6mb", "apt install fluid-soundfont-gm")


def pieces() -> list[Piece]:
    return [nrc_lexicon(), essentia(), soundfont()]


def cover_warnings(evidence) -> list[str]:
    """The warnings a cover's run needs: words on the cover and no emotion lexicon to read them."""
    piece = nrc_lexicon()
    return [piece.warning()] if evidence.of_kind("text") and not piece.ready else []
