"""Primitive parts and painting for the procedural starter library.

Builders compose objects from a handful of primitives (boxes, cylinders, cones, spheres,
capsules, tori, lathes, extrusions), each a ``Part`` with one paint: an RGB colour or ``TEX``
(the variant's procedural texture image). ``assemble`` turns the parts into one Trimesh:

- no textured part -> per-vertex colours (parts keep their own vertices, so colours stay crisp);
- any textured part -> one UV texture atlas: the top half holds the procedural texture, the
  bottom half a grid of solid colour cells that the plain parts' UVs point into. One material
  per object keeps the glb a single primitive and makes colour lookup uniform downstream.

Conventions: +Y up, the object's front faces +Z. ``assemble`` centres the bounding box and
scales the farthest vertex to ``radius`` (0.9), so every object sits inside the unit sphere.
Everything here is deterministic: no randomness, fixed tessellations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import trimesh
from PIL import Image

RGB = tuple[int, int, int]
TEX = "tex"
Paint = RGB | str
Vec3 = Sequence[float]

ATLAS = 256
"""Atlas side in pixels: texture in rows [0, ATLAS/2), colour cells below."""
CELLS = 8
"""Colour cells per row in the atlas's bottom half (CELLS * CELLS / 2 colours at most)."""

_AXES = {"x": (0, 0, 1, -np.pi / 2), "y": None, "z": (1, 0, 0, np.pi / 2)}


@dataclass
class Part:
    mesh: trimesh.Trimesh
    paint: Paint


def _place(mesh: trimesh.Trimesh, at: Vec3 = (0, 0, 0), axis: str = "y") -> trimesh.Trimesh:
    """Rotate a +Y-aligned primitive onto ``axis`` and translate it to ``at``."""
    rot = _AXES[axis]
    if rot is not None:
        mesh.apply_transform(trimesh.transformations.rotation_matrix(rot[3], rot[:3]))
    mesh.apply_translation(np.asarray(at, dtype=np.float64))
    return mesh


def _z_to_y(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """trimesh builds cylinders/cones/tori along +Z; ours start along +Y."""
    mesh.apply_transform(trimesh.transformations.rotation_matrix(-np.pi / 2, (1, 0, 0)))
    return mesh


def box(size: Vec3, at: Vec3 = (0, 0, 0), paint: Paint = (200, 200, 200)) -> Part:
    """Axis-aligned box of extents ``size`` centred at ``at``."""
    return Part(_place(trimesh.creation.box(extents=size), at), paint)


def cyl(
    r: float,
    h: float,
    at: Vec3 = (0, 0, 0),
    paint: Paint = (200, 200, 200),
    axis: str = "y",
    sections: int = 24,
) -> Part:
    """Cylinder of radius ``r`` and length ``h`` centred at ``at`` along ``axis``."""
    return Part(_place(_z_to_y(trimesh.creation.cylinder(r, h, sections=sections)), at, axis), paint)


def cone(
    r: float,
    h: float,
    at: Vec3 = (0, 0, 0),
    paint: Paint = (200, 200, 200),
    axis: str = "y",
    sections: int = 24,
) -> Part:
    """Cone with its base centred at ``at`` and its tip ``h`` further along ``axis``."""
    return Part(_place(_z_to_y(trimesh.creation.cone(r, h, sections=sections)), at, axis), paint)


def sphere(
    r: float,
    at: Vec3 = (0, 0, 0),
    paint: Paint = (200, 200, 200),
    scale: Vec3 = (1, 1, 1),
    subdivisions: int = 2,
) -> Part:
    """Icosphere of radius ``r``, optionally stretched per axis into an ellipsoid."""
    m = trimesh.creation.icosphere(subdivisions=subdivisions, radius=r)
    m.apply_scale(np.asarray(scale, dtype=np.float64))
    return Part(_place(m, at), paint)


def capsule(
    r: float, h: float, at: Vec3 = (0, 0, 0), paint: Paint = (200, 200, 200), axis: str = "y"
) -> Part:
    """Capsule whose cylindrical middle is ``h`` long, centred at ``at``."""
    m = _z_to_y(trimesh.creation.capsule(height=h, radius=r, count=[12, 12]))
    return Part(_place(m, at, axis), paint)


def torus(
    big: float, small: float, at: Vec3 = (0, 0, 0), paint: Paint = (200, 200, 200), axis: str = "y"
) -> Part:
    """Torus lying in the plane normal to ``axis`` (a ring seen from above when axis='y')."""
    m = _z_to_y(trimesh.creation.torus(big, small, major_sections=24, minor_sections=12))
    return Part(_place(m, at, axis), paint)


def lathe(
    profile: Sequence[tuple[float, float]],
    at: Vec3 = (0, 0, 0),
    paint: Paint = (200, 200, 200),
    sections: int = 24,
) -> Part:
    """Surface of revolution about +Y from ``(radius, height)`` points (vases, mugs, bottles)."""
    m = _z_to_y(trimesh.creation.revolve(np.asarray(profile, dtype=np.float64), sections=sections))
    return Part(_place(m, at), paint)


def rod(p0: Vec3, p1: Vec3, r: float, paint: Paint = (200, 200, 200), sections: int = 12) -> Part:
    """Cylinder between two points (legs, spokes, branches)."""
    seg = np.asarray([p0, p1], dtype=np.float64)
    return Part(trimesh.creation.cylinder(r, segment=seg, sections=sections), paint)


def extrude(
    outline: Sequence[tuple[float, float]],
    depth: float,
    at: Vec3 = (0, 0, 0),
    paint: Paint = (200, 200, 200),
    axis: str = "z",
) -> Part:
    """Prism from a star-shaped 2D outline (x, y), ``depth`` thick along ``axis`` (x or z).

    Triangulated as a fan from the outline's centroid, so the outline must be star-shaped
    around it (blades, gables, fins, hearts): no polygon library needed.
    """
    pts = np.asarray(outline, dtype=np.float64)
    n = len(pts)
    c = pts.mean(axis=0)
    verts2 = np.vstack([pts, c[None]])
    front = np.c_[verts2, np.full(n + 1, depth / 2)]
    back = np.c_[verts2, np.full(n + 1, -depth / 2)]
    verts = np.vstack([front, back])
    i = np.arange(n)
    j = (i + 1) % n
    faces = [
        np.c_[np.full(n, n), i, j],
        np.c_[np.full(n, 2 * n + 1), n + 1 + j, n + 1 + i],
        np.c_[i, n + 1 + i, j],
        np.c_[j, n + 1 + i, n + 1 + j],
    ]
    m = trimesh.Trimesh(verts, np.vstack(faces), process=False)
    if m.volume < 0:  # clockwise outline
        m.invert()
    if axis == "x":
        m.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, (0, 1, 0)))
    return Part(_place(m, at), paint)


# -- procedural textures ------------------------------------------------------------------------


def texture_image(kind: str, a: RGB, b: RGB, size: int = ATLAS) -> np.ndarray:
    """A deterministic procedural texture [size/2, size, 3] uint8 blending colours ``a`` and ``b``."""
    h, w = size // 2, size
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    if kind == "wood":
        ring = np.sin(0.35 * x + 3.0 * np.sin(y / 11.0) + 1.5 * np.sin(x / 23.0)) * 0.5 + 0.5
        t = ring**3
    elif kind == "checker":
        t = ((x // 16 + y // 16) % 2).astype(np.float64)
    elif kind == "stripes":
        t = ((x + y) // 12 % 2).astype(np.float64)
    elif kind == "brick":
        row = y // 12
        t = ((y % 12 < 2) | ((x + 12 * (row % 2)) % 24 < 2)).astype(np.float64)
    elif kind == "dots":
        t = ((((x % 16) - 8) ** 2 + ((y % 16) - 8) ** 2) < 16).astype(np.float64)
    elif kind == "marble":
        t = (np.sin(0.08 * x + 4.0 * np.sin(0.05 * y) + 2.0 * np.sin(0.13 * (x + y))) * 0.5 + 0.5) ** 6
    elif kind == "bands":
        t = (x // 43 % 2).astype(np.float64)
    elif kind == "grass":
        t = (np.sin(1.3 * x) * np.sin(0.7 * y + 2 * np.sin(0.5 * x)) * 0.5 + 0.5) ** 2
    else:
        raise ValueError(
            f"unknown texture {kind!r}; choose wood, checker, stripes, bands, brick, dots, marble, grass"
        )
    ca, cb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    img = ca[None, None] * (1 - t[..., None]) + cb[None, None] * t[..., None]
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def _planar_uv(mesh: trimesh.Trimesh) -> np.ndarray:
    """Per-vertex UV in [0, 1]^2 by projecting each face along its dominant normal axis.

    Expects unmerged vertices (three per face) so every face gets its own projection.
    """
    v = mesh.vertices
    lo, hi = v.min(axis=0), v.max(axis=0)
    span = np.maximum(hi - lo, 1e-9)
    vn = (v - lo) / span.max()
    dom = np.abs(mesh.face_normals).argmax(axis=1)
    keep = np.array([[1, 2], [0, 2], [0, 1]])[dom]  # drop the dominant axis
    uv = np.zeros((len(v), 2))
    for corner in range(3):
        idx = mesh.faces[:, corner]
        uv[idx] = np.take_along_axis(vn[idx], keep, axis=1)
    return uv


def _normalise(mesh: trimesh.Trimesh, radius: float) -> None:
    lo, hi = mesh.bounds
    mesh.apply_translation(-(lo + hi) / 2)
    r = float(np.linalg.norm(mesh.vertices, axis=1).max())
    mesh.apply_scale(radius / r)


def assemble(
    parts: Sequence[Part],
    texture: tuple[str, RGB, RGB] | None = None,
    radius: float = 0.9,
    metallic: float = 0.0,
    roughness: float = 0.8,
) -> trimesh.Trimesh:
    """One normalised, painted Trimesh from ``parts`` (see module docstring for the two paths)."""
    if not parts:
        raise ValueError("an object needs at least one part")
    textured = any(p.paint == TEX for p in parts)
    if textured and texture is None:
        raise ValueError("a part is painted TEX but the variant names no texture")
    meshes = []
    for p in parts:
        m = p.mesh.copy()
        if textured:
            m.unmerge_vertices()
        meshes.append(m)
    if not textured:
        for m, p in zip(meshes, parts, strict=True):
            rgba = np.array([*p.paint, 255], dtype=np.uint8)
            m.visual = trimesh.visual.ColorVisuals(m, vertex_colors=np.tile(rgba, (len(m.vertices), 1)))
        out = trimesh.util.concatenate(meshes)
        _normalise(out, radius)
        return out

    assert texture is not None
    colours = sorted({p.paint for p in parts if not isinstance(p.paint, str)})  # all but TEX
    if len(colours) > CELLS * CELLS // 2:
        raise ValueError(
            f"at most {CELLS * CELLS // 2} plain colours per textured object, got {len(colours)}"
        )
    atlas = np.zeros((ATLAS, ATLAS, 3), dtype=np.uint8)
    atlas[: ATLAS // 2] = texture_image(*texture)
    cell = ATLAS // CELLS
    cell_uv: dict[RGB, tuple[float, float]] = {}
    for k, c in enumerate(colours):
        row, col = ATLAS // 2 + (k // CELLS) * cell, (k % CELLS) * cell
        atlas[row : row + cell, col : col + cell] = c
        # glTF UV: v = 0 at the image's top row, trimesh flips; we give OpenGL-style v (0 = bottom).
        cell_uv[c] = ((col + cell / 2) / ATLAS, 1.0 - (row + cell / 2) / ATLAS)
    uvs = []
    for m, p in zip(meshes, parts, strict=True):
        if p.paint == TEX:
            uv = _planar_uv(m)
            # Texture occupies the top half of the image: v in (0.5, 1]; keep a 2-px margin.
            margin = 2.0 / ATLAS
            uv = np.c_[margin + uv[:, 0] * (1 - 2 * margin), 0.5 + margin + uv[:, 1] * (0.5 - 2 * margin)]
        else:
            assert not isinstance(p.paint, str)  # TEX is the only string paint
            uv = np.tile(np.asarray(cell_uv[p.paint]), (len(m.vertices), 1))
        uvs.append(uv)
    out = trimesh.util.concatenate([trimesh.Trimesh(m.vertices, m.faces, process=False) for m in meshes])
    material = trimesh.visual.material.PBRMaterial(
        baseColorTexture=Image.fromarray(atlas),
        metallicFactor=metallic,
        roughnessFactor=roughness,
    )
    out.visual = trimesh.visual.TextureVisuals(uv=np.vstack(uvs), material=material)
    _normalise(out, radius)
    return out


def turn(part: Part, degrees: float, axis: str = "y", about: Vec3 = (0, 0, 0)) -> Part:
    """Rotate a part in place about an axis through ``about`` (blades, tilted legs, wings)."""
    vec = {"x": (1, 0, 0), "y": (0, 1, 0), "z": (0, 0, 1)}[axis]
    part.mesh.apply_transform(trimesh.transformations.rotation_matrix(np.radians(degrees), vec, about))
    return part


def mirror_x(parts: Sequence[Part]) -> list[Part]:
    """The parts plus their mirror images across x = 0 (left/right symmetric pieces)."""
    out = list(parts)
    for p in parts:
        m = p.mesh.copy()
        m.apply_transform(np.diag([-1.0, 1.0, 1.0, 1.0]))
        m.invert()  # mirroring flips the winding
        out.append(Part(m, p.paint))
    return out


@dataclass(frozen=True)
class Variant:
    """One procedural asset: how to build it and how to describe it."""

    name: str
    category: str
    caption: str
    tags: tuple[str, ...]
    make: Callable[[], list[Part]]
    """Builds the parts (lazily: importing the catalogue builds nothing)."""
    texture: tuple[str, RGB, RGB] | None = None
    """(kind, colour a, colour b) of the procedural texture for parts painted TEX."""

    def build(self) -> trimesh.Trimesh:
        return assemble(self.make(), self.texture)


# A small shared palette so captions and colours agree.
RED, DARK_RED, ORANGE, YELLOW, GOLD = (
    (200, 40, 35),
    (120, 20, 25),
    (235, 130, 30),
    (240, 210, 50),
    (212, 175, 55),
)
GREEN, DARK_GREEN, LIME, TEAL = (60, 160, 70), (30, 95, 45), (150, 210, 60), (30, 140, 140)
BLUE, NAVY, SKY, PURPLE, PINK = (40, 90, 200), (25, 35, 90), (120, 180, 235), (120, 60, 170), (235, 130, 170)
WHITE, CREAM, LIGHT_GREY, GREY, DARK_GREY, BLACK = (
    (240, 240, 240),
    (240, 225, 190),
    (190, 190, 195),
    (120, 120, 125),
    (60, 60, 65),
    (20, 20, 22),
)
BROWN, DARK_BROWN, TAN, WOOD_LIGHT, WOOD_DARK = (
    (120, 75, 40),
    (70, 42, 22),
    (205, 170, 120),
    (200, 160, 110),
    (110, 65, 35),
)
SILVER, STEEL, BEIGE = (200, 200, 210), (150, 160, 170), (225, 210, 180)
