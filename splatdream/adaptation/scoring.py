"""Image-text view scorers for front alignment: a diffusion classifier on the prior, or CLIP.

Diffusion classifier (Li et al. 2023, "Your diffusion model is secretly a zero-shot classifier"):
the prompt whose conditional noise prediction has the lowest error is the most likely caption.
Every view word sees the *same* noisy inputs, so their errors differ only through the text and
the comparison is low-variance with a few fixed draws.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import torch
from torch import Tensor

from splatdream.priors.base import Prior, TextEmbeddings

ImageTextScorer = Callable[[Tensor, list[str]], Tensor]
"""(images [B, 3, H, W] in [0, 1], texts [W]) -> similarity [B, W]; higher means a better match."""


def fixed_probes(
    shape: Sequence[int], timesteps: Sequence[int], noises_per_timestep: int, seed: int
) -> tuple[Tensor, Tensor]:
    """Deterministic (t [P], noise [P, C, h, w]) probes; P = len(timesteps) * noises_per_timestep."""
    gen = torch.Generator().manual_seed(seed)
    t = torch.tensor(list(timesteps), dtype=torch.long).repeat_interleave(noises_per_timestep)
    noise = torch.randn(len(t), *shape, generator=gen)
    return t, noise


@torch.no_grad()
def denoising_errors(
    prior: Prior,
    x0: Tensor,  # [B, C, h, w] model space
    text: TextEmbeddings,  # W prompts
    t: Tensor,  # [P] probe timesteps
    noise: Tensor,  # [P, C, h, w] probe noises
    chunk: int | None = None,
) -> Tensor:
    """Mean squared noise-prediction error [B, W] of every image under every prompt (no guidance).

    ``chunk`` UNet inputs run per call; by default as many as keep a chunk near 2M model-space values.
    """
    b, w, p = x0.shape[0], len(text), len(t)
    chunk = chunk or max(1, min(512, 2**21 // x0[0].numel()))
    x0 = x0.to(prior.device, prior.dtype)
    noise = noise.to(prior.device, prior.dtype)
    t = t.to(prior.device)
    # Flat index over (image, prompt, probe), evaluated in chunks.
    ii = torch.arange(b).repeat_interleave(w * p)
    ww = torch.arange(w).repeat_interleave(p).repeat(b)
    pp = torch.arange(p).repeat(b * w)
    errs = torch.empty(b * w * p, device=prior.device)
    for s in range(0, len(ii), chunk):
        i, k, j = ii[s : s + chunk], ww[s : s + chunk], pp[s : s + chunk]
        x_t = prior.add_noise(x0[i], noise[j], t[j])
        eps = prior.predict_noise(x_t, t[j], TextEmbeddings(text.cond[k], text.uncond), guidance_scale=1.0)
        errs[s : s + chunk] = (eps.float() - noise[j].float()).pow(2).flatten(1).mean(1)
    return errs.reshape(b, w, p).mean(-1).cpu()


def diffusion_view_scorer(
    prior: Prior, timesteps: Sequence[int], noises_per_timestep: int, seed: int = 0
) -> ImageTextScorer:
    """The prior as a classifier: score = minus the mean denoising error under each prompt."""

    def score(images: Tensor, texts: list[str]) -> Tensor:
        x0 = prior.encode_images(images.to(prior.device, prior.dtype))
        t, noise = fixed_probes(x0.shape[1:], timesteps, noises_per_timestep, seed)
        return -denoising_errors(prior, x0, prior.encode_prompts(texts), t, noise)

    return score


def clip_scorer(embedder) -> ImageTextScorer:  # embedder: splatdream.models.embedders.ClipEmbedder
    """Cosine similarity of CLIP image and text embeddings."""

    def score(images: Tensor, texts: list[str]) -> Tensor:
        arrays = [(im.permute(1, 2, 0).clamp(0, 1) * 255).round().byte().cpu().numpy() for im in images]
        img = torch.from_numpy(embedder.embed_images(arrays))
        txt = torch.from_numpy(embedder.embed_text(list(texts)))
        return img @ txt.T

    return score


def load_clip_scorer(clip_cfg=None, device: str = "cpu") -> ImageTextScorer | None:  # clip_cfg: ClipConfig
    """CLIP as a scorer when its weights are on this machine, else None (the caller falls back)."""
    from splatdream.models.embedders import ClipWeightsUnavailable, load_embedder
    from splatdream.retrieval.config import ClipConfig

    try:
        # the retrieval's cached model when it is the same one: loaded once per process
        return clip_scorer(load_embedder("clip", clip_cfg or ClipConfig(), device))
    except ClipWeightsUnavailable:
        return None


def choose_align_scorer(
    choice: Literal["auto", "clip", "diffusion"],
    clip_cfg=None,
    device: str = "cpu",  # clip_cfg: ClipConfig
) -> tuple[ImageTextScorer | None, str]:
    """(scorer, description) for front alignment; scorer None means the prior as a diffusion classifier.

    'auto' takes CLIP when its weights load, 'clip' insists on it, 'diffusion' never loads it.
    """
    if choice == "diffusion":
        return None, "diffusion classifier on the prior"
    scorer = load_clip_scorer(clip_cfg, device)
    if scorer is not None:
        return scorer, "CLIP"
    if choice == "clip":
        raise FileNotFoundError(
            "front alignment asked for CLIP (--adapt.alignment.scorer clip) but its weights are not on this "
            "machine; pass --retrieval.clip-checkpoint FILE or use --adapt.alignment.scorer diffusion"
        )
    return None, "diffusion classifier on the prior (CLIP weights not on this machine)"
