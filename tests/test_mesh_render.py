"""The reference mesh rasteriser against analytic silhouettes, colours, textures and depth order."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import trimesh
from PIL import Image

from splatdream.render.mesh import render_mesh, sample_texture
from splatdream.scene import Cameras, Gaussians, look_at


def front_camera(size: int = 64, focal: float = 64.0, distance: float = 4.0) -> Cameras:
    """One camera on +Z looking at the origin (image x = world +X, image y = world -Y)."""
    K = torch.tensor([[focal, 0, size / 2], [0, focal, size / 2], [0, 0, 1.0]])
    return Cameras(look_at(torch.tensor([[0.0, 0.0, distance]])), K[None], size, size)


def quad(half: float, z: float = 0.0, colour: tuple[int, int, int] = (255, 0, 0)) -> trimesh.Trimesh:
    v = np.array([[-half, -half, z], [half, -half, z], [half, half, z], [-half, half, z]])
    m = trimesh.Trimesh(v, [[0, 1, 2], [0, 2, 3]], process=False)
    m.visual = trimesh.visual.ColorVisuals(m, face_colors=np.tile([*colour, 255], (2, 1)))
    return m


def test_square_covers_exactly_the_pixel_centres_inside_it() -> None:
    # half-width 1.265625 at distance 4 with focal 64 projects to 20.25 px: centres 12.5..51.5 -> 40 px.
    rgb, alpha = render_mesh(quad(1.265625), front_camera(), background=0.0)
    assert rgb.shape == (1, 64, 64, 3) and alpha.shape == (1, 64, 64)
    assert int(alpha.sum()) == 40 * 40
    assert torch.all(alpha[0, 12:52, 12:52] == 1)
    assert torch.allclose(rgb[0, 12:52, 12:52], torch.tensor([1.0, 0.0, 0.0]))
    assert torch.all(rgb[0, :12] == 0)


def test_sphere_silhouette_area_matches_the_analytic_disc() -> None:
    r, d, f, size = 0.8, 4.0, 100.0, 128
    sphere = trimesh.creation.icosphere(subdivisions=5, radius=r)
    _, alpha = render_mesh(sphere, front_camera(size, f, d))
    r_img = f * math.tan(math.asin(r / d))
    assert abs(float(alpha.sum()) - math.pi * r_img**2) / (math.pi * r_img**2) < 0.01


def test_nearer_surface_wins_whatever_the_face_order() -> None:
    back, front = quad(1.0, -0.5, (0, 0, 255)), quad(0.5, 0.5, (0, 255, 0))
    for parts in ([back, front], [front, back]):
        rgb, _ = render_mesh(trimesh.util.concatenate(parts), front_camera())
        assert torch.allclose(rgb[0, 32, 32], torch.tensor([0.0, 1.0, 0.0]))
        assert torch.allclose(rgb[0, 32, 20], torch.tensor([0.0, 0.0, 1.0]))


def test_vertex_colours_interpolate_and_texture_quadrants_land_where_expected() -> None:
    tri = trimesh.Trimesh([[-1, -1, 0], [1, -1, 0], [0, 1, 0]], [[0, 1, 2]], process=False)
    tri.visual = trimesh.visual.ColorVisuals(
        tri, vertex_colors=[[255, 0, 0, 255], [0, 255, 0, 255], [0, 0, 255, 255]]
    )
    rgb, _ = render_mesh(tri, front_camera(65, 64.0))  # centre pixel 32 sits on the centroid's row/col
    centroid_px = (32, round(32 - 64 * (-1 / 3) / 4 - 0.5))  # world y = -1/3 -> below the centre
    assert torch.allclose(rgb[0, centroid_px[1], centroid_px[0]], torch.full((3,), 1 / 3), atol=0.03)

    q = quad(1.0)
    img = np.zeros((8, 8, 3), dtype=np.uint8)  # 4x4 blocks so bilinear reads one colour inside each
    img[:4, :4], img[:4, 4:], img[4:, :4], img[4:, 4:] = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)
    uv = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float64)  # v = 0 at the image's bottom row
    q.visual = trimesh.visual.TextureVisuals(
        uv=uv, material=trimesh.visual.material.SimpleMaterial(image=Image.fromarray(img))
    )
    rgb, _ = render_mesh(q, front_camera())
    top_left, top_right, bottom_left = rgb[0, 22, 22], rgb[0, 22, 41], rgb[0, 41, 22]
    assert torch.allclose(
        top_left, torch.tensor([1.0, 0, 0]), atol=0.02
    )  # image row 0 = world +Y = image top
    assert torch.allclose(top_right, torch.tensor([0, 1.0, 0]), atol=0.02)
    assert torch.allclose(bottom_left, torch.tensor([0, 0, 1.0]), atol=0.02)


def test_bilinear_texture_lookup_blends_neighbouring_texels() -> None:
    image = torch.tensor([[[0.0, 0, 0], [1.0, 1, 1]]])  # 1 x 2
    out = sample_texture(image, torch.tensor([[0.5, 0.5], [0.25, 0.5], [0.75, 0.5]]))
    assert torch.allclose(out[:, 0], torch.tensor([0.5, 0.0, 1.0]))


def test_lambert_darkens_oblique_faces_and_supersampling_softens_edges() -> None:
    tilted = quad(1.0)
    tilted.apply_transform(trimesh.transformations.rotation_matrix(math.radians(60), (0, 1, 0)))
    flat, _ = render_mesh(tilted, front_camera(), shading="albedo", background=0.0)
    lit, _ = render_mesh(tilted, front_camera(), shading="lambert", ambient=0.0, background=0.0)
    assert torch.allclose(lit[0, 32, 32, 0], flat[0, 32, 32, 0] * 0.5, atol=0.02)
    _, alpha = render_mesh(quad(1.1), front_camera(), supersample=4)  # edges inside pixels
    assert ((alpha > 0) & (alpha < 1)).any() and alpha.max() == 1


def test_agrees_with_the_gaussian_rasteriser_on_where_a_point_lands() -> None:
    """Same camera convention as render_gaussians: a tiny blob and a tiny quad light the same pixel."""
    from splatdream.render import render_gaussians

    cams = Cameras.from_orbit(
        torch.tensor([35.0]), torch.tensor([20.0]), torch.tensor([3.0]), torch.tensor([45.0]), 48, 48
    )
    p = np.array([0.3, -0.2, 0.25])
    blob = quad(0.01)
    blob.vertices += p
    g = Gaussians.from_activated(
        torch.tensor(p[None], dtype=torch.float32),
        torch.full((1, 3), 0.01),
        torch.tensor([0.99]),
        torch.tensor([[1.0, 0, 0]]),
    )
    _, galpha, _ = render_gaussians(g, cams)
    _, malpha = render_mesh(blob, cams, supersample=8)
    g_px = np.unravel_index(int(galpha[0, ..., 0].argmax()), (48, 48))
    m_px = np.unravel_index(int(malpha[0].argmax()), (48, 48))
    assert g_px == m_px


def test_rejects_point_clouds_and_bad_backgrounds() -> None:
    with pytest.raises(ValueError, match="faces"):
        render_mesh(trimesh.Trimesh(np.zeros((3, 3)), np.zeros((0, 3), dtype=int)), front_camera())
    with pytest.raises(ValueError, match="background"):
        render_mesh(quad(1.0), front_camera(), background=torch.zeros(2, 3))
