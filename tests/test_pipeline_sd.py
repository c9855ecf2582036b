"""The `redream-sd21` preset end to end on CPU: tiny random SD-shaped models and a tiny random CLIP.

The preset's own path runs (VSD with its LoRA score net, CLIP retrieval, CLIP front alignment,
LoRA adaptation, densification, the retrieval regulariser, checkpoints, export); only sizes and
step counts are overridden so a run takes seconds.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import imageio.v3 as iio
import pytest
import torch

from splatdream.config import PRESETS, RunConfig
from splatdream.configio import dump_yaml, load_yaml, merge
from splatdream.io.ply import read_ply
from tests.support.runs import kill_mid_distillation, launch
from tests.support.tiny_sd import write_tiny_clip, write_tiny_sd

PROMPT = "a blue chair"


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory) -> tuple[Path, Path]:
    """(model config .json, checkpoint) of a random tiny open_clip model."""
    return write_tiny_clip(tmp_path_factory.mktemp("clip"))


@pytest.fixture(scope="module")
def clip_library(tmp_path_factory, tiny_clip) -> Path:
    """The starter library's chairs and stools, embedded with MiniLM and the tiny CLIP (so runs only read it)."""
    from splatdream.models.embedders import load_embedder
    from splatdream.retrieval.config import ClipConfig
    from splatdream.retrieval.ingest import IngestItem
    from splatdream.retrieval.library import AssetLibrary
    from splatdream.starter.build import load_manifest

    root = tmp_path_factory.mktemp("library")
    picks = [a for a in load_manifest() if a.category in ("chair", "stool")]
    clip = load_embedder("clip", ClipConfig(model=str(tiny_clip[0]), checkpoint=tiny_clip[1], views=2))
    AssetLibrary.open(root).add(
        [IngestItem(path=a.path, caption=a.caption, category=a.category) for a in picks],
        embedders=[load_embedder("text"), clip],
        progress=False,
    )
    return root


def sd_config(prior: Path, clip: tuple[Path, Path], library: Path, out: Path, **over: object) -> RunConfig:
    """redream-sd21 at 16 px with 2 particles of 300 Gaussians and a few steps of every stage."""
    cfg = merge(
        PRESETS["redream-sd21"][1],
        {
            "prompt": PROMPT,
            "num_particles": 2,
            "out": str(out),
            "device": "cpu",
            "prior": {"path": str(prior)},
            "retrieval": {
                "library": str(library),
                "k": 2,
                "n_candidates": 4,
                "embedder": "clip",
                "clip_model": str(clip[0]),
                "clip_checkpoint": str(clip[1]),
                "clip_views": 2,
            },
            "init": {"gaussians_per_particle": 300},
            "adapt": {
                "steps": 2,
                "resolution": 16,
                "batch_size": 2,
                "azimuths_deg": [0.0, 90.0, 180.0, 270.0],
                "elevations_deg": [0.0],
                "progress": False,
                "alignment": {"scorer": "clip", "n_yaws": 4, "resolution": 32},
            },
            "distill": {
                "steps": 12,
                "resolution": {"values": [16.0], "milestones": []},
                "t_max": {"values": [0.98, 0.5], "milestones": [0.5]},
                "checkpoint_every": 4,
                # grow_grad2d: the preset's threshold is set for 512 px; at 16 px nothing would grow.
                # Refines at steps 4 and 8 (stop at 10 of 12), no opacity reset (its period is the run)
                "densify": {
                    "refine_start": 4,
                    "refine_every": 4,
                    "refine_stop": 10 / 12,
                    "reset_every": 1.0,
                    "grow_grad2d": 1e-5,
                },
            },
            "viewer": {"enabled": False},
            "output": {"turntable_frames": 2, "turntable_size": 16},
        },
    )
    return merge(cfg, over) if over else cfg


@pytest.mark.slow
@pytest.mark.parametrize("prediction", ["epsilon", "v_prediction"])
def test_redream_sd21_runs_end_to_end(prediction, tiny_clip, clip_library, tmp_path) -> None:
    from rich.console import Console

    from splatdream.pipeline import run

    prior = write_tiny_sd(tmp_path / "sd", prediction)
    cfg = sd_config(prior, tiny_clip, clip_library, tmp_path / "run")
    log = tmp_path / "console.txt"
    with open(log, "w") as f:
        run_dir = run(cfg, Console(file=f, width=200))
    said = log.read_text()

    assert "alignment scorer: CLIP" in said, said
    assert said.count("front found at azimuth") == 2, said
    assert load_yaml(RunConfig, run_dir / "config.yaml") == cfg
    assert cfg.prior.image_size is None, "the prior's size must come from its UNet (16 px here)"
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == list(range(12))
    assert any(r.get("regulariser") for r in records), "the preset regularises toward the retrieved assets"
    assert all(torch.isfinite(torch.tensor([r["loss"], r["lora_loss"]])).all() for r in records)
    hits = json.loads((run_dir / "retrieved.json").read_text())
    assert len(hits) == 2 and all("chair" in h["caption"] or "stool" in h["caption"] for h in hits)
    assert (run_dir / "retrieved.png").stat().st_size > 0
    assert (run_dir / "checkpoint.pt").is_file() and (run_dir / "adapter" / "adapt.json").is_file()
    for i in range(2):
        init, final = read_ply(run_dir / f"init_particle_{i}.ply"), read_ply(run_dir / f"particle_{i}.ply")
        assert len(init) == 300 and final.is_finite() and len(final) >= 300
        assert (run_dir / f"init_particle_{i}.png").stat().st_size > 0
        frames = iio.imread(run_dir / f"turntable_{i}.mp4")
        assert frames.shape[0] == 2 and frames.shape[1:3] == (16, 16)


def _particles(run_dir: Path, n: int = 2) -> list:
    return [read_ply(run_dir / f"particle_{i}.ply") for i in range(n)]


def _assert_same_particles(a: list, b: list) -> None:
    for x, y in zip(a, b, strict=True):
        assert len(x) == len(y)
        torch.testing.assert_close(x.means, y.means, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(x.sh, y.sh, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(x.opacities, y.opacities, rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_redream_sd21_kill_and_resume_matches_straight_run(
    tiny_sd_v, tiny_clip, clip_library, tmp_path
) -> None:
    """kill -9 mid-distillation (v-prediction prior, densification on), --resume, and the particles equal an
    uninterrupted run's."""
    over = {"distill": {"steps": 40, "checkpoint_every": 8}, "output": {"turntable_frames": 0}}
    for name in ("straight", "killed"):
        cfg = sd_config(tiny_sd_v, tiny_clip, clip_library, tmp_path / name, **over)
        (tmp_path / f"{name}.yaml").write_text(dump_yaml(cfg))
    # one at a time: two torch processes on a small CI runner only slow each other down
    straight = launch(["--config", str(tmp_path / "straight.yaml")], tmp_path)
    out, _ = straight.communicate(timeout=600)
    assert straight.returncode == 0, out
    victim = launch(["--config", str(tmp_path / "killed.yaml")], tmp_path)
    kill_mid_distillation(victim, tmp_path / "killed", min_steps=10)
    assert not (tmp_path / "killed" / "particle_0.ply").exists()
    resumed = launch(["--resume", str(tmp_path / "killed"), "--no-viewer"], tmp_path)
    out, _ = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, out
    assert "resumed at step" in out and "resumed at step 0" not in out, out
    _assert_same_particles(_particles(tmp_path / "straight"), _particles(tmp_path / "killed"))
    steps = [
        json.loads(line)["step"] for line in (tmp_path / "killed" / "metrics.jsonl").read_text().splitlines()
    ]
    assert steps == list(range(40)), "replayed steps must not be recorded twice"
    assert sorted(p.name for p in (tmp_path / "killed").iterdir()) == sorted(
        p.name for p in (tmp_path / "straight").iterdir()
    ), os.listdir(tmp_path / "killed")


@pytest.mark.slow
def test_redream_sd21_runs_with_densification_repeat(tiny_sd, tiny_clip, clip_library, tmp_path) -> None:
    """Two runs of the same config (the preset's densification on) end with the same particles."""
    from rich.console import Console

    from splatdream.pipeline import run

    dirs = []
    for name in ("a", "b"):
        cfg = sd_config(tiny_sd, tiny_clip, clip_library, tmp_path / name, output={"turntable_frames": 0})
        dirs.append(run(cfg, Console(file=open(os.devnull, "w"))))
    a, b = _particles(dirs[0]), _particles(dirs[1])
    assert [len(x) for x in a] != [300, 300], "no densification happened: the test would prove nothing"
    _assert_same_particles(a, b)
