"""Front-view alignment (ReDream): find where a retrieved asset's front faces and turn it to azimuth 0.

The asset is rendered at ``n_yaws`` evenly spaced azimuths and every render is scored against
"front", "side" and "back" captions. Each candidate front azimuth predicts which word every
render should get (the prior's own view thresholds); the candidate whose predicted labelling the
scores support best wins. Using all renders, not just "which render looks most frontal", keeps
a back view that happens to resemble a front from winning alone.
"""

from __future__ import annotations

import torch
from torch import Tensor

from splatdream.adaptation.config import AlignConfig
from splatdream.adaptation.multiview import grid_cameras
from splatdream.adaptation.rotate import rotate_gaussians_yaw, wrap_deg
from splatdream.adaptation.scoring import ImageTextScorer, diffusion_view_scorer
from splatdream.priors.base import Prior
from splatdream.priors.config import ViewPromptConfig
from splatdream.priors.views import view_words, with_view
from splatdream.render.views import render_views
from splatdream.scene import Gaussians

_BOUNDARY_JITTER_DEG = 1.0


def candidate_yaws(n: int) -> list[float]:
    """``n`` evenly spaced azimuths from 0, wrapped to [-180, 180)."""
    return [float(wrap_deg(i * 360.0 / n)) for i in range(n)]


def hypothesis_scores(
    sim: Tensor,  # [n, W] similarity of render i to view word w
    render_azimuths: list[float],  # [n]
    elevation_deg: float,
    words: tuple[str, ...],  # [W]
    view_cfg: ViewPromptConfig = ViewPromptConfig(),
) -> Tensor:
    """Support [n] for "the front faces render azimuth k": mean centred similarity of the implied labels.

    Similarities are centred per render (only the contrast between words counts). A render lying
    exactly on a view threshold counts as half of each neighbouring word.
    """
    centred = sim - sim.mean(dim=1, keepdim=True)
    index = {w: i for i, w in enumerate(words)}
    out = torch.zeros(len(render_azimuths))
    for k, front in enumerate(render_azimuths):
        total = 0.0
        for i, az in enumerate(render_azimuths):
            rel = az - front
            labels = {
                view_words(rel + d, elevation_deg, view_cfg)[0]
                for d in (-_BOUNDARY_JITTER_DEG, _BOUNDARY_JITTER_DEG)
            }
            known = [index[w] for w in labels if w in index]
            if known:
                total += float(centred[i, known].mean())
        out[k] = total / len(render_azimuths)
    return out


def align_front(
    prior: Prior | None,
    gaussians: Gaussians,
    caption: str,
    cfg: AlignConfig = AlignConfig(),
    *,
    scorer: ImageTextScorer | None = None,
    view_cfg: ViewPromptConfig = ViewPromptConfig(),
) -> tuple[Gaussians, float, dict[float, float]]:
    """Turn ``gaussians`` so the front of ``caption``'s object faces azimuth 0 (+Z).

    Args:
        prior: the diffusion prior used as a view classifier when no ``scorer`` is given.
        scorer: an image-text scorer such as ``load_clip_scorer()``; it is prompted with
            ``cfg.clip_template`` ("front view of <caption>"), the prior with its own view wording.
        view_cfg: the view thresholds and wording the prior was trained with.

    Returns:
        (rotated Gaussians, yaw_deg, scores): ``yaw_deg`` is the azimuth where the front was found
        (the asset was turned by ``-yaw_deg``); ``scores`` maps each candidate azimuth to its
        support (higher is more likely the front).
    """
    yaws = candidate_yaws(cfg.n_yaws)
    cams = grid_cameras(yaws, [cfg.elevation_deg], cfg.radius, cfg.fov_y_deg, cfg.resolution)
    images = render_views(gaussians, cams).images(torch.tensor(cfg.background))
    if scorer is None:
        if prior is None:
            raise ValueError(
                "align_front needs a prior (diffusion classifier) or a scorer (e.g. load_clip_scorer())"
            )
        scorer = diffusion_view_scorer(prior, cfg.timesteps, cfg.noises_per_timestep, cfg.seed)
        texts = [with_view(caption, w, view_cfg) for w in cfg.view_words]
    else:
        texts = [cfg.clip_template.format(view=w, caption=caption) for w in cfg.view_words]
    sim = scorer(images, texts).float().cpu()
    assert sim.shape == (len(yaws), len(texts)), sim.shape
    support = hypothesis_scores(sim, yaws, cfg.elevation_deg, cfg.view_words, view_cfg)
    best = int(torch.argmax(support))
    yaw = yaws[best]
    rotated = rotate_gaussians_yaw(gaussians, -yaw) if yaw != 0.0 else gaussians
    return rotated, yaw, {y: float(s) for y, s in zip(yaws, support, strict=True)}
