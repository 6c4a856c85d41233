"""The arranger: one MIDI of the whole form. Voice-led chords (the comping part and the pad never play the
same block chord: different registers and voicings), a melody developed from the motif (a returning section
restates what it played the first time, others vary it), genre bass patterns, drum grooves that change per
section with a fill before each new one, instruments entering and leaving per section, humanised timing and
velocity, dynamics that follow each section's level.

It plays exactly the spec's tempo, key, mode and time signature, so the whole take verifies.
"""
from __future__ import annotations

import functools
import random
from dataclasses import dataclass

from tools.form import Section, roman_pitch_classes
from tools.spec import MusicSpec
from tools.vocab import PITCH_CLASS, SCALES, prompt_table, vocabulary

ARPEGGIO_GENRES = ("classical", "folk", "ambient", "cinematic", "country")
BASS_STYLES = {"rock": "eighths", "punk": "eighths", "metal": "eighths", "funk": "syncopated", "jazz": "walking",
               "blues": "walking", "reggae": "offbeat", "electronic": "offbeat", "house": "offbeat",
               "techno": "offbeat", "synthwave": "eighths", "ambient": "held", "cinematic": "held",
               "classical": "held"}


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

    def eighths(self) -> list[float]:
        return [i * 0.5 for i in range(int(self.quarters_per_bar * 2))]


def voice_chord(pcs: list[int], previous: list[int] | None, low: int, high: int) -> list[int]:
    """The inversion of a chord inside [low, high] that moves least from the previous voicing."""
    candidates = []
    for base in range(low, high - 7):
        voicing = sorted(base + ((pc - base) % 12) for pc in pcs)
        if voicing[-1] <= high:
            candidates.append(voicing)
    if not previous:
        return candidates[len(candidates) // 2]
    return min(candidates, key=lambda v: sum(abs(a - b) for a, b in zip(v, previous)))


@dataclass(frozen=True)
class Bar:
    """One bar of the form: where it is, its chord and the section it belongs to."""

    index: int
    section: int
    position: int  # bar within its section
    chord: tuple[int, ...]  # pitch classes, root first
    numeral: str

    def last_in(self, sections: tuple[Section, ...]) -> bool:
        return self.position == sections[self.section].bars - 1


class Arranger:
    """Builds a pretty_midi.PrettyMIDI of the spec's whole form; `parts` names the instrument of each track."""

    def __init__(self, spec: MusicSpec, seed: int, humanise_ms: float = 6.0, end_s: float | None = None):
        from tools.music.fluid import pretty_midi

        self.pm_lib, self.spec, self.rng = pretty_midi(), spec, random.Random(seed)
        num, den = (int(x) for x in spec.time_signature.split("/"))
        self.grid = Grid(spec.tempo_bpm, num, den)
        self.sections = spec.sections
        self.tonic = PITCH_CLASS[spec.key]
        self.energy = spec.energy if spec.energy is not None else 0.5
        self.genre = vocabulary().genres[spec.genre]
        self.humanise = humanise_ms / 1000.0
        self.bars = self._bars()
        self.playing = [set(section.instruments) for section in self.sections]
        self.end_s = end_s or len(self.bars) * self.grid.bar_s  # the final chord rings to the take's end
        self._melodies: dict[str, list[tuple[int, float, float, int]]] = {}

    def _bars(self) -> list[Bar]:
        out = []
        for k, section in enumerate(self.sections):
            for p, numeral in enumerate(section.chords):
                out.append(Bar(len(out), k, p, tuple(roman_pitch_classes(numeral, self.spec.key, self.spec.mode)),
                               numeral))
        return out

    # -- helpers -----------------------------------------------------------------------------
    def level(self, bar: Bar) -> float:
        return self.sections[bar.section].energy

    def contrast(self, bar: Bar) -> bool:
        """A bridge or an episode changes the feel, not only the chords: the part that struck chords picks
        them, the part that picked strikes, the bass holds, the drums thin out to a half-time groove."""
        return self.sections[bar.section].name in ("bridge", "episode")

    def plays(self, name: str, bar: Bar) -> bool:
        return name in self.playing[bar.section]

    def velocity(self, base: int, bar: Bar) -> int:
        """A section's level and the take's energy scale every note: a chorus is louder than its verse."""
        return int(base * (0.45 + 0.55 * self.level(bar)) * (0.75 + 0.35 * self.energy))

    def _time(self, bar: int, quarter: float) -> float:
        if self.genre.swing and abs(quarter % 1.0 - 0.5) < 1e-6:
            quarter += self.genre.swing / 6.0  # push the off-beat eighth towards the triplet position
        t = bar * self.grid.bar_s + quarter * self.grid.beat_s
        return max(0.0, t + self.rng.gauss(0.0, self.humanise / 2))

    def note(self, inst, pitch: int, bar: int, quarter: float, length_q: float, velocity: int):
        start = self._time(bar, quarter)
        if start >= self.end_s - 0.05:
            return
        end = min(start + max(0.05, length_q * self.grid.beat_s * 0.95), self.end_s)
        if bar == len(self.bars) - 1 and quarter == 0.0 and length_q >= self.grid.quarters_per_bar:
            end = self.end_s
        vel = int(min(127, max(1, velocity + self.rng.randint(-6, 6))))
        inst.notes.append(self.pm_lib.Note(velocity=vel, pitch=int(pitch), start=start, end=end))

    # -- harmony -----------------------------------------------------------------------------
    def pad(self, inst, name: str):
        """Sustained upper voicing (third, fifth, root an octave up): above the comping part, never its copy."""
        previous = None
        for bar in self.bars:
            if not self.plays(name, bar):
                previous = None
                continue
            pcs = [bar.chord[1], bar.chord[2], bar.chord[0]]
            previous = voice_chord(pcs, previous, 64, 84)
            for p in previous:
                self.note(inst, p, bar.index, 0.0, self.grid.quarters_per_bar, self.velocity(62, bar))

    def comp(self, inst, name: str):
        """The rhythm part in the middle register with the root: arpeggios for the acoustic genres or quiet
        sections, chord hits whose density follows the section's level otherwise."""
        previous = None
        arpeggio = self.genre.name in ARPEGGIO_GENRES or self.energy < 0.3
        for bar in self.bars:
            if not self.plays(name, bar):
                continue
            previous = voice_chord(list(bar.chord), previous, 50, 70)
            if (arpeggio or self.level(bar) < 0.45) != self.contrast(bar):
                self._arpeggio(inst, previous, bar)
            else:
                self._hits(inst, previous, bar)

    def _arpeggio(self, inst, voicing: list[int], bar: Bar):
        order = voicing + [voicing[1] + 12, voicing[2], voicing[1]]
        for k, q in enumerate(self.grid.eighths()):  # accent every beat so the pulse stays audible without drums
            self.note(inst, order[k % len(order)], bar.index, q, 0.9, self.velocity(52 if k % 2 else 74, bar))

    def _hits(self, inst, voicing: list[int], bar: Bar):
        level = self.level(bar)
        # straight eighths at a peak, every beat below, short: a pattern that repeats every two beats (eighths
        # skipping the last of each four) or legato chords over a walking bass were heard in half time
        hits = self.grid.eighths() if level >= 0.8 else self.grid.strong_beats()
        for q in hits:
            accent = 72 if q == 0.0 else 64 if q == int(q) else 54
            for p in voicing:
                self.note(inst, p, bar.index, q, 0.45, self.velocity(accent, bar))

    def accents(self, inst, name: str):
        """Pitched percussion (timpani): the root on each bar's downbeat, a crescendo roll into a louder section."""
        for bar in self.bars:
            if not self.plays(name, bar):
                continue
            root = 40 + (bar.chord[0] - 40) % 12
            self.note(inst, root, bar.index, 0.0, 1.0, self.velocity(84, bar))
            nxt = bar.section + 1
            if bar.last_in(self.sections) and nxt < len(self.sections) and \
                    self.sections[nxt].energy > self.sections[bar.section].energy:
                start = self.grid.quarters_per_bar - 1.0
                for k in range(4):
                    self.note(inst, root, bar.index, start + k * 0.25, 0.25, self.velocity(56 + 10 * k, bar))

    # -- bass --------------------------------------------------------------------------------
    def bass(self, inst, name: str):
        style = BASS_STYLES.get(self.genre.name, "root-fifth")
        for bar in self.bars:
            if not self.plays(name, bar):
                continue
            root = 36 + (bar.chord[0] - 36) % 12
            fifth = root + 7 if root + 7 <= 52 else root - 5
            third = root + (bar.chord[1] - bar.chord[0]) % 12
            if self.level(bar) < 0.45 or style == "held" or bar.index == len(self.bars) - 1 or self.contrast(bar):
                self.note(inst, root, bar.index, 0.0, self.grid.quarters_per_bar, self.velocity(80, bar))
                continue
            for q, pitch, length in self._bass_line(style, root, fifth, third, bar):
                self.note(inst, pitch, bar.index, q, length, self.velocity(88 if q == 0 else 74, bar))

    def _bass_line(self, style: str, root: int, fifth: int, third: int, bar: Bar) -> list[tuple[float, int, float]]:
        """(quarter, pitch, length) of one bar. On the tonic chord the line passes its third, the note that
        tells minor from major (root and fifth alone read as major through the bass's 5th partial)."""
        beats = self.grid.strong_beats()
        other = third if bar.numeral in ("I", "i") else fifth
        if style == "eighths":  # on the tonic, the bar's last two eighths climb through the third
            line = [(q, root, 0.45) for q in self.grid.eighths()]
            if bar.numeral in ("I", "i") and len(line) >= 4:
                line[-2:] = [(line[-2][0], third, 0.45), (line[-1][0], fifth, 0.45)]
            return line
        if style == "walking":
            nxt = self.bars[min(bar.index + 1, len(self.bars) - 1)].chord[0]
            approach = 36 + (nxt - 36) % 12 - 1
            line = [root, third, fifth, approach]
            return [(q, line[k % 4], 0.9) for k, q in enumerate(beats)]
        if style == "syncopated":
            return [(0.0, root, 0.4), (0.75, root + 12, 0.25), (1.5, other, 0.4), (2.5, root, 0.4), (3.25, fifth, 0.25)]
        if style == "offbeat":
            return [(q + 0.5, root, 0.4) for q in beats]
        return [(q, root if k % 2 == 0 else other, 0.9) for k, q in enumerate(beats)]

    # -- melody ------------------------------------------------------------------------------
    def lead(self, inst, name: str):
        """The motif, stated on each phrase's first chord tone; a returning section replays its first melody."""
        for k, section in enumerate(self.sections):
            first = next(b for b in self.bars if b.section == k)
            if name not in self.playing[k]:
                continue
            if section.name not in self._melodies:
                self._melodies[section.name] = self._phrase_notes(section, first)
            for offset, pitch, q, length, vel in self._melodies[section.name]:
                if offset < section.bars:
                    bar = self.bars[first.index + offset]
                    self.note(inst, pitch, bar.index, q, length, self.velocity(vel, bar))

    def _scale_pitches(self) -> list[int]:
        scale = SCALES[self.spec.mode]
        pitches = {60 + (self.tonic + s) % 12 + 12 * o for o in range(-1, 3) for s in scale}
        return sorted(p for p in pitches if 60 <= p <= 86)

    def _phrase_notes(self, section: Section, first: Bar) -> list[tuple[int, int, float, float, int]]:
        """(bar offset, pitch, quarter, length, velocity) for a section: two-bar phrases, the motif and its
        answer. A peak states the motif as it is, a verse a step lower and a contrast section inverted."""
        motif = self.spec.motif
        role = {"chorus": "peak", "drop": "peak", "theme": "peak", "solo": "peak"}.get(section.name, "")
        steps = list(motif.steps)
        if section.name in ("bridge", "breakdown", "episode"):
            steps = [-s for s in steps]
        scale = self._scale_pitches()
        out = []
        for start in range(0, section.bars, 2):
            bar = self.bars[first.index + start]
            anchor = self._nearest(scale, bar.chord, 70 if role == "peak" else 67)
            shift = -1 if section.name in ("verse", "pre-chorus", "build") and (start // 2) % 2 else 0
            out += self._motif_notes(scale, anchor + shift, steps, motif.rhythm, start, 84 if role == "peak" else 74)
            if start + 1 < section.bars:
                answer = self.bars[first.index + start + 1]
                end = self._nearest(scale, answer.chord, scale[anchor])
                out += self._motif_notes(scale, end, list(reversed(steps)), tuple(reversed(motif.rhythm)), start + 1, 68)
        return out

    def _nearest(self, scale: list[int], chord: tuple[int, ...], target: int) -> int:
        """Index in `scale` of the chord tone nearest to MIDI pitch `target`."""
        return min(range(len(scale)), key=lambda i: (scale[i] % 12 not in chord, abs(scale[i] - target)))

    def _motif_notes(self, scale: list[int], anchor: int, steps: list[int], rhythm, bar_offset: int, vel: int):
        out, q = [], 0.0
        for step, length in zip(steps, rhythm):
            if q >= self.grid.quarters_per_bar:
                break
            idx = min(max(anchor + step, 0), len(scale) - 1)
            out.append((bar_offset, scale[idx], q, min(length, self.grid.quarters_per_bar - q), vel))
            q += length
        return out

    # -- drums -------------------------------------------------------------------------------
    def drums(self, inst, name: str):
        pattern = arrangement()["drums"][self.genre.drums if self.genre.drums != "none" else "pop"]
        notes = arrangement()["drum_notes"]
        for bar in self.bars:
            if not self.plays(name, bar):
                continue
            level = self.level(bar)
            if bar.position == 0:
                self.note(inst, notes["crash"], bar.index, 0.0, 1.0, self.velocity(96 if level >= 0.8 else 70, bar))
            fill = bar.last_in(self.sections) and bar.section + 1 < len(self.sections)
            groove = self._groove(pattern, level) if not self.contrast(bar) else \
                {"kick": "x.......x.......", "ride" if "ride" in pattern else "hat": "x...x...x...x..."}
            for part, steps in groove.items():
                for s in range(self.grid.steps_per_bar):
                    if fill and s >= self.grid.steps_per_bar // 2 and part != "kick":
                        continue
                    mark = self._drum_step(steps, s, part)
                    if mark != "." and not (mark == "o" and self.energy < 0.35):
                        self.note(inst, notes[part], bar.index, s / 4.0, 0.25, self.velocity(94 if mark == "x" else 56, bar))
            if fill:
                self._fill(inst, bar)

    @staticmethod
    def _groove(pattern: dict[str, str], level: float) -> dict[str, str]:
        """The groove at a section's level: hats alone when quiet, the pattern in the body, the pattern with the
        ride or open hat instead of the closed hat at a peak (the cymbal colour marks the section)."""
        if level < 0.45:
            return {k: v for k, v in pattern.items() if k in ("hat", "shaker", "ride")} or {"hat": "x.x.x.x.x.x.x.x."}
        if level >= 0.8:
            if "hat" in pattern and "ride" not in pattern:
                return {("ride" if k == "hat" else k): v for k, v in pattern.items()}
            return {**pattern, "open_hat": pattern.get("open_hat", "..o...o...o...o.")}
        return {k: v for k, v in pattern.items() if k != "open_hat"}

    def _fill(self, inst, bar: Bar):
        """Snare and toms on the sixteenths of the bar's second half, rising in velocity into the next section."""
        notes, toms = arrangement()["drum_notes"], (50, 48, 45, 43)
        half = self.grid.steps_per_bar // 2
        for k, s in enumerate(range(half, self.grid.steps_per_bar)):
            pitch = notes["snare"] if k % 2 == 0 else toms[(k // 2) % len(toms)]
            self.note(inst, pitch, bar.index, s / 4.0, 0.25, self.velocity(70 + 4 * k, bar))

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

    # -- the whole ---------------------------------------------------------------------------
    def parts(self) -> list[tuple[str, str, int, bool]]:
        """(name, part, GM program, is drum) of every track: the plan's instruments by role (a second of one
        role becomes a pad, a second lead doubles the melody an octave down), harmony and bass added when the
        plan has none (they carry the key)."""
        vocab, out, roles = vocabulary().instruments, [], set()
        has_chords = any(vocab[i]["role"] == "chords" for i in self.spec.instruments)
        for name in self.spec.instruments:
            info = vocab[name]
            if info["role"] == "texture":
                continue
            if info["role"] == "drums" and not info.get("drums"):  # timpani: pitched accents
                out.append((name, "accents", int(info["program"]), False))
                continue
            if info["role"] == "pad" and not has_chords and "chords" not in roles:
                out.append((name, "chords", int(info["program"]), False))  # a moving part: the pulse without drums
                roles.add("chords")
                continue
            if info.get("drums"):
                if "drums" not in roles:
                    out.append((name, "drums", 0, True))
                roles.add("drums")
                continue
            role = info["role"] if info["role"] not in roles or info["role"] == "lead" else "pad"
            out.append((name, role, int(info["program"]), False))
            roles.add(role)
        if not roles & {"pad", "chords"}:
            out.append(("harmony", "pad", 0 if self.energy > 0.4 else 89, False))
        if "bass" not in roles:
            out.append(("bass", "bass", 32, False))
        return out

    def build(self):
        """(the whole form as one PrettyMIDI, {track name: its PrettyMIDI alone}) for the mix and the stems."""
        pm = self._midi()
        tracks = {}
        for name, part, program, is_drum in self.parts():
            inst = self.pm_lib.Instrument(program=program, is_drum=is_drum, name=name)
            if name not in self.spec.instruments:
                self._add_everywhere(name)
            getattr(self, {"chords": "comp"}.get(part, part))(inst, name)
            pm.instruments.append(inst)
            alone = self._midi()
            alone.instruments.append(inst)
            tracks[name] = alone
        return pm, tracks

    def _add_everywhere(self, name: str) -> None:
        """An added harmony part plays in every section, an added bass from the body on and in the outro."""
        for k, section in enumerate(self.sections):
            if name != "bass" or section.energy >= 0.45 or section.name == "outro":
                self.playing[k].add(name)

    def _midi(self):
        pm = self.pm_lib.PrettyMIDI(initial_tempo=float(self.spec.tempo_bpm))
        pm.time_signature_changes.append(self.pm_lib.TimeSignature(self.grid.numerator, self.grid.denominator, 0.0))
        pm.key_signature_changes.append(self.pm_lib.KeySignature(
            self.pm_lib.key_name_to_key_number(f"{self.spec.key} {self.spec.mode}"), 0.0))
        return pm
