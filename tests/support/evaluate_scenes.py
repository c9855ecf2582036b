"""Constructed scenes and run directories for the ``splatdream eval`` tests (no pipeline run needed)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import trimesh

from splatdream.configio import dump_yaml
from splatdream.init.from_mesh import mesh_to_gaussians
from splatdream.io.ply import write_ply
from splatdream.priors.config import PriorConfig
from splatdream.rundir import RunDir
from splatdream.scene import Gaussians, rgb_to_sh

WOOD = (0.59, 0.39, 0.22)


def box_scene(n: int = 2500, rgb: tuple[float, float, float] = WOOD, seed: int = 0) -> Gaussians:
    """An opaque, evenly coloured box (a chunky 'chair seat'), sampled as the pipeline samples meshes."""
    mesh = trimesh.creation.box(extents=(0.9, 0.6, 0.7))
    mesh.visual.face_colors = np.array([*(int(255 * c) for c in rgb), 255], dtype=np.uint8)
    return mesh_to_gaussians(mesh, n, seed=seed)


def speckled(g: Gaussians, std: float = 0.25, seed: int = 1) -> Gaussians:
    """Per-Gaussian colour noise: what distillation's speckle looks like."""
    noise = torch.randn(len(g), 3, generator=torch.Generator().manual_seed(seed)) * std
    sh = g.sh.clone()
    sh[:, 0] = rgb_to_sh((g.rgb + noise).clamp(0, 1))
    return replace(g, sh=sh)


def recoloured(g: Gaussians, rgb: tuple[float, float, float], amount: float = 0.6) -> Gaussians:
    sh = g.sh.clone()
    sh[:, 0] = rgb_to_sh((1 - amount) * g.rgb + amount * torch.tensor(rgb))
    return replace(g, sh=sh)


def punched(g: Gaussians, half_width: float = 0.12) -> Gaussians:
    """A see-through gap: remove every Gaussian with |x| < ``half_width`` (the box falls into two halves)."""
    return g[g.means[:, 0].abs() > half_width]


def with_floaters(g: Gaussians, n: int = 40, seed: int = 2) -> Gaussians:
    """Add ``n`` opaque dark blobs in a shell well outside the box."""
    gen = torch.Generator().manual_seed(seed)
    d = torch.nn.functional.normalize(torch.randn(n, 3, generator=gen), dim=-1)
    blobs = Gaussians.from_activated(
        d * 0.85, torch.full((n, 3), 0.04), torch.full((n,), 0.95), torch.full((n, 3), 0.05)
    )
    return Gaussians.cat([g, blobs])


def write_run(
    run_dir: Path,
    prompt: str,
    inits: list[Gaussians],
    results: list[Gaussians],
    prior: PriorConfig = PriorConfig(kind="tiny"),
) -> Path:
    """A run directory as the pipeline leaves it: config.yaml, particle_<i>.ply, init_particle_<i>.ply."""
    run_dir.mkdir(parents=True, exist_ok=True)
    files = RunDir(run_dir)
    files.config.write_text(dump_yaml({"prompt": prompt, "num_particles": len(results), "prior": prior}))
    for i, (g0, g1) in enumerate(zip(inits, results, strict=True)):
        write_ply(files.init_particle(i), g0)
        write_ply(files.particle(i), g1)
    return run_dir
