"""Claim: the live viewer costs at most 5% of training time.

A fake training loop (4 particles x 20k Gaussians as parameters, a fixed amount of torch work per
step: a soft splat-to-anchor "render", backward, Adam) runs with no viewer, with the viewer and no
browser, and with the viewer and a connected browser stand-in that receives every message (a real
browser renders on the user's machine, so only the server side is counted). Configurations are
interleaved over several rounds so background load hits them alike; the median round is reported.

    python benchmarks/viewer.py [--steps 60 --rounds 3]
"""

from __future__ import annotations

import os
import platform
import socket
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

# Run as a script, this file's folder comes first on sys.path and this file would shadow the
# `viewer` package it measures.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import torch  # noqa: E402
import tyro  # noqa: E402

from splatdream.scene import Gaussians, OrbitRanges, sample_orbit  # noqa: E402
from viewer import LiveViewer, ViewerConfig  # noqa: E402
from viewer.demo_scenes import demo_particles  # noqa: E402
from viewer.fake_client import FakeBrowser  # noqa: E402


@dataclass(frozen=True)
class Args:
    steps: int = 40
    """Training steps per configuration per round."""
    rounds: int = 3
    """Rounds; configurations run interleaved within each."""
    particles: int = 4
    gaussians: int = 20_000
    """Gaussians per particle."""
    anchors: int = 128
    """Size of the fake render (sets the work per step)."""
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


def run(trainer: FakeTrainer, steps: int, start: int, viewer: LiveViewer | None) -> float:
    """Seconds for ``steps`` training steps, the viewer called as the trainer will call it."""
    t0 = time.perf_counter()
    for i in range(start, start + steps):
        loss = trainer.step()
        if viewer is not None:
            cams = sample_orbit(4, OrbitRanges(), 64, 64, generator=trainer.gen)
            viewer.update(i, 10**6, "vsd", trainer.particles(), {"loss": loss}, cams)
            viewer.wait_if_paused()
    return time.perf_counter() - t0


def main(args: Args) -> None:
    trainer = FakeTrainer(args)
    run(trainer, 5, 0, None)  # warm-up
    default = ViewerConfig()
    stress = ViewerConfig(update_every=1)

    def with_viewer(cfg: ViewerConfig, browser: bool) -> Callable[[int], tuple[float, LiveViewer]]:
        def go(start: int) -> tuple[float, LiveViewer]:
            viewer = LiveViewer(ViewerConfig(**{**cfg.__dict__, "port": free_port()}), args.particles)
            client = FakeBrowser(viewer.url) if browser else None
            try:
                deadline = time.monotonic() + 5
                while browser and not viewer._server.get_clients() and time.monotonic() < deadline:
                    time.sleep(0.01)
                return run(trainer, args.steps, start, viewer), viewer
            finally:
                if client is not None:
                    client.close()
                viewer.close()

        return go

    configs: dict[str, Callable[[int], tuple[float, LiveViewer | None]]] = {
        "no viewer": lambda start: (run(trainer, args.steps, start, None), None),
        f"viewer, no browser (every {default.update_every} steps, <= {default.max_updates_per_second:g}/s)":
            with_viewer(default, browser=False),
        f"viewer + browser (every {default.update_every} steps, <= {default.max_updates_per_second:g}/s)":
            with_viewer(default, browser=True),
        f"viewer + browser (every step, <= {stress.max_updates_per_second:g}/s)": with_viewer(stress, browser=True),
    }
    times: dict[str, list[float]] = {name: [] for name in configs}
    pushes: dict[str, list[int]] = {name: [] for name in configs}
    step = 0
    for _ in range(args.rounds):
        for name, go in configs.items():
            seconds, viewer = go(step)
            step += args.steps
            times[name].append(seconds)
            pushes[name].append(viewer.stats.pushed if viewer is not None else 0)

    base = statistics.median(times["no viewer"])
    lines = [
        "# Live viewer overhead",
        "",
        f"Fake training loop: {args.particles} particles x {args.gaussians:,} Gaussians, {args.steps} steps per "
        f"configuration per round, {args.rounds} interleaved rounds, median round reported.",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, torch "
        f"{torch.__version__} on CPU, {torch.get_num_threads()} torch threads.",
        "",
        "| configuration | ms / step | overhead vs no viewer | pushes / s |",
        "|---|---:|---:|---:|",
    ]
    for name in configs:
        med = statistics.median(times[name])
        rate = sum(pushes[name]) / sum(times[name])
        overhead = "-" if name == "no viewer" else f"{100 * (med / base - 1):+.1f}%"
        lines.append(f"| {name} | {1000 * med / args.steps:.1f} | {overhead} | {rate:.2f} |")
    worst = max(statistics.median(t) / base - 1 for n, t in times.items() if n != "no viewer")
    lines += ["", f"Worst overhead: {100 * worst:+.1f}% (target: at most +5%)."]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


if __name__ == "__main__":
    main(tyro.cli(Args))
