"""Initialisation: retrieved meshes (or a .ply, or a random ball) -> particles of Gaussians."""

from __future__ import annotations

from splatdream.init.config import InitConfig
from splatdream.init.from_mesh import BadAssetError, mesh_to_gaussians, points_to_gaussians
from splatdream.init.particles import (
    contact_sheet,
    init_particles,
    initialise,
    perturb_gaussians,
    ply_particles,
    random_particles,
)

__all__ = [
    "BadAssetError",
    "InitConfig",
    "contact_sheet",
    "init_particles",
    "initialise",
    "mesh_to_gaussians",
    "perturb_gaussians",
    "ply_particles",
    "points_to_gaussians",
    "random_particles",
]
