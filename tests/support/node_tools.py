"""The npm tools in tests/node (installed by .ci/run): third-party readers our exports are checked with."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

NODE_DIR = Path(__file__).resolve().parents[1] / "node"


def require_node() -> str:
    """Path of ``node``; skips the test when there is none, fails when the npm packages are missing."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed; the third-party format checks need it")
    if not (NODE_DIR / "node_modules" / ".bin" / "splat-transform").exists():
        pytest.fail(f"the npm test tools are not installed: run npm ci --prefix {NODE_DIR} (.ci/run does)")
    return node


def splat_transform(*args: str | Path, timeout: float = 120) -> str:
    """Run PlayCanvas's splat-transform CLI; returns stdout, fails the test with its output on error."""
    require_node()
    cmd = [str(NODE_DIR / "node_modules" / ".bin" / "splat-transform"), "-w", *map(str, args)]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        pytest.fail(f"splat-transform {' '.join(map(str, args))} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def validate_gltf(path: Path, timeout: float = 120) -> dict[str, Any]:
    """The Khronos glTF validator's report on ``path`` (a dict; ``issues.numErrors`` etc.)."""
    node = require_node()
    proc = subprocess.run([node, str(NODE_DIR / "validate_gltf.mjs"), str(path)], check=False, capture_output=True,
                          text=True, timeout=timeout)
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"gltf-validator printed no report (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
