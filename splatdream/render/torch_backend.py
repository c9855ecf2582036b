"""Pure-PyTorch rasteriser with ``gsplat.rasterization`` 1.5.3's contract (classic pinhole mode).

Runs anywhere torch runs (CPU in CI, no CUDA build): EWA projection (``projection``), SH colours
(``sh``), then sparse front-to-back compositing (``compositing``). Outputs match gsplat's to float
rounding; ``meta`` carries what gsplat's densification strategies read (``means2d`` with usable
``.grad``, ``radii``, ``width``, ``height``, ``n_cameras``, ``gaussian_ids``).

``packed`` picks gsplat's meta layout, as ``gsplat.rasterization`` does: unpacked, the per-camera
tensors are ``[C, N, ...]`` (culled entries have radii 0); packed, they hold only the visible
(camera, Gaussian) pairs, ``[nnz, ...]``, with ``batch_ids``/``camera_ids``/``gaussian_ids`` [nnz] saying
which. The images are the same either way. Packing saves no memory here (our compositor is already
sparse); it exists so that code reading the meta (gsplat's densification) is tested on the CPU against
the layout gsplat's own default (``packed=True``) produces on CUDA.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from splatdream.render.compositing import DEFAULT_MAX_PAIRS, composite
from splatdream.render.contract import RENDER_MODES, RenderMode
from splatdream.render.projection import project_gaussians
from splatdream.render.sh import eval_sh_colors

TILE_SIZE = 16


def _check_shapes(
    means: Tensor,
    quats: Tensor,
    scales: Tensor,
    opacities: Tensor,
    colors: Tensor,
    viewmats: Tensor,
    Ks: Tensor,
    sh_degree: int | None,
    render_mode: str,
) -> None:
    n, c = means.shape[0], viewmats.shape[0]
    if means.ndim != 2 or viewmats.ndim != 3:
        raise ValueError(
            f"torch backend takes means [N, 3] and viewmats [C, 4, 4] (no batch dims); "
            f"got {tuple(means.shape)} and {tuple(viewmats.shape)}"
        )
    assert means.shape == (n, 3), means.shape
    assert quats.shape == (n, 4), quats.shape
    assert scales.shape == (n, 3), scales.shape
    assert opacities.shape == (n,), opacities.shape
    assert viewmats.shape == (c, 4, 4), viewmats.shape
    assert Ks.shape == (c, 3, 3), Ks.shape
    if sh_degree is None:
        if colors.shape[:-1] not in ((n,), (c, n)):
            raise ValueError(
                f"colors must be [N, D] or [C, N, D] without sh_degree, got {tuple(colors.shape)}"
            )
    elif colors.shape[:-2] not in ((n,), (c, n)) or colors.shape[-1] != 3:
        raise ValueError(f"SH colors must be [N, K, 3] or [C, N, K, 3], got {tuple(colors.shape)}")
    if render_mode not in RENDER_MODES:
        raise ValueError(f"unknown render_mode {render_mode!r}; choose RGB, D, ED, RGB+D or RGB+ED")


def rasterization_torch(
    means: Tensor,  # [N, 3]
    quats: Tensor,  # [N, 4] wxyz, any norm
    scales: Tensor,  # [N, 3] activated
    opacities: Tensor,  # [N] activated
    colors: Tensor,  # [N, D] / [C, N, D], or SH [N, K, 3] / [C, N, K, 3] with sh_degree
    viewmats: Tensor,  # [C, 4, 4] world-to-camera
    Ks: Tensor,  # [C, 3, 3]
    width: int,
    height: int,
    *,
    sh_degree: int | None = None,
    backgrounds: Tensor | None = None,  # [C, D]
    render_mode: RenderMode = "RGB",
    near_plane: float = 0.01,
    far_plane: float = 1e10,
    eps2d: float = 0.3,
    packed: bool = False,
    max_pairs: int = DEFAULT_MAX_PAIRS,
) -> tuple[Tensor, Tensor, dict[str, Any]]:
    """Render C views; returns (colors [C, H, W, X], alphas [C, H, W, 1], meta) like gsplat.

    X is D for "RGB", 1 for "D"/"ED", D + 1 for "RGB+D"/"RGB+ED" (depth last). "D" is the
    accumulated z-depth sum(w_i z_i); "ED" divides it by the alpha. ``max_pairs`` bounds how many
    pixel-Gaussian pairs are processed at once (memory, not results).
    """
    _check_shapes(means, quats, scales, opacities, colors, viewmats, Ks, sh_degree, render_mode)
    n_cams, n = viewmats.shape[0], means.shape[0]

    proj = project_gaussians(
        means,
        quats,
        scales,
        opacities,
        viewmats,
        Ks,
        width,
        height,
        eps2d=eps2d,
        near_plane=near_plane,
        far_plane=far_plane,
    )
    opacities_c = opacities[None].expand(n_cams, n)

    if sh_degree is None:
        feats = colors if colors.ndim == 3 else colors[None].expand(n_cams, n, colors.shape[-1])
    else:
        campos = torch.linalg.inv(viewmats)[:, :3, 3]  # [C, 3]
        dirs = means[None] - campos[:, None]  # [C, N, 3]
        coeffs = colors if colors.ndim == 4 else colors[None].expand(n_cams, *colors.shape)
        feats = eval_sh_colors(sh_degree, dirs, coeffs)

    if render_mode in ("RGB+D", "RGB+ED"):
        feats = torch.cat([feats, proj.depths[..., None]], dim=-1)
        if backgrounds is not None:
            backgrounds = torch.cat([backgrounds, backgrounds.new_zeros(n_cams, 1)], dim=-1)
    elif render_mode in ("D", "ED"):
        feats = proj.depths[..., None]
        if backgrounds is not None:
            backgrounds = backgrounds.new_zeros(n_cams, 1)

    means2d = proj.means2d
    if packed:
        # gsplat's packed layout: one row per visible (camera, Gaussian) pair, camera-major. The packed
        # means2d is what the compositor reads (scattered back into [C, N, 2]; culled entries are never
        # read), so its .grad is the image-plane gradient, as gsplat's packed means2d's is.
        visible = (proj.radii > 0).all(dim=-1)  # [C, N]
        camera_ids, gaussian_ids = torch.nonzero(visible, as_tuple=True)
        means2d_packed = proj.means2d[camera_ids, gaussian_ids]  # [nnz, 2]
        means2d = proj.means2d.new_zeros(proj.means2d.shape).index_put(
            (camera_ids, gaussian_ids), means2d_packed
        )
    render, alphas = composite(
        means2d,
        proj.conics,
        opacities_c,
        feats,
        proj.radii,
        proj.depths,
        width,
        height,
        backgrounds=backgrounds,
        max_pairs=max_pairs,
    )
    if render_mode in ("ED", "RGB+ED"):
        render = torch.cat([render[..., :-1], render[..., -1:] / alphas.clamp(min=1e-10)], dim=-1)

    meta: dict[str, Any] = {
        "batch_ids": None,
        "camera_ids": None,
        "gaussian_ids": None,
        "radii": proj.radii,
        "means2d": proj.means2d,
        "depths": proj.depths,
        "conics": proj.conics,
        "opacities": opacities_c,
        "width": width,
        "height": height,
        "tile_size": TILE_SIZE,
        "tile_width": math.ceil(width / TILE_SIZE),
        "tile_height": math.ceil(height / TILE_SIZE),
        "n_batches": 1,
        "n_cameras": n_cams,
    }
    if packed:
        meta |= {
            "batch_ids": torch.zeros_like(camera_ids),
            "camera_ids": camera_ids,
            "gaussian_ids": gaussian_ids,
            "radii": proj.radii[visible],  # [nnz, 2]
            "means2d": means2d_packed,
            "depths": proj.depths[visible],
            "conics": proj.conics[visible],
            "opacities": opacities_c[visible],
        }
    return render, alphas, meta
