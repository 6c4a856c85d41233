"""Atomic file output: write to a temporary file in the same folder, fsync, then rename."""
from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: Path):
    """Yield a temporary path beside `path`; on success it replaces `path` in one rename."""
    path = Path(path)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp{path.suffix}"
    # created like any file the user makes (0666 less their umask), unlike mkstemp's 0600
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
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


def default_home() -> Path:
    """Where AlbumGen keeps its run log and catalogues: $ALBUMGEN_HOME, else the platform's user data folder."""
    if os.environ.get("ALBUMGEN_HOME"):
        return Path(os.environ["ALBUMGEN_HOME"])
    import platformdirs

    return Path(platformdirs.user_data_dir("albumgen", appauthor=False))


def model_cache() -> Path:
    """Where AlbumGen keeps model files it assembles from PyPI packages: $ALBUMGEN_MODEL_CACHE, else the platform's
    user cache folder. Apart from the home, so a run with another $ALBUMGEN_HOME (each test session has its own)
    does not unpack a model again."""
    if os.environ.get("ALBUMGEN_MODEL_CACHE"):
        return Path(os.environ["ALBUMGEN_MODEL_CACHE"])
    import platformdirs

    return Path(platformdirs.user_cache_dir("albumgen", appauthor=False)) / "models"


def utc_now() -> str:
    """Now, in UTC, to the second (ISO 8601): the time stamps of the run log and the catalogues."""
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).isoformat(timespec="seconds")
