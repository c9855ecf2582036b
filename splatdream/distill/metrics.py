"""Scores of finished particles: how well the prior thinks they match the prompt, and colour/shape stats.

Used by the end-to-end tests and the ablation (retrieved vs random init); deterministic for a seed.
"""

from __future__ import annotations

import torch
from torch import Tensor

from splatdream.priors.base import Prior
from splatdream.priors.views import ViewPromptConfig, view_prompts
from splatdream.render import render_gaussians
from splatdream.scene import Cameras, Gaussians, orbit_ring


def eval_cameras(n: int = 8, size: int = 64, elevation_deg: float = 15.0, radius: float = 2.8) -> Cameras:
    return orbit_ring(n, size, size, elevation_deg=elevation_deg, radius=radius, fov_y_deg=45.0)


@torch.no_grad()
def render_views(g: Gaussians, cameras: Cameras, background: float = 1.0) -> tuple[Tensor, Tensor]:
    """RGB [C, H, W, 3] and alpha [C, H, W] of ``g`` on a solid background."""
    bg = torch.full((len(cameras), 3), background)
    colors, alphas, _ = render_gaussians(g.detach(), cameras, backgrounds=bg, backend="auto")
    return colors.clamp(0, 1), alphas[..., 0]


def mean_object_colour(g: Gaussians, cameras: Cameras | None = None) -> Tensor:
    """Mean RGB [3] over the pixels the object covers (alpha > 0.5) in the evaluation views."""
    rgb, alpha = render_views(g, cameras or eval_cameras())
    mask = alpha > 0.5
    if not mask.any():
        return torch.full((3,), float("nan"))
    return rgb[mask].mean(0)


def silhouette_iou(a: Gaussians, b: Gaussians, cameras: Cameras | None = None) -> float:
    cams = cameras or eval_cameras()
    ma = render_views(a, cams)[1] > 0.5
    mb = render_views(b, cams)[1] > 0.5
    union = (ma | mb).sum()
    return float((ma & mb).sum() / union) if union > 0 else 0.0


@torch.no_grad()
def prior_score(
    prior: Prior,
    particles: list[Gaussians],
    prompt: str,
    *,
    views: int = 8,
    timesteps: tuple[int, ...] = (200, 400, 600),
    noises: int = 2,
    seed: int = 0,
    view_cfg: ViewPromptConfig = ViewPromptConfig(),
) -> float:
    """Mean denoising error of the prior, conditioned on the view-dependent prompt, on renders of the particles.

    Lower is better: the prior finds the renders more typical of the prompt. Fixed cameras, timesteps
    and noises, so two sets of particles are compared on exactly the same probes.
    """
    cams = eval_cameras(views, size=64)
    gen = torch.Generator().manual_seed(seed)
    emb = prior.encode_prompts(view_prompts(prompt, cams.azimuth_deg, cams.elevation_deg, view_cfg))
    errors = []
    for g in particles:
        bg = torch.rand(len(cams), 3, generator=torch.Generator().manual_seed(seed + 1))
        colors, _, _ = render_gaussians(g.detach(), cams, backgrounds=bg)
        x0 = prior.encode_images(colors.permute(0, 3, 1, 2).clamp(0, 1).to(prior.device, prior.dtype)).float()
        for t in timesteps:
            for _ in range(noises):
                noise = torch.randn(x0.shape, generator=gen).to(x0)
                tt = torch.full((len(cams),), t, device=x0.device)
                eps = prior.predict_noise(prior.add_noise(x0, noise, tt), tt, emb, guidance_scale=1.0)
                errors.append(float((eps.float() - noise).square().mean()))
    return float(sum(errors) / len(errors))
