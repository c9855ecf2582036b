"""Front-to-back alpha compositing of projected Gaussians over a sparse (pixel, Gaussian) list.

Instead of gsplat's per-tile CUDA loop we enumerate, per image row, the pixels where each
Gaussian's alpha can reach 1/255 (an interval: the row's chord of the alpha = 1/255 ellipse), sort
the pairs by pixel with the Gaussians already in depth order, and composite with segmented
cumulative sums of log(1 - alpha). Cost and memory grow with the pixels the Gaussians cover, never
with pixels x Gaussians, and the result equals gsplat's tile-based one.

The backward pass is written by hand (the same algebra as gsplat's CUDA backward) from a few
per-pair values saved by the forward, so autograd never stores per-pair intermediates. Work is cut
into bands of image rows of at most ``max_pairs`` pairs, which bounds the working memory.
Everything per pair is a 1-D tensor: on CPU, 1-D gathers and scatters are many times faster
than their 2-D forms.

Semantics, as ``rasterize_to_pixels_3dgs_fwd_kernel``: pixel centres at +0.5; alpha =
min(0.999, opacity * exp(-sigma)), skipped when below 1/255 or sigma < 0; a pixel stops *before*
the Gaussian that would bring its transmittance to 1e-4 or below; background added as T * bg.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from splatdream.render.projection import ALPHA_THRESHOLD

T_MIN = 1e-4
"""A pixel is done once its transmittance would fall to this or below (gsplat's constant)."""
MAX_ALPHA = 0.999
DEFAULT_MAX_PAIRS = 4_000_000
"""Pixel-Gaussian pairs processed at once; bounds the working memory (roughly 100 bytes a pair)."""
_SORT_KEY_LIMIT = (1 << 16) - 1  # band pixel ids fit uint16 (numpy's radix sort); this one marks misses
_ROW_MARGIN = 1e-3  # pixels; widens each row interval so rounding never drops a pair gsplat keeps


@dataclass
class _Band:
    """What the backward needs from one band of rows of one image (pairs sorted by pixel)."""

    image: int
    row0: int
    n_pixels: int
    row_gauss: Tensor  # [R] Gaussian of each (Gaussian, row) item
    row_dy: Tensor  # [R] mean_y - pixel centre y of the item's row
    pixel: Tensor  # [M] int32 pixel index local to the band
    owner: Tensor  # [M] int32 row item of each pair
    raw: Tensor  # [M] opacity * exp(-sigma), before the 0.999 clamp
    trans: Tensor  # [M] transmittance in front of the pair; 0 where the pixel had stopped
    dx: Tensor  # [M] mean_x - pixel centre x
    counts: Tensor  # [P] pairs per pixel


def _row_bands(
    y0: Tensor, y1: Tensor, wx: Tensor, width: int, height: int, max_pairs: int
) -> list[tuple[int, int]]:
    """Split rows into [r0, r1) bands of at most ``max_pairs`` box pairs (one row may exceed it)."""
    wx = wx * (y1 >= y0)
    diff = torch.zeros(height + 2, dtype=torch.int64)
    diff.index_add_(0, y0.clamp(0, height), wx)
    diff.index_add_(0, (y1 + 1).clamp(0, height + 1), -wx)
    per_row = torch.cumsum(diff[:height], 0).tolist()
    max_rows = max(1, _SORT_KEY_LIMIT // width)
    bands, start, acc = [], 0, 0
    for row, cost in enumerate(per_row):
        if row > start and (acc + cost > max_pairs or row - start >= max_rows):
            bands.append((start, row))
            start, acc = row, 0
        acc += cost
    bands.append((start, height))
    return bands


def _segment_index(counts: Tensor, total: int) -> tuple[Tensor, Tensor]:
    """For items with ``counts`` each: owner index of every element and offset of the owner's start."""
    starts = torch.cumsum(counts, 0) - counts
    marks = torch.zeros(total + 1, dtype=torch.int64)  # +1: trailing empty items start at ``total``
    marks.index_add_(0, starts[1:], torch.ones(counts.numel() - 1, dtype=torch.int64))
    owner = torch.cumsum(marks[:total], 0)
    return owner, starts


def _segmented_inclusive(values: Tensor, pixel: Tensor, counts: Tensor) -> Tensor:
    """Per-pixel inclusive prefix sums of float64 ``values`` sorted by pixel (in place where possible:
    fresh multi-megabyte temporaries cost more in page faults than the arithmetic)."""
    incl = torch.cumsum(values, 0)
    starts = torch.cumsum(counts, 0) - counts
    base = torch.zeros(counts.numel(), dtype=values.dtype)
    nz = counts > 0
    first = starts[nz]
    base[nz] = incl[first] - values[first]
    return incl.sub_(base.index_select(0, pixel))


def _band_pairs(
    p: dict[str, Tensor], ids: Tensor, y0: Tensor, y1: Tensor, row0: int, row1: int, width: int
) -> tuple[Tensor, ...] | None:
    """Pairs of one band in generation order (Gaussians by depth, rows, then x), misses included."""
    ry0, ry1 = y0.clamp_min(row0), y1.clamp_max(row1 - 1)
    hy = (ry1 - ry0 + 1).clamp_min(0)
    n_rows = int(hy.sum())
    if n_rows == 0:
        return None
    item_g, item_start = _segment_index(hy, n_rows)
    gauss = ids.index_select(0, item_g)
    y = ry0.index_select(0, item_g) + (torch.arange(n_rows) - item_start.index_select(0, item_g))
    # Chord of the ellipse opacity * exp(-sigma) >= 1/255 on this row, in float64.
    mx, my = p["mx"].index_select(0, gauss), p["my"].index_select(0, gauss)
    a, b, c = p["a"].index_select(0, gauss), p["b"].index_select(0, gauss), p["c"].index_select(0, gauss)
    dy = my - (y.double() + 0.5)
    disc = (b * dy) ** 2 - a * (c * dy * dy - 2.0 * p["smax"].index_select(0, gauss))
    half = torch.sqrt(disc.clamp_min(0)) / a
    centre = mx + b * dy / a - 0.5  # x where sigma is smallest on this row, in pixel-index units
    xa = torch.ceil(centre - half - _ROW_MARGIN).clamp_min(0).long()
    xb = torch.floor(centre + half + _ROW_MARGIN).clamp_max(width - 1).long()
    cnt = torch.where(disc >= 0, (xb - xa + 1).clamp_min(0), 0)
    live = cnt > 0
    gauss, y, xa, cnt, dy = gauss[live], y[live], xa[live], cnt[live], dy[live]
    total = int(cnt.sum())
    if total == 0:
        return None
    owner, start = _segment_index(cnt, total)
    k = torch.arange(total).sub_(start.index_select(0, owner))
    return gauss, dy, xa, (y - row0) * width + xa, owner, k


class _Composite(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        means2d: Tensor,  # [I, N, 2]
        conics: Tensor,  # [I, N, 3]
        opacities: Tensor,  # [I, N]
        colors: Tensor,  # [I, N, D]
        backgrounds: Tensor | None,  # [I, D]
        radii: Tensor,  # [I, N, 2] int
        depths: Tensor,  # [I, N]
        width: int,
        height: int,
        max_pairs: int,
    ) -> tuple[Tensor, Tensor]:
        n_images, _, dim = colors.shape
        dtype = means2d.dtype
        out = torch.zeros(n_images, dim, height * width, dtype=dtype)
        log_t = torch.zeros(n_images, height * width, dtype=torch.float64)
        bands: list[_Band] = []
        log_tmin = math.log(T_MIN)
        for img in range(n_images):
            m2d, con = means2d[img].double(), conics[img].double()
            opa64 = opacities[img].double()
            p = {
                "mx": m2d[:, 0],
                "my": m2d[:, 1],
                "a": con[:, 0],
                "b": con[:, 1],
                "c": con[:, 2],
                "smax": torch.log(opa64.clamp_min(1e-30) / ALPHA_THRESHOLD),
            }
            cols = [colors[img, :, d].contiguous() for d in range(dim)]
            valid = (radii[img] > 0).all(dim=-1)
            ids = torch.nonzero(valid)[:, 0]
            ids = ids[torch.sort(depths[img, ids], stable=True).indices]
            r = radii[img, ids].double()
            x0 = torch.ceil(p["mx"][ids] - r[:, 0] - 0.5).clamp_min(0).long()
            x1 = torch.floor(p["mx"][ids] + r[:, 0] - 0.5).clamp_max(width - 1).long()
            y0 = torch.ceil(p["my"][ids] - r[:, 1] - 0.5).clamp_min(0).long()
            y1 = torch.floor(p["my"][ids] + r[:, 1] - 0.5).clamp_max(height - 1).long()
            for row0, row1 in _row_bands(y0, y1, (x1 - x0 + 1).clamp_min(0), width, height, max_pairs):
                pairs = _band_pairs(p, ids, y0, y1, row0, row1, width)
                if pairs is None:
                    continue
                row_gauss, row_dy64, row_xa, row_pix0, owner, k = pairs
                n_pix = (row1 - row0) * width
                # Per-pair values in the input dtype, from per-row tables (cheap, ordered gathers).
                row_dy = row_dy64.to(dtype)
                row_mxr = (p["mx"].index_select(0, row_gauss) - row_xa.double() - 0.5).to(dtype)
                aa = (0.5 * conics[img, :, 0]).index_select(0, row_gauss)
                bdy = conics[img, :, 1].index_select(0, row_gauss) * row_dy
                cc = 0.5 * conics[img, :, 2].index_select(0, row_gauss) * row_dy * row_dy
                dx = row_mxr.index_select(0, owner) - k.to(dtype)
                sigma = (aa.index_select(0, owner) * dx + bdy.index_select(0, owner)) * dx + cc.index_select(
                    0, owner
                )
                raw = opacities[img].index_select(0, row_gauss).index_select(0, owner) * torch.exp(-sigma)
                hit = (sigma >= 0) & (raw >= ALPHA_THRESHOLD)
                pixel = row_pix0.index_select(0, owner) + k
                key = torch.where(hit, pixel, _SORT_KEY_LIMIT).numpy().astype(np.uint16)
                # Pairs come Gaussian by Gaussian in depth order; a stable sort by pixel keeps that
                # order inside every pixel. numpy's stable sort of 16-bit keys is a radix sort.
                perm = torch.from_numpy(np.argsort(key, kind="stable"))[: int(hit.sum())]
                pixel = pixel.index_select(0, perm)
                owner = owner.index_select(0, perm)
                raw = raw.index_select(0, perm)
                dx = dx.index_select(0, perm)
                alpha = raw.clamp_max(MAX_ALPHA)
                counts = torch.bincount(pixel, minlength=n_pix)
                la = torch.log1p(-alpha.double())
                log_t_pair = _segmented_inclusive(la, pixel, counts)
                keep = log_t_pair > log_tmin
                la.mul_(keep)
                trans = log_t_pair.sub_(la).exp_().mul_(keep).to(dtype)  # T in front of each kept pair
                weight = alpha * trans
                sl = slice(row0 * width, row1 * width)
                for d in range(dim):
                    col = cols[d].index_select(0, row_gauss).index_select(0, owner)
                    out[img, d, sl].index_add_(0, pixel, weight * col)
                log_t[img, sl].index_add_(0, pixel, la)
                bands.append(
                    _Band(
                        img, row0, n_pix, row_gauss, row_dy, pixel.int(), owner.int(), raw, trans, dx, counts
                    )
                )
        t_final = torch.exp(log_t)
        out = out.transpose(1, 2)
        if backgrounds is not None:
            out = out + t_final[..., None].to(dtype) * backgrounds[:, None, :]
        alphas = (1.0 - t_final).to(dtype)
        ctx.bands = bands
        ctx.width = width
        ctx.has_bg = backgrounds is not None
        ctx.t_final = t_final
        ctx.save_for_backward(conics, opacities, colors, backgrounds if backgrounds is not None else colors)
        shape = (n_images, height, width)
        return out.reshape((*shape, dim)), alphas.reshape((*shape, 1))

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_out: Tensor, grad_alpha: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        conics, opacities, colors, bg = ctx.saved_tensors
        width = ctx.width
        n_images, n_gauss, dim = colors.shape
        dtype = conics.dtype
        t_final = ctx.t_final.to(dtype)  # [I, P]
        g_out = grad_out.reshape(n_images, -1, dim)
        # Background and the alpha output act through T_final; dT_final/da_i = -T_final / (1 - a_i).
        g_tfinal = -grad_alpha.reshape(n_images, -1)
        g_bg = None
        if ctx.has_bg:
            g_tfinal = g_tfinal + (g_out * bg[:, None, :]).sum(-1)
            g_bg = (g_out * t_final[..., None]).sum(1)
        g_tf = g_tfinal * t_final  # [I, P]
        # Per Gaussian: sums of g_sigma * (1, dx, dy, dx^2, dx dy, dy^2) and colour grads.
        acc = torch.zeros(n_images, 6, n_gauss, dtype=dtype)
        g_colors = torch.zeros(n_images, dim, n_gauss, dtype=dtype)
        for bd in ctx.bands:
            img, pixel, owner = bd.image, bd.pixel, bd.owner
            n_rows = bd.row_gauss.numel()
            sl = slice(bd.row0 * width, bd.row0 * width + bd.n_pixels)
            g_px = [g_out[img, sl, d].contiguous().index_select(0, pixel) for d in range(dim)]
            dot = torch.zeros_like(bd.raw)
            for d in range(dim):
                dot += colors[img, :, d].index_select(0, bd.row_gauss).index_select(0, owner) * g_px[d]
            alpha = bd.raw.clamp_max(MAX_ALPHA)
            weight = alpha * bd.trans
            q = (weight * dot).double()
            total = torch.zeros(bd.n_pixels, dtype=torch.float64).index_add_(0, pixel, q)
            behind = total.index_select(0, pixel).sub_(_segmented_inclusive(q, pixel, bd.counts)).to(dtype)
            inv = 1.0 / (1.0 - alpha)
            g_a = bd.trans * dot - (behind + g_tf[img, sl].index_select(0, pixel)) * inv
            g_a = torch.where((bd.trans > 0) & (bd.raw <= MAX_ALPHA), g_a, 0.0)
            g_sigma = -bd.raw * g_a
            # Reduce per row item first (dy is constant on a row), then per Gaussian.
            row_acc = torch.zeros(3, n_rows, dtype=dtype)
            row_acc[0].index_add_(0, owner, g_sigma)
            gdx = g_sigma * bd.dx
            row_acc[1].index_add_(0, owner, gdx)
            row_acc[2].index_add_(0, owner, gdx * bd.dx)
            dy = bd.row_dy
            s0, s1, s2 = row_acc
            per_row = torch.stack([s0, s1, s0 * dy, s2, s1 * dy, s0 * dy * dy])
            for j in range(6):
                acc[img, j].index_add_(0, bd.row_gauss, per_row[j])
            row_col = torch.zeros(dim, n_rows, dtype=dtype)
            for d in range(dim):
                row_col[d].index_add_(0, owner, weight * g_px[d])
            for d in range(dim):
                g_colors[img, d].index_add_(0, bd.row_gauss, row_col[d])
        s0, sx, sy, sxx, sxy, syy = acc.unbind(1)
        a, b, c = conics.unbind(-1)
        g_means2d = torch.stack([a * sx + b * sy, b * sx + c * sy], dim=-1)
        g_conics = torch.stack([0.5 * sxx, sxy, 0.5 * syy], dim=-1)
        g_opacities = -s0 / opacities.clamp_min(1e-30)
        return (
            g_means2d,
            g_conics,
            g_opacities,
            g_colors.transpose(1, 2),
            g_bg,
            None,
            None,
            None,
            None,
            None,
        )


def composite(
    means2d: Tensor,  # [I, N, 2]
    conics: Tensor,  # [I, N, 3]
    opacities: Tensor,  # [I, N]
    colors: Tensor,  # [I, N, D]
    radii: Tensor,  # [I, N, 2] int; 0 = not rendered
    depths: Tensor,  # [I, N]
    width: int,
    height: int,
    backgrounds: Tensor | None = None,  # [I, D]
    max_pairs: int = DEFAULT_MAX_PAIRS,
) -> tuple[Tensor, Tensor]:
    """Render colours [I, H, W, D] and alphas [I, H, W, 1]; differentiable in all float inputs."""
    if means2d.device.type != "cpu":
        raise ValueError("the torch compositor runs on CPU tensors; on CUDA use backend='gsplat'")
    if width > _SORT_KEY_LIMIT:
        raise ValueError(f"image width {width} exceeds {_SORT_KEY_LIMIT}; render in horizontal tiles")
    return _Composite.apply(
        means2d,
        conics,
        opacities,
        colors,
        backgrounds,
        radii.detach(),
        depths.detach(),
        width,
        height,
        max_pairs,
    )
