"""Small renders of assets: library thumbnails, CLIP image-embedding views and contact sheets.

Uses ``splatdream.render.mesh.render_mesh`` when it is available; otherwise a painter's-algorithm
fallback (flat-shaded faces sorted by depth, drawn with PIL) that needs nothing but numpy.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import trimesh
from PIL import Image, ImageDraw

from splatdream.scene import Cameras, orbit_ring

THUMB_SIZE = 96
BACKGROUND = (255, 255, 255)


def face_colors(mesh: trimesh.Trimesh) -> np.ndarray:
    """Per-face RGB uint8 [F, 3] from vertex colours, face colours or a sampled texture."""
    visual: Any = mesh.visual  # trimesh types it as a union; .kind says which
    try:
        if visual.kind == "texture":
            visual = visual.to_color()
        if visual.kind == "vertex":
            return visual.vertex_colors[:, :3][mesh.faces].mean(1).astype(np.uint8)
        if visual.kind == "face":
            return np.asarray(visual.face_colors)[:, :3].astype(np.uint8)
    except Exception:  # exotic materials: fall back to grey rather than fail a thumbnail
        pass
    return np.full((len(mesh.faces), 3), 180, np.uint8)


def _painter(mesh: trimesh.Trimesh, cameras: Cameras) -> np.ndarray:
    """Flat-shaded renders [C, H, W, 3] uint8, faces drawn back to front."""
    verts = np.asarray(mesh.vertices, np.float64)
    faces = np.asarray(mesh.faces)
    base = face_colors(mesh).astype(np.float64)
    normals = np.asarray(mesh.face_normals, np.float64)
    out = []
    for viewmat, K in zip(cameras.viewmats.double().numpy(), cameras.Ks.double().numpy(), strict=True):
        cam = verts @ viewmat[:3, :3].T + viewmat[:3, 3]
        z = np.maximum(cam[:, 2], 1e-6)
        uv = np.stack([K[0, 0] * cam[:, 0] / z + K[0, 2], K[1, 1] * cam[:, 1] / z + K[1, 2]], -1)
        n_cam = normals @ viewmat[:3, :3].T
        shade = 0.35 + 0.65 * np.clip(-n_cam[:, 2], 0.0, 1.0)  # headlight; back faces stay dim, not black
        colors = np.clip(base * shade[:, None], 0, 255).astype(np.uint8)
        order = np.argsort(-cam[faces, 2].mean(1))
        img = Image.new("RGB", (cameras.width, cameras.height), BACKGROUND)
        draw = ImageDraw.Draw(img)
        tri = uv[faces]
        for f in order:
            draw.polygon([tuple(p) for p in tri[f]], fill=tuple(int(c) for c in colors[f]))
        out.append(np.asarray(img))
    return np.stack(out)


def _to_uint8(images: object) -> np.ndarray:
    arr = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.shape[-1] == 4:  # composite RGBA over the white background
        rgb, a = arr[..., :3].astype(np.float64), arr[..., 3:].astype(np.float64)
        if arr.dtype == np.uint8:
            rgb, a = rgb / 255.0, a / 255.0
        arr = rgb * a + (1 - a)
    if arr.dtype != np.uint8:
        arr = np.clip(np.asarray(arr, np.float64) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return arr[..., :3]


def render_views(mesh: trimesh.Trimesh, cameras: Cameras, supersample: int = 1) -> np.ndarray:
    """Renders [C, H, W, 3] uint8 of ``mesh`` from ``cameras`` (lambert-shaded, white background)."""
    try:
        from splatdream.render.mesh import render_mesh
    except ImportError:
        return _painter(mesh, cameras)
    try:
        out = render_mesh(mesh, cameras, 1.0, shading="lambert", supersample=supersample)
        return _to_uint8(out[0] if isinstance(out, tuple) else out)  # (rgb [C,H,W,3] in [0,1], alpha)
    except Exception:  # the mesh renderer is best effort here; a thumbnail must never sink an ingest
        return _painter(mesh, cameras)


def thumbnail_png(mesh: trimesh.Trimesh, size: int = THUMB_SIZE) -> bytes:
    """A ``size``-square PNG of the asset from the front-right, slightly above."""
    cams = orbit_ring(1, size, size, elevation_deg=20.0, radius=2.6, fov_y_deg=45.0, start_azimuth_deg=30.0)
    buf = io.BytesIO()
    Image.fromarray(render_views(mesh, cams, supersample=2)[0]).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def embedding_views(mesh: trimesh.Trimesh, n: int = 8, size: int = 224) -> np.ndarray:
    """``n`` renders [n, size, size, 3] on an orbit: the views whose CLIP embeddings are averaged."""
    return render_views(mesh, orbit_ring(n, size, size, elevation_deg=15.0, radius=2.6, fov_y_deg=45.0))


def contact_sheet(
    rows: Sequence[tuple[str, Sequence[tuple[bytes | None, str]]]], tile: int = THUMB_SIZE
) -> Image.Image:
    """One row per prompt: its label, then each result's thumbnail with a short caption under it."""
    label_h, caption_h, pad = 16, 28, 4
    cols = max((len(items) for _, items in rows), default=1)
    width = pad + cols * (tile + pad)
    row_h = label_h + tile + caption_h + pad
    sheet = Image.new("RGB", (width, max(1, len(rows)) * row_h), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    for r, (label, items) in enumerate(rows):
        y = r * row_h
        draw.text((pad, y + 2), label[: width // 6], fill=(0, 0, 0))
        for c, (png, caption) in enumerate(items):
            x = pad + c * (tile + pad)
            if png:
                thumb = Image.open(io.BytesIO(png)).convert("RGB").resize((tile, tile))
                sheet.paste(thumb, (x, y + label_h))
            lines = textwrap.wrap(caption, width=max(8, tile // 6))[:2]
            draw.multiline_text((x, y + label_h + tile + 1), "\n".join(lines), fill=(60, 60, 60), spacing=1)
    return sheet
