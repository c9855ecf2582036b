"""How the particles start: the init stage's settings (the particle count is the run's)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class InitConfig:
    """How the particles start."""

    method: Literal["retrieved", "random", "ply"] = "retrieved"
    """'retrieved': sample the retrieved meshes (ReDream); 'random': uniform ball (the no-retrieval
    baseline); 'ply': every particle starts from the file given by ``ply``."""
    ply: Path | None = None
    """The .ply every particle starts from when ``method`` is 'ply'."""
    gaussians_per_particle: int = 20_000
    """Surface samples per particle for 'retrieved' and Gaussians per particle for 'random'."""
    perturb: float = 0.0
    """Std of per-particle position noise, in units of each Gaussian's largest scale (0: none; 0.5 is subtle)."""
    opacity: float = 0.9
    """Activated opacity of mesh-initialised Gaussians."""
    sh_degree: int = 0
    """SH bands allocated per Gaussian (colour lives in the DC band at init)."""
    tangent_scale: float = 0.7
    """Disc sigma along the surface, in units of the mean sample spacing sqrt(area / n); 0.7 keeps a single
    surface opaque (~0.94) at any resolution, lower values only help at low resolution."""
    thickness: float = 0.1
    """Disc sigma along the normal, as a fraction of the tangent sigma."""
    random_radius: float = 0.5
    """Ball radius for method='random'."""
    random_scale: float = 0.02
    """Gaussian size for method='random'."""
    random_opacity: float = 0.2
    """Opacity for method='random' (threestudio-3dgs uses 0.2)."""
    seed: int = 0
    """Seed for sampling and perturbations; particle i uses seed + i."""
