"""Running a batch on Ray: actors that each hold one Worker, joined to a cluster or a new local one."""
from __future__ import annotations

from typing import Any

from agent.batch.records import Outcome, Task
from agent.batch.worker import Driver, Worker, WorkerSpec
from tools.errors import BackendError, ConfigError


def _ray_connect(address: str | None, num_cpus: float):
    """Ray, joined to the cluster at `address` (auto, HOST:6379, ray://HOST:10001), or a new local one."""
    from tools.errors import require

    ray = require("ray", "batch", "ray")
    if ray.is_initialized():
        return ray
    try:
        if address and address.startswith("ray://"):  # Ray Client: the cluster's own settings
            ray.init(address=address)
        else:
            kwargs = {"address": address} if address else {"num_cpus": num_cpus}
            ray.init(**kwargs, include_dashboard=False, log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ConfigError(f"cannot start or join a Ray cluster at {address or 'a new local one'} "
                          f"({str(exc).splitlines()[0][:160]}): check --ray ADDRESS (auto, HOST:6379 or "
                          "ray://HOST:10001)") from None
    return ray


def run_ray(batch: Driver, tasks: list[Task], workers: int, address: str | None, progress) -> tuple[int, dict]:
    """Ray actors that each hold a loaded pipeline (num_cpus / num_gpus from the profile's worker keys). The
    driver gives one cover at a time to each ready actor, writes the manifest, and replaces an actor that
    died, retrying its cover on another (batch.max_retries)."""
    ray = _ray_connect(address, workers * batch.resources.num_cpus)
    fleet = _RayFleet(ray, batch, list(tasks), progress, batch.worker_spec(workers, cluster=bool(address)))
    try:
        for _ in range(min(workers, len(tasks))):
            fleet.start_actor()
        while fleet.queue or fleet.running():
            fleet.dispatch()
            ready, _ = ray.wait(list(fleet.pending), num_returns=1)
            fleet.settle(ready[0])
    finally:
        fleet.close()
    return fleet.retries, fleet.rss


class _RayFleet:
    """The driver's view of its actors: which are starting, idle or making which cover."""

    def __init__(self, ray, batch: Driver, queue: list[Task], progress, spec: WorkerSpec):
        res = batch.resources
        self.ray, self.batch, self.queue, self.progress = ray, batch, queue, progress
        self.actor_cls = ray.remote(num_cpus=res.num_cpus, num_gpus=res.num_gpus, max_restarts=0)(Worker)
        self.spec = spec
        self.pending: dict[Any, tuple[str, Any, Task | None]] = {}  # ref → (what, actor, task)
        self.idle: list[Any] = []
        self.pids: dict[Any, int] = {}
        self.retries, self.rss, self.stillborn = 0, {}, 0

    def start_actor(self) -> None:
        actor = self.actor_cls.remote(self.spec)
        self.pending[actor.pid.remote()] = ("pid", actor, None)

    def running(self) -> bool:
        return any(what == "run" for what, _a, _t in self.pending.values())

    def dispatch(self) -> None:
        while self.queue and self.idle:
            actor, task = self.idle.pop(), self.queue.pop(0)
            self.batch.started(task, f"ray actor pid {self.pids[actor]}")
            self.pending[actor.run.remote(task)] = ("run", actor, task)

    def settle(self, ref) -> None:
        what, actor, task = self.pending.pop(ref)
        try:
            value = self.ray.get(ref)
        except (self.ray.exceptions.RayActorError, self.ray.exceptions.WorkerCrashedError) as exc:
            self.died(what, actor, task, exc)
            return
        if what == "run":
            self.rss[f"ray actor pid {self.pids[actor]}"] = value.rss_mb
            self.batch.finished(value)
            self.progress(value)
            if value.replace_worker:  # timed out: its models may be half-loaded
                self.ray.kill(actor)
                self.pids.pop(actor, None)
                self.start_actor()
                return
        else:
            self.pids[actor] = value
        self.idle.append(actor)

    def died(self, what: str, actor, task: Task | None, exc: Exception) -> None:
        self.stillborn += what == "pid"
        if self.stillborn > self.batch.config.batch.max_retries + 1:
            raise BackendError(f"Ray actors keep failing before they are ready: {str(exc).splitlines()[0][:200]}")
        if task is not None:
            if self.batch.lost(task, f"Ray actor pid {self.pids.get(actor)} died while making this cover"):
                self.queue.insert(0, task)
                self.retries += 1
            self.progress(Outcome(task.idx, "retry", key=task.key))
        self.pids.pop(actor, None)
        self.start_actor()  # a fresh actor takes its place

    def close(self) -> None:
        for actor in list(self.pids) + [a for _w, a, _t in self.pending.values()]:
            self.ray.kill(actor)

