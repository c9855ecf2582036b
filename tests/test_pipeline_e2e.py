"""The whole `splatdream` command on CPU: fail-fast errors, a real small run, kill -9 and resume."""

from __future__ import annotations

import json
import os
from pathlib import Path

import imageio.v3 as iio
import pytest
import torch

from splatdream.config import PRESETS, RunConfig
from splatdream.configio import dump_yaml, load_yaml, merge
from splatdream.evaluate import EvalConfig, evaluate_run
from splatdream.evaluate.cleanliness import silhouette_iou
from splatdream.evaluate.colour import mean_object_colour
from splatdream.evaluate.fidelity import prior_score
from splatdream.io.ply import read_ply
from splatdream.pipeline import main as run_main
from splatdream.pipeline import run
from tests.support.runs import kill_mid_distillation, launch


def small_config(prior_dir: Path | None, out: Path, **over) -> RunConfig:
    base = {
        "prompt": "a blue chair",
        "num_particles": 2,
        "out": str(out),
        "init": {"method": "random", "gaussians_per_particle": 400},
        "prior": {"path": None if prior_dir is None else str(prior_dir)},
        "adapt": {"enabled": False, "align": False},
        "distill": {
            "steps": 12,
            "resolution": {"values": [24.0], "milestones": []},
            "checkpoint_every": 4,
            "densify": {"enabled": False},
        },
        "viewer": {"enabled": False},
        "output": {"turntable_frames": 0},
    }
    cfg = merge(PRESETS["cpu-tiny"][1], base)
    return merge(cfg, over) if over else cfg


# -- fail fast --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--prompt", ""], "prompt is empty"),
        (["--preset", "no-such-preset"], "unknown preset"),
        (["--no-viewer", "--out", "/proc/splatdream-cannot-write"], "cannot write"),
        (["--no-viewer", "--prior.path", "/nonexistent/tiny"], "TinyPrior weights not found"),
    ],
)
def test_bad_input_fails_before_any_work(argv, message, tmp_path) -> None:
    if "--out" not in argv:
        argv = [*argv, "--out", str(tmp_path / "run")]
    with pytest.raises(SystemExit) as exc:
        run_main(argv if "--preset" in argv else ["--preset", "cpu-tiny", *argv])
    assert message in str(exc.value)
    assert not (tmp_path / "run" / "retrieved.png").exists(), "work started before the error"


# -- kill -9 and resume -------------------------------------------------------------------------------
@pytest.mark.slow
def test_kill_and_resume_matches_straight_run(random_tiny_prior, tmp_path) -> None:
    straight_cfg = small_config(random_tiny_prior, tmp_path / "straight")
    killed_cfg = small_config(random_tiny_prior, tmp_path / "killed")
    for name, cfg in (("straight", straight_cfg), ("killed", killed_cfg)):
        (tmp_path / f"{name}.yaml").write_text(dump_yaml(cfg))
    straight = launch(["--config", str(tmp_path / "straight.yaml")], tmp_path)
    victim = launch(["--config", str(tmp_path / "killed.yaml")], tmp_path)
    kill_mid_distillation(victim, tmp_path / "killed", min_steps=6)
    assert not (tmp_path / "killed" / "particle_0.ply").exists()
    out, _ = straight.communicate(timeout=600)
    assert straight.returncode == 0, out
    resumed = launch(["--resume", str(tmp_path / "killed")], tmp_path)
    out, _ = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, out
    assert "resumed at step" in out
    for i in range(2):
        a = read_ply(tmp_path / "straight" / f"particle_{i}.ply")
        b = read_ply(tmp_path / "killed" / f"particle_{i}.ply")
        torch.testing.assert_close(a.means, b.means, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(a.sh, b.sh, rtol=1e-4, atol=1e-5)
    steps = [
        json.loads(line)["step"] for line in (tmp_path / "killed" / "metrics.jsonl").read_text().splitlines()
    ]
    assert steps == list(range(12)), "replayed steps must not be recorded twice"


# -- the real thing -------------------------------------------------------------------------------------
def blueness(rgb: torch.Tensor) -> float:
    return float(rgb[2] - (rgb[0] + rgb[1]) / 2)


@pytest.fixture(scope="module")
def chair_library(tmp_path_factory) -> Path:
    """A library holding only the starter library's chairs that are not blue."""
    from splatdream.models.embedders import load_embedder
    from splatdream.retrieval.ingest import IngestItem
    from splatdream.retrieval.library import AssetLibrary
    from splatdream.starter.build import load_manifest

    root = tmp_path_factory.mktemp("chairs")
    picks = [a for a in load_manifest() if a.category == "chair"]
    assert picks and not any("blue" in a.caption for a in picks)
    lib = AssetLibrary.open(root)
    lib.add(
        [IngestItem(path=a.path, caption=a.caption, category=a.category) for a in picks],
        embedders=[load_embedder("text")],
        progress=False,
    )
    return root


@pytest.mark.slow
def test_blue_chair_end_to_end(chair_library, tmp_path) -> None:
    from rich.console import Console

    from splatdream.priors.config import PriorConfig
    from splatdream.priors.loader import load_prior

    common = {
        "num_particles": 2,
        "retrieval": {"library": str(chair_library), "k": 2, "embedder": "text"},
        "init": {"gaussians_per_particle": 3000},
        # cpu-tiny's adapter, switched on (the preset runs without it since issue 26), so the pipeline's
        # adaptation path runs end to end and the test sees whether it keeps the prompt's colour.
        "adapt": {"enabled": True, "alignment": {"timesteps": [200, 500], "noises_per_timestep": 1}},
        "distill": {"steps": 160, "checkpoint_every": 80},
        "viewer": {"enabled": False},
        "output": {"turntable_frames": 6, "turntable_size": 64},
    }
    cfg = merge(PRESETS["cpu-tiny"][1], {"prompt": "a blue chair", "out": str(tmp_path / "run"), **common})
    console = Console(file=open(os.devnull, "w"))
    run_dir = run(cfg, console)

    # Every output exists and reads back.
    assert load_yaml(RunConfig, run_dir / "config.yaml") == cfg
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "guard" not in r] == list(range(160))
    assert [r["step"] for r in records if "guard" in r] == [
        160
    ]  # the guard's one record, after the last step
    assert (run_dir / "retrieved.png").stat().st_size > 0
    assert len(json.loads((run_dir / "retrieved.json").read_text())) == 2
    assert (run_dir / "checkpoint.pt").exists() and (run_dir / "adapter").is_dir()
    finals, inits = [], []
    for i in range(2):
        finals.append(read_ply(run_dir / f"particle_{i}.ply"))
        inits.append(read_ply(run_dir / f"init_particle_{i}.ply"))
        assert (run_dir / f"init_particle_{i}.png").exists()
        frames = iio.imread(run_dir / f"turntable_{i}.mp4")
        assert frames.shape[0] == 6 and frames.shape[1:3] == (64, 64)

    # Colour moved toward blue by a clear margin; the retrieved geometry is kept.
    gains = [
        blueness(mean_object_colour(f)) - blueness(mean_object_colour(g))
        for f, g in zip(finals, inits, strict=True)
    ]
    ious = [silhouette_iou(f, g) for f, g in zip(finals, inits, strict=True)]
    assert min(gains) > 0.05, f"blueness gains {gains}"
    assert min(ious) >= 0.6, f"silhouette IoU {ious}"

    # The paper's ablation: the same run from random Gaussians ends with a worse prior score.
    rnd = merge(cfg, {"out": str(tmp_path / "random"), "init": {"method": "random"}})
    rnd_dir = run(rnd, console)
    prior = load_prior(PriorConfig(kind="tiny"))
    # Scored as a diffusion classifier: the prior's denoising error with "a blue chair" against its
    # error with other blue objects of the library (every 4th other category), so a blue blob does
    # not win by being blue, nor by being simple to denoise.
    from splatdream.starter.build import load_manifest

    others = sorted({a.category for a in load_manifest()} - {"chair"})[::4]
    contrast = tuple(f"a blue {c.replace('_', ' ')}" for c in others)
    score_ret = prior_score(prior, finals, "a blue chair", contrast=contrast)
    score_rnd = prior_score(
        prior, [read_ply(rnd_dir / f"particle_{i}.ply") for i in range(2)], "a blue chair", contrast=contrast
    )
    assert score_ret < score_rnd, (score_ret, score_rnd)


@pytest.mark.slow
def test_default_distillation_is_cleaner_than_its_init_and_moves_colour(chair_library, tmp_path) -> None:
    """Issue 13: the cpu-tiny default must not wreck the retrieved assets it starts from.

    The preset's own distillation (fewer steps, 2 particles, a short adaptation so the test stays quick)
    on a colour prompt whose colour no retrieved chair has: every particle ends no noisier than its init,
    without holes or floaters, without extra Gaussians, and bluer.
    """
    from rich.console import Console

    cfg = merge(
        PRESETS["cpu-tiny"][1],
        {
            "prompt": "a blue chair",
            "num_particles": 2,
            "out": str(tmp_path / "run"),
            "retrieval": {"library": str(chair_library), "k": 2, "embedder": "text"},
            "adapt": {
                "steps": 30,
                "azimuths_deg": [45.0 * i for i in range(8)],
                "elevations_deg": [0.0, 20.0],
                "alignment": {"timesteps": [200, 500], "noises_per_timestep": 1},
            },
            "distill": {"steps": 80, "checkpoint_every": 80},
            "viewer": {"enabled": False},
            "output": {"turntable_frames": 0},
        },
    )
    run_dir = run(cfg, console=Console(file=open(os.devnull, "w")))
    # measured the way `splatdream eval` measures it (its ring of views, without the slow classifier)
    result = evaluate_run(run_dir, EvalConfig(views=8, size=96, extra_elevations_deg=(), classifier=False))
    for p in result.particles:
        clean = p.cleanliness
        assert clean.speckle_ratio <= 1.15, f"particle {p.index}: {clean}"
        assert clean.holes <= 0.01 and clean.floaters <= 0.01, f"particle {p.index}: {clean}"
        assert clean.count_ratio <= 1.5, f"particle {p.index}: {clean}"
        assert p.colour is not None and p.colour.word == "blue"
        assert p.colour.delta_e < p.colour.delta_e_init - 2.0, f"particle {p.index}: {p.colour}"
        init, final = (read_ply(run_dir / f"{stem}particle_{p.index}.ply") for stem in ("init_", ""))
        gain = blueness(mean_object_colour(final)) - blueness(mean_object_colour(init))
        assert gain > 0.03, f"particle {p.index} blueness gain {gain:.3f}"
    assert (run_dir / "eval.json").is_file() and (run_dir / "eval.png").is_file()
