"""Turn a scene about the world's up axis (+Y), Gaussians (positions, orientations, SH) or a mesh.

A yaw of ``deg`` moves what faced azimuth ``a`` to face azimuth ``a + deg`` (azimuth grows from
+Z towards +X, see ``splatdream.scene``), so turning by ``-front_azimuth`` brings the front to 0.
"""

from __future__ import annotations

import math
from dataclasses import replace

import torch
from torch import Tensor

from splatdream.render.sh import sh_bases
from splatdream.scene import Gaussians


def yaw_matrix(
    deg: float, dtype: torch.dtype = torch.float32, device: torch.device | str | None = None
) -> Tensor:
    """Rotation [3, 3] about +Y taking +Z (azimuth 0) to azimuth ``deg``."""
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    return torch.tensor([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]], dtype=dtype, device=device)


def quat_multiply(q: Tensor, r: Tensor) -> Tensor:
    """Hamilton product q * r of wxyz quaternions [..., 4] (rotation r first, then q)."""
    w1, x1, y1, z1 = q.unbind(-1)
    w2, x2, y2, z2 = r.unbind(-1)
    return torch.stack(
        [
            w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        ],
        dim=-1,
    )


def sh_rotation(degree: int, rot: Tensor, n_dirs: int = 256) -> list[Tensor]:
    """Per-band matrices M_l [(2l+1), (2l+1)] with rotated coefficients c' = M_l c (bands 1..degree).

    Found by least squares on sample directions: Y_l(R^T d) = Y_l(d) M_l holds exactly because
    each band is closed under rotation, so this needs no Wigner-matrix bookkeeping.
    """
    gen = torch.Generator().manual_seed(0)
    dirs = torch.nn.functional.normalize(torch.randn(n_dirs, 3, generator=gen, dtype=torch.float64), dim=-1)
    rot64 = rot.detach().to("cpu", torch.float64)
    y = sh_bases(degree, dirs)
    y_rot = sh_bases(degree, dirs @ rot64)  # rows are R^T d
    mats = []
    for band in range(1, degree + 1):
        sl = slice(band * band, (band + 1) * (band + 1))
        mats.append(torch.linalg.lstsq(y[:, sl], y_rot[:, sl]).solution)
    return mats


def rotate_gaussians_yaw(gaussians: Gaussians, deg: float) -> Gaussians:
    """The scene turned by ``deg`` about +Y through the origin (means, orientations and SH bands)."""
    g = gaussians
    rot = yaw_matrix(deg, g.means.dtype, g.device)
    half = math.radians(deg) / 2
    q_rot = g.quats.new_tensor([math.cos(half), 0.0, math.sin(half), 0.0])
    sh = g.sh
    if g.sh_degree > 0:
        bands = [sh[:, :1]]
        for band, m in enumerate(sh_rotation(g.sh_degree, rot), start=1):
            coeffs = sh[:, band * band : (band + 1) * (band + 1)]  # [N, 2l+1, 3]
            bands.append(torch.einsum("ij,njc->nic", m.to(sh), coeffs))
        sh = torch.cat(bands, dim=1)
    return replace(g, means=g.means @ rot.T, quats=quat_multiply(q_rot.expand_as(g.quats), g.quats), sh=sh)


def rotate_mesh_yaw(mesh, deg: float):  # trimesh.Trimesh -> trimesh.Trimesh
    """A copy of ``mesh`` turned by ``deg`` about +Y through the origin."""
    import trimesh

    out = mesh.copy()
    out.apply_transform(trimesh.transformations.rotation_matrix(math.radians(deg), (0.0, 1.0, 0.0)))
    return out


def wrap_deg(deg: Tensor | float) -> Tensor | float:
    """Angle(s) wrapped to [-180, 180)."""
    if isinstance(deg, Tensor):
        return torch.remainder(deg + 180.0, 360.0) - 180.0
    return (deg + 180.0) % 360.0 - 180.0
