"""``splatdream view PATH``: open a .ply or a finished run directory in the browser viewer.

A run directory holds ``particle_<i>.ply`` (the result; an unfinished run has
``snapshot_particle_<i>.ply`` from "export now" or only its initialisation), optionally
``init_particle_<i>.ply`` (the retrieved-asset initialisation, shown in a row below) and
``metrics.jsonl`` (one JSON record per logged step, drawn as curves).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tyro

from splatdream.rundir import RunDir
from viewer.metrics import MetricHistory, Status, scalar_metrics
from viewer.panel import TrainingPanel
from viewer.scene_view import SceneView
from viewer.server import start_server, stop_server
from viewer.splats import splat_buffer


@dataclass(frozen=True)
class ViewArgs:
    """Open Gaussian splats in the browser viewer."""

    path: tyro.conf.Positional[Path]
    """An INRIA-layout .ply, a .glb holding KHR_gaussian_splatting splats, or a run directory with
    particle_<i>.ply files."""
    host: str = "127.0.0.1"
    """Address to bind; 0.0.0.0 makes it reachable from other machines."""
    port: int = 8080
    """First port to try; the next free one is used when it is taken."""
    screenshot: Path | None = None
    """Save a PNG of the page (headless Chromium) here and exit instead of serving."""
    screenshot_size: tuple[int, int] = (1280, 760)
    """Window size of the screenshot in pixels."""
    screenshot_budget_ms: int = 2000
    """Page time before the capture. Software WebGL renders every virtual frame on the CPU, so cost grows
    with budget x window: a finished 4-particle run took 126 s at 2000 ms and 1280 x 760, and did not
    finish in 5 min at 6000 ms."""


@dataclass(frozen=True)
class ViewFiles:
    """What the viewer shows: result particles, the initial ones below them, and the metrics to plot."""

    particles: list[Path]
    initial: list[Path]
    metrics: Path | None


def find_run_files(path: Path) -> ViewFiles:
    """What to show for ``path``: the .ply itself, or a run directory's particles, inits and metrics."""
    if path.is_file():
        if path.suffix.lower() not in (".ply", ".glb"):
            raise ValueError(
                f"{path} is not a .ply or .glb file; pass a .ply, a splat .glb or a run directory"
            )
        return ViewFiles([path], [], None)
    if path.exists() and not path.is_dir():  # a FIFO or device: reading it could block forever
        raise ValueError(f"{path} is not a regular file (a pipe or device?); pass a .ply or a run directory")
    if not path.is_dir():
        raise FileNotFoundError(f"no such file or directory: {path}")
    run = RunDir(path)
    initial = run.init_particles()
    # A finished run, else the last "export now" of an unfinished one, else its initialisation.
    particles = run.particles() or run.snapshots() or initial
    if not particles:
        plys = sorted(path.glob("*.ply"))
        if not plys:
            raise FileNotFoundError(
                f"{path} has no particle_<i>.ply files (nor any .ply); is the run finished? "
                "Pass a run directory or a single .ply"
            )
        particles = plys  # a folder of loose .ply files: show them side by side
    metrics = run.metrics
    return ViewFiles(
        particles, initial if particles is not initial else [], metrics if metrics.is_file() else None
    )


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """Records of a metrics.jsonl; a torn last line (run killed mid-write) is skipped."""
    records = []
    for line in path.read_text().splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict):
            records.append(rec)
    return records


class StaticViewer:
    """A viewer over files on disk; ``close`` stops the server and frees the port."""

    def __init__(self, path: Path, host: str = "127.0.0.1", port: int = 8080) -> None:
        from splatdream.export.scene_file import read_scene

        files = find_run_files(path)
        particles = [read_scene(p, allow_empty=False) for p in files.particles]
        initial = [read_scene(p) for p in files.initial[: len(particles)]]
        self.server, self.url = start_server(host, port)
        try:
            history = MetricHistory()
            status = Status(stage="finished", done=True)
            if files.metrics is not None:
                records = read_metrics(files.metrics)
                for i, rec in enumerate(records):
                    history.record(int(rec.get("step", i)), scalar_metrics(rec))
                if records:
                    last = records[-1]
                    status = Status(
                        stage=str(last.get("stage", "finished")),
                        step=int(last.get("step", len(records) - 1)),
                        total_steps=int(last.get("total_steps", 0)),
                        done=True,
                    )
            self.panel = TrainingPanel(self.server, history, title=path.name or str(path))
            self.panel.set_status(status)
            self.panel.refresh_curve()
            self.scene = SceneView(self.server, len(particles))
            self.scene.set_particles([splat_buffer(g) for g in particles])
            if initial:
                self.scene.set_initial([splat_buffer(g) for g in initial])
        except BaseException:
            stop_server(self.server)
            raise

    def close(self) -> None:
        stop_server(self.server)

    def __enter__(self) -> StaticViewer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main(argv: list[str] | None = None) -> int:
    args = tyro.cli(ViewArgs, args=argv, prog="splatdream view")
    try:
        viewer = StaticViewer(args.path, args.host, args.port)
    except (FileNotFoundError, ValueError) as exc:  # PlyFormatError is a ValueError
        print(f"splatdream view: error: {exc}", file=sys.stderr)
        return 2
    if args.screenshot is not None:
        from viewer.headless import screenshot

        with viewer:
            try:
                out = screenshot(
                    viewer.url,
                    args.screenshot,
                    args.screenshot_size,
                    args.screenshot_budget_ms,
                    timeout_s=300,
                )
            except (FileNotFoundError, RuntimeError) as exc:
                print(
                    f"splatdream view: error: {exc} (--screenshot-budget-ms, --screenshot-size)",
                    file=sys.stderr,
                )
                return 2
        print(f"wrote {out}")
        return 0
    print(f"Showing {args.path}; press Ctrl-C to stop.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        viewer.close()
    return 0
