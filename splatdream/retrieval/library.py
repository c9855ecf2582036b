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
import errno
import functools
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import numpy as np
import trimesh

import splatdream
from splatdream.errors import UserError
from splatdream.models.embedders import Embedder, ImageEmbedder, load_embedder
from splatdream.retrieval import meshes, store
from splatdream.retrieval.config import ATTRIBUTE_WEIGHT, EmbedderChoice, RetrievalConfig
from splatdream.retrieval.ingest import (
    IngestItem,
    IngestReport,
    embed_batch,
    ingest,
    progress_bar,
    scan_directory,
    unreadable_links,
)
from splatdream.retrieval.query import CATEGORY_SYNONYMS, ParsedPrompt, parse_prompt, words_of
from splatdream.retrieval.store import ANN_SEARCH, Catalogue

log = logging.getLogger(__name__)

CATEGORY_SHARE = 0.3
"""Weight of the category name (vs the caption or renders) in an asset's object score."""
OBJECT_LEAD = 1.0
"""When the prompt names its object, the best object's assets fill the top k ahead of any other object
unless one scores this much higher (1.0: never); descriptive prompts rank asset by asset (lead 0)."""
WEAK_BELOW = {"minilm-l6-v2": (0.3, 0.5), "default": (0.15, 0.25)}
"""(floor, bar) of ``is_weak`` per embedder name: measured for MiniLM on the query sets, a guess for others."""
WRITE_LOCK = ".write.lock"
"""Lock file in a library directory, held while a process adds or removes assets."""
LOCK_WAIT_S = 600.0
"""How long a second writer waits for the first before giving up."""


class LibraryBusy(UserError):
    """Another process kept the library's write lock for longer than ``LOCK_WAIT_S``."""


class LibraryCorrupt(UserError, ValueError):
    """LanceDB could not read the library's tables: a file of the library folder is damaged."""


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


def corrupt_message(root: Path, exc: BaseException) -> str:
    """One line naming the damaged library folder and how to get a readable one back."""
    from splatdream.errors import one_line

    detail = re.sub(r",?\s*/\S+\.rs:\d+:\d+", "", one_line(exc, 400))  # Lance's Rust source locations
    what = f"({detail[:160]})"
    if Path(root).resolve() == SHIPPED_LIBRARY.resolve():
        return (
            f"the starter library shipped with splatdream at {root} is damaged and cannot be read {what}; "
            "rebuild it with `splatdream assets build-starter`, or reinstall splatdream"
        )
    return (
        f"the asset library at {root} is damaged and cannot be read {what}; delete that folder "
        "(the shipped starter library is used again; `splatdream assets add DIR` adds your own meshes "
        "back), or point SPLATDREAM_LIBRARY "
        "or --library at another library"
    )


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _names_damage(
    method: Callable[Concatenate[AssetLibrary, _P], _R],
) -> Callable[Concatenate[AssetLibrary, _P], _R]:
    """Turn LanceDB's bare read errors (no file, no fix) into a ``LibraryCorrupt`` naming the folder."""

    @functools.wraps(method)
    def wrapper(self: AssetLibrary, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(self, *args, **kwargs)
        except (RuntimeError, ValueError, OSError) as exc:
            if store.raised_by_lance(exc):
                raise LibraryCorrupt(corrupt_message(self.root, exc)) from exc
            raise

    return wrapper


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
    """Similarity of the whole prompt to the caption (what plain caption search would rank by)."""
    object_score: float = float("nan")
    """How well the asset is the prompt's object (object phrase vs caption or renders, and category)."""
    weak: bool = False
    """The object score is below the embedder's weak-match threshold: probably not the prompt's object."""

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["mesh_path"] = str(self.mesh_path)
        d["tags"] = list(self.tags)
        return d


class AssetLibrary:
    """A catalogue of normalised meshes with captions, thumbnails and per-embedder vectors."""

    @_names_damage
    def __init__(self, root: Path, read_only: bool = False) -> None:
        self.root = Path(root)
        self.read_only = read_only
        self.catalogue = Catalogue(self.root, create=not read_only)
        self._categories: dict[str, np.ndarray] = {}
        self._categories_key: tuple[str, int] | None = None
        self._memory: Any = None
        self._memory_key: tuple[str, int, int] | None = None

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
            copy_library(self.root, dest)
        self.root, self.read_only = dest, False
        self.catalogue = Catalogue(dest)

    # -- reading ----------------------------------------------------------------------------
    @_names_damage
    def __len__(self) -> int:
        return len(self.catalogue)

    @_names_damage
    def rows(self, ids: Iterable[str] | None = None, thumbnails: bool = False) -> list[dict[str, Any]]:
        return self.catalogue.rows(ids, thumbnails)

    @_names_damage
    def get(self, asset_id: str, thumbnails: bool = False) -> dict[str, Any]:
        """The row of ``asset_id``; a unique prefix of at least 6 characters is enough."""
        if len(asset_id) < 6 or not re.fullmatch(r"[0-9a-f]+", asset_id):
            raise KeyError(
                f"asset id {asset_id!r} is not a hex id of at least 6 characters (see `splatdream assets list`)"
            )
        rows = (
            self.catalogue.assets.search()
            .where(f"starts_with(id, '{asset_id}')")
            .limit(2)
            .to_arrow()
            .to_pylist()
        )
        if len(rows) != 1:
            raise KeyError(
                f"{'no' if not rows else 'more than one'} asset with id {asset_id!r} in {self.root}"
            )
        return rows[0] if thumbnails else {k: v for k, v in rows[0].items() if k != "thumbnail"}

    def resolve_mesh_path(self, mesh_path: str) -> Path:
        if mesh_path.startswith(STARTER_PREFIX):
            return DATA_DIR / "starter" / mesh_path[len(STARTER_PREFIX) :]
        path = Path(mesh_path)
        return path if path.is_absolute() else self.root / path

    @_names_damage
    def thumbnails(self, ids: Sequence[str]) -> dict[str, bytes]:
        return {r["id"]: r["thumbnail"] for r in self.catalogue.rows(ids, thumbnails=True)}

    def load_mesh(self, asset: RetrievedAsset | str) -> trimesh.Trimesh:
        """The asset's normalised mesh (+Y up, inside the unit sphere) with its colours or texture."""
        path = (
            asset.mesh_path
            if isinstance(asset, RetrievedAsset)
            else self.resolve_mesh_path(self.get(asset)["mesh_path"])
        )
        return meshes.load_any(path)

    # -- writing ----------------------------------------------------------------------------
    @_names_damage
    def add(
        self,
        items: Sequence[IngestItem] | Path,
        embedders: Sequence[Embedder] | None = None,
        *,
        up: str = "y",
        progress: bool | None = None,
    ) -> IngestReport:
        """Ingest files (a directory is scanned, captions from its sidecar or file names)."""
        self._writable()
        links: list[tuple[str, str]] = []
        if isinstance(items, (str, Path)):
            links = unreadable_links(Path(items))  # looping/dangling links: reported, not silently dropped
            items = scan_directory(Path(items))
        embedders = default_embedders() if embedders is None else list(embedders)
        views = max((getattr(e, "views", 8) for e in embedders), default=8)
        with self._write_lock():
            report = ingest(
                self.catalogue, self.root, items, embedders, up=up, views=views, progress=progress
            )
        report.skipped.extend(links)
        return report

    @_names_damage
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
            lock.acquire(
                wait_s=LOCK_WAIT_S,
                on_wait=lambda holder: log.warning(
                    "waiting for %s, which is writing to the library %s", holder, self.root
                ),
            )
        except LockHeld as exc:
            raise LibraryBusy(
                f"the asset library {self.root} has been locked by {exc.holder} for "
                f"{LOCK_WAIT_S:.0f} s; wait for that process, or pass another --library"
            ) from None
        try:
            self.catalogue = Catalogue(self.root)
            yield
        finally:
            lock.release()

    @_names_damage
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
                    self.catalogue,
                    [embedder],
                    [r["id"] for r in rows],
                    [r["caption"] for r in rows],
                    lambda i, rows=rows: meshes.load_any(self.resolve_mesh_path(rows[i]["mesh_path"])),
                    getattr(embedder, "views", 8),
                )
                for _ in rows:
                    advance()
        return len(missing)

    # -- search -----------------------------------------------------------------------------
    def search(
        self,
        prompt: str,
        k: int = 3,
        *,
        embedder: Embedder | EmbedderChoice | None = None,
        n_candidates: int = 20,
        attribute_weight: float = ATTRIBUTE_WEIGHT,
        weak_below: float | None = None,
    ) -> list[RetrievedAsset]:
        """Top-``k`` assets of the prompt's object, ordered within that object by the prompt's attributes."""
        return self.search_many(
            [prompt],
            k,
            embedder=embedder,
            n_candidates=n_candidates,
            attribute_weight=attribute_weight,
            weak_below=weak_below,
        )[0]

    @_names_damage
    def search_many(
        self,
        prompts: Sequence[str],
        k: int = 3,
        *,
        embedder: Embedder | EmbedderChoice | None = None,
        n_candidates: int = 20,
        attribute_weight: float = ATTRIBUTE_WEIGHT,
        weak_below: float | None = None,
    ) -> list[list[RetrievedAsset]]:
        """``search`` for many prompts, embedding them in one batch."""
        for prompt in prompts:
            if not isinstance(prompt, str) or not prompt.strip():
                raise ValueError("the prompt is empty; say what to retrieve, e.g. --prompt 'a wooden chair'")
        if not 0.0 <= attribute_weight <= 1.0:
            raise ValueError(f"attribute_weight must be in [0, 1] (0: object only), got {attribute_weight}")
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
        parsed = [parse_prompt(p.strip()) for p in prompts]
        texts = list(dict.fromkeys(t for p in parsed for t in (p.object, p.description, p.prompt)))
        row = dict(zip(texts, emb.embed_text(texts), strict=True))  # each distinct text embedded once
        heads, objects, fulls = (
            [row[getattr(p, f)] for p in parsed] for f in ("object", "description", "prompt")
        )
        categories = self._category_vectors(emb)
        floor, bar = weak_threshold(emb)
        threshold = (floor, bar) if weak_below is None else (min(floor, weak_below), weak_below)
        return [
            self._search_vector(
                h, o, f, k, emb, max(k, n_candidates), attribute_weight, categories, threshold, p
            )
            for p, h, o, f in zip(parsed, heads, objects, fulls, strict=True)
        ]

    def _category_vectors(self, emb: Embedder) -> dict[str, np.ndarray]:
        """Text embeddings of the library's category names, once per library version and embedder."""
        key = (emb.name, self.catalogue.assets.version)
        if self._categories_key != key:
            names = sorted({c for c in self.catalogue.categories() if c})
            self._categories = dict(zip(names, emb.embed_text(names), strict=True)) if names else {}
            self._categories_key = key
        return self._categories

    def _candidates(
        self, emb: Embedder, queries: Sequence[np.ndarray], n: int
    ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        """Stage 1: the top ``n`` captions for each query vector, as (vectors by id, asset rows by id).

        A library under ``store.ANN_MIN_ROWS`` is held in memory (vectors and rows, reloaded when either
        table changes) and scanned exactly; a bigger one is searched through its ANN index.
        """
        table = self.catalogue.embedding_table(emb.name)
        if len(self) < store.ANN_MIN_ROWS:
            key = (emb.name, table.version, self.catalogue.assets.version)
            if self._memory_key != key:
                data = table.to_arrow().to_pylist()
                self._memory = (
                    [d["id"] for d in data],
                    np.asarray([d["text"] for d in data], np.float32).reshape(len(data), -1),
                    {d["id"]: d for d in data},
                    {r["id"]: r for r in self.catalogue.rows()},
                )
                self._memory_key = key
            ids, text, by_id, rows = self._memory
            hits: dict[str, dict[str, Any]] = {}
            for query in queries:
                scores = text @ query
                top = np.argsort(-scores)[:n]
                for j in top:
                    hits.setdefault(ids[j], by_id[ids[j]])
            return hits, rows
        hits = {}
        for query in queries:
            for h in (
                table.search(query.astype(np.float32), vector_column_name="text")
                .distance_type("cosine")
                .select(["id", "text", "image", "_distance"])
                .limit(n)
                .nprobes(ANN_SEARCH.nprobes)
                .refine_factor(ANN_SEARCH.refine)
                .to_arrow()
                .to_pylist()
            ):
                hits.setdefault(h["id"], h)
        return hits, {r["id"]: r for r in self.catalogue.rows(list(hits))}

    def _search_vector(
        self,
        head: np.ndarray,
        obj: np.ndarray,
        full: np.ndarray,
        k: int,
        emb: Embedder,
        n: int,
        attribute_weight: float,
        categories: dict[str, np.ndarray],
        threshold: tuple[float, float],
        parsed: ParsedPrompt,
    ) -> list[RetrievedAsset]:
        """Stage 1: candidates by the object (and the whole prompt) vs captions; stage 2: rank by the object."""
        queries = (obj, full) if attribute_weight > 0 else (obj,)
        hits, rows = self._candidates(emb, queries, n)
        if not hits:
            return []
        ids = [i for i in hits if i in rows]  # vectors whose asset row an interrupted ingest never wrote
        text = np.asarray([hits[i]["text"] for i in ids], np.float32)
        vectors = text
        if isinstance(emb, ImageEmbedder):
            if all(hits[i]["image"] is not None for i in ids):
                vectors = np.asarray(
                    [hits[i]["image"] for i in ids], np.float32
                )  # the re-rank: renders decide
            else:
                log.warning("some candidates have no image embedding; ranking by caption similarity only")
        groups = [rows[i]["category"] or i for i in ids]
        ranked = rank_by_object(
            head,
            obj,
            full,
            text,
            vectors,
            [categories.get(g) for g in groups],
            groups,
            attribute_weight,
            OBJECT_LEAD if parsed.names_object else 0.0,
        )
        out: list[RetrievedAsset] = []
        for j, (score, object_score) in ranked[:k]:
            row = rows[ids[j]]
            out.append(
                RetrievedAsset(
                    rank=len(out) + 1,
                    score=score,
                    id=ids[j],
                    caption=row["caption"],
                    source=row["source"],
                    mesh_path=self.resolve_mesh_path(row["mesh_path"]),
                    category=row["category"],
                    tags=tuple(row["tags"] or ()),
                    licence=row["licence"],
                    text_score=float(text[j] @ full),
                    object_score=object_score,
                    weak=is_weak(parsed, row, object_score, threshold),
                )
            )
        return out


def copy_library(src: Path, dest: Path) -> None:
    """Copy the library at ``src`` to ``dest`` so that a whole copy appears there or nothing does.

    Two processes may copy at once (two runs' first writes): each copies into its own temporary
    folder beside ``dest`` and renames it into place. The rename replaces an empty folder but never a
    full one, so the loser's fails on the winner's copy, which it then uses; its own is thrown away.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.copy-", dir=dest.parent))
    try:
        shutil.copytree(src, tmp / dest.name)
        with contextlib.suppress(OSError):  # an empty folder (Windows' rename will not replace one)
            dest.rmdir()
        try:
            os.rename(tmp / dest.name, dest)
        except OSError as exc:
            if _is_library(dest):  # another process's copy won
                return
            if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
                raise UserError(
                    f"{dest} holds files but is no asset library; move them away, or set SPLATDREAM_LIBRARY "
                    "to another folder for your copy of the starter library"
                ) from None
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def rank_by_object(
    head: np.ndarray,  # [D] the head noun phrase's embedding (vs category names)
    obj: np.ndarray,  # [D] the prompt-without-attributes embedding (vs captions or renders)
    full: np.ndarray,  # [D] the whole prompt's embedding
    text: np.ndarray,  # [N, D] candidates' caption embeddings
    vectors: np.ndarray,  # [N, D] what the final scores use: captions, or renders (CLIP image re-rank)
    category_vectors: Sequence[np.ndarray | None],  # N embeddings of the candidates' category names
    groups: Sequence[str],  # N object labels: the category, or the asset's own id when it has none
    attribute_weight: float,
    lead: float,
) -> list[tuple[int, tuple[float, float]]]:
    """Candidates in rank order as (index, (score, object score)): objects first, attributes within an object.

    An asset's object score mixes the prompt-without-attributes' similarity to its caption (or
    renders) with the head phrase's similarity to its category name; assets of one object rank by
    ``(1 - w) * object score + w * similarity to the whole prompt``; objects interleave by their
    next asset's object score, the best object getting ``lead`` on the others.
    """
    assert text.shape == vectors.shape and len(groups) == len(text) == len(category_vectors)
    object_score = vectors @ obj
    by_name = np.asarray([np.nan if c is None else float(c @ head) for c in category_vectors], np.float32)
    has_name = np.isfinite(by_name)
    object_score = np.where(
        has_name, (1 - CATEGORY_SHARE) * object_score + CATEGORY_SHARE * np.nan_to_num(by_name), object_score
    )
    score = (1 - attribute_weight) * object_score + attribute_weight * (vectors @ full)
    order = _merge_objects(object_score, score, groups, lead)
    return [(j, (float(score[j]), float(object_score[j]))) for j in order]


def _merge_objects(
    object_score: np.ndarray, score: np.ndarray, groups: Sequence[str], lead: float
) -> list[int]:
    """Assets grouped by object, each object's in ``score`` order; the best object's assets come first
    unless another object's next asset beats them by more than ``OBJECT_LEAD`` in object score."""
    queues: dict[str, list[int]] = {}
    for j in sorted(range(len(groups)), key=lambda j: -score[j]):
        queues.setdefault(groups[j], []).append(j)
    top = groups[int(np.argmax(object_score))]
    best = {g: max(object_score[j] for j in q) for g, q in queues.items()}
    order: list[int] = []
    while queues:
        g = max(queues, key=lambda g: best[g] + (lead if g == top else 0.0))
        order.append(queues[g].pop(0))
        if queues[g]:
            best[g] = max(object_score[j] for j in queues[g])
        else:
            del queues[g]
    return order


def weak_threshold(emb: Embedder) -> tuple[float, float]:
    """(floor, bar) of the weak-match rule for this embedder (see ``is_weak``)."""
    return WEAK_BELOW.get(emb.name, WEAK_BELOW["default"])


def is_weak(
    parsed: ParsedPrompt, row: dict[str, Any], object_score: float, threshold: tuple[float, float]
) -> bool:
    """Is this hit probably not the prompt's object?

    Weak when its object score is under the floor, or when the prompt names its object, the asset's
    caption, category, tags and the category's synonyms (``CATEGORY_SYNONYMS``) never use a word of
    that name, and its object score is under the bar (a close synonym, 'couch' for a sofa, scores
    above the bar; a rarer one, 'settee', needs the table).
    """
    floor, bar = threshold
    if object_score < floor:
        return True
    if not parsed.head_words or object_score >= bar:
        return False
    category = row["category"] or ""
    vocabulary = words_of(" ".join([row["caption"] or "", category, *(row["tags"] or ())]))
    vocabulary |= CATEGORY_SYNONYMS.get(category, frozenset())
    return not any(w in vocabulary for w in parsed.head_words if len(w) > 2)


def weak_match_warning(prompt: str, hits: Sequence[RetrievedAsset], root: Path | str) -> str | None:
    """The warning for hits that are probably not the prompt's object (None when all are good)."""
    weak = [h for h in hits if h.weak]
    if not weak:
        return None
    scores = ", ".join(f"{h.caption!r} {h.object_score:.2f}" for h in weak)
    what = "none of the" if len(weak) == len(hits) else f"{len(weak)} of the {len(hits)}"
    obj = parse_prompt(prompt).object
    return (
        f"weak match: {what} assets retrieved for {prompt!r} look like {obj!r} (object scores: {scores}); "
        f"the library at {root} probably has no {obj!r}. Add some: `splatdream assets add DIR` (meshes with a "
        "captions.csv), or `splatdream assets add-objaverse --lvis-categories NAME` (needs network)"
    )


def default_embedders() -> list[Embedder]:
    """What ingest embeds with: always the offline text model, plus CLIP when its weights are local."""
    text = load_embedder("text")
    best = load_embedder("auto")
    return [text] if best is text else [text, best]
