"""``splatdream prior``: train-tiny, render-data, sample, export-tiny."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from splatdream.priors.config import PriorConfig

USAGE = """usage: splatdream prior SUBCOMMAND [OPTIONS]

subcommands:
  train-tiny   train (or --resume) the TinyPrior in a run directory
  render-data  render a captioned training set (starter library or synthetic shapes) into a run directory
  sample       write a PNG grid of DDIM samples for a prompt
  export-tiny  copy a run's EMA weights + model card into the package (or another folder)
"""


@dataclass(frozen=True)
class RenderDataConfig:
    """Render captioned multiview training data for the TinyPrior."""

    out: Path = Path("/work/tinyprior_run")
    """Run directory; writes data_<source>.npz there."""
    source: Literal["starter", "synthetic", "palette"] = "starter"
    """starter: the library and recolourings among the base colours; synthetic: coloured primitives;
    palette: the library recoloured to the words the base data lacks (teal, navy, golden, ...), for
    fine-tuning a trained prior (``train-tiny --init-from``)."""
    views: int = 24
    """Views per (recoloured) asset."""
    recolourings: int = 3
    """Recoloured copies per asset whose caption names a colour."""
    seed: int = 0
    limit: int | None = None
    """Only the first N assets (quick tests)."""


@dataclass(frozen=True)
class SampleConfig:
    """DDIM samples of a prior for one prompt, as a PNG grid."""

    prompt: str
    out: Path = Path("grid.png")
    n: int = 8
    steps: int = 50
    guidance_scale: float = 5.0
    seed: int = 0
    negative_prompt: str = ""
    prior: PriorConfig = field(default_factory=PriorConfig)
    device: str = "auto"
    """'auto' (CUDA if available), 'cpu', 'cuda', 'cuda:1', ..."""


@dataclass(frozen=True)
class ExportTinyConfig:
    """Copy the latest EMA weights of a training run into an exported TinyPrior folder."""

    run_dir: Path = Path("/work/tinyprior_run")
    out_dir: Path | None = None
    """Destination (the package's splatdream/data/tiny_prior/ by default)."""


def render_data(cfg: RenderDataConfig) -> Path:
    import torch

    from splatdream.priors.tiny_training.data import (
        extended_colours,
        render_assets,
        starter_assets,
        synthetic_assets,
    )

    torch.set_num_threads(1)
    assets = synthetic_assets()[: cfg.limit] if cfg.source == "synthetic" else starter_assets(cfg.limit)
    palette = sorted(extended_colours()) if cfg.source == "palette" else None
    data = render_assets(
        assets, views_per_variant=cfg.views, recolourings=cfg.recolourings, seed=cfg.seed, palette=palette
    )
    path = cfg.out / f"data_{cfg.source}.npz"
    cfg.out.mkdir(parents=True, exist_ok=True)
    data.save(path)
    print(f"{len(data)} renders of {len(assets)} assets -> {path}")
    return path


def sample_main(argv: list[str]) -> int:
    import tyro

    from splatdream.priors.loader import load_prior
    from splatdream.priors.sample import ddim_sample, image_grid, save_png

    cfg = tyro.cli(SampleConfig, args=argv, prog="splatdream prior sample")
    prior = load_prior(cfg.prior, cfg.device)
    images = ddim_sample(
        prior,
        [cfg.prompt] * cfg.n,
        steps=cfg.steps,
        guidance_scale=cfg.guidance_scale,
        negative_prompt=cfg.negative_prompt,
        seed=cfg.seed,
    )
    upscale = max(1, 128 // images.shape[-1])
    save_png(image_grid(images, upscale=upscale), cfg.out)
    print(f"{cfg.n} samples of {cfg.prompt!r} from the {prior.name} prior -> {cfg.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    sub, rest = argv[0], argv[1:]
    if sub == "train-tiny":
        from splatdream.priors.tiny_training.train import main as train_main

        return train_main(rest)
    if sub == "render-data":
        import tyro

        render_data(tyro.cli(RenderDataConfig, args=rest, prog="splatdream prior render-data"))
        return 0
    if sub == "sample":
        return sample_main(rest)
    if sub == "export-tiny":
        import tyro

        from splatdream.priors.tiny_training.export import export_tiny

        cfg = tyro.cli(ExportTinyConfig, args=rest, prog="splatdream prior export-tiny")
        print(f"exported to {export_tiny(cfg.run_dir, cfg.out_dir)}")
        return 0
    print(f"splatdream prior: unknown subcommand {sub!r}\n\n{USAGE}", file=sys.stderr)
    return 2
