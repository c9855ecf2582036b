"""Gaussian splats inside glTF 2.0: the Khronos ``KHR_gaussian_splatting`` extension, written and read.

Specification followed: KhronosGroup/glTF ``extensions/2.0/Khronos/KHR_gaussian_splatting/README.md``
and its schema as of commit 63770cc70a3709cf101a42cece0bdf602b37e2e7 (2026-04-15, "Editorial review",
status Release Candidate). What we write, one ``POINTS`` primitive in one mesh on one node:

- ``POSITION`` float VEC3 (with the min/max glTF requires) -- the means, unchanged.
- ``KHR_gaussian_splatting:ROTATION`` float VEC4 -- the unit quaternion in glTF's ``x, y, z, w`` order
  (our raw ``w, x, y, z`` normalised, as the spec requires unit quaternions).
- ``KHR_gaussian_splatting:SCALE`` float VEC3 -- *activated* (linear) scales, ``exp(log_scales)``.
- ``KHR_gaussian_splatting:OPACITY`` float SCALAR -- *activated* opacity in [0, 1], ``sigmoid(logit)``.
- ``KHR_gaussian_splatting:SH_DEGREE_l_COEF_n`` float VEC3 -- the raw SH coefficients, band ``l`` for
  ``l = 0..degree``, ``n = 0..2l`` in order ``m = -l..l`` (the INRIA / gsplat order), RGB per coefficient.
  Degree 0 holds the raw DC (colour = ``0.5 + 0.2820948 * dc``, the spec's convention and ours).
- ``COLOR_0`` unsigned-byte normalised VEC4 -- the point-cloud fallback for viewers without the
  extension: the clamped DC colour decoded from sRGB to linear (glTF colours are linear), alpha = opacity.
- the extension object ``{"kernel": "ellipse", "colorSpace": "srgb_rec709_display"}`` plus the two
  defaults spelled out; the extension is in ``extensionsUsed`` only, not ``extensionsRequired``, so a
  plain glTF viewer still shows the points.

Our world is +Y up with the front towards +Z, which is glTF's own frame, so no axis change is made and
the node carries no transform. Every attribute is float32, so positions, rotations and SH survive a
round trip exactly; scale and opacity lose only what float32 rounding of the activated values loses.

The reader is ``splatdream/export/gltf_splats_reader.py`` (kept apart: the readers must not import the
writers' module, which imports the other formats).
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from splatdream.atomic import atomic_write
from splatdream.export.formats import check_exportable
from splatdream.export.gltf_splats_reader import (
    CHUNK_BIN,
    CHUNK_JSON,
    EXTENSION,
    FLOAT,
    GLB_MAGIC,
    OPACITY,
    POINTS,
    ROTATION,
    SCALE,
    UBYTE,
    sh_attribute,
)
from splatdream.io.ply import NonFiniteGaussiansError
from splatdream.scene import SH_C0, Gaussians


@dataclass(frozen=True)
class _Attribute:
    semantic: str
    data: np.ndarray  # [N, width], float32 or uint8
    type: str
    normalized: bool = False
    bounds: bool = False  # write min/max (required for POSITION)


def _srgb_to_linear(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def splat_attributes(gaussians: Gaussians) -> list[_Attribute]:
    """The primitive's attributes, in file order, for exportable ``gaussians`` (float32 CPU, finite)."""
    g = check_exportable(gaussians)
    g64 = g.to(dtype=torch.float64)  # activate in float64, round to float32 once
    quats = g64.unit_quats.numpy()
    scales = g64.scales.numpy().astype(np.float32)
    opacities = g64.opacities.numpy().astype(np.float32)
    if not np.isfinite(scales).all():
        raise NonFiniteGaussiansError(
            "some scales overflow float32 when activated (log-scale > 88); nothing was written. "
            "Clamp log_scales first: the Gaussians are far larger than any scene"
        )
    dc = g64.sh[:, 0].numpy()
    fallback_rgb = _srgb_to_linear(np.clip(0.5 + SH_C0 * dc, 0.0, 1.0))
    color = np.concatenate([fallback_rgb, opacities[:, None].astype(np.float64)], axis=1)
    attrs = [
        _Attribute("POSITION", g.means.numpy(), "VEC3", bounds=True),
        _Attribute("COLOR_0", np.round(color * 255).astype(np.uint8), "VEC4", normalized=True),
        _Attribute(ROTATION, quats[:, [1, 2, 3, 0]].astype(np.float32), "VEC4"),
        _Attribute(SCALE, scales, "VEC3"),
        _Attribute(OPACITY, opacities[:, None], "SCALAR"),
    ]
    sh = g.sh.numpy()
    for degree in range(g.sh_degree + 1):
        for coef in range(2 * degree + 1):
            attrs.append(_Attribute(sh_attribute(degree, coef), sh[:, degree * degree + coef], "VEC3"))
    return attrs


def gltf_splats_bytes(gaussians: Gaussians, name: str = "splats") -> bytes:
    """The ``.glb`` (binary glTF 2.0) holding ``gaussians`` as one ``KHR_gaussian_splatting`` primitive."""
    from splatdream import __version__

    attrs = splat_attributes(gaussians)
    n = len(attrs[0].data)
    blobs: list[bytes] = []
    views: list[dict[str, Any]] = []
    accessors: list[dict[str, Any]] = []
    offset = 0
    for i, a in enumerate(attrs):
        raw = np.ascontiguousarray(a.data).tobytes()
        views.append({"buffer": 0, "byteOffset": offset, "byteLength": len(raw), "target": 34962})
        acc: dict[str, Any] = {
            "bufferView": i,
            "componentType": UBYTE if a.data.dtype == np.uint8 else FLOAT,
            "count": n,
            "type": a.type,
        }
        if a.normalized:
            acc["normalized"] = True
        if a.bounds:
            acc["min"] = a.data.min(axis=0).astype(float).tolist()
            acc["max"] = a.data.max(axis=0).astype(float).tolist()
        accessors.append(acc)
        pad = (-len(raw)) % 4  # every view starts 4-byte aligned
        blobs.append(raw + b"\0" * pad)
        offset += len(raw) + pad
    binary = b"".join(blobs)
    doc = {
        "asset": {"version": "2.0", "generator": f"SplatDream {__version__}"},
        "extensionsUsed": [EXTENSION],
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0, "name": name}],
        "meshes": [
            {
                "name": name,
                "primitives": [
                    {
                        "attributes": {a.semantic: i for i, a in enumerate(attrs)},
                        "mode": POINTS,
                        "extensions": {
                            EXTENSION: {
                                "kernel": "ellipse",
                                "colorSpace": "srgb_rec709_display",
                                "projection": "perspective",
                                "sortingMethod": "cameraDistance",
                            }
                        },
                    }
                ],
            }
        ],
        "buffers": [{"byteLength": len(binary)}],
        "bufferViews": views,
        "accessors": accessors,
    }
    text = json.dumps(doc, separators=(",", ":")).encode()
    text += b" " * ((-len(text)) % 4)  # the JSON chunk is padded with spaces, the BIN chunk with zeros
    total = 12 + 8 + len(text) + 8 + len(binary)
    return b"".join(
        [
            GLB_MAGIC,
            struct.pack("<II", 2, total),
            struct.pack("<II", len(text), CHUNK_JSON),
            text,
            struct.pack("<II", len(binary), CHUNK_BIN),
            binary,
        ]
    )


def write_gltf_splats(path: str | os.PathLike[str], gaussians: Gaussians) -> None:
    """Write ``gaussians`` atomically as a ``.glb`` with the ``KHR_gaussian_splatting`` extension."""
    data = gltf_splats_bytes(gaussians, name=Path(path).name.split(".")[0] or "splats")
    with atomic_write(path) as tmp:
        tmp.write_bytes(data)


__all__ = ["gltf_splats_bytes", "splat_attributes", "write_gltf_splats"]
