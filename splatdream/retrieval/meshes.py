"""Mesh files in, one normalised Trimesh out: the library's single definition of an asset's geometry.

Normalisation (applied once, at ingest): centre the bounding box on the origin, scale the farthest
vertex to ``radius`` (0.9, the starter library's value, so every asset lies inside the unit sphere)
and keep +Y up. glTF/GLB is +Y up by specification; OBJ/PLY/OFF carry no convention and are taken
as +Y up too (what most DCC exports write); STL is usually CAD Z-up, so pass ``up="z"`` for such
files. Materials and textures are kept: the normalised mesh is stored as .glb.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import trimesh

from splatdream.errors import UserError

MESH_SUFFIXES = (".glb", ".gltf", ".obj", ".ply", ".stl", ".off")
NORMALISED_RADIUS = 0.9
"""Farthest vertex distance after normalisation (matches the starter library)."""

_Z_UP_TO_Y_UP = trimesh.transformations.rotation_matrix(-np.pi / 2, (1, 0, 0))


class MeshError(UserError, ValueError):
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
        loaded = load_mesh(path)
    except MeshError:
        raise
    except Exception as exc:  # trimesh raises anything from ValueError to struct.error on bad bytes
        raise MeshError(f"{path.name}: cannot be read as a mesh ({type(exc).__name__}: {exc})") from exc
    if len(loaded.faces) == 0 or len(loaded.vertices) == 0:
        raise MeshError(f"{path.name}: has no faces")
    if not np.isfinite(loaded.vertices).all():
        raise MeshError(f"{path.name}: has non-finite vertex positions")
    extent = float(np.ptp(loaded.vertices, axis=0).max())
    if not float(loaded.area) > 1e-12 * max(extent, 1e-30) ** 2:
        raise MeshError(f"{path.name}: has zero surface area (every face is degenerate); nothing to render")
    return loaded


def load_mesh(path: str | Path) -> trimesh.Trimesh:
    """Load a glb/gltf/obj/ply/... as one Trimesh with its colours or texture kept.

    Scenes are flattened with their node transforms. PBR materials are converted to simple
    ones so ``sample_surface(..., sample_color=True)`` and ``visual.to_color()`` work. When
    parts mix textured and colour visuals, everything is baked to vertex colours first (a
    concatenation would otherwise drop them).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"mesh file {path} does not exist")
    loaded = trimesh.load(path, process=False)
    if isinstance(loaded, trimesh.Scene):
        geoms = [g for g in loaded.dump() if isinstance(g, trimesh.Trimesh)] if loaded.geometry else []
        if not geoms:
            raise ValueError(f"{path} holds no triangle mesh (a point cloud or empty scene?)")
        if len(geoms) == 1:
            mesh = geoms[0]
        else:
            # Any: trimesh types .visual as a union; the .kind string says which it is
            visuals: list[Any] = [g.visual for g in geoms]
            kinds = {v.kind for v in visuals}
            if len(kinds) > 1 or "texture" in kinds:
                for g in geoms:
                    _simplify_material(g)
                    visual: Any = g.visual
                    if visual.kind == "texture":
                        g.visual = visual.to_color()
            mesh = trimesh.util.concatenate(geoms)
    elif isinstance(loaded, trimesh.Trimesh):
        mesh = loaded
    else:
        raise ValueError(f"{path} is a {type(loaded).__name__}, not a triangle mesh")
    _simplify_material(mesh)
    return mesh


def _simplify_material(mesh: trimesh.Trimesh) -> None:
    visual: Any = mesh.visual  # trimesh types it as a union; .kind says which
    if visual.kind == "texture" and isinstance(visual.material, trimesh.visual.material.PBRMaterial):
        visual.material = visual.material.to_simple()


def mesh_is_coloured(mesh: trimesh.Trimesh) -> bool:
    """True when the mesh carries more than trimesh's default grey (colours or a texture image)."""
    v: Any = mesh.visual  # trimesh types it as a union; .kind says which
    if v.kind == "texture":
        return getattr(v.material, "image", None) is not None
    if v.kind in ("vertex", "face"):
        cols = v.vertex_colors if v.kind == "vertex" else v.face_colors
        return not bool(np.all(cols[:, :3] == trimesh.visual.DEFAULT_COLOR[:3]))
    return False


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
