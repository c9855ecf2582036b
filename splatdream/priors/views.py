"""View-dependent prompts by camera pose, with threestudio's thresholds.

Azimuth 0 is the object's front (camera on +Z, see ``splatdream.scene``); the view word is
"overhead" when the camera is high enough, else front/back within a cone around 0/180 degrees,
else side. The same wording is used to caption the TinyPrior's training renders, so prompts
built here are in its distribution.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from splatdream.priors.config import ViewPromptConfig

VIEW_WORDS = ("front", "side", "back", "overhead")


def view_words(
    azimuth_deg: Tensor | Sequence[float] | float,
    elevation_deg: Tensor | Sequence[float] | float,
    cfg: ViewPromptConfig = ViewPromptConfig(),
) -> list[str]:
    """One of front/side/back/overhead per camera (azimuth in any range; wrapped to [-180, 180))."""
    az = torch.as_tensor(azimuth_deg, dtype=torch.float64).reshape(-1)
    el = torch.as_tensor(elevation_deg, dtype=torch.float64).reshape(-1)
    if az.shape != el.shape:
        az, el = torch.broadcast_tensors(az, el)
    az = torch.remainder(az + 180.0, 360.0) - 180.0
    words = []
    for a, e in zip(az.tolist(), el.tolist(), strict=True):
        if e > cfg.overhead_threshold_deg:
            words.append("overhead")
        elif abs(a) < cfg.front_threshold_deg:
            words.append("front")
        elif abs(a) > 180.0 - cfg.back_threshold_deg:
            words.append("back")
        else:
            words.append("side")
    return words


def with_view(prompt: str, view: str, cfg: ViewPromptConfig = ViewPromptConfig()) -> str:
    """Attach one view word to a prompt in the configured style."""
    if cfg.style == "prefix":
        return cfg.prefix_template.format(view=view) + prompt
    if cfg.style == "suffix":
        return prompt + cfg.suffix_template.format(view=view)
    raise ValueError(f"unknown view prompt style {cfg.style!r}; use 'suffix' or 'prefix'")


def view_prompts(
    prompt: str,
    azimuth_deg: Tensor | Sequence[float] | float,
    elevation_deg: Tensor | Sequence[float] | float,
    cfg: ViewPromptConfig = ViewPromptConfig(),
) -> list[str]:
    """The prompt with a view word per camera, e.g. "a red chair, back view"."""
    return [with_view(prompt, w, cfg) for w in view_words(azimuth_deg, elevation_deg, cfg)]
