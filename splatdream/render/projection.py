"""EWA projection of 3D Gaussians into pinhole cameras, mirroring gsplat 1.5.3's fused CUDA kernel.

Same culling and bounding boxes as ``projection_ewa_3dgs_fused_fwd_kernel``: near/far test on the
camera-space depth, ``eps2d`` blur added to the 2D covariance, opacity-aware radii
(extent ``min(3.33, sqrt(2 ln(255 opacity)))`` sigmas, arXiv 2402.00525 B.2), off-image culling.
Culled Gaussians get radii 0; their means2d/conics are still finite so gradients stay clean.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

ALPHA_THRESHOLD = 1.0 / 255.0
"""Alphas below this are skipped by the rasteriser (gsplat's ``ALPHA_THRESHOLD``)."""


@dataclass
class Projection:
    """Per-camera 2D Gaussians; only entries with ``radii > 0`` are rendered."""

    radii: Tensor  # [C, N, 2] int32, bounding-box half sizes in pixels
    means2d: Tensor  # [C, N, 2] pixels
    depths: Tensor  # [C, N] camera-space z
    conics: Tensor  # [C, N, 3] upper triangle of the inverse blurred 2D covariance


def quat_to_rotmat(quats: Tensor) -> Tensor:
    """Rotation matrices [..., 3, 3] from wxyz quaternions [..., 4] (normalised here)."""
    w, x, y, z = torch.unbind(torch.nn.functional.normalize(quats, dim=-1), dim=-1)
    rows = [
        1 - 2 * (y * y + z * z),
        2 * (x * y - w * z),
        2 * (x * z + w * y),
        2 * (x * y + w * z),
        1 - 2 * (x * x + z * z),
        2 * (y * z - w * x),
        2 * (x * z - w * y),
        2 * (y * z + w * x),
        1 - 2 * (x * x + y * y),
    ]
    return torch.stack(rows, dim=-1).reshape((*quats.shape[:-1], 3, 3))


def _matmul(a: Tensor, b: Tensor) -> Tensor:
    """Broadcast product of small matrices; elementwise, since CPU bmm on 3x3 blocks is slow."""
    return (a[..., :, :, None] * b[..., None, :, :]).sum(-2)


def covariances(quats: Tensor, scales: Tensor) -> Tensor:
    """World-space covariances R S S^T R^T [N, 3, 3] from quats [N, 4] and activated scales [N, 3]."""
    m = quat_to_rotmat(quats) * scales[..., None, :]
    return _matmul(m, m.transpose(-1, -2))


def project_gaussians(
    means: Tensor,  # [N, 3]
    quats: Tensor,  # [N, 4]
    scales: Tensor,  # [N, 3]
    opacities: Tensor,  # [N]
    viewmats: Tensor,  # [C, 4, 4]
    Ks: Tensor,  # [C, 3, 3]
    width: int,
    height: int,
    eps2d: float = 0.3,
    near_plane: float = 0.01,
    far_plane: float = 1e10,
) -> Projection:
    """Project Gaussians into every camera (differentiable in means, quats and scales)."""
    rot = viewmats[:, None, :3, :3]  # [C, 1, 3, 3]
    means_c = (rot * means[None, :, None, :]).sum(-1) + viewmats[:, None, :3, 3]  # [C, N, 3]
    covars_c = _matmul(_matmul(rot, covariances(quats, scales)[None]), rot.transpose(-1, -2))  # [C, N, 3, 3]

    x, y, z = means_c.unbind(-1)
    in_depth = (z >= near_plane) & (z <= far_plane)
    # Culled Gaussians are never rendered; a safe depth keeps their (unused) values and grads finite.
    z = torch.where(in_depth, z, torch.ones_like(z))
    fx, fy = Ks[:, 0, 0, None], Ks[:, 1, 1, None]  # [C, 1]
    cx, cy = Ks[:, 0, 2, None], Ks[:, 1, 2, None]
    # The Jacobian is evaluated at a point clamped to 1.3x the view frustum, as gsplat does, so
    # Gaussians far outside the image do not blow up into huge screen-space ellipses.
    tan_fovx, tan_fovy = 0.5 * width / fx, 0.5 * height / fy
    tx = z * torch.clamp(x / z, min=-(cx / fx + 0.3 * tan_fovx), max=(width - cx) / fx + 0.3 * tan_fovx)
    ty = z * torch.clamp(y / z, min=-(cy / fy + 0.3 * tan_fovy), max=(height - cy) / fy + 0.3 * tan_fovy)
    zeros = torch.zeros_like(z)
    jac = torch.stack([fx / z, zeros, -fx * tx / (z * z), zeros, fy / z, -fy * ty / (z * z)], dim=-1)
    jac = jac.reshape((*z.shape, 2, 3))
    cov2d = _matmul(_matmul(jac, covars_c), jac.transpose(-1, -2))  # [C, N, 2, 2]
    means2d = torch.stack([fx * x / z + cx, fy * y / z + cy], dim=-1)

    a = cov2d[..., 0, 0] + eps2d
    b = 0.5 * (cov2d[..., 0, 1] + cov2d[..., 1, 0])
    c = cov2d[..., 1, 1] + eps2d
    det = a * c - b * b
    ok_det = det > 0
    det_safe = torch.where(ok_det, det, torch.ones_like(det))
    conics = torch.stack([c / det_safe, -b / det_safe, a / det_safe], dim=-1)

    with torch.no_grad():
        opa = opacities.detach()[None].expand_as(z)
        extend = torch.sqrt(2.0 * torch.log(opa.clamp_min(ALPHA_THRESHOLD) / ALPHA_THRESHOLD)).clamp_max(3.33)
        radius_x = torch.ceil(extend * torch.sqrt(a.detach().clamp_min(0)))
        radius_y = torch.ceil(extend * torch.sqrt(c.detach().clamp_min(0)))
        mx, my = means2d.detach().unbind(-1)
        valid = (
            in_depth
            & ok_det
            & (opa >= ALPHA_THRESHOLD)
            & ~((radius_x <= 0) & (radius_y <= 0))
            & (mx + radius_x > 0)
            & (mx - radius_x < width)
            & (my + radius_y > 0)
            & (my - radius_y < height)
        )
        radii = torch.stack([radius_x, radius_y], dim=-1) * valid[..., None]
        radii = radii.to(torch.int32)
    return Projection(radii=radii, means2d=means2d, depths=means_c[..., 2], conics=conics)
