"""Renders of a scene kept without a background: the one ``Views`` type alignment, adaptation,
evaluation and the guard share, and the one ``render_views`` that makes it.

Why one type: alignment and adaptation composite the renders over chosen backgrounds for the prior;
evaluation and the guard measure colour and coverage on them. It lives in ``render/`` because it is
rendering (it needs only the renderer and the scene) and every stage may import it; there were two
(adaptation's and evaluation's, with their own chunk, clamping and alpha shape) until issue 23.

Choices, and why:

- **Premultiplied colour on black, plus alpha**: any backdrop composites later (``over``), and
  colour metrics can divide alpha out (``rgb``), so one render serves every caller.
- **Clamped to [0, 1]**: colour from SH is clamped below at 0 but not above, so premultiplied colour
  may exceed 1; alpha never leaves [0, 1) (it is 1 - transmittance). Every composite is clamped
  anyway, and ``c + (1 - a) * bg`` with ``bg >= 0`` reaches 1 whenever ``c`` does, so clamping first
  changes no composite, and the colour metrics see displayable colour.
- **Alpha [C, H, W], no channel axis**: it is a per-pixel map (coverage, silhouettes, masks); the
  one place it meets colour, compositing, adds the axis.
- **Chunks of 8 cameras** (adaptation's; evaluation used 12): the torch backend's memory grows with
  cameras x pixels x Gaussians, so chunks bound it on CPU. Each camera is rendered from its own
  numbers (gsplat too: its tiles are keyed by camera), so the chunk changes memory and speed, never a
  pixel; tests/test_render_views.py checks that bit for bit on the torch backend.
- **CPU float32 out**: the consumers (metrics, the prior's encoder, sheets) take it from there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from splatdream.render import render_gaussians
from splatdream.scene import Cameras, Gaussians

if TYPE_CHECKING:  # shapes for the reader and mypy only
    from jaxtyping import Bool, Float

CHUNK = 8
"""Cameras rendered at once (memory only: the pixels do not depend on it)."""


@dataclass(frozen=True)
class Views:
    """Renders of one scene from C cameras, without a background."""

    premult: Float[Tensor, "C H W 3"]  # colour composited on black, in [0, 1]
    alpha: Float[Tensor, "C H W"]  # in [0, 1]

    def __len__(self) -> int:
        return self.premult.shape[0]

    @property
    def rgb(self) -> Float[Tensor, "C H W 3"]:
        """Un-premultiplied colour (0 where nothing was drawn): the object's own colour."""
        return (self.premult / self.alpha.clamp_min(1e-6)[..., None]).clamp(0, 1)

    @property
    def silhouette(self) -> Bool[Tensor, "C H W"]:
        """Pixels the object covers (alpha > 0.5)."""
        return self.alpha > 0.5

    def over(self, background: float | Tensor = 1.0) -> Float[Tensor, "C H W 3"]:
        """Composited over a grey level, one colour [3], or one colour per view [C, 3]; in [0, 1]."""
        bg = (
            background
            if isinstance(background, (int, float))
            else background.to(self.premult).reshape(-1, 1, 1, 3)
        )
        return (self.premult + (1 - self.alpha[..., None]) * bg).clamp(0, 1)

    def images(self, background: float | Tensor = 1.0) -> Float[Tensor, "C 3 H W"]:
        """``over`` in the channels-first layout a prior's encoder takes."""
        return self.over(background).permute(0, 3, 1, 2)

    def select(self, index: Tensor) -> Views:
        return Views(self.premult[index], self.alpha[index])

    @staticmethod
    def cat(items: Sequence[Views]) -> Views:
        return Views(torch.cat([v.premult for v in items]), torch.cat([v.alpha for v in items]))


@torch.no_grad()
def render_views(
    gaussians: Gaussians, cameras: Cameras, *, device: torch.device | str | None = None, chunk: int = CHUNK
) -> Views:
    """Render ``gaussians`` from ``cameras`` on ``device`` (None: where the scene is), ``chunk`` cameras
    at a time; returns CPU tensors."""
    g = gaussians.detach() if device is None else gaussians.detach().to(device)
    colours, alphas = [], []
    for i in range(0, len(cameras), chunk):
        cams = cameras[i : i + chunk]
        c, a, _ = render_gaussians(g, cams, backgrounds=torch.zeros(len(cams), 3, device=g.means.device))
        colours.append(c.clamp(0, 1).float().cpu())
        alphas.append(a[..., 0].clamp(0, 1).float().cpu())
    return Views(torch.cat(colours), torch.cat(alphas))
