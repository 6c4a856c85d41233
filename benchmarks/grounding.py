"""Does the cover drive the music? Runs the offline default on real photographs and on a 12-cover colour
sweep, and prints: distinct genres, plans with contradictory moods, rationales that cite the cover's
evidence, who made each decision, agent time, and the Spearman correlations of valence, major mode, energy
and tempo with the sweep's pleasure and arousal indices.

    .venv/bin/python benchmarks/grounding.py [--covers DIR] [--root CHECKOUT] [--profile offline]

    .venv/bin/python benchmarks/grounding.py --plans after.json; ... --root OLD --plans before.json
    .venv/bin/python benchmarks/grounding.py --compare before.json after.json

--covers: a folder of images (default: the eight scikit-image photographs: portrait, cat, coffee, deep
space, motorcycle, rocket, black-and-white camera man, tiny GIF). --root: measure another checkout of
AlbumGen (e.g. the commit before the grounding change) with this same script. --plans: also write every
cover's whole plan (the spec) to a JSON file; --compare: list the fields in which two such files differ.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
PHOTOS = ["astronaut.png", "chelsea.png", "coffee.png", "hubble_deep_field.jpg", "motorcycle_left.png",
          "rocket.jpg", "camera.png", "no_time_for_that_tiny.gif"]
SETTER_KEYS = {"genre": "set_genre", "mood": "set_mood", "tempo": "set_tempo", "key": "set_key",
               "time_signature": "set_time_signature", "instruments": "set_instruments", "era": "set_era"}


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def photographs() -> list[Path]:
    import skimage.data

    folder = Path(skimage.data.__file__).parent
    return [folder / name for name in PHOTOS]


def fact_words(trace: dict) -> set[str]:
    """What the description states that a rationale could cite: colour names, labels, cover-text words."""
    import yaml

    text = (trace.get("description") or {}).get("text", "").lower()
    colours = yaml.safe_load((HERE / "prompts" / "colours.yaml").read_text())
    words = {c for c in colours if c in text}
    description = trace.get("description") or {}
    details = description.get("details") or description  # before the typed trace: under "details"
    words |= {d["label"].lower() for d in details.get("labels", [])}
    words |= {w.lower() for d in details.get("cover_text", []) for w in d["text"].split() if len(w) > 2}
    return words


def cites(rationale: str, trace: dict) -> bool:
    ids = {e["id"] for e in trace.get("evidence") or []}
    if ids and any(i in ids for i in re.findall(r"\bE\d+\b", rationale)):
        return True
    low = rationale.lower()
    return not ids and any(re.search(rf"\b{re.escape(w)}\b", low) for w in fact_words(trace))


def deciders(trace: dict) -> dict[str, int]:
    if trace.get("decisions") is not None and "decisions" in trace:
        out: dict[str, int] = {}
        for d in trace["decisions"]:
            out[d["decided_by"]] = out.get(d["decided_by"], 0) + 1
        return out
    fallbacks = {s["name"] for s in trace["steps"] if s["kind"] == "fallback"}
    return {"model": len(SETTER_KEYS) - len(fallbacks), "fallback": len(fallbacks)}


def run(app, cover: Path, out: Path) -> dict:
    result = app.generate(cover, out_dir=out, seed=7, verify=False, log=False, force=True)
    return json.loads(result.trace_path.read_text())


def spearman(xs, ys) -> float:
    from scipy.stats import spearmanr

    rho = spearmanr(xs, ys).statistic
    return float("nan") if rho != rho else round(float(rho), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--covers", type=Path)
    parser.add_argument("--root", type=Path, default=HERE)
    parser.add_argument("--profile", default="offline")
    parser.add_argument("--plans", type=Path, help="write each cover's plan (spec) to this JSON file")
    parser.add_argument("--compare", type=Path, nargs=2, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args()
    if args.compare:
        return compare(*args.compare)
    images = _load(HERE / "tests" / "images.py", "bench_images")
    sys.path.insert(0, str(args.root.resolve()))
    os.environ.setdefault("ALBUMGEN_HOME", tempfile.mkdtemp(prefix="albumgen-bench-"))
    from agent.api import AlbumGen

    conflicts = _load(HERE / "tools" / "grounding" / "coherence.py", "bench_coherence").mood_conflicts
    app = AlbumGen(profile=args.profile)
    out = Path(tempfile.mkdtemp(prefix="albumgen-grounding-"))
    covers = sorted(p for p in args.covers.iterdir() if p.is_file()) if args.covers else photographs()
    print(f"AlbumGen at {args.root.resolve()}, profile {args.profile}, {len(covers)} covers, seed 7\n")
    print("| cover | genre | moods | energy | valence | tempo | key | agent s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    traces = []
    for cover in covers:
        t = run(app, cover, out)
        traces.append(t)
        s = t["spec"]
        print(f"| {cover.name} | {s['genre']} | {', '.join(s['moods'])} | {s['energy']} | {s['valence']} | "
              f"{s['tempo_bpm']} | {s['key']} {s['mode']} | {t['timings_ms'].get('agent', 0) / 1000:.1f} |")
    rationales = [(r, t) for t in traces for r in t["rationales"].values()]
    cited = sum(cites(r, t) for r, t in rationales)
    who: dict[str, int] = {}
    for t in traces:
        for k, v in deciders(t).items():
            who[k] = who.get(k, 0) + v
    agent_s = sorted(t["timings_ms"].get("agent", 0) / 1000 for t in traces)
    print("\n| metric | value |\n| --- | --- |")
    print(f"| distinct genres | {len({t['spec']['genre'] for t in traces})} of {len(traces)} |")
    print(f"| plans with contradictory moods | {sum(bool(conflicts(t['spec']['moods'])) for t in traces)} |")
    print(f"| rationales citing the cover's evidence | {cited} of {len(rationales)} "
          f"({100 * cited / max(len(rationales), 1):.0f} %) |")
    print(f"| decisions by | {', '.join(f'{k} {v}' for k, v in sorted(who.items()))} |")
    print(f"| agent time, median / max | {agent_s[len(agent_s) // 2]:.1f} s / {agent_s[-1]:.1f} s |")
    plans = {cover.name: t["spec"] for cover, t in zip(covers, traces)}
    plans.update(sweep(app, images, out))
    if args.plans:
        args.plans.write_text(json.dumps(plans, indent=1, sort_keys=True))


def compare(before: Path, after: Path) -> None:
    old, new = json.loads(before.read_text()), json.loads(after.read_text())
    changed = 0
    for cover in sorted(set(old) | set(new)):
        a, b = old.get(cover, {}), new.get(cover, {})
        fields = [f for f in sorted(set(a) | set(b)) if a.get(f) != b.get(f)]
        changed += bool(fields)
        for f in fields:
            print(f"{cover}: {f} {a.get(f)!r} -> {b.get(f)!r}")
    print(f"{changed} of {len(set(old) | set(new))} plans differ")


def sweep(app, images, out: Path) -> dict:
    rows, plans = [], {}
    folder = out / "sweep"
    folder.mkdir(exist_ok=True)
    for k, (design, image) in enumerate(images.colour_sweep()):
        path = folder / f"sweep-{k:02d}-L{design['lightness']}-C{design['chroma']}-{design['hue']}.png"
        image.save(path)
        s = run(app, path, out)["spec"]
        rows.append((images.pleasure_index(design), images.arousal_index(design), s))
        plans[path.name] = s
    p, a = [r[0] for r in rows], [r[1] for r in rows]
    print("\nColour sweep (12 covers: L* 25/50/75 x C* 12/45 x blue/yellow), Spearman rho\n")
    print("| spec field | vs pleasure index | vs arousal index |\n| --- | --- | --- |")
    for name, values in (("valence", [r[2]["valence"] for r in rows]),
                         ("major mode", [1.0 if r[2]["mode"] == "major" else 0.0 for r in rows]),
                         ("energy", [r[2]["energy"] for r in rows]), ("tempo", [r[2]["tempo_bpm"] for r in rows])):
        print(f"| {name} | {spearman(values, p)} | {spearman(values, a)} |")
    print(f"| distinct genres | {len({r[2]['genre'] for r in rows})} of {len(rows)} | |")
    return plans


if __name__ == "__main__":
    main()
