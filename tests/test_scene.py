"""Scene and camera conventions: +Y up, azimuth 0 in front (+Z), OpenCV cameras."""

from __future__ import annotations

import pytest
import torch

from splatdream.scene import Cameras, Gaussians, look_at, orbit_ring, rgb_to_sh, sample_orbit, sh_to_rgb
from splatdream.scene_config import OrbitRanges


def project(cameras: Cameras, points: torch.Tensor) -> torch.Tensor:
    """Pixel coordinates [C, P, 2] of world points, the pinhole way."""
    homo = torch.cat([points, torch.ones_like(points[:, :1])], dim=-1)
    cam = torch.einsum("cij,pj->cpi", cameras.viewmats, homo)[..., :3]
    pix = torch.einsum("cij,cpj->cpi", cameras.Ks, cam)
    return pix[..., :2] / pix[..., 2:3]


def test_front_camera_sees_x_right_and_y_up() -> None:
    cams = orbit_ring(1, 64, 48, elevation_deg=0.0, radius=3.0)
    uv = project(cams, torch.tensor([[0.0, 0.0, 0.0], [0.5, 0.0, 0.0], [0.0, 0.5, 0.0]]))[0]
    assert torch.allclose(uv[0], torch.tensor([32.0, 24.0]), atol=1e-4)
    assert uv[1, 0] > 32 and abs(uv[1, 1] - 24) < 1e-4  # +X is to the right
    assert uv[2, 1] < 24 and abs(uv[2, 0] - 32) < 1e-4  # +Y is up (smaller row)
    assert torch.allclose(cams.centers[0], torch.tensor([0.0, 0.0, 3.0]), atol=1e-5)


def test_azimuth_90_sits_on_plus_x_and_overhead_is_finite() -> None:
    cams = Cameras.from_orbit(
        torch.tensor([90.0, 0.0]),
        torch.tensor([0.0, 90.0]),
        torch.tensor([2.0, 2.0]),
        torch.tensor([45.0, 45.0]),
        32,
        32,
    )
    assert torch.allclose(cams.centers[0], torch.tensor([2.0, 0.0, 0.0]), atol=1e-5)
    assert torch.isfinite(cams.viewmats).all()
    # The camera's z axis looks at the origin from every pose.
    forward = cams.c2w[:, :3, 2]
    assert torch.allclose(forward, -cams.centers / 2.0, atol=1e-5)


def test_look_at_is_rigid() -> None:
    eye = torch.randn(16, 3, generator=torch.Generator().manual_seed(0)) * 3
    R = look_at(eye)[:, :3, :3]
    assert torch.allclose(R @ R.transpose(1, 2), torch.eye(3).expand(16, 3, 3), atol=1e-5)
    assert torch.allclose(torch.linalg.det(R), torch.ones(16), atol=1e-5)


def test_sample_orbit_is_seeded_and_in_range() -> None:
    ranges = OrbitRanges(azimuth_deg=(-30, 30), elevation_deg=(0, 20), radius=(2, 3), fov_y_deg=(40, 50))
    a = sample_orbit(64, ranges, 32, 32, torch.Generator().manual_seed(1))
    b = sample_orbit(64, ranges, 32, 32, torch.Generator().manual_seed(1))
    assert torch.equal(a.viewmats, b.viewmats)
    assert a.azimuth_deg.min() >= -30 and a.azimuth_deg.max() <= 30
    assert a.elevation_deg.min() >= 0 and a.elevation_deg.max() <= 20
    dist = a.centers.norm(dim=-1)
    assert torch.allclose(dist, a.radius, atol=1e-4) and dist.min() >= 2 - 1e-4 and dist.max() <= 3 + 1e-4


def test_resized_cameras_keep_the_view() -> None:
    cams = orbit_ring(3, 64, 64)
    small = cams.resized(32, 32)
    pts = torch.tensor([[0.3, -0.2, 0.1]])
    assert torch.allclose(project(small, pts) * 2, project(cams, pts), atol=1e-4)


def test_gaussians_plumbing() -> None:
    g = Gaussians.random_ball(100, generator=torch.Generator().manual_seed(0))
    assert len(g) == 100 and g.sh_degree == 0
    assert torch.allclose(g.scales, torch.full((100, 3), 0.02))
    assert torch.allclose(g.opacities, torch.full((100,), 0.2), atol=1e-6)
    h = g.with_sh_degree(3)
    assert h.sh.shape == (100, 16, 3) and torch.equal(h.sh[:, 0], g.sh[:, 0]) and not h.sh[:, 1:].any()
    both = Gaussians.cat([g, h])
    assert len(both) == 200 and both.sh_degree == 3
    picked = both[both.means[:, 0] > 0]
    assert len(picked) == int((both.means[:, 0] > 0).sum())
    params = h.to_param_dict()
    back = Gaussians.from_param_dict(params)
    for name in ("means", "quats", "log_scales", "logit_opacities", "sh"):
        assert torch.equal(getattr(back, name), getattr(h, name))
    back.means.sum().backward()
    assert params["means"].grad is not None


def test_rgb_sh_round_trip_and_bad_degree() -> None:
    rgb = torch.rand(10, 3)
    assert torch.allclose(sh_to_rgb(rgb_to_sh(rgb)), rgb, atol=1e-6)
    with pytest.raises(ValueError, match="SH coefficients"):
        Gaussians(
            torch.zeros(1, 3), torch.zeros(1, 4), torch.zeros(1, 3), torch.zeros(1), torch.zeros(1, 5, 3)
        )


def test_importing_the_package_loads_no_cuda() -> None:
    """Importing splatdream (and the run config, which pulls in every stage's config) touches no CUDA."""
    import subprocess
    import sys

    code = (
        "import sys, torch\n"
        "import splatdream, splatdream.render, splatdream.scene, splatdream.config, splatdream.distill.trainer\n"
        "assert not torch.cuda.is_initialized(), 'CUDA initialised on import'\n"
        "assert not [m for m in sys.modules if m.startswith('gsplat')], 'gsplat imported eagerly'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
