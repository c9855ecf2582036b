"""Open a scene file of any format the project reads back: an INRIA ``.ply`` or a ``KHR_gaussian_splatting`` ``.glb``.

One entry point for the commands that take a scene (``info``, ``view``, ``turntable``, ``export``), so a
new readable format is added here once. Both formats get the same NaN/inf and empty-scene handling.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Literal

import torch

from splatdream.export.gltf_splats_reader import GltfSplatsError, read_gltf_splats
from splatdream.io.ply import nonfinite_rows, read_ply
from splatdream.scene import Gaussians

log = logging.getLogger(__name__)

SCENE_SUFFIXES = (".ply", ".glb")
"""File suffixes ``read_scene`` opens."""


def is_scene_file(path: Path) -> bool:
    return path.suffix.lower() in SCENE_SUFFIXES


def read_scene(
    path: str | os.PathLike[str], *, nonfinite: Literal["drop", "keep"] = "drop", allow_empty: bool = True
) -> Gaussians:
    """Read Gaussians from ``path``: ``.glb`` through the glTF splat reader, anything else as an INRIA .ply.

    Args: as ``read_ply`` -- NaN/inf rows dropped with a warning or kept; ``allow_empty=False`` makes
    a scene without Gaussians an error.
    """
    path = Path(path)
    if path.suffix.lower() != ".glb":
        return read_ply(path, nonfinite=nonfinite, allow_empty=allow_empty)
    gaussians = read_gltf_splats(path)
    bad = nonfinite_rows(gaussians)
    if bad and nonfinite == "drop":
        finite = ~torch.stack(list(bad.values())).any(dim=0)
        n_bad = len(gaussians) - int(finite.sum())
        if n_bad == len(gaussians):
            raise GltfSplatsError(
                f"{path}: all {n_bad:,} Gaussians hold NaN/inf values; nothing to use. "
                "Re-export the scene from the program that made it"
            )
        log.warning("%s: dropped %d of %d Gaussians holding NaN/inf values", path, n_bad, len(gaussians))
        gaussians = gaussians[finite]
    if not allow_empty and len(gaussians) == 0:
        raise GltfSplatsError(
            f"{path} holds no Gaussians (its splat primitive is empty); pass a non-empty scene"
        )
    return gaussians


__all__ = ["SCENE_SUFFIXES", "is_scene_file", "read_scene"]
