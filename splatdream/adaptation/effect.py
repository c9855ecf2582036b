"""Low-variance measurements of an adaptation: fixed probes, fixed backgrounds, held-out cameras."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from splatdream.adaptation.config import AdaptConfig
from splatdream.adaptation.scoring import denoising_errors, fixed_probes
from splatdream.adaptation.train import CaptionedViews, adapt_prior, render_training_views, training_captions
from splatdream.cpu_pool import CpuPool, cpu_workers
from splatdream.priors.base import Prior, TextEmbeddings
from splatdream.priors.config import ViewPromptConfig
from splatdream.priors.views import with_view
from splatdream.scene import Gaussians

EVAL_TIMESTEPS = (50, 150, 250, 350, 450, 550, 650, 750, 850, 950)


@dataclass(frozen=True)
class EvalProbes:
    """The fixed randomness of an evaluation."""

    timesteps: tuple[int, ...] = EVAL_TIMESTEPS
    noises_per_timestep: int = 2
    seed: int = 1234


def heldout_grid(
    azimuths_deg: Sequence[float], elevations_deg: Sequence[float]
) -> tuple[list[float], list[float]]:
    """Cameras between the training ones: azimuths shifted by half a step, elevations at midpoints."""
    az = sorted(azimuths_deg)
    step = (360.0 / len(az)) if len(az) > 1 else 90.0
    el = sorted(elevations_deg)
    mids = [(a + b) / 2 for a, b in itertools.pairwise(el)] or [el[0] + 10.0]
    return [a + step / 2 for a in az], mids


def fixed_backgrounds(n: int, seed: int) -> Tensor:
    """[n, 3] deterministic solid colours."""
    return torch.rand(n, 3, generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def denoising_loss(
    prior: Prior, data: CaptionedViews, probes: EvalProbes = EvalProbes(), chunk: int | None = None
) -> float:
    """Mean noise-prediction error of every render under its own caption, over fixed probes."""
    x0 = prior.encode_images(
        data.views.images(fixed_backgrounds(len(data.prompts), probes.seed)).to(prior.device)
    )
    t, noise = fixed_probes(x0.shape[1:], probes.timesteps, probes.noises_per_timestep, probes.seed)
    unique = list(dict.fromkeys(data.prompts))
    emb = prior.encode_prompts(unique)
    total, count = 0.0, 0
    for u, prompt in enumerate(unique):
        sel = [i for i, p in enumerate(data.prompts) if p == prompt]
        err = denoising_errors(
            prior, x0[sel], TextEmbeddings(emb.cond[u : u + 1], emb.uncond), t, noise, chunk
        )
        total += float(err.sum())
        count += len(sel)
    return total / count


@torch.no_grad()
def view_accuracy(
    prior: Prior,
    data: CaptionedViews,
    caption: str | Sequence[str],
    words: Sequence[str] = ("front", "side", "back"),
    view_cfg: ViewPromptConfig = ViewPromptConfig(),
    probes: EvalProbes = EvalProbes(timesteps=(100, 200, 300, 400, 500, 600), noises_per_timestep=4),
) -> float:
    """Diffusion-classifier accuracy: how often the lowest-error view word is the render's true one.

    ``caption`` is the object's caption for every render, or one per asset (indexed by ``data.asset``).
    """
    keep = [i for i, w in enumerate(data.words) if w in words]
    if not keep:
        raise ValueError(f"no render carries one of the view words {list(words)}")
    per_asset = [caption] * (int(data.asset.max()) + 1) if isinstance(caption, str) else list(caption)
    images = data.views.images(fixed_backgrounds(len(data.prompts), probes.seed))
    x0 = prior.encode_images(images.to(prior.device))
    t, noise = fixed_probes(x0.shape[1:], probes.timesteps, probes.noises_per_timestep, probes.seed)
    right = 0
    for a, cap in enumerate(per_asset):
        sel = [i for i in keep if int(data.asset[i]) == a]
        if not sel:
            continue
        emb = prior.encode_prompts([with_view(cap, w, view_cfg) for w in words])
        pred = denoising_errors(prior, x0[sel], emb, t, noise).argmin(dim=1)
        truth = torch.tensor([list(words).index(data.words[i]) for i in sel])
        right += int((pred == truth).sum())
    return right / len(keep)


@dataclass(frozen=True)
class AdaptationEffect:
    """An adaptation's before/after numbers: (held-out loss, others' loss, view accuracy) each."""

    before: tuple[float, float, float]
    after: tuple[float, float, float]
    seconds: float
    losses: list[float]

    def report(self) -> str:
        b, a = self.before, self.after
        return (
            f"held-out {b[0]:.4f}->{a[0]:.4f}, others {b[1]:.4f}->{a[1]:.4f}, "
            f"view accuracy {b[2]:.2f}->{a[2]:.2f}"
        )


def adaptation_effect(
    prior: Prior,
    retrieved: Sequence[Gaussians],
    captions: Sequence[str],
    others: Sequence[tuple[str, Gaussians]],
    prompt: str,
    cfg: AdaptConfig,
    out_dir: str | Path,
    azimuth_stride: int = 1,
    view_probes: EvalProbes = EvalProbes(timesteps=(100, 200, 300, 400, 500, 600), noises_per_timestep=4),
) -> AdaptationEffect:
    """Adapt ``prior`` (fused in place) and measure it before and after on the grid's in-between cameras.

    Held-out: the retrieved assets under their training captions; others: other assets under their
    own captions; view accuracy: the retrieved assets, with the caption words the training used.
    ``azimuth_stride`` keeps every n-th in-between azimuth (cheaper, still all around the asset).
    """
    from splatdream.adaptation.lora import apply_adapter

    az, el = heldout_grid(cfg.azimuths_deg, cfg.elevations_deg)
    az = az[::azimuth_stride]
    heldout = render_training_views(
        retrieved, training_captions(prompt, captions, cfg), cfg, az, el, prior.view_prompts
    )
    other_views = CaptionedViews.cat(
        [render_training_views([g], c, cfg, az, el, prior.view_prompts) for c, g in others]
    )
    view_captions = list(captions) if cfg.captions == "asset" else prompt

    def measure() -> tuple[float, float, float]:
        # The three measures side by side on one-thread workers (on the CPU: one a core, a fifth quicker than
        # two OpenMP threads an op; the numbers are the same bits, tested).
        with CpuPool(cpu_workers(prior.device)) as pool:
            accuracy = pool.submit(
                view_accuracy, prior, heldout, view_captions, view_cfg=prior.view_prompts, probes=view_probes
            )
            held, other = (
                pool.submit(denoising_loss, prior, heldout),
                pool.submit(denoising_loss, prior, other_views),
            )
            return held.result(), other.result(), accuracy.result()

    before = measure()
    result = adapt_prior(prior, list(retrieved), prompt, cfg, out_dir, asset_captions=captions)
    assert result.adapter_dir is not None, "adaptation_effect needs an enabled AdaptConfig"
    apply_adapter(prior, result.adapter_dir, fuse=True)
    return AdaptationEffect(before, measure(), result.seconds, result.losses)
