"""Turntable videos: a real render of the sample scene, read back, with the object turning."""

from __future__ import annotations

import imageio.v2 as imageio
import numpy as np
import pytest
import torch

from splatdream.cli import main as cli_main
from splatdream.export.turntable import fit_radius, render_turntable, write_video
from splatdream.io.ply import read_ply
from splatdream.scene import Gaussians
from splatdream.starter.sample import SAMPLE_PLY

FRAMES, SIZE = 8, 64


@pytest.fixture(scope="module")
def sample() -> Gaussians:
    return read_ply(SAMPLE_PLY)


@pytest.fixture(scope="module")
def frames(sample) -> np.ndarray:
    return render_turntable(sample, FRAMES, SIZE, backend="torch", device="cpu", batch=FRAMES, progress=False)


def test_frames_show_a_turning_object_on_the_background(frames):
    assert frames.shape == (FRAMES, SIZE, SIZE, 3) and frames.dtype == np.uint8
    corner = frames[:, :3, :3].reshape(-1, 3)
    assert (corner == 255).all()  # white background by default
    covered = (np.abs(frames.astype(int) - 255).sum(-1) > 30).mean(axis=(1, 2))
    assert ((covered > 0.15) & (covered < 0.9)).all(), covered  # the object fills the frame, not blank
    # Neighbouring frames differ: the object rotates (opposite views differ most).
    diffs = [np.abs(frames[i].astype(int) - frames[(i + 1) % FRAMES]).mean() for i in range(FRAMES)]
    assert min(diffs) > 2.0, diffs
    # Red cap and green grass both visible in the front view.
    front = frames[0].reshape(-1, 3).astype(int)
    assert ((front[:, 0] > 150) & (front[:, 1] < 80)).sum() > 50
    assert ((front[:, 1] > front[:, 0] + 40) & (front[:, 1] > front[:, 2] + 40)).sum() > 50


def test_fit_radius_keeps_the_scene_in_view(sample):
    r = fit_radius(sample, 40.0)
    assert 2.0 < r < 3.5
    shrunk = Gaussians(
        sample.means * 0.5, sample.quats, sample.log_scales - np.log(2), sample.logit_opacities, sample.sh
    )
    assert abs(fit_radius(shrunk, 40.0) - r / 2) < 0.05 * r
    # A few far floaters do not push the camera away.
    floaters = Gaussians.from_activated(
        torch.full((5, 3), 20.0),
        torch.full((5, 3), 0.01),
        torch.full((5,), 0.9),
        torch.rand(5, 3),
        sh_degree=3,
    )
    assert abs(fit_radius(Gaussians.cat([sample, floaters]), 40.0) - r) < 0.05 * r


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_video_reads_back_with_frame_count_and_size(tmp_path, frames, suffix):
    path = tmp_path / f"turn{suffix}"
    write_video(path, frames, fps=10)
    back = np.stack(imageio.mimread(path, memtest=False))[..., :3]
    assert back.shape == frames.shape
    assert np.abs(back.astype(int) - frames).mean() < 6  # lossy codecs, but the same pictures
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp files left
    if suffix == ".gif":
        from PIL import Image

        with Image.open(path) as im:
            assert im.info["duration"] == 100 and im.info["loop"] == 0  # 10 fps, loops forever


def test_unknown_extension_is_refused_before_rendering(tmp_path, capsys):
    assert cli_main(["turntable", str(SAMPLE_PLY), "--out", str(tmp_path / "x.avi")]) == 2
    assert "mp4 or .gif" in capsys.readouterr().err
    assert cli_main(["turntable", str(SAMPLE_PLY), "--out", str(tmp_path / "x.mp4"), "--size", "33"]) == 2
    assert "even" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="unsupported video extension"):
        write_video(tmp_path / "x.webm", np.zeros((1, 8, 8, 3), np.uint8))


def test_turntable_command_end_to_end(tmp_path, capsys):
    out = tmp_path / "sub" / "t.mp4"
    rc = cli_main(
        [
            "turntable",
            str(SAMPLE_PLY),
            "--out",
            str(out),
            "--frames",
            "4",
            "--size",
            "32",
            "--background",
            "0",
            "0",
            "0",
            "--backend",
            "torch",
        ]
    )
    assert rc == 0
    reader = imageio.get_reader(out)
    try:
        assert reader.count_frames() == 4
        first = reader.get_data(0)
    finally:
        reader.close()
    assert first.shape == (32, 32, 3) and first[:2, :2].max() < 20  # black background honoured
    assert "wrote" in capsys.readouterr().out
