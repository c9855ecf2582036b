"""``RunDir``: the one place a run's file names live, and the checks a reader of a run makes."""

from __future__ import annotations

from pathlib import Path

import pytest

from splatdream.errors import RunDirError, UserError
from splatdream.rundir import MissingInitError, NoParticlesError, NotARunError, RunDir


def test_the_layout_is_the_documented_one(tmp_path: Path) -> None:
    """The names README and docs/architecture.md promise (a rename here breaks every run on disk)."""
    run = RunDir(tmp_path)
    got = {
        p.relative_to(tmp_path).as_posix()
        for p in (
            run.config,
            run.metrics,
            run.checkpoint,
            run.adapter,
            run.retrieved_json,
            run.retrieved_png,
            run.eval_json,
            run.eval_png,
            run.lock,
            run.particle(2),
            run.particle(2, ".spz"),
            run.init_particle(2),
            run.init_sheet(2),
            run.snapshot(2),
            run.turntable(2),
        )
    }
    assert got == {
        "config.yaml",
        "metrics.jsonl",
        "checkpoint.pt",
        "adapter",
        "retrieved.json",
        "retrieved.png",
        "eval.json",
        "eval.png",
        ".splatdream.lock",
        "particle_2.ply",
        "particle_2.spz",
        "init_particle_2.ply",
        "init_particle_2.png",
        "snapshot_particle_2.ply",
        "turntable_2.mp4",
    }


def test_particles_are_listed_in_numeric_order_and_nothing_else(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    for name in (
        "particle_10.ply",
        "particle_2.ply",
        "particle_0.ply",
        "particle_x.ply",
        "particle_1.splat",
        "init_particle_1.ply",
        "snapshot_particle_3.ply",
    ):
        (tmp_path / name).write_text("x")
    assert [p.name for p in run.particles()] == ["particle_0.ply", "particle_2.ply", "particle_10.ply"]
    assert [p.name for p in run.init_particles()] == ["init_particle_1.ply"]
    assert [p.name for p in run.snapshots()] == ["snapshot_particle_3.ply"]
    assert run.finished() and not run.has_inits(2)


def test_a_reader_gets_one_error_class_naming_the_fix(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    with pytest.raises(NotARunError, match=r"no config\.yaml"):
        run.finished_run()
    run.config.write_text("num_particles: 2\n")
    with pytest.raises(NotARunError, match="no 'prompt'"):
        run.finished_run()
    run.config.write_text(
        "prompt: a chair\nprior: {kind: tiny, device: cpu}\n"
    )  # prior.device: an older run's
    with pytest.raises(NoParticlesError, match="--resume"):
        run.finished_run()
    run.particle(0).write_text("x")
    with pytest.raises(MissingInitError, match=r"init_particle_0\.ply"):
        run.finished_run()
    run.init_particle(0).write_text("x")
    found = run.finished_run()
    assert (found.prompt, found.prior.kind, found.particles, found.inits) == (
        "a chair",
        "tiny",
        (run.particle(0),),
        (run.init_particle(0),),
    )
    for cls in (NotARunError, NoParticlesError, MissingInitError):
        assert issubclass(cls, RunDirError) and issubclass(cls, UserError)
