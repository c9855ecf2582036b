"""The shipped starter catalogue: in sync with the starter meshes, and good enough offline.

Numbers (MiniLM, k=3, 121 paraphrased prompts, object-first search): precision@1 0.868, recall@3 0.942;
the confound set and its stricter targets are in test_retrieval_objects.py.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from splatdream.models.embedders import load_embedder
from splatdream.retrieval import meshes
from splatdream.retrieval.library import SHIPPED_LIBRARY, AssetLibrary
from splatdream.retrieval.quality import evaluate, read_queries
from splatdream.starter.build import load_manifest

QUERIES = Path(__file__).parent / "data" / "retrieval_queries.csv"
REBUILD = "rebuild it with `splatdream assets build-starter --no-regenerate-meshes` and commit splatdream/data/library"


@pytest.fixture(scope="module")
def shipped(monkeypatch_module) -> AssetLibrary:  # type: ignore[no-untyped-def]
    lib = AssetLibrary.open()
    assert lib.root == SHIPPED_LIBRARY and lib.read_only
    return lib


@pytest.fixture(scope="module")
def monkeypatch_module(tmp_path_factory):  # type: ignore[no-untyped-def]
    """Point the user library somewhere empty so AssetLibrary.open() gives the shipped one."""
    mp = pytest.MonkeyPatch()
    mp.setenv("SPLATDREAM_LIBRARY", str(tmp_path_factory.mktemp("user-library") / "lib"))
    yield mp
    mp.undo()


def test_shipped_catalogue_matches_the_starter_meshes(shipped: AssetLibrary) -> None:
    rows = {r["source_name"]: r for r in shipped.rows()}
    manifest = load_manifest()
    assert len(rows) == len(manifest), f"catalogue and starter manifest disagree; {REBUILD}"
    for asset in manifest:
        row = rows[Path(asset.file).name]
        assert row["caption"] == asset.caption and row["category"] == asset.category
        assert row["id"] == meshes.content_hash(asset.path), (
            f"{asset.name} changed since the catalogue was built; {REBUILD}"
        )
        assert shipped.resolve_mesh_path(row["mesh_path"]) == asset.path
    size = sum(p.stat().st_size for p in SHIPPED_LIBRARY.rglob("*") if p.is_file())
    assert size < 5_000_000


def test_query_set_is_paraphrased_and_covers_every_category(shipped: AssetLibrary) -> None:
    queries = read_queries(QUERIES)
    captions = {r["caption"].lower() for r in shipped.rows()}
    categories = {r["category"] for r in shipped.rows()}
    assert len(queries) >= 100
    assert {c for _, c in queries} == categories
    assert not any(p.lower() in captions for p, _ in queries)
    with open(QUERIES, newline="") as f:
        assert next(csv.reader(f)) == ["prompt", "category"]


def test_offline_embedder_quality(shipped: AssetLibrary) -> None:
    report = evaluate(shipped, read_queries(QUERIES), load_embedder("text"), k=3)
    print(report.summary())
    assert report.precision_at_1 >= 0.8, report.misses
    assert report.recall_at_k >= 0.9, report.misses
