"""``splatdream adapt`` end to end on the starter library with a small random TinyPrior (fast settings)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.tiny_runs import write_random_tiny_prior

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def random_prior_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from splatdream.priors.tiny_prior import TinyArch

    arch = TinyArch(block_out_channels=(16, 32, 64), norm_num_groups=8)
    return write_random_tiny_prior(tmp_path_factory.mktemp("random_tiny"), **vars(arch))


def _argv(prior_dir: Path, out: Path, *extra: str) -> list[str]:
    return [
        "--prompt",
        "a red chair",
        "--out",
        str(out),
        "--prior.path",
        str(prior_dir),
        "--device",
        "cpu",
        "-k",
        "2",
        "--retrieval.embedder",
        "text",
        "--gaussians-per-asset",
        "1500",
        "--adapt.alignment.scorer",
        "diffusion",
        "--adapt.alignment.timesteps",
        "300",
        "--adapt.alignment.noises-per-timestep",
        "1",
        "--adapt.alignment.resolution",
        "32",
        "--adapt.resolution",
        "32",
        "--adapt.steps",
        "3",
        "--adapt.batch-size",
        "2",
        "--adapt.progress",
        "False",
        "--samples-per-view",
        "1",
        "--sample-steps",
        "2",
        *extra,
    ]


def test_adapt_cli_writes_adapter_alignment_and_samples(random_prior_dir: Path, tmp_path: Path) -> None:
    from splatdream.adaptation.lora import apply_adapter
    from splatdream.cli import main
    from splatdream.priors.tiny_prior import TinyPrior

    out = tmp_path / "run"
    assert main(["adapt", *_argv(random_prior_dir, out)]) == 0
    alignment = json.loads((out / "alignment.json").read_text())
    assert len(alignment) == 2 and all(len(a["scores"]) == 8 for a in alignment)
    assert all(-180.0 <= a["yaw_deg"] < 180.0 for a in alignment)
    assert (out / "aligned.png").is_file() and (out / "samples.png").is_file()
    record = json.loads((out / "adapter" / "adapt.json").read_text())
    assert record["prompt"] == "a red chair" and len(record["losses"]) == 3
    # The default (cpu-tiny) adaptation captions each asset's renders with its own library caption.
    assert record["config"]["captions"] == "asset"
    assert {
        next(a["caption"] for a in alignment if c.startswith(a["caption"])) for c in record["captions"]
    } == {a["caption"] for a in alignment}
    apply_adapter(TinyPrior.load(random_prior_dir), out / "adapter")  # loads into the same base prior


def test_adapt_cli_disabled_writes_no_adapter(random_prior_dir: Path, tmp_path: Path) -> None:
    from splatdream.adaptation.cli import main

    out = tmp_path / "run"
    assert main(_argv(random_prior_dir, out, "--adapt.enabled", "False", "--adapt.align", "False")) == 0
    assert (out / "aligned.png").is_file()
    assert not (out / "adapter").exists() and not (out / "alignment.json").exists()
