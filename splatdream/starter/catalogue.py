"""Build the catalogue shipped in ``splatdream/data/library`` from the starter meshes.

The rows (ids = content hashes of the starter's byte-deterministic .glb files, captions, vectors,
thumbnails) come out the same on every run; LanceDB's own file names (UUIDs) do not. Only the
offline MiniLM embeddings are stored, so the shipped library answers on a fresh machine; CLIP
embeddings are added to the user's copy on first CLIP use. Packaged meshes are referenced as
``@starter/meshes/<name>.glb``, not copied, to keep the package small.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from splatdream.models.embedders import load_embedder
from splatdream.retrieval.ingest import IngestItem, IngestReport
from splatdream.retrieval.library import DATA_DIR, SHIPPED_LIBRARY, STARTER_PREFIX, AssetLibrary


def build_starter_library(
    out: Path | None = None,
    starter_dir: Path | None = None,
    *,
    regenerate_meshes: bool = True,
    fetch_scans: bool = False,
) -> IngestReport:
    """(Re)generate the starter meshes, then catalogue them into ``out`` (replaced atomically)."""
    from splatdream.starter import build as starter

    out = Path(out) if out is not None else SHIPPED_LIBRARY
    starter_dir = Path(starter_dir) if starter_dir is not None else DATA_DIR / "starter"
    if regenerate_meshes:
        starter.build_starter(starter_dir, skip_scans=not fetch_scans)
    packaged = starter_dir.resolve() == (DATA_DIR / "starter").resolve()
    items = [
        IngestItem(
            path=a.path,
            caption=a.caption,
            category=a.category,
            tags=tuple(a.tags),
            source=a.source,
            licence=a.license,
            link_as=STARTER_PREFIX + a.file if packaged else None,
        )
        for a in starter.load_manifest(starter_dir)
    ]
    tmp = out.with_name(out.name + ".building")
    shutil.rmtree(tmp, ignore_errors=True)
    lib = AssetLibrary(tmp)
    report = lib.add(items, embedders=[load_embedder("text")], progress=True)
    lib.catalogue.compact()
    if out.exists():
        old = out.with_name(out.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old)
    else:
        os.replace(tmp, out)
    return report
