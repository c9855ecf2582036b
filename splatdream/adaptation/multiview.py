"""The grid of orbit cameras alignment and adaptation render an asset from (the renders: ``render.views``)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from splatdream.scene import Cameras


def grid_cameras(
    azimuths_deg: Sequence[float], elevations_deg: Sequence[float], radius: float, fov_y_deg: float, size: int
) -> Cameras:
    """Every azimuth at every elevation (elevation-major), square renders of side ``size``."""
    az, el = torch.meshgrid(
        torch.tensor(list(azimuths_deg), dtype=torch.float32),
        torch.tensor(list(elevations_deg), dtype=torch.float32),
        indexing="xy",
    )
    az, el = az.reshape(-1), el.reshape(-1)
    az = torch.remainder(az + 180.0, 360.0) - 180.0
    full = torch.ones_like(az)
    return Cameras.from_orbit(az, el, full * radius, full * fov_y_deg, size, size)
