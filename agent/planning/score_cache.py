"""Continuation scores kept across processes: what a local model's log-probabilities said once, it says again.

A llama.cpp score of a candidate after a prompt is deterministic for one model file and one llama.cpp build
(scored in the fixed layout of `LlamaCppChatModel._score`), so it is computed once per process. The
calibration questions (each field's question about "(no cover)", with every value the field can take) are
the same in every run, so their scores are also kept on disk (`persist`): without that every fresh process
spent about 10 s of its 16 s agent stage re-scoring them. Scores about a cover stay in memory: a new
process asks the model about its cover afresh. The file is ALBUMGEN_HOME/cache/scores/<model>.json, one per
model identity (its path, size, modification time and the llama.cpp version): a changed model file or a
new llama.cpp starts a new file.
"""
from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

LIMIT = 50_000  # entries per model; the oldest go first (about 4 MB of JSON at the limit)
_OPEN: dict[str, ScoreCache] = {}
_LOCK = threading.Lock()


def _digest(text: str, n: int = 16) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:n]


class ScoreCache:
    """log p(candidate | prompt) by (prompt, candidate), in memory and, when `path` is set, on disk."""

    def __init__(self, path: Path | None):
        self.path = path
        self.kept: dict[str, float] = {}  # the persisted ones
        self._lock = threading.Lock()
        if path is not None and path.is_file():
            try:
                self.kept = {str(k): float(v) for k, v in json.loads(path.read_text())["scores"].items()}
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                self.kept = {}  # a damaged cache is recomputed, never trusted
        self.scores: dict[str, float] = dict(self.kept)

    @classmethod
    def for_model(cls, identity: str | None) -> ScoreCache:
        """The one cache of a model in this process (memory only when `identity` is None)."""
        from tools.files import default_home

        key = _digest(identity) if identity else ""
        with _LOCK:
            if key not in _OPEN:
                _OPEN[key] = cls(default_home() / "cache" / "scores" / f"{key}.json" if key else None)
            return _OPEN[key]

    @staticmethod
    def entry(prompt: str, candidate: str) -> str:
        return f"{_digest(prompt)}\t{candidate}"

    def missing(self, prompt: str, candidates: list[str]) -> list[str]:
        with self._lock:
            return [c for c in dict.fromkeys(candidates) if self.entry(prompt, c) not in self.scores]

    def get(self, prompt: str, candidates: list[str]) -> list[float]:
        with self._lock:
            return [self.scores[self.entry(prompt, c)] for c in candidates]

    def put(self, prompt: str, scores: dict[str, float], persist: bool = False) -> None:
        """Keeps the new scores; `persist`: also in the file (written atomically), for every later process."""
        from tools.files import atomic_write

        new = {self.entry(prompt, c): s for c, s in scores.items()}
        with self._lock:
            for table in (self.scores, self.kept) if persist else (self.scores,):
                table.update(new)
                for stale in list(table)[: max(0, len(table) - LIMIT)]:
                    del table[stale]
            if self.path is None or not persist:
                return
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(self.path, json.dumps({"scores": self.kept}))
            except OSError:
                self.path = None  # a read-only home: scores stay in memory for this process

    def clear(self) -> None:
        """Forgets every score in memory (the file stays for the next process)."""
        with self._lock:
            self.scores.clear()
            self.kept.clear()


def llama_identity(llama) -> str | None:
    """What a llama.cpp model's scores depend on: its file (path, size, mtime) and the llama.cpp version."""
    import llama_cpp

    path = Path(getattr(llama, "model_path", "") or "")
    try:
        stat = path.resolve().stat()
    except OSError:
        return None
    return f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|llama-cpp-python {llama_cpp.__version__}"
