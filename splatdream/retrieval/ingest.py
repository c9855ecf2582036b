"""Mesh files -> catalogue rows: hash, validate, normalise, thumbnail, embed, store.

Robust by construction: a bad file is skipped and reported while the batch goes on; the content
hash makes re-adding a file a no-op; rows are written in small batches (embeddings first, the
asset row last), so an interrupted ingest keeps what it finished and a re-run does the remainder.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from splatdream.atomic import atomic_write
from splatdream.models.embedders import Embedder, ImageEmbedder
from splatdream.retrieval import meshes
from splatdream.retrieval.store import Catalogue
from splatdream.retrieval.thumbnails import embedding_views, thumbnail_png

log = logging.getLogger(__name__)

SIDECARS = ("captions.csv", "captions.json", "metadata.csv", "metadata.json")


@dataclass(frozen=True)
class IngestItem:
    """One file to add and what we know about it."""

    path: Path
    caption: str
    category: str = ""
    tags: tuple[str, ...] = ()
    source: str = "local"
    licence: str = "unknown"
    link_as: str | None = None
    """Reference the file under this mesh_path instead of copying it (only if already normalised)."""


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (file, existing id)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)

    def summary(self) -> str:
        lines = [
            f"added {len(self.added)}, already present {len(self.duplicates)}, skipped {len(self.skipped)}"
        ]
        lines += [f"  skipped {name}: {why}" for name, why in self.skipped]
        return "\n".join(lines)


def caption_from_name(path: Path) -> str:
    """'red_Chair-02.glb' -> 'red chair': the fallback caption when no sidecar names the file."""
    words = re.sub(r"([a-z])([A-Z])", r"\1 \2", path.stem).replace("_", " ").replace("-", " ").lower()
    words = re.sub(r"\b\d+\b", " ", words)
    return " ".join(words.split()) or path.stem


def _split_tags(value: Any) -> tuple[str, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(str(v).strip() for v in value if str(v).strip())
    return tuple(t.strip() for t in re.split(r"[;,|]", str(value or "")) if t.strip())


def read_sidecar(directory: Path) -> dict[str, dict[str, Any]]:
    """Captions (and optional category, tags, licence) keyed by file name, from captions/metadata csv|json.

    csv: columns ``file, caption[, category, tags, licence]`` (tags separated by ';').
    json: ``{"chair.glb": "a wooden chair", ...}`` or ``{"chair.glb": {"caption": ..., "tags": [...]}}``
    or a list of objects with a ``file`` key.
    """
    out: dict[str, dict[str, Any]] = {}
    for name in SIDECARS:
        path = directory / name
        if not path.is_file():
            continue
        if path.suffix == ".csv":
            with open(path, newline="", encoding="utf-8") as f:
                records = list(csv.DictReader(f))
        else:
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                records = [
                    {"file": k, **(v if isinstance(v, dict) else {"caption": v})} for k, v in data.items()
                ]
            else:
                records = list(data)
        for rec in records:
            key = str(rec.get("file") or rec.get("filename") or rec.get("path") or "").strip()
            if key:
                out[key] = rec
    return out


def scan_directory(directory: Path, source: str = "local", licence: str = "unknown") -> list[IngestItem]:
    """Every file under ``directory`` (recursively, sorted) that is not a sidecar, with its caption.

    Non-mesh files are included on purpose: they end up in the report as skipped, not silently lost.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise NotADirectoryError(f"{directory} is not a directory")
    side = read_sidecar(directory)
    items = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        rel = path.relative_to(directory).as_posix()
        if (
            rel in SIDECARS
            or path.name.startswith(".")
            or path.suffix.lower() in (".bin", ".png", ".jpg", ".jpeg", ".mtl")
        ):
            continue  # sidecars and the companions of .gltf/.obj files
        rec = side.get(rel) or side.get(path.name) or side.get(path.stem) or {}
        caption = str(rec.get("caption") or caption_from_name(path)).strip()
        items.append(
            IngestItem(
                path=path,
                caption=caption,
                category=str(rec.get("category") or caption.split()[-1]).strip(),
                tags=_split_tags(rec.get("tags")),
                source=str(rec.get("source") or source),
                licence=str(rec.get("licence") or rec.get("license") or licence),
            )
        )
    return items


def unreadable_links(directory: Path) -> list[tuple[str, str]]:
    """Symlinks under ``directory`` that lead nowhere (loops, dangling), as (file, reason) for the report.

    ``scan_directory`` sees only what ``is_file()`` says is a file, and a looping or dangling link is
    none: without this they vanished from the batch with no word.
    """
    import os

    found = []
    for root, dirs, files in os.walk(directory, followlinks=False):
        for name in sorted(dirs + files):
            path = Path(root) / name
            if not path.is_symlink():
                continue
            try:
                path.resolve(strict=True)
            except RuntimeError:  # Python < 3.13 reports a loop this way
                found.append((str(path), "symlink loop (it points back to itself); remove or fix the link"))
            except FileNotFoundError:
                found.append((str(path), "dangling symlink (its target does not exist)"))
            except OSError as exc:  # ELOOP on newer Pythons
                found.append(
                    (str(path), f"symlink loop or unreadable link ({exc.strerror}); remove or fix the link")
                )
    return found


@dataclass
class Prepared:
    """One asset ready for the table: its row (thumbnail included) and the normalised mesh."""

    item: IngestItem
    id: str
    row: dict[str, Any]
    mesh: Any


def prepare(item: IngestItem, asset_id: str, root: Path, up: str) -> Prepared:
    """Normalise one mesh, store it under ``root/meshes/`` (unless linked in place) and build its row.

    Public because the serial path and the Ray workers (ray_ingest.py) must make the same rows.
    """
    mesh = meshes.load_any(item.path)
    transform = meshes.normalise(mesh, up=up)
    if item.link_as is not None and np.allclose(transform, np.eye(4), atol=1e-4):
        mesh_path = item.link_as
    else:
        mesh_path = f"meshes/{asset_id}.glb"
        with atomic_write(root / mesh_path) as tmp:
            tmp.write_bytes(meshes.to_glb(mesh))
    lo, hi = mesh.bounds
    row = {
        "id": asset_id,
        "source": item.source,
        "licence": item.licence,
        "caption": item.caption,
        "category": item.category,
        "tags": list(item.tags),
        "mesh_path": mesh_path,
        "source_name": item.path.name,
        "bbox_min": lo.astype(np.float32),
        "bbox_max": hi.astype(np.float32),
        "n_faces": len(mesh.faces),
        "n_vertices": len(mesh.vertices),
        "transform": transform.astype(np.float32).reshape(-1),
        "thumbnail": thumbnail_png(mesh),
    }
    return Prepared(item, asset_id, row, mesh)


def image_embedding(embedder: ImageEmbedder, mesh: Any, views: int = 8) -> np.ndarray:
    """Mean of the CLIP embeddings of ``views`` orbit renders, renormalised (the paper's asset image key)."""
    emb = embedder.embed_images(list(embedding_views(mesh, n=views))).mean(0)
    return emb / max(float(np.linalg.norm(emb)), 1e-12)


def embed_batch(
    catalogue: Catalogue,
    embedders: Sequence[Embedder],
    ids: list[str],
    captions: list[str],
    mesh_of,
    views: int = 8,
) -> None:  # type: ignore[no-untyped-def]
    """Write each embedder's rows for ``ids``; ``mesh_of(i)`` gives the i-th normalised mesh when renders are needed."""
    for emb in embedders:
        text = emb.embed_text(captions)
        image = None
        if isinstance(emb, ImageEmbedder):
            image = np.full_like(text, np.nan)
            for i in range(len(ids)):
                try:
                    image[i] = image_embedding(emb, mesh_of(i), views)
                except Exception as exc:  # keep the text row; the asset just skips the image re-rank
                    log.warning("no image embedding for %s: %s", ids[i], exc)
        catalogue.add_embeddings(emb.name, ids, text, image)


@contextlib.contextmanager
def progress_bar(total: int, enabled: bool, label: str = "ingest") -> Iterator[Callable[[], None]]:
    """A rich progress bar (on stderr, gone when done); yields the function that advances it."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not enabled,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda: bar.advance(task)


def ingest(
    catalogue: Catalogue,
    root: Path,
    items: Sequence[IngestItem],
    embedders: Sequence[Embedder],
    *,
    up: str = "y",
    batch_size: int = 16,
    views: int = 8,
    progress: bool | None = None,
) -> IngestReport:
    """Add ``items`` to the catalogue stored under ``root``; returns what was added, skipped, already there."""
    report = IngestReport()
    known = catalogue.ids()
    pending: list[Prepared] = []

    def flush() -> None:
        if not pending:
            return
        embed_batch(
            catalogue,
            embedders,
            [p.id for p in pending],
            [p.item.caption for p in pending],
            lambda i: pending[i].mesh,
            views,
        )
        catalogue.add_assets([p.row for p in pending])  # last: a row exists only once it is searchable
        report.added.extend(p.id for p in pending)
        pending.clear()

    show = len(items) >= 20 if progress is None else progress
    with progress_bar(len(items), show) as advance:
        for item in items:
            advance()
            try:
                asset_id = meshes.content_hash(item.path)
            except OSError as exc:
                report.skipped.append((str(item.path), f"unreadable: {exc}"))
                continue
            if asset_id in known:
                report.duplicates.append((str(item.path), asset_id))
                continue
            try:
                prepared = prepare(item, asset_id, root, up)
            except meshes.MeshError as exc:
                log.warning("skipping %s", exc)
                report.skipped.append((str(item.path), str(exc)))
                continue
            known.add(asset_id)
            pending.append(prepared)
            if len(pending) >= batch_size:
                flush()
        flush()
    return report
