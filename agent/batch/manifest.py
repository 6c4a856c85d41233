"""OUTDIR/batch.sqlite: one row per cover (pending → running → done | failed), written by the driver only."""
from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.batch.inputs import Job
from agent.batch.records import Outcome, RowSummary, Task
from agent.store import immediate
from tools.errors import InputError
from tools.limits import nth_seed

STATUSES = ("pending", "running", "done", "failed")


def _create_covers(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("""CREATE TABLE IF NOT EXISTS covers (idx INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL,
        cover TEXT NOT NULL, overrides TEXT NOT NULL, seed INTEGER NOT NULL, status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0, run_dir TEXT, error TEXT, seconds REAL, worker TEXT,
        started_at REAL, finished_at REAL, summary TEXT)""")


# Ordered, each applied once in one transaction and recorded (as the run store's): a manifest written by an
# older AlbumGen is brought up to date when a batch resumes it. Add new steps at the end, never edit old ones.
MIGRATIONS: list[tuple[str, Callable[[sqlite3.Connection], None]]] = [
    ("covers and settings", _create_covers),
]


class Manifest:
    """OUTDIR/batch.sqlite, written by the driver only."""

    def __init__(self, path: Path):
        self.db = sqlite3.connect(path, timeout=30.0, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.version = self.migrate()

    def migrate(self) -> int:
        """The schema, brought to the newest version in one transaction: a reader never sees half of it."""
        with immediate(self.db):
            self.db.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                            "name TEXT NOT NULL, applied_at REAL NOT NULL)")
            done = {row[0] for row in self.db.execute("SELECT version FROM schema_migrations")}
            if done and max(done) > len(MIGRATIONS):
                raise InputError(f"this batch.sqlite has schema version {max(done)}, newer than this AlbumGen's "
                                 f"{len(MIGRATIONS)}: resume it with the AlbumGen that made it")
            for version, (name, apply) in enumerate(MIGRATIONS, start=1):
                if version not in done:
                    apply(self.db)
                    self.db.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", (version, name, time.time()))
        return len(MIGRATIONS)

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

    def pending(self, duration: float | None = None) -> list[Task]:
        """The rows still to make; `duration` (the batch's --duration) where a row sets none of its own."""
        rows = self.db.execute("SELECT idx, key, cover, overrides, seed, attempts, run_dir FROM covers "
                               "WHERE status = 'pending' ORDER BY idx").fetchall()
        tasks = []
        for idx, key, cover, overrides, seed, attempts, run_dir in rows:
            o = json.loads(overrides)
            tasks.append(Task(idx, key, cover, seed, duration=o.get("duration", duration), genre=o.get("genre"),
                              attempts=attempts, redo=attempts > 0 or run_dir is not None))
        return tasks

    def start(self, idx: int, worker: str) -> None:
        self.db.execute("UPDATE covers SET status = 'running', attempts = attempts + 1, worker = ?, started_at = ? "
                        "WHERE idx = ?", (worker, time.time(), idx))

    def finish(self, outcome: Outcome) -> None:
        self.db.execute("UPDATE covers SET status = ?, run_dir = COALESCE(?, run_dir), error = ?, seconds = ?, "
                        "finished_at = ?, summary = ? WHERE idx = ?",
                        (outcome.status, outcome.run_dir, outcome.error, outcome.seconds, time.time(),
                         json.dumps(outcome.summary.to_dict()) if outcome.summary else None, outcome.idx))

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
            row["summary"] = RowSummary.from_dict(json.loads(row["summary"]) if row["summary"] else None)
            out.append(row)
        return out

    def counts(self) -> dict[str, int]:
        found = dict(self.db.execute("SELECT status, count(*) FROM covers GROUP BY status").fetchall())
        return {s: found.get(s, 0) for s in STATUSES}

    def close(self) -> None:
        self.db.close()

