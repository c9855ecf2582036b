"""Real spherical harmonics up to degree 3 in gsplat's basis and sign convention."""

from __future__ import annotations

import torch
from torch import Tensor


def sh_bases(degree: int, dirs: Tensor) -> Tensor:
    """SH basis values [..., (degree+1)^2] at unit directions [..., 3] (Sloan 2013, as gsplat)."""
    if not 0 <= degree <= 3:
        raise ValueError(f"SH degree must be 0..3, got {degree}")
    x, y, z = dirs.unbind(-1)
    out = [torch.full_like(x, 0.2820947917738781)]
    if degree >= 1:
        out += [-0.48860251190292 * y, 0.48860251190292 * z, -0.48860251190292 * x]
    if degree >= 2:
        z2 = z * z
        c1, s1 = x * x - y * y, 2 * x * y
        tb = -1.092548430592079 * z
        out += [
            0.5462742152960395 * s1,
            tb * y,
            0.9461746957575601 * z2 - 0.3153915652525201,
            tb * x,
            0.5462742152960395 * c1,
        ]
    if degree >= 3:
        tc = -2.285228997322329 * z2 + 0.4570457994644658
        tb = 1.445305721320277 * z
        c2, s2 = x * c1 - y * s1, x * s1 + y * c1
        out += [
            -0.5900435899266435 * s2,
            tb * s1,
            tc * y,
            z * (1.865881662950577 * z2 - 1.119528997770346),
            tc * x,
            tb * c1,
            -0.5900435899266435 * c2,
        ]
    return torch.stack(out, dim=-1)


def eval_sh_colors(
    degree: int,
    dirs: Tensor,  # [..., 3] view directions (mean - camera centre), any length
    coeffs: Tensor,  # [..., K, 3], K >= (degree+1)^2; extra bands are ignored
) -> Tensor:
    """Colours [..., 3] as gsplat renders SH: sum of bases times coefficients, +0.5, clamped at 0."""
    k = (degree + 1) ** 2
    if coeffs.shape[-2] < k:
        raise ValueError(f"SH degree {degree} needs {k} coefficients per Gaussian, got {coeffs.shape[-2]}")
    bases = sh_bases(degree, torch.nn.functional.normalize(dirs, dim=-1))  # [..., k]
    rgb = (bases[..., None] * coeffs[..., :k, :]).sum(dim=-2)
    return torch.clamp_min(rgb + 0.5, 0.0)
