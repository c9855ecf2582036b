"""Adaptation quality for variants of the cpu-tiny adaptation, measured as tests/test_adapt_quality.py does.

    python benchmarks/adapt_sweep.py '[{}, {"lr": 1e-3}, {"captions": "prompt"}]' [--threads 2]

Each variant is a JSON dict of AdaptConfig overrides on the cpu-tiny preset's adaptation. Three starter
chairs are the retrieved assets ("a chair" the prompt); the held-out views are the variant's own
in-between cameras (effect.heldout_grid), so a denser grid is judged on views it never saw. Prints a
Markdown table: held-out loss ratio (after / before, goal <= 0.8), other starter assets' loss ratio
(goal <= 1.1), diffusion-classifier view accuracy, training seconds. One variant takes a few minutes
on 2 cores (the evaluation, not the training, dominates).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import replace
from pathlib import Path

import torch
from bench_util import SMOKE, smoke


def _assets():  # -> (chairs, chair captions, [(caption, Gaussians)] of other objects)
    from splatdream.init.from_mesh import mesh_to_gaussians
    from splatdream.retrieval.meshes import load_mesh
    from splatdream.starter.build import load_manifest

    manifest = load_manifest()
    n = smoke(3, 1)
    chairs = [e for e in manifest if e.category == "chair"][:n]
    others = [
        next(e for e in manifest if e.category == c) for c in smoke(("car", "mug", "tree", "dog"), ("mug",))
    ]
    gauss = [
        mesh_to_gaussians(load_mesh(e.path), smoke(6000, 500), seed=i) for i, e in enumerate(chairs + others)
    ]
    return (
        gauss[:n],
        [e.caption for e in chairs],
        list(zip([e.caption for e in others], gauss[n:], strict=True)),
    )


def measure(overrides: dict, retrieved, captions, others):  # -> AdaptationEffect
    from splatdream.adaptation.effect import EvalProbes, adaptation_effect
    from splatdream.config import PRESETS
    from splatdream.priors.tiny_prior import TinyPrior

    kw = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()}
    if SMOKE:  # two steps, two views, one probe: the code path, not a measurement
        kw = {"steps": 2, "azimuths_deg": (0.0, 180.0), "elevations_deg": (15.0,)} | kw
    cfg = replace(PRESETS["cpu-tiny"][1].adapt, enabled=True, progress=False, **kw)
    probes = smoke(
        EvalProbes(timesteps=(100, 200, 300, 400, 500, 600), noises_per_timestep=4),
        EvalProbes(timesteps=(500,), noises_per_timestep=1),
    )
    with tempfile.TemporaryDirectory() as tmp:
        return adaptation_effect(
            TinyPrior.load(),
            retrieved,
            captions,
            others,
            "a chair",
            cfg,
            Path(tmp) / "adapter",
            view_probes=probes,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "variants",
        nargs="?" if SMOKE else None,
        default="[{}]",
        help="JSON list of AdaptConfig override dicts; {} is the cpu-tiny default",
    )
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    retrieved, captions, others = _assets()
    print(
        "| overrides of cpu-tiny's adaptation | held-out after/before | others after/before | view accuracy | train s |"
    )
    print("| --- | ---: | ---: | ---: | ---: |")
    for v in json.loads(args.variants):
        e = measure(v, retrieved, captions, others)
        print(
            f"| `{json.dumps(v)}` | {e.after[0] / e.before[0]:.3f} | {e.after[1] / e.before[1]:.3f} | "
            f"{e.before[2]:.2f} -> {e.after[2]:.2f} | {e.seconds:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
