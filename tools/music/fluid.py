"""FluidSynth inside the process (pyfluidsynth): each track is played by a new synth, exactly as a fluidsynth
process per track played it with `-R 0 -C 0 -g 0.5` (reverb and chorus off, gain 0.5), without starting a
process that reads the 141 MB soundfont each time. One synth per soundfont and rate stays loaded: FluidSynth
shares a loaded soundfont's samples with every new synth of the same file, so a new synth takes about 35 ms
instead of 110 ms, and new synths are made ahead between takes. A synth is never reused: its voices keep
their last levels and ramp from them, so a track played after another differed from the same track played
first (by up to -48 dB) and takes with one seed would not be the same.
"""
from __future__ import annotations

import functools
import threading
from pathlib import Path

GAIN = 0.5
BLOCK = 64  # FluidSynth renders in blocks of 64 samples; an event takes effect at the next block's start
_KEPT: dict[tuple[str, int], Synth] = {}
_SPARE: dict[tuple[str, int], list[Synth]] = {}  # new synths made ahead, never used yet
_LATER: list[threading.Thread] = []  # the threads making them
_LOCK = threading.Lock()  # FluidSynth sets up its global tables and default modulators on the first new synth
# without a lock: two made at once added the default modulators twice (warnings, and louder, different notes)


def available() -> bool:
    """pyfluidsynth installed and libfluidsynth found (without loading either when they are not)."""
    import importlib.util

    if importlib.util.find_spec("fluidsynth") is None:
        return False
    try:
        _fluidsynth()  # raises ImportError when libfluidsynth is missing
    except (ImportError, OSError):
        return False
    return True


@functools.cache
def _fluidsynth():
    """The pyfluidsynth module. Its import prints "'fluidsynth' was found at ..." to stdout when the environment has
    CI set, which broke `--json` output in CI. The import's stdout is caught, and whatever else a thread printed
    meanwhile is passed on."""
    import contextlib
    import io
    import sys

    if "fluidsynth" in sys.modules:
        return sys.modules["fluidsynth"]
    with _LOCK:
        out = sys.stdout
        with contextlib.redirect_stdout(io.StringIO()) as said:
            try:
                import fluidsynth
            finally:
                others = [line for line in said.getvalue().splitlines(keepends=True) if "' was found at " not in line]
                if others and out is not None:
                    out.write("".join(others))
    return fluidsynth


def pretty_midi():
    """pretty_midi, imported after pyfluidsynth (which pretty_midi imports when it can) so that import is quiet."""
    try:
        _fluidsynth()
    except (ImportError, OSError):
        pass
    import pretty_midi

    return pretty_midi


@functools.cache
def _write_float():
    """libfluidsynth's fluid_synth_write_float, typed once (pyfluidsynth renders only 16-bit)."""
    import ctypes

    write = ctypes.CDLL(_fluidsynth().lib).fluid_synth_write_float
    write.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
                      ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    write.restype = ctypes.c_int
    return write


class Synth:
    """One FluidSynth synthesizer with a soundfont loaded, rendering float32 stereo."""

    def __init__(self, soundfont: Path, sample_rate: int):
        fluidsynth = _fluidsynth()
        self.sample_rate = sample_rate
        with _LOCK:
            self.fs = fluidsynth.Synth(gain=GAIN, samplerate=float(sample_rate), channels=16,
                                       **{"synth.reverb.active": 0, "synth.chorus.active": 0})
            self.sfid = self.fs.sfload(str(soundfont))
        if self.sfid < 0:
            from tools.errors import BackendError

            raise BackendError(f"sketch: FluidSynth cannot load the soundfont {soundfont}")
        self._write = _write_float()

    def render(self, pm, frames: int):
        """The instruments of a pretty_midi track played by this new synth; float32 (2, frames)."""
        import numpy as np

        out = np.zeros((frames, 2), dtype=np.float32)
        done = 0
        for when, event in self._events(pm):  # as the MIDI player: an event sounds from the next block
            done = self._fill(out, done, min(frames, -(-round(when * self.sample_rate) // BLOCK) * BLOCK))
            if done >= frames:
                break
            event()
        self._fill(out, done, frames)
        return out.T.copy()

    def _fill(self, out, done: int, upto: int) -> int:
        if upto > done:
            view = out[done:upto]
            self._write(self.fs.synth, upto - done, view.ctypes.data, 0, 2, view.ctypes.data, 1, 2)
        return max(done, upto)

    def _events(self, pm) -> list:
        """(time, action) for every program, control change, pitch bend and note of the track, in the order
        a MIDI file plays them: by time; at one time programs, controls and bends, then note-offs, then ons."""
        fs, events = self.fs, []
        melodic = [c for c in range(16) if c != 9]  # as pretty_midi writes them: drums on channel 10
        for k, inst in enumerate(pm.instruments):
            chan = 9 if inst.is_drum else melodic[k % len(melodic)]
            events.append((0.0, 0, lambda c=chan, i=inst: fs.program_select(c, self.sfid, 128 if i.is_drum else 0,
                                                                             i.program)))
            for cc in inst.control_changes:
                events.append((cc.time, 1, lambda c=chan, n=cc.number, v=cc.value: fs.cc(c, n, v)))
            for bend in inst.pitch_bends:
                events.append((bend.time, 1, lambda c=chan, v=bend.pitch: fs.pitch_bend(c, v)))
            for note in inst.notes:
                events.append((note.start, 3, lambda c=chan, p=note.pitch, v=note.velocity: fs.noteon(c, p, v)))
                events.append((note.end, 2, lambda c=chan, p=note.pitch: fs.noteoff(c, p)))
        events.sort(key=lambda e: (e[0], e[1]))
        return [(when, action) for when, _, action in events]


def render(pm, soundfont: Path, sample_rate: int, frames: int):
    """A track played by a new synth of this soundfont and rate (one made ahead when there is one), deleted
    after it."""
    warm(soundfont, sample_rate)
    with _LOCK:
        spares = _SPARE.get((str(soundfont), sample_rate))
        synth = spares.pop() if spares else None
    synth = synth or Synth(soundfont, sample_rate)
    try:
        return synth.render(pm, frames)
    finally:
        synth.fs.delete()


def warm_later(soundfont: Path, sample_rate: int, spares: int) -> None:
    """`warm` in a background thread, which the process waits for when it exits (a synth half made in a
    thread the interpreter froze at exit could crash it)."""
    thread = threading.Thread(target=warm, args=(soundfont, sample_rate, spares), name="albumgen-synths", daemon=True)
    with _LOCK:
        if not _LATER:
            import atexit

            atexit.register(lambda: [t.join(timeout=5) for t in list(_LATER)])
        _LATER[:] = [t for t in _LATER if t.is_alive()] + [thread]
    thread.start()


def warm(soundfont: Path, sample_rate: int, spares: int = 0) -> None:
    """Loads the soundfont once and keeps it loaded for the new synths of every later track, and makes new
    synths ahead until `spares` wait (about 30 ms each, saved when a take starts)."""
    key = (str(soundfont), sample_rate)
    if key not in _KEPT:
        made = Synth(soundfont, sample_rate)
        with _LOCK:
            kept = _KEPT.setdefault(key, made)
        if kept is not made:  # another thread kept one first
            made.fs.delete()
    while True:
        with _LOCK:
            if len(_SPARE.setdefault(key, [])) >= spares:
                return
        made = Synth(soundfont, sample_rate)
        with _LOCK:
            _SPARE[key].append(made)
