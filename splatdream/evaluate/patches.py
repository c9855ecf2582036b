"""Colour patches: low-frequency colour changes that no recolour of the init's own colours explains.

Speckle (``cleanliness.high_frequency_energy``) sees pixel-scale noise; the eye also sees blotches --
an olive patch on a wooden seat, a green end on a brown leg -- that are smooth, so a Laplacian
misses them, and that cover a small part of the object, so the mean colour barely moves. This
measure blurs both scenes' renders (so texture and speckle do not count), groups the init's blurred
CIELAB colours into a few clusters (its parts' colours: a red seat, a brown back), fits the best affine
map from the init's CIELAB to the result's per cluster (least squares), and reports the RMS residual in
Delta E units. A recolour of the whole object, or of one part's colour everywhere it occurs (the red
seat turned brown, the back left as it was), is a function of the init's colour and scores about 0; a
patch painted on part of a surface of one colour is not, and scores about its strength times the square
root of the area it covers. (One global affine map called every recolour of one part of a four-colour
car a patch.)
"""

from __future__ import annotations

import math
import warnings

import torch
import torch.nn.functional as F
from torch import Tensor

from splatdream.colours import srgb_to_lab
from splatdream.render.views import Views

BLUR_FRACTION = 1 / 32
"""Gaussian blur sigma as a fraction of the render side (4 px at 128): wider than speckle and wood grain,
narrower than the parts of an object (a seat, a leg)."""


def _gaussian_kernel(sigma: float) -> Tensor:
    radius = max(1, math.ceil(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def _blur(x: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur of [C, K, H, W] with zero padding."""
    k = _gaussian_kernel(sigma).to(x)
    r = len(k) // 2
    c = x.shape[1]
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), padding=(0, r), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), padding=(r, 0), groups=c)


def blurred_colour(views: Views, sigma: float) -> tuple[Tensor, Tensor]:
    """(blurred un-premultiplied sRGB [C, H, W, 3], blurred coverage [C, H, W]).

    Premultiplied colour and alpha are blurred separately and divided (normalised convolution), so the
    black background never bleeds into the object's colour at its outline.
    """
    pre = views.premult.permute(0, 3, 1, 2).float()
    alpha = views.alpha[:, None].float()
    pre_b, alpha_b = _blur(pre, sigma), _blur(alpha, sigma)
    rgb = (pre_b / alpha_b.clamp_min(1e-6)).clamp(0, 1)
    return rgb.permute(0, 2, 3, 1), alpha_b[:, 0]


def fit_affine(src: Tensor, dst: Tensor) -> Tensor:
    """Least-squares affine map [4, 3] with ``[src, 1] @ M ~ dst`` (both [N, 3])."""
    a = torch.cat([src, torch.ones(len(src), 1, dtype=src.dtype)], dim=1)
    return torch.linalg.lstsq(a, dst).solution


PATCH_CLUSTERS = 6
"""Colour clusters of the init the map may treat apart: more than an object's few part colours, few enough
that each holds thousands of pixels, so a patch inside one is not fitted away."""
MIN_CLUSTER_PIXELS = 64
"""A cluster with fewer pixels (an outline's mixed colours) is fitted with the global map."""


def piecewise_affine_residual(src: Tensor, dst: Tensor, k: int = PATCH_CLUSTERS) -> Tensor:
    """Per-pixel residual [N, 3] of ``dst`` after the best affine map from ``src`` fitted per k-means cluster
    of ``src`` (both [N, 3] float64); clusters too small for a fit share the global map."""
    from scipy.cluster.vq import kmeans2

    global_map = fit_affine(src, dst)
    ones = torch.ones(len(src), 1, dtype=src.dtype)
    pred = torch.cat([src, ones], dim=1) @ global_map
    if k > 1 and len(src) >= k * MIN_CLUSTER_PIXELS:
        with warnings.catch_warnings():  # an empty cluster is fine here: its pixels keep the global map
            warnings.simplefilter("ignore")
            _, labels_np = kmeans2(src.numpy(), k, minit="++", seed=0)
        labels = torch.from_numpy(labels_np)
        for c in range(k):
            sel = labels == c
            if int(sel.sum()) >= MIN_CLUSTER_PIXELS:
                m = fit_affine(src[sel], dst[sel])
                pred[sel] = torch.cat([src[sel], ones[sel]], dim=1) @ m
    return pred - dst


def patch_residual(
    init: Views, result: Views, sigma: float | None = None, *, min_coverage: float = 0.9
) -> float:
    """RMS CIELAB residual (Delta E units) of the result's blurred colours after the best per-colour-cluster
    affine map from the init's; lower is better, about 0 for a recolour of any of the init's colours. NaN
    when the two share no pixels.

    Pixels count where both blurred coverages exceed ``min_coverage`` (the interior, away from outlines,
    where blurring mixes in what is behind).
    """
    sigma = sigma if sigma is not None else max(1.0, init.alpha.shape[-1] * BLUR_FRACTION)
    rgb0, cov0 = blurred_colour(init, sigma)
    rgb1, cov1 = blurred_colour(result, sigma)
    mask = (cov0 > min_coverage) & (cov1 > min_coverage)
    if int(mask.sum()) < 8:
        return float("nan")
    lab0, lab1 = srgb_to_lab(rgb0[mask]), srgb_to_lab(rgb1[mask])
    return float(piecewise_affine_residual(lab0, lab1).square().sum(-1).mean().sqrt())


def mean_colour_shift(init: Views, result: Views) -> float:
    """CIE76 Delta E between the init's and the result's mean object colour (every view's silhouette)."""
    from splatdream.evaluate.colour import mean_colour

    c0, c1 = mean_colour(init), mean_colour(result)
    return float((srgb_to_lab(c0) - srgb_to_lab(c1)).norm())
