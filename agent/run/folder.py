"""The run folder: created once (never over an existing one without --force), every file written
atomically, and the trace saved with its status whatever stops the run."""
from __future__ import annotations

import errno
import json
from contextlib import contextmanager
from pathlib import Path

from agent.trace import Trace, to_markdown
from tools.errors import AlbumGenError, InputError, redact
from tools.files import atomic_write, write_audio
from tools.music.base import Audio
from tools.spec import MusicSpec


def prepare_run_dir(out_dir: Path, name: str, force: bool) -> Path:
    """Make OUT/NAME, refusing an existing one without `force`, and prove it is writable."""
    run_dir = Path(out_dir) / name
    if run_dir.exists() and not force:
        raise InputError(f"output folder {run_dir} already exists: pass --force to overwrite it or choose another --seed")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        reason = "no space left" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc)).lower()
        raise InputError(f"cannot write to {out_dir} ({reason}): choose a writable folder with -o") from None
    return run_dir


def write_take(run_dir: Path, audio: Audio, name: str, audio_format: str) -> Path:
    """NAME.FORMAT in `run_dir` and the backend's extra files (the sketch's MIDI, stems/) beside it; the extras
    of take K of several go into take-K/ so that no take's stems overwrite another's."""
    path = run_dir / f"{name}.{audio_format}"
    write_audio(path, audio.samples, audio.sample_rate)
    home = run_dir if name == "audio" else run_dir / name
    for extra, data in audio.extra_files.items():
        (home / extra).parent.mkdir(parents=True, exist_ok=True)
        atomic_write(home / extra, data)
    return path


class RunWriter:
    """Owns one run folder; every save rewrites trace.json and trace.md atomically."""

    def __init__(self, run_dir: Path, trace: Trace):
        self.run_dir, self.trace = Path(run_dir), trace

    def save(self) -> None:
        atomic_write(self.run_dir / "trace.json", self.trace.to_json())
        atomic_write(self.run_dir / "trace.md", to_markdown(self.trace))

    def write_takes(self, audios: list[Audio], spec: MusicSpec, audio_format: str) -> list[Path]:
        """One take: audio.FORMAT; several: take-K.FORMAT each; and spec.json."""
        single = len(audios) == 1
        paths = [write_take(self.run_dir, audio, "audio" if single else f"take-{k + 1}", audio_format)
                 for k, audio in enumerate(audios)]
        atomic_write(self.run_dir / "spec.json", json.dumps(spec.model_dump(mode="json"), indent=2) + "\n")
        return paths


@contextmanager
def guarded(trace: Trace, writer: RunWriter):
    """Whatever stops a run, its trace is saved with why: failed (with the error) or interrupted."""
    try:
        yield
    except KeyboardInterrupt:
        trace.status, trace.error = "interrupted", "interrupted by the user"
        writer.save()
        raise
    except AlbumGenError as exc:
        trace.status, trace.error = "failed", redact(str(exc))
        writer.save()
        raise
    except Exception as exc:
        trace.status, trace.error = "failed", redact(f"{type(exc).__name__}: {str(exc)[:300]}")
        writer.save()
        raise
