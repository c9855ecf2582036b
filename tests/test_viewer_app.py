"""``splatdream view``: run-directory discovery, metrics reading, a static viewer that frees its port."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from splatdream.io.ply import write_ply
from tests.support.demo_scenes import demo_particle
from viewer.app import StaticViewer, find_run_files, main, read_metrics, scalar_metrics


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_run(root: Path, particles: int = 3) -> Path:
    for i in range(particles):
        write_ply(root / f"particle_{i}.ply", demo_particle(i, 200))
    write_ply(root / "init_particle_0.ply", demo_particle(3, 100))
    write_ply(root / f"particle_{10}.ply", demo_particle(0, 50))  # numeric, not lexical, order
    records = [
        {"step": s, "loss": 1.0 / (s + 1), "lora_loss": 0.5, "num_gaussians": [200], "skipped": False}
        for s in range(0, 100, 10)
    ]
    lines = [json.dumps(r) for r in records] + ['{"step": 100, "loss": 0.0']  # torn last line
    (root / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    return root


def test_find_run_files_orders_particles_numerically(tmp_path: Path) -> None:
    files = find_run_files(make_run(tmp_path))
    assert [p.name for p in files.particles] == [
        "particle_0.ply",
        "particle_1.ply",
        "particle_2.ply",
        "particle_10.ply",
    ]
    assert [p.name for p in files.initial] == ["init_particle_0.ply"]
    assert files.metrics == tmp_path / "metrics.jsonl"
    single = find_run_files(tmp_path / "particle_1.ply")
    assert single.particles == [tmp_path / "particle_1.ply"] and single.metrics is None


def test_unfinished_run_shows_its_last_export_else_its_initialisation(tmp_path: Path) -> None:
    for i in range(2):
        write_ply(tmp_path / f"init_particle_{i}.ply", demo_particle(i, 20))
    files = find_run_files(tmp_path)
    assert [p.name for p in files.particles] == [
        "init_particle_0.ply",
        "init_particle_1.ply",
    ] and files.initial == []
    write_ply(tmp_path / "snapshot_particle_0.ply", demo_particle(0, 20))
    files = find_run_files(tmp_path)
    assert [p.name for p in files.particles] == ["snapshot_particle_0.ply"] and len(files.initial) == 2


def test_find_run_files_errors_say_what_is_expected(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"particle_<i>\.ply"):
        find_run_files(tmp_path)
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(ValueError, match=r"not a \.ply"):
        find_run_files(tmp_path / "notes.txt")


def test_metrics_skip_torn_lines_and_non_scalars(tmp_path: Path) -> None:
    records = read_metrics(make_run(tmp_path) / "metrics.jsonl")
    assert len(records) == 10 and records[-1]["step"] == 90
    assert scalar_metrics(records[0]) == {"loss": 1.0, "lora_loss": 0.5}


def test_static_viewer_shows_a_run_and_frees_its_port(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    with StaticViewer(run, port=free_port()) as viewer:
        port = viewer.server.get_port()
        assert viewer.scene.num_particles == 4
        assert viewer.scene.show_initial.value and not viewer.scene.show_initial.disabled
        assert "**Step** 90" in viewer.panel.status.content
        assert viewer.panel.metric.value == "loss" and set(viewer.panel.metric.options) == {
            "loss",
            "lora_loss",
        }
        x, y = viewer.panel.plot.data
        assert list(x) == list(range(0, 100, 10)) and y[0] == 1.0
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # freed


def test_view_cli_reports_a_missing_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "nope")]) == 2
    assert "no such file or directory" in capsys.readouterr().err


def test_screenshot_timeout_names_the_fix(tmp_path, monkeypatch) -> None:
    """Software WebGL renders every virtual frame on the CPU; a capture that runs out of time says
    which knobs to turn (real Chromium is too variable to time out on cue, so its run is simulated)."""
    import subprocess

    from viewer import headless

    def too_slow(cmd, **kwargs):
        assert "--virtual-time-budget=6000" in cmd and "--window-size=1280,760" in cmd
        raise subprocess.TimeoutExpired(cmd, kwargs["timeout"])

    monkeypatch.setattr(headless, "find_chromium", lambda: "chromium")
    monkeypatch.setattr(headless.subprocess, "run", too_slow)
    with pytest.raises(RuntimeError, match=r"within 5 s.*budget \(now 6000 ms\).*window \(now 1280x760\)"):
        headless.screenshot(
            "http://127.0.0.1:1", tmp_path / "x.png", (1280, 760), budget_ms=6000, timeout_s=5
        )
    assert not (tmp_path / "x.png").exists()
