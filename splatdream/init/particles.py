"""Particles of the variational distribution: from retrieved meshes, at random, or from a .ply.

ReDream initialises its particles from the K retrieved assets ("initializing the variational
distribution is crucial for the overall geometry"): particle i starts from asset i mod K. A
small optional perturbation keeps particles from the same asset from being identical.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import trimesh

from splatdream.init.config import InitConfig
from splatdream.init.from_mesh import mesh_to_gaussians
from splatdream.scene import Gaussians


def init_particles(
    meshes: Sequence[trimesh.Trimesh | trimesh.PointCloud],
    num_particles: int,
    gaussians_per_particle: int,
    *,
    perturb: float = 0.0,
    seed: int = 0,
    opacity: float = 0.9,
    sh_degree: int = 0,
    tangent_scale: float = 0.7,
    thickness: float = 0.1,
    names: Sequence[str] | None = None,
) -> list[Gaussians]:
    """Particle i sampled from ``meshes[i % len(meshes)]`` with its own seed (so no two are identical)."""
    if not meshes:
        raise ValueError("init_particles needs at least one mesh; retrieval returned nothing?")
    if num_particles < 1:
        raise ValueError(f"num_particles must be at least 1, got {num_particles}")
    out = []
    for i in range(num_particles):
        k = i % len(meshes)
        rng = np.random.default_rng(seed + i)
        name = names[k] if names is not None else f"asset {k}"
        g = mesh_to_gaussians(
            meshes[k],
            gaussians_per_particle,
            opacity=opacity,
            sh_degree=sh_degree,
            tangent_scale=tangent_scale,
            thickness=thickness,
            seed=rng,
            name=name,
        )
        out.append(perturb_gaussians(g, perturb, seed + i))
    return out


def perturb_gaussians(g: Gaussians, perturb: float, seed: int) -> Gaussians:
    """Jitter means by ``perturb`` x the Gaussians' own tangent size (a no-op for perturb=0)."""
    if perturb <= 0:
        return g
    gen = torch.Generator().manual_seed(seed)
    size = g.scales.max(dim=1, keepdim=True).values
    return replace(g, means=g.means + perturb * size * torch.randn(g.means.shape, generator=gen))


def random_particles(
    num_particles: int,
    n: int,
    *,
    radius: float = 0.5,
    scale: float = 0.02,
    opacity: float = 0.2,
    sh_degree: int = 0,
    seed: int = 0,
) -> list[Gaussians]:
    """The no-prior baseline: each particle ``Gaussians.random_ball`` with its own seed."""
    return [
        Gaussians.random_ball(
            n,
            radius=radius,
            scale=scale,
            opacity=opacity,
            sh_degree=sh_degree,
            generator=torch.Generator().manual_seed(seed + i),
        )
        for i in range(num_particles)
    ]


def ply_particles(
    path: str | Path, num_particles: int, *, perturb: float = 0.0, seed: int = 0, sh_degree: int | None = None
) -> list[Gaussians]:
    """Every particle starts from the Gaussians in a user's .ply (perturbed per particle when asked)."""
    from splatdream.io.ply import read_ply

    base = read_ply(path, allow_empty=False)
    if sh_degree is not None:
        base = base.with_sh_degree(sh_degree)
    return [perturb_gaussians(base.clone(), perturb, seed + i) for i in range(num_particles)]


def initialise(
    config: InitConfig,
    num_particles: int,
    meshes: Sequence[trimesh.Trimesh] = (),
    names: Sequence[str] | None = None,
) -> list[Gaussians]:
    """Dispatch on ``config.method``: retrieved meshes, random ball, or the ``config.ply`` file."""
    c = config
    if c.method == "retrieved":
        return init_particles(
            meshes,
            num_particles,
            c.gaussians_per_particle,
            perturb=c.perturb,
            seed=c.seed,
            opacity=c.opacity,
            sh_degree=c.sh_degree,
            tangent_scale=c.tangent_scale,
            thickness=c.thickness,
            names=names,
        )
    if c.method == "random":
        return random_particles(
            num_particles,
            c.gaussians_per_particle,
            radius=c.random_radius,
            scale=c.random_scale,
            opacity=c.random_opacity,
            sh_degree=c.sh_degree,
            seed=c.seed,
        )
    if c.method == "ply":
        if c.ply is None:
            raise ValueError(
                "init method 'ply' needs the file: pass --init.ply PATH (--ply PATH for `splatdream init`)"
            )
        return ply_particles(c.ply, num_particles, perturb=c.perturb, seed=c.seed, sh_degree=c.sh_degree)
    raise ValueError(f"unknown init method {c.method!r}; choose retrieved, random or ply")


def contact_sheet(
    gaussians: Gaussians, path: str | Path, views: int = 4, size: int = 128, background: float = 1.0
) -> np.ndarray:
    """Render ``views`` turntable views side by side and save them as a PNG; returns the image [H, W*views, 3]."""
    from PIL import Image

    from splatdream.atomic import atomic_write
    from splatdream.render import render_gaussians
    from splatdream.scene import orbit_ring
    from splatdream.sheets import views_row

    cams = orbit_ring(views, size, size)
    with torch.no_grad():
        rgb, _, _ = render_gaussians(
            gaussians.detach().to("cpu"), cams, backgrounds=torch.full((views, 3), background)
        )
    sheet = views_row(rgb)
    with atomic_write(path) as tmp:
        Image.fromarray(sheet).save(tmp, format="PNG")
    return sheet


__all__ = [
    "InitConfig",
    "contact_sheet",
    "init_particles",
    "initialise",
    "perturb_gaussians",
    "ply_particles",
    "random_particles",
]
