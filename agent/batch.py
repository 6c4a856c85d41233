"""`albumgen batch`: many covers, each worker loading its models once, with a resumable SQLite manifest.

The driver owns OUTDIR/batch.sqlite (one row per cover: pending → running → done | failed, its run
folder, the error line, timings, attempts) and is the only process that writes it. Workers (processes of a
local pool, or Ray actors) each build one `AlbumGen` and run many covers through it; a cover's failure is
that row's one line and the batch goes on.

Every row's seed is fixed when the manifest is made (the row's own, else --seed + its index), so a cover
that was running when the batch was killed is redone into the same run folder (overwritten, not
duplicated) and `--resume` never redoes a finished one.
"""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.store import immediate
from tools.errors import AlbumGenError, BackendError, ConfigError, InputError, redact
from tools.limits import fresh_seed, nth_seed
from tools.registry import cores

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff")
STATUSES = ("pending", "running", "done", "failed")
SUMMARY_COLUMNS = ("cover", "status", "genre", "moods", "tempo_wanted", "tempo_measured", "key_wanted",
                   "key_measured", "verified", "duration_s", "run_folder", "seconds", "attempts", "warnings", "error")


# -- input ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Job:
    """One cover of the batch: its key (unique: the path relative to INPUT, or the row's line), the file,
    per-row overrides, and a problem found while reading it (the row then fails without running)."""

    key: str
    cover: str
    duration: float | None = None
    seed: int | None = None
    genre: str | None = None
    problem: str | None = None

    def overrides(self) -> dict[str, Any]:
        return {k: v for k, v in (("duration", self.duration), ("seed", self.seed), ("genre", self.genre)) if v is not None}


def read_input(path: Path) -> list[Job]:
    """A folder (recursive, image files only, sorted) or a CSV/TSV/JSONL with a cover column and optional
    duration, seed and genre columns (cover paths relative to the file)."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise InputError(f"{path} holds no image files ({', '.join(IMAGE_SUFFIXES)}): give a folder of covers "
                             "or a CSV with a cover column")
        return [Job(str(p.relative_to(path)), str(p.resolve())) for p in files]
    if not path.is_file():
        raise InputError(f"batch input {path} not found: give a folder of covers or a CSV/JSONL with a cover column")
    from tools.catalog.rows import read_records

    columns, records = read_records(path)
    if "cover" not in columns:
        raise InputError(f"{path}: no cover column (columns: {', '.join(columns) or 'none'}): add a 'cover' column "
                         "of image paths relative to the file")
    jobs, seen = [], set()
    for line, record in records:
        job = _row_job(line, record, path.parent)
        if job.key in seen:
            job = Job(job.key + f" (line {line})", job.cover, problem=f"line {line}: the same cover and overrides as an "
                                                                        "earlier row: skipped")
        seen.add(job.key)
        jobs.append(job)
    if not jobs:
        raise InputError(f"{path} has no rows: add one row per cover")
    return jobs


def _row_job(line: int, record: dict[str, Any] | str, base: Path) -> Job:
    from tools.vocab import vocabulary

    if isinstance(record, str):
        return Job(f"line {line}", "", problem=f"line {line}: {record}")
    record = {str(k).strip().lower(): (v.strip() if isinstance(v, str) else v) for k, v in record.items()}
    cover = str(record.get("cover") or "")
    if not cover:
        return Job(f"line {line}", "", problem=f"line {line}: no cover: give an image path in the cover column")
    target = Path(cover).expanduser()
    target = str(target if target.is_absolute() or "://" in cover else (base / target).resolve())
    values: dict[str, Any] = {}
    named = f"{cover} (line {line})"
    try:
        if record.get("duration") not in (None, ""):
            values["duration"] = float(record["duration"])
        if record.get("seed") not in (None, ""):
            values["seed"] = int(float(record["seed"]))
    except ValueError:
        return Job(named, target, problem=f"line {line}: duration/seed {record.get('duration')!r}/"
                                                   f"{record.get('seed')!r} is not a number")
    genre = str(record.get("genre") or "").lower() or None
    if genre and genre not in vocabulary().genres:
        return Job(named, target, problem=f"line {line}: genre {genre!r} is not one AlbumGen knows: use one "
                                                   f"of {', '.join(vocabulary().genres)}")
    key = cover + "".join(f" {k}={v}" for k, v in sorted({**values, "genre": genre}.items()) if v is not None)
    return Job(key, target, genre=genre, **values)


# -- the manifest ---------------------------------------------------------------------------------
class Manifest:
    """OUTDIR/batch.sqlite, written by the driver only."""

    def __init__(self, path: Path):
        self.db = sqlite3.connect(path, timeout=30.0, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        with immediate(self.db):  # both tables in one transaction: a reader never sees half a schema
            self.db.execute("CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self.db.execute("""CREATE TABLE IF NOT EXISTS covers (idx INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL,
                cover TEXT NOT NULL, overrides TEXT NOT NULL, seed INTEGER NOT NULL, status TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0, run_dir TEXT, error TEXT, seconds REAL, worker TEXT,
                started_at REAL, finished_at REAL, summary TEXT)""")

    def settings(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self.db.execute("SELECT key, value FROM settings")}

    def create(self, settings: dict[str, Any], jobs: list[Job]) -> None:
        base = settings["seed"]
        with immediate(self.db):
            self.db.executemany("INSERT INTO settings VALUES (?, ?)", [(k, json.dumps(v)) for k, v in settings.items()])
            self.db.executemany(
                "INSERT INTO covers (idx, key, cover, overrides, seed, status, error) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(i, j.key, j.cover, json.dumps(j.overrides()), j.seed if j.seed is not None else nth_seed(base, i),
                  "failed" if j.problem else "pending", j.problem) for i, j in enumerate(jobs)])

    def reopen(self, retry_failed: bool) -> None:
        """A resumed batch: rows left running are pending again (redone into their own folder); with
        `retry_failed`, failed rows too (not those whose input row itself was bad)."""
        with immediate(self.db):
            self.db.execute("UPDATE covers SET status = 'pending' WHERE status = 'running'")
            if retry_failed:
                self.db.execute("UPDATE covers SET status = 'pending', error = NULL, attempts = 0 "
                                "WHERE status = 'failed' AND cover != '' AND started_at IS NOT NULL")

    def pending(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT idx, key, cover, overrides, seed, attempts, run_dir FROM covers "
                               "WHERE status = 'pending' ORDER BY idx").fetchall()
        return [{"idx": r[0], "key": r[1], "cover": r[2], "overrides": json.loads(r[3]), "seed": r[4],
                 "attempts": r[5], "redo": r[5] > 0 or r[6] is not None} for r in rows]

    def start(self, idx: int, worker: str) -> None:
        self.db.execute("UPDATE covers SET status = 'running', attempts = attempts + 1, worker = ?, started_at = ? "
                        "WHERE idx = ?", (worker, time.time(), idx))

    def finish(self, idx: int, outcome: dict[str, Any]) -> None:
        self.db.execute("UPDATE covers SET status = ?, run_dir = COALESCE(?, run_dir), error = ?, seconds = ?, "
                        "finished_at = ?, summary = ? WHERE idx = ?",
                        (outcome["status"], outcome.get("run_dir"), outcome.get("error"), outcome.get("seconds"),
                         time.time(), json.dumps(outcome.get("summary")) if outcome.get("summary") else None, idx))

    def requeue(self, idx: int, why: str) -> None:
        self.db.execute("UPDATE covers SET status = 'pending', error = ? WHERE idx = ?", (why, idx))

    def rows(self) -> list[dict[str, Any]]:
        cur = self.db.execute("SELECT idx, key, cover, overrides, seed, status, attempts, run_dir, error, seconds, "
                              "worker, summary FROM covers ORDER BY idx")
        names = [d[0] for d in cur.description]
        out = []
        for r in cur.fetchall():
            row = dict(zip(names, r))
            row["overrides"] = json.loads(row["overrides"])
            row["summary"] = json.loads(row["summary"]) if row["summary"] else None
            out.append(row)
        return out

    def counts(self) -> dict[str, int]:
        found = dict(self.db.execute("SELECT status, count(*) FROM covers GROUP BY status").fetchall())
        return {s: found.get(s, 0) for s in STATUSES}

    def close(self) -> None:
        self.db.close()


# -- one worker -----------------------------------------------------------------------------------
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

    def run(self, task: dict[str, Any]) -> dict[str, Any]:
        start = time.perf_counter()
        o = task["overrides"]
        clock: dict[str, bool] = {}
        try:
            with _deadline(self.spec.timeout_s, clock):
                result = self.app.generate(task["cover"], out_dir=self.spec.out_dir, duration=o.get("duration"),
                                           seed=task["seed"], force=task["redo"], takes=self.spec.takes,
                                           genre=o.get("genre"))
        except Exception as exc:  # noqa: BLE001  (isolation: any failure is this row's one line)
            if clock.get("expired"):  # whatever the interrupted library made of it (torch: a RuntimeError)
                return {**_failed(task, f"timed out after {self.spec.timeout_s:g} s (batch.timeout_s in "
                                        "config.yaml)", start), "replace_worker": True}  # models may be half-loaded
            text = str(exc) if isinstance(exc, AlbumGenError) else f"{type(exc).__name__}: {str(exc)[:300]}"
            return _failed(task, redact(text), start)
        return {"idx": task["idx"], "status": "done", "run_dir": str(result.run_dir), "summary": _summary(result),
                "seconds": round(time.perf_counter() - start, 2), "rss_mb": _peak_rss_mb()}


def _failed(task: dict[str, Any], error: str, start: float) -> dict[str, Any]:
    """The row's one line: the error's first line."""
    return {"idx": task["idx"], "status": "failed", "error": error.splitlines()[0] if error.strip() else "failed",
            "seconds": round(time.perf_counter() - start, 2), "rss_mb": _peak_rss_mb()}


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


def _summary(result) -> dict[str, Any]:
    spec, measured = result.spec, result.measured or {}
    return {"genre": spec.genre, "moods": list(spec.moods), "tempo_wanted": spec.tempo_bpm,
            "tempo_measured": measured.get("tempo_bpm"), "key_wanted": f"{spec.key} {spec.mode}" if spec.key else None,
            "key_measured": f"{measured['key']} {measured['mode']}" if measured.get("key") else None,
            "duration_s": spec.duration_s, "energy": spec.energy, "valence": spec.valence,
            "cited": _cited(result.trace), "decisions": len(result.trace.rationales or {}),
            "verified": None if result.trace.verification is None else result.trace.verification.met,
            "warnings": list(result.trace.warnings)}


def _cited(trace) -> int:
    """Rationales that cite this cover's own evidence ids (not just any E-number)."""
    from tools.grounding.evidence import EvidenceSet

    evidence = EvidenceSet.from_dicts(trace.evidence or [])
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
        if outcome.get("replace_worker"):  # a fresh process takes this one's place
            return


# -- the driver -----------------------------------------------------------------------------------
@dataclass
class BatchReport:
    out_dir: Path
    counts: dict[str, int]
    rows: list[dict[str, Any]]
    seconds: float
    retries: int = 0
    peak_rss_mb: dict[str, float] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return 0 if self.counts["failed"] == 0 and self.counts["pending"] == 0 else 1

    def to_dict(self) -> dict[str, Any]:
        return {"out_dir": str(self.out_dir), "manifest": str(self.out_dir / "batch.sqlite"),
                "summary_csv": str(self.out_dir / "summary.csv"), **self.counts, "seconds": round(self.seconds, 2),
                "retries": self.retries, "peak_rss_mb": self.peak_rss_mb, "grounding": grounding(self.rows),
                "failures": [{"cover": r["key"], "error": r["error"]} for r in self.rows if r["status"] == "failed"]}


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
            profile = profile or config.default_profile
            if profile not in config.profiles:
                raise ConfigError(f"unknown profile {profile!r}: use one of {', '.join(config.profiles)}")
            jobs = read_input(Path(input_path))
            self.out_dir.mkdir(parents=True, exist_ok=True)
            self.manifest = Manifest(manifest_path)
            self.manifest.create({**asked, "input": str(Path(input_path).resolve()), "profile": profile,
                                  "takes": takes or 1, "seed": fresh_seed() if seed is None else seed}, jobs)
        self.settings = self.manifest.settings()
        self.profile = self.settings["profile"]
        if self.profile not in config.profiles:
            raise ConfigError(f"the batch's profile {self.profile!r} is not in config.yaml any more: use one of "
                              f"{', '.join(config.profiles)}")
        self.config_path = config_path
        self.resources = config.profiles[self.profile].worker

    def worker_spec(self, workers: int, cluster: bool = False) -> WorkerSpec:
        """Each worker's threads: its share of this machine's cores; on a Ray cluster its actor's num_cpus
        (a local Ray cluster is this machine: the share again, at most num_cpus; more threads than cores
        made `--ray --workers 2` 3x slower than the pool here)."""
        share = max(1, cores() // max(workers, 1))
        threads = max(1, int(self.resources.num_cpus)) if cluster else share
        return WorkerSpec(self.config_path, self.profile, self.settings["model"], self.settings["catalog"],
                          str(self.out_dir), int(self.settings["takes"]), self.config.batch.timeout_s, threads)

    def _tasks(self) -> list[dict[str, Any]]:
        tasks = self.manifest.pending()
        for t in tasks:
            if self.settings["duration"] is not None:
                t["overrides"].setdefault("duration", self.settings["duration"])
        return tasks

    def run(self, workers: int | None = None, ray_address: str | None = None, use_ray: bool = False,
            progress: Callable[[dict[str, Any]], None] | None = None) -> BatchReport:
        start = time.perf_counter()
        workers = workers or self.config.batch.workers or default_workers(self.resources)
        tasks = self._tasks()
        runner = _run_ray if use_ray else _run_pool
        retries, rss = 0, {}
        if tasks:
            retries, rss = runner(self, tasks, workers, ray_address, progress or (lambda _o: None))
        rows = self.manifest.rows()
        write_summary(self.out_dir / "summary.csv", rows)
        return BatchReport(self.out_dir, self.manifest.counts(), rows, time.perf_counter() - start, retries, rss)

    # the driver's bookkeeping, shared by the pool and Ray
    def started(self, task: dict[str, Any], worker: str) -> None:
        self.manifest.start(task["idx"], worker)

    def finished(self, outcome: dict[str, Any]) -> None:
        self.manifest.finish(outcome["idx"], outcome)

    def lost(self, task: dict[str, Any], why: str) -> bool:
        """A worker died while making `task`: requeue it (redone into its own folder) while retries remain;
        True when it will be retried."""
        attempts = task.get("attempts", 0) + 1
        task["attempts"], task["redo"] = attempts, True
        if attempts <= self.config.batch.max_retries:
            self.manifest.requeue(task["idx"], why)
            return True
        self.manifest.finish(task["idx"], {"status": "failed", "error": f"{why}; gave up after {attempts} attempts"})
        return False


@dataclass
class _Slot:
    """One pool process as the driver sees it: its pipe, its pid once ready, the cover it is making."""

    process: Any
    conn: Any
    pid: int | None = None
    task: dict[str, Any] | None = None
    retiring: bool = False  # it timed out and is exiting: a fresh process takes its place


def _run_pool(batch: Batch, tasks: list[dict[str, Any]], workers: int, _address, progress) -> tuple[int, dict]:
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
                        progress({"status": "retry", **slot.task})
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


def _pool_message(batch: Batch, slot: _Slot, message: tuple, rss: dict, progress) -> None:
    kind = message[0]
    if kind == "unusable":  # the pipeline cannot even be built (config): no cover can be made
        raise (ConfigError if message[1] == 2 else BackendError)(f"a batch worker could not start: {message[2]}")
    if kind == "ready":
        slot.pid = message[1]
        return
    outcome = message[1]
    rss[f"pid {slot.pid}"] = outcome.get("rss_mb")
    batch.finished(outcome)
    progress(outcome)
    slot.task, slot.retiring = None, bool(outcome.get("replace_worker"))


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


def _run_ray(batch: Batch, tasks: list[dict[str, Any]], workers: int, address: str | None, progress) -> tuple[int, dict]:
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

    def __init__(self, ray, batch: Batch, queue: list[dict[str, Any]], progress, spec: WorkerSpec):
        res = batch.resources
        self.ray, self.batch, self.queue, self.progress = ray, batch, queue, progress
        self.actor_cls = ray.remote(num_cpus=res.num_cpus, num_gpus=res.num_gpus, max_restarts=0)(Worker)
        self.spec = spec
        self.pending: dict[Any, tuple[str, Any, dict[str, Any] | None]] = {}  # ref → (what, actor, task)
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
            self.rss[f"ray actor pid {self.pids[actor]}"] = value.get("rss_mb")
            self.batch.finished(value)
            self.progress(value)
            if value.get("replace_worker"):  # timed out: its models may be half-loaded
                self.ray.kill(actor)
                self.pids.pop(actor, None)
                self.start_actor()
                return
        else:
            self.pids[actor] = value
        self.idle.append(actor)

    def died(self, what: str, actor, task: dict[str, Any] | None, exc: Exception) -> None:
        self.stillborn += what == "pid"
        if self.stillborn > self.batch.config.batch.max_retries + 1:
            raise BackendError(f"Ray actors keep failing before they are ready: {str(exc).splitlines()[0][:200]}")
        if task is not None:
            if self.batch.lost(task, f"Ray actor pid {self.pids.get(actor)} died while making this cover"):
                self.queue.insert(0, task)
                self.retries += 1
            self.progress({"status": "retry", **task})
        self.pids.pop(actor, None)
        self.start_actor()  # a fresh actor takes its place

    def close(self) -> None:
        for actor in list(self.pids) + [a for _w, a, _t in self.pending.values()]:
            self.ray.kill(actor)


# -- the record -----------------------------------------------------------------------------------
def write_summary(path: Path, rows: list[dict[str, Any]]) -> None:
    import csv
    import io

    from tools.files import atomic_write

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=SUMMARY_COLUMNS)
    writer.writeheader()
    for r in rows:
        s = r["summary"] or {}
        writer.writerow({"cover": r["key"], "status": r["status"], "genre": s.get("genre"),
                         "moods": " ".join(s.get("moods") or []), "tempo_wanted": s.get("tempo_wanted"),
                         "tempo_measured": s.get("tempo_measured"), "key_wanted": s.get("key_wanted"),
                         "key_measured": s.get("key_measured"), "duration_s": s.get("duration_s"),
                         "verified": {True: "met", False: "missed", None: ""}[s.get("verified")],
                         "run_folder": Path(r["run_dir"]).name if r["run_dir"] else "", "seconds": r["seconds"],
                         "attempts": r["attempts"], "warnings": " | ".join(s.get("warnings") or []),
                         "error": r["error"] or ""})
    atomic_write(path, out.getvalue())


def grounding(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Did the covers drive the music over the batch: distinct genres and plans, rationales citing evidence,
    and the spread of energy, valence and tempo (all equal would mean the covers changed nothing)."""
    import statistics

    done = [r["summary"] for r in rows if r["status"] == "done" and r["summary"]]
    if not done:
        return {}

    def spread(name):
        values = [s[name] for s in done if s.get(name) is not None]
        return round(statistics.pstdev(values), 3) if len(values) > 1 else 0.0

    plans = {(s["genre"], tuple(s["moods"]), s["tempo_wanted"], s["key_wanted"]) for s in done}
    return {"covers": len(done), "distinct_genres": len({s["genre"] for s in done}), "distinct_plans": len(plans),
            "rationales_citing_evidence": f"{sum(s['cited'] for s in done)}/{sum(s['decisions'] for s in done)}",
            "sd_energy": spread("energy"), "sd_valence": spread("valence"), "sd_tempo": spread("tempo_wanted")}


def table(report: BatchReport, limit: int = 40) -> str:
    lines = []
    for r in report.rows[:limit]:
        s = r["summary"] or {}
        what = (f"{s.get('genre')}, {'/'.join(s.get('moods') or [])}, {s.get('tempo_wanted')} BPM, {s.get('key_wanted')}"
                if r["status"] == "done" else (r["error"] or ""))
        if r["status"] == "done" and s.get("verified") is False:
            what += " · verification missed"
        if r["status"] == "done" and s.get("warnings"):
            what += f" · {len(s['warnings'])} warning{'s' if len(s['warnings']) > 1 else ''} (summary.csv)"
        lines.append(f"{r['status']:7} {r['key'][:40]:40} {what}")
    if len(report.rows) > limit:
        lines.append(f"... {len(report.rows) - limit} more in summary.csv")
    c = report.counts
    lines.append(f"{c['done']} done, {c['failed']} failed, {c['pending']} pending of {len(report.rows)} covers in "
                 f"{report.seconds:.1f} s" + (f" ({report.retries} retried after a worker died)" if report.retries else ""))
    g = grounding(report.rows)
    if g:
        lines.append(f"grounding: {g['distinct_genres']} genres and {g['distinct_plans']} distinct plans over "
                     f"{g['covers']} covers; {g['rationales_citing_evidence']} rationales cite the cover's evidence; "
                     f"sd energy {g['sd_energy']}, valence {g['sd_valence']}, tempo {g['sd_tempo']} BPM")
    return "\n".join(lines)
