"""The npm tools in tests/node (installed by .ci/run): third-party readers our exports are checked with."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from splatdream.scene import Gaussians

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
    proc = subprocess.run(
        [node, str(NODE_DIR / "validate_gltf.mjs"), str(path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(
            f"gltf-validator printed no report (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )


def playcanvas_load_splats(path: Path, decoded: Path | None = None, timeout: float = 120) -> dict[str, Any]:
    """Load a KHR_gaussian_splatting .glb with the PlayCanvas engine's glTF parser (tests/node/read_gltf_splats.mjs).

    Returns the engine's report (``count``, ``shBands``, ``aabb``); with ``decoded``, the engine's splats
    are also written there as a .ply that ``read_playcanvas_ply`` reads.
    """
    node = require_node()
    cmd = [node, str(NODE_DIR / "read_gltf_splats.mjs"), str(path), *([str(decoded)] if decoded else [])]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        pytest.fail(
            f"PlayCanvas could not load {path} (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return json.loads(proc.stdout)


def read_playcanvas_ply(path: Path) -> Gaussians:
    """The splats read_gltf_splats.mjs wrote: INRIA-layout properties, but scale and opacity linear."""
    import numpy as np
    import torch
    from plyfile import PlyData

    v = PlyData.read(str(path))["vertex"].data

    def cols(*names: str) -> torch.Tensor:
        return torch.from_numpy(np.stack([np.asarray(v[n], dtype=np.float64) for n in names], axis=-1))

    n_rest = sum(1 for name in v.dtype.names if name.startswith("f_rest_"))
    sh = cols("f_dc_0", "f_dc_1", "f_dc_2").unsqueeze(1)
    if n_rest:
        rest = cols(*[f"f_rest_{i}" for i in range(n_rest)]).reshape(len(v), 3, n_rest // 3).transpose(1, 2)
        sh = torch.cat([sh, rest], dim=1)
    p = cols("opacity_lin")[:, 0].clamp(1e-30, 1 - 2**-24)
    return Gaussians(
        means=cols("x", "y", "z").float(),
        quats=cols("rot_0", "rot_1", "rot_2", "rot_3").float(),
        log_scales=cols("scale_lin_0", "scale_lin_1", "scale_lin_2").clamp_min(1e-45).log().float(),
        logit_opacities=torch.logit(p).float(),
        sh=sh.float(),
    )
