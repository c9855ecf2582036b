"""A small CPU z-buffer rasteriser for triangle meshes: the reference the Gaussians are checked against.

Independent of the Gaussian rasteriser on purpose (init-fidelity tests compare the two), and
used for thumbnails and training renders of library assets. Same cameras as ``splatdream.scene``
(OpenCV, world-to-camera ``viewmats``, pixel centres at +0.5). Colour comes from the mesh's UV
texture (bilinear), else vertex colours (interpolated), else face colours, else the material's
base colour. ``shading="albedo"`` returns that colour unlit (what Gaussians carry);
``"lambert"`` adds a headlight so thumbnails read as 3D.

Vectorised per camera: every triangle enumerates the pixel centres in its screen bounding box,
barycentric tests keep the covered ones, and a scatter-min over perspective-correct depth
resolves visibility. Fine at 64-256 px for meshes of tens of thousands of faces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
import trimesh
from torch import Tensor

from splatdream.scene import Cameras

Shading = Literal["albedo", "lambert"]


@dataclass
class SurfaceColour:
    """Per-face colour data of a mesh, enough to colour any point given (face, barycentrics)."""

    corner_rgb: Tensor | None  # [F, 3, 3] per-corner colour in [0, 1] (vertex/face/base colour)
    corner_uv: Tensor | None  # [F, 3, 2] per-corner UV when textured
    image: Tensor | None  # [H, W, 3] texture in [0, 1]
    tint: Tensor  # [3] multiplies the texture (PBR baseColorFactor)

    @classmethod
    def from_mesh(cls, mesh: trimesh.Trimesh, face_index: np.ndarray | None = None) -> SurfaceColour:
        """Gather colour data for all faces, or only for ``face_index`` (rows then follow that order)."""
        faces = np.asarray(mesh.faces)
        if face_index is not None:
            faces = faces[face_index]
        visual: Any = mesh.visual  # trimesh types it as a union; .kind says which
        tint = torch.ones(3)
        if visual.kind == "texture" and visual.uv is not None and len(visual.uv) == len(mesh.vertices):
            material = visual.material
            image = getattr(material, "image", None)
            if image is None:
                image = getattr(material, "baseColorTexture", None)
            factor = getattr(material, "baseColorFactor", None)
            if factor is not None:
                tint = torch.as_tensor(np.asarray(factor, dtype=np.float64)[:3] / 255.0, dtype=torch.float32)
            if image is not None:
                img = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
                uv = torch.as_tensor(np.asarray(visual.uv, dtype=np.float32)[faces])
                return cls(None, uv, torch.from_numpy(img), tint)
            rgb = np.broadcast_to(_material_colour(material), (len(faces), 3, 3))
            return cls(torch.as_tensor(np.ascontiguousarray(rgb)), None, None, tint)
        if visual.kind == "vertex":
            rgb = np.asarray(visual.vertex_colors, dtype=np.float32)[:, :3][faces] / 255.0
        elif visual.kind == "face":
            fc = np.asarray(visual.face_colors)
            fc = fc if face_index is None else fc[face_index]
            rgb = np.repeat(fc[:, None, :3].astype(np.float32) / 255.0, 3, axis=1)
        else:
            rgb = np.broadcast_to(_material_colour(getattr(visual, "material", None)), (len(faces), 3, 3))
        return cls(torch.as_tensor(np.ascontiguousarray(rgb, dtype=np.float32)), None, None, tint)

    def at(self, face: Tensor, bary: Tensor) -> Tensor:
        """Colour [N, 3] in [0, 1] at points given by face index [N] and barycentrics [N, 3]."""
        if self.image is not None:
            assert self.corner_uv is not None
            uv = (self.corner_uv[face] * bary[..., None]).sum(dim=1)
            return (sample_texture(self.image, uv) * self.tint).clamp(0, 1)
        assert self.corner_rgb is not None
        return (self.corner_rgb[face] * bary[..., None]).sum(dim=1)


def _material_colour(material: object) -> np.ndarray:
    """Base colour of a material in [0, 1] (light grey when there is none)."""
    for attr in ("baseColorFactor", "main_color", "diffuse"):
        c = getattr(material, attr, None)
        if c is not None:
            c = np.asarray(c, dtype=np.float32)[:3]
            return c / 255.0 if c.max() > 1.0 else c
    return np.full(3, 0.8, dtype=np.float32)


def sample_texture(image: Tensor, uv: Tensor) -> Tensor:
    """Bilinear lookup with wrap-around: image [H, W, 3], uv [N, 2] (v = 0 at the bottom row) -> [N, 3]."""
    h, w = image.shape[:2]
    flat = image.reshape(h * w, -1)
    x = uv[:, 0] * w - 0.5
    y = (1.0 - uv[:, 1]) * h - 0.5
    x0, y0 = torch.floor(x), torch.floor(y)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    x0i, y0i = x0.long() % w, y0.long() % h
    x1i, y1i = (x0i + 1) % w, (y0i + 1) % h
    r0, r1 = y0i * w, y1i * w
    top = torch.lerp(flat.index_select(0, r0 + x0i), flat.index_select(0, r0 + x1i), fx)
    bottom = torch.lerp(flat.index_select(0, r1 + x0i), flat.index_select(0, r1 + x1i), fx)
    return torch.lerp(top, bottom, fy)


def rasterize_mesh(
    vertices: Tensor,  # [V, 3] world
    faces: Tensor,  # [F, 3] long
    viewmat: Tensor,  # [4, 4] world-to-camera
    K: Tensor,  # [3, 3]
    width: int,
    height: int,
    near: float = 1e-3,
) -> tuple[Tensor, Tensor, Tensor]:
    """Visible face per pixel for one camera.

    Returns:
        face_id [H, W] long (-1 where empty), bary [H, W, 3] perspective-correct barycentrics,
        depth [H, W] camera z (inf where empty).
    """
    cam = vertices @ viewmat[:3, :3].T + viewmat[:3, 3]
    z = cam[:, 2]
    px = K[0, 0] * cam[:, 0] / z + K[0, 2]
    py = K[1, 1] * cam[:, 1] / z + K[1, 2]
    fz = z[faces]  # [F, 3]
    keep = (fz > near).all(dim=1)
    fidx = torch.nonzero(keep).squeeze(1)
    fx, fy, fz = px[faces[fidx]], py[faces[fidx]], fz[fidx]
    # Pixel (i, j) has its centre at (i + 0.5, j + 0.5): enumerate centres inside each bbox.
    x_lo = torch.ceil(fx.min(1).values - 0.5).clamp(min=0).long()
    x_hi = torch.floor(fx.max(1).values - 0.5).clamp(max=width - 1).long()
    y_lo = torch.ceil(fy.min(1).values - 0.5).clamp(min=0).long()
    y_hi = torch.floor(fy.max(1).values - 0.5).clamp(max=height - 1).long()
    bw, bh = (x_hi - x_lo + 1).clamp(min=0), (y_hi - y_lo + 1).clamp(min=0)
    counts = bw * bh
    face_id = torch.full((height, width), -1, dtype=torch.long)
    bary_out = torch.zeros(height, width, 3)
    depth_out = torch.full((height, width), float("inf"))
    total = int(counts.sum())
    if total == 0:
        return face_id, bary_out, depth_out
    pair_face = torch.repeat_interleave(torch.arange(len(fidx)), counts)
    start = torch.cumsum(counts, 0) - counts
    k = torch.arange(total) - start[pair_face]
    pxi = x_lo[pair_face] + k % bw[pair_face]
    pyi = y_lo[pair_face] + torch.div(k, bw[pair_face], rounding_mode="floor")
    cx, cy = pxi.to(fx.dtype) + 0.5, pyi.to(fx.dtype) + 0.5
    ax, ay = fx[pair_face].unbind(1), fy[pair_face].unbind(1)
    # Edge functions; dividing by the signed area makes both windings (two-sided) work.
    area = (ax[1] - ax[0]) * (ay[2] - ay[0]) - (ax[2] - ax[0]) * (ay[1] - ay[0])
    w0 = (ax[1] - cx) * (ay[2] - cy) - (ax[2] - cx) * (ay[1] - cy)
    w1 = (ax[2] - cx) * (ay[0] - cy) - (ax[0] - cx) * (ay[2] - cy)
    w2 = (ax[0] - cx) * (ay[1] - cy) - (ax[1] - cx) * (ay[0] - cy)
    safe = torch.where(area.abs() < 1e-12, torch.ones_like(area), area)
    b = torch.stack([w0, w1, w2], dim=1) / safe[:, None]
    inside = (area.abs() >= 1e-12) & (b >= -1e-6).all(dim=1)
    pair_face, pxi, pyi, b = pair_face[inside], pxi[inside], pyi[inside], b[inside]
    if len(pair_face) == 0:
        return face_id, bary_out, depth_out
    inv_z = 1.0 / fz[pair_face]
    persp = b * inv_z
    denom = persp.sum(dim=1)
    depth = 1.0 / denom
    b = persp / denom[:, None]
    pix = pyi * width + pxi
    best = torch.full((height * width,), float("inf"), dtype=depth.dtype).scatter_reduce(
        0, pix, depth, reduce="amin"
    )
    win = depth <= best[pix]
    # Ties (shared edges at equal depth): keep the lowest pair index per pixel.
    order = torch.arange(len(pix))
    first = torch.full((height * width,), len(pix)).scatter_reduce(0, pix[win], order[win], reduce="amin")
    sel = first[first < len(pix)]
    face_id.view(-1)[pix[sel]] = fidx[pair_face[sel]]
    bary_out.view(-1, 3)[pix[sel]] = b[sel].float()
    depth_out.view(-1)[pix[sel]] = depth[sel].float()
    return face_id, bary_out, depth_out


def render_mesh(
    mesh: trimesh.Trimesh,
    cameras: Cameras,
    background: float | tuple[float, float, float] | Tensor = 1.0,
    *,
    shading: Shading = "albedo",
    ambient: float = 0.35,
    supersample: int = 1,
) -> tuple[Tensor, Tensor]:
    """Render a coloured mesh from every camera.

    Args:
        background: colour behind the object: a grey level, an RGB triple, or a [C, 3] tensor.
        shading: "albedo" (unlit surface colour) or "lambert" (headlight, two-sided, ``ambient`` floor).
        supersample: render at this multiple of the resolution and average (anti-aliased edges,
            fractional alpha).

    Returns:
        rgb [C, H, W, 3] float32 in [0, 1] and alpha [C, H, W] float32 in [0, 1].
    """
    if len(mesh.faces) == 0:
        raise ValueError("render_mesh needs a mesh with faces; point clouds have none")
    s = int(supersample)
    cams = cameras.resized(cameras.width * s, cameras.height * s) if s > 1 else cameras
    verts = torch.tensor(np.asarray(mesh.vertices), dtype=torch.float64)
    faces = torch.tensor(np.asarray(mesh.faces), dtype=torch.long)
    colour = SurfaceColour.from_mesh(mesh)
    normals = torch.tensor(np.asarray(mesh.face_normals), dtype=torch.float32)
    c2w = cams.c2w.float()
    n_cam, h, w = len(cams), cams.height, cams.width
    rgb = torch.zeros(n_cam, h, w, 3)
    alpha = torch.zeros(n_cam, h, w)
    for i in range(n_cam):
        fid, bary, _ = rasterize_mesh(verts, faces, cams.viewmats[i].double(), cams.Ks[i].double(), w, h)
        hit = fid >= 0
        if not hit.any():
            continue
        col = colour.at(fid[hit], bary[hit])
        if shading == "lambert":
            view_dir = c2w[i, :3, 2]
            lam = (normals[fid[hit]] @ view_dir).abs()
            col = col * (ambient + (1 - ambient) * lam[:, None])
        elif shading != "albedo":
            raise ValueError(f"unknown shading {shading!r}; choose 'albedo' or 'lambert'")
        rgb[i][hit] = col
        alpha[i][hit] = 1.0
    bg = _background(background, n_cam)
    rgb = rgb + (1 - alpha[..., None]) * bg[:, None, None, :]
    if s > 1:
        rgb = torch.nn.functional.avg_pool2d(rgb.permute(0, 3, 1, 2), s).permute(0, 2, 3, 1)
        alpha = torch.nn.functional.avg_pool2d(alpha[:, None], s)[:, 0]
    return rgb.clamp(0, 1), alpha


def _background(background: float | tuple[float, float, float] | Tensor, n: int) -> Tensor:
    bg = torch.as_tensor(background, dtype=torch.float32)
    if bg.ndim == 0:
        bg = bg.expand(3)
    if bg.ndim == 1:
        bg = bg.expand(n, 3)
    if bg.shape != (n, 3):
        raise ValueError(
            f"background must be a grey level, an RGB triple or [C, 3]; got shape {tuple(bg.shape)}"
        )
    return bg


__all__ = ["Shading", "SurfaceColour", "rasterize_mesh", "render_mesh", "sample_texture"]
