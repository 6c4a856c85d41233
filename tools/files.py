"""Atomic file output: write to a temporary file in the same folder, fsync, then rename."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

_UMASK = os.umask(0o022)
os.umask(_UMASK)


@contextmanager
def atomic_path(path: Path):
    """Yield a temporary path beside `path`; on success it replaces `path` in one rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs get the user's usual mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write(path: Path, data: bytes | str) -> None:
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_path(path) as tmp:
        tmp.write_bytes(payload)


def write_audio(path: Path, samples, sample_rate: int) -> None:
    """Write float samples shaped (channels, frames) as 16-bit WAV or FLAC (by suffix), atomically."""
    import numpy as np
    import soundfile as sf

    data = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    fmt = path.suffix.lstrip(".").upper()
    with atomic_path(path) as tmp:
        sf.write(str(tmp), data.T if data.ndim == 2 else data, sample_rate, subtype="PCM_16", format=fmt)
