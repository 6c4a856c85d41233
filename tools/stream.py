"""`--stream`: audio written while it is made, as WAV files that are valid at every flush."""
from __future__ import annotations

import os
import struct
import time
from pathlib import Path
from typing import Any

from tools.music.mastering import TARGET_LUFS


class GrowingWav:
    """A 16-bit PCM WAV that grows in place: each write lands at its sample offset, then the RIFF and data
    sizes are rewritten and the file is flushed to disk, so a player opening it at any moment reads a valid
    WAV of everything written so far."""

    HEADER = 44

    def __init__(self, path: Path, channels: int, sample_rate: int):
        self.path, self.channels, self.sample_rate = Path(path), channels, sample_rate
        self.frames = 0
        self._fh = open(self.path, "w+b")
        self._header()

    def write(self, offset: int, samples: Any) -> None:
        """Put float samples (channels, n) at sample `offset` (earlier samples may be overwritten)."""
        import numpy as np

        data = np.atleast_2d(np.asarray(samples, dtype=np.float32))
        if data.shape[0] != self.channels:
            raise ValueError(f"{self.path.name}: {data.shape[0]} channels written to a {self.channels}-channel stream")
        pcm = np.round(np.clip(data, -1.0, 1.0) * 32767).astype("<i2").T.tobytes()
        self._fh.seek(self.HEADER + offset * self.channels * 2)
        self._fh.write(pcm)
        self.frames = max(self.frames, offset + data.shape[1])
        self._header()

    def _header(self) -> None:
        size = self.frames * self.channels * 2
        self._fh.seek(0)
        self._fh.write(b"RIFF" + struct.pack("<I", 36 + size) + b"WAVE"
                       + b"fmt " + struct.pack("<IHHIIHH", 16, 1, self.channels, self.sample_rate,
                                               self.sample_rate * self.channels * 2, self.channels * 2, 16)
                       + b"data" + struct.pack("<I", size))
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()


class PartialTakes:
    """The sink a run streams into: one growing `*.partial.wav` per take in the run folder, at a fixed
    preview loudness (set from each take's first chunk, so the level never pumps). The finished, mastered
    takes are written beside them atomically; `finish()` then removes the partial files. A run that fails
    or is interrupted leaves them: what was made is kept."""

    def __init__(self, run_dir: Path, takes: int, target_lufs: float = TARGET_LUFS):
        self.run_dir, self.takes, self.target_lufs = Path(run_dir), takes, target_lufs
        self.started = time.perf_counter()
        self.first_audio_s: float | None = None
        self.chunks = 0
        self._files: dict[int, GrowingWav] = {}
        self._gain: dict[int, float] = {}

    def path(self, take: int) -> Path:
        return self.run_dir / ("audio.partial.wav" if self.takes == 1 else f"take-{take + 1}.partial.wav")

    def write(self, take: int, offset: int, samples: Any, sample_rate: int) -> None:
        from tools.music.mastering import soft_limit

        samples = samples if samples.ndim == 2 else samples[None]
        if take not in self._files:
            self._files[take] = GrowingWav(self.path(take), samples.shape[0], sample_rate)
            self._gain[take] = self._preview_gain(samples, sample_rate)
        self._files[take].write(offset, soft_limit(samples * self._gain[take], 10 ** (-1 / 20)))
        self.chunks += 1
        if self.first_audio_s is None:
            self.first_audio_s = round(time.perf_counter() - self.started, 3)

    def _preview_gain(self, samples, sample_rate: int) -> float:
        import math

        from tools.music.mastering import integrated_loudness

        loudness = integrated_loudness(samples, sample_rate)
        if not math.isfinite(loudness):
            return 1.0
        return 10 ** (max(-24.0, min(24.0, self.target_lufs - loudness)) / 20)

    def summary(self) -> dict[str, Any]:
        """The trace's `stream` record (agent.records.StreamRecord)."""
        return {"paths": [self.path(k).name for k in sorted(self._files)], "first_audio_s": self.first_audio_s,
                "chunks": self.chunks, "seconds": [round(f.frames / f.sample_rate, 3) for _, f in sorted(self._files.items())]}

    def close(self) -> None:
        for f in self._files.values():
            f.close()

    def finish(self) -> None:
        """The finished takes are on disk: the previews are no longer needed."""
        self.close()
        for f in self._files.values():
            f.path.unlink(missing_ok=True)
