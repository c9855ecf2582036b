"""The shipped sample scene is what its generator makes, and a sane splat scene."""

from __future__ import annotations

import torch

from splatdream.io.ply import read_ply
from splatdream.starter.sample import SAMPLE_PLY, main, make_sample_scene


def test_regenerating_the_sample_gives_the_shipped_bytes(tmp_path):
    out = tmp_path / "sample.ply"
    assert main(["--out", str(out)]) == 0
    assert SAMPLE_PLY.is_file(), "run: python -m splatdream.starter.sample"
    assert out.read_bytes() == SAMPLE_PLY.read_bytes(), "stale: run python -m splatdream.starter.sample"


def test_sample_is_small_degree3_inside_the_unit_sphere():
    assert SAMPLE_PLY.stat().st_size < 2_000_000
    g = read_ply(SAMPLE_PLY)
    assert 5_000 <= len(g) <= 15_000 and g.sh_degree == 3 and g.is_finite()
    assert float(g.means.norm(dim=-1).max()) < 1.0
    assert torch.allclose(g.unit_quats.norm(dim=-1), torch.ones(len(g)), atol=1e-4)
    # Flat discs: the thinnest axis is several times smaller than the others.
    s = g.scales.sort(dim=-1).values
    assert bool((s[:, 0] * 4 < s[:, 1]).all())
    # Colourful: red caps, green grass, pale stems all present.
    rgb = g.rgb.clamp(0, 1)
    red = (rgb[:, 0] > 0.5) & (rgb[:, 1] < 0.2)
    green = (rgb[:, 1] > rgb[:, 0] + 0.15) & (rgb[:, 1] > rgb[:, 2] + 0.15)
    pale = rgb.min(dim=-1).values > 0.6
    assert red.sum() > 1000 and green.sum() > 1000 and pale.sum() > 500
    assert torch.count_nonzero(g.sh[:, 1:4]) > 0 and torch.count_nonzero(g.sh[:, 4:]) == 0


def test_generator_is_deterministic_in_memory():
    a, b = make_sample_scene(), make_sample_scene()
    assert torch.equal(a.means, b.means) and torch.equal(a.sh, b.sh)
    assert not torch.equal(make_sample_scene(seed=8).means, a.means)
