"""redream-sd21 at its real sizes on the CPU: nothing breaks, and what it costs.

    nice python benchmarks/full_scale_cpu.py [--steps 2] [--adapt-steps 2] [--threads 2]
    BENCH_SMOKE=1 python benchmarks/full_scale_cpu.py   # CI: the same code with a tiny random SD folder

The redream-sd21 preset with SD 2.1-shaped RANDOM weights (``sd21-random``, float32 on the CPU: the GPU's
float16 halves the weights) at 512 px, 4 particles of 50,000 Gaussians from three starter chairs (no
retrieval index: benchmarks/gpu_check.py's ``starter_retrieve``), ``--adapt-steps`` LoRA adaptation steps
and ``--steps`` VSD distillation steps (step 0 takes ReDream's regulariser, step 1 the LoRA score).
Cut down, with the same per-sample shapes: the front alignment (2 yaws, 1 probe per view word instead of
8 x 24: at the preset's probe count it is hundreds of full-size UNet calls, hours on a CPU), the adaptation
batch (2 instead of 8: at 8 the float32 backward through the UNet took the process past 21 GB and this
24 GB machine killed it) and distillation's max_batch (1 instead of 4: chunks give the same gradients,
tests/test_distill_trainer.py). Records
peak RSS (VmHWM) and seconds per stage, and the tensor shapes each stage sees (renders, latents, UNet
batches, LoRA and Gaussian counts), into benchmarks/results/full_scale_cpu.md. Not a CI test: it needs
~12 GB and tens of minutes. Timings on a shared CPU are not GPU figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import torch  # noqa: E402
from bench_util import SMOKE, markdown_table, rss_kb, write_report  # noqa: E402

SHAPES: dict[str, set[str]] = {}


def record_shapes(name: str, fn: Any) -> Any:
    """Wrap ``fn`` so the shapes of its tensor arguments and result are recorded under ``name``."""

    def shape(x: Any) -> str:
        if isinstance(x, tuple | list) and x and isinstance(x[0], torch.Tensor):
            return shape(x[0])
        return "x".join(map(str, x.shape)) if isinstance(x, torch.Tensor) else type(x).__name__

    def wrapper(*args: Any, **kw: Any) -> Any:
        out = fn(*args, **kw)
        tensors = [shape(a) for a in (*args, *kw.values()) if isinstance(a, torch.Tensor)]
        SHAPES.setdefault(name, set()).add(f"({', '.join(tensors)}) -> {shape(out)}")
        return out

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--adapt-steps", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--adapt-batch",
        type=int,
        default=2,
        help="adaptation batch (the preset's 8 took this 24 GB machine past 21 GB RSS: OOM-killed)",
    )
    parser.add_argument(
        "--max-batch", type=int, default=1, help="renders per VAE/UNet chunk in distillation (preset: 4)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "full_scale_cpu.md")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from gpu_check import starter_retrieve  # type: ignore[import-not-found]
    from rich.console import Console

    from splatdream.config import PRESETS
    from splatdream.configio import merge
    from splatdream.pipeline import Pipeline, run
    from splatdream.priors.base import Prior
    from splatdream.priors.sd import StableDiffusionPrior

    stages: dict[str, tuple[float, float]] = {}  # name -> (seconds, peak RSS in GB at its end)

    def timed(name: str, fn: Any) -> Any:
        def wrapper(*a: Any, **kw: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                took, _ = stages.get(name, (0.0, 0.0))
                stages[name] = (took + time.perf_counter() - t0, rss_kb("VmHWM") / 2**20)

        return wrapper

    Pipeline.retrieve = starter_retrieve  # type: ignore[method-assign]
    for name in ("load_prior", "retrieve", "align", "adapt", "export"):
        setattr(Pipeline, name, timed(name, getattr(Pipeline, name)))
    setattr(Prior, "unet_forward", record_shapes("unet_forward", Prior.unet_forward))  # noqa: B010
    for name in ("encode_images", "encode_prompts"):
        setattr(StableDiffusionPrior, name, record_shapes(name, getattr(StableDiffusionPrior, name)))
    from splatdream.distill import trainer as trainer_mod

    trainer_mod.Trainer.step = timed("distillation", trainer_mod.Trainer.step)  # type: ignore[method-assign]
    trainer_mod.Trainer.render = record_shapes("render (per particle)", trainer_mod.Trainer.render)  # type: ignore[method-assign]

    with tempfile.TemporaryDirectory(prefix="full-scale-") as tmp:
        if SMOKE:
            from tests.support.tiny_sd import write_tiny_sd

            prior, sizes = (
                str(write_tiny_sd(Path(tmp) / "sd")),
                {
                    "num_particles": 2,
                    "init": {"gaussians_per_particle": 300},
                    "adapt": {"resolution": 16, "batch_size": 2, "alignment": {"resolution": 16}},
                    "distill": {"resolution": {"values": [16.0], "milestones": []}},
                },
            )
        else:
            prior, sizes = "sd21-random", {}
        cfg = merge(
            merge(PRESETS["redream-sd21"][1], sizes),
            {
                "prompt": "a wooden chair",
                "out": str(Path(tmp) / "run"),
                "device": "cpu",
                "viewer": {"enabled": False},
                "prior": {"path": prior, "dtype": "float32"},
                "adapt": {
                    "steps": args.adapt_steps,
                    "batch_size": args.adapt_batch,
                    "progress": False,
                    "alignment": {
                        "scorer": "diffusion",
                        "n_yaws": 2,
                        "timesteps": [500],
                        "noises_per_timestep": 1,
                    },
                },
                "distill": {"steps": args.steps, "checkpoint_every": 1000, "max_batch": args.max_batch},
                "output": {"turntable_frames": 0, "formats": []},
            },
        )
        t0 = time.perf_counter()
        run(cfg, Console(stderr=True))
        wall = time.perf_counter() - t0
        records = [json.loads(x) for x in (Path(cfg.out) / "metrics.jsonl").read_text().splitlines()]
    rows = [(f"stage: {k}", f"{s:.1f} s", f"{m:.1f} GB") for k, (s, m) in stages.items()]
    rows += [("whole run (wall)", f"{wall:.1f} s", f"{rss_kb('VmHWM') / 2**20:.1f} GB")]
    rows += [
        (
            f"step {r['step']}",
            f"{r['seconds']:.1f} s",
            f"loss {r['loss']:.3g}, LoRA loss {r['lora_loss']:.3g}, "
            f"{'regulariser' if r.get('regulariser') else 'VSD LoRA score'}, Gaussians {r['num_gaussians']}",
        )
        for r in records
    ]
    rows += [(f"shapes: {k}", "; ".join(sorted(v)), "") for k, v in SHAPES.items()]
    what = (
        "tiny random SD folder (SMOKE: proves the script only)"
        if SMOKE
        else "sd21-random (SD 2.1-shaped RANDOM weights), float32"
    )
    intro = (
        f"`python benchmarks/full_scale_cpu.py --steps {args.steps} --adapt-steps {args.adapt_steps}` on "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores shared with other jobs (load "
        f"average {os.getloadavg()[0]:.1f} at the end), torch {torch.__version__}, {args.threads} threads: "
        f"redream-sd21 with {what}, {cfg.num_particles} particles x {cfg.init.gaussians_per_particle:,} Gaussians, "
        f"{int(cfg.distill.resolution(0, cfg.distill.steps))} px renders, max_batch {cfg.distill.max_batch}, adaptation batch {cfg.adapt.batch_size}. The third column is "
        "the process's peak RSS at the end of the stage (VmHWM; the prior's weights included)."
    )
    write_report(
        args.out,
        "redream-sd21 at full size on the CPU",
        intro,
        markdown_table(("what", "measured", "peak RSS / notes"), rows),
    )


if __name__ == "__main__":
    main()
