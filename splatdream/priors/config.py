"""Which prior to load, and ``load_prior``: the one entry point guidance code calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from splatdream.priors.base import Prior


@dataclass(frozen=True)
class PriorConfig:
    """The 2D diffusion prior used for score distillation."""

    kind: Literal["tiny", "sd"] = "tiny"
    """'tiny': the shipped offline TinyPrior (CPU-friendly); 'sd': Stable Diffusion via diffusers."""
    path: str | None = None
    """TinyPrior: exported folder (default: the shipped weights). SD: Hugging Face repo id or local
    folder (default stabilityai/stable-diffusion-2-1-base), or 'sd21-random' for the SD 2.1
    architecture with RANDOM weights (timing only)."""
    device: str = "auto"
    """'auto' (CUDA if available), 'cpu', 'cuda', 'cuda:1', ..."""
    dtype: Literal["auto", "float16", "bfloat16", "float32"] = "auto"
    """'auto': float16 on CUDA, float32 on CPU."""
    cpu_offload: bool = False
    """SD only: keep submodels on the CPU and move each to the GPU while it runs (less memory, slower)."""
    allow_download: bool = False
    """SD only: fetch missing weights from the Hugging Face hub (never when HF_HUB_OFFLINE is set)."""
    guidance_scale: float = 7.5
    """Classifier-free guidance scale the guidance code uses with this prior."""
    image_size: int = 512
    """SD only: renders are resized to this before VAE encoding (latents are image_size / 8)."""


def resolve_device(device: str):  # -> torch.device
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def resolve_dtype(dtype: str, device):  # -> torch.dtype
    import torch

    if dtype == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    return getattr(torch, dtype)


def load_prior(cfg: PriorConfig) -> Prior:
    """Build the configured prior; fails fast with a message naming the fix when weights are missing."""
    device = resolve_device(cfg.device)
    dtype = resolve_dtype(cfg.dtype, device)
    if cfg.kind == "tiny":
        from splatdream.priors.tiny import TinyPrior

        return TinyPrior.load(cfg.path, device=device, dtype=dtype)
    if cfg.kind == "sd":
        from splatdream.priors.sd import StableDiffusionPrior

        return StableDiffusionPrior.load(cfg, device=device, dtype=dtype)
    raise ValueError(f"unknown prior kind {cfg.kind!r}; choose 'tiny' or 'sd'")
