"""The image-plane gradients densification acts on: grad2d percentiles at each refine of a short distillation.

    python benchmarks/densify.py --prior sd-random-small [--steps 7 --refine-every 3 --resolution 512]
    python benchmarks/densify.py --prior tiny [--steps 16 --refine-every 5 --resolution 128]

``sd-random-small`` is redream-sd21-shaped (SD's VAE downsampling x8 so 512 px renders become 64x64
latents, VSD, CFG 7.5, 4 particles) with a small RANDOM-weight UNet, VAE and text encoder: it runs on
a CPU, and its gradients are the surrogate's scale, not Stable Diffusion's. ``tiny`` uses the shipped
TinyPrior. ``grow_frac`` is the fraction of all Gaussians above --grow-grad2d (the ones a refine grows).
Prints one JSON line per refine.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zlib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import torch
from bench_util import smoke

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support: the tiny SD models


def small_random_sd(image_size: int):  # -> StableDiffusionPrior
    """SD-shaped (4 latent channels, VAE x8, cross-attention UNet) with small random weights."""
    from splatdream.priors.base import sd_alphas_cumprod
    from splatdream.priors.sd import StableDiffusionPrior
    from tests.support.tiny_sd import tiny_sd_models

    # cross-attention in the lower-resolution block only (cheap on 64x64 latents); a four-block VAE: x8 as SD's
    unet, vae, text = tiny_sd_models(image_size // 8, cross_attention_first=False, vae_blocks=(8, 16, 32, 32))

    def tokenize(prompts: Sequence[str]) -> torch.Tensor:  # words -> stable ids, padded to 16
        ids = [[1 + zlib.crc32(w.encode()) % 998 for w in p.split()][:16] for p in prompts]
        return torch.tensor([row + [0] * (16 - len(row)) for row in ids])

    return StableDiffusionPrior(
        unet, vae, text, tokenize, sd_alphas_cumprod(), image_size=image_size, name="sd-random-small"
    )


def main() -> None:
    from splatdream.config import PRESETS
    from splatdream.distill.config import DensifyConfig
    from splatdream.distill.schedule import Steps
    from splatdream.distill.trainer import Trainer
    from splatdream.scene import Gaussians

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prior", choices=("sd-random-small", "tiny"), default="sd-random-small")
    ap.add_argument("--steps", type=int, default=smoke(7, 2))
    ap.add_argument("--refine-every", type=int, default=smoke(3, 1))
    ap.add_argument("--resolution", type=int, default=smoke(512, 64))
    ap.add_argument("--particles", type=int, default=smoke(4, 1))
    ap.add_argument("--gaussians", type=int, default=smoke(20_000, 500))
    ap.add_argument("--scale", type=float, default=0.01, help="Gaussian size (50k on a unit object: ~0.008)")
    ap.add_argument("--grow-grad2d", type=float, default=2e-4, help="threshold grow_frac is reported against")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    if args.prior == "tiny":
        from splatdream.priors.config import PriorConfig
        from splatdream.priors.loader import load_prior

        prior = load_prior(PriorConfig(kind="tiny"), "cpu")
    else:
        prior = small_random_sd(args.resolution)
    base = PRESETS["redream-sd21"][1].distill
    cfg = replace(
        base,
        steps=args.steps,
        resolution=Steps((float(args.resolution),)),
        retrieval_reg_every=0,
        densify=DensifyConfig(
            refine_start=0,
            refine_every=args.refine_every,
            refine_stop=1.0,
            reset_every=1.0,
            grow_grad2d=args.grow_grad2d,
        ),
    )
    particles = [
        Gaussians.random_ball(
            args.gaussians,
            radius=0.6,
            scale=args.scale,
            opacity=0.5,
            generator=torch.Generator().manual_seed(i),
        )
        for i in range(args.particles)
    ]
    trainer = Trainer(cfg, prior, "a wooden rocking chair", particles)
    start = time.perf_counter()
    for _ in range(args.steps):
        result = trainer.step()
        if result.refine:
            print(
                json.dumps(
                    {
                        "prior": args.prior,
                        "step": result.step,
                        "resolution": args.resolution,
                        "gaussians": result.num_gaussians,
                        **result.refine,
                        "seconds": round(time.perf_counter() - start, 1),
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
