"""A smooth colour edit of one particle: a global affine colour transform plus a coarse 3D grid of offsets.

Free per-Gaussian colours let every Gaussian integrate its own share of the score's noise: on the
32 px TinyPrior each render pixel covers many Gaussians, the noise lands on each of them differently
from view to view, and the particle ends up speckled (issue 13). Distilling instead into

    rgb_i = A @ rgb0_i + b + grid(mean_i) + sum_k w_k(rgb0_i) d_k

(rgb0 the particle's own base colour, A [3, 3] and b [3] one affine per particle, grid a few cells
per side, trilinear at each Gaussian's mean; d_k one offset per colour cluster of the init, w_k a soft
RBF membership of rgb0) keeps the retrieved asset's texture and lets the prior recolour it, globally,
by region or by colour (part), but never per Gaussian.
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F
from scipy.cluster.vq import kmeans2
from torch import Tensor, nn

from splatdream.colours import ColourWord, delta_e
from splatdream.distill.config import ColourFieldConfig
from splatdream.scene import SH_C0, Gaussians, sh_to_rgb


class ColourField(nn.Module):
    """rgb = A @ rgb0 + b + trilinear(grid, means) + memberships(rgb0) @ palette offsets; identity at init."""

    palette: Tensor  # [K, 3] buffer: the init's colour centres
    palette_free: Tensor  # [K] buffer: 0 for a cluster held at its colour, else 1

    def __init__(
        self, cfg: ColourFieldConfig, base_rgb: Tensor | None = None, word: ColourWord | None = None
    ) -> None:
        super().__init__()
        self.cfg = cfg
        self.matrix = nn.Parameter(torch.eye(3), requires_grad=cfg.affine)
        self.offset = nn.Parameter(torch.zeros(3), requires_grad=cfg.affine)
        r = cfg.grid_size
        self.grid = nn.Parameter(torch.zeros(1, 3, r, r, r)) if r > 0 else None
        self.palette_offsets: nn.Parameter | None = None
        if cfg.palette > 0:
            if base_rgb is None:
                raise ValueError("a colour palette needs the particle's init colours")
            palette = palette_of(base_rgb, cfg.palette)
            self.register_buffer("palette", palette)
            self.palette_offsets = nn.Parameter(torch.zeros(len(palette), 3))
            held = [
                word is not None and cfg.hold_matching > 0 and delta_e(c, word) <= cfg.hold_matching
                for c in palette
            ]
            self.register_buffer("palette_free", torch.tensor([0.0 if h else 1.0 for h in held]))

    def param_groups(self) -> list[dict]:
        groups = []
        if self.cfg.affine:
            groups.append({"params": [self.matrix, self.offset], "lr": self.cfg.lr_affine, "name": "affine"})
        if self.grid is not None:
            groups.append({"params": [self.grid], "lr": self.cfg.lr_grid, "name": "grid"})
        if self.palette_offsets is not None:
            groups.append({"params": [self.palette_offsets], "lr": self.cfg.lr_palette, "name": "palette"})
        return groups

    def memberships(self, rgb0: Tensor) -> Tensor:  # [N, 3] -> [N, K], rows sum to 1
        """Soft cluster membership of each base colour (an RBF of its RGB distance to each centre)."""
        d2 = torch.cdist(rgb0, self.palette.to(rgb0)).square()
        return torch.softmax(-d2 / (2 * self.cfg.palette_softness**2), dim=-1)

    def forward(self, rgb0: Tensor, means: Tensor) -> Tensor:  # [N, 3], [N, 3] -> [N, 3]
        assert rgb0.shape == means.shape and rgb0.shape[-1] == 3, (rgb0.shape, means.shape)
        rgb = rgb0 @ self.matrix.T + self.offset
        if self.grid is not None:
            # grid_sample's last coordinate axis is (x, y, z) -> (W, H, D) of the grid.
            coords = (means / self.cfg.extent).clamp(-1, 1).reshape(1, -1, 1, 1, 3)
            grid = self.grid.to(means)
            rgb = rgb + F.grid_sample(grid, coords, mode="bilinear", align_corners=True).reshape(3, -1).T
        if self.palette_offsets is not None:
            free = self.palette_offsets * self.palette_free[:, None]  # held clusters keep their colour
            rgb = rgb + self.memberships(rgb0.detach()) @ free
        return rgb

    def recolour(self, g: Gaussians) -> Gaussians:
        """``g`` recoloured through the field (DC band only; gradients reach the field and ``g``).

        The field's colour change is added in SH units (the DC band is linear in colour), so a field that
        changes nothing gives back ``g``'s own coefficients bit for bit, not a float round trip of them: a
        particle the prompt left alone is written out identical to its init (and eval scores it once).
        """
        rgb0 = sh_to_rgb(g.sh[:, 0])
        dc = g.sh[:, 0] + (self(rgb0, g.means.detach()) - rgb0) / SH_C0
        return replace(g, sh=torch.cat([dc[:, None], g.sh[:, 1:]], dim=1))


def palette_of(rgb: Tensor, k: int) -> Tensor:
    """``k`` colour centres of ``rgb`` [N, 3] by k-means (fixed seed: a run and its resume agree), fewer when
    the colours have fewer distinct values; sorted by luminance so the order does not depend on the seed."""
    data = rgb.detach().float().cpu().numpy().astype(np.float64)
    k = min(k, len(np.unique(data.round(3), axis=0)))
    with warnings.catch_warnings():  # an empty cluster is dropped below
        warnings.simplefilter("ignore")
        centres, labels = kmeans2(data, k, minit="++", seed=0)
    centres = centres[np.unique(labels)]  # an empty cluster has no colour to own
    order = np.argsort(centres @ np.array([0.2126, 0.7152, 0.0722]))
    return torch.from_numpy(centres[order]).float()
