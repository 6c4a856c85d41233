"""How the catalogue scales: import per cover, query latency at 1k/10k/100k vectors, index growth, and
`catalog eval` on 1,000 covers.

    .venv/bin/python benchmarks/catalog.py [--sizes 1000 10000 100000] [--queries 50] [--eval-covers 1000]

1. Import: 12 drawn covers (tests/images.py styles) through the real `import_catalog` (EfficientNet-Lite0
   embedding + the stored evidence of each cover): seconds per cover, split into embedding and the rest.
2. Size sweep: synthetic unit vectors (1280-d, as EfficientNet-Lite0 gives) inserted through the real
   CatalogIndex.upsert in one catalogue per size; k=5 query latency (median and p95 over --queries), insert
   rate, and the file's size per vector.
3. Eval: --eval-covers synthetic covers in three clusters whose attributes follow their cluster (the
   evidence of a real drawn cover of that style stored with each), then the real `evaluate`: its wall time.
Everything runs in a throw-away ALBUMGEN_HOME.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))

from benchmarks._util import table  # noqa: E402

DIM = 1280


def _unit(rng, n: int):
    import numpy as np

    v = rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def bench_import(home: Path) -> tuple[float, float, int]:
    from tests.images import write_catalog
    from tools.catalog.embed import embedder
    from tools.catalog.importer import import_catalog
    from tools.catalog.index import CatalogIndex
    from tools.cover import load_cover

    source = write_catalog(home / "drawn", per_style=4)
    index = CatalogIndex(home / "import.db")
    start = time.perf_counter()
    report = import_catalog(source, "drawn", "efficientnet-lite0", index)
    total = time.perf_counter() - start
    embed = embedder("efficientnet-lite0")
    covers = sorted((home / "drawn" / "covers").glob("*.png"))
    start = time.perf_counter()
    for path in covers:
        embed.embed(load_cover(path).image)
    embedding = time.perf_counter() - start
    index.close()
    return total / report.imported, embedding / len(covers), report.imported


def bench_sizes(home: Path, sizes: list[int], queries: int) -> list[tuple]:
    import numpy as np

    from tools.catalog.index import CatalogIndex
    from tools.catalog.rows import Attributes

    rng = np.random.default_rng(0)
    rows = []
    for n in sizes:
        path = home / f"size-{n}.db"
        index = CatalogIndex(path)
        index.ensure("synthetic", "synthetic", DIM, "benchmark")
        vectors = _unit(rng, n)
        attrs = Attributes(genre="rock", tempo=120.0, mode=1, energy=0.6, valence=0.5)
        start = time.perf_counter()
        for i, v in enumerate(vectors):
            index.upsert("synthetic", f"{n}-{i:08d}", f"cover-{i}.png", attrs, v, [])
        insert = time.perf_counter() - start
        probes = _unit(rng, queries)
        index.search("synthetic", probes[0], 5)  # warm the page cache
        latency = []
        for q in probes:
            t = time.perf_counter()
            hits = index.search("synthetic", q, 5)
            latency.append(time.perf_counter() - t)
            assert len(hits) == 5
        index.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        index.close()
        size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
        latency.sort()
        rows.append((f"{n:,}", f"{n / insert:,.0f}", f"{statistics.median(latency) * 1000:.1f}",
                     f"{latency[int(0.95 * (len(latency) - 1))] * 1000:.1f}", f"{size / 2**20:.1f}",
                     f"{size / n / 1024:.2f}"))
    return rows


def bench_eval(home: Path, covers: int) -> tuple[float, str]:
    import numpy as np

    from tests.images import CATALOG_STYLES, catalog_cover
    from tools.catalog.evaluate import evaluate
    from tools.catalog.evaluate import table as eval_table
    from tools.catalog.importer import cover_evidence
    from tools.catalog.index import CatalogIndex
    from tools.catalog.rows import Attributes
    from tools.cover import Cover

    rng = np.random.default_rng(1)
    styles = list(CATALOG_STYLES)
    centres = _unit(rng, len(styles))
    evidence = {}
    for style in styles:  # one real cover's evidence per style, as import would have stored it
        image = catalog_cover(style, 5)
        evidence[style] = cover_evidence(Cover(path=Path(f"{style}.png"), sha256=style, image=image,
                                               original_size=image.size, format="PNG"))
    index = CatalogIndex(home / "eval.db")
    index.ensure("thousand", "synthetic", DIM, "benchmark")
    for i in range(covers):
        style = styles[i % len(styles)]
        v = centres[i % len(styles)] + 0.9 * _unit(rng, 1)[0] / np.sqrt(2)
        a = CATALOG_STYLES[style]
        attrs = Attributes(**{**a, "tempo": a["tempo"] + float(rng.normal(0, 4))})
        index.upsert("thousand", f"e-{i:06d}", f"{style}-{i}.png", attrs, v / np.linalg.norm(v), evidence[style])
    start = time.perf_counter()
    result = evaluate(index, "thousand")
    seconds = time.perf_counter() - start
    index.close()
    return seconds, eval_table(result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--eval-covers", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="albumgen-catalog-bench-") as tmp:
        home = Path(tmp)
        os.environ["ALBUMGEN_HOME"] = str(home)
        per_cover, embed, n = bench_import(home)
        print(f"import: {per_cover * 1000:.0f} ms per cover over {n} drawn covers "
              f"(EfficientNet-Lite0 embedding {embed * 1000:.0f} ms of it; the rest is the stored evidence "
              "and the transaction)\n")
        print("size sweep (sqlite-vec vec0, exact cosine k=5, one catalogue per size):")
        print(table(bench_sizes(home, args.sizes, args.queries),
                    ("vectors", "inserts/s", "query median ms", "query p95 ms", "file MiB", "KiB per vector")))
        seconds, text = bench_eval(home, args.eval_covers)
        print(f"\ncatalog eval on {args.eval_covers:,} synthetic covers: {seconds:.1f} s")
        print(text)


if __name__ == "__main__":
    main()
