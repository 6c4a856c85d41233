"""Running a batch on a local pool of spawned processes, each holding one Worker."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent.batch.records import Outcome, Task
from agent.batch.worker import Driver, serve
from tools.errors import BackendError, ConfigError


@dataclass
class _Slot:
    """One pool process as the driver sees it: its pipe, its pid once ready, the cover it is making."""

    process: Any
    conn: Any
    pid: int | None = None
    task: Task | None = None
    retiring: bool = False  # it timed out and is exiting: a fresh process takes its place


def run_pool(batch: Driver, tasks: list[Task], workers: int, _address, progress) -> tuple[int, dict]:
    """`workers` spawned processes (no forked torch state), each building its pipeline once and making one
    cover at a time, so the manifest's running rows are exact and a process that dies costs its own cover
    a retry, nobody else's."""
    import multiprocessing
    from multiprocessing.connection import wait

    context = multiprocessing.get_context("spawn")
    spec, queue, retries, rss = batch.worker_spec(workers), list(tasks), 0, {}

    def start() -> _Slot:
        parent, child = context.Pipe()
        process = context.Process(target=serve, args=(spec, child), daemon=True)
        process.start()
        child.close()
        return _Slot(process, parent)

    slots = [start() for _ in range(min(workers, len(queue)))]
    stillborn = 0
    try:
        while queue or any(s.task for s in slots):
            for slot in slots:
                if slot.pid and slot.task is None and not slot.retiring and queue:
                    slot.task = queue.pop(0)
                    batch.started(slot.task, f"pid {slot.pid}")
                    slot.conn.send(slot.task)
            ready = wait([s.conn for s in slots] + [s.process.sentinel for s in slots])
            for slot in [s for s in slots if s.conn in ready or s.process.sentinel in ready]:
                try:
                    message = slot.conn.recv() if slot.conn.poll() else None
                except (EOFError, OSError):
                    message = None
                if message is None and not slot.process.is_alive():  # died: its cover is retried
                    why = f"worker pid {slot.pid} died while making this cover (exit {slot.process.exitcode})"
                    if slot.task is not None and batch.lost(slot.task, why):
                        queue.insert(0, slot.task)
                        retries += 1
                        progress(Outcome(slot.task.idx, "retry", key=slot.task.key))
                    stillborn += slot.pid is None
                    if stillborn > batch.config.batch.max_retries + 1:
                        raise BackendError(f"batch workers keep dying before they are ready (exit "
                                           f"{slot.process.exitcode}): run one cover with albumgen generate to see why")
                    slots[slots.index(slot)] = start()
                elif message is not None:
                    _pool_message(batch, slot, message, rss, progress)
    finally:
        for slot in slots:
            slot.process.kill()
    return retries, rss


def _pool_message(batch: Driver, slot: _Slot, message: tuple, rss: dict, progress) -> None:
    kind = message[0]
    if kind == "unusable":  # the pipeline cannot even be built (config): no cover can be made
        raise (ConfigError if message[1] == 2 else BackendError)(f"a batch worker could not start: {message[2]}")
    if kind == "ready":
        slot.pid = message[1]
        return
    outcome = message[1]
    rss[f"pid {slot.pid}"] = outcome.rss_mb
    batch.finished(outcome)
    progress(outcome)
    slot.task, slot.retiring = None, outcome.replace_worker

