"""Score-distillation gradients (SDS and VSD) as stateless functions of noise predictions.

Both turn a 2D score into a gradient on the rendered model-space tensor ``x0``; the particles
receive it through ``surrogate_loss``, whose gradient with respect to ``x0`` is exactly ``grad``.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor


def timestep_weight(alphas_cumprod: Tensor, t: Tensor, ndim: int = 4) -> Tensor:
    """w(t) = 1 - abar_t, ProlificDreamer's and DreamFusion's weighting, shaped to broadcast."""
    w = 1.0 - alphas_cumprod.to(t.device)[t.long()].float()
    return w.reshape((-1,) + (1,) * (ndim - 1))


def sds_grad(eps_prior: Tensor, noise: Tensor, weight: Tensor) -> Tensor:
    """SDS: w(t) (eps_prior - eps); the injected noise stands in for the particle score."""
    return weight * (eps_prior.float() - noise.float())


def vsd_grad(eps_prior: Tensor, eps_particles: Tensor, weight: Tensor) -> Tensor:
    """VSD: w(t) (eps_prior - eps_lora); the LoRA model estimates the particles' own score."""
    return weight * (eps_prior.float() - eps_particles.float())


def surrogate_loss(x0: Tensor, grad: Tensor, batch: int | None = None) -> Tensor:
    """0.5 ||x0 - sg(x0 - grad)||^2 summed, divided by the batch: d loss / d x0 = grad / B.

    ``batch`` is B when ``x0`` is one chunk of a larger batch (default: ``x0``'s own batch).
    """
    target = (x0.float() - grad).detach()
    return 0.5 * (x0.float() - target).square().sum() / (batch or x0.shape[0])


def all_finite(tensors: Iterable[Tensor | None]) -> bool:
    """True when every element of every tensor is finite, with one host sync for the lot (None: skipped)."""
    flags = [torch.isfinite(x).all() for x in tensors if x is not None]
    if not flags:
        return True
    device = flags[0].device
    return bool(torch.stack([f.to(device, non_blocking=True) for f in flags]).all())


def sample_timesteps(
    batch: int, t_min: float, t_max: float, num_train_timesteps: int, generator: torch.Generator | None = None
) -> Tensor:
    """Integer timesteps uniform in [t_min, t_max] * T (fractions, as threestudio's 0.02..0.98)."""
    lo = round(t_min * num_train_timesteps)
    hi = max(round(t_max * num_train_timesteps), lo + 1)
    return torch.randint(lo, hi, (batch,), generator=generator)
