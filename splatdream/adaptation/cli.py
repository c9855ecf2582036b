"""``splatdream adapt``: retrieve k assets, turn them into Gaussians, front-align, LoRA-adapt the prior.

Writes into ``--out``: ``adapter/`` (the LoRA in peft's layout + adapt.json), ``alignment.json``
(chosen yaw and scores per asset), ``aligned.png`` (each asset from the front after alignment) and
``samples.png`` (DDIM samples per view word: top rows before, bottom rows after adaptation).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from splatdream.adaptation.config import TINY_PRIOR_ADAPT, AdaptConfig
from splatdream.numbers import checked
from splatdream.priors.config import PriorConfig
from splatdream.retrieval.config import RetrievalConfig
from splatdream.rundir import RunDir


@dataclass(frozen=True)
class AdaptCliConfig:
    """Front-align the assets retrieved for a prompt and LoRA-adapt the 2D prior on them."""

    prompt: str
    """The text prompt, e.g. 'a red wooden chair'."""
    out: Path
    """Output directory (created)."""
    prior: PriorConfig = field(default_factory=PriorConfig)
    """The 2D prior to adapt."""
    device: str = "auto"
    """'auto' (CUDA if available), 'cpu', 'cuda', 'cuda:1', ..."""
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    """Which library and how many assets (k)."""
    adapt: AdaptConfig = TINY_PRIOR_ADAPT
    """Alignment and LoRA settings (by default the cpu-tiny preset's, made for the default TinyPrior)."""
    gaussians_per_asset: int = 20_000
    """Gaussians sampled on each retrieved mesh."""
    samples_per_view: int = 4
    """DDIM samples per view word in the before/after grid (0 to skip)."""
    sample_steps: int = 30
    """DDIM steps of those samples."""
    seed: int = 0
    """Seed of the Gaussian sampling and of the before/after samples."""


def _say(msg: str) -> None:
    print(msg, file=sys.stderr)


def _samples(prior, prompt: str, cfg: AdaptCliConfig):  # -> Tensor [3 * n, 3, H, W]
    from splatdream.priors.sample import ddim_sample
    from splatdream.priors.views import with_view

    prompts = [
        with_view(prompt, w, prior.view_prompts)
        for w in ("front", "side", "back")
        for _ in range(cfg.samples_per_view)
    ]
    return ddim_sample(prior, prompts, steps=cfg.sample_steps, seed=cfg.seed)


def run(cfg: AdaptCliConfig) -> Path | None:
    """The stage on its own; returns the adapter directory (None when adaptation is disabled)."""
    import torch

    from splatdream.adaptation.align import align_front
    from splatdream.adaptation.lora import apply_adapter
    from splatdream.adaptation.multiview import grid_cameras
    from splatdream.adaptation.scoring import choose_align_scorer
    from splatdream.adaptation.train import adapt_prior
    from splatdream.atomic import atomic_write
    from splatdream.init.from_mesh import mesh_to_gaussians
    from splatdream.priors.loader import load_prior
    from splatdream.priors.sample import image_grid, save_png
    from splatdream.render.views import render_views
    from splatdream.retrieval.library import AssetLibrary

    cfg.out.mkdir(parents=True, exist_ok=True)
    prior = load_prior(cfg.prior, cfg.device)
    lib = AssetLibrary.from_config(cfg.retrieval)
    hits = lib.search(
        cfg.prompt, cfg.retrieval.k, embedder=cfg.retrieval.embedder, n_candidates=cfg.retrieval.n_candidates
    )
    _say(f"retrieved {len(hits)} assets: " + "; ".join(h.caption for h in hits))
    assets = [
        mesh_to_gaussians(lib.load_mesh(h), cfg.gaussians_per_asset, seed=cfg.seed + i, name=h.id)
        for i, h in enumerate(hits)
    ]

    record = []
    if cfg.adapt.align:
        scorer, how = choose_align_scorer(cfg.adapt.alignment.scorer, cfg.retrieval.clip, str(prior.device))
        _say(f"alignment scorer: {how}")
        aligned = []
        for hit, g in zip(hits, assets, strict=True):
            rotated, yaw, scores = align_front(
                prior, g, hit.caption, cfg.adapt.alignment, scorer=scorer, view_cfg=prior.view_prompts
            )
            _say(f"  '{hit.caption}': front found at azimuth {yaw:.0f} deg")
            record.append(
                {
                    "id": hit.id,
                    "caption": hit.caption,
                    "yaw_deg": yaw,
                    "scores": {str(k): v for k, v in scores.items()},
                }
            )
            aligned.append(rotated)
        assets = aligned
        with atomic_write(cfg.out / "alignment.json") as tmp:
            tmp.write_text(json.dumps(record, indent=2))
    cams = grid_cameras([0.0, 90.0, 180.0], [15.0], cfg.adapt.radius, cfg.adapt.fov_y_deg, 128)
    fronts = torch.cat([render_views(g, cams).images(torch.ones(3)) for g in assets])
    save_png(image_grid(fronts, ncols=3), cfg.out / "aligned.png")

    if not cfg.adapt.enabled:
        _say("adaptation disabled (--adapt.enabled False): nothing else to do")
        return None
    before = _samples(prior, cfg.prompt, cfg) if cfg.samples_per_view > 0 else None
    result = adapt_prior(
        prior,
        assets,
        cfg.prompt,
        cfg.adapt,
        RunDir(cfg.out).adapter,
        asset_captions=[h.caption for h in hits],
    )
    _say(
        f"adapted in {result.seconds:.1f} s: loss {result.losses[0]:.4f} -> {result.losses[-1]:.4f}; "
        f"adapter in {result.adapter_dir}"
    )
    if before is not None:
        assert result.adapter_dir is not None  # adaptation is enabled
        apply_adapter(prior, result.adapter_dir, fuse=True)
        after = _samples(prior, cfg.prompt, cfg)
        upscale = max(1, 96 // before.shape[-1])
        save_png(
            image_grid(torch.cat([before, after]), ncols=cfg.samples_per_view * 3, upscale=upscale),
            cfg.out / "samples.png",
        )
        _say(f"before (top) / after (bottom) samples: {cfg.out / 'samples.png'}")
    return result.adapter_dir


def main(argv: list[str] | None = None) -> int:
    import tyro

    cfg = checked(
        tyro.cli(AdaptCliConfig, args=argv, prog="splatdream adapt", config=(tyro.conf.FlagConversionOff,))
    )
    try:
        run(cfg)
    except (FileNotFoundError, ValueError) as exc:
        _say(f"splatdream adapt: {exc}")
        return 2
    return 0
