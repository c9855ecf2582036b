"""Init fidelity: Gaussians from a mesh render like the mesh (issue thresholds: IoU >= 0.9, colour MAE <= 0.05).

The Gaussians go through our rasteriser (render_gaussians), the mesh through the independent
reference renderer (render_mesh, albedo), from the same 8 orbit cameras at 128².
Assets: a UV-textured starter beach ball, a vertex-coloured starter apple, and a face-coloured cube.
Thin-part assets (chairs, tables) and high-frequency textures (checkered mug) fall short of the
thresholds at 128²; see the init report for their numbers and why.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import trimesh

from splatdream.init.from_mesh import mesh_to_gaussians
from splatdream.render import render_gaussians
from splatdream.render.mesh import render_mesh
from splatdream.retrieval.meshes import load_mesh
from splatdream.scene import orbit_ring
from splatdream.starter.build import load_manifest

BY_NAME = {a.name: a for a in load_manifest()}


def face_coloured_cube() -> trimesh.Trimesh:
    cube = trimesh.creation.box(extents=(0.9, 0.9, 0.9))
    palette = np.array(
        [[220, 40, 40], [40, 200, 60], [40, 80, 220], [240, 210, 50], [240, 240, 240], [30, 30, 30]]
    )
    side = np.abs(cube.face_normals).argmax(1) * 2 + (cube.face_normals.sum(1) > 0)
    cube.visual = trimesh.visual.ColorVisuals(cube, face_colors=np.c_[palette[side], np.full(len(side), 255)])
    assert cube.visual.kind == "face"
    return cube


def fidelity(mesh: trimesh.Trimesh, n: int) -> tuple[float, float]:
    cams = orbit_ring(8, 128, 128, elevation_deg=20.0)
    rgb_m, alpha_m = render_mesh(mesh, cams, background=1.0)
    g = mesh_to_gaussians(mesh, n, seed=0)
    with torch.no_grad():
        rgb_g, alpha_g, _ = render_gaussians(g, cams, backgrounds=torch.ones(len(cams), 3))
    sm, sg = alpha_m > 0.5, alpha_g[..., 0] > 0.5
    iou = float((sm & sg).sum() / (sm | sg).sum())
    mae = float((rgb_m - rgb_g).abs().mean(-1)[sm].mean())
    return iou, mae


@pytest.mark.slow
@pytest.mark.parametrize("asset", ["ball_beach_bands", "apple_red", "face_cube"])
def test_init_gaussians_render_like_the_mesh(asset: str) -> None:
    mesh = face_coloured_cube() if asset == "face_cube" else load_mesh(BY_NAME[asset].path)
    if asset == "ball_beach_bands":
        assert mesh.visual.kind == "texture"
    iou, mae = fidelity(mesh, 12_000)
    assert iou >= 0.9, (asset, iou, mae)
    assert mae <= 0.05, (asset, iou, mae)
