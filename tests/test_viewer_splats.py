"""Gaussians/Cameras -> viser arrays: covariance, colour, opacity, subsampling, frustum poses."""

from __future__ import annotations

import numpy as np
import torch
import viser

from splatdream.scene import Gaussians, orbit_ring, sample_orbit
from splatdream.scene_config import OrbitRanges
from viewer.splats import frustum_poses, packed_to_buffer, snapshot, splat_arrays, subsample_index


def _quat_rotmat_torch(q: torch.Tensor) -> torch.Tensor:
    """Reference wxyz -> R via the axis-angle route (independent of the closed form under test)."""
    q = torch.nn.functional.normalize(q, dim=-1).double()
    w, v = q[:, :1], q[:, 1:]
    angle = 2 * torch.atan2(v.norm(dim=-1, keepdim=True), w)
    axis = torch.nn.functional.normalize(v, dim=-1)
    K = torch.zeros(q.shape[0], 3, 3, dtype=q.dtype)
    K[:, 0, 1], K[:, 0, 2], K[:, 1, 2] = -axis[:, 2], axis[:, 1], -axis[:, 0]
    K = K - K.transpose(1, 2)
    s, c = torch.sin(angle)[..., None], torch.cos(angle)[..., None]
    return torch.eye(3, dtype=q.dtype) + s * K + (1 - c) * K @ K


def test_covariance_is_r_s_s_rt_and_colours_are_activated() -> None:
    g = Gaussians.random_ball(300, generator=torch.Generator().manual_seed(0))
    g.log_scales = torch.randn(300, 3) * 0.5 - 3.0
    g.quats = torch.randn(300, 4) * 3.0  # not normalised: the viewer must normalise
    g.sh[:, 0] = torch.randn(300, 3) * 3.0  # colours far outside [0, 1] before clamping
    arrays = splat_arrays(g)

    R = _quat_rotmat_torch(g.quats)
    S = torch.diag_embed(g.scales.double())
    expected = R @ S @ S @ R.transpose(1, 2)
    np.testing.assert_allclose(arrays.covariances, expected.numpy(), rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(arrays.centers, g.means.numpy(), rtol=0, atol=0)
    np.testing.assert_allclose(arrays.rgbs, g.rgb.clamp(0, 1).numpy(), atol=1e-6)
    assert arrays.rgbs.min() == 0.0 and arrays.rgbs.max() == 1.0  # the clamp was exercised
    np.testing.assert_allclose(arrays.opacities[:, 0], g.opacities.numpy(), atol=1e-6)
    assert arrays.opacities.shape == (300, 1) and arrays.covariances.dtype == np.float32


def test_snapshot_is_a_copy_and_keeps_sh_dc_only() -> None:
    g = Gaussians.random_ball(50, sh_degree=3, generator=torch.Generator().manual_seed(1))
    snap = snapshot(g).wait()
    before = snap.clone()
    with torch.no_grad():  # what an optimiser step does to the training tensors
        g.means.add_(1.0)
        g.sh.mul_(-1.0)
    torch.testing.assert_close(snap, before)
    assert snap.shape == (50, 14)


def test_subsample_is_even_and_stable() -> None:
    assert subsample_index(100, None) is None and subsample_index(100, 100) is None
    idx = subsample_index(1000, 10)
    assert idx is not None and idx.tolist() == subsample_index(1000, 10).tolist()
    assert idx[0] == 0 and idx[-1] == 999 and len(set(idx.tolist())) == 10
    g = Gaussians.random_ball(1000, generator=torch.Generator().manual_seed(2))
    arrays = splat_arrays(g, max_gaussians=10)
    np.testing.assert_allclose(arrays.centers, g.means[idx].numpy())


def test_frustum_poses_sit_at_camera_centres_and_look_at_the_origin() -> None:
    cams = sample_orbit(6, OrbitRanges(), 64, 48, generator=torch.Generator().manual_seed(3))
    poses = frustum_poses(cams.viewmats.double().numpy(), cams.Ks.double().numpy(), 64, 48)
    for pose, centre in zip(poses, cams.centers, strict=True):
        np.testing.assert_allclose(pose.position, centre.numpy(), atol=1e-4)
        w, x, y, z = pose.wxyz
        R = _quat_rotmat_torch(torch.tensor([[w, x, y, z]]))[0].numpy()
        forward = R[:, 2]  # OpenCV: the camera looks down its +Z
        np.testing.assert_allclose(forward, -centre.numpy() / np.linalg.norm(centre.numpy()), atol=1e-4)
        assert abs(pose.aspect - 64 / 48) < 1e-9
    ring = orbit_ring(1, 100, 100, fov_y_deg=45.0)
    (pose,) = frustum_poses(ring.viewmats.double().numpy(), ring.Ks.double().numpy(), 100, 100)
    assert abs(np.degrees(pose.fov_y) - 45.0) < 1e-3


def test_direct_buffer_matches_the_bytes_viser_packs_itself() -> None:
    g = Gaussians.random_ball(2000, generator=torch.Generator().manual_seed(4))
    g.log_scales = torch.randn(2000, 3) - 3.0
    g.sh[:, 0] = torch.randn(2000, 3) * 3.0
    arrays = splat_arrays(g)
    server = viser.ViserServer(host="127.0.0.1", port=0, verbose=False)
    try:
        reference = server.scene.add_gaussian_splats(
            "/ref",
            centers=arrays.centers,
            covariances=arrays.covariances,
            rgbs=arrays.rgbs,
            opacities=arrays.opacities,
        ).buffer
    finally:
        server.stop()
    mine = packed_to_buffer(snapshot(g).wait().numpy())
    assert mine.dtype == np.uint32 and mine.shape == (2000, 8)
    np.testing.assert_array_equal(
        mine[:, [0, 1, 2, 3, 7]], reference[:, [0, 1, 2, 3, 7]]
    )  # centres, RGBA exact
    # covariances: float16 either way; allow one unit in the last place from float32 summation order
    cov_mine = mine[:, 4:7].copy().view(np.float16).astype(np.float32)
    cov_ref = reference[:, 4:7].copy().view(np.float16).astype(np.float32)
    np.testing.assert_allclose(cov_mine, cov_ref, rtol=2e-3, atol=1e-7)
