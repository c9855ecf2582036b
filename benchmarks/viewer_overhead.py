"""Claim: the live viewer costs at most 5% of training time.

A fake training loop (4 particles x 20k Gaussians as parameters, a fixed amount of torch work per
step: a soft splat-to-anchor "render", backward, Adam) runs with no viewer, with the viewer and no
browser, and with the viewer and a connected browser stand-in that receives every message in its
own process (a real browser renders on the user's machine, so only the server side is counted).
Configurations are interleaved over several rounds so background load hits them alike; the median
round is reported, as wall-clock time and as this process's CPU time (all its threads: training,
the viewer's worker, viser's server), which shared machines disturb much less.

    python benchmarks/viewer_overhead.py [--steps 60 --rounds 3]
"""

from __future__ import annotations

import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import tyro
from bench_util import results_path, smoke

from splatdream.scene import Gaussians, sample_orbit
from splatdream.scene_config import OrbitRanges
from viewer import LiveViewer, ViewerConfig

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.support: the demo scenes and the stand-in browser
from tests.support.demo_scenes import demo_particles  # noqa: E402


@dataclass(frozen=True)
class Args:
    steps: int = smoke(30, 2)
    """Training steps per configuration per round."""
    rounds: int = smoke(3, 1)
    """Rounds; configurations run interleaved within each."""
    particles: int = smoke(4, 1)
    gaussians: int = smoke(20_000, 500)
    """Gaussians per particle."""
    anchors: int = 32
    """Size of the fake render (sets the work per step)."""
    threads: int = 1
    """torch threads of the training loop (the Python side of a GPU run is one thread)."""
    out: Path = Path(__file__).parent / "results" / "viewer.md"


class FakeTrainer:
    """Fixed torch work per step on the particles' raw parameters, with an Adam update."""

    def __init__(self, args: Args) -> None:
        g = torch.Generator().manual_seed(0)
        self.params = [g_.to_param_dict() for g_ in demo_particles(args.particles, args.gaussians)]
        self.opt = torch.optim.Adam([p for d in self.params for p in d.values()], lr=1e-3)
        self.anchors = torch.randn(args.anchors, 3, generator=g) * 0.6
        self.target = torch.rand(args.anchors, 3, generator=g)
        self.gen = g
        self.cameras = sample_orbit(4, OrbitRanges(), 64, 64, generator=g)  # the trainer's views, made once

    def particles(self) -> list[Gaussians]:
        return [Gaussians.from_param_dict(d) for d in self.params]

    def step(self) -> float:
        loss = torch.zeros(())
        for g in self.particles():
            d2 = torch.cdist(self.anchors, g.means).square()  # [A, N]
            w = torch.exp(-d2 / (2 * g.scales.mean(-1).square() + 1e-3)) * g.opacities  # [A, N]
            image = (w @ g.rgb) / (w.sum(-1, keepdim=True) + 1e-6)  # [A, 3]
            loss = loss + (image - self.target).square().mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return float(loss.detach())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Timing:
    wall: float
    cpu: float
    pushes: int = 0


def run(trainer: FakeTrainer, steps: int, start: int, viewer: LiveViewer | None) -> Timing:
    """Wall and process CPU seconds for ``steps`` training steps, calling the viewer as the trainer does."""
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(start, start + steps):
        loss = trainer.step()
        if viewer is not None:
            viewer.update(i, 10**6, "vsd", trainer.particles(), {"loss": loss}, trainer.cameras)
            viewer.wait_if_paused()
    return Timing(time.perf_counter() - t0, time.process_time() - c0, viewer.stats.pushed if viewer else 0)


def fake_browser(url: str) -> subprocess.Popen[bytes]:
    """A browser stand-in in its own process, connected and draining until its stdin closes."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.fake_client", url], stdin=subprocess.PIPE, cwd=ROOT
    )


def main(args: Args) -> None:
    torch.set_num_threads(args.threads)
    trainer = FakeTrainer(args)
    run(trainer, 3, 0, None)  # warm-up
    default = ViewerConfig()
    stress = ViewerConfig(update_every=1)

    def with_viewer(cfg: ViewerConfig, browser: bool) -> Callable[[int], Timing]:
        def go(start: int) -> Timing:
            viewer = LiveViewer(ViewerConfig(**{**cfg.__dict__, "port": free_port()}), args.particles)
            client = fake_browser(viewer.url) if browser else None
            try:
                deadline = time.monotonic() + 60
                while browser and not viewer._server.get_clients() and time.monotonic() < deadline:
                    time.sleep(0.05)
                return run(trainer, args.steps, start, viewer)
            finally:
                if client is not None:
                    client.communicate(timeout=60)
                viewer.close()

        return go

    every = f"every {default.update_every} steps, <= {default.max_updates_per_second:g}/s"
    configs: dict[str, Callable[[int], Timing]] = {
        "no viewer": lambda start: run(trainer, args.steps, start, None),
        f"viewer, no browser ({every})": with_viewer(default, browser=False),
        f"viewer + browser ({every})": with_viewer(default, browser=True),
        f"viewer + browser (every step, <= {stress.max_updates_per_second:g}/s)": with_viewer(
            stress, browser=True
        ),
    }
    timings: dict[str, list[Timing]] = {name: [] for name in configs}
    step = 0
    for r in range(args.rounds):
        for name, go in configs.items():
            timings[name].append(go(step))
            step += args.steps
            t = timings[name][-1]
            print(
                f"round {r}: {name}: {1000 * t.wall / args.steps:.1f} ms/step wall, "
                f"{1000 * t.cpu / args.steps:.1f} ms/step CPU",
                file=sys.stderr,
                flush=True,
            )

    def median(name: str, attr: str) -> float:
        return statistics.median(getattr(t, attr) for t in timings[name])

    base_wall, base_cpu = median("no viewer", "wall"), median("no viewer", "cpu")
    lines = [
        "# Live viewer overhead",
        "",
        f"Fake training loop: {args.particles} particles x {args.gaussians:,} Gaussians, {args.steps} steps per "
        f"configuration per round, {args.rounds} interleaved rounds, median round reported.",
        f"Machine: {os.cpu_count()} CPU cores ({platform.machine()}), torch {torch.__version__} on CPU with "
        f"{torch.get_num_threads()} threads; 1-minute load average at the end: {os.getloadavg()[0]:.1f}.",
        "",
        "| configuration | wall ms / step | wall overhead | CPU ms / step | CPU overhead | pushes / s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    worst_wall = worst_cpu = 0.0
    for name in configs:
        wall, cpu = median(name, "wall"), median(name, "cpu")
        rate = sum(t.pushes for t in timings[name]) / sum(t.wall for t in timings[name])
        if name == "no viewer":
            ow = oc = "-"
        else:
            worst_wall, worst_cpu = max(worst_wall, wall / base_wall - 1), max(worst_cpu, cpu / base_cpu - 1)
            ow, oc = f"{100 * (wall / base_wall - 1):+.1f}%", f"{100 * (cpu / base_cpu - 1):+.1f}%"
        lines.append(
            f"| {name} | {1000 * wall / args.steps:.1f} | {ow} | {1000 * cpu / args.steps:.1f} | {oc} | {rate:.2f} |"
        )
    lines += [
        "",
        f"Worst overhead: {100 * worst_wall:+.1f}% wall-clock, {100 * worst_cpu:+.1f}% CPU time (target: at most +5%).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    out = results_path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)


if __name__ == "__main__":
    main(tyro.cli(Args))
