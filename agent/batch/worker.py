"""A batch worker: one loaded pipeline making covers one after another, in a pool process or a Ray actor."""
from __future__ import annotations

import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from agent.batch.records import Outcome, RowSummary, Task
from tools.errors import AlbumGenError, redact


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker needs to build its pipeline: picklable, the same for a pool process and a Ray actor."""

    config_path: str | None
    profile: str | None
    model: str | None
    catalog: str | None
    out_dir: str
    takes: int
    timeout_s: float
    threads: int


class Worker:
    """One loaded pipeline that makes covers one after another (a pool process or a Ray actor)."""

    def __init__(self, spec: WorkerSpec):
        import warnings

        from agent.api import AlbumGen
        from agent.config import load_config

        warnings.filterwarnings("ignore", category=UserWarning, module="librosa")  # one line per row, not per frame
        if spec.threads:  # the worker's share of the cores, for every library (this is its own process)
            from tools.registry import limit_threads

            limit_threads(spec.threads)
        self.spec = spec
        self.app = AlbumGen(load_config(spec.config_path), profile=spec.profile, model=spec.model, catalog=spec.catalog)

    def pid(self) -> int:
        return os.getpid()

    def run(self, task: Task) -> Outcome:
        start = time.perf_counter()
        clock: dict[str, bool] = {}
        try:
            with _deadline(self.spec.timeout_s, clock):
                result = self.app.generate(task.cover, out_dir=self.spec.out_dir, duration=task.duration,
                                           seed=task.seed, force=task.redo, takes=self.spec.takes, genre=task.genre,
                                           stream=False)  # nobody listens to a batch while it runs
        except Exception as exc:  # noqa: BLE001  (isolation: any failure is this row's one line)
            if clock.get("expired"):  # whatever the interrupted library made of it (torch: a RuntimeError)
                return _failed(task, f"timed out after {self.spec.timeout_s:g} s (batch.timeout_s in config.yaml)",
                               start, replace_worker=True)  # its models may be half-loaded
            text = str(exc) if isinstance(exc, AlbumGenError) else f"{type(exc).__name__}: {str(exc)[:300]}"
            return _failed(task, redact(text), start)
        return Outcome(task.idx, "done", key=task.key, run_dir=str(result.run_dir), summary=_summary(result),
                       seconds=round(time.perf_counter() - start, 2), rss_mb=_peak_rss_mb())


def _failed(task: Task, error: str, start: float, replace_worker: bool = False) -> Outcome:
    """The row's one line: the error's first line."""
    return Outcome(task.idx, "failed", key=task.key, error=error.splitlines()[0] if error.strip() else "failed",
                   seconds=round(time.perf_counter() - start, 2), rss_mb=_peak_rss_mb(), replace_worker=replace_worker)


def _peak_rss_mb() -> float:
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


@contextmanager
def _deadline(seconds: float, clock: dict[str, bool]):
    """A per-cover time limit in the worker's main thread (SIGALRM); 0 turns it off. clock["expired"] says
    it fired, whatever exception the interrupted code turned it into."""
    if not seconds or not hasattr(signal, "SIGALRM") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(_signum, _frame):
        clock["expired"] = True
        raise TimeoutError

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.5)  # again every 0.5 s: a library may swallow the first
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _summary(result) -> RowSummary:
    spec, measured = result.spec, result.measured
    return RowSummary(genre=spec.genre, moods=list(spec.moods), tempo_wanted=spec.tempo_bpm,
                      tempo_measured=measured.tempo_bpm if measured else None,
                      key_wanted=f"{spec.key} {spec.mode}" if spec.key else None,
                      key_measured=f"{measured.key} {measured.mode}" if measured and measured.key else None,
                      duration_s=spec.duration_s, energy=spec.energy, valence=spec.valence,
                      cited=_cited(result.trace), decisions=len(result.trace.rationales or {}),
                      verified=None if result.trace.verification is None else result.trace.verification.met,
                      warnings=list(result.trace.warnings))


def _cited(trace) -> int:
    """Rationales that cite this cover's own evidence ids (not just any E-number)."""
    from tools.grounding.evidence import EvidenceSet

    evidence = EvidenceSet.from_records(trace.evidence)
    return sum(bool(evidence.cited(text)) for text in (trace.rationales or {}).values())


def serve(spec: WorkerSpec, conn) -> None:
    """A pool process: build one Worker, then make every cover the driver sends until it sends None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    os.dup2(2, 1)  # stdout is the driver's (--json): what libraries print, even from C, goes to stderr
    sys.stdout = sys.stderr
    try:
        worker = Worker(spec)
    except AlbumGenError as exc:
        conn.send(("unusable", exc.exit_code, redact(str(exc))))
        return
    except Exception as exc:  # noqa: BLE001
        conn.send(("unusable", 1, redact(f"{type(exc).__name__}: {exc}")))
        return
    conn.send(("ready", os.getpid()))
    while (task := conn.recv()) is not None:
        outcome = worker.run(task)
        conn.send(("made", outcome))
        if outcome.replace_worker:  # a fresh process takes this one's place
            return


class Driver(Protocol):
    """The driver as the pool and Ray runners see it (agent.batch.driver.Batch): its resources and the
    bookkeeping they report to."""

    config: Any
    resources: Any

    def worker_spec(self, workers: int, cluster: bool = False) -> WorkerSpec: ...

    def started(self, task: Task, worker: str) -> None: ...

    def finished(self, outcome: Outcome) -> None: ...

    def lost(self, task: Task, why: str) -> bool: ...
