"""``splatdream info``: counts, SH bands, bounds and statistics of a .ply."""

from __future__ import annotations

import json

import torch

from splatdream.cli import main as cli_main
from splatdream.export.info import highest_nonzero_band, summarize
from splatdream.io.ply import write_ply
from splatdream.scene import Gaussians


def _scene() -> Gaussians:
    means = torch.tensor([[-1.0, 0.0, 0.5], [1.0, 2.0, -0.5], [0.0, 1.0, 0.0], [0.5, 0.5, 0.5]])
    g = Gaussians.from_activated(
        means, torch.full((4, 3), 0.1), torch.tensor([0.1, 0.5, 0.9, 0.001]), torch.rand(4, 3), sh_degree=2
    )
    g.sh[1, 2, 0] = 0.3  # one non-zero band-1 coefficient
    return g


def test_summary_numbers():
    s = summarize(_scene())
    assert s["count"] == 4 and s["non_finite"] == 0
    assert s["sh_degree"] == 2 and s["sh_highest_nonzero_band"] == 1
    assert s["bbox_min"] == [-1.0, 0.0, -0.5] and s["bbox_max"] == [1.0, 2.0, 0.5]
    assert abs(s["opacity"]["max"] - 0.9) < 1e-6 and abs(s["transparent_fraction"] - 0.25) < 1e-9
    assert abs(s["scale_max_axis"]["median"] - 0.1) < 1e-6


def test_highest_band_of_zero_padded_sh():
    sh = torch.zeros(5, 16, 3)
    assert highest_nonzero_band(sh) == 0
    sh[3, 9, 2] = 1e-3
    assert highest_nonzero_band(sh) == 3


def test_info_command_prints_table_and_json(tmp_path, capsys):
    path = tmp_path / "s.ply"
    write_ply(path, _scene())
    assert cli_main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "gaussians        4" in out
    assert "sh degree        3 (highest non-zero band: 1)" in out  # written with degree-3 slots
    assert "(-1.0000, +0.0000, -0.5000)" in out and "25.0% below 0.005" in out
    assert cli_main(["info", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["count"] == 4 and data["sh_degree"] == 3 and data["bbox_max"] == [1.0, 2.0, 0.5]


def test_info_on_a_bad_file_is_a_one_line_error(tmp_path, capsys):
    path = tmp_path / "bad.ply"
    path.write_text("hello")
    assert cli_main(["info", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("splatdream info: error:") and "INRIA" in err


def test_info_counts_rows_outside_the_sanity_bound_as_it_counts_nan_rows(tmp_path, capsys):
    """Every other reader drops finite rows past the bound (huge log-scales, far positions); info counts them."""
    from plyfile import PlyData

    good, path = tmp_path / "good.ply", tmp_path / "s.ply"
    write_ply(good, _scene())
    ply = PlyData.read(str(good))  # memory-mapped: written to another file
    v = ply["vertex"].data
    v["scale_0"][0] = 80.0  # 5.5e34 across: finite, and a LinAlgError in the renderers
    v["x"][1] = 3e8
    v["y"][2] = float("nan")
    ply.write(str(path))
    assert cli_main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "(1 with NaN/inf!)" in out
    assert "(2 outside the sanity bound, which the other commands drop: " in out
    assert "1 with log-scales beyond +-20" in out and "1 with positions beyond +-1e+07" in out
    assert cli_main(["info", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["count"] == 4 and data["non_finite"] == 1 and data["implausible"] == 2
    assert sum(data["implausible_by_reason"].values()) == 2
    assert summarize(_scene())["implausible"] == 0
