"""Where does cpu-tiny's colour drift come from? One change at a time, on the particles of a finished run.

    python benchmarks/colour_drift.py RUN_DIR --variants default grid0 cfg2 ... [--particles 0 1] [--steps 120]
                                      [--prompt "a chair"] [--out DIR]

Reuses the run's init particles, its prior and its adapter (so retrieval, alignment and adaptation
are not repeated), distils each variant from the same seed, and scores each particle against its init
on the same views as ``splatdream eval`` (fewer of them): Delta E to the prompt's colour word, the mean
colour's shift from the init, the patch measure and speckle. Writes ``OUT/<variant>.png`` (init row
above result row per particle) and prints one Markdown table. ``--prompt`` distils the same particles
under another prompt (a colour-less one, say).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from bench_util import SMOKE, results_path, smoke
from PIL import Image

from splatdream.adaptation.lora import apply_adapter
from splatdream.colours import delta_e, target_word
from splatdream.config import PRESETS, RunConfig
from splatdream.configio import load_yaml
from splatdream.distill.config import DistillConfig
from splatdream.distill.schedule import Steps
from splatdream.distill.trainer import Trainer
from splatdream.evaluate.cleanliness import speckle
from splatdream.evaluate.colour import mean_colour
from splatdream.evaluate.patches import mean_colour_shift, patch_residual
from splatdream.evaluate.views import eval_cameras
from splatdream.pipeline import load_init, particle_captions
from splatdream.priors.loader import load_prior
from splatdream.render.views import render_views


def _set(cfg: Any, path: str, value: Any) -> Any:
    head, _, rest = path.partition(".")
    if not rest:
        return dataclasses.replace(cfg, **{head: value})
    return dataclasses.replace(cfg, **{head: _set(getattr(cfg, head), rest, value)})


BEFORE: dict[str, Any] = {
    "target_text": "prompt",  # first: the edited caption needs the caption reference every step
    "retrieval_reg_every": 0,
    "reference_text": "prompt",
    "guard.enabled": False,
    "colour.affine": True,
    "colour.palette": 0,
    "colour.hold_matching": 0.0,
    "colour.grid_size": 6,
}
"""cpu-tiny before issue 26: VSD with its LoRA particle score, no reference, no guard, one affine map and a 6^3 grid."""

VARIANTS: dict[str, dict[str, Any]] = {
    "default": BEFORE,
    "grid0": BEFORE | {"colour.grid_size": 0},
    "grid2": BEFORE | {"colour.grid_size": 2},
    "cfg1": BEFORE | {"guidance_scale": 1.0},
    "cfg2": BEFORE | {"guidance_scale": 2.0},
    "cfg7.5": BEFORE | {"guidance_scale": 7.5},
    "bg-white": BEFORE | {"background": "white"},
    "bg-black": BEFORE | {"background": "black"},
    "sds": BEFORE | {"loss": "sds"},
    "lora-lr1e-4": BEFORE | {"score_net.lr": 1e-4},
    "tmax0.3": BEFORE | {"t_max": Steps((0.3,))},
    "tmax0.98": BEFORE | {"t_max": Steps((0.98,))},
    "tmin0.2": BEFORE | {"t_min": 0.2},
    "reg-prompt": BEFORE | {"retrieval_reg_every": 1, "reference_text": "prompt"},
    "dds-caption": BEFORE | {"retrieval_reg_every": 1, "reference_text": "caption"},
    "dds-caption-grid0": BEFORE
    | {"retrieval_reg_every": 1, "reference_text": "caption", "colour.grid_size": 0},
    "new-default": {},
    "edited-caption": {"target_text": "edited-caption"},
    "prompt-target": {"target_text": "prompt"},
    "edited-palette4": {"target_text": "edited-caption", "colour.palette": 4},
    "edited-palette4-noaffine": {
        "target_text": "edited-caption",
        "colour.palette": 4,
        "colour.affine": False,
    },
    "edited-palette6-noaffine": {
        "target_text": "edited-caption",
        "colour.palette": 6,
        "colour.affine": False,
    },
    "edited-palette4-hold": {
        "target_text": "edited-caption",
        "colour.palette": 4,
        "colour.affine": False,
        "colour.hold_matching": 15.0,
    },
    "edited-palette6-hold": {
        "target_text": "edited-caption",
        "colour.palette": 6,
        "colour.affine": False,
        "colour.hold_matching": 15.0,
    },
}
"""name -> DistillConfig fields changed from cpu-tiny's (dotted paths); those with BEFORE start from cpu-tiny before issue 26, the rest from today's default.
The guard acts only in the pipeline's export, so it is not part of these numbers."""


def neutral_caption(caption: str, prompt: str) -> str:
    """``caption`` without the colour and material words of eval's table that ``prompt`` does not name."""
    import re

    from splatdream.colours import colour_words

    keep = {w.word for w in colour_words(prompt)}
    out = [t for t in re.findall(r"\S+", caption) if not (cw := colour_words(t)) or cw[0].word in keep]
    return " ".join(out)


def _row(images: torch.Tensor) -> np.ndarray:
    return np.concatenate(list((images.clamp(0, 1).numpy() * 255).round().astype(np.uint8)), axis=1)


def _smoke_run_dir(out: Path) -> Path:
    """What a finished cpu-tiny run leaves for this script (config.yaml, an init particle), at toy size."""
    from splatdream.config import parse_run_config
    from splatdream.configio import dump_yaml
    from splatdream.io.ply import write_ply
    from splatdream.rundir import RunDir
    from splatdream.scene import Gaussians

    run = RunDir(out / "smoke-run")
    run.path.mkdir(parents=True, exist_ok=True)
    cfg = parse_run_config(["--preset", "cpu-tiny", "--num-particles", "1", "--prompt", "a red chair"])
    run.config.write_text(dump_yaml(cfg))
    write_ply(run.init_particle(0), Gaussians.random_ball(300, generator=torch.Generator().manual_seed(0)))
    return run.path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", type=Path, nargs="?" if SMOKE else None)
    ap.add_argument("--variants", nargs="+", default=["default"])
    ap.add_argument("--particles", type=int, nargs="+", default=None)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--prompt", default=None)
    ap.add_argument(
        "--no-adapter", action="store_true", help="distil with the prior as shipped (no LoRA adaptation)"
    )
    ap.add_argument(
        "--neutral-captions",
        action="store_true",
        help="drop from each asset caption the colour and material words the prompt does not name",
    )
    ap.add_argument("--views", type=int, default=12)
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--out", type=Path, default=Path("/tmp/colour_drift"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    if SMOKE:  # a one-particle run folder made here (a random ball), two steps, two small views
        args.out = results_path(Path("colour_drift"))  # a scratch folder
        args.run_dir = args.run_dir or _smoke_run_dir(args.out)
        args.steps, args.views, args.size = smoke(args.steps, 2), smoke(args.views, 2), smoke(args.size, 32)
    cfg = load_yaml(RunConfig, args.run_dir / "config.yaml")
    prompt = args.prompt or cfg.prompt
    word = target_word(prompt)
    idx = args.particles if args.particles is not None else list(range(cfg.num_particles))
    inits = load_init(args.run_dir, cfg.num_particles)
    inits = [inits[i] for i in idx]
    prior0 = load_prior(cfg.prior, "cpu")
    if not args.no_adapter and (args.run_dir / "adapter").exists():
        apply_adapter(prior0, args.run_dir / "adapter", fuse=True)
    cams = eval_cameras(args.views, args.size, (40.0,))
    v0s = [render_views(g, cams, device="cpu") for g in inits]
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"prompt '{prompt}', particles {idx}, colour word {word.word if word else None}")
    print("| variant | particle | dE init | dE | mean shift | patches | speckle x | s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in args.variants:
        dcfg: DistillConfig = PRESETS["cpu-tiny"][1].distill
        for key, value in VARIANTS[name].items():
            dcfg = _set(dcfg, key, value)
        if args.steps is not None:
            dcfg = dataclasses.replace(dcfg, steps=args.steps)
        prior = copy.deepcopy(prior0)
        captions = particle_captions(args.run_dir, cfg.num_particles) or []
        if args.neutral_captions:
            captions = [neutral_caption(c, prompt) for c in captions]
        trainer = Trainer(
            dcfg,
            prior,
            prompt,
            [g.clone() for g in inits],
            references=[g.clone() for g in inits],
            reference_captions=[captions[i] for i in idx] if captions else None,
        )
        t0 = time.perf_counter()
        while trainer.step_count < dcfg.steps:
            trainer.step()
        secs = time.perf_counter() - t0
        rows = []
        for k, (g, v0) in enumerate(zip(trainer.particles(), v0s, strict=True)):
            v1 = render_views(g, cams, device="cpu")
            de0 = delta_e(mean_colour(v0), word) if word else float("nan")
            de1 = delta_e(mean_colour(v1), word) if word else float("nan")
            sp = speckle(v0, v1).ratio
            print(
                f"| {name} | {idx[k]} | {de0:.1f} | {de1:.1f} | {mean_colour_shift(v0, v1):.1f} | "
                f"{patch_residual(v0, v1):.1f} | {sp:.2f} | {secs:.0f} |",
                flush=True,
            )
            pick = torch.linspace(0, args.views, 5)[:-1].long()
            rows += [_row(v0.over(1.0)[pick]), _row(v1.over(1.0)[pick])]
        Image.fromarray(np.concatenate(rows, axis=0)).save(args.out / f"{name}.png")


if __name__ == "__main__":
    main()
