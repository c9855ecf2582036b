"""Presets, YAML round trips and the command line's fail-fast checks."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from splatdream.config import PRESETS, RunConfig, parse_run_config, preset_yaml
from splatdream.configio import dump_yaml, from_dict, load_yaml, merge, to_dict
from splatdream.distill.config import DistillConfig

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_round_trips_and_ships_as_yaml(name: str, tmp_path: Path) -> None:
    cfg = PRESETS[name][1]
    assert from_dict(RunConfig, to_dict(cfg)) == cfg
    shipped = CONFIGS / f"{name}.yaml"
    assert shipped.read_text() == preset_yaml(name), (
        f"configs/{name}.yaml is stale: python -m splatdream.config configs/"
    )
    assert load_yaml(RunConfig, shipped) == cfg


def test_cli_overrides_preset() -> None:
    cfg = parse_run_config(
        [
            "--preset",
            "cpu-tiny",
            "--prompt",
            " a blue chair ",
            "--num-particles",
            "2",
            "--distill.steps",
            "7",
            "--no-viewer",
        ]
    )
    assert cfg.prompt == "a blue chair" and cfg.num_particles == 2 and cfg.distill.steps == 7
    assert not cfg.viewer.enabled
    assert cfg.prior == PRESETS["cpu-tiny"][1].prior


def test_yaml_config_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(dump_yaml(merge(PRESETS["cpu-tiny"][1], {"distill": {"steps": 11}})))
    assert parse_run_config(["--config", str(path)]).distill.steps == 11
    path.write_text("distill:\n  stepz: 3\n")
    with pytest.raises(ValueError, match="stepz"):
        parse_run_config(["--config", str(path)])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--prompt", "   "], "prompt is empty"),
        (["--preset", "nope"], "unknown preset"),
        (["--num-particles", "0"], "at least 1"),
        (["--preset", "cpu-tiny", "--config", "x.yaml"], "not both"),
    ],
)
def test_bad_input_fails_fast(argv: list[str], message: str, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        parse_run_config(argv)
    assert message in str(exc.value)


def test_sd21_presets_render_full_size_and_decay_over_their_own_steps() -> None:
    """Issue 15: no 64 px warm-up, the means' lr decays over the preset's steps, CFG follows the loss."""
    for name in ("redream-sd21", "redream-sd21-long"):
        d = PRESETS[name][1].distill
        assert d.resolution(0, d.steps) == d.resolution(d.steps, d.steps) == 512
        assert d.lr.means.decay_steps(d.steps) == d.steps
        assert d.guidance_scale is None and d.prior_guidance() == 7.5
        assert replace(d, loss="sds").prior_guidance() == 100.0
        assert d.densify.reset_period(d.steps) < d.densify.stop_step(d.steps)  # size pruning runs
    assert PRESETS["redream-sd21"][1].distill.steps < PRESETS["redream-sd21-long"][1].distill.steps == 20_000


def test_cpu_tiny_keeps_its_measured_settings() -> None:
    d = PRESETS["cpu-tiny"][1].distill
    assert d.prior_guidance() == 5.0 and d.steps == 120 and d.resolution(0, d.steps) == 32
    assert not d.densify.enabled
    # issue 26: every step is scored against the asset's render under its own caption; the guard is on
    assert d.retrieval_reg_every == 1 and d.reference_text == "caption" and d.guard.enabled
    assert d.max_batch >= 4  # its 4 particles run in one chunk, as before


# Each preset's schedules in absolute steps at its own length, as the presets wrote them before they became
# fractions of the run: (t_max milestones, means' decay length, refine stop, reset period).
OWN_SCHEDULES = {
    "cpu-tiny": ((), 120, None, None),  # densification off
    "redream-sd21": ((400,), 1200, 800, 400),
    "redream-sd21-long": ((5000,), 20_000, 15_000, 3000),
}


@pytest.mark.parametrize("name", list(PRESETS))
def test_schedules_follow_distill_steps_on_every_preset(name: str) -> None:
    """Issue 23: --distill.steps moves the lr decay, t_max's drop, the refine stop and the reset period with it."""
    own = PRESETS[name][1].distill
    milestones, decay, stop, reset = OWN_SCHEDULES[name]
    assert own.t_max.milestone_steps(own.steps) == milestones and own.lr.means.decay_steps(own.steps) == decay
    if stop is not None:
        assert (own.densify.stop_step(own.steps), own.densify.reset_period(own.steps)) == (stop, reset)
    for steps in (own.steps // 4, own.steps * 2):
        d = parse_run_config(["--preset", name, "--distill.steps", str(steps)]).distill
        assert d.steps == steps and d.lr.means.decay_steps(steps) == steps
        ratio = steps / own.steps
        assert d.t_max.milestone_steps(steps) == tuple(round(m * ratio) for m in milestones)
        if stop is not None:
            assert d.densify.stop_step(steps) == round(stop * ratio)
            assert d.densify.reset_period(steps) == round(reset * ratio)
        # the means' learning rate ends its decay on the run's last step, not on the preset's
        assert d.lr.means(steps, steps) == pytest.approx(d.lr.means.end)
        if d.lr.means.start > 0:
            assert d.lr.means(steps - 1, steps) > d.lr.means.end
            assert d.lr.means(steps // 2, steps) == pytest.approx((d.lr.means.start * d.lr.means.end) ** 0.5)
        for drop in d.t_max.milestone_steps(steps):  # the value changes on the moved step, not the preset's
            assert d.t_max(drop - 1, steps) == d.t_max.values[0] and d.t_max(drop, steps) == d.t_max.values[1]


def test_the_default_distill_config_agrees_with_itself() -> None:
    """Its means' lr decays over its own 300 steps (it said 2,000), t_max drops within the run."""
    d = DistillConfig()
    assert d.lr.means.decay_steps(d.steps) == d.steps
    assert d.t_max(d.steps - 1, d.steps) == 0.5 and d.densify.stop_step(d.steps) < d.steps
