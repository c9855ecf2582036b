"""Presets, YAML round trips and the command line's fail-fast checks."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from splatdream.config import PRESETS, RunConfig, parse_run_config, preset_yaml
from splatdream.configio import dump_yaml, from_dict, load_yaml, merge, to_dict

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_round_trips_and_ships_as_yaml(name: str, tmp_path: Path) -> None:
    cfg = PRESETS[name][1]
    assert from_dict(RunConfig, to_dict(cfg)) == cfg
    shipped = CONFIGS / f"{name}.yaml"
    assert shipped.read_text() == preset_yaml(name), f"configs/{name}.yaml is stale: python -m splatdream.config configs/"
    assert load_yaml(RunConfig, shipped) == cfg


def test_cli_overrides_preset() -> None:
    cfg = parse_run_config(["--preset", "cpu-tiny", "--prompt", " a blue chair ", "--num-particles", "2",
                            "--distill.steps", "7", "--no-viewer"])
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
        assert d.resolution(0) == d.resolution(d.steps) == 512
        assert d.lr.means.steps == d.steps
        assert d.guidance_scale is None and d.prior_guidance() == 7.5
        assert replace(d, loss="sds").prior_guidance() == 100.0
        assert d.densify.reset_every < d.densify.refine_stop  # size pruning runs
    assert PRESETS["redream-sd21"][1].distill.steps < PRESETS["redream-sd21-long"][1].distill.steps == 20_000


def test_cpu_tiny_keeps_its_measured_settings() -> None:
    d = PRESETS["cpu-tiny"][1].distill
    assert d.prior_guidance() == 5.0 and d.steps == 120 and d.resolution(0) == 32
    assert not d.densify.enabled
    # issue 26: every step is scored against the asset's render under its own caption; the guard is on
    assert d.retrieval_reg_every == 1 and d.reference_text == "caption" and d.guard.enabled
    assert d.max_batch >= 4  # its 4 particles run in one chunk, as before
