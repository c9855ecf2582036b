"""Untrained TinyPrior folders and tiny run configs: the real code paths in seconds (tests and benchmarks)."""

from __future__ import annotations

import json
from pathlib import Path

import torch

SMALL_ARCH = dict(
    image_size=16, block_out_channels=(8, 16), norm_num_groups=4, attention_head_dim=4, max_text_tokens=8
)
"""A very small TinyPrior (16 px, 8/16 channels): plumbing only, its outputs mean nothing."""


def write_random_tiny_prior(folder: Path, seed: int = 0, **arch: object) -> Path:
    """An exported, untrained TinyPrior folder (unet/ + tiny_prior.json) that ``--prior.path`` accepts."""
    from splatdream.priors.tiny_prior import META_FILE, UNET_DIR, TinyArch, arch_to_json, build_tiny_unet

    spec = TinyArch(**(arch or SMALL_ARCH))  # type: ignore[arg-type]
    torch.manual_seed(seed)
    build_tiny_unet(spec).save_pretrained(folder / UNET_DIR)
    (folder / META_FILE).write_text(json.dumps({"arch": arch_to_json(spec)}))
    return folder


def write_tiny_run_config(folder: Path, steps: int, checkpoint_every: int) -> Path:
    """A cpu-tiny run config (YAML for --config): one particle from a random ball, no adaptation, tiny prior."""
    from splatdream.config import PRESETS
    from splatdream.configio import dump_yaml, merge

    prior = write_random_tiny_prior(folder / "prior")
    cfg = merge(
        PRESETS["cpu-tiny"][1],
        {
            "num_particles": 1,
            "init": {"method": "random", "gaussians_per_particle": 300},
            "prior": {"path": str(prior)},
            "adapt": {"enabled": False, "align": False},
            "distill": {
                "steps": steps,
                "resolution": {"values": [24.0], "milestones": []},
                "checkpoint_every": checkpoint_every,
                "densify": {"enabled": False},
            },
            "viewer": {"enabled": False},
            "output": {"turntable_frames": 0},
        },
    )
    (folder / "tiny.yaml").write_text(dump_yaml(cfg))
    return folder / "tiny.yaml"
