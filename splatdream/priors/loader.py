"""``load_prior``: the one entry point that turns a ``PriorConfig`` into a loaded ``Prior``."""

from __future__ import annotations

import torch

from splatdream.device import resolve_device
from splatdream.priors.base import Prior
from splatdream.priors.config import PriorConfig


def resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """'auto': float16 on CUDA (SD's memory and speed), float32 on the CPU (no fast fp16 kernels)."""
    if dtype == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    resolved = getattr(torch, dtype)
    assert isinstance(resolved, torch.dtype), dtype
    return resolved


def load_prior(cfg: PriorConfig, device: torch.device | str = "auto") -> Prior:
    """Build the configured prior; fails fast with a message naming the fix when weights are missing."""
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    dtype = resolve_dtype(cfg.dtype, dev)
    prior: Prior
    if cfg.kind == "tiny":
        from splatdream.priors.tiny_prior import TinyPrior

        prior = TinyPrior.load(cfg.path, device=dev, dtype=dtype)
    elif cfg.kind == "sd":
        from splatdream.priors.sd import StableDiffusionPrior

        prior = StableDiffusionPrior.load(cfg, device=dev, dtype=dtype)
    else:
        raise ValueError(f"unknown prior kind {cfg.kind!r}; choose 'tiny' or 'sd'")
    prior.view_prompts = cfg.view_prompts
    return prior
