"""The viewer in a real browser: headless Chromium renders the splats and shows the training step.

Skipped when Chromium is not installed (Debian: apt-get install -y chromium).
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.support.demo_scenes import demo_particles
from viewer import LiveViewer, ViewerConfig
from viewer.headless import dump_dom, find_chromium, screenshot

pytestmark = [
    pytest.mark.skipif(
        find_chromium() is None, reason="Chromium not installed (apt-get install -y chromium)"
    ),
    pytest.mark.slow,
]

SIZE = (800, 600)
BUDGET_MS = 3000
"""Page time before the capture; every virtual frame is rendered in software, so keep it short."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def colourful_fraction(png: Path) -> float:
    """Share of saturated pixels in the scene area left of the GUI panel and below the WebGL toast.

    Splats are colourful; the empty scene is white with grey labels, so a blank canvas scores ~0.
    """
    rgb = np.asarray(Image.open(png).convert("RGB")).astype(np.int16)
    region = rgb[170:560, 60:460]
    saturation = region.max(axis=-1) - region.min(axis=-1)
    return float((saturation > 40).mean())


def status_tick(viewer: LiveViewer) -> None:
    time.sleep(3.0 / viewer.cfg.max_updates_per_second)  # the background thread pushes the status


def test_browser_renders_splats_and_shows_the_step(tmp_path: Path) -> None:
    particles = demo_particles(2, 6000)
    cfg = ViewerConfig(port=free_port(), update_every=1, max_updates_per_second=10.0)
    with LiveViewer(cfg, num_particles=2) as viewer:
        blank = colourful_fraction(
            screenshot(viewer.url, tmp_path / "blank.png", SIZE, BUDGET_MS, timeout_s=180)
        )

        viewer.update(4321, 8765, "vsd", particles, {"loss": 0.5})
        status_tick(viewer)
        shot = tmp_path / "splats.png"
        # The page connecting is what sends the splats. On a loaded machine the scene may arrive after
        # the page's (virtual) time is spent; a fresh page gets the same scene, so try up to 3 pages.
        # (A longer budget does not help: software WebGL renders every virtual frame on the CPU.)
        for _ in range(3):
            painted = colourful_fraction(screenshot(viewer.url, shot, SIZE, BUDGET_MS, timeout_s=180))
            if painted > 0.03:
                break
        assert viewer.stats.pushed == 1
        print(f"colourful fraction: blank {blank:.4f}, splats {painted:.4f}")
        assert painted > 0.03 and painted > 10 * blank, (painted, blank)

        # A fresh browser (the third connection) gets the current state; training never noticed.
        viewer.update(4567, 8765, "vsd", particles, {"loss": 0.25})
        status_tick(viewer)
        dom = dump_dom(viewer.url, SIZE, BUDGET_MS, timeout_s=180)
        assert "4567 / 8765" in dom
        assert "4321 / 8765" not in dom
        assert viewer.stats.errors == 0, viewer.stats.last_error
