"""`albumgen batch`: isolation of bad covers, the resumable manifest (SIGKILL, then --resume), CSV rows with
overrides, and Ray actors that give the same manifest as the local pool and retry a cover whose actor died."""
from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli
from tests.images import catalog_cover

pytestmark = pytest.mark.slow

STYLES = ("metal", "pop", "ambient")


def covers(folder: Path, n: int, bad: bool = False) -> Path:
    (folder / "nested").mkdir(parents=True, exist_ok=True)
    for k in range(n):
        where = folder / "nested" if k % 3 == 2 else folder
        catalog_cover(STYLES[k % 3], 100 + k).save(where / f"cover-{k:02d}.png")
    if bad:
        (folder / "broken.png").write_bytes(b"\x89PNG\r\n not really")
        (folder / "empty.jpg").write_bytes(b"")
        (folder / "notes.txt").write_text("not a cover: ignored, not a row")
    return folder


def manifest(out: Path) -> list[dict]:
    """The manifest's rows; none while the batch has not yet written its schema (a reader may open the file
    between its creation and the first commit)."""
    if not (out / "batch.sqlite").exists():
        return []
    db = sqlite3.connect(out / "batch.sqlite")
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("SELECT * FROM covers ORDER BY idx")]
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise
    finally:
        db.close()


def run_folders(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if (p / "trace.json").exists())


def test_bad_covers_fail_their_rows_and_the_batch_goes_on(tmp_path):
    folder = covers(tmp_path / "in", 10, bad=True)
    out = tmp_path / "out"
    proc = run_cli("batch", str(folder), "-o", str(out), "--workers", "2", "--duration", "1", "--seed", "5",
                   "--json", timeout=900)
    assert proc.returncode == 1, proc.stderr  # some failed
    report = json.loads(proc.stdout)
    assert (report["done"], report["failed"], report["pending"]) == (10, 2, 0)
    assert sorted(f["cover"] for f in report["failures"]) == ["broken.png", "empty.jpg"]
    assert all("is not an image" in f["error"] or "empty" in f["error"] for f in report["failures"])
    rows = manifest(out)
    assert len(rows) == 12 and {r["key"] for r in rows} >= {"nested/cover-02.png", "cover-00.png"}
    assert len(run_folders(out)) == 10
    with open(out / "summary.csv") as f:
        summary = list(csv.DictReader(f))
    assert [r["cover"] for r in summary] == [r["key"] for r in rows]
    done = [r for r in summary if r["status"] == "done"]
    assert all(r["genre"] and r["tempo_wanted"] and r["run_folder"] for r in done)
    for row in done:  # each done row says whether its take met the spec, and carries its trace's warnings
        trace = json.loads((out / row["run_folder"] / "trace.json").read_text())
        verification = trace["verification"]
        assert row["verified"] == ("" if verification is None else "met" if verification["met"] else "missed")
        assert row["warnings"] == " | ".join(trace["warnings"])
    assert len({(r["genre"], r["tempo_wanted"], r["key_wanted"]) for r in done}) >= 3  # the covers drove the plans
    g = report["grounding"]
    assert g["covers"] == 10 and g["distinct_plans"] >= 3 and g["sd_tempo"] > 0
    # a finished batch: running it again needs --resume, and then there is nothing to do
    again = run_cli("batch", str(folder), "-o", str(out), timeout=120)
    assert again.returncode == 2 and "--resume" in again.stderr
    resumed = run_cli("batch", str(folder), "-o", str(out), "--resume", "--json", timeout=120)
    assert resumed.returncode == 1 and json.loads(resumed.stdout)["done"] == 10
    assert len(run_folders(out)) == 10


def test_a_cover_over_the_time_limit_fails_its_row(tmp_path, config_file):
    folder = covers(tmp_path / "in", 2)
    cfg = config_file({"batch": {"timeout_s": 0.2, "max_retries": 2}})
    proc = run_cli("--config", str(cfg), "batch", str(folder), "-o", str(tmp_path / "out"), "--workers", "1",
                   "--duration", "1", "--json", timeout=300)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report["failed"] == 2 and report["retries"] == 0
    # whatever the interrupted library raised (torch turns it into a RuntimeError), the row says it timed out
    assert all("timed out after 0.2 s (batch.timeout_s" in f["error"] for f in report["failures"])
    assert len(report["peak_rss_mb"]) == 2  # the worker that timed out was replaced (its models half-loaded)


def _tree_cpu_s(pid: int) -> float:
    """CPU seconds the process and all its children have used so far (0 once it is gone)."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for p in procs:
        try:
            times = p.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


STALL_S = 120  # a batch whose processes use no CPU for this long has stalled (a slow machine still uses CPU)


def wait_for_done(proc: subprocess.Popen, out: Path, log: Path, want: int, cap_s: float = 1800) -> None:
    """Wait until `want` covers are done. A busy machine only makes this slower: the test fails when the batch
    exits early, when its processes stop using CPU for STALL_S (a stall), or after `cap_s`; each failure says
    which, with the batch's stderr."""
    start = last_progress = time.time()
    last_cpu = -1.0
    while time.time() - start < cap_s:
        time.sleep(0.5)
        if proc.poll() is not None:  # it ended before it could be killed mid-batch
            pytest.fail(f"the batch exited ({proc.returncode}) before {want} covers were done: {log.read_text()[-2000:]}")
        if (out / "batch.sqlite").exists() and sum(r["status"] == "done" for r in manifest(out)) >= want:
            return
        cpu = _tree_cpu_s(proc.pid)
        if cpu > last_cpu + 0.2:
            last_cpu, last_progress = cpu, time.time()
        elif time.time() - last_progress > STALL_S:
            pytest.fail(f"the batch stalled: no CPU used for {STALL_S} s ({last_cpu:.0f} CPU s in "
                        f"{time.time() - start:.0f} s): {log.read_text()[-2000:]}")
    pytest.fail(f"{want} covers not done in {cap_s:.0f} s though the batch kept working: {log.read_text()[-2000:]}")


def test_sigkill_then_resume_finishes_every_cover_exactly_once(tmp_path):
    folder = covers(tmp_path / "in", 6)
    out = tmp_path / "out"
    args = [sys.executable, "-m", "agent.cli", "batch", str(folder), "-o", str(out), "--workers", "1",
            "--duration", "1", "--seed", "9"]
    log = tmp_path / "batch.stderr"
    with open(log, "w") as err:  # kept: if the batch stops or stalls, the failure says why
        proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    wait_for_done(proc, out, log, 2)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its worker, mid-batch
    proc.wait(timeout=30)
    before = manifest(out) if (out / "batch.sqlite").exists() else []
    done_before = {r["key"]: r["run_dir"] for r in before if r["status"] == "done"}
    assert 2 <= len(done_before) < 6, (f"{len(done_before)} done; rows {[r['status'] for r in before]}; "
                                       f"stderr: {log.read_text()[-2000:]}")
    resumed = run_cli("batch", str(folder), "-o", str(out), "--resume", "--json", timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    after = manifest(out)
    assert all(r["status"] == "done" for r in after)
    assert {r["key"]: r["run_dir"] for r in after if r["key"] in done_before} == done_before
    assert all(r["attempts"] == 1 for r in after if r["key"] in done_before)  # nothing done was redone
    assert len(run_folders(out)) == 6 and len({r["run_dir"] for r in after}) == 6  # no duplicate run folders


def test_csv_rows_with_overrides(tmp_path):
    folder = covers(tmp_path / "in", 3)
    rows = [{"cover": "cover-00.png", "duration": "1.5", "seed": "42", "genre": ""},
            {"cover": "cover-01.png", "duration": "", "seed": "", "genre": "jazz"},
            {"cover": "nested/cover-02.png", "duration": "", "seed": "", "genre": "polka"},
            {"cover": "missing.png", "duration": "", "seed": "", "genre": ""}]
    with open(folder / "batch.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    out = tmp_path / "out"
    proc = run_cli("batch", str(folder / "batch.csv"), "-o", str(out), "--workers", "1", "--duration", "1",
                   "--json", timeout=600)
    assert proc.returncode == 1, proc.stderr
    got = {r["key"].split()[0]: r for r in manifest(out)}
    first, jazz = got["cover-00.png"], got["cover-01.png"]
    assert first["status"] == "done" and first["seed"] == 42
    spec = json.loads((Path(first["run_dir"]) / "spec.json").read_text())
    assert spec["duration_s"] == 1.5 and spec["seed"] == 42
    trace = json.loads((Path(jazz["run_dir"]) / "trace.json").read_text())
    assert trace["spec"]["genre"] == "jazz" and trace["spec"]["duration_s"] == 1.0
    hint = next(e for e in trace["evidence"] if e["kind"] == "hint")
    assert hint["id"] in trace["rationales"]["genre"]  # the decision cites what the row asked for
    assert "genre 'polka' is not one AlbumGen knows" in got["nested/cover-02.png"]["error"]
    assert got["missing.png"]["status"] == "failed" and "missing.png" in got["missing.png"]["error"]


def kill_when_running(out: Path, prefix: str, after_done: int, killed: list[int],
                      over: threading.Event) -> threading.Thread:
    """SIGKILL the worker making a cover once `after_done` covers are done (its pid is in the manifest); it
    watches until it has killed one or the batch is `over` (no deadline: a busy machine is only slower)."""

    def watch():
        while not killed and not over.is_set():
            time.sleep(0.2)
            try:
                rows = manifest(out)
            except sqlite3.Error:
                continue
            running = [r for r in rows if r["status"] == "running" and (r["worker"] or "").startswith(prefix)]
            if sum(r["status"] == "done" for r in rows) >= after_done and running:
                os.kill(int(running[0]["worker"].rsplit(" ", 1)[1]), signal.SIGKILL)
                killed.append(running[0]["idx"])

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_a_pool_worker_killed_mid_cover_costs_a_retry_not_the_cover(tmp_path):
    from agent.batch import Batch
    from agent.config import load_config

    folder, out = covers(tmp_path / "in", 4), tmp_path / "out"
    killed: list[int] = []
    over = threading.Event()
    watcher = kill_when_running(out, "pid ", 1, killed, over)
    report = Batch(load_config(), folder, out, duration=1, seed=2).run(workers=1)
    over.set()
    watcher.join(timeout=5)
    assert killed and report.exit_code == 0 and report.retries == 1
    rows = {r["idx"]: r for r in manifest(out)}
    assert rows[killed[0]]["attempts"] == 2 and all(r["status"] == "done" for r in rows.values())
    assert len(run_folders(out)) == 4


@pytest.fixture()
def local_ray():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
             _node_ip_address="127.0.0.1")
    yield ray
    ray.shutdown()


def test_ray_gives_the_pool_manifest_and_retries_a_killed_actor(tmp_path, local_ray):
    from agent.batch import Batch
    from agent.config import load_config

    folder = covers(tmp_path / "in", 5)
    config = load_config()
    offline = config.profiles["offline"]  # two 1-CPU actors on the test's 2-CPU cluster
    offline = offline.model_copy(update={"worker": offline.worker.model_copy(update={"num_cpus": 1.0})})
    config = config.model_copy(update={"profiles": {**config.profiles, "offline": offline}})
    pool = Batch(config, folder, tmp_path / "pool", duration=1, seed=3).run(workers=2)
    assert pool.exit_code == 0, pool.to_dict()["failures"]

    ray_out = tmp_path / "ray"
    job = Batch(config, folder, ray_out, duration=1, seed=3)
    killed: list[int] = []
    over = threading.Event()
    watcher = kill_when_running(ray_out, "ray actor pid", 2, killed, over)  # the actor making the third cover
    report = job.run(workers=2, use_ray=True)
    over.set()
    watcher.join(timeout=5)
    assert killed, "no actor was running a cover to kill"
    assert report.exit_code == 0 and report.retries >= 1
    rows = {r["key"]: r for r in manifest(ray_out)}
    assert rows[next(k for k, r in rows.items() if r["idx"] == killed[0])]["attempts"] == 2  # a retry, not a loss

    def plan(row):
        return (row["key"], row["status"], Path(row["run_dir"]).name, row["seed"],
                json.loads(row["summary"])["genre"], json.loads(row["summary"])["tempo_wanted"])

    assert sorted(plan(r) for r in rows.values()) == sorted(plan(r) for r in manifest(tmp_path / "pool"))
    assert run_folders(ray_out) == run_folders(tmp_path / "pool")


def test_a_done_row_whose_take_missed_says_so_and_counts_its_warnings(tmp_path):
    from dataclasses import replace

    from agent.batch import BatchReport, table, write_summary
    from agent.batch.records import RowSummary

    summary = RowSummary(genre="jazz", moods=["warm"], tempo_wanted=120, key_wanted="F major", verified=False,
                         energy=0.5, valence=0.5, duration_s=30.0, cited=7, decisions=7,
                         warnings=["no take met the spec after 3 attempts", "TimGM6mb is a small soundfont"])
    rows = [{"key": "a.png", "status": "done", "summary": summary, "run_dir": str(tmp_path / "a-1"), "seconds": 3.0,
             "attempts": 1, "error": None},
            {"key": "b.png", "status": "done", "summary": replace(summary, verified=True, warnings=[]),
             "run_dir": str(tmp_path / "b-1"), "seconds": 2.0, "attempts": 1, "error": None}]
    lines = table(BatchReport(tmp_path, {"done": 2, "failed": 0, "pending": 0}, rows, 5.0)).splitlines()
    assert "verification missed" in lines[0] and "2 warnings" in lines[0]
    assert "missed" not in lines[1] and "warning" not in lines[1]
    write_summary(tmp_path / "summary.csv", rows)
    with open(tmp_path / "summary.csv") as f:
        written = list(csv.DictReader(f))
    assert [r["verified"] for r in written] == ["missed", "met"]
    assert written[0]["warnings"] == "no take met the spec after 3 attempts | TimGM6mb is a small soundfont"


def test_the_manifest_has_a_schema_version_and_migrates_an_older_one(tmp_path):
    from agent.batch.manifest import MIGRATIONS, Manifest
    from tools.errors import InputError

    old = tmp_path / "old.sqlite"  # a manifest as AlbumGen wrote it before the schema had versions
    db = sqlite3.connect(old)
    db.execute("CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("CREATE TABLE covers (idx INTEGER PRIMARY KEY, key TEXT UNIQUE NOT NULL, cover TEXT NOT NULL, "
               "overrides TEXT NOT NULL, seed INTEGER NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL "
               "DEFAULT 0, run_dir TEXT, error TEXT, seconds REAL, worker TEXT, started_at REAL, finished_at REAL, "
               "summary TEXT)")
    db.execute("INSERT INTO covers (idx, key, cover, overrides, seed, status) VALUES (0, 'a.png', '/a.png', '{}', 1, "
               "'done')")
    db.commit()
    db.close()
    manifest = Manifest(old)
    assert manifest.version == len(MIGRATIONS) and manifest.counts()["done"] == 1  # its rows kept
    versions = [r[0] for r in manifest.db.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == list(range(1, len(MIGRATIONS) + 1))
    assert Manifest(old).version == len(MIGRATIONS)  # applied once: opening again changes nothing
    manifest.db.execute("INSERT INTO schema_migrations VALUES (99, 'from the future', 0)")
    with pytest.raises(InputError, match="schema version 99, newer than this AlbumGen's"):
        Manifest(old)
