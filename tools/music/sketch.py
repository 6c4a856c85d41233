"""The sketch renderer: arranges the spec's form (tools/music/arranger.py), renders each instrument with
FluidSynth and the best General MIDI soundfont present (the stems), mixes them (tools/music/mix.py) and
masters the mix. It plays exactly the spec's tempo, key, mode and time signature: no neural model.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

from tools.errors import BackendError, require
from tools.music.base import Audio, AudioSink, GenerationParams, MusicBackend, section_records, with_form
from tools.music.mastering import TARGET_LUFS, master
from tools.registry import BackendOptions, cores, missing
from tools.spec import MusicSpec

# General MIDI soundfonts from Debian, best first: FluidR3_GM (fluid-soundfont-gm, 141 MB) and MuseScore
# General (musescore-general-soundfont); pretty_midi's 6 MB TimGM6mb.sf2 is the last fallback.
SOUNDFONTS = ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf3/MuseScore_General.sf3",
              "/usr/share/sounds/sf2/MuseScore_General.sf2")

SPARE_SYNTHS = 6  # in-process synths made ahead of a take: about one per track of an arrangement


class SketchOptions(BackendOptions):
    sample_rate: int = 44100
    soundfont: str | None = None  # default: the best General MIDI soundfont present (SOUNDFONTS, then TimGM6mb)
    renderer: Literal["auto", "fluidsynth", "numpy"] = "auto"
    humanise_ms: float = 6.0
    loudness_lufs: float = TARGET_LUFS
    stems: bool = True  # write stems/<instrument>.wav of every take


def default_soundfont() -> Path:
    """The best General MIDI soundfont on this machine (TimGM6mb inside pretty_midi when there is no other)."""
    import importlib.util

    for path in SOUNDFONTS:
        if Path(path).is_file():
            return Path(path)
    spec = importlib.util.find_spec("pretty_midi")
    return Path(spec.submodule_search_locations[0]) / "TimGM6mb.sf2"


def render_fluidsynth(pm, soundfont: Path, sample_rate: int):
    """Render with the fluidsynth program, its own reverb and chorus off (the mix bus adds the room; FluidSynth's
    chorus made left and right anti-correlated); returns float32 (2, frames)."""
    import soundfile as sf

    with tempfile.TemporaryDirectory(prefix="albumgen-sketch-") as tmp:
        mid, wav = Path(tmp) / "in.mid", Path(tmp) / "out.wav"
        pm.write(str(mid))
        cmd = ["fluidsynth", "-ni", "-q", "-R", "0", "-C", "0", "-g", "0.5", "-r", str(sample_rate), "-F", str(wav),
               str(soundfont), str(mid)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0 or not wav.exists():
            raise BackendError(f"sketch: fluidsynth failed: {(proc.stderr or proc.stdout).strip().splitlines()[-1:]}")
        data, _ = sf.read(str(wav), dtype="float32", always_2d=True)
    return data.T


def render_numpy(pm, sample_rate: int):
    """Fallback without fluidsynth: additive harmonic synthesis of the pitched parts (no drums)."""
    import numpy as np

    def wave(phase):
        return np.sin(phase) + 0.4 * np.sin(2 * phase) + 0.2 * np.sin(3 * phase)

    if not any(i.notes and not i.is_drum for i in pm.instruments):
        return np.zeros((2, 1), dtype="float32")
    mono = pm.synthesize(fs=sample_rate, wave=wave).astype("float32")
    return np.stack([mono, mono])


def fit_length(samples, frames: int):
    import numpy as np

    return np.pad(samples, ((0, 0), (0, max(0, frames - samples.shape[1]))))[:, :frames]


class SketchRenderer(MusicBackend):
    """Arranger + FluidSynth per instrument + a pedalboard mix bus: real instrument sounds, no neural model."""

    name = "sketch"
    Options = SketchOptions

    @property
    def model_id(self) -> str:
        return f"sketch+{self.soundfont().name}"

    def soundfont(self) -> Path:
        return Path(self.options.soundfont) if self.options.soundfont else default_soundfont()

    def availability(self) -> tuple[bool, str]:
        if missing("pretty_midi") or missing("pedalboard"):
            return False, "pretty_midi or pedalboard not installed: pip install 'albumgen[sketch]'"
        if not shutil.which("fluidsynth"):
            return True, "ready with the numpy fallback synth (apt-get install fluidsynth for real instruments)"
        if self.soundfont().name == "TimGM6mb.sf2":
            return True, "ready with the small TimGM6mb soundfont (apt-get install fluid-soundfont-gm for a full one)"
        return True, f"ready (FluidSynth, {self.soundfont().name})"

    def _renderer(self) -> str:
        wanted = self.options.renderer
        if wanted == "auto":
            return "fluidsynth" if shutil.which("fluidsynth") else "numpy"
        if wanted == "fluidsynth" and not shutil.which("fluidsynth"):
            raise BackendError("sketch: the fluidsynth program is not installed: apt-get install fluidsynth")
        return wanted

    def _fallback(self) -> dict:
        """A warning for the trace when the take is made with less than it could be."""
        if self._renderer() == "numpy":
            return {"warning": "sketch: rendered with the numpy fallback synth (no drums): apt-get install fluidsynth"}
        if self.soundfont().name == "TimGM6mb.sf2":
            return {"warning": "sketch: rendered with the small TimGM6mb soundfont: apt-get install fluid-soundfont-gm"}
        return {}

    def warm(self) -> None:
        """Imports the arranger, the mix bus and the mastering chain, and loads the in-process synths (or,
        with the fluidsynth program, asks the kernel to read the soundfont ahead)."""
        import os

        import pedalboard  # noqa: F401
        import pyloudnorm  # noqa: F401

        import tools.music.arranger  # noqa: F401
        import tools.music.mix  # noqa: F401
        from tools.music import fluid

        fluid.pretty_midi()

        if self._in_process():  # the soundfont loaded once, kept for the new synth of every track
            fluid.warm(self.soundfont(), self.options.sample_rate, SPARE_SYNTHS)
        elif self._renderer() == "fluidsynth" and hasattr(os, "posix_fadvise"):
            fd = os.open(self.soundfont(), os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
            finally:
                os.close(fd)

    def _in_process(self) -> bool:
        """Whether FluidSynth plays in this process (pyfluidsynth and libfluidsynth present), not as a program."""
        from tools.music import fluid

        return self._renderer() == "fluidsynth" and fluid.available()

    def _make_synths_ahead(self) -> None:
        """The next take's in-process synths are made while this one is verified and written (made while it
        was mixed, they slowed the mix by as much as they saved)."""
        from tools.music import fluid

        if self._in_process():
            fluid.warm_later(self.soundfont(), self.options.sample_rate, SPARE_SYNTHS)

    def render_stems(self, tracks: dict, parts: dict[str, str], frames: int) -> list:
        """Each track rendered alone, in parallel (a new in-process synth or a fluidsynth process each), to the
        take's length."""
        from tools.music import fluid
        from tools.music.mix import Stem

        renderer, soundfont, sr = self._renderer(), self.soundfont(), self.options.sample_rate
        in_process = self._in_process()

        def one(name: str):
            pm = tracks[name]
            if in_process:  # the same engine and settings as the program, a new synth per track
                return Stem(name, parts[name], fluid.render(pm, soundfont, sr, frames))
            audio = render_fluidsynth(pm, soundfont, sr) if renderer == "fluidsynth" else render_numpy(pm, sr)
            return Stem(name, parts[name], fit_length(audio, frames))

        with ThreadPoolExecutor(max_workers=max(1, cores())) as pool:
            return list(pool.map(one, tracks))

    def generate(self, spec: MusicSpec, prompt: str, params: GenerationParams, sink: AudioSink | None = None) -> Audio:
        """Renders any duration in one pass, so a stream gets the finished take as one chunk."""
        import io

        from tools.music.arranger import Arranger
        from tools.music.mix import bus, place

        require("pretty_midi", "sketch")
        require("pedalboard", "sketch")
        spec = with_form(spec, params.duration_s)
        sr, frames = self.options.sample_rate, round(params.duration_s * self.options.sample_rate)
        arranger = Arranger(spec, params.seed, self.options.humanise_ms, end_s=params.duration_s)
        pm, tracks = arranger.build()
        stems = place(self.render_stems(tracks, {n: p for n, p, *_ in arranger.parts()}, frames), sr)
        samples, loudness = master(bus(stems, sr, spec.space), sr, self.options.loudness_lufs)
        if sink is not None:
            sink.write(0, 0, samples, sr)
        self._make_synths_ahead()
        midi = io.BytesIO()
        pm.write(midi)
        extra = {"sketch.mid": midi.getvalue()}
        if self.options.stems:
            extra.update({f"stems/{stem_file(s.name)}.wav": wav_bytes(s.samples, sr) for s in stems if has_sound(s)})
        return Audio(samples=samples, sample_rate=sr,
                     details={"renderer": self._renderer(), "soundfont": self.soundfont().name,
                              "instruments": [i.name for i in pm.instruments],
                              "notes": sum(len(i.notes) for i in pm.instruments), "loudness_lufs": loudness,
                              "space": spec.space or "studio", **self._fallback()},
                     extra_files=extra, sections=section_records(spec, params.duration_s))


def stem_file(name: str) -> str:
    """'electric guitar' -> 'electric-guitar'."""
    return "-".join(name.split())


def has_sound(stem) -> bool:
    import numpy as np

    return bool(np.any(np.abs(stem.samples) > 1e-5))


def wav_bytes(samples, sample_rate: int) -> bytes:
    """A stem as 24-bit WAV bytes (the headroom an audio editor expects of a stem)."""
    import io

    import numpy as np
    import soundfile as sf

    buffer = io.BytesIO()
    sf.write(buffer, np.clip(samples.T, -1.0, 1.0), sample_rate, format="WAV", subtype="PCM_24")
    return buffer.getvalue()
