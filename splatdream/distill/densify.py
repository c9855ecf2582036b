"""Densification for distillation: gsplat's DefaultStrategy, the grad2d statistics it acts on, the opacity reset.

gsplat grows a Gaussian when its image-plane gradient, averaged over the steps since the last refine
(``state["grad2d"] / state["count"]``, in half-image units), exceeds ``grow_grad2d``. Score distillation
makes gradients of a very different scale from the photometric loss gsplat's defaults were tuned on, so
each refine records the distribution it acted on (percentiles into metrics.jsonl) and the fraction that grew.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import Any

import torch
from torch import Tensor

from splatdream.distill.config import DensifyConfig

PERCENTILES = (50, 90, 95, 99)
log = logging.getLogger(__name__)


def make_strategy(cfg: DensifyConfig, steps: int) -> Any:
    """gsplat's DefaultStrategy with our thresholds for a ``steps``-long run (None when densification is off)."""
    if not cfg.enabled:
        return None
    from gsplat.strategy import DefaultStrategy

    return DefaultStrategy(
        prune_opa=cfg.prune_opa,
        grow_grad2d=cfg.grow_grad2d,
        prune_scale3d=cfg.prune_scale3d,
        refine_start_iter=cfg.refine_start,
        refine_stop_iter=cfg.stop_step(steps),
        refine_every=cfg.refine_every,
        reset_every=cfg.reset_period(steps),
    )


def is_refine_step(cfg: DensifyConfig, step: int, steps: int) -> bool:
    """Whether gsplat's DefaultStrategy grows and prunes after ``step`` of ``steps`` (its own condition)."""
    return cfg.enabled and cfg.refine_start < step < cfg.stop_step(steps) and step % cfg.refine_every == 0


def is_reset_step(cfg: DensifyConfig, step: int, steps: int) -> bool:
    return (
        cfg.enabled
        and cfg.opacity_reset
        and 0 < step < cfg.stop_step(steps)
        and step % cfg.reset_period(steps) == 0
    )


def grow_threshold(cfg: DensifyConfig, state: dict[str, Any], n_gaussians: int) -> float:
    """The grad2d a refine grows above: ``grow_grad2d``, or with ``grow_quantile`` the value that lets the top
    ``grow_quantile`` of the Gaussians seen since the last refine grow; never more than ``max_gaussians`` allows.

    Read from the statistics up to the previous step (the refine adds its own step's before acting): one step
    of the ``refine_every`` it averages over.
    """
    mean = mean_grad2d(state)
    room = max(cfg.max_gaussians - n_gaussians, 0)
    if mean is None:
        return cfg.grow_grad2d if room > 0 else float("inf")
    seen = mean[state["count"] > 0]
    if cfg.grow_quantile is None:
        if int((mean > cfg.grow_grad2d).sum()) <= room:
            return cfg.grow_grad2d
        k = room  # the fixed threshold would overshoot the cap: only the largest ``room`` grow
    else:
        k = min(math.ceil(cfg.grow_quantile * len(seen)), room)
    if k <= 0 or len(seen) == 0:
        return float("inf")
    if k >= len(seen):
        return 0.0
    # gsplat grows where grad2d > threshold: the (k+1)-th largest lets the top k through (ties aside)
    return float(torch.topk(seen.float(), k + 1).values[-1])


def mean_grad2d(state: dict[str, Any]) -> Tensor | None:
    """Per-Gaussian image-plane gradient averaged over the steps it was visible since the last refine [N]."""
    if state.get("grad2d") is None or state.get("count") is None:
        return None
    return state["grad2d"] / state["count"].clamp_min(1)


def grad2d_record(grads: list[Tensor], threshold: float | list[float]) -> dict[str, float]:
    """Percentiles of the mean grad2d of the Gaussians seen since the last refine, pooled over particles,
    and ``grow_frac``: the fraction of all Gaussians above ``threshold`` (those the refine duplicates or splits;
    one threshold, or one per particle)."""
    if not grads:
        return {}
    thresholds = threshold if isinstance(threshold, list) else [threshold] * len(grads)
    every = torch.cat([g.detach().float().cpu() for g in grads])
    seen = every[every > 0]
    above = sum(int((g.detach().float().cpu() > t).sum()) for g, t in zip(grads, thresholds, strict=True))
    record = {"grow_frac": above / len(every) if len(every) else 0.0}
    if len(seen):
        q = torch.quantile(seen, torch.tensor([p / 100 for p in PERCENTILES]))
        record |= {f"grad2d_p{p}": float(v) for p, v in zip(PERCENTILES, q, strict=True)}
    return record


def refine_summary(refines: list[dict[str, float]]) -> dict[str, float]:
    """The particles' refines pooled into the step's metrics record: Gaussians before/after (summed), the
    thresholds used (mean, min, max over particles)."""
    thresholds = [r["grow_threshold"] for r in refines]
    return {
        "gaussians_before": sum(r["gaussians_before"] for r in refines),
        "gaussians_after": sum(r["gaussians_after"] for r in refines),
        "grow_threshold": sum(thresholds) / len(thresholds),
        "grow_threshold_min": min(thresholds),
        "grow_threshold_max": max(thresholds),
    }


def describe_refine(record: dict[str, Any]) -> str:
    """One log line for a refine record."""
    return (
        f"{int(record['gaussians_before'])} -> {int(record['gaussians_after'])} Gaussians (all particles), "
        f"grew above grad2d {record['grow_threshold']:.3g}; grad2d p50 {record.get('grad2d_p50', float('nan')):.3g}, "
        f"p99 {record.get('grad2d_p99', float('nan')):.3g}"
    )


def post_backward(
    strategy: Any,
    cfg: DensifyConfig,
    params: torch.nn.ParameterDict,
    optimizers: dict[str, torch.optim.Optimizer],
    state: dict[str, Any],
    step: int,
    meta: dict[str, Any],
    seed: int = 0,
    *,
    packed: bool,
    steps: int,
) -> dict[str, float]:
    """gsplat's refine (no growth past ``max_gaussians``), then our opacity reset on ``reset_every``.

    gsplat draws its split offsets from torch's global RNG, which a fresh process seeds at random:
    the refine runs under ``seed`` (drawn from the trainer's own generator) in a forked RNG, so two
    runs, and a run and its resume, split alike, and nobody else's random stream moves.

    gsplat 1.5.3 never resets opacities: its test ``step % reset_every == 0 & step > 0`` parses as
    ``step % reset_every == (0 & step) > 0``, always false. ``reset_opa`` only lowers opacities above
    2 ``prune_opa`` and zeroes their Adam moments, so running it a second time (a fixed gsplat) changes nothing.

    ``packed`` must be what the render was called with: gsplat reads a packed meta (``radii`` [nnz, 2]) as
    unpacked ([C, N, 2]) with an IndexError, and the other way round with wrong Gaussian ids. A mismatch is
    refused here, before gsplat can misread it.

    Returns what a refine step did (empty otherwise): the grad2d threshold it grew above, and the Gaussians
    before and after.
    """
    if packed != (meta.get("gaussian_ids") is not None):
        raise ValueError(
            f"densify called with packed={packed} on a {'packed' if not packed else 'unpacked'} rasteriser meta; "
            "render and densify must use the same distill.packed"
        )
    refine = is_refine_step(cfg, step, steps)
    before = len(params["means"])
    threshold = grow_threshold(cfg, state, before) if refine else cfg.grow_grad2d
    if len(params["means"]) >= cfg.max_gaussians:
        threshold = float("inf")  # prune only
    if threshold != strategy.grow_grad2d:
        strategy = dataclasses.replace(strategy, grow_grad2d=threshold)
    cuda = params["means"].is_cuda
    with torch.random.fork_rng(devices=[params["means"].device] if cuda else []):
        torch.default_generator.manual_seed(seed)
        if cuda:
            torch.cuda.manual_seed(seed)
        strategy.step_post_backward(params, optimizers, state, step, meta, packed=packed)
    if is_reset_step(cfg, step, steps):
        from gsplat.strategy.ops import reset_opa

        reset_opa(params=params, optimizers=optimizers, state=state, value=cfg.prune_opa * 2.0)
    if not refine:
        return {}
    return {
        "grow_threshold": threshold,
        "gaussians_before": float(before),
        "gaussians_after": float(len(params["means"])),
    }
