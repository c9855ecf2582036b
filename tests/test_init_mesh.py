"""Mesh / point cloud -> Gaussians: sampling, frames, sizes, colours, errors; particles and the CLI."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import trimesh
from PIL import Image

from splatdream.init.config import InitConfig
from splatdream.init.from_mesh import BadAssetError, mesh_to_gaussians
from splatdream.init.particles import contact_sheet, init_particles, initialise, random_particles
from splatdream.retrieval.meshes import load_mesh
from splatdream.scene import sh_to_rgb
from splatdream.starter.build import load_manifest

BY_NAME = {a.name: a for a in load_manifest()}


def square(half: float, at: tuple[float, float, float], colour: tuple[int, int, int]) -> trimesh.Trimesh:
    v = np.array([[-half, -half, 0], [half, -half, 0], [half, half, 0], [-half, half, 0]]) + np.asarray(at)
    m = trimesh.Trimesh(v, [[0, 1, 2], [0, 2, 3]], process=False)
    m.visual = trimesh.visual.ColorVisuals(m, face_colors=np.tile([*colour, 255], (2, 1)))
    return m


def rotate(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Rotate vectors v [N, 3] by unit wxyz quaternions q [N, 4]."""
    w, xyz = q[:, :1], q[:, 1:]
    t = 2 * torch.linalg.cross(xyz, v, dim=-1)
    return v + w * t + torch.linalg.cross(xyz, t, dim=-1)


def test_samples_are_area_weighted_flat_discs_along_the_normal() -> None:
    mesh = trimesh.util.concatenate(
        [square(0.5, (-2, 0, 0), (255, 0, 0)), square(1.0, (2, 0, 0), (0, 0, 255))]
    )
    mesh.apply_transform(trimesh.transformations.rotation_matrix(0.7, (1, 1, 0)))
    n = 20_000
    g = mesh_to_gaussians(mesh, n, tangent_scale=0.6, thickness=0.1, seed=3)
    assert len(g) == n and g.is_finite() and g.sh_degree == 0
    blue = g.rgb[:, 2] > 0.5
    assert abs(float(blue.float().mean()) - 0.8) < 0.015  # areas 1 : 4
    assert torch.allclose(g.rgb[blue], torch.tensor([0.0, 0.0, 1.0]), atol=1e-5)
    normal = torch.tensor(mesh.face_normals[0], dtype=torch.float32)
    thin_axis = rotate(g.unit_quats, torch.tensor([[0.0, 0.0, 1.0]]).expand(n, 3))
    assert torch.allclose((thin_axis @ normal).abs(), torch.ones(n), atol=1e-5)
    spacing = math.sqrt(5.0 / n)
    assert torch.allclose(g.scales[:, :2], torch.full((n, 2), 0.6 * spacing), rtol=1e-5)
    assert torch.allclose(g.scales[:, 2], torch.full((n,), 0.06 * spacing), rtol=1e-5)
    assert torch.allclose(g.opacities, torch.full((n,), 0.9))
    # Means lie on the (rotated) planes.
    d = (g.means.double() @ torch.tensor(mesh.face_normals[0])) - float(
        mesh.vertices[0] @ mesh.face_normals[0]
    )
    assert d.abs().max() < 1e-5


def test_same_seed_same_gaussians_other_seed_differs() -> None:
    mesh = load_mesh(BY_NAME["mug_red_coffee"].path)
    a, b = mesh_to_gaussians(mesh, 500, seed=1), mesh_to_gaussians(mesh, 500, seed=1)
    assert torch.equal(a.means, b.means) and torch.equal(a.sh, b.sh)
    assert not torch.equal(a.means, mesh_to_gaussians(mesh, 500, seed=2).means)
    assert mesh_to_gaussians(mesh, 10, sh_degree=3).sh.shape == (10, 16, 3)


def test_texture_colours_match_trimesh_sampling_statistics() -> None:
    """Textured starter chair: our bilinear lookup gives the same colour distribution as trimesh's."""
    mesh = load_mesh(BY_NAME["chair_wooden_slats"].path)
    g = mesh_to_gaussians(mesh, 20_000, seed=0)
    _, _, col = trimesh.sample.sample_surface(mesh, 20_000, sample_color=True, seed=0)
    ours = sh_to_rgb(g.sh[:, 0]).mean(0)
    theirs = torch.as_tensor(col[:, :3].mean(0) / 255.0, dtype=torch.float32)
    assert torch.allclose(ours, theirs, atol=0.02), (ours, theirs)
    assert g.rgb.std(0).min() > 0.05  # grain, not one flat colour


def test_vertex_colours_and_plain_materials() -> None:
    tri = trimesh.Trimesh([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 2]], process=False)
    tri.visual = trimesh.visual.ColorVisuals(
        tri, vertex_colors=[[255, 0, 0, 255], [0, 255, 0, 255], [0, 0, 255, 255]]
    )
    g = mesh_to_gaussians(tri, 4000)
    assert torch.allclose(g.rgb.mean(0), torch.full((3,), 1 / 3), atol=0.02)
    assert torch.allclose(g.rgb.sum(1), torch.ones(4000), atol=1e-4)  # barycentric blend
    plain = trimesh.creation.box()
    plain.visual = trimesh.visual.TextureVisuals(
        material=trimesh.visual.material.PBRMaterial(baseColorFactor=[0, 128, 255, 255])
    )
    g = mesh_to_gaussians(plain, 100)
    assert torch.allclose(g.rgb, torch.tensor([0.0, 128 / 255, 1.0]).expand(100, 3), atol=1e-4)


def test_point_clouds_give_isotropic_gaussians_sized_by_neighbour_spacing() -> None:
    grid = np.stack(np.meshgrid(*[np.arange(10) * 0.05] * 3, indexing="ij"), -1).reshape(-1, 3)
    cloud = trimesh.PointCloud(grid, colors=np.tile([0, 255, 0, 255], (len(grid), 1)))
    g = mesh_to_gaussians(cloud, 10_000)
    assert len(g) == 1000
    assert torch.allclose(g.scales[:, 0], g.scales[:, 2])
    assert torch.allclose(g.scales.median(), torch.tensor(0.7 * 0.05), rtol=1e-4)
    assert torch.allclose(g.rgb, torch.tensor([0.0, 1.0, 0.0]).expand(1000, 3), atol=1e-5)
    assert len(mesh_to_gaussians(cloud, 100, seed=0)) == 100


@pytest.mark.parametrize(
    "bad, match",
    [
        (trimesh.PointCloud(np.zeros((0, 3))), "no faces and no points"),
        (trimesh.Trimesh([[0, 0, 0], [1, 0, 0], [np.nan, 0, 0]], [[0, 1, 2]], process=False), "non-finite"),
        (
            trimesh.Trimesh([[0, 0, 0], [1, 0, 0], [2, 0, 0]], [[0, 1, 2]], process=False),
            "zero total surface area",
        ),
    ],
)
def test_bad_assets_raise_errors_that_name_them(bad: trimesh.Trimesh, match: str) -> None:
    with pytest.raises(BadAssetError, match=match) as info:
        mesh_to_gaussians(bad, 10, name="objaverse:abc123")
    assert "objaverse:abc123" in str(info.value)


def test_particles_cycle_through_assets_and_perturbation_separates_them() -> None:
    left, right = square(0.5, (-2, 0, 0), (255, 0, 0)), square(0.5, (2, 0, 0), (0, 0, 255))
    parts = init_particles([left, right], 5, 300, seed=0)
    assert [bool((p.means[:, 0] < 0).all()) for p in parts] == [True, False, True, False, True]
    assert not torch.equal(parts[0].means, parts[2].means)  # same asset, own samples
    same = init_particles([left], 2, 300, seed=0)
    jittered = init_particles([left], 2, 300, seed=0, perturb=0.5)
    assert torch.equal(same[0].sh, jittered[0].sh)
    shift = (jittered[0].means - same[0].means).norm(dim=1)
    assert 0 < float(shift.mean()) < 0.5 * float(same[0].scales.max()) * 2
    rnd = random_particles(3, 200, seed=7)
    assert len(rnd) == 3 and not torch.equal(rnd[0].means, rnd[1].means)
    assert float(rnd[0].means.norm(dim=1).max()) <= 0.5 + 1e-6


def test_initialise_dispatches_and_reads_a_ply(tmp_path: Path) -> None:
    from splatdream.io.ply import write_ply

    random = initialise(InitConfig(method="random", gaussians_per_particle=50), 2)
    assert [len(p) for p in random] == [50, 50]
    write_ply(tmp_path / "seed.ply", random[0])
    loaded = initialise(InitConfig(method="ply", ply=tmp_path / "seed.ply", perturb=0.3), 3)
    assert len(loaded) == 3 and torch.allclose(loaded[0].sh, random[0].sh)
    assert not torch.equal(loaded[0].means, loaded[1].means)
    with pytest.raises(ValueError, match="retrieved"):
        initialise(InitConfig(method="sphere"), 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ply PATH"):
        initialise(InitConfig(method="ply"), 1)


def test_contact_sheet_shows_the_object(tmp_path: Path) -> None:
    g = mesh_to_gaussians(load_mesh(BY_NAME["apple_red"].path), 800)
    sheet = contact_sheet(g, tmp_path / "init_particle_0.png", views=3, size=32)
    img = np.asarray(Image.open(tmp_path / "init_particle_0.png"))
    assert img.shape == (32, 96, 3) and np.array_equal(img, sheet)
    red = (img[..., 0] > 150) & (img[..., 1] < 90)
    assert red[:, :32].mean() > 0.1 and red[:, 64:].mean() > 0.1
    assert np.all(img[0, 0] == 255)  # white background in the corner


def test_cli_random_writes_particles_and_sheets(tmp_path: Path) -> None:
    from splatdream.init.cli import main
    from splatdream.io.ply import read_ply

    assert (
        main(
            [
                "--out",
                str(tmp_path),
                "--method",
                "random",
                "--num-particles",
                "2",
                "--gaussians-per-particle",
                "64",
                "--sheet-size",
                "24",
                "--sheet-views",
                "2",
            ]
        )
        == 0
    )
    assert len(read_ply(tmp_path / "particle_1.ply")) == 64
    assert Image.open(tmp_path / "init_particle_0.png").size == (48, 24)
    assert (tmp_path / "retrieved.json").exists()
