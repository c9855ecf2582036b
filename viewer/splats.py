"""Gaussians and Cameras -> the plain numpy arrays viser's scene nodes take.

Two halves, split by thread: ``snapshot`` runs on the training thread and only copies (one fused
device-side ``cat``, then a copy to CPU that is asynchronous on CUDA), while ``splat_arrays`` and
``frustum_poses`` run on the viewer's background thread in numpy, so they never contend for
torch's intra-op thread pool with the training step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from splatdream.scene import SH_C0, Cameras, Gaussians

_PACKED_WIDTH = 14
"""Columns of a packed snapshot: means 3, quats 4, log-scales 3, logit-opacity 1, DC colour 3."""


@dataclass(frozen=True)
class SplatArrays:
    """What ``viser.SceneApi.add_gaussian_splats`` takes, for one scene."""

    centers: np.ndarray  # [N, 3] float32
    covariances: np.ndarray  # [N, 3, 3] float32, R S S^T R^T
    rgbs: np.ndarray  # [N, 3] float32 in [0, 1]
    opacities: np.ndarray  # [N, 1] float32 in (0, 1)

    def __len__(self) -> int:
        return self.centers.shape[0]


@dataclass
class Snapshot:
    """A detached copy of one particle, possibly still in flight from the GPU."""

    packed: Tensor  # [N, 14] CPU float32, see _PACKED_WIDTH
    ready: torch.cuda.Event | None = None

    def wait(self) -> Tensor:
        if self.ready is not None:
            self.ready.synchronize()
            self.ready = None
        return self.packed


def subsample_index(n: int, max_gaussians: int | None) -> Tensor | None:
    """Evenly strided indices keeping at most ``max_gaussians`` of ``n`` (None: keep all).

    A stride rather than a random draw keeps the same Gaussians from one update to the next (no
    flicker), as long as the count does not change.
    """
    if max_gaussians is None or max_gaussians <= 0 or n <= max_gaussians:
        return None
    return torch.linspace(0, n - 1, max_gaussians).round().long()


@torch.no_grad()
def snapshot(gaussians: Gaussians, max_gaussians: int | None = None) -> Snapshot:
    """Copy what the viewer draws (means, rotation, scale, opacity, DC colour) off the training tensors.

    Cheap on the training thread: one ``cat`` on the training device (which is the copy that
    decouples us from in-place optimiser updates) and, on CUDA, a non-blocking copy into pinned
    memory whose completion the background thread waits for.
    """
    g = gaussians
    index = subsample_index(len(g), max_gaussians)
    columns = [g.means, g.quats, g.log_scales, g.logit_opacities[:, None], g.sh[:, 0]]
    if index is not None:
        index = index.to(g.device)
        columns = [c.index_select(0, index) for c in columns]
    packed = torch.cat([c.detach().float() for c in columns], dim=1)
    if packed.device.type == "cuda":
        host = torch.empty(packed.shape, dtype=packed.dtype, pin_memory=True)
        host.copy_(packed, non_blocking=True)
        event = torch.cuda.Event()
        event.record()
        return Snapshot(host, event)
    return Snapshot(packed.cpu())


def _quat_to_rotmat(q: np.ndarray) -> np.ndarray:
    """Unit wxyz quaternions [N, 4] -> rotation matrices [N, 3, 3]."""
    w, x, y, z = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    r = np.empty((q.shape[0], 3, 3), dtype=q.dtype)
    r[:, 0, 0] = 1 - 2 * (y * y + z * z)
    r[:, 0, 1] = 2 * (x * y - w * z)
    r[:, 0, 2] = 2 * (x * z + w * y)
    r[:, 1, 0] = 2 * (x * y + w * z)
    r[:, 1, 1] = 1 - 2 * (x * x + z * z)
    r[:, 1, 2] = 2 * (y * z - w * x)
    r[:, 2, 0] = 2 * (x * z - w * y)
    r[:, 2, 1] = 2 * (y * z + w * x)
    r[:, 2, 2] = 1 - 2 * (x * x + y * y)
    return r


def packed_to_splats(packed: np.ndarray) -> SplatArrays:
    """A packed snapshot [N, 14] -> activated arrays for viser (numpy only)."""
    assert packed.ndim == 2 and packed.shape[1] == _PACKED_WIDTH, packed.shape
    p = np.ascontiguousarray(packed, dtype=np.float32)
    quats = p[:, 3:7]
    quats = quats / np.maximum(np.linalg.norm(quats, axis=1, keepdims=True), 1e-12)
    m = _quat_to_rotmat(quats) * np.exp(p[:, None, 7:10])  # R S: scales the columns
    covariances = np.matmul(m, m.transpose(0, 2, 1))
    rgbs = np.clip(p[:, 11:14] * SH_C0 + 0.5, 0.0, 1.0)
    opacities = 1.0 / (1.0 + np.exp(-p[:, 10:11]))
    return SplatArrays(p[:, 0:3].copy(), covariances.astype(np.float32), rgbs, opacities.astype(np.float32))


def splat_arrays(gaussians: Gaussians, max_gaussians: int | None = None) -> SplatArrays:
    """Gaussians (any device) -> viser's splat arrays (the readable reference for ``packed_to_buffer``)."""
    return packed_to_splats(snapshot(gaussians, max_gaussians).wait().numpy())


def packed_to_buffer(packed: np.ndarray) -> np.ndarray:
    """A packed snapshot [N, 14] -> viser's splat buffer [N, 8] uint32, built directly.

    Same bytes as ``add_gaussian_splats(**packed_to_splats(...))`` would make (the layout is
    documented on ``viser.GaussianSplatHandle``: centre f32 x3, reserved, covariance upper
    triangle f16 x6, RGBA u8 x4) in about a quarter of the time, which is most of the viewer's
    per-update cost: it skips the [N, 3, 3] covariances and viser's re-packing.
    """
    assert packed.ndim == 2 and packed.shape[1] == _PACKED_WIDTH, packed.shape
    p = np.ascontiguousarray(packed, dtype=np.float32)
    n = p.shape[0]
    cols = np.ascontiguousarray(p.T)  # [14, N]: each quantity a contiguous row, fast elementwise math
    w, x, y, z = cols[3:7] / np.maximum(np.sqrt((cols[3:7] ** 2).sum(0)), 1e-12)
    s0, s1, s2 = np.exp(cols[7:10])
    # rows of M = R S (rotation columns scaled by the axis scales), R from the unit quaternion
    m00, m01, m02 = (1 - 2 * (y * y + z * z)) * s0, 2 * (x * y - w * z) * s1, 2 * (x * z + w * y) * s2
    m10, m11, m12 = 2 * (x * y + w * z) * s0, (1 - 2 * (x * x + z * z)) * s1, 2 * (y * z - w * x) * s2
    m20, m21, m22 = 2 * (x * z - w * y) * s0, 2 * (y * z + w * x) * s1, (1 - 2 * (x * x + y * y)) * s2
    cov = np.empty((n, 6), dtype=np.float16)  # upper triangle of M M^T: 00 01 02 11 12 22
    cov[:, 0] = m00 * m00 + m01 * m01 + m02 * m02
    cov[:, 1] = m00 * m10 + m01 * m11 + m02 * m12
    cov[:, 2] = m00 * m20 + m01 * m21 + m02 * m22
    cov[:, 3] = m10 * m10 + m11 * m11 + m12 * m12
    cov[:, 4] = m10 * m20 + m11 * m21 + m12 * m22
    cov[:, 5] = m20 * m20 + m21 * m21 + m22 * m22
    rgba = np.empty((n, 4), dtype=np.uint8)
    rgba[:, :3] = np.clip((p[:, 11:14] * SH_C0 + 0.5) * 255.0, 0, 255)
    rgba[:, 3] = np.clip(255.0 / (1.0 + np.exp(-cols[10])), 0, 255)
    buffer = np.zeros((n, 8), dtype=np.uint32)
    buffer[:, 0:3] = p[:, 0:3].view(np.uint32)
    buffer[:, 4:7] = cov.view(np.uint32)
    buffer[:, 7] = rgba.view(np.uint32)[:, 0]
    return buffer


def splat_buffer(gaussians: Gaussians, max_gaussians: int | None = None) -> np.ndarray:
    """Gaussians (any device) -> viser's splat buffer [N, 8] uint32."""
    return packed_to_buffer(snapshot(gaussians, max_gaussians).wait().numpy())


@dataclass(frozen=True)
class FrustumPose:
    """One camera as viser draws it: OpenCV-convention frustum at a pose in world space."""

    wxyz: tuple[float, float, float, float]
    position: tuple[float, float, float]
    fov_y: float  # radians
    aspect: float  # width / height


def _rotmat_to_wxyz(r: np.ndarray) -> tuple[float, float, float, float]:
    """Rotation matrix [3, 3] -> unit wxyz quaternion (Shepperd's method, stable for all angles)."""
    t = np.trace(r)
    if t > 0:
        s = 2.0 * np.sqrt(t + 1.0)
        q = [0.25 * s, (r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s]
    elif r[0, 0] > r[1, 1] and r[0, 0] > r[2, 2]:
        s = 2.0 * np.sqrt(1.0 + r[0, 0] - r[1, 1] - r[2, 2])
        q = [(r[2, 1] - r[1, 2]) / s, 0.25 * s, (r[0, 1] + r[1, 0]) / s, (r[0, 2] + r[2, 0]) / s]
    elif r[1, 1] > r[2, 2]:
        s = 2.0 * np.sqrt(1.0 + r[1, 1] - r[0, 0] - r[2, 2])
        q = [(r[0, 2] - r[2, 0]) / s, (r[0, 1] + r[1, 0]) / s, 0.25 * s, (r[1, 2] + r[2, 1]) / s]
    else:
        s = 2.0 * np.sqrt(1.0 + r[2, 2] - r[0, 0] - r[1, 1])
        q = [(r[1, 0] - r[0, 1]) / s, (r[0, 2] + r[2, 0]) / s, (r[1, 2] + r[2, 1]) / s, 0.25 * s]
    q_arr = np.asarray(q, dtype=np.float64)
    q_arr /= np.linalg.norm(q_arr)
    return (float(q_arr[0]), float(q_arr[1]), float(q_arr[2]), float(q_arr[3]))


@torch.no_grad()
def camera_arrays(cameras: Cameras) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Detached CPU copies (viewmats [C, 4, 4], Ks [C, 3, 3], width, height); tiny, so synchronous."""
    return (
        cameras.viewmats.detach().to("cpu", torch.float64).numpy(),
        cameras.Ks.detach().to("cpu", torch.float64).numpy(),
        cameras.width,
        cameras.height,
    )


def frustum_poses(viewmats: np.ndarray, Ks: np.ndarray, width: int, height: int) -> list[FrustumPose]:
    """World-to-camera matrices [C, 4, 4] and intrinsics [C, 3, 3] -> frustum poses (camera-to-world).

    viser's frustums use the OpenCV camera convention too (looking down +Z, y down), so the
    camera-to-world rotation goes in unchanged.
    """
    assert viewmats.ndim == 3 and viewmats.shape[1:] == (4, 4), viewmats.shape
    assert Ks.shape == (viewmats.shape[0], 3, 3), Ks.shape
    c2w = np.linalg.inv(viewmats)
    return [
        FrustumPose(
            wxyz=_rotmat_to_wxyz(c2w[i, :3, :3]),
            position=(float(c2w[i, 0, 3]), float(c2w[i, 1, 3]), float(c2w[i, 2, 3])),
            fov_y=float(2.0 * np.arctan(0.5 * height / Ks[i, 1, 1])),
            aspect=width / height,
        )
        for i in range(viewmats.shape[0])
    ]
