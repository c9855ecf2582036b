"""Scores of finished particles: how well the prior thinks they match the prompt, and colour/shape stats.

Used by the end-to-end tests and the ablation (retrieved vs random init); deterministic for a seed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
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
    gen = torch.Generator().manual_seed(seed)

    def embed(text: str) -> TextEmbeddings:
        return prior.encode_prompts(view_prompts(text, cams.azimuth_deg, cams.elevation_deg, view_cfg))

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


def _morph(mask: Tensor, radius: int, dilate: bool) -> Tensor:
    """Binary dilation or erosion of masks [C, H, W] with a square of side 2 * radius + 1."""
    m = mask.float()[:, None]
    k = 2 * radius + 1
    out = F.max_pool2d(m, k, 1, radius) if dilate else -F.max_pool2d(-m, k, 1, radius)
    return out[:, 0] > 0.5


def laplacian_energy(rgb: Tensor) -> Tensor:
    """|Laplacian| of RGB images [C, H, W, 3], averaged over channels -> [C, H, W]."""
    x = rgb.permute(0, 3, 1, 2)
    k = rgb.new_tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]).repeat(3, 1, 1, 1)
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), k, groups=3).abs().mean(1)


@torch.no_grad()
def cleanliness(init: Gaussians, result: Gaussians, cameras: Cameras | None = None) -> dict[str, float]:
    """How much cleaner (or dirtier) ``result`` is than the ``init`` it was distilled from, on the same views.

    - speckle: mean |Laplacian| of RGB inside both silhouettes (eroded by a pixel, so edges do not count),
      result / init; above 1 = more high-frequency noise than the init (lower is cleaner);
    - holes: init-silhouette pixels (alpha > 0.5) where the result's alpha < 0.5, over the init silhouette;
    - floaters: result pixels with alpha > 0.5 outside the init silhouette dilated by 2 px, same denominator;
    - count: Gaussians, result / init.
    """
    cams = cameras or eval_cameras(8, size=128)
    rgb0, a0 = render_views(init, cams)
    rgb1, a1 = render_views(result, cams)
    m0, m1 = a0 > 0.5, a1 > 0.5
    inner = _morph(m0, 1, dilate=False) & _morph(m1, 1, dilate=False)
    if inner.any():
        speckle = float(laplacian_energy(rgb1)[inner].mean() / laplacian_energy(rgb0)[inner].mean().clamp_min(1e-8))
    else:
        speckle = float("inf")
    sil = m0.sum().clamp_min(1)
    return {
        "speckle": speckle,
        "holes": float((m0 & ~m1).sum() / sil),
        "floaters": float((m1 & ~_morph(m0, 2, dilate=True)).sum() / sil),
        "count": len(result) / max(len(init), 1),
    }
