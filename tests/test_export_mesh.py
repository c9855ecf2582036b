"""The .glb mesh: it looks like the splats from 8 views, trimesh loads it, the Khronos validator passes it."""

from __future__ import annotations

import time

import pytest
import torch
import trimesh

from splatdream.export.config import MeshOptions
from splatdream.export.convert import export_scene
from splatdream.export.mesh import MeshExtractionError, splats_to_mesh
from splatdream.init.from_mesh import mesh_to_gaussians
from splatdream.render import render_gaussians
from splatdream.render.mesh import render_mesh
from splatdream.retrieval.meshes import load_mesh
from splatdream.scene import Cameras, Gaussians
from splatdream.starter.build import STARTER_DIR
from tests.support.node_tools import validate_gltf

ASSET = "armchair_green_velvet"  # green body, cream seat, brown legs: shape and colour both matter
OPTIONS = MeshOptions(resolution=96, max_faces=30_000)
SIZE = 96


@pytest.fixture(scope="module")
def splats() -> Gaussians:
    return mesh_to_gaussians(load_mesh(STARTER_DIR / "meshes" / f"{ASSET}.glb"), 3000)


@pytest.fixture(scope="module")
def glb(splats, tmp_path_factory):
    path = tmp_path_factory.mktemp("glb") / f"{ASSET}.glb"
    start = time.perf_counter()
    export_scene(splats, "glb", path, OPTIONS)
    return path, time.perf_counter() - start


def eight_views() -> Cameras:
    az = torch.arange(8, dtype=torch.float32) * 45.0
    el = torch.tensor([30.0, -10.0] * 4)
    one = torch.ones(8)
    return Cameras.from_orbit(torch.remainder(az + 180, 360) - 180, el, 2.8 * one, 45.0 * one, SIZE, SIZE)


def test_glb_loads_in_trimesh_with_vertex_colours(glb, splats):
    path, seconds = glb
    loaded = trimesh.load(path, force="mesh")
    assert 1000 < len(loaded.faces) <= OPTIONS.max_faces
    assert loaded.visual.kind == "vertex"
    lo, hi = splats.means.min(dim=0).values.numpy(), splats.means.max(dim=0).values.numpy()
    assert (abs(loaded.bounds[0] - lo) < 0.1).all() and (
        abs(loaded.bounds[1] - hi) < 0.1
    ).all()  # means +- a disc
    assert seconds < 120, seconds


def test_glb_passes_the_khronos_validator(glb):
    report = validate_gltf(glb[0])
    issues = report["issues"]
    assert issues["numErrors"] == 0 and issues["numWarnings"] == 0, issues["messages"]
    assert report["info"]["totalTriangleCount"] > 1000


def test_mesh_matches_the_splats_silhouette_and_colour(glb, splats):
    mesh = trimesh.load(glb[0], force="mesh")
    cams = eight_views()
    with torch.no_grad():
        rgb_s, alpha_s, _ = render_gaussians(
            splats, cams, backend="torch", backgrounds=torch.ones(len(cams), 3)
        )
    rgb_m, alpha_m = render_mesh(mesh, cams, background=1.0)
    s, m = alpha_s.reshape(alpha_m.shape) > 0.5, alpha_m > 0.5
    iou = (s & m).sum(dim=(1, 2)) / (s | m).sum(dim=(1, 2))
    both = s & m
    mae = (rgb_s.reshape(rgb_m.shape) - rgb_m).abs().mean(dim=-1)[both].mean()
    assert float(iou.min()) >= 0.85, iou
    assert float(mae) <= 0.08, float(mae)


def test_transparent_splats_are_a_clear_error():
    g = Gaussians.random_ball(50, opacity=0.01)
    with pytest.raises(MeshExtractionError, match=r"lower the level|more opaque"):
        splats_to_mesh(g, MeshOptions(resolution=32))
