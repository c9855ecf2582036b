"""Cleanliness of a result against its own initialisation: speckle, holes, floaters, Gaussian count.

Each is measured on the same fixed views of both scenes (``views.Views``), so a particle is
compared with where it started, never with an absolute standard it could not reach.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from splatdream.evaluate.views import quick_views
from splatdream.render.views import Views
from splatdream.scene import Gaussians

SPECKLE_FLOOR = 0.01
"""Speckle below this counts as this in the ratio: mean |Laplacian| 0.01 (2.5/255 per pixel) is invisible, and
many inits are flat-coloured (0.0), where a bare ratio would explode on any change."""

_LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def _dilate(mask: Tensor, pixels: int) -> Tensor:
    """Binary dilation [C, H, W] by a (2p+1)-square."""
    if pixels <= 0:
        return mask
    k = 2 * pixels + 1
    return F.max_pool2d(mask[:, None].float(), k, stride=1, padding=pixels)[:, 0] > 0.5


def _erode(mask: Tensor, pixels: int) -> Tensor:
    return ~_dilate(~mask, pixels)


def high_frequency_energy(views: Views) -> float:
    """Mean |Laplacian| of the un-premultiplied RGB over the silhouette's interior (eroded 1 px).

    The erosion keeps the 3x3 kernel off the silhouette edge, so the outline's contrast with the
    background does not count, only colour noise and texture on the surface.
    """
    rgb = views.rgb.permute(0, 3, 1, 2).reshape(-1, 1, *views.alpha.shape[1:])  # [C*3, 1, H, W]
    lap = F.conv2d(rgb, _LAPLACIAN.view(1, 1, 3, 3).to(rgb), padding=1).abs()
    lap = lap.reshape(len(views.alpha), 3, *views.alpha.shape[1:]).mean(1)  # [C, H, W]
    inside = _erode(views.silhouette, 1)
    if not inside.any():
        return float("nan")
    return float(lap[inside].mean())


def holes(init: Views, result: Views) -> float:
    """Fraction of the init's silhouette pixels where the result is transparent (alpha < 0.5)."""
    base = init.silhouette
    total = int(base.sum())
    if total == 0:
        return float("nan")
    return int((base & (result.alpha < 0.5)).sum()) / total


def floaters(init: Views, result: Views, margin: int) -> float:
    """Result pixels (alpha > 0.5) outside the init silhouette dilated by ``margin`` px, per init pixel."""
    total = int(init.silhouette.sum())
    if total == 0:
        return float("nan")
    outside = result.silhouette & ~_dilate(init.silhouette, margin)
    return int(outside.sum()) / total


@dataclass(frozen=True)
class Cleanliness:
    """Cleanliness numbers of one particle; ratios are result / init (1 = unchanged)."""

    speckle_init: float
    """High-frequency energy of the init (mean |Laplacian| of RGB inside the silhouette)."""
    speckle: float
    """The same of the result."""
    speckle_ratio: float
    """max(speckle, floor) / max(speckle_init, floor); lower is better, <= 1: no noisier than the init."""
    holes: float
    """Fraction of the init silhouette turned transparent; lower is better."""
    floaters: float
    """Result coverage outside the dilated init silhouette, as a fraction of the init silhouette; lower is better."""
    gaussians_init: int
    gaussians: int
    count_ratio: float
    """gaussians / gaussians_init; lower is lighter."""


def cleanliness(init: Views, result: Views, n_init: int, n_result: int, margin: int) -> Cleanliness:
    s0, s1 = high_frequency_energy(init), high_frequency_energy(result)
    return Cleanliness(
        speckle_init=s0,
        speckle=s1,
        speckle_ratio=max(s1, SPECKLE_FLOOR) / max(s0, SPECKLE_FLOOR),
        holes=holes(init, result),
        floaters=floaters(init, result, margin),
        gaussians_init=n_init,
        gaussians=n_result,
        count_ratio=n_result / n_init if n_init else float("nan"),
    )


def views_iou(a: Views, b: Views) -> float:
    """Intersection over union of two scenes' silhouettes over all views (1 = same outline)."""
    union = int((a.silhouette | b.silhouette).sum())
    return int((a.silhouette & b.silhouette).sum()) / union if union else 0.0


def silhouette_iou(a: Gaussians, b: Gaussians) -> float:
    """``views_iou`` on 8 ring views at 64 px: a quick check that a result kept its init's shape."""
    return views_iou(quick_views(a), quick_views(b))
