"""The catalogue index: covers, their attributes and their embeddings in one SQLite file with sqlite-vec.

Why sqlite-vec: AlbumGen's store is already SQLite; one more file beside it (catalog.db) holds rows and
vectors in the same transactions, so an interrupted import leaves whole rows only; search is exact (no index
to train, recall 1.0) and 100,000 covers stay well under a second per query (benchmarks/catalog.py); the wheels
add about 9 MB where LanceDB brings pyarrow and lance (over 100 MB). This Python's own sqlite3 cannot load
extensions, so the catalogue opens its file with apsw (SQLite's own Python binding, with its own SQLite).
"""
from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.catalog.rows import Attributes
from tools.errors import InputError, require
from tools.files import default_home
from tools.files import utc_now as _now

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


@dataclass(frozen=True)
class Neighbour:
    """A catalogue cover near the new one: its file, cosine similarity and known attributes."""

    cover: str
    similarity: float
    attributes: Attributes

    @property
    def name(self) -> str:
        return Path(self.cover).name

    def to_dict(self) -> dict[str, Any]:
        return {"cover": self.cover, "name": self.name, "similarity": round(self.similarity, 4),
                "attributes": self.attributes.to_dict()}


@dataclass
class Entries:
    """Every cover of one catalogue, in row order: what training and evaluation read."""

    ids: list[int]
    covers: list[str]
    vectors: Any  # float32 (n, dim), unit rows
    attributes: list[Attributes]
    evidence: list[list[dict[str, Any]]]


def check_name(name: str) -> str:
    if not NAME.match(name or ""):
        raise InputError(f"catalogue name {name!r} is not valid: use 1-40 lower-case letters, digits, - or _")
    return name


class CatalogIndex:
    """One catalog.db (ALBUMGEN_HOME or the user data dir): many named catalogues."""

    def __init__(self, path: str | Path | None = None):

        self.path = Path(path) if path else default_home() / "catalog.db"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        apsw = require("apsw", "catalog")
        sqlite_vec = require("sqlite_vec", "catalog", "sqlite-vec")
        self.db = apsw.Connection(str(self.path))
        self.db.set_busy_timeout(10_000)
        self.db.enable_load_extension(True)
        self.db.load_extension(sqlite_vec.loadable_path())
        self.db.enable_load_extension(False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("""CREATE TABLE IF NOT EXISTS catalogs (name TEXT PRIMARY KEY, embedder TEXT NOT NULL,
            dim INTEGER NOT NULL, source TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)""")
        self.db.execute("""CREATE TABLE IF NOT EXISTS covers (id INTEGER PRIMARY KEY, catalog TEXT NOT NULL,
            sha256 TEXT NOT NULL, cover TEXT NOT NULL, attributes TEXT NOT NULL, evidence TEXT NOT NULL,
            updated_at TEXT NOT NULL, UNIQUE(catalog, sha256))""")

    def close(self) -> None:
        self.db.close()

    # -- catalogues -------------------------------------------------------------------------------
    def info(self, name: str) -> dict[str, Any] | None:
        with self._lock:
            row = self.db.execute("SELECT name, embedder, dim, source, created_at, updated_at FROM catalogs "
                                  "WHERE name = ?", (name,)).fetchone()
            if row is None:
                return None
            count = self.db.execute("SELECT count(*) FROM covers WHERE catalog = ?", (name,)).fetchone()[0]
        keys = ("name", "embedder", "dim", "source", "created_at", "updated_at")
        return {**dict(zip(keys, row)), "covers": count}

    def require(self, name: str) -> dict[str, Any]:
        info = self.info(name)
        if info is None:
            known = ", ".join(c["name"] for c in self.list()) or "none yet"
            raise InputError(f"no catalogue named {name!r} (catalogues: {known}): create it with "
                             f"albumgen catalog import FILE --name {name}")
        return info

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            names = [r[0] for r in self.db.execute("SELECT name FROM catalogs ORDER BY name")]
        return [self.info(n) for n in names]

    def ensure(self, name: str, embedder: str, dim: int, source: str) -> dict[str, Any]:
        """The catalogue, created if new; an existing one must use the same embedder."""
        check_name(name)
        info = self.info(name)
        if info is not None:
            if info["embedder"] != embedder:
                raise InputError(f"catalogue {name} was embedded with {info['embedder']}, not {embedder}: import "
                                 f"into a new name, or remove {name} first")
            return info
        with self._lock, self.db:
            self.db.execute("INSERT INTO catalogs VALUES (?, ?, ?, ?, ?, ?)", (name, embedder, dim, source, _now(), _now()))
            self.db.execute(f"CREATE VIRTUAL TABLE {self._vec(name)} USING vec0(embedding float[{dim}] "
                            "distance_metric=cosine)")
        return self.info(name)

    def remove(self, name: str) -> int:
        info = self.require(name)
        with self._lock, self.db:
            self.db.execute(f"DROP TABLE IF EXISTS {self._vec(name)}")
            self.db.execute("DELETE FROM covers WHERE catalog = ?", (name,))
            self.db.execute("DELETE FROM catalogs WHERE name = ?", (name,))
        return info["covers"]

    @staticmethod
    def _vec(name: str) -> str:
        return "vec_" + check_name(name).replace("-", "_")

    # -- covers -----------------------------------------------------------------------------------
    def upsert(self, name: str, sha256: str, cover: str, attributes: Attributes, vector,
               evidence: list[dict[str, Any]]) -> str:
        """One cover in one transaction: 'added', or 'updated' when the same image was imported before."""
        import numpy as np

        blob = np.asarray(vector, dtype=np.float32).tobytes()
        with self._lock, self.db:
            found = self.db.execute("SELECT id FROM covers WHERE catalog = ? AND sha256 = ?", (name, sha256)).fetchone()
            values = (cover, json.dumps(attributes.to_dict()), json.dumps(evidence), _now())
            if found:
                self.db.execute("UPDATE covers SET cover = ?, attributes = ?, evidence = ?, updated_at = ? WHERE id = ?",
                                (*values, found[0]))
                self.db.execute(f"DELETE FROM {self._vec(name)} WHERE rowid = ?", (found[0],))
                rowid = found[0]
            else:
                self.db.execute("INSERT INTO covers (catalog, sha256, cover, attributes, evidence, updated_at) "
                                "VALUES (?, ?, ?, ?, ?, ?)", (name, sha256, *values))
                rowid = self.db.last_insert_rowid()
            self.db.execute(f"INSERT INTO {self._vec(name)}(rowid, embedding) VALUES (?, ?)", (rowid, blob))
            self.db.execute("UPDATE catalogs SET updated_at = ? WHERE name = ?", (_now(), name))
        return "updated" if found else "added"

    def search(self, name: str, vector, k: int = 5) -> list[Neighbour]:
        """The k nearest covers by cosine similarity, nearest first."""
        import numpy as np

        self.require(name)
        blob = np.asarray(vector, dtype=np.float32).tobytes()
        with self._lock:
            hits = self.db.execute(f"SELECT rowid, distance FROM {self._vec(name)} WHERE embedding MATCH ? AND k = ? "
                                   "ORDER BY distance", (blob, int(k))).fetchall()
            rows = {r[0]: r[1:] for r in self.db.execute(
                f"SELECT id, cover, attributes FROM covers WHERE id IN ({','.join('?' * len(hits))})",
                [h[0] for h in hits])} if hits else {}
        return [Neighbour(rows[i][0], 1.0 - float(d), Attributes(**json.loads(rows[i][1]))) for i, d in hits]

    def entries(self, name: str) -> Entries:
        import numpy as np

        info = self.require(name)
        with self._lock:
            rows = self.db.execute(f"SELECT c.id, c.cover, c.attributes, c.evidence, v.embedding FROM covers c "
                                   f"JOIN {self._vec(name)} v ON v.rowid = c.id WHERE c.catalog = ? ORDER BY c.id",
                                   (name,)).fetchall()
        vectors = np.frombuffer(b"".join(r[4] for r in rows), dtype=np.float32).reshape(len(rows), info["dim"])
        return Entries([r[0] for r in rows], [r[1] for r in rows], vectors,
                       [Attributes(**json.loads(r[2])) for r in rows], [json.loads(r[3]) for r in rows])

    def genre_counts(self, name: str) -> dict[str, int]:
        with self._lock:
            rows = self.db.execute("SELECT json_extract(attributes, '$.genre') g, count(*) FROM covers "
                                   "WHERE catalog = ? GROUP BY g ORDER BY count(*) DESC, g", (name,)).fetchall()
        return dict(rows)
