"""The sketch renderer: composes from the spec (form, chords, bass, drums, lead, pads) and renders
the MIDI with real instrument samples (FluidSynth + the General MIDI soundfont shipped in pretty_midi).

It plays exactly the spec's tempo, key, mode and time signature, so it needs no neural model.
"""
from __future__ import annotations

import functools
import random
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tools.errors import BackendError, require
from tools.music.base import Audio, AudioSink, GenerationParams, MusicBackend
from tools.music.mastering import TARGET_LUFS, master
from tools.registry import BackendOptions, missing
from tools.spec import MusicSpec
from tools.vocab import PITCH_CLASS, SCALES, prompt_table, vocabulary


class SketchOptions(BackendOptions):
    sample_rate: int = 32000
    soundfont: str | None = None  # default: TimGM6mb.sf2 inside pretty_midi
    renderer: Literal["auto", "fluidsynth", "numpy"] = "auto"
    humanise_ms: float = 6.0
    loudness_lufs: float = TARGET_LUFS


@functools.cache
def arrangement() -> dict:
    return prompt_table("arrangement.yaml")


@dataclass(frozen=True)
class Grid:
    """Time positions for a tempo and meter; BPM always counts quarter notes."""

    bpm: int
    numerator: int
    denominator: int

    @property
    def beat_s(self) -> float:
        return 60.0 / self.bpm

    @property
    def quarters_per_bar(self) -> float:
        return self.numerator * 4 / self.denominator

    @property
    def bar_s(self) -> float:
        return self.quarters_per_bar * self.beat_s

    @property
    def steps_per_bar(self) -> int:
        return round(self.quarters_per_bar * 4)

    @property
    def compound(self) -> bool:
        return self.denominator == 8 and self.numerator % 3 == 0

    def strong_beats(self) -> list[float]:
        """Quarter-note offsets of the accented beats within a bar."""
        if self.compound:
            return [i * 1.5 for i in range(self.numerator // 3)]
        return [float(i) for i in range(int(self.quarters_per_bar))] or [0.0]


def plan_form(total_bars: int) -> list[str]:
    """One section name per bar: intro, A, B (alternating 4-bar phrases), outro."""
    edge = 0 if total_bars < 4 else 1 if total_bars < 12 else 2
    body = total_bars - 2 * edge
    sections = ["intro"] * edge
    sections += ["A" if (i // 4) % 2 == 0 else "B" for i in range(body)]
    return sections + ["outro"] * edge


def chord_pitch_classes(tonic: int, mode: str, degree: int) -> list[int]:
    """Root, third and fifth of a diatonic triad (degree 1..7). In minor the V chord is major (harmonic
    minor's leading tone), as in most tonal music: it is what tells A minor from C major."""
    scale = SCALES[mode]
    pcs = [(tonic + scale[(degree - 1 + k) % 7]) % 12 for k in (0, 2, 4)]
    if mode == "minor" and degree == 5:
        pcs[1] = (pcs[1] + 1) % 12
    return pcs


def choose_progressions(mode: str, valence: float, rng: random.Random) -> tuple[list[int], list[int]]:
    """Two progressions whose mood is closest to the valence: A starts on the tonic (it sets the key), B may not."""
    options = sorted(arrangement()["progressions"][mode], key=lambda p: abs(p["valence"] - valence))
    a = rng.choice([p for p in options if p["degrees"][0] == 1][:2])["degrees"]
    b = rng.choice([p for p in options[:4] if p["degrees"] != a])["degrees"]
    return a, b


def cadenced(degrees: list[int], form: list[str], mode: str = "major") -> list[int]:
    """Scale degrees per bar with the key made unmistakable: every 4-bar phrase of A and B ends on the tonic
    after a cadence chord, the intro and outro sit on the tonic, and the take ends V → I. In minor the A
    phrases cadence V → i (V is major: the raised leading tone), B phrases iv → i; in major IV → I, keeping V
    → I for the end (a V before every phrase end pulled the key-finders toward the dominant key). Modal
    colour (bVII, bVI) stays in the first half of each phrase: without cadences a minor progression leaning
    on bVII is heard in the relative major (a C minor sketch as Bb major)."""
    out = list(degrees)
    start = 0
    for i, section in enumerate(form):
        if section in ("intro", "outro"):
            out[i] = 1
            continue
        if i == 0 or form[i - 1] != section:
            start = i
        position = (i - start) % 4
        phrase_end = position == 3 or i + 1 == len(form) or form[i + 1] != section
        if phrase_end:
            out[i] = 1
            if i - start >= 2:  # a phrase of two bars or less keeps its opening (tonic) chord
                final = i + 1 == len(form) or form[i + 1] == "outro"
                out[i - 1] = 5 if final or (section == "A" and mode == "minor") else 4
    if out:
        out[-1] = 1
    return out


def voice_chord(pcs: list[int], previous: list[int] | None, low: int, high: int) -> list[int]:
    """The inversion of a triad inside [low, high] that moves least from the previous voicing."""
    candidates = []
    for base in range(low, high - 7):
        voicing = sorted(base + ((pc - base) % 12) for pc in pcs)
        if voicing[-1] <= high:
            candidates.append(voicing)
    if not previous:
        return candidates[len(candidates) // 2]
    return min(candidates, key=lambda v: sum(abs(a - b) for a, b in zip(v, previous)))


class Composer:
    """Builds a pretty_midi.PrettyMIDI arrangement for a spec."""

    def __init__(self, spec: MusicSpec, seed: int, duration_s: float, humanise_ms: float = 6.0):
        import pretty_midi

        self.pm_lib = pretty_midi
        self.spec, self.rng = spec, random.Random(seed)
        num, den = (int(x) for x in spec.time_signature.split("/"))
        self.grid = Grid(spec.tempo_bpm, num, den)
        self.bars = max(1, round(duration_s / self.grid.bar_s))
        self.duration_s = duration_s
        self.tonic = PITCH_CLASS[spec.key]
        self.energy = spec.energy if spec.energy is not None else 0.5
        self.valence = spec.valence if spec.valence is not None else 0.5
        self.genre = vocabulary().genres[spec.genre]
        self.humanise = humanise_ms / 1000.0
        self.form = plan_form(self.bars)
        prog_a, prog_b = choose_progressions(spec.mode, self.valence, self.rng)
        self.degrees = cadenced([(prog_a if s in ("A", "intro") else prog_b)[i % 4] for i, s in enumerate(self.form)],
                                self.form, spec.mode)
        self.chords = [chord_pitch_classes(self.tonic, spec.mode, d) for d in self.degrees]

    # -- helpers -----------------------------------------------------------------------------
    def _time(self, bar: int, quarter: float) -> float:
        swing = self.genre.swing
        frac = quarter % 1.0
        if swing and abs(frac - 0.5) < 1e-6:
            quarter += swing / 6.0  # push the off-beat eighth towards the triplet position
        t = bar * self.grid.bar_s + quarter * self.grid.beat_s
        return max(0.0, t + self.rng.gauss(0.0, self.humanise / 2))

    def _note(self, inst, pitch: int, bar: int, quarter: float, length_q: float, velocity: int):
        start = self._time(bar, quarter)
        end = min(start + max(0.05, length_q * self.grid.beat_s * 0.95), self.duration_s)
        if start >= self.duration_s - 0.05:
            return
        vel = int(min(127, max(1, velocity + self.rng.randint(-8, 8))))
        inst.notes.append(self.pm_lib.Note(velocity=vel, pitch=int(pitch), start=start, end=end))

    def _velocity(self, base: int) -> int:
        return int(base * (0.7 + 0.5 * self.energy))

    def _cadence(self, bar: int) -> bool:
        return self.degrees[bar] == 1 and (bar == len(self.degrees) - 1 or (bar > 0 and self.degrees[bar - 1] == 5))

    # -- parts -------------------------------------------------------------------------------
    def pad(self, inst):
        previous = None
        for bar, pcs in enumerate(self.chords):
            previous = voice_chord(pcs, previous, 55, 74)
            for p in previous:
                self._note(inst, p, bar, 0.0, self.grid.quarters_per_bar, self._velocity(58))

    def comp(self, inst):
        previous = None
        arpeggio = self.genre.name in ("classical", "folk", "ambient", "cinematic", "country") or self.energy < 0.3
        for bar, pcs in enumerate(self.chords):
            previous = voice_chord(pcs, previous, 52, 72)
            if self.form[bar] == "intro" and self.energy > 0.6:
                continue
            if arpeggio:
                steps = [i * 0.5 for i in range(int(self.grid.quarters_per_bar * 2))]
                order = previous + [previous[1] + 12, previous[2], previous[1]]
                for k, q in enumerate(steps):  # accent every beat so the pulse stays audible without drums
                    self._note(inst, order[k % len(order)], bar, q, 0.9, self._velocity(52 if k % 2 else 76))
            else:
                hits = self.grid.strong_beats() if self.energy < 0.6 else \
                    [i * 0.5 for i in range(int(self.grid.quarters_per_bar * 2)) if i % 4 != 3]
                length = 1.0 if self.energy < 0.6 else 0.45
                for q in hits:
                    for p in previous:
                        self._note(inst, p, bar, q, length, self._velocity(70 if q in (0.0,) else 60))

    def bass(self, inst):
        for bar, pcs in enumerate(self.chords):
            # on the tonic chord the bass walks through its third, the note that tells minor from major (root
            # and fifth alone, with the bass's own 5th partial, a major third, made minor sketches sound major)
            walk_third = self.degrees[bar] == 1
            root = 36 + (pcs[0] - 36) % 12
            fifth = root + 7 if root + 7 <= 52 else root - 5
            if self.form[bar] == "intro":
                self._note(inst, root, bar, 0.0, self.grid.quarters_per_bar, self._velocity(72))
                continue
            beats = self.grid.strong_beats()
            if self.energy > 0.65:
                beats = [i * 0.5 for i in range(int(self.grid.quarters_per_bar * 2))]
            third = 36 + (pcs[1] - 36) % 12 + (12 if (pcs[1] - 36) % 12 < (root - 36) else 0)
            for k, q in enumerate(beats):
                pitch = (third if walk_third else fifth) if (k % 4 == 2 and self.energy > 0.4) else root
                self._note(inst, pitch, bar, q, 0.9 if self.energy > 0.65 else 1.8, self._velocity(84 if k == 0 else 72))

    def lead(self, inst):
        scale = SCALES[self.spec.mode]
        pitches = [60 + (self.tonic + s) % 12 + 12 * o for o in range(2) for s in scale]
        pitches = sorted(p for p in pitches if 62 <= p <= 84)
        idx = len(pitches) // 2
        rhythm = [0.0, 1.0, 1.5, 2.0, 3.0] if self.energy > 0.5 else [0.0, 1.0, 2.0, 3.0]
        rhythm = [q for q in rhythm if q < self.grid.quarters_per_bar] or [0.0]
        for bar, pcs in enumerate(self.chords):
            if self.form[bar] in ("intro", "outro") or (bar % 8) in (6, 7) and self.rng.random() < 0.5:
                continue
            for k, q in enumerate(rhythm):
                if k == 0:  # strong beat: nearest chord tone; at a cadence the tonic or its third (degree 1 or 3)
                    tones = pcs[:2] if self._cadence(bar) else pcs
                    idx = min(range(len(pitches)), key=lambda i: (pitches[i] % 12 not in tones, abs(i - idx)))
                else:
                    idx = min(max(0, idx + self.rng.choice((-2, -1, -1, 1, 1, 2))), len(pitches) - 1)
                nxt = rhythm[k + 1] if k + 1 < len(rhythm) else self.grid.quarters_per_bar
                self._note(inst, pitches[idx], bar, q, nxt - q, self._velocity(80 if k == 0 else 68))

    def drums(self, inst, style: str):
        pattern = arrangement()["drums"][style]
        notes = arrangement()["drum_notes"]
        for bar in range(self.bars):
            section = self.form[bar]
            if section == "intro":
                parts = {k: v for k, v in pattern.items() if k in ("hat", "shaker", "ride")}
            else:
                parts = pattern
            if bar == 0 or (section != self.form[bar - 1]) or bar == self.bars - 1:
                self._note(inst, notes["crash"], bar, 0.0, 1.0, self._velocity(90))
            for part, steps in parts.items():
                for s in range(self.grid.steps_per_bar):
                    mark = self._drum_step(steps, s, part)
                    if mark == ".":
                        continue
                    if mark == "o" and self.energy < 0.35:
                        continue
                    self._note(inst, notes[part], bar, s / 4.0, 0.25, self._velocity(92 if mark == "x" else 55))

    def _drum_step(self, steps: str, s: int, part: str) -> str:
        if self.grid.compound:  # 6/8, 12/8: kick on group starts, snare on the second group, eighths on hats
            eighth, group = s % 2 == 0, s % 6 == 0
            if part == "kick":
                return "x" if s % 12 == 0 else "."
            if part in ("snare", "clap", "side_stick"):
                return "x" if s % 12 == 6 else "."
            return ("x" if group else "o") if eighth else "."
        if part == "kick" and s == 0:
            return "x"
        return steps[s % len(steps)]

    def build(self):
        pm = self.pm_lib.PrettyMIDI(initial_tempo=float(self.spec.tempo_bpm))
        pm.time_signature_changes.append(self.pm_lib.TimeSignature(self.grid.numerator, self.grid.denominator, 0.0))
        pm.key_signature_changes.append(self.pm_lib.KeySignature(
            self.pm_lib.key_name_to_key_number(f"{self.spec.key} {self.spec.mode}"), 0.0))
        vocab = vocabulary().instruments
        parts_done: set[str] = set()
        for name in self.spec.instruments:
            info = vocab[name]
            role = info["role"]
            if role == "texture" or (role == "drums" and not info.get("drums")):
                continue
            if info.get("drums"):
                if "drums" in parts_done or self.genre.drums == "none":
                    continue
                inst = self.pm_lib.Instrument(program=0, is_drum=True, name=name)
                self.drums(inst, self.genre.drums)
                parts_done.add("drums")
            else:
                inst = self.pm_lib.Instrument(program=int(info["program"]), name=name)
                role = role if role not in parts_done or role == "lead" else "pad"
                {"pad": self.pad, "chords": self.comp, "bass": self.bass, "lead": self.lead}[role](inst)
                parts_done.add(role)
            pm.instruments.append(inst)
        if not parts_done & {"pad", "chords"}:  # harmony is what carries the key: always have some
            inst = self.pm_lib.Instrument(program=0 if self.energy > 0.4 else 89, name="harmony")
            self.pad(inst)
            pm.instruments.append(inst)
        if "bass" not in parts_done:
            inst = self.pm_lib.Instrument(program=32, name="bass")
            self.bass(inst)
            pm.instruments.append(inst)
        return pm


def default_soundfont() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("pretty_midi")
    return Path(spec.submodule_search_locations[0]) / "TimGM6mb.sf2"


def render_fluidsynth(pm, soundfont: Path, sample_rate: int):
    """Render with the fluidsynth program; returns float32 (2, frames)."""
    import soundfile as sf

    with tempfile.TemporaryDirectory(prefix="albumgen-sketch-") as tmp:
        mid, wav = Path(tmp) / "in.mid", Path(tmp) / "out.wav"
        pm.write(str(mid))
        cmd = ["fluidsynth", "-ni", "-q", "-g", "0.5", "-r", str(sample_rate), "-F", str(wav), str(soundfont), str(mid)]
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

    mono = pm.synthesize(fs=sample_rate, wave=wave).astype("float32")
    return np.stack([mono, mono])


class SketchRenderer(MusicBackend):
    """Symbolic composer + FluidSynth: real instrument sounds with no neural model and no network."""

    name = "sketch"
    Options = SketchOptions

    @property
    def model_id(self) -> str:
        return f"sketch+{Path(self.options.soundfont).name if self.options.soundfont else 'TimGM6mb.sf2'}"

    def availability(self) -> tuple[bool, str]:
        if missing("pretty_midi"):
            return False, "pretty_midi not installed: pip install 'albumgen[sketch]'"
        if not shutil.which("fluidsynth"):
            return True, "ready with the numpy fallback synth (apt-get install fluidsynth for real instruments)"
        return True, "ready (FluidSynth)"

    def _renderer(self) -> str:
        wanted = self.options.renderer
        if wanted == "auto":
            return "fluidsynth" if shutil.which("fluidsynth") else "numpy"
        if wanted == "fluidsynth" and not shutil.which("fluidsynth"):
            raise BackendError("sketch: the fluidsynth program is not installed: apt-get install fluidsynth")
        return wanted

    def generate(self, spec: MusicSpec, prompt: str, params: GenerationParams, sink: AudioSink | None = None) -> Audio:
        """Renders any duration in one pass (300 s in about 4 s here), so a stream gets
        the finished take as one chunk."""
        import io

        import numpy as np

        require("pretty_midi", "sketch")
        pm = Composer(spec, params.seed, params.duration_s, self.options.humanise_ms).build()
        renderer = self._renderer()
        soundfont = Path(self.options.soundfont) if self.options.soundfont else default_soundfont()
        if renderer == "fluidsynth":
            samples = render_fluidsynth(pm, soundfont, self.options.sample_rate)
        else:
            samples = render_numpy(pm, self.options.sample_rate)
        frames = round(params.duration_s * self.options.sample_rate)
        samples = np.pad(samples, ((0, 0), (0, max(0, frames - samples.shape[1]))))[:, :frames]
        samples, loudness = master(samples, self.options.sample_rate, self.options.loudness_lufs)
        if sink is not None:
            sink.write(0, 0, samples, self.options.sample_rate)
        midi = io.BytesIO()
        pm.write(midi)
        return Audio(samples=samples, sample_rate=self.options.sample_rate,
                     details={"renderer": renderer, "soundfont": soundfont.name if renderer == "fluidsynth" else None,
                              "instruments": [i.name for i in pm.instruments],
                              "notes": sum(len(i.notes) for i in pm.instruments),
                              "loudness_lufs": loudness},
                     extra_files={"sketch.mid": midi.getvalue()})
