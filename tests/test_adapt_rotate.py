"""Yaw rotation of Gaussians and meshes: the conventions front alignment relies on."""

from __future__ import annotations

import math

import pytest
import torch

from splatdream.adaptation.rotate import (
    rotate_gaussians_yaw,
    rotate_mesh_yaw,
    sh_rotation,
    wrap_deg,
    yaw_matrix,
)
from splatdream.render import render_gaussians
from splatdream.render.sh import eval_sh_colors
from splatdream.scene import Cameras, Gaussians, orbit_position


def _scene(degree: int, n: int = 150) -> Gaussians:
    gen = torch.Generator().manual_seed(3)
    g = Gaussians.random_ball(n, radius=0.6, scale=0.06, opacity=0.6, sh_degree=degree, generator=gen)
    # Anisotropic, view-dependent Gaussians so orientation and SH errors would show.
    g.log_scales = g.log_scales + torch.tensor([0.8, -0.5, 0.0])
    g.sh[:, 1:] = 0.3 * torch.randn(g.sh[:, 1:].shape, generator=gen)
    return g


def test_yaw_matrix_moves_azimuths() -> None:
    front = orbit_position(torch.tensor(0.0), torch.tensor(0.0), torch.tensor(1.0))
    for deg in (90.0, -45.0, 180.0):
        moved = yaw_matrix(deg) @ front
        expected = orbit_position(torch.tensor(deg), torch.tensor(0.0), torch.tensor(1.0))
        torch.testing.assert_close(moved, expected, atol=1e-6, rtol=0)


@pytest.mark.parametrize("degree", [1, 2, 3])
def test_sh_rotation_matches_rotated_function(degree: int) -> None:
    rot = yaw_matrix(73.0, torch.float64)
    coeffs = torch.randn((degree + 1) ** 2, 3, dtype=torch.float64)
    rotated = coeffs.clone()
    for band, m in enumerate(sh_rotation(degree, rot), start=1):
        sl = slice(band * band, (band + 1) ** 2)
        rotated[sl] = m @ coeffs[sl]
    dirs = torch.nn.functional.normalize(torch.randn(50, 3, dtype=torch.float64), dim=-1)
    # The rotated scene seen along R d looks like the original seen along d.
    torch.testing.assert_close(
        eval_sh_colors(degree, dirs @ rot.T, rotated), eval_sh_colors(degree, dirs, coeffs)
    )


@pytest.mark.parametrize("degree", [0, 2])
def test_rotated_scene_renders_like_moved_camera(degree: int) -> None:
    g = _scene(degree)
    deg = 120.0
    turned = rotate_gaussians_yaw(g, deg)
    el, r, fov = torch.tensor([10.0]), torch.tensor([2.5]), torch.tensor([45.0])
    cam = Cameras.from_orbit(torch.tensor([30.0]), el, r, fov, 32, 32)
    cam_moved = Cameras.from_orbit(torch.tensor([30.0 + deg]), el, r, fov, 32, 32)
    a, _, _ = render_gaussians(g, cam, backend="torch")
    b, _, _ = render_gaussians(turned, cam_moved, backend="torch")
    assert a.abs().max() > 0.1  # something is on screen
    torch.testing.assert_close(b, a, atol=2e-3, rtol=0)


def test_rotation_round_trip_and_wrap() -> None:
    g = _scene(1)
    back = rotate_gaussians_yaw(rotate_gaussians_yaw(g, 200.0), -200.0)
    torch.testing.assert_close(back.means, g.means, atol=1e-5, rtol=0)
    torch.testing.assert_close(back.sh, g.sh, atol=1e-4, rtol=0)
    # Quaternions may come back negated (same rotation).
    dots = (torch.nn.functional.normalize(back.quats, dim=-1) * g.unit_quats).sum(-1).abs()
    torch.testing.assert_close(dots, torch.ones_like(dots), atol=1e-5, rtol=0)
    assert wrap_deg(190.0) == -170.0 and wrap_deg(-180.0) == -180.0
    assert math.isclose(float(wrap_deg(torch.tensor(540.0))), -180.0)


def test_mesh_yaw_matches_gaussian_yaw() -> None:
    trimesh = pytest.importorskip("trimesh")
    mesh = trimesh.creation.box(extents=(0.2, 0.2, 0.2)).apply_translation((0.0, 0.0, 0.7))
    turned = rotate_mesh_yaw(mesh, 90.0)
    assert abs(turned.centroid[0] - 0.7) < 1e-6 and abs(turned.centroid[2]) < 1e-6
    assert abs(mesh.centroid[2] - 0.7) < 1e-6  # the input is untouched
