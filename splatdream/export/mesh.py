"""Splats -> a coloured triangle mesh (.glb) for game engines and DCC tools.

The opacity field of the splats is sampled on a voxel grid (each Gaussian widened by half a voxel
so that flat surface discs thinner than a voxel still register), enclosed cavities are filled so
a closed surface gives one outer skin rather than a double shell, marching cubes extracts the 0.5
level, quadric decimation brings it to ``max_faces``, and each vertex takes the opacity-weighted
DC colour of the Gaussians around it. View-dependent colour (higher SH bands) is not kept.
"""

from __future__ import annotations

import os

import numpy as np
import torch
import trimesh

from splatdream.atomic import atomic_write
from splatdream.export.config import MeshOptions
from splatdream.export.formats import check_exportable
from splatdream.render.projection import quat_to_rotmat
from splatdream.scene import Gaussians


class MeshExtractionError(ValueError):
    """The splats do not enclose a surface at the requested level."""


_CUTOFF = 3.0  # sigmas: beyond this a Gaussian's contribution (< 1.1%) is ignored
_BATCH_SAMPLES = 4_000_000  # grid samples evaluated per batch (bounds memory)


def opacity_field(g: Gaussians, resolution: int, min_opacity: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Sample ``1 - prod(1 - alpha_i(x))`` on a grid covering the scene.

    Returns:
        field [X, Y, Z] float32 in [0, 1], origin [3] (world position of voxel (0, 0, 0)), voxel size.
    """
    keep = g.opacities > min_opacity
    if not bool(keep.any()):
        raise MeshExtractionError(f"no Gaussian is more opaque than {min_opacity}; nothing to mesh")
    g = g[keep]
    scales = g.scales
    reach = _CUTOFF * scales.max(dim=-1).values[:, None]
    lo = (g.means - reach).min(dim=0).values
    hi = (g.means + reach).max(dim=0).values
    voxel = float((hi - lo).max()) / resolution
    pad = 2
    origin = lo - pad * voxel
    dims = torch.ceil((hi - lo) / voxel).long() + 2 * pad + 1
    # Widen every Gaussian by half a voxel: discs thinner than the grid spacing would fall between samples.
    sigma = torch.sqrt(scales**2 + (0.5 * voxel) ** 2)
    rot = quat_to_rotmat(torch.nn.functional.normalize(g.quats, dim=-1))  # [N, 3, 3] local -> world
    alpha = g.opacities.clamp(max=0.99)
    # Per-axis reach of each (widened) ellipsoid, in voxels: flat discs lying in a grid plane get a
    # flat window, not a cube. Gaussians with the same window are evaluated together.
    cov_diag = ((rot * sigma[:, None, :]) ** 2).sum(dim=-1)  # diag(R S^2 R^T)
    reach_vox = torch.ceil(_CUTOFF * cov_diag.sqrt() / voxel).long().clamp(min=1)
    centre = torch.round((g.means - origin) / voxel).long()
    to_centre = origin + centre.float() * voxel - g.means  # [N, 3] voxel centre minus mean

    log_t = torch.zeros(int(dims.prod()), dtype=torch.float32)  # sum of log(1 - alpha), flattened grid
    windows, group = torch.unique(reach_vox, dim=0, return_inverse=True)
    for w, (kx, ky, kz) in enumerate(windows.tolist()):
        idx = torch.nonzero(group == w).squeeze(1)
        axes = [torch.arange(-k, k + 1) for k in (kx, ky, kz)]
        offsets = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, 3)  # [W, 3]
        per_batch = max(1, _BATCH_SAMPLES // len(offsets))
        for start in range(0, len(idx), per_batch):
            b = idx[start : start + per_batch]
            cell = centre[b, None, :] + offsets[None]  # [B, W, 3]
            d = to_centre[b, None, :] + offsets[None].float() * voxel
            local = (
                torch.einsum("bij,bwi->bwj", rot[b], d) / sigma[b, None]
            )  # world -> local frame, in sigmas
            m2 = (local * local).sum(dim=-1)
            use = (m2 < _CUTOFF**2) & ((cell >= 0) & (cell < dims)).all(dim=-1)
            a = alpha[b, None].expand_as(m2)[use] * torch.exp(-0.5 * m2[use])
            c = cell[use]
            log_t.index_add_(0, (c[:, 0] * dims[1] + c[:, 1]) * dims[2] + c[:, 2], torch.log1p(-a))
    field = (1 - torch.exp(log_t)).reshape(*dims.tolist())
    return field.numpy(), origin.numpy().astype(np.float64), voxel


def vertex_colours(g: Gaussians, points: np.ndarray, blur: float, k: int = 16) -> np.ndarray:
    """Opacity-weighted DC colour [V, 3] in [0, 1] of the ``k`` Gaussians nearest each point.

    ``blur`` widens every Gaussian as the opacity field did (half a voxel), so a vertex on the
    extracted surface, up to half a voxel off a thin disc, still weighs that disc.
    """
    from scipy.spatial import cKDTree

    means = g.means.numpy()
    k = min(k, len(g))
    _, nn = cKDTree(means).query(points, k=k)
    nn = nn.reshape(len(points), k)
    rot = quat_to_rotmat(torch.nn.functional.normalize(g.quats, dim=-1)).numpy()
    d = points[:, None, :] - means[nn]  # [V, k, 3]
    local = np.einsum("vkij,vki->vkj", rot[nn], d)
    sigma = np.sqrt(g.scales.numpy()[nn] ** 2 + blur**2)
    m2 = ((local / sigma) ** 2).sum(-1)
    # Relative to the best match, so far from every Gaussian the weights do not all underflow.
    w = g.opacities.numpy()[nn] * np.exp(-0.5 * (m2 - m2.min(axis=1, keepdims=True)))
    rgb = g.rgb.clamp(0, 1).numpy()[nn]
    return (w[..., None] * rgb).sum(1) / np.maximum(w.sum(1), 1e-12)[:, None]


def splats_to_mesh(gaussians: Gaussians, options: MeshOptions = MeshOptions()) -> trimesh.Trimesh:
    """Extract a vertex-coloured triangle mesh from the splats (world units, +Y up, as the scene)."""
    from scipy import ndimage
    from skimage.measure import marching_cubes

    g = check_exportable(gaussians)
    field, origin, voxel = opacity_field(g, options.resolution, options.min_opacity)
    if options.fill_interior:
        solid = ndimage.binary_fill_holes(ndimage.binary_closing(field > options.level, iterations=1))
        field = np.where(solid, np.maximum(field, 1.0), field)
    if float(field.max()) <= options.level:
        raise MeshExtractionError(
            f"the splats' opacity never reaches {options.level} (max {float(field.max()):.3f}); "
            "lower the level (--mesh.level) or export a more converged particle"
        )
    verts, faces, _, _ = marching_cubes(field, level=options.level, spacing=(voxel,) * 3)
    verts = verts + origin
    if options.max_faces and len(faces) > options.max_faces:
        import fast_simplification

        verts, faces = fast_simplification.simplify(
            verts.astype(np.float32), faces.astype(np.int64), target_count=options.max_faces
        )
    mesh = trimesh.Trimesh(vertices=np.asarray(verts, dtype=np.float64), faces=faces, process=True)
    mesh.update_faces(mesh.nondegenerate_faces())
    mesh.remove_unreferenced_vertices()
    if mesh.is_watertight and mesh.volume < 0:  # marching cubes' winding depends on the gradient direction
        mesh.invert()
    rgb = vertex_colours(g, np.asarray(mesh.vertices, dtype=np.float32), blur=0.5 * voxel)
    rgba = np.concatenate([np.round(rgb * 255), np.full((len(rgb), 1), 255)], axis=1).astype(np.uint8)
    mesh.visual = trimesh.visual.ColorVisuals(mesh, vertex_colors=rgba)
    # glTF requires unit normals; a vertex whose faces cancel out has none, so give it its first face's.
    normals = np.array(mesh.vertex_normals)
    zero = np.linalg.norm(normals, axis=1) < 0.5
    if zero.any():
        first_face = np.full(len(mesh.vertices), -1)
        first_face[mesh.faces[::-1].ravel()] = np.repeat(np.arange(len(mesh.faces))[::-1], 3)
        normals[zero] = mesh.face_normals[first_face[zero]]
        normals[np.linalg.norm(normals, axis=1) < 0.5] = (0.0, 1.0, 0.0)
        mesh.vertex_normals = normals  # type: ignore[method-assign]  # trimesh's cached property has a setter
    return mesh


def write_glb(
    path: str | os.PathLike[str], gaussians: Gaussians, options: MeshOptions = MeshOptions()
) -> trimesh.Trimesh:
    """Extract the mesh and write it atomically as binary glTF (.glb); returns the mesh."""
    mesh = splats_to_mesh(gaussians, options)
    data = mesh.export(file_type="glb", include_normals=True)
    assert isinstance(data, bytes), type(data)
    with atomic_write(path) as tmp:
        tmp.write_bytes(data)
    return mesh


__all__ = ["MeshExtractionError", "opacity_field", "splats_to_mesh", "vertex_colours", "write_glb"]
