"""The rasteriser contract shared by both backends: gsplat 1.5.3's keyword options, declared once."""

from __future__ import annotations

from typing import Literal

from torch import Tensor
from typing_extensions import TypedDict

Backend = Literal["auto", "torch", "gsplat"]
RenderMode = Literal["RGB", "D", "ED", "RGB+D", "RGB+ED"]
RENDER_MODES: tuple[RenderMode, ...] = ("RGB", "D", "ED", "RGB+D", "RGB+ED")


class RasterOptions(TypedDict, total=False):
    """Keyword options of ``gsplat.rasterization`` that SplatDream uses; defaults are gsplat's."""

    sh_degree: int | None
    backgrounds: Tensor | None  # [C, D]
    render_mode: RenderMode
    near_plane: float
    far_plane: float
    eps2d: float
    packed: bool
