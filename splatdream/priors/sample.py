"""DDIM sampling from any ``Prior`` and image grids: a quick look at what a prior knows."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from splatdream.priors.base import Prior


@torch.no_grad()
def ddim_sample(
    prior: Prior,
    prompts: Sequence[str],
    *,
    steps: int = 50,
    guidance_scale: float = 5.0,
    negative_prompt: str = "",
    seed: int = 0,
    size: int | None = None,
) -> Tensor:
    """One image per prompt [B, 3, H, W] in [0, 1] (DDIM, eta 0, classifier-free guidance)."""
    from diffusers import DDIMScheduler

    # Any: mypy resolves diffusers' lazy exports to its dummy placeholder classes.
    sched: Any = DDIMScheduler(
        num_train_timesteps=prior.num_train_timesteps,
        beta_schedule="scaled_linear",
        beta_start=0.00085,
        beta_end=0.012,
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
        prediction_type="epsilon",
    )
    sched.set_timesteps(steps)
    unet_config: Any = prior.unet.config  # diffusers' FrozenDict; nn.Module types it Tensor | Module
    side = size or int(unet_config.sample_size)
    channels = int(unet_config.in_channels)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(len(prompts), channels, side, side, generator=gen).to(prior.device, prior.dtype)
    emb = prior.encode_prompts(list(prompts), negative_prompt)
    for t in sched.timesteps:
        tt = torch.full((len(prompts),), int(t), device=prior.device, dtype=torch.long)
        eps = prior.predict_noise(x, tt, emb, guidance_scale=guidance_scale)
        x = sched.step(eps.float(), t, x.float()).prev_sample.to(prior.dtype)
    return prior.decode(x).float().cpu()


def image_grid(images: Tensor, ncols: int | None = None, pad: int = 2, upscale: int = 1) -> np.ndarray:
    """[B, 3, H, W] in [0, 1] -> one uint8 HxWx3 grid (white padding, nearest upscaling)."""
    b, _, h, w = images.shape
    ncols = ncols or min(b, 8)
    nrows = math.ceil(b / ncols)
    imgs = images.clamp(0, 1)
    if upscale > 1:
        imgs = torch.nn.functional.interpolate(imgs, scale_factor=upscale, mode="nearest")
        h, w = h * upscale, w * upscale
    grid = torch.ones(3, nrows * (h + pad) + pad, ncols * (w + pad) + pad)
    for i in range(b):
        r, c = divmod(i, ncols)
        grid[
            :, pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w
        ] = imgs[i]
    return (grid.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


def save_png(array: np.ndarray, path: str | Path) -> None:
    from PIL import Image

    from splatdream.atomic import atomic_write

    with atomic_write(path) as tmp:
        Image.fromarray(array).save(tmp, format="PNG")
