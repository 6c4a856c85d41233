"""`albumgen catalog import`: rows → validated, embedded, indexed; a bad row is reported and skipped."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from tools.catalog.embed import embedder as get_embedder
from tools.catalog.index import CatalogIndex, check_name
from tools.catalog.rows import Row, RowError, check_columns, parse_row, read_records
from tools.cover import Cover, load_cover
from tools.errors import AlbumGenError

URL_TIMEOUT_S = 20


@dataclass
class ImportReport:
    name: str
    added: int = 0
    updated: int = 0
    problems: list[str] = field(default_factory=list)  # 'line N: ...', one per skipped row
    warnings: list[str] = field(default_factory=list)  # about the file as a whole

    @property
    def imported(self) -> int:
        return self.added + self.updated


def cover_evidence(cover: Cover) -> list[dict]:
    """What the evidence prior reads of a catalogue cover (colour measurements and ImageNet labels; no OCR),
    kept so `catalog eval` can score the prior alone without describing every cover again."""
    from tools.vision.offline import OfflineDescriber

    return OfflineDescriber(OfflineDescriber.Options(ocr=False)).describe(cover).evidence.to_list()


def _fetch(url: str, cache: Path) -> Path:
    """MusicOSet's image_url: downloaded once into the catalogue's cover cache."""
    import urllib.request

    target = cache / (hashlib.sha256(url.encode()).hexdigest()[:24] + Path(url.split("?")[0]).suffix[:5])
    if target.exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(url, timeout=URL_TIMEOUT_S) as response:  # noqa: S310 (http(s) only, below)
            data = response.read(50 * 1024 * 1024)
    except OSError as exc:
        raise RowError(f"image_url {url} cannot be downloaded ({str(exc)[:80]}): this machine may be offline; "
                       "download the covers and give their paths in a cover column") from None
    partial = target.with_suffix(target.suffix + ".partial")
    partial.write_bytes(data)
    partial.replace(target)
    return target


def _cover_path(row: Row, base: Path, cache: Path) -> Path:
    if row.cover.startswith(("http://", "https://")):
        return _fetch(row.cover, cache)
    if "://" in row.cover:
        raise RowError(f"cover {row.cover} is not a file path or http(s) URL")
    path = Path(row.cover).expanduser()
    return path if path.is_absolute() else base / path


def import_catalog(source: str | Path, name: str, embedder_name: str, index: CatalogIndex,
                   progress=None) -> ImportReport:
    """Import every valid row of SOURCE into catalogue NAME. Each cover is one transaction: an interrupted
    import keeps what it finished, and importing again updates rows with the same cover image. `progress`:
    a tqdm bar (its total is set once the rows are read, then it advances one per cover)."""
    check_name(name)
    source = Path(source)
    columns, records = read_records(source)
    report = ImportReport(name, warnings=check_columns(columns, source))
    rows: list[Row] = []
    for line, record in records:
        try:
            if isinstance(record, str):
                raise RowError(record)
            rows.append(parse_row(record, line))
        except RowError as exc:
            report.problems.append(f"line {line}: {exc}")
    if progress is not None:
        progress.total = len(rows)
        progress.refresh()
    embed = get_embedder(embedder_name)
    index.ensure(name, embed.name, embed.dim, str(source.resolve()))
    seen: dict[str, int] = {}
    cache = index.path.parent / "catalog-covers"
    for row in rows:
        try:
            _import_row(row, source.parent, cache, seen, embed, index, name, report)
        except RowError as exc:  # an unreadable cover too: load_cover's one line names the file
            report.problems.append(f"line {row.line}: {exc}")
        if progress is not None:
            progress.update(1)
    report.problems.sort(key=lambda p: int(p.split(":")[0].split()[1]))
    return report


def _import_row(row: Row, base: Path, cache: Path, seen: dict[str, int], embed, index: CatalogIndex, name: str,
                report: ImportReport) -> None:
    path = _cover_path(row, base, cache)
    try:
        cover = load_cover(path)
    except AlbumGenError as exc:
        raise RowError(str(exc)) from None
    if cover.sha256 in seen:
        raise RowError(f"duplicate of line {seen[cover.sha256]} (the same cover image): skipped")
    seen[cover.sha256] = row.line
    vector = embed.embed(cover.image)
    outcome = index.upsert(name, cover.sha256, str(path.resolve()) if path.exists() else row.cover, row.attributes,
                           vector, cover_evidence(cover))
    report.added += outcome == "added"
    report.updated += outcome == "updated"
