"""Front-to-back alpha compositing of projected Gaussians over a sparse (pixel, Gaussian) list.

Instead of gsplat's per-tile CUDA loop we enumerate, per image, every pixel inside each
Gaussian's bounding box (radii from the projection), sort the pairs by pixel with the Gaussians
already in depth order, and composite with segmented cumulative sums of log(1 - alpha). Cost and
memory grow with the pixels the Gaussians cover, never with pixels x Gaussians. The bounding box
holds every pixel whose alpha reaches 1/255, so the result equals gsplat's tile-based one.

The backward pass is written by hand (the same algebra as gsplat's CUDA backward) and reuses the
kept pairs saved by the forward, so autograd never stores per-pair intermediates. Work is cut into
bands of image rows of at most ``max_pairs`` pairs each, which bounds the working memory.

Semantics, as ``rasterize_to_pixels_3dgs_fwd_kernel``: pixel centres at +0.5; alpha =
min(0.999, opacity * exp(-sigma)), skipped when below 1/255 or sigma < 0; a pixel stops *before*
the Gaussian that would bring its transmittance to 1e-4 or below; background added as T * bg.
"""

from __future__ import annotations

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
"""Pixel-Gaussian pairs processed at once; bounds working memory (about 100 bytes per pair)."""
_MAX_BAND_PIXELS = 1 << 16  # local pixel ids must fit uint16 for numpy's radix sort


@dataclass
class _Band:
    """Kept pairs of one band of rows of one image, sorted by pixel then depth."""

    image: int
    row0: int
    n_pixels: int
    gauss: Tensor  # [M] int64 Gaussian index (into N)
    pixel: Tensor  # [M] int64 pixel index local to the band (row-major from row0)


def _pixel_boxes(means2d: Tensor, radii: Tensor, width: int, height: int) -> tuple[Tensor, ...]:
    """Inclusive pixel ranges whose centres lie inside each Gaussian's bounding box."""
    r = radii.to(means2d.dtype)
    x0 = torch.ceil(means2d[:, 0] - r[:, 0] - 0.5).clamp_min(0).long()
    x1 = torch.floor(means2d[:, 0] + r[:, 0] - 0.5).clamp_max(width - 1).long()
    y0 = torch.ceil(means2d[:, 1] - r[:, 1] - 0.5).clamp_min(0).long()
    y1 = torch.floor(means2d[:, 1] + r[:, 1] - 0.5).clamp_max(height - 1).long()
    return x0, x1, y0, y1


def _row_bands(y0: Tensor, y1: Tensor, wx: Tensor, width: int, height: int, max_pairs: int) -> list[tuple[int, int]]:
    """Split rows into [r0, r1) bands of at most ``max_pairs`` pairs (one row may exceed it)."""
    wx = wx * (y1 >= y0)
    diff = torch.zeros(height + 1, dtype=torch.int64)
    diff.index_add_(0, y0, wx)
    diff.index_add_(0, y1 + 1, -wx)
    per_row = torch.cumsum(diff[:height], 0).tolist()
    max_rows = max(1, _MAX_BAND_PIXELS // width)
    bands, start, acc = [], 0, 0
    for row, cost in enumerate(per_row):
        if row > start and (acc + cost > max_pairs or row - start >= max_rows):
            bands.append((start, row))
            start, acc = row, 0
        acc += cost
    bands.append((start, height))
    return bands


def _enumerate_pairs(
    order: Tensor, x0: Tensor, x1: Tensor, y0: Tensor, y1: Tensor, row0: int, row1: int, width: int
) -> tuple[Tensor, Tensor]:
    """(Gaussian, local pixel) pairs of one band, sorted by pixel, Gaussians in ``order`` within a pixel."""
    by0 = y0[order].clamp_min(row0)
    by1 = y1[order].clamp_max(row1 - 1)
    bx0 = x0[order]
    wx = x1[order] - bx0 + 1
    hy = by1 - by0 + 1
    hit = (wx > 0) & (hy > 0)
    order, by0, bx0, wx, hy = order[hit], by0[hit], bx0[hit], wx[hit], hy[hit]
    counts = wx * hy
    total = int(counts.sum())
    if total == 0:
        empty = torch.zeros(0, dtype=torch.int64)
        return empty, empty
    owner = torch.repeat_interleave(torch.arange(order.numel()), counts)
    start = torch.cumsum(counts, 0) - counts
    k = torch.arange(total) - start[owner]
    w = wx[owner]
    ly = torch.div(k, w, rounding_mode="floor")
    pixel = (by0[owner] + ly - row0) * width + bx0[owner] + (k - ly * w)
    # Pairs are generated Gaussian by Gaussian in depth order; a stable sort by pixel keeps that
    # order inside every pixel. numpy's stable sort is a radix sort for 16-bit keys: ~10x torch.sort.
    perm = torch.from_numpy(np.argsort(pixel.numpy().astype(np.uint16), kind="stable"))
    return order[owner[perm]], pixel[perm]


def _segment_starts(pixel: Tensor, n_pixels: int) -> tuple[Tensor, Tensor]:
    counts = torch.bincount(pixel, minlength=n_pixels)
    return counts, torch.cumsum(counts, 0) - counts


def _segmented_exclusive(values: Tensor, pixel: Tensor, counts: Tensor, starts: Tensor) -> tuple[Tensor, Tensor]:
    """Per-pixel exclusive and inclusive prefix sums of float64 ``values`` sorted by pixel."""
    incl = torch.cumsum(values, 0)
    excl = incl - values
    base = torch.zeros_like(counts, dtype=values.dtype)
    nz = counts > 0
    base[nz] = excl[starts[nz]]
    base = base[pixel]
    return excl - base, incl - base


def _alphas(
    attrs: Tensor, gauss: Tensor, pixel: Tensor, row0: int, width: int
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Gathered conics, pixel-to-mean offsets, sigma, exp(-sigma) and opacity for each pair."""
    g = attrs.index_select(0, gauss)  # [M, 6]: mx, my, conic a, b, c, opacity
    py = torch.div(pixel, width, rounding_mode="floor")
    dx = g[:, 0] - ((pixel - py * width).to(g.dtype) + 0.5)
    dy = g[:, 1] - ((py + row0).to(g.dtype) + 0.5)
    conic = g[:, 2:5]
    sigma = 0.5 * (conic[:, 0] * dx * dx + conic[:, 2] * dy * dy) + conic[:, 1] * dx * dy
    return conic, torch.stack([dx, dy], -1), sigma, torch.exp(-sigma), g[:, 5]


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
        out = torch.zeros(n_images, height * width, dim, dtype=dtype)
        log_t = torch.zeros(n_images, height * width, dtype=torch.float64)
        bands: list[_Band] = []
        for img in range(n_images):
            attrs = torch.cat([means2d[img], conics[img], opacities[img, :, None]], dim=-1)
            valid = (radii[img] > 0).all(dim=-1)
            ids = torch.nonzero(valid)[:, 0]
            ids = ids[torch.sort(depths[img, ids], stable=True).indices]
            x0, x1, y0, y1 = _pixel_boxes(means2d[img], radii[img], width, height)
            wx = (x1 - x0 + 1).clamp_min(0)[ids]
            for row0, row1 in _row_bands(y0[ids], y1[ids], wx, width, height, max_pairs):
                gauss, pixel = _enumerate_pairs(ids, x0, x1, y0, y1, row0, row1, width)
                _, _, sigma, vis, opa = _alphas(attrs, gauss, pixel, row0, width)
                alpha = torch.clamp_max(opa * vis, MAX_ALPHA)
                hit = (sigma >= 0) & (alpha >= ALPHA_THRESHOLD)
                gauss, pixel, alpha = gauss[hit], pixel[hit], alpha[hit]
                n_pix = (row1 - row0) * width
                counts, starts = _segment_starts(pixel, n_pix)
                log_excl, log_incl = _segmented_exclusive(torch.log1p(-alpha.double()), pixel, counts, starts)
                keep = log_incl > np.log(T_MIN)
                gauss, pixel, alpha, log_excl = gauss[keep], pixel[keep], alpha[keep], log_excl[keep]
                weight = (alpha * torch.exp(log_excl)).to(dtype)
                contrib = weight[:, None] * colors[img].index_select(0, gauss)
                sl = slice(row0 * width, row1 * width)
                out[img, sl].index_add_(0, pixel, contrib)
                log_t[img, sl].index_add_(0, pixel, torch.log1p(-alpha.double()))
                bands.append(_Band(img, row0, n_pix, gauss, pixel))
        t_final = torch.exp(log_t)
        if backgrounds is not None:
            out = out + t_final[..., None].to(dtype) * backgrounds[:, None, :]
        alphas = (1.0 - t_final).to(dtype)
        ctx.bands = bands
        ctx.width, ctx.height = width, height
        ctx.has_bg = backgrounds is not None
        ctx.save_for_backward(means2d, conics, opacities, colors, backgrounds if backgrounds is not None else colors)
        ctx.t_final = t_final
        shape = (n_images, height, width)
        return out.reshape(shape + (dim,)), alphas.reshape(shape + (1,))

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_out: Tensor, grad_alpha: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        means2d, conics, opacities, colors, bg = ctx.saved_tensors
        width = ctx.width
        n_images, n_gauss, dim = colors.shape
        dtype = means2d.dtype
        t_final = ctx.t_final.to(dtype)  # [I, P]
        g_out = grad_out.reshape(n_images, -1, dim)
        g_alpha_px = grad_alpha.reshape(n_images, -1)
        # Background and the alpha output both act through T_final, and dT_final/da_i = -T_final / (1 - a_i).
        g_tfinal = -g_alpha_px
        g_bg = None
        if ctx.has_bg:
            g_tfinal = g_tfinal + (g_out * bg[:, None, :]).sum(-1)
            g_bg = (g_out * t_final[..., None]).sum(1)
        g_attrs = torch.zeros(n_images, n_gauss, 6, dtype=dtype)
        g_colors = torch.zeros(n_images, n_gauss, dim, dtype=dtype)
        attrs_all = torch.cat([means2d, conics, opacities[..., None]], dim=-1)
        for band in ctx.bands:
            img, gauss, pixel = band.image, band.gauss, band.pixel
            if gauss.numel() == 0:
                continue
            sl = slice(band.row0 * width, band.row0 * width + band.n_pixels)
            conic, delta, sigma, vis, opa = _alphas(attrs_all[img], gauss, pixel, band.row0, width)
            raw = opa * vis
            alpha = torch.clamp_max(raw, MAX_ALPHA)
            counts, starts = _segment_starts(pixel, band.n_pixels)
            log_excl, _ = _segmented_exclusive(torch.log1p(-alpha.double()), pixel, counts, starts)
            trans = torch.exp(log_excl).to(dtype)
            weight = alpha * trans
            g_px = g_out[img, sl].index_select(0, pixel)  # [M, D]
            col = colors[img].index_select(0, gauss)
            dot = (col * g_px).sum(-1)
            # Colour of everything behind pair i in its pixel: total minus inclusive prefix.
            _, behind_incl = _segmented_exclusive((weight * dot).double(), pixel, counts, starts)
            total = torch.zeros(band.n_pixels, dtype=torch.float64).index_add_(0, pixel, (weight * dot).double())
            behind = (total[pixel] - behind_incl).to(dtype)
            inv = 1.0 / (1.0 - alpha)
            g_a = trans * dot - behind * inv - g_tfinal[img, sl][pixel] * t_final[img, sl][pixel] * inv
            g_a = torch.where(raw <= MAX_ALPHA, g_a, torch.zeros_like(g_a))
            g_sigma = -raw * g_a
            dx, dy = delta[:, 0], delta[:, 1]
            per_pair = torch.stack(
                [
                    g_sigma * (conic[:, 0] * dx + conic[:, 1] * dy),
                    g_sigma * (conic[:, 1] * dx + conic[:, 2] * dy),
                    0.5 * g_sigma * dx * dx,
                    g_sigma * dx * dy,
                    0.5 * g_sigma * dy * dy,
                    vis * g_a,
                ],
                dim=-1,
            )
            g_attrs[img].index_add_(0, gauss, per_pair)
            g_colors[img].index_add_(0, gauss, weight[:, None] * g_px)
        return (
            g_attrs[..., 0:2], g_attrs[..., 2:5], g_attrs[..., 5], g_colors, g_bg,
            None, None, None, None, None,
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
    return _Composite.apply(
        means2d, conics, opacities, colors, backgrounds, radii.detach(), depths.detach(), width, height, max_pairs
    )
