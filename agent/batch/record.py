"""What a batch leaves behind: its report, summary.csv, the grounding statistics and the table people read."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.batch.records import RowSummary

SUMMARY_COLUMNS = ("cover", "status", "genre", "moods", "tempo_wanted", "tempo_measured", "key_wanted",
                   "key_measured", "verified", "duration_s", "run_folder", "seconds", "attempts", "warnings", "error")


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



def write_summary(path: Path, rows: list[dict[str, Any]]) -> None:
    import csv
    import io

    from tools.files import atomic_write

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=SUMMARY_COLUMNS)
    writer.writeheader()
    for r in rows:
        s = r["summary"] or RowSummary()
        writer.writerow({"cover": r["key"], "status": r["status"], "genre": s.genre,
                         "moods": " ".join(s.moods), "tempo_wanted": s.tempo_wanted,
                         "tempo_measured": s.tempo_measured, "key_wanted": s.key_wanted,
                         "key_measured": s.key_measured, "duration_s": s.duration_s,
                         "verified": {True: "met", False: "missed", None: ""}[s.verified],
                         "run_folder": Path(r["run_dir"]).name if r["run_dir"] else "", "seconds": r["seconds"],
                         "attempts": r["attempts"], "warnings": " | ".join(s.warnings),
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
        values = [getattr(s, name) for s in done if getattr(s, name) is not None]
        return round(statistics.pstdev(values), 3) if len(values) > 1 else 0.0

    plans = {(s.genre, tuple(s.moods), s.tempo_wanted, s.key_wanted) for s in done}
    return {"covers": len(done), "distinct_genres": len({s.genre for s in done}), "distinct_plans": len(plans),
            "rationales_citing_evidence": f"{sum(s.cited for s in done)}/{sum(s.decisions for s in done)}",
            "sd_energy": spread("energy"), "sd_valence": spread("valence"), "sd_tempo": spread("tempo_wanted")}


def table(report: BatchReport, limit: int = 40) -> str:
    lines = []
    for r in report.rows[:limit]:
        s = r["summary"] or RowSummary()
        what = (f"{s.genre}, {'/'.join(s.moods)}, {s.tempo_wanted} BPM, {s.key_wanted}"
                if r["status"] == "done" else (r["error"] or ""))
        if r["status"] == "done" and s.verified is False:
            what += " · verification missed"
        if r["status"] == "done" and s.warnings:
            what += f" · {len(s.warnings)} warning{'s' if len(s.warnings) > 1 else ''} (summary.csv)"
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

