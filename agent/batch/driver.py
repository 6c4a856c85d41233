"""The batch driver: INPUT → OUTDIR with its manifest, the workers' resources, and the bookkeeping the pool
and Ray share."""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from agent.batch.inputs import read_input
from agent.batch.manifest import Manifest
from agent.batch.pool import run_pool
from agent.batch.ray_fleet import run_ray
from agent.batch.record import BatchReport, write_summary
from agent.batch.records import Outcome, Task
from agent.batch.worker import WorkerSpec
from agent.config import resolve
from tools.errors import ConfigError, InputError
from tools.limits import fresh_seed
from tools.registry import cores


def default_workers(resources) -> int:
    """As many workers as the cores hold (the profile's worker.num_cpus each) and the memory available holds
    (worker.memory_gb each, keeping 1 GB for the system), whichever is fewer; at least one."""
    by_cores = int(cores() // resources.num_cpus)
    available = _available_memory_gb()
    by_memory = int(max(available - 1.0, 0) // resources.memory_gb) if available else by_cores
    return max(1, min(by_cores, by_memory))


def _available_memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


class Batch:
    """One batch: INPUT → OUTDIR with its manifest; run it on a local pool or on Ray."""

    def __init__(self, config, input_path: Path, out_dir: Path, profile: str | None = None, model: str | None = None,
                 catalog: str | None = None, duration: float | None = None, takes: int | None = None,
                 seed: int | None = None,
                 resume: bool = False, retry_failed: bool = False, config_path: str | None = None):
        self.config, self.out_dir = config, Path(out_dir)
        asked = {"profile": profile, "model": model, "catalog": catalog, "duration": duration, "takes": takes,
                 "seed": seed}
        manifest_path = self.out_dir / "batch.sqlite"
        if manifest_path.exists() and not (resume or retry_failed):
            raise InputError(f"{self.out_dir} already holds a batch (batch.sqlite): pass --resume to continue it, "
                             "--retry-failed to retry its failed covers, or choose another -o")
        if not manifest_path.exists() and (resume or retry_failed):
            raise InputError(f"{self.out_dir} holds no batch to resume (no batch.sqlite): run without --resume first")
        if manifest_path.exists():
            self.manifest = Manifest(manifest_path)
            stored = self.manifest.settings()
            changed = [k for k, v in asked.items() if v is not None and v != stored.get(k)
                       and not (k == "takes" and v == 1 and stored.get(k) is None)]
            if changed:
                raise InputError(f"--resume with other settings than the batch was made with "
                                 f"({', '.join(f'{k} {stored.get(k)!r}, not {asked[k]!r}' for k in changed)}): leave "
                                 "them out to use the batch's own, or start a new batch in another folder")
            self.manifest.reopen(retry_failed)
        else:
            profile = resolve(config, profile, model, catalog=catalog).profile  # bad flags fail here, not per cover
            jobs = read_input(Path(input_path))
            self.out_dir.mkdir(parents=True, exist_ok=True)
            self.manifest = Manifest(manifest_path)
            self.manifest.create({**asked, "input": str(Path(input_path).resolve()), "profile": profile,
                                  "takes": takes or 1, "seed": fresh_seed() if seed is None else seed}, jobs)
        self.settings = self.manifest.settings()
        try:
            setup = resolve(config, self.settings["profile"], self.settings["model"], catalog=self.settings["catalog"])
        except ConfigError as exc:
            raise ConfigError(f"the batch's settings no longer resolve against config.yaml: {exc}") from None
        self.profile, self.resources = setup.profile, setup.worker
        self.config_path = config_path

    def worker_spec(self, workers: int, cluster: bool = False) -> WorkerSpec:
        """Each worker's threads: its share of this machine's cores; on a Ray cluster its actor's num_cpus
        (a local Ray cluster is this machine: the share again, at most num_cpus; more threads than cores
        made `--ray --workers 2` 3x slower than the pool here)."""
        share = max(1, cores() // max(workers, 1))
        threads = max(1, int(self.resources.num_cpus)) if cluster else share
        return WorkerSpec(self.config_path, self.profile, self.settings["model"], self.settings["catalog"],
                          str(self.out_dir), int(self.settings["takes"]), self.config.batch.timeout_s, threads)


    def run(self, workers: int | None = None, ray_address: str | None = None, use_ray: bool = False,
            progress: Callable[[Outcome], None] | None = None) -> BatchReport:
        start = time.perf_counter()
        workers = workers or self.config.batch.workers or default_workers(self.resources)
        tasks = self.manifest.pending(self.settings["duration"])
        runner = run_ray if use_ray else run_pool
        retries, rss = 0, {}
        if tasks:
            retries, rss = runner(self, tasks, workers, ray_address, progress or (lambda _o: None))
        rows = self.manifest.rows()
        write_summary(self.out_dir / "summary.csv", rows)
        return BatchReport(self.out_dir, self.manifest.counts(), rows, time.perf_counter() - start, retries, rss)

    # the driver's bookkeeping, shared by the pool and Ray
    def started(self, task: Task, worker: str) -> None:
        self.manifest.start(task.idx, worker)

    def finished(self, outcome: Outcome) -> None:
        self.manifest.finish(outcome)

    def lost(self, task: Task, why: str) -> bool:
        """A worker died while making `task`: requeue it (redone into its own folder) while retries remain;
        True when it will be retried."""
        task.attempts, task.redo = task.attempts + 1, True
        if task.attempts <= self.config.batch.max_retries:
            self.manifest.requeue(task.idx, why)
            return True
        self.manifest.finish(Outcome(task.idx, "failed", key=task.key,
                                     error=f"{why}; gave up after {task.attempts} attempts"))
        return False

