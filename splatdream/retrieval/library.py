"""The asset library ReDream retrieves from: open it, add to it, search it, load its meshes.

``AssetLibrary.open()`` with no path gives the starter library shipped in the package (read-only);
the first write copies it to the user library directory (``$SPLATDREAM_LIBRARY``, else
``~/.cache/splatdream/library``) and later opens prefer that copy. Search is ReDream's two stages:
the top ``n_candidates`` by similarity of the prompt's text embedding to caption embeddings, then
re-ranked to ``k`` by similarity to the assets' rendered-image embeddings when the embedder has an
image tower (CLIP). With the offline text embedder stage 1 is the whole search.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import trimesh

import splatdream
from splatdream.errors import UserError
from splatdream.retrieval import meshes
from splatdream.retrieval.config import EmbedderChoice, RetrievalConfig
from splatdream.retrieval.embedders import Embedder, ImageEmbedder, load_embedder
from splatdream.retrieval.ingest import (
    IngestItem,
    IngestReport,
    embed_batch,
    ingest,
    progress_bar,
    scan_directory,
)
from splatdream.retrieval.store import Catalogue

log = logging.getLogger(__name__)

WRITE_LOCK = ".write.lock"
"""Lock file in a library directory, held while a process adds or removes assets."""
LOCK_WAIT_S = 600.0
"""How long a second writer waits for the first before giving up."""


class LibraryBusy(UserError):
    """Another process kept the library's write lock for longer than ``LOCK_WAIT_S``."""

DATA_DIR = Path(splatdream.__file__).resolve().parent / "data"
SHIPPED_LIBRARY = DATA_DIR / "library"
STARTER_PREFIX = "@starter/"
"""mesh_path prefix for meshes packaged under splatdream/data/starter (not copied into libraries)."""


def user_library_dir() -> Path:
    """Where writes to the default library go: $SPLATDREAM_LIBRARY, else the user cache."""
    if os.environ.get("SPLATDREAM_LIBRARY"):
        return Path(os.environ["SPLATDREAM_LIBRARY"]).expanduser()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "splatdream" / "library"


def _is_library(path: Path) -> bool:
    return (path / "assets.lance").is_dir()


@dataclass(frozen=True)
class RetrievedAsset:
    """One search hit. ``score`` is the cosine similarity that decided the final rank."""

    rank: int
    score: float
    id: str
    caption: str
    source: str
    mesh_path: Path
    category: str
    tags: tuple[str, ...]
    licence: str = "unknown"
    text_score: float = float("nan")
    """Stage-1 similarity (prompt vs caption); equals ``score`` when there was no image re-rank."""

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["mesh_path"] = str(self.mesh_path)
        d["tags"] = list(self.tags)
        return d


class AssetLibrary:
    """A catalogue of normalised meshes with captions, thumbnails and per-embedder vectors."""

    def __init__(self, root: Path, read_only: bool = False) -> None:
        self.root = Path(root)
        self.read_only = read_only
        self.catalogue = Catalogue(self.root, create=not read_only)

    @classmethod
    def open(cls, path: Path | None = None, *, create: bool = True) -> AssetLibrary:
        """``path``: a library directory (created when missing if ``create``); None: the user copy or the shipped starter."""
        if path is not None:
            path = Path(path).expanduser()
            if not create and not _is_library(path):
                raise FileNotFoundError(
                    f"no asset library at {path}; create one with `splatdream assets add DIR --library {path}` "
                    "or leave --library out to use the starter library"
                )
            return cls(path, read_only=False)
        user = user_library_dir()
        if _is_library(user):
            return cls(user, read_only=False)
        if not _is_library(SHIPPED_LIBRARY):
            raise FileNotFoundError(
                f"the starter library is missing from {SHIPPED_LIBRARY}; rebuild it with "
                "`splatdream assets build-starter` or pass --library DIR"
            )
        return cls(SHIPPED_LIBRARY, read_only=True)

    @classmethod
    def from_config(cls, cfg: RetrievalConfig) -> AssetLibrary:
        """The library to search (never creates one: a mistyped path is an error, not an empty library)."""
        return cls.open(cfg.library, create=False)

    def _writable(self) -> None:
        """Copy-on-write: the shipped library is never modified; the first write copies it to the user dir."""
        if not self.read_only:
            return
        dest = user_library_dir()
        if not _is_library(dest):
            log.warning("copying the starter library to %s; your changes go there", dest)
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(dest.name + ".tmp-copy")
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(self.root, tmp)
            if dest.exists():  # a directory that is not a library (e.g. empty): replace it
                shutil.rmtree(dest)
            os.replace(tmp, dest)
        self.root, self.read_only = dest, False
        self.catalogue = Catalogue(dest)

    # -- reading ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.catalogue)

    def rows(self, ids: Iterable[str] | None = None, thumbnails: bool = False) -> list[dict[str, Any]]:
        return self.catalogue.rows(ids, thumbnails)

    def get(self, asset_id: str, thumbnails: bool = False) -> dict[str, Any]:
        """The row of ``asset_id``; a unique prefix of at least 6 characters is enough."""
        if len(asset_id) < 6 or not re.fullmatch(r"[0-9a-f]+", asset_id):
            raise KeyError(f"asset id {asset_id!r} is not a hex id of at least 6 characters (see `splatdream assets list`)")
        rows = self.catalogue.assets.search().where(f"starts_with(id, '{asset_id}')").limit(2).to_arrow().to_pylist()
        if len(rows) != 1:
            raise KeyError(f"{'no' if not rows else 'more than one'} asset with id {asset_id!r} in {self.root}")
        return rows[0] if thumbnails else {k: v for k, v in rows[0].items() if k != "thumbnail"}

    def resolve_mesh_path(self, mesh_path: str) -> Path:
        if mesh_path.startswith(STARTER_PREFIX):
            return DATA_DIR / "starter" / mesh_path[len(STARTER_PREFIX):]
        path = Path(mesh_path)
        return path if path.is_absolute() else self.root / path

    def thumbnails(self, ids: Sequence[str]) -> dict[str, bytes]:
        return {r["id"]: r["thumbnail"] for r in self.catalogue.rows(ids, thumbnails=True)}

    def load_mesh(self, asset: RetrievedAsset | str) -> trimesh.Trimesh:
        """The asset's normalised mesh (+Y up, inside the unit sphere) with its colours or texture."""
        path = asset.mesh_path if isinstance(asset, RetrievedAsset) else self.resolve_mesh_path(self.get(asset)["mesh_path"])
        return meshes.load_any(path)

    # -- writing ----------------------------------------------------------------------------
    def add(
        self, items: Sequence[IngestItem] | Path, embedders: Sequence[Embedder] | None = None, *, up: str = "y",
        progress: bool | None = None,
    ) -> IngestReport:
        """Ingest files (a directory is scanned, captions from its sidecar or file names)."""
        self._writable()
        if isinstance(items, (str, Path)):
            items = scan_directory(Path(items))
        embedders = default_embedders() if embedders is None else list(embedders)
        views = max((getattr(e, "views", 8) for e in embedders), default=8)
        with self._write_lock():
            return ingest(self.catalogue, self.root, items, embedders, up=up, views=views, progress=progress)

    def remove(self, ids: Iterable[str]) -> list[str]:
        """Delete assets (rows, vectors and their copied mesh files); returns the full ids removed."""
        self._writable()
        with self._write_lock():
            full = [self.get(i)["id"] for i in ids]
            rows = self.catalogue.rows(full)
            self.catalogue.remove(full)
            for row in rows:
                if row["mesh_path"].startswith("meshes/"):
                    (self.root / row["mesh_path"]).unlink(missing_ok=True)
        return full

    @contextlib.contextmanager
    def _write_lock(self) -> Iterator[None]:
        """One writer at a time (two ``assets add`` at once would both add a file neither had seen);
        the catalogue is reopened inside the lock so this process sees the other's rows."""
        from splatdream.lockfile import FileLock, LockHeld

        lock = FileLock(self.root / WRITE_LOCK)
        try:
            lock.acquire(wait_s=LOCK_WAIT_S, on_wait=lambda holder: log.warning(
                "waiting for %s, which is writing to the library %s", holder, self.root))
        except LockHeld as exc:
            raise LibraryBusy(f"the asset library {self.root} has been locked by {exc.holder} for "
                              f"{LOCK_WAIT_S:.0f} s; wait for that process, or pass another --library") from None
        try:
            self.catalogue = Catalogue(self.root)
            yield
        finally:
            lock.release()

    def ensure_embeddings(self, embedder: Embedder) -> int:
        """Embed the assets this embedder has not seen yet (e.g. CLIP on a MiniLM-built library)."""
        table = self.catalogue.embedding_table(embedder.name)
        if table is not None and table.count_rows() == len(self):
            return 0  # the common case, answered without reading any ids
        missing = sorted(self.catalogue.ids() - self.catalogue.embedded_ids(embedder.name))
        if not missing:
            return 0
        self._writable()
        log.warning("embedding %d assets with %s (once per library)", len(missing), embedder.name)
        with progress_bar(len(missing), len(missing) >= 20, "embed") as advance:
            for start in range(0, len(missing), 32):
                rows = self.catalogue.rows(missing[start : start + 32])
                embed_batch(
                    self.catalogue, [embedder], [r["id"] for r in rows], [r["caption"] for r in rows],
                    lambda i, rows=rows: meshes.load_any(self.resolve_mesh_path(rows[i]["mesh_path"])),
                    getattr(embedder, "views", 8),
                )
                for _ in rows:
                    advance()
        return len(missing)

    # -- search -----------------------------------------------------------------------------
    def search(
        self, prompt: str, k: int = 3, *, embedder: Embedder | EmbedderChoice | None = None, n_candidates: int = 20
    ) -> list[RetrievedAsset]:
        """Top-``k`` assets for ``prompt``: ``n_candidates`` by caption similarity, re-ranked by renders."""
        return self.search_many([prompt], k, embedder=embedder, n_candidates=n_candidates)[0]

    def search_many(
        self, prompts: Sequence[str], k: int = 3, *, embedder: Embedder | EmbedderChoice | None = None,
        n_candidates: int = 20,
    ) -> list[list[RetrievedAsset]]:
        """``search`` for many prompts, embedding them in one batch."""
        for prompt in prompts:
            if not isinstance(prompt, str) or not prompt.strip():
                raise ValueError("the prompt is empty; say what to retrieve, e.g. --prompt 'a wooden chair'")
        n_assets = len(self)
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        if k > n_assets:
            raise ValueError(
                f"k={k} but the library at {self.root} holds only {n_assets} assets; lower -k or add assets "
                "with `splatdream assets add DIR`"
            )
        emb = embedder if isinstance(embedder, Embedder) else load_embedder(embedder or "auto")
        self.ensure_embeddings(emb)
        queries = emb.embed_text([p.strip() for p in prompts])
        return [self._search_vector(q, k, emb, max(k, n_candidates)) for q in queries]

    def _search_vector(self, query: np.ndarray, k: int, emb: Embedder, n: int) -> list[RetrievedAsset]:
        table = self.catalogue.embedding_table(emb.name)
        hits = (
            table.search(query.astype(np.float32), vector_column_name="text")
            .distance_type("cosine")
            .select(["id", "image", "_distance"])
            .limit(n)
            .refine_factor(4)
            .to_arrow()
            .to_pylist()
        )
        text_score = {h["id"]: 1.0 - float(h["_distance"]) for h in hits}
        ranked = [(h["id"], text_score[h["id"]]) for h in hits]
        if isinstance(emb, ImageEmbedder) and hits and all(h["image"] is not None for h in hits):
            images = np.asarray([h["image"] for h in hits], np.float32)
            scores = images @ query
            ranked = sorted(zip([h["id"] for h in hits], scores.tolist(), strict=True), key=lambda t: -t[1])
        elif isinstance(emb, ImageEmbedder):
            log.warning("some candidates have no image embedding; ranking by caption similarity only")
        rows = {r["id"]: r for r in self.catalogue.rows([i for i, _ in ranked[: k + 4]])}
        out: list[RetrievedAsset] = []
        for asset_id, score in ranked:
            row = rows.get(asset_id)
            if row is None:  # vectors whose asset row an interrupted ingest never wrote
                continue
            out.append(
                RetrievedAsset(
                    rank=len(out) + 1, score=float(score), id=asset_id, caption=row["caption"], source=row["source"],
                    mesh_path=self.resolve_mesh_path(row["mesh_path"]), category=row["category"],
                    tags=tuple(row["tags"] or ()), licence=row["licence"], text_score=text_score[asset_id],
                )
            )
            if len(out) == k:
                break
        return out


def default_embedders() -> list[Embedder]:
    """What ingest embeds with: always the offline text model, plus CLIP when its weights are local."""
    text = load_embedder("text")
    best = load_embedder("auto")
    return [text] if best is text else [text, best]
