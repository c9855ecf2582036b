"""Issue 26: the cpu-tiny default must not make an asset that already matches its prompt worse.

The preset's own distillation (the default's steps and settings; a short adaptation and alignment so
the test stays quick) on "a wooden chair" from the starter library's wooden chair, whose colour already
matches "wooden" (Delta E about 9): it must end within +1 Delta E of its init and under the patch bound,
measured the way ``splatdream eval`` measures it (without the slow classifier). Its caption already
says the prompt's word, so the default skips the steps that could not move it and says so.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from splatdream.config import PRESETS
from splatdream.configio import merge
from splatdream.evaluate import EvalConfig, evaluate_run
from splatdream.io.ply import read_ply
from splatdream.pipeline import run

PATCH_BOUND = 4.0
"""Issue 26's bound on the patch measure (Delta E)."""


@pytest.fixture(scope="module")
def wooden_chair_library(tmp_path_factory) -> Path:
    """A library holding only the starter library's wooden chair."""
    from splatdream.models.embedders import load_embedder
    from splatdream.retrieval.ingest import IngestItem
    from splatdream.retrieval.library import AssetLibrary
    from splatdream.starter.build import load_manifest

    root = tmp_path_factory.mktemp("wooden-chair")
    picks = [a for a in load_manifest() if a.category == "chair" and a.caption.startswith("a wooden chair")]
    assert len(picks) == 1
    lib = AssetLibrary.open(root)
    lib.add(
        [IngestItem(path=a.path, caption=a.caption, category=a.category) for a in picks],
        embedders=[load_embedder("text")],
        progress=False,
    )
    return root


@pytest.mark.slow
def test_default_keeps_an_asset_that_already_matches_its_colour_word(wooden_chair_library, tmp_path) -> None:
    from rich.console import Console

    cfg = merge(
        PRESETS["cpu-tiny"][1],
        {
            "prompt": "a wooden chair",
            "num_particles": 1,
            "out": str(tmp_path / "run"),
            "retrieval": {"library": str(wooden_chair_library), "k": 1, "embedder": "text"},
            "adapt": {
                "steps": 30,
                "azimuths_deg": [45.0 * i for i in range(8)],
                "elevations_deg": [0.0, 20.0],
                "alignment": {"timesteps": [200, 500], "noises_per_timestep": 1},
            },
            "viewer": {"enabled": False},
            "output": {"turntable_frames": 0},
        },
    )
    run_dir = run(cfg, console=Console(file=open(os.devnull, "w")))
    result = evaluate_run(run_dir, EvalConfig(views=12, size=96, classifier=False))
    (p,) = result.particles
    assert p.colour is not None and p.colour.word == "wooden"
    assert p.colour.delta_e_init <= 15, f"the test asset must already match 'wooden': {p.colour}"
    assert p.colour.delta_e <= p.colour.delta_e_init + 1.0, p.colour
    assert p.patches is not None and p.patches <= PATCH_BOUND, p.patches
    assert p.cleanliness.speckle_ratio <= 1.15, p.cleanliness
    # The caption already says "wooden": the prompt edits nothing, so no step could move the particle and
    # the run says it skipped them (metrics.jsonl), ending bit-identical to its init; the guard still ran.
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "distil_skipped" in r] == [0]
    guard = [r for r in records if "guard" in r]
    assert len(guard) == 1 and guard[0]["step"] == 0
    assert [g["particle"] for g in guard[0]["guard"]] == [0]
    init, final = (read_ply(run_dir / f"{stem}particle_0.ply") for stem in ("init_", ""))
    assert torch.equal(init.sh, final.sh) and torch.equal(init.means, final.means)
