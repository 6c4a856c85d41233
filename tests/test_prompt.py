"""The MusicGen prompt renderer on edge cases."""
import re

import pytest

from tools.errors import SpecError
from tools.prompt import render_prompt, tidy
from tools.spec import MusicSpec

BASE = MusicSpec(genre="jazz", moods=("calm",), energy=0.3, tempo_bpm=96, key="A", mode="minor",
                 time_signature="3/4", instruments=("piano",))


@pytest.mark.parametrize("update", [
    {},
    {"subgenre": "jazz"},
    {"subgenre": "cool jazz", "era": "1950s"},
    {"moods": ("calm", "dark", "eerie"), "instruments": ("piano", "saxophone", "drums")},
    {"energy": None, "subgenre": "acid"},
    {"time_signature": "6/8", "energy": 0.9},
])
def test_prompt_has_no_doubled_words_and_a_proper_meter(update):
    text = render_prompt(BASE.model_copy(update=update))
    assert not re.search(r"\b(\w+) \1\b", text, re.IGNORECASE), text
    assert re.search(r"\b\d/\d time\b", text), text
    assert "time signature" not in text and "None" not in text and ",," not in text
    assert "96 BPM" in text and "A minor" in text


def test_prompt_joins_lists_naturally():
    text = render_prompt(BASE.model_copy(update={"moods": ("calm", "dark"), "instruments": ("piano", "bass guitar", "drums")}))
    assert text.startswith("calm and dark jazz, piano, bass guitar and drums, 96 BPM")
    assert text.endswith("low energy")


def test_subgenre_containing_genre_is_not_repeated():
    assert "cool jazz," in render_prompt(BASE.model_copy(update={"subgenre": "cool jazz"}))
    assert "acid jazz" in render_prompt(BASE.model_copy(update={"subgenre": "acid"}))


def test_incomplete_spec_names_what_is_missing():
    with pytest.raises(SpecError, match="set genre, tempo_bpm first"):
        render_prompt(BASE.model_copy(update={"genre": None, "tempo_bpm": None}))


def test_tidy_removes_a_a_and_stray_commas():
    assert tidy("a a calm , , song  with  with drums,") == "a calm, song with drums"
