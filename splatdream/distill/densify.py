"""Densification for distillation: gsplat's DefaultStrategy, the grad2d statistics it acts on, the opacity reset.

gsplat grows a Gaussian when its image-plane gradient, averaged over the steps since the last refine
(``state["grad2d"] / state["count"]``, in half-image units), exceeds ``grow_grad2d``. Score distillation
makes gradients of a very different scale from the photometric loss gsplat's defaults were tuned on, so
each refine records the distribution it acted on (percentiles into metrics.jsonl) and the fraction that grew.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import Tensor

from splatdream.distill.config import DensifyConfig

PERCENTILES = (50, 90, 95, 99)


def make_strategy(cfg: DensifyConfig, steps: int) -> Any:
    """gsplat's DefaultStrategy with our thresholds for a ``steps``-long run (None when densification is off)."""
    if not cfg.enabled:
        return None
    from gsplat.strategy import DefaultStrategy

    return DefaultStrategy(
        prune_opa=cfg.prune_opa, grow_grad2d=cfg.grow_grad2d, prune_scale3d=cfg.prune_scale3d,
        refine_start_iter=cfg.refine_start, refine_stop_iter=cfg.stop_step(steps),
        refine_every=cfg.refine_every, reset_every=cfg.reset_period(steps),
    )


def is_refine_step(cfg: DensifyConfig, step: int, steps: int) -> bool:
    """Whether gsplat's DefaultStrategy grows and prunes after ``step`` of ``steps`` (its own condition)."""
    return cfg.enabled and cfg.refine_start < step < cfg.stop_step(steps) and step % cfg.refine_every == 0


def is_reset_step(cfg: DensifyConfig, step: int, steps: int) -> bool:
    return cfg.enabled and 0 < step < cfg.stop_step(steps) and step % cfg.reset_period(steps) == 0


def mean_grad2d(state: dict[str, Any]) -> Tensor | None:
    """Per-Gaussian image-plane gradient averaged over the steps it was visible since the last refine [N]."""
    if state.get("grad2d") is None or state.get("count") is None:
        return None
    return state["grad2d"] / state["count"].clamp_min(1)


def grad2d_record(grads: list[Tensor], threshold: float) -> dict[str, float]:
    """Percentiles of the mean grad2d of the Gaussians seen since the last refine, pooled over particles,
    and ``grow_frac``: the fraction of all Gaussians above ``threshold`` (those the refine duplicates or splits)."""
    if not grads:
        return {}
    every = torch.cat([g.detach().float().cpu() for g in grads])
    seen = every[every > 0]
    record = {"grow_frac": float((every > threshold).float().mean()) if len(every) else 0.0}
    if len(seen):
        q = torch.quantile(seen, torch.tensor([p / 100 for p in PERCENTILES]))
        record |= {f"grad2d_p{p}": float(v) for p, v in zip(PERCENTILES, q, strict=True)}
    return record


def post_backward(
    strategy: Any, cfg: DensifyConfig, params: torch.nn.ParameterDict, optimizers: dict[str, torch.optim.Optimizer],
    state: dict[str, Any], step: int, meta: dict[str, Any], seed: int = 0, *, steps: int,
) -> None:
    """gsplat's refine (no growth past ``max_gaussians``), then our opacity reset on ``reset_every``.

    gsplat draws its split offsets from torch's global RNG, which a fresh process seeds at random:
    the refine runs under ``seed`` (drawn from the trainer's own generator) in a forked RNG, so two
    runs, and a run and its resume, split alike, and nobody else's random stream moves.

    gsplat 1.5.3 never resets opacities: its test ``step % reset_every == 0 & step > 0`` parses as
    ``step % reset_every == (0 & step) > 0``, always false. ``reset_opa`` only lowers opacities above
    2 ``prune_opa`` and zeroes their Adam moments, so running it a second time (a fixed gsplat) changes nothing.
    """
    if len(params["means"]) >= cfg.max_gaussians:
        strategy = dataclasses.replace(strategy, grow_grad2d=float("inf"))  # prune only
    cuda = params["means"].is_cuda
    with torch.random.fork_rng(devices=[params["means"].device] if cuda else []):
        torch.default_generator.manual_seed(seed)
        if cuda:
            torch.cuda.manual_seed(seed)
        strategy.step_post_backward(params, optimizers, state, step, meta)
    if is_reset_step(cfg, step, steps):
        from gsplat.strategy.ops import reset_opa

        reset_opa(params=params, optimizers=optimizers, state=state, value=cfg.prune_opa * 2.0)
