"""Asset library: ingestion (good, corrupt, duplicate, interrupted), normalisation, two-stage search, embedders."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import trimesh

from splatdream.models.embedders import (
    ClipEmbedder,
    ClipWeightsUnavailable,
    load_embedder,
    resolve_clip_weights,
)
from splatdream.retrieval import ingest as ingest_mod
from splatdream.retrieval import meshes
from splatdream.retrieval.config import ClipConfig
from splatdream.retrieval.library import AssetLibrary


class WordHashEmbedder:
    """Bag-of-words hashed into 64 dims: a deterministic, instant stand-in for a text model."""

    name = "wordhash"
    dim = 64

    def embed_text(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().split():
                out[i, int(hashlib.md5(w.encode()).hexdigest(), 16) % self.dim] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


class ColourEmbedder(WordHashEmbedder):
    """Text: the colour words of a caption; images: the mean colour of the render's object pixels."""

    name = "colour"
    dim = 3
    views = 2
    WORDS: ClassVar[dict[str, int]] = {"red": 0, "green": 1, "blue": 2}

    def embed_text(self, texts: list[str]) -> np.ndarray:
        out = np.full((len(texts), 3), 1e-3, np.float32)
        for i, t in enumerate(texts):
            for w in t.lower().split():
                if w in self.WORDS:
                    out[i, self.WORDS[w]] += 1.0
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def embed_images(self, images) -> np.ndarray:  # type: ignore[no-untyped-def]
        out = []
        for im in images:
            px = np.asarray(im, np.float32).reshape(-1, 3)
            obj = px[px.min(1) < 250]  # not the white background
            out.append(obj.mean(0) + 1e-3)
        out = np.asarray(out, np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def _box(colour: tuple[int, int, int], extents=(1.0, 1.0, 1.0), offset=(0.0, 0.0, 0.0)) -> trimesh.Trimesh:
    m = trimesh.creation.box(extents=extents)
    m.apply_translation(offset)
    m.visual.vertex_colors = [*colour, 255]
    return m


@pytest.fixture(autouse=True)
def fast_renders(monkeypatch) -> None:
    """Thumbnails and embedding views through the numpy painter: the mesh renderer has its own tests
    and costs seconds per asset on a shared CPU."""
    from splatdream.retrieval import thumbnails

    monkeypatch.setattr(
        thumbnails, "render_views", lambda mesh, cameras, supersample=1: thumbnails._painter(mesh, cameras)
    )


@pytest.fixture()
def asset_dir(tmp_path: Path) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    _box((220, 30, 30), extents=(4.0, 2.0, 1.0), offset=(10.0, 5.0, 0.0)).export(d / "red_box.glb")
    trimesh.creation.icosphere(subdivisions=2, radius=3.0).export(d / "ball.obj")
    trimesh.creation.cylinder(radius=0.2, height=5.0).export(d / "Tall-Pole_02.stl")
    (d / "broken.glb").write_bytes(b"glTF\x02\x00\x00\x00garbage")
    (d / "empty.ply").write_bytes(b"")
    (d / "readme.txt").write_text("not a mesh")
    (d / "captions.csv").write_text("file,caption,category,tags\nball.obj,a round ball,ball,toy;sphere\n")
    return d


def test_ingest_keeps_good_files_and_reports_bad_ones(tmp_path: Path, asset_dir: Path) -> None:
    lib = AssetLibrary.open(tmp_path / "lib")
    report = lib.add(asset_dir, embedders=[WordHashEmbedder()])
    assert len(report.added) == 3 and len(lib) == 3
    skipped = {Path(p).name: why for p, why in report.skipped}
    assert set(skipped) == {"broken.glb", "empty.ply", "readme.txt"}
    assert "empty" in skipped["empty.ply"] and "unsupported" in skipped["readme.txt"]

    rows = {r["source_name"]: r for r in lib.rows(thumbnails=True)}
    assert rows["ball.obj"]["caption"] == "a round ball" and rows["ball.obj"]["tags"] == ["toy", "sphere"]
    assert rows["Tall-Pole_02.stl"]["caption"] == "tall pole"  # from the file name
    assert rows["red_box.glb"]["id"] == meshes.content_hash(asset_dir / "red_box.glb")
    for r in rows.values():
        assert r["thumbnail"][:8] == b"\x89PNG\r\n\x1a\n"
        mesh = lib.load_mesh(r["id"])
        lo, hi = mesh.bounds
        np.testing.assert_allclose((lo + hi) / 2, 0.0, atol=1e-5)  # centred
        assert np.linalg.norm(mesh.vertices, axis=1).max() == pytest.approx(
            meshes.NORMALISED_RADIUS, rel=1e-4
        )
        assert r["n_faces"] == len(mesh.faces)
    red = lib.load_mesh(rows["red_box.glb"]["id"])
    assert red.visual.kind == "vertex" and (red.visual.vertex_colors[:, :3] == [220, 30, 30]).all()
    np.testing.assert_allclose(
        red.extents, 0.9 * np.array([4.0, 2.0, 1.0]) / np.sqrt(5.25), rtol=1e-4
    )  # axes kept


def test_readding_is_a_noop_and_remove_deletes(tmp_path: Path, asset_dir: Path) -> None:
    lib = AssetLibrary.open(tmp_path / "lib")
    emb = WordHashEmbedder()
    first = lib.add(asset_dir, embedders=[emb])
    again = lib.add(asset_dir, embedders=[emb])
    assert again.added == [] and len(again.duplicates) == 3 and len(lib) == 3
    assert lib.catalogue.embedding_table(emb.name).count_rows() == 3
    gone = lib.remove([first.added[0][:8]])  # a prefix is enough
    assert gone == [first.added[0]] and len(lib) == 2
    assert lib.catalogue.embedding_table(emb.name).count_rows() == 2
    assert not (tmp_path / "lib" / "meshes" / f"{gone[0]}.glb").exists()
    with pytest.raises(KeyError, match="no asset"):
        lib.get(gone[0])


def test_interrupted_ingest_finishes_on_rerun(tmp_path: Path, asset_dir: Path, monkeypatch) -> None:
    lib = AssetLibrary.open(tmp_path / "lib")
    emb = WordHashEmbedder()
    real = ingest_mod.prepare
    calls = {"n": 0}

    def flaky(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(ingest_mod, "prepare", flaky)
    items = ingest_mod.scan_directory(asset_dir)
    with pytest.raises(KeyboardInterrupt):
        ingest_mod.ingest(lib.catalogue, lib.root, items, [emb], batch_size=1)
    assert len(lib) == 2  # the two finished before the interrupt are kept
    monkeypatch.setattr(ingest_mod, "prepare", real)
    report = lib.add(items, embedders=[emb])
    assert len(report.added) == 1 and len(report.duplicates) == 2 and len(lib) == 3
    assert lib.catalogue.embedding_table(emb.name).count_rows() == 3


def test_z_up_files_are_turned_to_y_up(tmp_path: Path) -> None:
    d = tmp_path / "in"
    d.mkdir()
    trimesh.creation.cylinder(radius=0.1, height=2.0).export(d / "pole.stl")  # trimesh cylinders run along +Z
    lib = AssetLibrary.open(tmp_path / "lib")
    lib.add(d, embedders=[WordHashEmbedder()], up="z")
    mesh = lib.load_mesh(lib.rows()[0]["id"])
    assert mesh.extents[1] > 5 * mesh.extents[2]  # tall along Y now


def test_two_stage_search_reranks_by_renders(tmp_path: Path) -> None:
    d = tmp_path / "in"
    d.mkdir()
    _box((20, 20, 230)).export(d / "a.glb")
    _box((230, 20, 20)).export(d / "b.glb")
    _box((20, 200, 20)).export(d / "c.glb")
    # b is mis-captioned "blue" and worded so its caption matches "blue" best: only its renders tell.
    (d / "captions.json").write_text(
        '{"a.glb": "a blue red green box", "b.glb": "blue blue box", "c.glb": "green box"}'
    )
    lib = AssetLibrary.open(tmp_path / "lib")
    emb = ColourEmbedder()
    lib.add(d, embedders=[emb])
    ids = {r["source_name"]: r["id"] for r in lib.rows()}
    image_rows = lib.catalogue.embedding_table(emb.name).to_arrow().column("image").to_pylist()
    assert all(v is not None for v in image_rows)

    text_only = lib.search("blue", 1, embedder=emb, n_candidates=1)  # N' = k: stage 2 cannot reorder
    assert text_only[0].id == ids["b.glb"]
    reranked = lib.search("blue", 1, embedder=emb, n_candidates=2)
    assert reranked[0].id == ids["a.glb"]  # the box that renders blue wins the image stage
    assert reranked[0].score > reranked[0].text_score - 1.0 and reranked[0].mesh_path.is_file()


def test_search_errors_are_clear(tmp_path: Path, asset_dir: Path) -> None:
    lib = AssetLibrary.open(tmp_path / "lib")
    emb = WordHashEmbedder()
    lib.add(asset_dir, embedders=[emb])
    with pytest.raises(ValueError, match="prompt is empty"):
        lib.search("   ", 1, embedder=emb)
    with pytest.raises(ValueError, match="at least 1"):
        lib.search("ball", 0, embedder=emb)
    with pytest.raises(ValueError, match="holds only 3 assets"):
        lib.search("ball", 4, embedder=emb)


def test_other_embedders_are_indexed_on_first_use(tmp_path: Path, asset_dir: Path) -> None:
    lib = AssetLibrary.open(tmp_path / "lib")
    lib.add(asset_dir, embedders=[WordHashEmbedder()])
    colour = ColourEmbedder()
    assert lib.catalogue.embedding_table(colour.name) is None
    assert lib.search("red", 1, embedder=colour)[0].caption == "red box"
    assert lib.catalogue.embedding_table(colour.name).count_rows() == 3
    assert lib.ensure_embeddings(colour) == 0


def test_ann_index_at_scale_keeps_exact_scores(tmp_path: Path, monkeypatch) -> None:
    from splatdream.retrieval import store

    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((400, 32)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)

    class Lookup(WordHashEmbedder):
        name, dim = "lookup", 32

        def embed_text(self, texts: list[str]) -> np.ndarray:
            return vecs[[int(t.split()[-1]) for t in texts]]

    monkeypatch.setattr(store, "ANN_MIN_ROWS", 256)
    lib = AssetLibrary.open(tmp_path / "lib")
    ids = [f"{i:024x}" for i in range(400)]
    empty = {f.name: None for f in store.ASSET_SCHEMA}
    lib.catalogue.add_assets(
        [
            {**empty, "id": i, "caption": f"item {n}", "mesh_path": "x.glb", "tags": []}
            for n, i in enumerate(ids)
        ]
    )
    lib.catalogue.add_embeddings("lookup", ids, vecs, None)
    table = lib.catalogue.embedding_table("lookup")
    assert [idx.index_type for idx in table.list_indices()] == ["IvfSq"]
    assert not store.maybe_build_ann_index(table)  # built once
    hits = lib.search("item 7", 3, embedder=Lookup())
    assert hits[0].id == ids[7] and hits[0].score == pytest.approx(1.0, abs=1e-5)  # refined: exact cosine


def test_default_library_is_copied_on_write(tmp_path: Path, asset_dir: Path, monkeypatch) -> None:
    import splatdream.retrieval.library as library_mod

    shipped = tmp_path / "shipped"
    AssetLibrary.open(shipped).add([ingest_mod.scan_directory(asset_dir)[0]], embedders=[WordHashEmbedder()])
    before = sorted(p.relative_to(shipped) for p in shipped.rglob("*"))
    monkeypatch.setattr(library_mod, "SHIPPED_LIBRARY", shipped)
    monkeypatch.setenv("SPLATDREAM_LIBRARY", str(tmp_path / "user"))
    lib = AssetLibrary.open()
    assert lib.read_only and lib.root == shipped and len(lib) == 1
    lib.add(asset_dir, embedders=[WordHashEmbedder()])
    assert lib.root == tmp_path / "user" and len(lib) == 3
    assert sorted(p.relative_to(shipped) for p in shipped.rglob("*")) == before  # shipped untouched
    assert len(AssetLibrary.open()) == 3  # later opens prefer the user's copy


def test_two_first_writes_at_once_share_one_whole_copy(tmp_path: Path, asset_dir: Path, monkeypatch) -> None:
    import shutil

    import splatdream.retrieval.library as library_mod

    shipped = tmp_path / "shipped"
    AssetLibrary.open(shipped).add([ingest_mod.scan_directory(asset_dir)[0]], embedders=[WordHashEmbedder()])
    monkeypatch.setattr(library_mod, "SHIPPED_LIBRARY", shipped)
    user = tmp_path / "cache" / "library"
    monkeypatch.setenv("SPLATDREAM_LIBRARY", str(user))
    both_copied = threading.Barrier(2, timeout=60)
    real_copytree = shutil.copytree

    def copytree(src, dst, *args, **kwargs):  # type: ignore[no-untyped-def]
        out = real_copytree(src, dst, *args, **kwargs)
        both_copied.wait()  # neither moves its copy into place before the other has copied: the race, every time
        return out

    monkeypatch.setattr(library_mod.shutil, "copytree", copytree)
    libs = [AssetLibrary.open(), AssetLibrary.open()]
    errors: list[BaseException] = []

    def first_write(lib: AssetLibrary) -> None:
        try:
            lib._writable()
        except BaseException as exc:  # reported below, with the thread's result
            errors.append(exc)

    threads = [threading.Thread(target=first_write, args=(lib,)) for lib in libs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert all(lib.root == user and not lib.read_only for lib in libs)
    assert sorted(p.name for p in user.parent.iterdir()) == ["library"]  # no temporary copy left beside it
    libs[0].add(asset_dir, embedders=[WordHashEmbedder()])
    assert len(AssetLibrary.open()) == 3


def test_a_folder_of_other_files_is_not_replaced_by_the_copy(
    tmp_path: Path, asset_dir: Path, monkeypatch
) -> None:
    import splatdream.retrieval.library as library_mod
    from splatdream.errors import UserError

    shipped = tmp_path / "shipped"
    AssetLibrary.open(shipped).add([ingest_mod.scan_directory(asset_dir)[0]], embedders=[WordHashEmbedder()])
    monkeypatch.setattr(library_mod, "SHIPPED_LIBRARY", shipped)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    monkeypatch.setenv("SPLATDREAM_LIBRARY", str(tmp_path / "mine"))
    with pytest.raises(UserError, match="SPLATDREAM_LIBRARY"):
        AssetLibrary.open()._writable()
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("SPLATDREAM_LIBRARY", str(tmp_path / "empty"))
    lib = AssetLibrary.open()
    lib._writable()
    assert lib.root == tmp_path / "empty" and len(lib) == 1


def test_minilm_embedder_is_offline_and_normalised() -> None:
    emb = load_embedder("text")
    vecs = emb.embed_text(["a wooden chair", "a seat for one person", "a red sports car"])
    assert vecs.shape == (3, emb.dim) == (3, 384) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2]


def test_missing_clip_weights_fail_fast_and_auto_falls_back(tmp_path: Path) -> None:
    start = time.perf_counter()
    with pytest.raises(ClipWeightsUnavailable, match="--clip-checkpoint"):
        resolve_clip_weights(ClipConfig(checkpoint=tmp_path / "nope.bin"))
    with pytest.raises(ClipWeightsUnavailable, match="not in the local cache"):
        resolve_clip_weights(ClipConfig(model="ViT-B-32", pretrained="datacomp_s_s13m_b4k"))
    with pytest.raises(ClipWeightsUnavailable, match="no pretrained tag"):
        resolve_clip_weights(ClipConfig(pretrained="no-such-tag"))
    assert time.perf_counter() - start < 5.0  # no hub call, no hang
    cfg = ClipConfig(checkpoint=tmp_path / "nope.bin")
    assert load_embedder("auto", cfg).name == "minilm-l6-v2"
    with pytest.raises(ClipWeightsUnavailable):
        load_embedder("clip", cfg)


@pytest.mark.slow
def test_clip_embedder_two_stage_on_random_weights(tmp_path: Path) -> None:
    """A randomly initialised open_clip model runs the real text/image paths end to end."""
    import torch

    import splatdream.retrieval.library as library_mod

    torch.manual_seed(0)
    clip = ClipEmbedder.random("ViT-S-32")  # the smallest registered ViT; same code path as B-32
    clip.views = 2
    d = tmp_path / "in"
    d.mkdir()
    _box((220, 30, 30)).export(d / "red_cube.glb")
    trimesh.creation.icosphere(subdivisions=1).export(d / "grey_ball.glb")
    trimesh.creation.cone(0.5, 1.0).export(d / "party_hat.glb")
    lib = AssetLibrary.open(tmp_path / "lib")
    lib.add(d, embedders=[clip])
    table = lib.catalogue.embedding_table(clip.name).to_arrow()
    images = np.asarray(table.column("image").to_pylist(), np.float32)
    assert images.shape == (3, clip.dim)
    np.testing.assert_allclose(np.linalg.norm(images, axis=1), 1.0, atol=1e-4)
    hits = lib.search("a red cube", 2, embedder=clip, n_candidates=3, attribute_weight=0.0)
    # The image stage ranks by the object: 'a cube' vs the renders, mixed with 'cube' vs category names.
    obj, head = clip.embed_text(["a cube", "cube"])
    cats = {r["id"]: clip.embed_text([r["category"]])[0] for r in lib.rows()}
    by_id = dict(zip(table.column("id").to_pylist(), images, strict=True))
    share = library_mod.CATEGORY_SHARE
    object_score = {i: (1 - share) * float(by_id[i] @ obj) + share * float(cats[i] @ head) for i in by_id}
    expected = sorted(by_id, key=lambda i: -object_score[i])[:2]
    assert [h.id for h in hits] == expected  # ranked by image similarity to the object
    assert hits[0].score == pytest.approx(object_score[hits[0].id], abs=1e-4)

    ckpt = tmp_path / "clip.pt"  # a local checkpoint file loads through the same path users take
    torch.save(clip.model.state_dict(), ckpt)
    loaded = ClipEmbedder.from_config(ClipConfig(model="ViT-S-32", checkpoint=ckpt))
    np.testing.assert_allclose(loaded.embed_text(["a cube"])[0], obj, atol=1e-4)
