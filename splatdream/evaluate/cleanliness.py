"""Cleanliness of a result against its own initialisation: speckle, holes, floaters, Gaussian count.

Each is measured on the same fixed views of both scenes (``views.Views``), so a particle is
compared with where it started, never with an absolute standard it could not reach.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from splatdream.colours import srgb_to_lab
from splatdream.evaluate.views import quick_views
from splatdream.render.views import Views
from splatdream.scene import Gaussians

SPECKLE_FLOOR = 0.01
"""Speckle below this counts as this in the ratio: mean |Laplacian| 0.01 (2.5/255 per pixel) is invisible, and
many inits are flat-coloured (0.0), where a bare ratio would explode on any change."""
PART_EDGE_DELTA_E = 15.0
"""A colour step of this much (CIE76) within a 3x3 window of the init is a boundary between parts, not
texture: a wooden piano's grain spans about 9 (median window), a grey sofa's cushion edge 25, a bicycle's
frame against its tyres 80."""

_LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def _dilate(mask: Tensor, pixels: int) -> Tensor:
    """Binary dilation [C, H, W] by a (2p+1)-square."""
    if pixels <= 0:
        return mask
    k = 2 * pixels + 1
    return F.max_pool2d(mask[:, None].float(), k, stride=1, padding=pixels)[:, 0] > 0.5


def _erode(mask: Tensor, pixels: int) -> Tensor:
    return ~_dilate(~mask, pixels)


def part_edges(views: Views) -> Tensor:
    """Per pixel [C, H, W]: the CIE76 colour range (max - min per Lab channel, as one norm) of its 3x3 window."""
    lab = srgb_to_lab(views.rgb.double()).permute(0, 3, 1, 2)  # [C, 3, H, W]
    hi = F.max_pool2d(lab, 3, stride=1, padding=1)
    lo = -F.max_pool2d(-lab, 3, stride=1, padding=1)
    return (hi - lo).norm(dim=1)


def speckle_mask(init: Views) -> Tensor:
    """Where speckle is measured [C, H, W]: the init's silhouette interior (eroded 1 px, so the 3x3 kernel
    stays off the outline) less its part boundaries (a 3x3 colour range of ``PART_EDGE_DELTA_E`` or more).
    An init that is boundaries everywhere (random colours per Gaussian) has no parts to measure inside:
    then the whole interior counts."""
    inside = _erode(init.silhouette, 1)
    parts = inside & (part_edges(init) < PART_EDGE_DELTA_E)
    return parts if parts.any() else inside


def high_frequency_energy(views: Views, mask: Tensor | None = None) -> float:
    """Mean |Laplacian| of the un-premultiplied RGB over ``mask`` (default: the silhouette's interior,
    eroded 1 px); NaN when the mask is empty."""
    rgb = views.rgb.permute(0, 3, 1, 2).reshape(-1, 1, *views.alpha.shape[1:])  # [C*3, 1, H, W]
    lap = F.conv2d(rgb, _LAPLACIAN.view(1, 1, 3, 3).to(rgb), padding=1).abs()
    lap = lap.reshape(len(views.alpha), 3, *views.alpha.shape[1:]).mean(1)  # [C, H, W]
    inside = _erode(views.silhouette, 1) if mask is None else mask
    if not inside.any():
        return float("nan")
    return float(lap[inside].mean())


@dataclass(frozen=True)
class Speckle:
    """High-frequency energy of an init and its result on the same pixels (``speckle_mask`` of the init)."""

    init: float
    result: float

    @property
    def ratio(self) -> float:
        """max(result, floor) / max(init, floor); <= 1: no noisier than the init (1 where both are flat)."""
        return max(self.result, SPECKLE_FLOOR) / max(self.init, SPECKLE_FLOOR)


def speckle(init: Views, result: Views) -> Speckle:
    """Noise a result added inside its init's parts; contrast gained across a part boundary is not noise.

    A recolour that lightens one part (grey cushions to cream on a grey frame) sharpens the boundary
    between parts: by eye a clean result, yet the plain mean |Laplacian| rose 1.29x on it. Measured away
    from the init's part boundaries, noise and a texture pulled apart (wood grain turned black and light
    stripes) still count in full.
    """
    mask = speckle_mask(init)
    return Speckle(high_frequency_energy(init, mask), high_frequency_energy(result, mask))


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
    """High-frequency energy of the init (mean |Laplacian| of RGB inside its parts: ``speckle``)."""
    speckle: float
    """The same of the result, on the same pixels."""
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
    sp = speckle(init, result)
    return Cleanliness(
        speckle_init=sp.init,
        speckle=sp.result,
        speckle_ratio=sp.ratio,
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
