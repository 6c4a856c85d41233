"""Music backends on real code: the sketch renderer (FluidSynth + GM soundfont) and tiny random MusicGens."""
import io

import numpy as np
import pretty_midi
import pytest

from tools.form import section_lengths
from tools.music import MUSIC_BACKENDS
from tools.music.base import GenerationParams
from tools.spec import MusicSpec
from tools.vocab import PITCH_CLASS, SCALES

pytestmark = pytest.mark.slow

ROCK = MusicSpec(genre="rock", moods=("energetic",), energy=0.8, valence=0.6, tempo_bpm=128, key="E", mode="minor",
                 time_signature="4/4", instruments=("electric guitar", "bass guitar", "drums"))
AMBIENT = MusicSpec(genre="ambient", moods=("calm",), energy=0.2, valence=0.6, tempo_bpm=70, key="Eb", mode="major",
                    time_signature="3/4", instruments=("pad", "piano", "drums"))


def _render(spec, seconds=6.0, seed=1, **options):
    backend = MUSIC_BACKENDS.create("sketch", options)
    return backend.generate(spec, "", GenerationParams(duration_s=seconds, seed=seed))


@pytest.mark.parametrize("renderer", ["fluidsynth", "numpy"])
def test_sketch_renders_exact_duration_without_clipping(renderer):
    audio = _render(ROCK, renderer=renderer)
    assert audio.sample_rate == 44100 and audio.samples.shape == (2, 6 * 44100)
    assert audio.details["renderer"] == renderer
    peak = np.abs(audio.samples).max()
    assert 0.05 < peak <= 10 ** (-1 / 20) + 1e-4
    rms = np.sqrt((audio.samples ** 2).mean())
    assert rms > 0.02  # music, not silence


def test_sketch_midi_plays_the_spec_tempo_key_and_drums():
    audio = _render(ROCK, seconds=8)
    midi = pretty_midi.PrettyMIDI(io.BytesIO(audio.extra_files["sketch.mid"]))
    assert midi.get_tempo_changes()[1][0] == pytest.approx(128, rel=1e-3)
    scale = {(PITCH_CLASS["E"] + s) % 12 for s in SCALES["minor"]} | {(PITCH_CLASS["E"] + 11) % 12}  # + leading tone
    pitched = [n.pitch % 12 for i in midi.instruments if not i.is_drum for n in i.notes]
    assert pitched and set(pitched) <= scale
    drums = [i for i in midi.instruments if i.is_drum]
    assert drums and {36, 38} <= {n.pitch for n in drums[0].notes}
    kicks = sorted(n.start for n in drums[0].notes if n.pitch == 36)
    beat = 60 / 128
    assert min(abs(kicks[1] - kicks[0] - k * beat / 2) for k in range(1, 5)) < 0.03  # on the 128 BPM grid


def test_ambient_has_no_drum_kit_and_uses_three_four():
    audio = _render(AMBIENT)
    midi = pretty_midi.PrettyMIDI(io.BytesIO(audio.extra_files["sketch.mid"]))
    assert not any(i.is_drum for i in midi.instruments)
    ts = midi.time_signature_changes[0]
    assert (ts.numerator, ts.denominator) == (3, 4)


def test_same_seed_same_audio_other_seed_differs():
    a, b, c = _render(ROCK, seed=5), _render(ROCK, seed=5), _render(ROCK, seed=6)
    assert np.array_equal(a.samples, b.samples) and not np.array_equal(a.samples, c.samples)


def test_form_sizes_add_up_and_no_section_follows_itself():
    for form in ("verse-chorus", "aaba", "blues", "build-drop", "through-composed"):
        for total in (1, 2, 3, 8, 17, 40, 120):
            plan = section_lengths(form, total, 0.5)
            names = [n for n, _ in plan]
            assert sum(b for _, b in plan) == total and all(a != b for a, b in zip(names, names[1:])), (form, total)
    assert [n for n, _ in section_lengths("verse-chorus", 22, 0.7)][:3] == ["intro", "verse", "chorus"]


def _musicgen(path, **options):
    return MUSIC_BACKENDS.create("musicgen", {"model": str(path), "device": "cpu", **options})


def test_musicgen_by_local_path_writes_requested_duration(tiny_musicgen_dir):
    backend = _musicgen(tiny_musicgen_dir)
    audio = backend.generate(ROCK, "energetic rock, 128 BPM", GenerationParams(duration_s=1.0, seed=3))
    assert audio.sample_rate == 32000 and audio.samples.ndim == 2 and audio.samples.shape[0] == 1
    assert abs(audio.samples.shape[1] - 32000) <= 640  # within one 50 Hz frame
    assert audio.details["frames"] == 50 and len(audio.details["windows"]) == 1 and audio.details["model_class"] == "MusicgenForConditionalGeneration"
    again = backend.generate(ROCK, "energetic rock, 128 BPM", GenerationParams(duration_s=1.0, seed=3))
    assert np.array_equal(audio.samples, again.samples)


def test_musicgen_melody_checkpoint_loads_its_own_class(tiny_musicgen_melody_dir):
    backend = _musicgen(tiny_musicgen_melody_dir)
    audio = backend.generate(ROCK, "rock", GenerationParams(duration_s=0.6, seed=1))
    assert audio.details["model_class"] == "MusicgenMelodyForConditionalGeneration"
    assert abs(audio.samples.shape[1] - 0.6 * 32000) <= 640


def test_musicgen_unknown_model_is_a_clear_backend_error(tmp_path):
    from tools.errors import BackendError

    with pytest.raises(BackendError, match="musicgen: cannot load"):
        _musicgen(tmp_path / "nothing-here").generate(ROCK, "x", GenerationParams(duration_s=1, seed=0))


def test_audiocraft_missing_says_which_extra():
    from tools.errors import MissingExtraError

    pytest.importorskip("torch")
    try:
        import audiocraft  # noqa: F401
        pytest.skip("audiocraft is installed here")
    except ImportError:
        pass
    backend = MUSIC_BACKENDS.create("audiocraft", {"model": "debug"})
    with pytest.raises(MissingExtraError, match=r"pip install 'albumgen\[audiocraft\]'"):
        backend.generate(ROCK, "x", GenerationParams(duration_s=1, seed=0))


def test_long_takes_follow_the_form_section_by_section_with_smooth_joins(tiny_musicgen_dir):
    from tools.music.base import reporting_steps

    backend = MUSIC_BACKENDS.create("musicgen", {"model": str(tiny_musicgen_dir), "device": "cpu"})
    reports = []
    with reporting_steps(lambda done, total, label: reports.append((done, total, label))):
        audio = backend.generate(ROCK, "energetic rock", GenerationParams(duration_s=65, seed=4))
    # the live bar's count: every decoder step of every window, in order, ending at the planned total
    done = [r[0] for r in reports]
    assert done == list(range(1, len(done) + 1)) and reports[-1][0] == reports[-1][1] == len(reports)
    assert len({r[1] for r in reports}) == 1  # the plan was exact: the total never changed
    windows = audio.details["windows"]
    n = len(windows)
    assert [label for label in dict.fromkeys(r[2] for r in reports)] == [f"window {k}/{n}" for k in range(1, n + 1)]
    assert abs(audio.samples.shape[1] - 65 * 32000) <= 640  # within one 50 Hz frame
    # a window per section (a section longer than a window takes several), each section's first on its bar line
    sections = audio.sections
    assert len(sections) >= 3 and sections[-1]["end_s"] == 65.0
    assert [w["segment"] for w in windows] == sorted(w["segment"] for w in windows)
    assert {w["segment"] for w in windows} == set(range(len(sections)))
    for k, section in enumerate(sections):
        first = next(w for w in windows if w["segment"] == k)
        assert abs(first["start_s"] - section["start_s"]) <= 0.02, (k, first, section)
    assert all(w["new_s"] <= 30.0 for w in windows) and all(w["frames"] * 640 >= w["new_s"] * 32000 for w in windows)
    jumps = np.abs(np.diff(audio.samples[0]))
    joins = [round(w["start_s"] * 32000) for w in windows[1:]]
    near_join = np.zeros_like(jumps, dtype=bool)
    for j in joins:
        near_join[j - 8000: j + 8000] = True
    assert jumps[near_join].max() <= jumps[~near_join].max()  # no click where windows meet


def test_int8_decoder_on_cpu_keeps_shapes_and_says_so(tiny_musicgen_dir):
    import torch

    q = MUSIC_BACKENDS.create("musicgen", {"model": str(tiny_musicgen_dir), "device": "cpu"})  # auto: int8 on CPU
    plain = MUSIC_BACKENDS.create("musicgen", {"model": str(tiny_musicgen_dir), "device": "cpu", "quantize": "none"})
    a = q.generate(ROCK, "rock", GenerationParams(duration_s=1.0, seed=1))
    b = plain.generate(ROCK, "rock", GenerationParams(duration_s=1.0, seed=1))
    assert a.details["quantized"] == "int8" and b.details["quantized"] is None
    assert a.samples.shape == b.samples.shape and np.isfinite(a.samples).all()
    layer = q._loaded[0].decoder.model.decoder.layers[0].fc1
    assert isinstance(layer, torch.ao.nn.quantized.dynamic.Linear)


@pytest.mark.parametrize("sample", [False, True], ids=["greedy", "sampled"])
def test_preallocated_kv_cache_computes_what_a_growing_cache_does(tiny_musicgen_dir, sample):
    import torch
    from transformers.cache_utils import DynamicCache, EncoderDecoderCache

    from tools.music.musicgen import preallocated_cache

    model, processor, _ = _musicgen(tiny_musicgen_dir, decoder_step="transformers")._loaded
    inputs = processor(text=["calm jazz"] * 2, return_tensors="pt")

    def codes(cache):
        seen = {}
        decode = model.audio_encoder.decode
        model.audio_encoder.decode = lambda c, *a, **k: seen.setdefault("codes", c) is None or decode(c, *a, **k)
        torch.manual_seed(0)
        try:
            with torch.inference_mode():
                model.generate(**inputs, max_new_tokens=40, do_sample=sample, guidance_scale=3.0, cache=cache)
        finally:
            model.audio_encoder.decode = decode
        return seen["codes"]

    reference = codes(EncoderDecoderCache(DynamicCache(config=model.decoder.config),
                                          DynamicCache(config=model.decoder.config)))
    assert reference.shape == (1, 2, 4, 37)
    assert torch.equal(codes(preallocated_cache(model, 41)), reference)
    assert torch.equal(codes(preallocated_cache(model, 3)), reference)  # outgrown: it doubles, same values


@pytest.mark.parametrize("quantize", ["none", "int8"])
def test_lean_decoder_step_computes_what_the_transformers_decoder_does(tiny_musicgen_dir, quantize):
    """Teacher-forced: the logits of every step, from a prompt of several positions (an audio prompt's) and
    then one position at a time, against the transformers decoder on the whole sequence; guidance's zeroed
    unconditional half included."""
    import torch

    from tools.music import musicgen_step
    from tools.music.musicgen import preallocated_cache

    model, processor, _ = _musicgen(tiny_musicgen_dir, quantize=quantize, decoder_step="transformers")._loaded
    enc = processor(text=["calm jazz", "loud rock anthem"], padding=True, return_tensors="pt")
    mask = torch.cat([enc["attention_mask"], torch.zeros_like(enc["attention_mask"])])
    assert not bool(mask[:2].all())  # the shorter prompt is padded: the cross-attention mask matters
    with torch.inference_mode():
        states = model.text_encoder(**enc).last_hidden_state
        states = model.enc_to_dec_proj(torch.cat([states, torch.zeros_like(states)])) * mask[..., None]
        ids = torch.randint(0, 64, (4 * 4, 12))
        # as generate calls it: the prompt, then one position at a time (int8 quantises each call's activations
        # with that call's own scale, so a whole-sequence forward would differ in rounding)
        cache, prompt = preallocated_cache(model, 12), 5
        reference = [model.decoder(input_ids=ids[:, :prompt], encoder_hidden_states=states,
                                   encoder_attention_mask=mask, cache=cache).logits[:, -1]]
        reference += [model.decoder(input_ids=ids[:, t: t + 1], encoder_hidden_states=states,
                                    encoder_attention_mask=mask, cache=cache).logits[:, -1] for t in range(prompt, 12)]
        step = musicgen_step.LeanStep(model.decoder)
        state = musicgen_step._State()
        got = [step.step(state, ids[:, :prompt], states, mask, 6)]  # capacity 6: it grows on the way
        got += [step.step(state, ids[:, t: t + 1], states, mask, None) for t in range(prompt, 12)]
    assert len(got) == len(reference) == 8 and state.kv.shape[4] >= 12
    for logits, expected in zip(got, reference):
        assert logits.shape == (16, 1, 64) and expected.shape == (16, 64)
        torch.testing.assert_close(logits[:, 0], expected, atol=2e-5, rtol=1e-4)
    cache = preallocated_cache(model, 8)
    cache._lean_state = state
    musicgen_step.release(cache)
    with pytest.raises(RuntimeError, match="after the window's last one"):
        step.step(state, ids[:, :1], states, mask, None)


@pytest.mark.slow
def test_lean_decoder_step_makes_the_same_takes_as_transformers(tiny_musicgen_dir):
    """Same seed, same audio: a take that fits one window, a long take whose windows continue the audio before
    them, and two takes in one batch; the trace says which step made them."""
    spec = ROCK.model_copy(update={"tempo_bpm": 150})
    windows = {"window_s": 2.0, "context_s": 0.5}
    lean = _musicgen(tiny_musicgen_dir, **windows)
    plain = _musicgen(tiny_musicgen_dir, decoder_step="transformers", **windows)
    for params, takes in ((GenerationParams(duration_s=1.0, seed=2), 1), (GenerationParams(duration_s=4.0, seed=5), 1),
                          (GenerationParams(duration_s=1.0, seed=7), 2)):
        a, b = lean.generate_takes(spec, "rock", params, takes), plain.generate_takes(spec, "rock", params, takes)
        for x, y in zip(a, b):
            assert x.details["decoder_step"] == "lean" and y.details["decoder_step"] == "transformers"
            assert x.samples.shape == y.samples.shape and np.array_equal(x.samples, y.samples)
    assert len(a[0].details["windows"]) == 1 and len(lean.generate(spec, "rock", GenerationParams(
        duration_s=4.0, seed=5)).details["windows"]) > 1


def test_in_process_fluidsynth_plays_each_track_as_the_fluidsynth_program_does():
    from tools.music import fluid
    from tools.music.arranger import Arranger
    from tools.music.base import with_form
    from tools.music.sketch import SketchRenderer, fit_length, render_fluidsynth

    assert fluid.available(), "pyfluidsynth and libfluidsynth are part of the sketch extra"
    sketch = SketchRenderer()
    sf, sr, frames = sketch.soundfont(), sketch.options.sample_rate, 10 * sketch.options.sample_rate

    def level_db(x):
        return 10 * np.log10(np.mean(x ** 2) + 1e-12)

    def envelope(x):  # 100 ms RMS of the mono sum
        return np.sqrt(np.mean(x.mean(0).reshape(-1, sr // 10) ** 2, axis=1))

    def octaves_db(x):  # energy per octave band from 100 Hz
        power, freq = np.abs(np.fft.rfft(x.mean(0))) ** 2, np.fft.rfftfreq(x.shape[1], 1 / sr)
        return np.array([10 * np.log10(power[(freq >= lo) & (freq < 2 * lo)].sum() + 1e-12)
                         for lo in 100 * 2.0 ** np.arange(7)])

    for spec in (ROCK, AMBIENT):
        _, tracks = Arranger(with_form(spec, 10.0), 3, sketch.options.humanise_ms, end_s=10.0).build()
        for name, pm in tracks.items():
            ours, program = fluid.render(pm, sf, sr, frames), fit_length(render_fluidsynth(pm, sf, sr), frames)
            assert ours.shape == program.shape == (2, frames) and ours.dtype == np.float32
            assert abs(level_db(ours) - level_db(program)) < 0.25, (spec.genre, name)
            assert np.corrcoef(envelope(ours), envelope(program))[0, 1] > 0.99, (spec.genre, name)
            # the same spectrum wherever the track has energy (the program's 16-bit file adds dither noise
            # 60 dB and more below, where the in-process float render is silent)
            bands, heard = octaves_db(ours) - octaves_db(program), octaves_db(program) > octaves_db(program).max() - 30
            assert np.all(np.abs(bands[heard]) < 1.0), (spec.genre, name, bands.round(1))
            assert np.array_equal(ours, fluid.render(pm, sf, sr, frames)), "a track plays the same every time"
