"""The catalogue on disk: LanceDB tables in one directory (or an object-store URI).

Layout of a library directory::

    assets.lance/            one row per asset: id (content hash), source, licence, caption,
                             category, tags, mesh_path, bbox, counts, transform, thumbnail (PNG)
    emb_<embedder>.lance/    one table per embedder: id, text (caption embedding) and image
                             (mean of the renders' embeddings, null when the embedder has no
                             image tower); each table carries its own ANN index at scale
    meshes/<id>.glb          normalised meshes (the starter library references its packaged
                             meshes as ``@starter/...`` instead of copying them)

Embeddings live in per-embedder tables rather than extra columns so adding an embedder never
rewrites the asset table and every vector column has one fixed width.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, get_args

import lancedb
import numpy as np
import pyarrow as pa

ASSETS = "assets"
ANN_MIN_ROWS = 65_536
"""Below this many rows a flat scan is already fast (and IVF training would be poor)."""

ASSET_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("source", pa.string()),
        pa.field("licence", pa.string()),
        pa.field("caption", pa.string()),
        pa.field("category", pa.string()),
        pa.field("tags", pa.list_(pa.string())),
        pa.field("mesh_path", pa.string()),
        pa.field("source_name", pa.string()),
        pa.field("bbox_min", pa.list_(pa.float32(), 3)),
        pa.field("bbox_max", pa.list_(pa.float32(), 3)),
        pa.field("n_faces", pa.int64()),
        pa.field("n_vertices", pa.int64()),
        pa.field("transform", pa.list_(pa.float32(), 16)),
        pa.field("thumbnail", pa.binary()),
    ]
)
META_COLUMNS = [f.name for f in ASSET_SCHEMA if f.name != "thumbnail"]


_LANCEDB_DIR = os.path.dirname(os.path.realpath(lancedb.__file__)) + os.sep


def raised_by_lance(exc: BaseException) -> bool:
    """Whether ``exc`` came out of LanceDB itself (a damaged table), not out of our code calling it.

    Lance reports unreadable files as bare ``RuntimeError``/``ValueError``/``OSError`` that name
    neither the library nor a fix; the innermost frame of the traceback tells them apart from ours.
    """
    if not isinstance(exc, (RuntimeError, ValueError, OSError)):
        return False
    if isinstance(exc, OSError) and exc.errno is not None:
        return False  # a real OS error (full disk, no permission): reported as such, not as damage
    tb, last = exc.__traceback__, None
    while tb is not None:
        last, tb = tb, tb.tb_next
    return last is not None and os.path.realpath(last.tb_frame.f_code.co_filename).startswith(_LANCEDB_DIR)


def embedding_table_name(embedder_name: str) -> str:
    return "emb_" + re.sub(r"[^A-Za-z0-9_.-]", "_", embedder_name)


def embedding_schema(dim: int) -> pa.Schema:
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("text", pa.list_(pa.float32(), dim)),
            pa.field("image", pa.list_(pa.float32(), dim), nullable=True),
        ]
    )


def sql_in(ids: Iterable[str]) -> str:
    quoted = ",".join("'" + i.replace("'", "''") + "'" for i in ids)
    return f"id IN ({quoted})"


class Catalogue:
    """Thin typed wrapper over the LanceDB connection: asset rows and per-embedder vectors."""

    def __init__(self, uri: str | Path, create: bool = False) -> None:
        self.uri = str(uri)
        self.db = lancedb.connect(self.uri)
        names = set(self.db.list_tables().tables)
        if ASSETS not in names:
            if not create:
                raise FileNotFoundError(
                    f"{self.uri} is not an asset library (no {ASSETS} table); create one with "
                    "`splatdream assets add DIR --library PATH`"
                )
            self.db.create_table(ASSETS, schema=ASSET_SCHEMA)
        self.assets = self.db.open_table(ASSETS)

    def table_names(self) -> set[str]:
        return set(self.db.list_tables().tables)

    # -- assets -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.assets.count_rows()

    def ids(self) -> set[str]:
        if not len(self):
            return set()
        return set(self.assets.search().select(["id"]).limit(None).to_arrow().column("id").to_pylist())

    def add_assets(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.assets.add(pa.Table.from_pylist(rows, schema=ASSET_SCHEMA))

    def rows(self, ids: Iterable[str] | None = None, thumbnails: bool = False) -> list[dict[str, Any]]:
        cols = META_COLUMNS + (["thumbnail"] if thumbnails else [])
        query = self.assets.search().select(cols).limit(None)
        if ids is not None:
            ids = list(ids)
            if not ids:
                return []
            query = query.where(sql_in(ids))
        return query.to_arrow().to_pylist()

    def remove(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        if not ids:
            return
        self.assets.delete(sql_in(ids))
        for name in self.table_names() - {ASSETS}:
            self.db.open_table(name).delete(sql_in(ids))

    # -- embeddings -------------------------------------------------------------------------
    def embedding_table(self, name: str, dim: int | None = None):  # type: ignore[no-untyped-def]
        """The embedder's table; created (needs ``dim``) when missing; None when missing and no dim."""
        table = embedding_table_name(name)
        if table in self.table_names():
            return self.db.open_table(table)
        if dim is None:
            return None
        return self.db.create_table(table, schema=embedding_schema(dim))

    def add_embeddings(self, name: str, ids: list[str], text: np.ndarray, image: np.ndarray | None) -> None:
        """Append rows; ``image`` [N, dim] may hold NaN rows for assets whose renders failed."""
        if not ids:
            return
        table = self.embedding_table(name, text.shape[1])
        table.delete(sql_in(ids))  # rows left by an interrupted ingest are replaced, not duplicated
        images: list[Any] = [None] * len(ids)
        if image is not None:
            images = [None if not np.isfinite(v).all() else v.astype(np.float32) for v in image]
        rows = [
            {"id": i, "text": t.astype(np.float32), "image": im}
            for i, t, im in zip(ids, text, images, strict=True)
        ]
        table.add(pa.Table.from_pylist(rows, schema=table.schema))
        maybe_build_ann_index(table)

    def categories(self) -> list[str]:
        """Every asset's category (one entry per asset)."""
        if not len(self):
            return []
        return self.assets.search().select(["category"]).limit(None).to_arrow().column("category").to_pylist()

    def embedded_ids(self, name: str) -> set[str]:
        table = self.embedding_table(name)
        if table is None or table.count_rows() == 0:
            return set()
        return set(table.search().select(["id"]).limit(None).to_arrow().column("id").to_pylist())

    def compact(self) -> None:
        """Merge fragments and drop old versions: keeps shipped/copied libraries small."""
        with warnings.catch_warnings():  # "removes every version": intended, nobody else holds this library
            warnings.simplefilter("ignore", UserWarning)
            for name in self.table_names():
                self.db.open_table(name).optimize(cleanup_older_than=timedelta(0))


AnnKind = Literal["IVF_PQ", "IVF_SQ", "IVF_HNSW_SQ", "IVF_FLAT"]


def ivf_partitions(n_rows: int) -> int:
    """~sqrt(N) IVF lists (16 to 4096)."""
    return int(max(16, min(4096, round(np.sqrt(n_rows)))))


def ann_index_config(kind: AnnKind, n_rows: int, dim: int) -> Any:
    """Cosine index settings of ``kind`` that train in minutes on 2 cores.

    ~sqrt(N) lists, k-means on 64 samples per list for 25 iterations (the defaults, 256 and 50,
    quadruple the build time at 1M rows for little recall); PQ with 16-d sub-vectors (32 bytes a
    row at 512-d).
    """
    from lancedb import index

    common: dict[str, Any] = {
        "distance_type": "cosine",
        "num_partitions": ivf_partitions(n_rows),
        "sample_rate": 64,
        "max_iterations": 25,
    }
    if kind == "IVF_PQ":
        sub_vectors = max(1, dim // 16)
        while dim % sub_vectors:
            sub_vectors -= 1
        return index.IvfPq(num_sub_vectors=sub_vectors, **common)
    if kind == "IVF_SQ":
        return index.IvfSq(**common)
    if kind == "IVF_HNSW_SQ":
        return index.IvfHnswSq(**common)
    if kind == "IVF_FLAT":
        return index.IvfFlat(**common)
    raise ValueError(f"unknown index kind {kind!r}; choose one of {get_args(AnnKind)}")


def ivf_pq_config(n_rows: int, dim: int):  # type: ignore[no-untyped-def]
    """The IVF_PQ settings of ``ann_index_config``."""
    return ann_index_config("IVF_PQ", n_rows, dim)


@dataclass(frozen=True)
class AnnSearch:
    """Search-time settings of the ANN index (ignored by a flat scan)."""

    nprobes: int
    refine: int


ANN_KIND: AnnKind = "IVF_SQ"
"""The library's index: at 1M x 512-d, IVF_SQ with refinement reaches recall@10 1.0 at ~7 ms/query and
builds in about half IVF_PQ's time (benchmarks/results/retrieval.md); IVF_PQ tops out near 0.5."""
ANN_SEARCH = AnnSearch(nprobes=20, refine=5)


def maybe_build_ann_index(table, min_rows: int | None = None) -> bool:  # type: ignore[no-untyped-def]
    """Build the ``ANN_KIND`` index on ``text`` once the table has ``min_rows`` (ANN_MIN_ROWS) rows; True when built.

    Rows added after the build are still found (LanceDB scans unindexed rows exactly) until the
    next ``optimize()`` folds them into the index.
    """
    n = table.count_rows()
    if n < (ANN_MIN_ROWS if min_rows is None else min_rows) or any(
        idx.columns == ["text"] for idx in table.list_indices()
    ):
        return False
    dim = table.schema.field("text").type.list_size
    table.create_index("text", config=ann_index_config(ANN_KIND, n, dim))
    return True
