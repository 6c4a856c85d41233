"""Backends by name: one small interface per kind, looked up from config.yaml without importing heavy libraries."""
from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from tools.errors import ConfigError


class BackendOptions(BaseModel):
    """A backend's settings from config.yaml; unknown keys are an error."""

    model_config = ConfigDict(extra="forbid", frozen=True, protected_namespaces=())


class Backend:
    """Base of every backend: a name, validated Options, heavy libraries loaded on first use."""

    name: ClassVar[str] = ""
    Options: ClassVar[type[BackendOptions]] = BackendOptions

    def __init__(self, options: BackendOptions | None = None):
        self.options = options if options is not None else self.Options()
        self._in_use = threading.RLock()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Use this backend's model from one run at a time: loaded weights, KV caches and llama.cpp contexts
        are not safe to share between threads, so concurrent runs take turns at each model."""
        with self._in_use:
            yield

    @property
    def model_id(self) -> str:
        return str(getattr(self.options, "model", None) or self.name)

    def availability(self) -> tuple[bool, str]:
        """Whether this backend can run here now, and why not — without importing heavy libraries."""
        return True, "ready"

    def describe_backend(self) -> dict[str, Any]:
        """What the trace records about this backend (never secrets)."""
        return {"backend": self.name, "model": self.model_id}

    def warm(self) -> None:
        """Load what the first use would (libraries, weights), so that a run can do it in the background
        while an earlier stage works. Errors are left for the first real use to report."""


class Registry:
    """Maps backend names to 'module:Class' so that looking one up imports only that module."""

    def __init__(self, kind: str, entries: dict[str, str]):
        self.kind, self._entries = kind, dict(entries)

    def names(self) -> list[str]:
        return list(self._entries)

    def get(self, name: str) -> type[Backend]:
        if name not in self._entries:
            raise ConfigError(f"unknown {self.kind} backend {name!r}: use one of {', '.join(self._entries)}")
        module, _, cls = self._entries[name].partition(":")
        return getattr(importlib.import_module(module), cls)

    def options(self, name: str, values: dict[str, Any], where: str) -> BackendOptions:
        try:
            backend = self.get(name)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        try:
            return backend.Options(**values)
        except ValidationError as exc:
            raise ConfigError(f"{where}: {format_validation_error(exc)}") from None

    def create(self, name: str, values: dict[str, Any] | None = None, where: str = "config") -> Backend:
        return self.get(name)(self.options(name, values or {}, where))


def missing(*modules: str) -> list[str]:
    """The modules of the list that are not installed (checked with find_spec: nothing is imported)."""
    import importlib.util

    return [m for m in modules if importlib.util.find_spec(m) is None]


def hub_model_status(model: str, extra: str, marker: str = "config.json") -> tuple[bool, str]:
    """A transformers or diffusers model: local folder, cached hub id (its `marker` file is in the cache),
    or a download on first use."""
    from pathlib import Path

    gone = missing("torch", "transformers")
    if gone:
        return False, f"{', '.join(gone)} not installed: pip install 'albumgen[{extra}]'"
    if Path(model).expanduser().is_dir():
        return True, f"local folder {model}"
    try:
        from huggingface_hub import try_to_load_from_cache

        if isinstance(try_to_load_from_cache(model, marker), str):
            return True, "in the Hugging Face cache"
    except Exception:  # noqa: BLE001 - a malformed id is simply not cached
        pass
    return False, f"{model} is not downloaded yet: the first run fetches it (needs network)"


def format_validation_error(exc: ValidationError) -> str:
    """One line for the first problem pydantic found: 'key.path: message (allowed: ...)'."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "value"
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        return f"{loc}: unknown key"
    got = err.get("input")
    if got is not None and not isinstance(got, (dict, list)) and err["type"] != "missing":
        msg += f" (got {got!r})"
    return f"{loc}: {msg}"


def cores() -> int:
    """The cores this process may run on (its CPU affinity, which a container may limit), else all."""
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


_THREADS: list[int] = []  # a batch worker's share of the cores, set once in its own process


def limit_threads(threads: int) -> None:
    """This process's models use `threads` threads: torch, BLAS and OpenMP pools now, and every local model
    loaded later (llama.cpp's n_threads, onnxruntime's intra-op threads) through `thread_budget`. Oversubscribed
    spinning threads made 2 batch workers 2.8x slower than 1. Set at runtime, never through os.environ."""
    from threadpoolctl import threadpool_limits

    _THREADS[:] = [threads]
    if not missing("torch"):
        import torch

        torch.set_num_threads(threads)
    threadpool_limits(limits=threads)  # numpy's BLAS and OpenMP runtimes already loaded


def thread_budget() -> int:
    """The threads a local model may use: a batch worker's share of the cores (`limit_threads`), else all."""
    return _THREADS[0] if _THREADS else cores()


# llama-cpp-python (verbose=False) silences llama.cpp by pointing the process's stdout and stderr file
# descriptors at /dev/null and back. Two threads doing that at once (the preload loading the agent's model while
# the vision stage loads its own) can restore the other's /dev/null: the run then ended with exit code 0 and an
# empty stdout. Every such load in AlbumGen holds this lock.
STDIO_SWAP = threading.RLock()

_TURN = threading.RLock()
_TURN_STATE: dict[str, Any] = {"fd": None, "depth": 0}
TURN_WAIT_S = 120.0  # the longest a model waits for its turn before it runs anyway


@contextmanager
def cores_in_turn() -> Iterator[None]:
    """A model that uses every core takes turns with the others on this machine (threads of this process and
    other AlbumGen processes: a lock file in the temp folder). llama.cpp's threads spin while they wait for each
    other: two processes with 2 threads each on 2 cores calibrated in 47 s each, against 6 s alone, so taking
    turns finishes both sooner. A batch worker, which has its own share of the cores, never waits."""
    if _THREADS and _THREADS[0] < cores():
        yield
        return
    import fcntl
    import os
    import tempfile

    with _TURN:
        if _TURN_STATE["depth"] == 0:
            if _TURN_STATE["fd"] is None:
                path = os.path.join(tempfile.gettempdir(), f"albumgen-cores-{os.getuid()}.lock")
                try:
                    _TURN_STATE["fd"] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
                except OSError:
                    _TURN_STATE["fd"] = -1  # no shared temp folder: threads of this process still take turns
            if _TURN_STATE["fd"] >= 0 and not _wait_for_turn(_TURN_STATE["fd"]):
                os.close(_TURN_STATE["fd"])
                _TURN_STATE["fd"] = -1  # a holder that never lets go (a stopped process): stop waiting for it
        _TURN_STATE["depth"] += 1
        try:
            yield
        finally:
            _TURN_STATE["depth"] -= 1
            if _TURN_STATE["depth"] == 0 and _TURN_STATE["fd"] >= 0:
                fcntl.flock(_TURN_STATE["fd"], fcntl.LOCK_UN)


def _wait_for_turn(fd: int) -> bool:
    """Takes the machine's lock file, waiting at most TURN_WAIT_S; False when it could not."""
    import fcntl
    import time

    deadline = time.monotonic() + TURN_WAIT_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.005)
