"""Ingestion at scale on Ray Data: the serial path's steps (``ingest``) as a streaming pipeline.

    items -> hash, load, normalise, thumbnail (CPU tasks) -> orbit renders for image embedders (CPU tasks)
          -> embeddings in batches (actors; one GPU each where the cluster has GPUs)
          -> LanceDB writes in batches (the driver: embeddings first, the asset row last, as ingest does)

The rows are the serial path's: the same ``prepare`` makes the asset row and the normalised mesh
file, the same embedders make the vectors. It resumes the same way too: assets already in the
catalogue are skipped by content hash, and every written batch stays written if the run stops.
"""

from __future__ import annotations

import functools
import logging
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from splatdream.models.embedders import (
    ClipWeightsUnavailable,
    Embedder,
    ImageEmbedder,
    load_embedder,
    resolve_clip_weights,
)
from splatdream.retrieval import meshes
from splatdream.retrieval.config import ClipConfig
from splatdream.retrieval.ingest import IngestItem, IngestReport, prepare, progress_bar
from splatdream.retrieval.store import Catalogue
from splatdream.retrieval.thumbnails import embedding_views

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmbedderSpec:
    """An embedder by name, so each Ray actor loads its own copy (on its own GPU) instead of receiving one."""

    choice: Literal["text", "clip"] = "text"
    clip: ClipConfig = ClipConfig()

    def load(self, device: str = "cpu") -> Embedder:
        return load_embedder(self.choice, self.clip, device)

    @property
    def views(self) -> int:
        """Orbit renders this embedder needs per asset (0: captions only)."""
        return self.clip.views if self.choice == "clip" else 0


def default_specs(clip: ClipConfig = ClipConfig()) -> list[EmbedderSpec]:
    """What ``AssetLibrary.add`` embeds with (the offline text model, plus CLIP when its weights are local)."""
    try:
        resolve_clip_weights(clip)
    except ClipWeightsUnavailable:
        return [EmbedderSpec("text")]
    return [EmbedderSpec("text"), EmbedderSpec("clip", clip)]


# -- the stages (each runs in a Ray worker) ------------------------------------------------------------
def load_stage(
    row: dict[str, Any], *, root: str, up: str, known: frozenset[str], keep_mesh: bool
) -> dict[str, Any]:
    """Hash, load, normalise, write the normalised mesh, thumbnail: one asset row (or why there is none)."""
    item: IngestItem = pickle.loads(row["item"])
    out = {
        "item": row["item"],
        "status": "ok",
        "id": "",
        "message": "",
        "row": b"",
        "mesh": b"",
        "views": b"",
    }
    try:
        out["id"] = meshes.content_hash(item.path)
    except OSError as exc:
        return {**out, "status": "skipped", "message": f"unreadable: {exc}"}
    if out["id"] in known:
        return {**out, "status": "duplicate"}
    try:
        prepared = prepare(item, out["id"], Path(root), up)
    except meshes.MeshError as exc:
        return {**out, "status": "skipped", "message": str(exc)}
    out["row"] = pickle.dumps(prepared.row)
    if keep_mesh:
        out["mesh"] = pickle.dumps(prepared.mesh)
    return out


def render_stage(row: dict[str, Any], *, views: int) -> dict[str, Any]:
    """The orbit renders image embedders average ([views, 224, 224, 3] uint8); a failed render leaves none."""
    if row["status"] == "ok" and row["mesh"]:
        try:
            row["views"] = pickle.dumps(np.asarray(embedding_views(pickle.loads(row["mesh"]), n=views)))
        except Exception as exc:  # as in ingest: the asset keeps its text vector, skips the image re-rank
            log.warning("no image embedding for %s: %s", row["id"], exc)
    row["mesh"] = b""
    return row


class EmbedStage:
    """A Ray actor holding the embedders; turns a batch of rows into each embedder's (text, image) vectors."""

    def __init__(self, specs: Sequence[EmbedderSpec], device: str | None = None) -> None:
        if device is None:
            import torch

            device = "cuda" if torch.cuda.is_available() else "cpu"  # Ray gave this actor a GPU, or none
        self.embedders = [s.load(device) for s in specs]

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        ok = [i for i, s in enumerate(batch["status"]) if s == "ok"]
        captions = [pickle.loads(batch["item"][i]).caption for i in ok]
        per_row: list[dict[str, tuple[np.ndarray, np.ndarray | None]]] = [{} for _ in ok]
        for emb in self.embedders:
            text = emb.embed_text(captions)
            for j, i in enumerate(ok):
                image = None  # None: the embedder has no image tower; NaN: its renders failed
                if isinstance(emb, ImageEmbedder):
                    image = np.full_like(text[j], np.nan)
                    if batch["views"][i]:
                        mean = emb.embed_images(list(pickle.loads(batch["views"][i]))).mean(0)
                        image = mean / max(float(np.linalg.norm(mean)), 1e-12)
                per_row[j][emb.name] = (text[j], image)
        vectors = np.empty(len(batch["status"]), dtype=object)
        vectors[:] = [b""] * len(vectors)
        for j, i in enumerate(ok):
            vectors[i] = pickle.dumps(per_row[j])
        return {
            "item": batch["item"],
            "status": batch["status"],
            "id": batch["id"],
            "message": batch["message"],
            "row": batch["row"],
            "vectors": vectors,
        }


# -- the driver ------------------------------------------------------------------------------------------
def ingest_with_ray(
    catalogue: Catalogue,
    root: Path,
    items: Sequence[IngestItem],
    specs: Sequence[EmbedderSpec],
    *,
    up: str = "y",
    batch_size: int = 16,
    embed_actors: int | None = None,
    progress: bool | None = None,
) -> IngestReport:
    """``ingest`` as a Ray Data pipeline on the connected cluster (``ray.init`` first); the same rows and report."""
    import ray

    report = IngestReport()
    if not items:
        return report
    known = catalogue.ids()
    views = max((s.views for s in specs), default=0)
    ctx = ray.data.DataContext.get_current()
    ctx.execution_options.preserve_order = True  # rows land in the order of the items, as serially
    show = len(items) >= 20 if progress is None else progress
    ctx.enable_progress_bars = False
    n_gpus = int(ray.cluster_resources().get("GPU", 0))
    # With GPUs: one embedding actor per GPU, fed by load/render tasks on every CPU. Without: Ray Data
    # fuses loading into the embedding actors (same resources), so one actor per CPU does both.
    actors = embed_actors or (n_gpus if n_gpus else max(1, int(ray.cluster_resources().get("CPU", 1))))

    ds: ray.data.Dataset = ray.data.from_items([{"item": pickle.dumps(it)} for it in items])
    ds = ds.map(
        functools.partial(load_stage, root=str(root), up=up, known=frozenset(known), keep_mesh=views > 0)
    )
    if views > 0:
        ds = ds.map(functools.partial(render_stage, views=views))
    ds = ds.map_batches(
        EmbedStage,
        fn_constructor_args=(tuple(specs),),
        batch_size=batch_size,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=actors),
        num_gpus=1 if n_gpus else 0,
    )
    with progress_bar(len(items), show, "ingest (ray)") as advance:
        for batch in ds.iter_batches(batch_size=batch_size, batch_format="numpy"):
            _write(catalogue, batch, known, report)
            for _ in batch["status"]:
                advance()
    return report


def _write(catalogue: Catalogue, batch: dict[str, np.ndarray], known: set[str], report: IngestReport) -> None:
    """One batch into LanceDB (vectors first, asset rows last, as ``ingest``) and into the report."""
    keep = []
    for i, status in enumerate(batch["status"]):
        path, asset_id = str(pickle.loads(batch["item"][i]).path), str(batch["id"][i])
        if status == "skipped":
            report.skipped.append((path, str(batch["message"][i])))
        elif status == "duplicate" or asset_id in known:  # also two files of the same content in one ingest
            report.duplicates.append((path, asset_id))
        else:
            known.add(asset_id)
            keep.append(i)
    if not keep:
        return
    ids = [str(batch["id"][i]) for i in keep]
    vectors = [pickle.loads(batch["vectors"][i]) for i in keep]
    for name in vectors[0]:
        text = np.stack([v[name][0] for v in vectors])
        images = [v[name][1] for v in vectors]
        catalogue.add_embeddings(name, ids, text, None if images[0] is None else np.stack(images))
    catalogue.add_assets([pickle.loads(batch["row"][i]) for i in keep])
    report.added.extend(ids)


def add_with_ray(
    library: Any,
    items: Sequence[IngestItem],
    *,
    up: str = "y",
    address: str | None = None,
    specs: Sequence[EmbedderSpec] | None = None,
    local_cpus: int | None = None,
    progress: bool | None = None,
) -> IngestReport:
    """``AssetLibrary.add`` on Ray: connects to ``address`` (or starts a local Ray) and ingests ``items``."""
    from splatdream.ray_cluster import ray_session

    library._writable()  # the shipped starter library is copied to the user's before any write, as add() does
    with ray_session(address, local_cpus):
        return ingest_with_ray(
            library.catalogue,
            library.root,
            items,
            default_specs() if specs is None else specs,
            up=up,
            progress=progress,
        )
