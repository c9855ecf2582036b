"""Web splat formats: byte layouts, round trips, the export command and its errors, the run's hook."""

from __future__ import annotations

import types
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import trimesh

from splatdream.cli import main as cli_main
from splatdream.config import OutputConfig, RunConfig
from splatdream.export.convert import export_scene
from splatdream.export.formats import (
    COMPRESSED_MIN_OPACITY,
    EmptySceneError,
    compressed_ply_bytes,
    read_splat,
    read_spz,
    splat_rows,
)
from splatdream.io.ply import NonFiniteGaussiansError, write_ply
from splatdream.scene import Gaussians


def make_scene(n: int = 600, sh_degree: int = 2, seed: int = 0) -> Gaussians:
    """Random Gaussians with varied sizes, opacities (a few invisible), colours and SH."""
    gen = torch.Generator().manual_seed(seed)
    g = Gaussians.random_ball(n, radius=0.6, sh_degree=sh_degree, generator=gen)
    g.log_scales = g.log_scales + 0.5 * torch.randn(n, 3, generator=gen)
    g.logit_opacities = (3 * torch.randn(n, generator=gen)).clamp(-5, 5)
    g.logit_opacities[:5] = -9.0  # below 1/255: the compressed writer drops these
    if sh_degree:
        g.sh[:, 1:] = 0.2 * torch.randn(n, g.sh.shape[1] - 1, 3, generator=gen)
    return g


def match_rows(original: Gaussians, other: Gaussians, tol: float) -> torch.Tensor:
    """Index into ``original`` of each row of ``other`` (by nearest position, all within ``tol``)."""
    d = torch.cdist(other.means.double(), original.means.double())
    dist, idx = d.min(dim=1)
    assert float(dist.max()) < tol, float(dist.max())
    return idx


def test_splat_is_32_bytes_per_gaussian_sorted_by_size_times_opacity(tmp_path):
    g = make_scene()
    path = export_scene(g, "splat", tmp_path / "s.splat")
    raw = path.read_bytes()
    assert len(raw) == 32 * len(g)
    back = read_splat(path)
    idx = match_rows(g, back, 1e-6)
    assert sorted(idx.tolist()) == list(range(len(g)))  # every Gaussian once
    ref = g[idx]
    key = ref.scales.prod(dim=-1) * ref.opacities
    assert (key[1:] <= key[:-1]).all()  # file order: largest x most opaque first
    torch.testing.assert_close(back.means, ref.means)
    torch.testing.assert_close(back.scales, ref.scales, rtol=1e-5, atol=1e-8)
    assert (back.rgb - ref.rgb.clamp(0, 1)).abs().max() <= 0.5 / 255 + 1e-6
    assert (back.opacities - ref.opacities).abs().max() <= 0.5 / 255 + 1e-4
    dot = (torch.nn.functional.normalize(back.quats, dim=-1) * ref.unit_quats).sum(-1).abs()
    assert dot.min() > 0.99


def test_splat_rows_layout_matches_the_web_viewers():
    g = Gaussians.from_activated(
        torch.tensor([[0.1, -0.2, 0.3]]),
        torch.tensor([[0.01, 0.02, 0.03]]),
        torch.tensor([0.5]),
        torch.tensor([[1.0, 0.5, 0.0]]),
        quats=torch.tensor([[0.0, 0.0, 0.0, 2.0]]),
    )
    row = splat_rows(g)[0]
    np.testing.assert_allclose(row["position"], [0.1, -0.2, 0.3], rtol=1e-6)
    np.testing.assert_allclose(row["scale"], [0.01, 0.02, 0.03], rtol=1e-5)
    assert row["rgba"].tolist() == [255, 128, 0, 128]
    assert row["rotation"].tolist() == [128, 128, 128, 255]  # unit (0, 0, 0, 1) -> 256 clamped


def test_compressed_ply_header_counts_and_sh():
    g = make_scene(sh_degree=2)
    data = compressed_ply_bytes(g)
    header = data[: data.index(b"end_header\n")].decode()
    kept = int((g.opacities > COMPRESSED_MIN_OPACITY).sum())
    assert kept == len(g) - 5
    assert f"element chunk {-(-kept // 256)}" in header and f"element vertex {kept}" in header
    assert f"element sh {kept}" in header and "f_rest_23" in header and "f_rest_24" not in header
    assert "element sh" not in compressed_ply_bytes(make_scene(sh_degree=0)).split(b"end_header")[0].decode()


def test_spz_round_trip_within_quantisation(tmp_path):
    g = make_scene(sh_degree=1)
    back = read_spz(export_scene(g, "spz", tmp_path / "s.spz"))
    assert len(back) == len(g) and back.sh_degree == 1
    idx = match_rows(g, back, 1e-3)
    ref = g[idx]
    assert (back.rgb - ref.rgb.clamp(0, 1)).abs().max() < 0.03
    assert (back.opacities - ref.opacities).abs().max() < 0.01


def test_cli_exports_every_particle_of_a_run_directory(tmp_path):
    for i in range(2):
        write_ply(tmp_path / f"particle_{i}.ply", make_scene(n=200, seed=i))
    write_ply(tmp_path / "init_particle_0.ply", make_scene(n=10))  # not a result: left alone
    assert cli_main(["export", str(tmp_path), "--format", "splat", "spz"]) == 0
    for i in range(2):
        assert (tmp_path / f"particle_{i}.splat").stat().st_size == 32 * 200
        assert (tmp_path / f"particle_{i}.spz").exists()
    assert not (tmp_path / "init_particle_0.splat").exists()
    out = tmp_path / "named.compressed.ply"
    assert (
        cli_main(
            ["export", str(tmp_path / "particle_0.ply"), "--format", "ply-compressed", "--out", str(out)]
        )
        == 0
    )
    assert out.read_bytes().startswith(b"ply\n")
    assert cli_main(["export", str(tmp_path), "--format", "splat", "--out", str(tmp_path / "one.splat")]) == 2


def test_unknown_format_is_refused(tmp_path, capsys):
    write_ply(tmp_path / "a.ply", make_scene(n=20))
    with pytest.raises(SystemExit) as exc:
        cli_main(["export", str(tmp_path / "a.ply"), "--format", "obj"])
    assert exc.value.code == 2
    assert "splat" in capsys.readouterr().err  # tyro lists the choices
    with pytest.raises(ValueError, match="choose one of splat, ply-compressed, spz, glb"):
        export_scene(make_scene(n=20), "obj", tmp_path / "a.obj")


def test_plain_mesh_ply_and_empty_scene_are_clear_errors(tmp_path, capsys):
    trimesh.creation.box().export(tmp_path / "box.ply")
    assert cli_main(["export", str(tmp_path / "box.ply"), "--format", "splat"]) == 2
    err = capsys.readouterr().err
    assert "not Gaussian splats" in err and "opacity" in err
    assert not (tmp_path / "box.splat").exists()

    write_ply(tmp_path / "empty.ply", make_scene(n=5)[torch.zeros(5, dtype=torch.bool)])
    assert cli_main(["export", str(tmp_path / "empty.ply"), "--format", "glb"]) == 2
    assert "no Gaussians" in capsys.readouterr().err
    for fmt in ("splat", "ply-compressed", "spz", "glb"):
        with pytest.raises(EmptySceneError, match="nothing to export"):
            export_scene(make_scene(n=5)[torch.zeros(5, dtype=torch.bool)], fmt, tmp_path / f"e.{fmt}")

    assert cli_main(["export", str(tmp_path / "missing_dir"), "--format", "splat"]) == 2
    assert "pass a .ply or a run directory" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["splat", "ply-compressed", "spz", "glb"])
def test_failed_export_leaves_the_old_file_intact(tmp_path, fmt):
    target = tmp_path / "out.bin"
    target.write_bytes(b"previous export")
    bad = make_scene(n=20)
    bad.means[3, 1] = float("nan")
    with pytest.raises(NonFiniteGaussiansError):
        export_scene(bad, fmt, target)
    assert target.read_bytes() == b"previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]  # no temporary left behind


def test_run_writes_the_formats_listed_in_its_config(tmp_path):
    from splatdream.pipeline import Pipeline

    cfg = replace(
        RunConfig(), device="cpu", output=OutputConfig(turntable_frames=0, formats=("splat", "spz"))
    )
    pipe = Pipeline(cfg, tmp_path, console=types.SimpleNamespace(print=lambda *a, **k: None))
    pipe.export(types.SimpleNamespace(particles=lambda: [make_scene(n=50), make_scene(n=60, seed=1)]))
    names = sorted(p.name for p in Path(tmp_path).iterdir())
    assert names == [
        "particle_0.ply",
        "particle_0.splat",
        "particle_0.spz",
        "particle_1.ply",
        "particle_1.splat",
        "particle_1.spz",
    ]
