"""`albumgen batch INPUT -o OUTDIR`: many covers on a local pool or a Ray cluster, resumable (agent/batch.py)."""
from __future__ import annotations

import json
import sys

import click

from tools.limits import MAX_TAKES


@click.command("batch")
@click.argument("input_path", metavar="INPUT", type=click.Path())
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Output folder: a run folder per cover, batch.sqlite (the manifest) and summary.csv.")
@click.option("-p", "--profile", help="Profile from config.yaml (offline, musicgen, acestep, stable-audio, hosted, ...).")
@click.option("-m", "--model", envvar="ALBUMGEN_MODEL", help="Agent LLM: an alias or BACKEND:MODEL.")
@click.option("--workers", type=click.IntRange(1, 256),
              help="Worker processes (Ray: actors), each loading the models once (default: config batch.workers, "
                   "else the cores and memory allow for the profile).")
@click.option("--ray", "ray_address", is_flag=False, flag_value="local", default=None,
              help="Run on Ray: --ray starts a local cluster, --ray auto joins a running one, --ray ADDRESS joins that.")
@click.option("--takes", type=click.IntRange(1, MAX_TAKES), help="Takes per cover (default 1).")
@click.option("--duration", type=float, help="Seconds of music per cover (a row's duration column wins).")
@click.option("--seed", type=click.IntRange(0, 2**31 - 1), help="Base seed: cover i gets seed+i (a row's seed wins).")
@click.option("--catalog", help="Catalogue whose nearest covers become evidence (default: config catalog.default).")
@click.option("--resume", is_flag=True, help="Continue the batch in OUTDIR: done covers are kept, the rest run.")
@click.option("--retry-failed", is_flag=True, help="Run the batch's failed covers again (implies --resume).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: counts, failures, grounding figures.")
@click.pass_context
def batch(ctx, input_path, out_dir, profile, model, workers, ray_address, takes, duration, seed, catalog, resume,
          retry_failed, as_json):
    """Make music for every cover in INPUT: a folder of images (recursive) or a CSV/JSONL with a cover column
    and optional duration, seed and genre columns.

    Exit 0 when every cover is done, 1 when some failed (listed at the end and in summary.csv), 2 for bad input
    or config. Interrupt it at any point: --resume continues where it stopped."""
    from pathlib import Path

    from agent.batch import Batch, table
    from agent.cli.progress import cover_bar
    from agent.config import config_of

    config = config_of(ctx)
    job = Batch(config, Path(input_path), Path(out_dir), profile=profile, model=model, catalog=catalog,
                duration=duration, takes=takes, seed=seed, resume=resume or retry_failed, retry_failed=retry_failed,
                config_path=ctx.obj["config"])
    counts = job.manifest.counts()
    total = sum(counts.values())
    with cover_bar(total, as_json, done=counts["done"] + counts["failed"]) as progress:
        def advance(outcome):
            if outcome.status == "retry":
                progress.write(f"retry: {outcome.key} (its worker died)")
                return
            progress.update(1)
            rate = progress.format_dict["rate"]
            progress.set_postfix_str(f"{rate * 60:.1f} covers/min" if rate else "")
            if outcome.status == "failed" and not as_json:
                progress.write(f"failed: {outcome.error}")

        try:
            report = job.run(workers=workers, use_ray=ray_address is not None,
                             ray_address=None if ray_address in (None, "local") else ray_address, progress=advance)
        except KeyboardInterrupt:
            c = job.manifest.counts()
            click.echo(f"interrupted: {c['done']} done, {c['failed']} failed, {c['pending'] + c['running']} to go: "
                       f"albumgen batch {input_path} -o {out_dir} --resume", err=True)
            sys.exit(130)
    if as_json:
        click.echo(json.dumps(report.to_dict()))
    else:
        click.echo(table(report))
        click.echo(f"summary: {Path(out_dir) / 'summary.csv'}")
    sys.exit(report.exit_code)
