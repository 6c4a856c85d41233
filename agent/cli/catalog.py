"""`albumgen catalog ...`: import, list, show, remove, train and evaluate catalogues of covers with known music."""
from __future__ import annotations

import json
import sys

import click


@click.group("catalog")
def catalog_group():
    """Catalogues of covers whose music is known: their nearest covers become evidence (--catalog NAME)."""


def _index():
    from tools.catalog.index import CatalogIndex

    return CatalogIndex()


@catalog_group.command("import")
@click.argument("source", type=click.Path())
@click.option("--name", required=True, help="Catalogue name (1-40 of a-z, 0-9, - and _).")
@click.option("--embedder", help="efficientnet-lite0 (offline) or clip:MODEL (default: config.yaml catalog.embedder).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: counts and per-row problems.")
@click.pass_context
def catalog_import(ctx, source, name, embedder, as_json):
    """Import SOURCE (CSV, TSV or JSONL with a cover column and the music's attributes) into catalogue NAME.

    Bad rows are reported by line number and skipped; importing again updates covers already there. Exit 0
    when anything was imported (with a warning count), 2 when nothing could be."""
    from pathlib import Path

    from agent.cli.progress import cover_bar
    from agent.config import config_of
    from tools.catalog.importer import import_catalog

    config = config_of(ctx)
    with cover_bar(None, as_json) as bar:
        report = import_catalog(Path(source), name, embedder or config.catalog.embedder, _index(), progress=bar)
    if as_json:
        click.echo(json.dumps({"catalog": name, "added": report.added, "updated": report.updated,
                               "skipped": len(report.problems), "problems": report.problems,
                               "warnings": report.warnings}))
    else:
        for line in report.warnings + report.problems:
            click.echo(f"warning: {line}", err=True)
        click.echo(f"catalogue {name}: {report.added} added, {report.updated} updated, "
                   f"{len(report.problems)} skipped ({len(report.problems) + len(report.warnings)} warnings)")
    if report.imported == 0:
        click.echo(f"error: nothing from {source} could be imported: fix the rows above and import again", err=True)
        sys.exit(2)


@catalog_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def catalog_list(as_json):
    """List catalogues: covers, embedder, last update."""
    rows = _index().list()
    if as_json:
        click.echo(json.dumps(rows))
        return
    for r in rows:
        click.echo(f"{r['name']:20} {r['covers']:7} covers  {r['embedder']:30} updated {r['updated_at']}")
    if not rows:
        click.echo("no catalogues yet: albumgen catalog import FILE --name NAME", err=True)


@catalog_group.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
def catalog_show(name, as_json):
    """A catalogue's size, embedder, genres and trained models."""
    from tools.catalog.predict import Predictor

    index = _index()
    info = index.require(name)
    predictor = Predictor.load(index, name)
    info |= {"genres": index.genre_counts(name), "predictor": predictor.bundle["scores"] if predictor else None}
    if as_json:
        click.echo(json.dumps(info))
        return
    click.echo(f"{name}: {info['covers']} covers, {info['embedder']} ({info['dim']} dims), from {info['source']}")
    click.echo("genres: " + ", ".join(f"{g} {n}" for g, n in info["genres"].items()))
    click.echo("predictor: " + (json.dumps(info["predictor"]) if predictor else f"not trained (albumgen catalog train {name})"))


@catalog_group.command("remove")
@click.argument("name")
def catalog_remove(name):
    """Delete a catalogue: its rows, vectors and trained models (the cover images are not touched)."""
    from tools.catalog.predict import model_path

    index = _index()
    count = index.remove(name)
    model_path(index, name).unlink(missing_ok=True)
    click.echo(f"removed catalogue {name} ({count} covers)")


@catalog_group.command("train")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
def catalog_train(name, as_json):
    """Fit scikit-learn predictors (genre, mode, tempo, energy, valence) on NAME's embeddings, with 5-fold scores."""
    from tools.catalog.predict import train

    result = train(_index(), name)
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(f"trained on {result['covers']} covers in {result['seconds']} s → {result['path']}")
    for field, score in result["scores"].items():
        click.echo(f"  {field:8} " + ", ".join(f"{m} {v}" for m, v in score.items()) + f" ({result['folds']}-fold)")


@catalog_group.command("eval")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="One object: the best method's figures and the baseline's.")
def catalog_eval(name, as_json):
    """Measured accuracy: retrieval k=1/5/10, the trained predictor, the evidence prior and the baseline."""
    from tools.catalog.evaluate import evaluate, table

    result = evaluate(_index(), name)
    click.echo(json.dumps(result) if as_json else table(result))
