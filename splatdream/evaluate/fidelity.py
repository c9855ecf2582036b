"""Prompt fidelity: the prior as a diffusion classifier (always, offline) and the CLIP score (with local weights).

The diffusion-classifier score asks the run's own 2D prior whether renders of a particle denoise
better with the prompt than with near-miss captions, and is reported in two parts because they
answer different questions:

- object: the prompt with its object swapped for other categories of the starter library
  ("a blue wooden chair" -> "a blue wooden table", ...) -- is it the right thing? Colour cannot win this;
- attribute: the prompt with its colour or material word swapped for clearly different colours
  ("a blue wooden chair" -> "a red wooden chair", ...) -- does it look the way the prompt says?
  The shape cannot win this.

The headline score weighs the two parts equally (only the object part when the prompt names no
colour); neither part rewards renders that are merely simple to denoise, since every caption sees
the same noisy image.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from splatdream.colours import COLOUR_WORDS, colour_words, target_word, word_distance
from splatdream.cpu_pool import CpuPool
from splatdream.priors.base import Prior, TextEmbeddings
from splatdream.priors.config import ViewPromptConfig
from splatdream.priors.views import view_prompts
from splatdream.render import render_gaussians
from splatdream.scene import Gaussians, orbit_ring

STARTER_MANIFEST = Path(__file__).resolve().parents[1] / "data" / "starter" / "manifest.json"
"""The shipped starter library's manifest (package data: its absence is a broken install, not a fallback)."""


def library_categories() -> list[str]:
    """Object categories of the shipped starter library (the prior was trained on their renders)."""
    entries = json.loads(STARTER_MANIFEST.read_text())
    return sorted({e["category"].replace("_", " ") for e in entries})


def _fix_articles(text: str) -> str:
    text = re.sub(r"\ba (?=[aeiou])", "an ", text)
    return re.sub(r"\ban (?=[^aeiou\s])", "a ", text)


def distractor_captions(prompt: str, n: int, categories: Sequence[str] | None = None) -> tuple[str, ...]:
    """``n`` captions: the prompt with its category swapped for others, evenly spread over the library.

    The prompt's category is its longest category phrase (word-bounded, plural allowed); without
    one, the prompt's last word is swapped.
    """
    cats = list(categories) if categories is not None else library_categories()
    low = prompt.lower()
    matched = None
    for c in sorted(cats, key=len, reverse=True):
        m = re.search(rf"\b{re.escape(c)}s?\b", low)
        if m:
            matched = (c, m.start(), m.end())
            break
    if matched is None:
        words = list(re.finditer(r"[a-z]+", low))
        if not words:
            return tuple(f"a {c}" for c in cats[:n])
        last = words[-1]
        matched = (last.group(0), last.start(), last.end())
    own, start, end = matched
    others = [c for c in cats if c != own]
    if n <= 0 or not others:
        return ()
    step = max(1, len(others) // n)
    picked = others[::step][:n]
    return tuple(_fix_articles(low[:start] + c + low[end:]) for c in picked)


ATTRIBUTE_MIN_DELTA_E = 45.0
"""An attribute distractor's colours must all be at least this far (CIE76) from the prompt word's colours."""


def attribute_distractors(prompt: str, n: int) -> tuple[str, ...]:
    """``n`` captions: the prompt with its colour (or material) word swapped for clearly different colours.

    Only plain colour words replace it, each at least ``ATTRIBUTE_MIN_DELTA_E`` from every reference
    of the prompt's word (so "navy" never stands in for "blue"), spread evenly over the table;
    other colour words of the prompt stay. Empty when the prompt names no colour or material.
    """
    word = target_word(prompt)
    if word is None or n <= 0:
        return ()
    present = {w.word for w in colour_words(prompt)}
    candidates = [
        w
        for w in COLOUR_WORDS
        if w.kind == "colour" and w.word not in present and word_distance(w, word) >= ATTRIBUTE_MIN_DELTA_E
    ]
    step = max(1, len(candidates) // n)
    picked = candidates[::step][:n]
    low = prompt.lower()
    spelled = next(m for m in re.finditer(r"[a-z]+", low) if colour_words(m.group(0)) == [word])
    return tuple(_fix_articles(low[: spelled.start()] + w.word + low[spelled.end() :]) for w in picked)


@torch.no_grad()
def classifier_margins(
    prior: Prior,
    particles: Sequence[Gaussians],
    prompt: str,
    *,
    contrast: tuple[str, ...] = ("",),
    views: int = 8,
    timesteps: tuple[int, ...] = (200, 400, 600),
    noises: int = 2,
    seed: int = 0,
    view_cfg: ViewPromptConfig = ViewPromptConfig(),
    max_batch: int = 72,
    pool: CpuPool | None = None,
) -> list[Tensor]:
    """Per particle [len(contrast)]: the prior's denoising error with ``prompt`` minus its error with each contrast.

    Lower is better. This is a diffusion model's implicit classifier: with the empty contrast it is
    -log p(prompt | image) up to scale; with distractor captions it asks whether the prior
    recognises the prompt's object. Every particle sees the same cameras, backgrounds, timesteps
    and noises (the generator restarts per particle), so a particle and its init are compared on
    exactly the same probes.

    With a ``pool`` the UNet calls run on its one-thread workers (the eval's two cores without
    OpenMP's per-op synchronisation); every row's output is the same bits as in a one-thread call.
    """
    cams = orbit_ring(views, 64, 64)
    assert cams.azimuth_deg is not None and cams.elevation_deg is not None
    if not contrast:
        raise ValueError(
            "the diffusion-classifier score needs at least one contrast caption ('' for unconditional)"
        )

    az, el = cams.azimuth_deg, cams.elevation_deg

    def embed(text: str) -> TextEmbeddings:
        return prior.encode_prompts(view_prompts(text, az, el, view_cfg))

    target = embed(prompt)
    others = [
        TextEmbeddings(target.uncond.expand_as(target.cond), target.uncond) if c == "" else embed(c)
        for c in contrast
    ]
    # Rows of one particle's UNet batch: (probe, caption, view), probes in the order the generator draws
    # their noise. The whole probe set is cut into calls of ``max_batch`` rows: the UNet's output for a
    # row does not depend on which rows share its call (tested), so the margins are those of one call
    # per probe and caption, in far fewer, larger calls (2 threads lose much less to synchronisation).
    cond = torch.cat([target.cond, *(o.cond for o in others)])  # [k * V, L, D]
    k, n_views = 1 + len(others), len(cams)

    def call(x: Tensor, t: Tensor, start: int) -> Tensor:
        rows = TextEmbeddings(_rows_of(cond, start, start + len(x)), target.uncond)
        return prior.predict_noise(x, t, rows, guidance_scale=1.0).float()

    probes, calls = [], []
    for g in particles:
        gen = torch.Generator().manual_seed(seed)
        bg = torch.rand(n_views, 3, generator=torch.Generator().manual_seed(seed + 1))
        g = g.detach().to(prior.device, torch.float32)
        colors, _, _ = render_gaussians(g, cams.to(prior.device), backgrounds=bg.to(prior.device))
        x0 = prior.encode_images(colors.permute(0, 3, 1, 2).clamp(0, 1).to(prior.device, prior.dtype)).float()
        noises_, x_ts, ts = [], [], []
        for t in timesteps:
            for _ in range(noises):
                noise = torch.randn(x0.shape, generator=gen).to(x0)
                tt = torch.full((n_views,), t, device=x0.device)
                noises_.append(noise)
                x_ts.append(prior.add_noise(x0, noise, tt).repeat(k, 1, 1, 1))
                ts.append(tt.repeat(k))
        x_all, t_all = torch.cat(x_ts), torch.cat(ts)  # [P * k * V, ...]
        args = [
            (x_all[i : i + max_batch], t_all[i : i + max_batch], i) for i in range(0, len(x_all), max_batch)
        ]
        # Every scene's calls are queued before any is awaited, so the workers never idle between scenes.
        calls.append([call(*a) for a in args] if pool is None else [pool.submit(call, *a) for a in args])
        probes.append(noises_)
    scores = []
    for noises_, outs in zip(probes, calls, strict=True):
        eps = torch.cat([o if isinstance(o, Tensor) else o.result() for o in outs])
        diffs = []
        for p, noise in enumerate(noises_):
            e = eps[p * k * n_views : (p + 1) * k * n_views]
            err = (e - noise.repeat(k, 1, 1, 1)).square().reshape(k, -1).mean(1)
            diffs.append(err[0] - err[1:])
        scores.append(torch.stack(diffs).mean(0).cpu())
    return scores


def _rows_of(cond: Tensor, start: int, stop: int) -> Tensor:
    """Rows ``start:stop`` of ``cond`` repeated end to end (row i is ``cond[i % len(cond)]``)."""
    idx = torch.arange(start, stop, device=cond.device) % len(cond)
    return cond.index_select(0, idx)


def classifier_scores(
    prior: Prior, particles: Sequence[Gaussians], prompt: str, **kwargs: object
) -> list[float]:
    """Per particle: ``classifier_margins`` averaged over the contrast captions (lower is better)."""
    return [float(m.mean()) for m in classifier_margins(prior, particles, prompt, **kwargs)]  # type: ignore[arg-type]


def prior_score(prior: Prior, particles: Sequence[Gaussians], prompt: str, **kwargs: object) -> float:
    """Mean ``classifier_scores`` over the particles (one number for a set of particles; lower is better)."""
    scores = classifier_scores(prior, particles, prompt, **kwargs)  # type: ignore[arg-type]
    return float(sum(scores) / len(scores))


class ClipScorer:
    """CLIP score: 100 x cosine between the prompt's and each view's CLIP embedding, averaged over views."""

    def __init__(self, model: str, pretrained: str, checkpoint: Path | None, device: str = "cpu") -> None:
        """Load open_clip weights from a checkpoint file or the local cache; raises ``ClipUnavailable``."""
        from splatdream.models.embedders import (
            ClipEmbedder,
            ClipWeightsUnavailable,
            any_open_clip_weights_cached,
        )
        from splatdream.retrieval.config import ClipConfig

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            if checkpoint is None and not any_open_clip_weights_cached():
                # no open_clip weights on disk at all: known without importing open_clip (seconds)
                raise ClipWeightsUnavailable("no open_clip weights in the local caches")
            self.embedder = ClipEmbedder.from_config(ClipConfig(model, pretrained, checkpoint), device)
        except ClipWeightsUnavailable as exc:
            where = (
                f"the checkpoint {checkpoint} does not exist"
                if checkpoint is not None
                else f"open_clip {model}/{pretrained} is not in the local cache"
            )
            raise ClipUnavailable(
                f"CLIP score skipped: {where}. Pass --clip-checkpoint FILE (an open_clip checkpoint, e.g. "
                "open_clip_pytorch_model.bin of laion/CLIP-ViT-L-14-laion2B-s32B-b82K with --clip-model ViT-L-14) or "
                "--clip-model/--clip-pretrained naming weights already in the local cache."
            ) from exc

    def score(self, images: Tensor, prompt: str) -> float:
        """``images`` [C, H, W, 3] in [0, 1] (composited on white)."""
        arr = (images.clamp(0, 1).numpy() * 255).round().astype(np.uint8)
        img = self.embedder.embed_images(list(arr))
        txt = self.embedder.embed_text([prompt])
        return float(100.0 * (img @ txt[0]).mean())


class ClipUnavailable(RuntimeError):
    """CLIP weights are not on this machine; the message says how to supply them."""
