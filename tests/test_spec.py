"""MusicSpec setters: validation messages the model can act on, normalisation, and diffs."""
import pytest

from tools.errors import SpecError
from tools.spec import MusicSpec, SpecEditor


def test_setters_build_a_complete_spec():
    e = SpecEditor()
    e.set_genre("jazz", "smoky blue club lighting", subgenre="Cool Jazz!!")
    e.set_mood(["calm", "melancholic"], 0.3, 0.35, "dim light, lone figure")
    e.set_tempo(92, "relaxed posture of the figure")
    e.set_key("bb", "minor", "dark blue palette")
    e.set_time_signature("4/4", "steady grid composition")
    e.set_instruments(["piano", "saxophone", "saxophone"], "a saxophone is pictured")
    e.set_era("50s", "vintage typography")
    s = e.spec
    assert s.missing() == []
    assert (s.genre, s.subgenre, s.key, s.era) == ("jazz", "cool jazz", "Bb", "1950s")
    assert s.instruments == ("piano", "saxophone")
    assert e.rationales["tempo"] == "relaxed posture of the figure"


@pytest.mark.parametrize("call, message", [
    (lambda e: e.set_tempo(900, "very fast"), "tempo 900 is out of range: use an integer BPM from 40 to 220"),
    (lambda e: e.set_key("H", "minor", "dark"), "unknown key 'H'"),
    (lambda e: e.set_key("A", "dorian", "dark"), "unknown mode 'dorian'"),
    (lambda e: e.set_genre("polka", "accordion"), "unknown genre 'polka': use one of"),
    (lambda e: e.set_mood(["grumpy"], 0.5, 0.5, "frown"), "moods must be 1-3 of"),
    (lambda e: e.set_mood(["calm"], 1.5, 0.5, "still water"), "energy 1.5 is out of range"),
    (lambda e: e.set_instruments([], "nothing"), "instruments must be 1-6 of"),
    (lambda e: e.set_time_signature("30", "odd"), "unknown time signature '30'"),
    (lambda e: e.set_tempo(100, ""), "rationale is empty"),
])
def test_invalid_values_raise_spec_error_naming_the_fix(call, message):
    e = SpecEditor()
    with pytest.raises(SpecError, match=message.replace("(", r"\(")):
        call(e)
    assert e.spec == MusicSpec()  # a rejected call changes nothing


def test_genre_equal_subgenre_is_dropped_and_free_text_is_cleaned():
    e = SpecEditor()
    e.set_genre("ambient", "space", subgenre="Ambient")
    assert e.spec.subgenre is None
    e.set_genre("rock", "guitars", subgenre="<script>space\nrock</script>")
    assert e.spec.subgenre == "script space rock script"


def test_changes_from_lists_field_and_instrument_changes():
    a = MusicSpec(tempo_bpm=92, instruments=("piano",))
    b = a.model_copy(update={"tempo_bpm": 80, "instruments": ("piano", "saxophone")})
    assert b.changes_from(a) == ["tempo_bpm 92 → 80", "+ saxophone"]


def test_spec_rejects_out_of_vocabulary_values_directly():
    with pytest.raises(ValueError):
        MusicSpec(genre="polka")
    with pytest.raises(ValueError):
        MusicSpec(tempo_bpm=10)
