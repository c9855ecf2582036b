"""The fixed cameras every particle and its init are scored from.

The renders are ``splatdream.render.views.Views`` (premultiplied colour and alpha): ``Views.rgb``
divides alpha out so colour metrics see the object's own colour, not the background's.
"""

from __future__ import annotations

import torch
from torch import Tensor

from splatdream.render.views import Views, render_views
from splatdream.scene import Cameras, Gaussians, orbit_ring

RING_ELEVATION_DEG = 15.0
"""Elevation of the main ring (the pipeline's turntables and contact sheets use the same)."""


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


def quick_views(g: Gaussians, views: int = 8, size: int = 64) -> Views:
    """A small ring of renders for quick checks (tests, benchmarks)."""
    return render_views(g, orbit_ring(views, size, size, RING_ELEVATION_DEG), device="cpu")
