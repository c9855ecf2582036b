"""Hand-made, recognisable Gaussian scenes for the viewer's tests, benchmark and screenshot."""

from __future__ import annotations

import math

import torch

from splatdream.scene import Gaussians

SHAPES = ("sphere", "torus", "cube", "helix")


def _points(shape: str, n: int, g: torch.Generator) -> torch.Tensor:
    u = torch.rand(n, generator=g)
    v = torch.rand(n, generator=g)
    if shape == "sphere":
        d = torch.randn(n, 3, generator=g)
        return 0.7 * d / d.norm(dim=-1, keepdim=True).clamp_min(1e-9)
    if shape == "torus":
        a, b = 2 * math.pi * u, 2 * math.pi * v
        r = 0.55 + 0.2 * torch.cos(b)
        return torch.stack([r * torch.cos(a), 0.2 * torch.sin(b), r * torch.sin(a)], dim=-1)
    if shape == "cube":
        p = torch.rand(n, 3, generator=g) * 1.2 - 0.6
        axis = torch.randint(0, 3, (n,), generator=g)
        p[torch.arange(n), axis] = torch.sign(p[torch.arange(n), axis]) * 0.6  # onto the faces
        return p
    if shape == "helix":
        t = 6 * math.pi * u
        jitter = 0.06 * torch.randn(n, 3, generator=g)
        return torch.stack([0.5 * torch.cos(t), 1.4 * u - 0.7, 0.5 * torch.sin(t)], dim=-1) + jitter
    raise ValueError(f"unknown demo shape {shape!r}; pick one of {SHAPES}")


def demo_particle(index: int, n: int = 4000, seed: int = 0, scale: float = 0.03) -> Gaussians:
    """Particle ``index`` of a demo set: a coloured sphere, torus, cube or helix in the unit sphere."""
    g = torch.Generator().manual_seed(seed * 1000 + index)
    shape = SHAPES[index % len(SHAPES)]
    means = _points(shape, n, g)
    rgb = (means - means.min(0).values) / (means.max(0).values - means.min(0).values).clamp_min(1e-6)
    rgb = 0.15 + 0.8 * rgb
    quats = torch.nn.functional.normalize(torch.randn(n, 4, generator=g), dim=-1)
    return Gaussians.from_activated(means, torch.full((n, 3), scale), torch.full((n,), 0.8), rgb, quats=quats)


def demo_particles(count: int, n: int = 4000, seed: int = 0) -> list[Gaussians]:
    return [demo_particle(i, n, seed) for i in range(count)]
