"""Grids of orbit renders of one asset's Gaussians: the material both alignment and adaptation use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from splatdream.render import render_gaussians
from splatdream.scene import Cameras, Gaussians


def grid_cameras(
    azimuths_deg: Sequence[float], elevations_deg: Sequence[float], radius: float, fov_y_deg: float, size: int
) -> Cameras:
    """Every azimuth at every elevation (elevation-major), square renders of side ``size``."""
    az, el = torch.meshgrid(
        torch.tensor(list(azimuths_deg), dtype=torch.float32),
        torch.tensor(list(elevations_deg), dtype=torch.float32),
        indexing="xy",
    )
    az, el = az.reshape(-1), el.reshape(-1)
    az = torch.remainder(az + 180.0, 360.0) - 180.0
    full = torch.ones_like(az)
    return Cameras.from_orbit(az, el, full * radius, full * fov_y_deg, size, size)


@dataclass
class Views:
    """Renders without background: premultiplied colour plus alpha, so any backdrop composites later."""

    rgb: Tensor  # [C, H, W, 3] premultiplied colour (composited over black)
    alpha: Tensor  # [C, H, W, 1]
    azimuth_deg: Tensor  # [C]
    elevation_deg: Tensor  # [C]

    def __len__(self) -> int:
        return self.rgb.shape[0]

    def over(self, backgrounds: Tensor) -> Tensor:
        """Composite over solid colours [C, 3] (or one [3]) -> images [C, 3, H, W] in [0, 1]."""
        bg = backgrounds.to(self.rgb).reshape(-1, 1, 1, 3)
        img = self.rgb + (1.0 - self.alpha) * bg
        return img.clamp(0.0, 1.0).permute(0, 3, 1, 2)

    def select(self, index: Tensor) -> Views:
        return Views(self.rgb[index], self.alpha[index], self.azimuth_deg[index], self.elevation_deg[index])

    @staticmethod
    def cat(items: Sequence[Views]) -> Views:
        return Views(
            *(
                torch.cat([getattr(v, f) for v in items])
                for f in ("rgb", "alpha", "azimuth_deg", "elevation_deg")
            )
        )


@torch.no_grad()
def render_views(gaussians: Gaussians, cameras: Cameras, chunk: int = 8) -> Views:
    """Render ``cameras`` in chunks (bounds the torch backend's memory on CPU)."""
    rgbs, alphas = [], []
    for i in range(0, len(cameras), chunk):
        cams = cameras[i : i + chunk]
        rgb, alpha, _ = render_gaussians(gaussians.detach(), cams)
        rgbs.append(rgb[..., :3].float().cpu())
        alphas.append(alpha.float().cpu())
    assert cameras.azimuth_deg is not None and cameras.elevation_deg is not None, (
        "render_views needs orbit cameras"
    )
    return Views(torch.cat(rgbs), torch.cat(alphas), cameras.azimuth_deg.cpu(), cameras.elevation_deg.cpu())
