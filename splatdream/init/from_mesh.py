"""Mesh or point cloud -> Gaussians: the retrieved asset becomes a particle's starting point.

Surface samples are drawn area-weighted, so every square unit of surface gets the same number
of Gaussians. Each Gaussian is a flat disc in the surface's tangent plane: tangent sigma
``tangent_scale * sqrt(area / n)`` (the mean sample spacing, so neighbours overlap and the
surface renders without holes) and normal sigma ``thickness`` times that. Colour is the
surface albedo at the sample (UV texture bilinear, else vertex colours, else face colours,
else the material colour), looked up exactly as the reference mesh renderer does.
"""

from __future__ import annotations

import numpy as np
import torch
import trimesh
from scipy.spatial import cKDTree

from splatdream.render.mesh import SurfaceColour
from splatdream.scene import Gaussians, num_sh_bases, rgb_to_sh


class BadAssetError(ValueError):
    """The mesh or point cloud cannot be turned into Gaussians; the message names the asset."""


def mesh_to_gaussians(
    mesh: trimesh.Trimesh | trimesh.PointCloud,
    n: int,
    *,
    opacity: float = 0.9,
    sh_degree: int = 0,
    tangent_scale: float = 0.7,
    thickness: float = 0.1,
    seed: int | np.random.Generator = 0,
    name: str = "mesh",
    stratified: bool = True,
) -> Gaussians:
    """``n`` Gaussians covering the surface of ``mesh`` (or sitting on the points of a point cloud).

    Args:
        opacity: activated opacity of every Gaussian.
        sh_degree: SH bands to allocate; only the DC band carries colour.
        tangent_scale: tangent sigma in units of the mean sample spacing sqrt(area / n).
        thickness: normal sigma as a fraction of the tangent sigma (flat discs).
        seed: an int or a numpy Generator; the same seed gives the same Gaussians.
        name: how errors refer to the input (an asset id or file name).
        stratified: spread samples evenly (systematic + lattice) instead of i.i.d. uniform.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1 Gaussian, got {n}")
    if not 0.0 < opacity < 1.0:
        raise ValueError(f"opacity must be in (0, 1), got {opacity}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    faces = getattr(mesh, "faces", None)
    vertices = np.asarray(mesh.vertices)
    if len(vertices) == 0:
        raise BadAssetError(f"asset {name!r} has no faces and no points; pick another asset or file")
    if not np.isfinite(vertices).all():
        bad = int((~np.isfinite(vertices).all(axis=1)).sum())
        raise BadAssetError(
            f"asset {name!r} has {bad} non-finite vertices (NaN/inf); repair or re-export the file"
        )
    if isinstance(mesh, trimesh.PointCloud) or faces is None or len(faces) == 0:
        return points_to_gaussians(mesh, n, opacity=opacity, sh_degree=sh_degree, seed=rng, name=name)

    areas = np.asarray(mesh.area_faces, dtype=np.float64)
    total = float(areas.sum())
    if not np.isfinite(total) or total <= 0.0:
        raise BadAssetError(
            f"asset {name!r} has zero total surface area (degenerate faces); it cannot be sampled"
        )
    # Inverse-CDF sampling over faces: one float64 array of F, no copy of the mesh itself.
    cdf = np.cumsum(areas)
    if stratified:
        # Systematic sampling: one random offset, n evenly spaced positions along the area CDF, so
        # each face gets floor/ceil of its expected count. The position inside the face's CDF
        # interval and a golden-ratio sequence form a Fibonacci-like lattice on the face: evenly
        # spread discs, no clumps and holes as with i.i.d. samples.
        u = (np.arange(n) + rng.random()) / n * cdf[-1]
        face = np.searchsorted(cdf, u, side="right").clip(max=len(areas) - 1)
        start = cdf[face] - areas[face]
        r1 = np.clip((u - start) / np.maximum(areas[face], 1e-300), 0.0, 1.0)
        r2 = (np.arange(n) * 0.6180339887498949 + rng.random()) % 1.0
    else:
        face = np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right").clip(max=len(areas) - 1)
        r1, r2 = rng.random(n), rng.random(n)
    s1 = np.sqrt(r1)
    bary = np.stack([1.0 - s1, s1 * (1.0 - r2), s1 * r2], axis=1)
    corners = vertices[np.asarray(faces)[face]]  # [n, 3, 3]
    points = np.einsum("nc,ncd->nd", bary, corners)
    normals = np.asarray(mesh.face_normals)[face]

    colour = SurfaceColour.from_mesh(mesh, face_index=face)
    rgb = colour.at(torch.arange(n), torch.as_tensor(bary, dtype=torch.float32))

    spacing = float(np.sqrt(total / n))
    sigma_t = tangent_scale * spacing
    scales = torch.tensor([sigma_t, sigma_t, sigma_t * thickness], dtype=torch.float32).expand(n, 3)
    return _build(points, rgb, scales, _normal_frame_quats(normals), opacity, sh_degree)


def points_to_gaussians(
    cloud: trimesh.PointCloud | trimesh.Trimesh,
    n: int,
    *,
    opacity: float = 0.9,
    sh_degree: int = 0,
    neighbours: int = 3,
    scale_factor: float = 0.7,
    seed: int | np.random.Generator = 0,
    name: str = "point cloud",
) -> Gaussians:
    """Isotropic Gaussians on (at most ``n`` of) the points, sized from k-nearest-neighbour spacing."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    pts = np.asarray(cloud.vertices, dtype=np.float64)
    if len(pts) == 0:
        raise BadAssetError(f"asset {name!r} has no faces and no points; pick another asset or file")
    if not np.isfinite(pts).all():
        raise BadAssetError(f"asset {name!r} has non-finite points (NaN/inf); repair or re-export the file")
    idx = np.sort(rng.choice(len(pts), size=n, replace=False)) if len(pts) > n else np.arange(len(pts))
    pts = pts[idx]
    colours = getattr(getattr(cloud, "visual", None), "vertex_colors", None)
    if colours is not None and len(colours) == len(cloud.vertices):
        rgb = torch.as_tensor(np.asarray(colours)[idx, :3], dtype=torch.float32) / 255.0
    else:
        rgb = torch.full((len(pts), 3), 0.8)
    if len(pts) > 1:
        k = min(neighbours, len(pts) - 1)
        dist, _ = cKDTree(pts).query(pts, k=k + 1)
        d = np.asarray(dist).reshape(len(pts), -1)[:, 1:].mean(axis=1)
        d = np.where(d > 0, d, max(float(np.median(d)), 1e-4))
    else:
        d = np.full(1, 0.01)
    scales = torch.as_tensor(scale_factor * d, dtype=torch.float32)[:, None].expand(-1, 3)
    quats = torch.zeros(len(pts), 4)
    quats[:, 0] = 1.0
    return _build(pts, rgb, scales, quats, opacity, sh_degree)


def _build(
    points: np.ndarray,
    rgb: torch.Tensor,
    scales: torch.Tensor,
    quats: torch.Tensor,
    opacity: float,
    sh_degree: int,
) -> Gaussians:
    n = len(points)
    sh = torch.zeros(n, num_sh_bases(sh_degree), 3)
    sh[:, 0] = rgb_to_sh(rgb.float())
    opa = torch.full((n,), float(opacity))
    return Gaussians(
        means=torch.as_tensor(points, dtype=torch.float32),
        quats=quats.float().contiguous(),
        log_scales=torch.log(scales).contiguous(),
        logit_opacities=torch.logit(opa),
        sh=sh,
    )


def _normal_frame_quats(normals: np.ndarray) -> torch.Tensor:
    """wxyz quaternions [N, 4] of the rotation whose third column is the normal.

    Columns (t1, t2, n) with t1 = normalise(n x a), t2 = n x t1: a right-handed frame, so the
    third scale axis (the thin one) points along the normal.
    """
    nrm = normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    helper = np.where(np.abs(nrm[:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
    t1 = np.cross(nrm, helper)
    t1 /= np.maximum(np.linalg.norm(t1, axis=1, keepdims=True), 1e-12)
    t2 = np.cross(nrm, t1)
    R = np.stack([t1, t2, nrm], axis=2)  # columns
    return torch.as_tensor(matrix_to_quat(R), dtype=torch.float32)


def matrix_to_quat(R: np.ndarray) -> np.ndarray:
    """Rotation matrices [N, 3, 3] -> unit wxyz quaternions [N, 4] (Shepperd's method, branch-free pick)."""
    m = R
    tr = m[:, 0, 0] + m[:, 1, 1] + m[:, 2, 2]
    cand = np.stack(
        [
            np.stack([1 + tr, m[:, 2, 1] - m[:, 1, 2], m[:, 0, 2] - m[:, 2, 0], m[:, 1, 0] - m[:, 0, 1]], 1),
            np.stack(
                [
                    m[:, 2, 1] - m[:, 1, 2],
                    1 + m[:, 0, 0] - m[:, 1, 1] - m[:, 2, 2],
                    m[:, 0, 1] + m[:, 1, 0],
                    m[:, 0, 2] + m[:, 2, 0],
                ],
                1,
            ),
            np.stack(
                [
                    m[:, 0, 2] - m[:, 2, 0],
                    m[:, 0, 1] + m[:, 1, 0],
                    1 - m[:, 0, 0] + m[:, 1, 1] - m[:, 2, 2],
                    m[:, 1, 2] + m[:, 2, 1],
                ],
                1,
            ),
            np.stack(
                [
                    m[:, 1, 0] - m[:, 0, 1],
                    m[:, 0, 2] + m[:, 2, 0],
                    m[:, 1, 2] + m[:, 2, 1],
                    1 - m[:, 0, 0] - m[:, 1, 1] + m[:, 2, 2],
                ],
                1,
            ),
        ],
        1,
    )  # [N, 4 candidates, 4]
    pick = np.stack([tr, m[:, 0, 0], m[:, 1, 1], m[:, 2, 2]], 1).argmax(1)
    q = cand[np.arange(len(m)), pick]
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return q * np.where(q[:, :1] < 0, -1.0, 1.0)
