"""``splatdream`` runs in a subprocess, and a kill -9 at a chosen point of their distillation."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from splatdream.rundir import RunDir


def launch(args: list[str], cwd: Path) -> subprocess.Popen:
    """``python -m splatdream ARGS`` with stdout and stderr merged into one text pipe."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "splatdream", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def kill_mid_distillation(
    victim: subprocess.Popen, run_dir: Path, min_steps: int, timeout: float = 600.0
) -> None:
    """SIGKILL ``victim`` once ``min_steps`` steps are in metrics.jsonl and a checkpoint exists; fail if it ends first."""
    metrics = RunDir(run_dir).metrics
    deadline = time.time() + timeout
    while time.time() < deadline and victim.poll() is None:
        lines = metrics.read_text().splitlines() if metrics.exists() else []
        if len(lines) >= min_steps and RunDir(run_dir).checkpoint.exists():
            break
        time.sleep(0.05)
    assert victim.poll() is None, f"run ended before it could be killed:\n{victim.communicate()[0]}"
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
