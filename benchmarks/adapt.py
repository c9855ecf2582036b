"""Adaptation stage cost: front alignment and the default LoRA adaptation on the TinyPrior (CPU), and
on CUDA the same with Stable Diffusion 2.1 (sd21-random: RANDOM weights, timing only).

    python benchmarks/adapt.py [--threads 2] [--assets 3] [--out benchmarks/results/adapt.md]

The claim: the default (cpu-tiny) adaptation on the TinyPrior, alignment included, finishes in under
60 s on 2 CPU cores.
Writes a Markdown table; CUDA rows are skipped without a GPU.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch
from bench_util import load_tiny_prior, markdown_table, smoke, write_report

CPU_GAUSSIANS = smoke(6000, 500)
"""Gaussians per asset, as the cpu-tiny preset initialises them."""


def _assets(n: int, gaussians: int, device: str = "cpu"):  # -> list[(caption, Gaussians)]
    from splatdream.init.from_mesh import mesh_to_gaussians
    from splatdream.retrieval.meshes import load_mesh
    from splatdream.starter.build import load_manifest

    chairs = [e for e in load_manifest() if e.category in ("chair", "armchair", "sofa")][:n]
    return [
        (e.caption, mesh_to_gaussians(load_mesh(e.path), gaussians, seed=i).to(device))
        for i, e in enumerate(chairs)
    ]


def _stage_rows(prior, label: str, device_name: str, cfg, assets, prompt: str) -> list[tuple[str, ...]]:
    from splatdream.adaptation.align import align_front
    from splatdream.adaptation.train import adapt_prior

    sync = torch.cuda.synchronize if prior.device.type == "cuda" else (lambda: None)
    start = time.perf_counter()
    aligned = []
    for caption, g in assets:
        aligned.append(align_front(prior, g, caption, cfg.alignment, view_cfg=prior.view_prompts)[0])
    sync()
    t_align = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        result = adapt_prior(
            prior,
            aligned,
            prompt,
            cfg,
            Path(tmp) / "adapter",
            asset_captions=[caption for caption, _ in assets],
        )
    sync()
    n = len(assets)
    return [
        (
            f"{label}: front alignment of {n} assets ({cfg.alignment.n_yaws} yaws, diffusion classifier, "
            f"{len(cfg.alignment.timesteps) * cfg.alignment.noises_per_timestep} probes x 3 view words)",
            device_name,
            f"{t_align:.1f} s",
            f"{t_align / n:.1f} s/asset",
        ),
        (
            f"{label}: LoRA adaptation, {cfg.steps} steps, batch {cfg.batch_size}, rank {cfg.rank}, "
            f"{result.n_views} renders at {cfg.resolution}px",
            device_name,
            f"{result.seconds:.1f} s",
            f"{result.seconds / cfg.steps * 1000:.0f} ms/step (incl. renders)",
        ),
        (
            f"{label}: the whole stage (alignment + adaptation)",
            device_name,
            f"{t_align + result.seconds:.1f} s",
            "-",
        ),
    ]


def tiny_rows(threads: int, n_assets: int) -> list[tuple[str, ...]]:
    from splatdream.config import PRESETS

    torch.set_num_threads(threads)
    prior, shipped = load_tiny_prior()
    label = (
        "TinyPrior (shipped weights)"
        if shipped
        else "TinyPrior (UNTRAINED: no shipped weights yet; same cost)"
    )
    cfg = replace(PRESETS["cpu-tiny"][1].adapt, enabled=True, progress=False)
    cfg = smoke(
        cfg,
        replace(
            cfg,
            steps=2,
            alignment=replace(
                cfg.alignment, n_yaws=2, timesteps=cfg.alignment.timesteps[:1], noises_per_timestep=1
            ),
        ),
    )
    return _stage_rows(
        prior, label, f"CPU, {threads} thread(s)", cfg, _assets(n_assets, CPU_GAUSSIANS), "a chair"
    )


def sd_rows(n_assets: int) -> list[tuple[str, ...]]:
    if not torch.cuda.is_available():
        return [("SD 2.1 (sd21-random), alignment + adaptation at 512px", "CUDA", "skipped: no GPU", "-")]
    from splatdream.config import PRESETS
    from splatdream.priors.config import PriorConfig
    from splatdream.priors.loader import load_prior

    prior = load_prior(PriorConfig(kind="sd", path="sd21-random", dtype="float16"), "cuda")
    cfg = replace(PRESETS["redream-sd21"][1].adapt, progress=False)
    cfg = replace(cfg, alignment=replace(cfg.alignment, resolution=512))
    torch.cuda.reset_peak_memory_stats()
    rows = _stage_rows(
        prior,
        "SD 2.1 (sd21-random, RANDOM weights), fp16 UNet, fp32 LoRA",
        torch.cuda.get_device_name(),
        cfg,
        _assets(n_assets, 50_000, "cuda"),
        "a chair",
    )
    peak = torch.cuda.max_memory_allocated() / 2**30
    return [
        *rows,
        (
            "SD 2.1 (sd21-random): peak GPU memory of the two stages",
            torch.cuda.get_device_name(),
            f"{peak:.1f} GiB",
            "-",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--assets", type=int, default=smoke(3, 1))
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "adapt.md")
    args = parser.parse_args()
    rows = tiny_rows(args.threads, args.assets) + sd_rows(args.assets)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    intro = (
        f"`python benchmarks/adapt.py --threads {args.threads} --assets {args.assets}` on "
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}, load average {load:.1f} at the end. "
        f"{args.assets} starter chairs/sofas as the retrieved assets ({CPU_GAUSSIANS} Gaussians each on CPU), "
        "the cpu-tiny preset's adaptation on CPU; the redream-sd21 preset's adaptation (500 steps, 512px) on CUDA. "
        "SD rows use the SD 2.1 architecture with RANDOM weights (`sd21-random`): timing only."
    )
    write_report(
        args.out,
        "Adaptation stage cost",
        intro,
        markdown_table(("what", "device", "wall time", "per unit"), rows),
    )


if __name__ == "__main__":
    main()
