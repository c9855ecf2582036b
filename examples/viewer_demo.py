"""``python examples/viewer_demo.py``: a fake distillation run in the live viewer, no model needed.

Particles start as noisy clouds and settle into their demo shapes while a made-up loss falls, so
every part of the GUI has something to show. ``--screenshot docs/viewer.png`` saves the README
picture (headless Chromium) instead of serving until the run ends.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch
import tyro

from splatdream.scene import Gaussians, sample_orbit
from splatdream.scene_config import OrbitRanges
from viewer.config import ViewerConfig
from viewer.live import LiveViewer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the demo scenes live with the tests
from tests.support.demo_scenes import demo_particles


@dataclass(frozen=True)
class DemoArgs:
    """A fake run in the live viewer."""

    particles: int = 4
    gaussians: int = 8000
    """Gaussians per particle."""
    steps: int = 600
    step_seconds: float = 0.05
    """Pretend duration of one training step."""
    viewer: ViewerConfig = ViewerConfig(update_every=5)
    screenshot: Path | None = None
    """Save a screenshot here after ``screenshot_at`` steps and stop."""
    screenshot_at: int = 400
    size: tuple[int, int] = (1280, 760)
    """Screenshot size in pixels (width, height)."""


def noisy(target: Gaussians, amount: float, generator: torch.Generator) -> Gaussians:
    return replace(target, means=target.means + amount * torch.randn(target.means.shape, generator=generator))


def main(argv: list[str] | None = None) -> int:
    args = tyro.cli(DemoArgs, args=argv, prog="python examples/viewer_demo.py")
    gen = torch.Generator().manual_seed(0)
    targets = demo_particles(args.particles, args.gaussians)
    with LiveViewer(args.viewer, args.particles) as viewer:
        viewer.set_initial([noisy(t, 0.02, gen) for t in targets])
        last = args.screenshot_at if args.screenshot is not None else args.steps
        for step in range(last + 1):
            amount = 0.5 * (1 - step / max(last, 1)) ** 2 + 0.004
            particles = [noisy(t, amount, gen) for t in targets]
            stage = "warm-up (retrieval init)" if step < last // 4 else "vsd"
            metrics = {
                "loss": amount + 0.02 * float(torch.rand((), generator=gen)),
                "lora_loss": 0.1 + amount / 3,
            }
            cams = sample_orbit(2, OrbitRanges(), 64, 64, generator=gen)
            viewer.update(step, args.steps, stage, particles, metrics, cams)
            viewer.wait_if_paused()
            if viewer.export_requested():
                print(f"(demo) export requested at step {step}; a real run writes particle_<i>.ply here")
            time.sleep(args.step_seconds)
        if args.screenshot is not None:
            from viewer.headless import screenshot

            time.sleep(3.0 / args.viewer.max_updates_per_second)
            out = screenshot(viewer.url, args.screenshot, args.size, budget_ms=20_000)
            print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
