"""The fixed views every particle and its init are scored from, rendered with alpha.

Renders are made on black, so the colour is premultiplied; ``Views.rgb`` divides alpha out so
colour metrics see the object's own colour, not the background's.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from splatdream.render import render_gaussians
from splatdream.scene import Cameras, Gaussians, orbit_ring

RING_ELEVATION_DEG = 15.0
"""Elevation of the main ring (the pipeline's turntables and contact sheets use the same)."""


@dataclass(frozen=True)
class Views:
    """Renders of one scene: the main ring's cameras come first, ``ring`` of them."""

    premult: Tensor  # [C, H, W, 3] colour on black
    alpha: Tensor  # [C, H, W]
    ring: int

    @property
    def rgb(self) -> Tensor:
        """Un-premultiplied colour [C, H, W, 3] (0 where nothing was drawn)."""
        return (self.premult / self.alpha.clamp_min(1e-6)[..., None]).clamp(0, 1)

    @property
    def silhouette(self) -> Tensor:
        """Pixels the object covers [C, H, W] (alpha > 0.5)."""
        return self.alpha > 0.5

    def on(self, background: float = 1.0) -> Tensor:
        """Composited on a solid grey level [C, H, W, 3]."""
        return (self.premult + (1 - self.alpha[..., None]) * background).clamp(0, 1)


def eval_cameras(
    views: int,
    size: int,
    extra_elevations_deg: tuple[float, ...] = (),
    radius: float = 2.8,
    fov_y_deg: float = 45.0,
) -> Cameras:
    """``views`` ring cameras at 15 deg, then ``views // 4`` per extra elevation (offset half a step)."""
    if views < 2:
        raise ValueError(f"eval needs at least 2 ring views, got {views}")
    rings = [orbit_ring(views, size, size, RING_ELEVATION_DEG, radius, fov_y_deg)]
    n = max(1, views // 4)
    for el in extra_elevations_deg:
        rings.append(orbit_ring(n, size, size, el, radius, fov_y_deg, start_azimuth_deg=180.0 / n))
    return cat_cameras(rings)


def cat_cameras(items: list[Cameras]) -> Cameras:
    def cat(name: str) -> Tensor | None:
        parts = [getattr(c, name) for c in items]
        return None if any(p is None for p in parts) else torch.cat(parts)

    first = items[0]
    return Cameras(
        torch.cat([c.viewmats for c in items]),
        torch.cat([c.Ks for c in items]),
        first.width,
        first.height,
        cat("azimuth_deg"),
        cat("elevation_deg"),
        cat("radius"),
    )


@torch.no_grad()
def render_views(
    g: Gaussians, cameras: Cameras, ring: int, device: torch.device | str = "cpu", chunk: int = 12
) -> Views:
    """Render ``g`` from ``cameras`` in chunks (bounded memory); returns CPU tensors."""
    g = g.detach().to(device)
    colours, alphas = [], []
    for i in range(0, len(cameras), chunk):
        cams = cameras[i : i + chunk].to(device)
        c, a, _ = render_gaussians(g, cams, backgrounds=torch.zeros(len(cams), 3, device=device))
        colours.append(c.clamp(0, 1).float().cpu())
        alphas.append(a[..., 0].clamp(0, 1).float().cpu())
    return Views(torch.cat(colours), torch.cat(alphas), ring)


def quick_views(g: Gaussians, views: int = 8, size: int = 64) -> Views:
    """A small ring of renders for quick checks (tests, benchmarks)."""
    return render_views(g, orbit_ring(views, size, size, RING_ELEVATION_DEG), views)
