"""Config types of the export stage (kept apart so configs and ``--help`` never import torch)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ExportFormat = Literal["splat", "ply-compressed", "spz", "glb", "gltf-splats"]
"""Formats ``splatdream export`` and a run's ``--output.formats`` write."""
"""The formats ``splatdream export`` and ``--output.formats`` write besides the native .ply."""


@dataclass(frozen=True)
class MeshOptions:
    """How the mesh is extracted from the splats."""

    resolution: int = 128
    """Voxels along the longest side of the scene's bounding box."""
    level: float = 0.5
    """Opacity level of the surface (0..1)."""
    max_faces: int = 60_000
    """Decimate to at most this many triangles (0 keeps marching cubes' output)."""
    fill_interior: bool = True
    """Fill enclosed cavities so closed objects get a single outer surface."""
    min_opacity: float = 0.02
    """Gaussians fainter than this are ignored (floaters would otherwise grow the bounding box)."""
