"""Scores of finished particles: how well the prior thinks they match the prompt, and colour/shape stats.

Used by the end-to-end tests and the ablation (retrieved vs random init); deterministic for a seed.
"""

from __future__ import annotations

import torch
from torch import Tensor

from splatdream.priors.base import Prior, TextEmbeddings
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
    contrast: tuple[str, ...] = ("",),
    views: int = 8,
    timesteps: tuple[int, ...] = (200, 400, 600),
    noises: int = 2,
    seed: int = 0,
    view_cfg: ViewPromptConfig = ViewPromptConfig(),
) -> float:
    """How much better the prior denoises renders of the particles with ``prompt`` than with ``contrast``.

    Mean denoising error with the (view-dependent) prompt minus the mean error with the contrast
    prompts, on the same noisy renders; lower is better. This is a diffusion model's implicit
    classifier: with the empty contrast it is -log p(prompt | image) up to scale; with other
    objects of the same colour ("a blue car", "a blue tree", ...) it asks whether the prior
    recognises the prompt's object. The raw error alone mostly measures how simple an image is (a
    smooth blob denoises well whatever the prompt says). Fixed cameras, timesteps and noises, so
    two sets of particles are compared on exactly the same probes.
    """
    cams = eval_cameras(views, size=64)
    az, el = cams.azimuth_deg, cams.elevation_deg
    assert az is not None and el is not None  # orbit cameras
    gen = torch.Generator().manual_seed(seed)

    def embed(text: str) -> TextEmbeddings:
        return prior.encode_prompts(view_prompts(text, az, el, view_cfg))

    target = embed(prompt)
    others = [TextEmbeddings(target.uncond.expand_as(target.cond), target.uncond) if c == "" else embed(c)
              for c in contrast]
    diffs = []
    for g in particles:
        bg = torch.rand(len(cams), 3, generator=torch.Generator().manual_seed(seed + 1))
        colors, _, _ = render_gaussians(g.detach(), cams, backgrounds=bg)
        x0 = prior.encode_images(colors.permute(0, 3, 1, 2).clamp(0, 1).to(prior.device, prior.dtype)).float()
        for t in timesteps:
            for _ in range(noises):
                noise = torch.randn(x0.shape, generator=gen).to(x0)
                tt = torch.full((len(cams),), t, device=x0.device)
                x_t = prior.add_noise(x0, noise, tt)
                errors = [float((prior.predict_noise(x_t, tt, e, guidance_scale=1.0).float() - noise).square().mean())
                          for e in (target, *others)]
                diffs.append(errors[0] - sum(errors[1:]) / len(others))
    return float(sum(diffs) / len(diffs))
