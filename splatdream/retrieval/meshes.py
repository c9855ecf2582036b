"""Mesh files in, one normalised Trimesh out: the library's single definition of an asset's geometry.

Normalisation (applied once, at ingest): centre the bounding box on the origin, scale the farthest
vertex to ``radius`` (0.9, the starter library's value, so every asset lies inside the unit sphere)
and keep +Y up. glTF/GLB is +Y up by specification; OBJ/PLY/OFF carry no convention and are taken
as +Y up too (what most DCC exports write); STL is usually CAD Z-up, so pass ``up="z"`` for such
files. Materials and textures are kept: the normalised mesh is stored as .glb.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import trimesh

MESH_SUFFIXES = (".glb", ".gltf", ".obj", ".ply", ".stl", ".off")
NORMALISED_RADIUS = 0.9
"""Farthest vertex distance after normalisation (matches the starter library)."""

_Z_UP_TO_Y_UP = trimesh.transformations.rotation_matrix(-np.pi / 2, (1, 0, 0))


class MeshError(ValueError):
    """A file that is not a usable triangle mesh (corrupt, empty, a point cloud, ...)."""


def content_hash(path: Path) -> str:
    """Asset id: the first 24 hex digits (96 bits) of the file's SHA-256."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:24]


def load_any(path: Path) -> trimesh.Trimesh:
    """Load any supported file as one Trimesh (scene graphs flattened with their transforms)."""
    path = Path(path)
    if path.suffix.lower() not in MESH_SUFFIXES:
        raise MeshError(f"{path.name}: unsupported extension (supported: {', '.join(MESH_SUFFIXES)})")
    if path.stat().st_size == 0:
        raise MeshError(f"{path.name}: empty file")
    try:
        loaded = _read(path)
    except MeshError:
        raise
    except Exception as exc:  # trimesh raises anything from ValueError to struct.error on bad bytes
        raise MeshError(f"{path.name}: cannot be read as a mesh ({type(exc).__name__}: {exc})") from exc
    if len(loaded.faces) == 0 or len(loaded.vertices) == 0:
        raise MeshError(f"{path.name}: has no faces")
    if not np.isfinite(loaded.vertices).all():
        raise MeshError(f"{path.name}: has non-finite vertex positions")
    return loaded


def _read(path: Path) -> trimesh.Trimesh:
    """One Trimesh from a file; the starter module's loader when present (it simplifies PBR materials
    and bakes mixed textured/coloured parts so colours survive flattening)."""
    try:
        from splatdream.retrieval.starter import load_mesh
    except ImportError:
        load_mesh = None
    if load_mesh is not None:
        return load_mesh(path)
    loaded = trimesh.load(path)
    if isinstance(loaded, trimesh.Scene):
        parts = [g for g in loaded.dump() if isinstance(g, trimesh.Trimesh)] if loaded.geometry else []
        if not parts:
            raise MeshError(f"{path.name}: contains no triangle mesh")
        loaded = parts[0] if len(parts) == 1 else trimesh.util.concatenate(parts)
    if not isinstance(loaded, trimesh.Trimesh):
        raise MeshError(f"{path.name}: is a {type(loaded).__name__}, not a triangle mesh")
    return loaded


def normalise(mesh: trimesh.Trimesh, radius: float = NORMALISED_RADIUS, up: str = "y") -> np.ndarray:
    """Centre, scale into the sphere of ``radius`` and turn +``up`` into +Y, in place.

    Returns:
        The 4x4 transform applied (source coordinates -> library coordinates).
    """
    if up not in ("y", "z"):
        raise ValueError(f"up axis must be 'y' or 'z', got {up!r}")
    transform = np.eye(4) if up == "y" else _Z_UP_TO_Y_UP.copy()
    verts = trimesh.transform_points(mesh.vertices, transform)
    lo, hi = verts.min(0), verts.max(0)
    centre = (lo + hi) / 2
    extent = float(np.linalg.norm(verts - centre, axis=1).max())
    if not extent > 0:
        raise MeshError("mesh is degenerate (all vertices coincide)")
    scale = radius / extent
    step = np.eye(4)
    step[:3, :3] *= scale
    step[:3, 3] = -centre * scale
    transform = step @ transform
    mesh.apply_transform(transform)
    return transform


def to_glb(mesh: trimesh.Trimesh) -> bytes:
    """Binary glTF of ``mesh`` (vertex colours or textured material kept)."""
    return trimesh.Scene(mesh).export(file_type="glb")


def load_glb_bytes(data: bytes) -> trimesh.Trimesh:
    loaded = trimesh.load(io.BytesIO(data), file_type="glb")
    return loaded.to_geometry() if isinstance(loaded, trimesh.Scene) else loaded
