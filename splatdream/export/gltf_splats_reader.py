"""Read Gaussian splats from a glTF 2.0 ``.glb`` with the Khronos ``KHR_gaussian_splatting`` extension.

The layout constants live here so the reader's module needs nothing of the writers'; the writer and the
specification revision followed are in ``splatdream/export/gltf_splats.py``. The reader takes any file the
spec allows: float or normalised-integer attributes, interleaved buffer views, several splat primitives
(concatenated). Node transforms other than the identity are refused (SH bands would need rotating), as
are sparse accessors and external buffers.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np
import torch

from splatdream.errors import UserError
from splatdream.scene import Gaussians, num_sh_bases

EXTENSION = "KHR_gaussian_splatting"
SPEC_COMMIT = "63770cc70a3709cf101a42cece0bdf602b37e2e7"
"""KhronosGroup/glTF commit whose text of the extension this module follows."""

ROTATION = f"{EXTENSION}:ROTATION"
SCALE = f"{EXTENSION}:SCALE"
OPACITY = f"{EXTENSION}:OPACITY"


def sh_attribute(degree: int, coef: int) -> str:
    """Attribute semantic of SH band ``degree``, coefficient ``coef`` (0..2*degree, m = coef - degree)."""
    return f"{EXTENSION}:SH_DEGREE_{degree}_COEF_{coef}"


GLB_MAGIC = b"glTF"
CHUNK_JSON = 0x4E4F534A
CHUNK_BIN = 0x004E4942
FLOAT, UBYTE, _BYTE, _USHORT, _SHORT, _UINT = 5126, 5121, 5120, 5123, 5122, 5125
_COMPONENT_DTYPES = {FLOAT: "<f4", UBYTE: "u1", _BYTE: "i1", _USHORT: "<u2", _SHORT: "<i2", _UINT: "<u4"}
_TYPE_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}
POINTS = 0
_MIN_OPACITY = float(np.finfo(np.float32).tiny)
_MAX_OPACITY = float(np.nextafter(np.float32(1), np.float32(0)))
_MIN_SCALE = float(np.finfo(np.float32).smallest_subnormal)


class GltfSplatsError(UserError, ValueError):
    """A .glb that holds no readable ``KHR_gaussian_splatting`` primitive, or one that breaks the spec."""


# -- reading -------------------------------------------------------------------------------------
def _parse_glb(path: Path) -> tuple[dict[str, Any], bytes]:
    raw = path.read_bytes()
    if raw[:1] == b"{":
        raise GltfSplatsError(
            f"{path} is a text .gltf; pass the binary .glb (e.g. convert it with "
            "npx @gltf-transform/cli copy in.gltf out.glb)"
        )
    if len(raw) < 20 or raw[:4] != GLB_MAGIC:
        raise GltfSplatsError(f"{path} is not a binary glTF (.glb) file: it does not start with 'glTF'")
    version, length = struct.unpack_from("<II", raw, 4)
    if version != 2:
        raise GltfSplatsError(f"{path} is glTF version {version}; only glTF 2.0 is read")
    if length > len(raw):
        raise GltfSplatsError(
            f"{path} declares {length:,} bytes but has {len(raw):,}: truncated "
            "(an interrupted copy or write?)"
        )
    chunks: dict[int, bytes] = {}
    pos = 12
    while pos + 8 <= length:
        size, kind = struct.unpack_from("<II", raw, pos)
        if pos + 8 + size > length:
            raise GltfSplatsError(f"{path}: a chunk runs past the end of the file (truncated?)")
        chunks.setdefault(kind, raw[pos + 8 : pos + 8 + size])
        pos += 8 + size + (-size) % 4
    if CHUNK_JSON not in chunks:
        raise GltfSplatsError(f"{path} has no JSON chunk: not a valid .glb")
    try:
        doc = json.loads(chunks[CHUNK_JSON].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GltfSplatsError(f"{path}: its JSON chunk does not parse ({exc})") from exc
    if not isinstance(doc, dict):
        raise GltfSplatsError(f"{path}: its JSON chunk is not an object")
    return doc, chunks.get(CHUNK_BIN, b"")


def _read_accessor(doc: dict[str, Any], binary: bytes, index: int, path: Path) -> np.ndarray:
    """Accessor ``index`` as float64 [count, width]; normalised integers are mapped as glTF says."""
    try:
        acc = doc["accessors"][index]
        view = doc["bufferViews"][acc["bufferView"]]
        width = _TYPE_WIDTH[acc["type"]]
        dtype = np.dtype(_COMPONENT_DTYPES[acc["componentType"]])
        count = int(acc["count"])
    except (KeyError, IndexError, TypeError) as exc:
        raise GltfSplatsError(
            f"{path}: accessor {index} is incomplete or of an unsupported kind "
            f"({type(exc).__name__}: {exc}); sparse accessors are not read"
        ) from exc
    buffers = doc.get("buffers") or [{}]
    if view.get("buffer", 0) != 0 or "uri" in buffers[0]:
        raise GltfSplatsError(
            f"{path}: accessor {index} lives in an external buffer; pass a self-contained .glb"
        )
    start = int(view.get("byteOffset", 0)) + int(acc.get("byteOffset", 0))
    stride = int(view.get("byteStride", 0)) or dtype.itemsize * width
    end = start + stride * (count - 1) + dtype.itemsize * width if count else start
    if count < 0 or end > int(view.get("byteOffset", 0)) + int(view["byteLength"]) or end > len(binary):
        raise GltfSplatsError(f"{path}: accessor {index} reads past its buffer view (truncated file?)")
    values = np.ndarray(
        (count, width), dtype=dtype, buffer=binary, offset=start, strides=(stride, dtype.itemsize)
    ).astype(np.float64)
    if acc.get("normalized"):
        info = np.iinfo(dtype)
        values = np.maximum(values / info.max, -1.0)
    return values


def _node_matrix(node: dict[str, Any]) -> np.ndarray:
    """A node's local 4x4 transform (column-vector convention) from ``matrix`` or TRS."""
    if "matrix" in node:
        return np.asarray(node["matrix"], dtype=np.float64).reshape(4, 4).T  # glTF stores column-major
    x, y, z, w = (float(v) for v in node.get("rotation", [0, 0, 0, 1]))
    rot = np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )
    m = np.eye(4)
    m[:3, :3] = rot * np.asarray(node.get("scale", [1, 1, 1]), dtype=np.float64)
    m[:3, 3] = node.get("translation", [0, 0, 0])
    return m


def _splat_primitives(doc: dict[str, Any], path: Path) -> list[dict[str, Any]]:
    """Splat primitives of the meshes the default scene's nodes place; refuses non-identity transforms."""
    nodes = doc.get("nodes", [])
    scenes = doc.get("scenes", [])
    roots = scenes[doc.get("scene", 0)].get("nodes", []) if scenes else list(range(len(nodes)))
    meshes = doc.get("meshes", [])
    found: list[dict[str, Any]] = []
    identity = np.eye(4)
    stack = [(int(i), identity) for i in roots]
    seen: set[int] = set()
    while stack:
        i, parent = stack.pop()
        if i in seen:  # a node graph must be a forest; don't loop on a malformed one
            raise GltfSplatsError(f"{path}: node {i} is reached twice; the node hierarchy is not a tree")
        seen.add(i)
        node = nodes[i]
        local = _node_matrix(node)
        world = parent @ local
        if "mesh" in node:
            prims = [
                p for p in meshes[node["mesh"]].get("primitives", []) if EXTENSION in p.get("extensions", {})
            ]
            if prims and not np.allclose(world, identity):
                raise GltfSplatsError(
                    f"{path}: node {i} ({node.get('name', 'unnamed')}) places splats with a transform; "
                    "only untransformed splat nodes are read (rotating SH bands is not supported). "
                    "Bake the transform into the splats with the tool that wrote the file"
                )
            found += prims
        stack += [(int(c), world) for c in node.get("children", [])]
    return found


def read_gltf_splats(path: str | os.PathLike[str]) -> Gaussians:
    """Read every ``KHR_gaussian_splatting`` primitive of a ``.glb`` into raw-parameter float32 ``Gaussians``.

    Activated values are mapped back: ``log(scale)``, ``logit(opacity)``, ``xyzw -> wxyz``. A float32
    opacity of exactly 0 or 1 maps to the nearest float32 inside the open interval, so its logit stays
    finite. NaN/inf are kept as read (the caller decides; ``splatdream.export.read_scene`` drops them).
    Raises ``GltfSplatsError`` naming the problem for a .glb without splats or one that breaks the spec.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such .glb file: {path}")
    doc, binary = _parse_glb(path)
    try:
        prims = _splat_primitives(doc, path)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, GltfSplatsError):
            raise
        raise GltfSplatsError(
            f"{path}: its glTF JSON is malformed ({type(exc).__name__}: {exc}) in the scene, "
            "nodes or meshes; re-export it from the program that made it"
        ) from exc
    if not prims:
        kind = "a mesh" if doc.get("meshes") else "no meshes"
        raise GltfSplatsError(
            f"{path} holds no Gaussian splats (no primitive with the {EXTENSION} extension; it has {kind}). "
            "Pass a .glb written by splatdream export --format gltf-splats or another splat tool"
        )
    try:
        parts = [_read_primitive(doc, binary, p, path) for p in prims]
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, GltfSplatsError):
            raise
        raise GltfSplatsError(
            f"{path}: its splat primitive is malformed ({type(exc).__name__}: {exc}); "
            "re-export it from the program that made it"
        ) from exc
    degree = min(g.sh_degree for g in parts)
    return Gaussians.cat([g.with_sh_degree(degree) for g in parts])


def _read_primitive(doc: dict[str, Any], binary: bytes, prim: dict[str, Any], path: Path) -> Gaussians:
    ext = prim["extensions"][EXTENSION]
    kernel = ext.get("kernel") if isinstance(ext, dict) else None
    if kernel != "ellipse":
        raise GltfSplatsError(
            f"{path}: splat kernel {kernel!r} is not read; only 'ellipse' (the base spec's)"
        )
    if prim.get("mode", 4) != POINTS:
        raise GltfSplatsError(
            f"{path}: a {EXTENSION} primitive must have mode POINTS (0), not {prim.get('mode', 4)}"
        )
    attributes = prim.get("attributes", {})
    needed = ["POSITION", ROTATION, SCALE, OPACITY, sh_attribute(0, 0)]
    missing = [a for a in needed if a not in attributes]
    if missing:
        raise GltfSplatsError(
            f"{path}: the splat primitive lacks the required attributes {', '.join(missing)}"
        )

    def get(semantic: str, width: int) -> np.ndarray:
        values = _read_accessor(doc, binary, attributes[semantic], path)
        if values.shape[1] != width:
            raise GltfSplatsError(
                f"{path}: {semantic} has {values.shape[1]} components, the spec says {width}"
            )
        return values

    means = get("POSITION", 3)
    n = len(means)
    bands = [get(sh_attribute(0, 0), 3)]
    degree = 0
    while degree < 3 and all(sh_attribute(degree + 1, c) in attributes for c in range(2 * degree + 3)):
        degree += 1
        bands += [get(sh_attribute(degree, c), 3) for c in range(2 * degree + 1)]
    partial = [s for s in attributes if s.startswith(f"{EXTENSION}:SH_DEGREE_{degree + 1}_")]
    if partial:
        raise GltfSplatsError(
            f"{path}: SH band {degree + 1} is only partly defined ({', '.join(sorted(partial))}); "
            "the spec requires all its coefficients or none"
        )
    assert len(bands) == num_sh_bases(degree)
    rot, scales, opacity = get(ROTATION, 4), get(SCALE, 3), get(OPACITY, 1)[:, 0]
    if any(len(a) != n for a in [rot, scales, opacity, *bands]):
        raise GltfSplatsError(f"{path}: the splat attributes have different counts; every one must have {n}")
    with np.errstate(invalid="ignore"):
        if bool((opacity < 0).any() | (opacity > 1).any()):
            raise GltfSplatsError(f"{path}: opacities outside [0, 1], which the spec calls invalid")
        if bool((scales < 0).any()):
            raise GltfSplatsError(f"{path}: negative scales, which the spec forbids")
    p = np.clip(opacity, _MIN_OPACITY, _MAX_OPACITY)
    with np.errstate(divide="ignore", invalid="ignore"):
        logits = np.log(p) - np.log1p(-p)
        log_scales = np.log(np.maximum(scales, _MIN_SCALE))

    def t(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))

    return Gaussians(
        means=t(means),
        quats=t(rot[:, [3, 0, 1, 2]]),
        log_scales=t(log_scales),
        logit_opacities=t(logits),
        sh=t(np.stack(bands, axis=1)),
    )


__all__ = [
    "EXTENSION",
    "OPACITY",
    "ROTATION",
    "SCALE",
    "SPEC_COMMIT",
    "GltfSplatsError",
    "read_gltf_splats",
    "sh_attribute",
]
