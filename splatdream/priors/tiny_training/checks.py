"""Quality checks of a trained TinyPrior: colour control, held-out loss, view words, 2D SDS.

Shared by the tests (on the shipped weights) and the model card (``export_tiny``), so the
numbers in the card are the ones the tests assert on.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from splatdream.priors.base import Prior
from splatdream.priors.sample import ddim_sample
from splatdream.priors.tiny_training.data import RenderedSet
from splatdream.priors.views import with_view


def mean_colour_of_object(images: Tensor) -> Tensor:
    """Mean RGB [3] of pixels that differ from the image's border colour (the object, roughly)."""
    b = images.shape[0]
    border = torch.cat([images[:, :, 0], images[:, :, -1], images[:, :, :, 0], images[:, :, :, -1]], dim=-1)
    bg = border.median(dim=-1).values  # [B, 3]
    fg = (images - bg[:, :, None, None]).abs().sum(1) > 0.15  # [B, H, W]
    w = fg.float().unsqueeze(1)
    per = (images * w).sum((0, 2, 3)) / w.sum().clamp_min(1.0)
    return per if b else torch.zeros(3)


@torch.no_grad()
def colour_control(
    prior: Prior,
    subject: str = "chair",
    colours: tuple[str, str] = ("red", "blue"),
    n: int = 8,
    steps: int = 20,
    guidance_scale: float = 5.0,
    seed: int = 0,
) -> dict[str, Tensor]:
    """Mean object colour [3] of ``n`` DDIM samples per prompt "a <colour> <subject>"."""
    prompts = [f"a {c} {subject}" for c in colours for _ in range(n)]
    images = ddim_sample(prior, prompts, steps=steps, guidance_scale=guidance_scale, seed=seed)
    return {c: mean_colour_of_object(images[i * n : (i + 1) * n]) for i, c in enumerate(colours)}


def _batched_eps_loss(
    prior: Prior, x0: Tensor, hidden: Tensor, t: Tensor, noise: Tensor, bs: int = 64
) -> Tensor:
    """Per-example MSE of the UNet's noise prediction [N] (conditional only, no guidance)."""
    out = []
    for i in range(0, len(x0), bs):
        x_t = prior.add_noise(x0[i : i + bs], noise[i : i + bs], t[i : i + bs])
        pred = prior.unet(x_t, t[i : i + bs], encoder_hidden_states=hidden[i : i + bs]).sample
        out.append((pred - noise[i : i + bs]).pow(2).mean((1, 2, 3)))
    return torch.cat(out)


def heldout_images(data: RenderedSet, background: float = 1.0) -> Tensor:
    """Renders over a solid grey level -> [N, 3, S, S] in [-1, 1] (the model space)."""
    rgb = torch.from_numpy(data.rgb).float() / 255
    a = torch.from_numpy(data.alpha).float()[..., None] / 255
    img = rgb * a + background * (1 - a)
    return img.permute(0, 3, 1, 2) * 2 - 1


@torch.no_grad()
def heldout_loss(prior: Prior, data: RenderedSet, repeats: int = 4, seed: int = 0) -> float:
    """Mean denoising loss on renders with their captions (view word included), t ~ U[0, 1000)."""
    x0 = heldout_images(data).repeat(repeats, 1, 1, 1)
    captions = [with_view(c, v) for c, v in zip(data.captions, data.views, strict=True)] * repeats
    hidden = prior.encode_prompts(captions).cond
    gen = torch.Generator().manual_seed(seed)
    t = torch.randint(0, prior.num_train_timesteps, (len(x0),), generator=gen)
    noise = torch.randn(x0.shape, generator=gen)
    return float(_batched_eps_loss(prior, x0, hidden, t, noise).mean())


@dataclass
class ViewCheck:
    right: float
    """Mean loss with the render's own view word."""
    wrong: float
    """Mean loss with the opposite view word (front <-> back), same noise and timesteps."""
    win_rate: float
    """Fraction of renders whose own view word gave the lower loss."""


@torch.no_grad()
def view_word_check(
    prior: Prior, data: RenderedSet, repeats: int = 8, t_range: tuple[int, int] = (100, 700), seed: int = 0
) -> ViewCheck:
    """Does the right view word ("back view" for back renders) lower the denoising loss?"""
    keep = [i for i, v in enumerate(data.views) if v in ("front", "back")]
    opposite = {"front": "back", "back": "front"}
    x0 = heldout_images(data)[keep].repeat(repeats, 1, 1, 1)
    right = [with_view(data.captions[i], data.views[i]) for i in keep] * repeats
    wrong = [with_view(data.captions[i], opposite[data.views[i]]) for i in keep] * repeats
    gen = torch.Generator().manual_seed(seed)
    t = torch.randint(t_range[0], t_range[1], (len(x0),), generator=gen)
    noise = torch.randn(x0.shape, generator=gen)
    lr = _batched_eps_loss(prior, x0, prior.encode_prompts(right).cond, t, noise)
    lw = _batched_eps_loss(prior, x0, prior.encode_prompts(wrong).cond, t, noise)
    lr_, lw_ = lr.view(repeats, -1).mean(0), lw.view(repeats, -1).mean(0)
    return ViewCheck(float(lr.mean()), float(lw.mean()), float((lr_ < lw_).float().mean()))


def sds_images(
    prior: Prior,
    prompt: str,
    steps: int = 60,
    guidance_scale: float = 20.0,
    lr: float = 0.05,
    seed: int = 0,
    t_range: tuple[int, int] = (200, 980),
) -> Tensor:
    """2D score distillation on 4 free grey images; returns them [4, 3, 32, 32] in [0, 1] (see sds_colour)."""
    gen = torch.Generator().manual_seed(seed)
    image = torch.full((4, 3, 32, 32), 0.5, requires_grad=True)
    opt = torch.optim.Adam([image], lr=lr)
    emb = prior.encode_prompts([prompt])
    for _ in range(steps):
        x0 = prior.encode_images(image.clamp(0, 1))
        t = torch.randint(t_range[0], t_range[1], (4,), generator=gen)
        noise = torch.randn(x0.shape, generator=gen)
        with torch.no_grad():
            eps = prior.predict_noise(prior.add_noise(x0, noise, t), t, emb, guidance_scale=guidance_scale)
            w = (1 - prior.alphas_cumprod[t]).view(-1, 1, 1, 1)
            grad = w * (eps - noise)
        loss = 0.5 * (x0 - (x0 - grad).detach()).pow(2).sum() / 4
        opt.zero_grad()
        loss.backward()
        opt.step()
    return image.detach().clamp(0, 1)


def sds_colour(
    prior: Prior,
    prompt: str,
    steps: int = 60,
    guidance_scale: float = 20.0,
    lr: float = 0.05,
    seed: int = 0,
    t_range: tuple[int, int] = (200, 980),
) -> Tensor:
    """2D score distillation on a free grey image; returns the mean colour [3] of the object it grows.

    The image starts mid-grey; SDS (w(t) = 1 - abar_t, threestudio's weighting) should grow an
    object of the prompt's colour if guidance works at the noise levels SDS samples. The object is
    measured, not the whole image: the TinyPrior paints a contrasting, noisy background (cyan behind
    a red chair, yellow behind a blue one) that would dominate a whole-image mean and defeats a
    border-colour mask, so the mean is taken over the central square (3/8 of the side), where the
    training cameras put the object.
    """
    return object_colour(sds_images(prior, prompt, steps, guidance_scale, lr, seed, t_range))


def object_colour(images: Tensor) -> Tensor:
    """Mean colour [3] of the central square of ``images`` [N, 3, H, W] (see sds_colour)."""
    side = images.shape[-1]
    lo, hi = round(side * 5 / 16), round(side * 11 / 16)
    return images[:, :, lo:hi, lo:hi].mean((0, 2, 3))
