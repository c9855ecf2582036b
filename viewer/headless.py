"""Headless Chromium for screenshots and DOM dumps of the viewer (tests and the README image).

Plain command-line Chromium is enough: ``--virtual-time-budget`` lets the page connect, receive the
scene and render it (WebGL through SwiftShader with ``--disable-gpu``) before the capture.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    for name in _NAMES:
        path = shutil.which(name)
        if path is not None:
            return path
    return None


def _run(url: str, mode: list[str], size: tuple[int, int], budget_ms: int, timeout_s: float) -> str:
    exe = find_chromium()
    if exe is None:
        raise FileNotFoundError("Chromium not found; install it (Debian: apt-get install -y chromium)")
    with tempfile.TemporaryDirectory(prefix="splatdream-chromium-") as profile:
        cmd = [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--window-size={size[0]},{size[1]}",
            f"--virtual-time-budget={budget_ms}",
            *mode,
            url,
        ]
        try:
            proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired as exc:
            raise RuntimeError(
                f"chromium did not finish within {timeout_s:.0f} s: software WebGL renders every virtual frame "
                f"on the CPU; use a shorter page-time budget (now {budget_ms} ms) or a smaller window "
                f"(now {size[0]}x{size[1]})"
            ) from exc
    if proc.returncode != 0:
        raise RuntimeError(f"chromium exited with {proc.returncode}: {proc.stderr[-2000:]}")
    return proc.stdout


def screenshot(
    url: str, out: Path, size: tuple[int, int] = (800, 600), budget_ms: int = 8000, timeout_s: float = 90.0
) -> Path:
    """PNG of the page at ``url`` after ``budget_ms`` of (virtual) page time."""
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    _run(url, [f"--screenshot={out}"], size, budget_ms, timeout_s)
    if not out.is_file():
        raise RuntimeError(f"chromium did not write {out}")
    return out


def dump_dom(
    url: str, size: tuple[int, int] = (800, 600), budget_ms: int = 8000, timeout_s: float = 90.0
) -> str:
    """The page's serialised DOM after ``budget_ms`` of (virtual) page time."""
    return _run(url, ["--dump-dom"], size, budget_ms, timeout_s)
