"""Config types of ``splatdream.scene`` (kept apart so configs and ``--help`` never import torch)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OrbitRanges:
    """Ranges cameras are sampled from (degrees; radius in scene units)."""

    azimuth_deg: tuple[float, float] = (-180.0, 180.0)
    """Azimuth range; 0 is the object's front."""
    elevation_deg: tuple[float, float] = (-10.0, 45.0)
    """Elevation range above the equator."""
    radius: tuple[float, float] = (2.5, 3.2)
    """Camera distance from the origin; the object lies inside the unit sphere."""
    fov_y_deg: tuple[float, float] = (40.0, 55.0)
    """Vertical field of view."""
