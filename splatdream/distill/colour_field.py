"""A smooth colour edit of one particle: a global affine colour transform plus a coarse 3D grid of offsets.

Free per-Gaussian colours let every Gaussian integrate its own share of the score's noise: on the
32 px TinyPrior each render pixel covers many Gaussians, the noise lands on each of them differently
from view to view, and the particle ends up speckled (issue 13). Distilling instead into

    rgb_i = A @ rgb0_i + b + grid(mean_i)

(rgb0 the particle's own base colour, A [3, 3] and b [3] one affine per particle, grid a few cells
per side, trilinear at each Gaussian's mean) keeps the retrieved asset's texture and lets the prior
recolour it, globally and by region, but never per Gaussian.
"""

from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from splatdream.distill.config import ColourFieldConfig
from splatdream.scene import Gaussians, rgb_to_sh, sh_to_rgb


class ColourField(nn.Module):
    """rgb = A @ rgb0 + b + trilinear(grid, means); identity at init."""

    def __init__(self, cfg: ColourFieldConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.matrix = nn.Parameter(torch.eye(3))
        self.offset = nn.Parameter(torch.zeros(3))
        r = cfg.grid_size
        self.grid = nn.Parameter(torch.zeros(1, 3, r, r, r)) if r > 0 else None

    def param_groups(self) -> list[dict]:
        groups = [{"params": [self.matrix, self.offset], "lr": self.cfg.lr_affine, "name": "affine"}]
        if self.grid is not None:
            groups.append({"params": [self.grid], "lr": self.cfg.lr_grid, "name": "grid"})
        return groups

    def forward(self, rgb0: Tensor, means: Tensor) -> Tensor:  # [N, 3], [N, 3] -> [N, 3]
        assert rgb0.shape == means.shape and rgb0.shape[-1] == 3, (rgb0.shape, means.shape)
        rgb = rgb0 @ self.matrix.T + self.offset
        if self.grid is not None:
            # grid_sample's last coordinate axis is (x, y, z) -> (W, H, D) of the grid.
            coords = (means / self.cfg.extent).clamp(-1, 1).reshape(1, -1, 1, 1, 3)
            grid = self.grid.to(means)
            rgb = rgb + F.grid_sample(grid, coords, mode="bilinear", align_corners=True).reshape(3, -1).T
        return rgb

    def recolour(self, g: Gaussians) -> Gaussians:
        """``g`` recoloured through the field (DC band only; gradients reach the field and ``g``)."""
        dc = rgb_to_sh(self(sh_to_rgb(g.sh[:, 0]), g.means.detach()))
        return replace(g, sh=torch.cat([dc[:, None], g.sh[:, 1:]], dim=1))
