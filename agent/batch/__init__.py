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

from agent.batch.driver import Batch, default_workers
from agent.batch.inputs import Job, read_input
from agent.batch.manifest import Manifest
from agent.batch.record import BatchReport, grounding, table, write_summary
from agent.batch.worker import Worker, WorkerSpec, serve

__all__ = ["Batch", "BatchReport", "Job", "Manifest", "Worker", "WorkerSpec", "default_workers", "grounding",
           "read_input", "serve", "table", "write_summary"]
