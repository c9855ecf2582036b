"""``render.views``: the one renderer alignment, adaptation, evaluation and the guard share.

Its docstring makes two claims that let one renderer serve all of them; these tests hold it to both:
the chunk changes no pixel, and compositing the clamped renders afterwards gives what the rasterizer
composites itself (so clamping first, which the colour metrics need, changes no image a prior sees).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from splatdream.adaptation.multiview import grid_cameras
from splatdream.render import render_gaussians
from splatdream.render.views import CHUNK, Views, render_views
from splatdream.scene import Gaussians, rgb_to_sh


def _bright_scene(sh_degree: int) -> Gaussians:
    """Random Gaussians whose colour runs above 1, so the premultiplied renders need their clamp."""
    g = Gaussians.random_ball(
        800,
        radius=0.6,
        scale=0.06,
        opacity=0.6,
        sh_degree=sh_degree,
        generator=torch.Generator().manual_seed(3),
    )
    return replace(g, sh=g.sh * 3.0 + 0.3)


CAMS = grid_cameras([0.0, 60.0, 150.0, -120.0, -45.0], [0.0, 30.0], 2.8, 45.0, 24)


@pytest.mark.parametrize("sh_degree", [0, 1])
def test_the_chunk_changes_memory_not_pixels(sh_degree: int) -> None:
    g = _bright_scene(sh_degree)
    ref = render_views(g, CAMS, chunk=len(CAMS))
    assert CHUNK < len(CAMS)  # the default really splits these cameras
    for chunk in (1, 3, CHUNK):
        v = render_views(g, CAMS, chunk=chunk)
        assert torch.equal(v.premult, ref.premult) and torch.equal(v.alpha, ref.alpha), chunk


@pytest.mark.parametrize("sh_degree", [0, 1])
def test_compositing_the_clamped_renders_matches_the_rasterizer(sh_degree: int) -> None:
    g = _bright_scene(sh_degree)
    bgs = torch.rand(len(CAMS), 3, generator=torch.Generator().manual_seed(0))
    views = render_views(g, CAMS)
    raw, _, _ = render_gaussians(g, CAMS)
    assert raw.max() > 1.2, "the scene must be bright enough to exercise the clamp"
    assert views.premult.max() <= 1.0 and 0.0 <= views.alpha.min() and views.alpha.max() <= 1.0
    on_bgs, _, _ = render_gaussians(g, CAMS, backgrounds=bgs)
    torch.testing.assert_close(views.over(bgs), on_bgs.clamp(0, 1), atol=1e-6, rtol=0)
    torch.testing.assert_close(views.images(bgs), on_bgs.clamp(0, 1).permute(0, 3, 1, 2), atol=1e-6, rtol=0)
    grey, _, _ = render_gaussians(g, CAMS, backgrounds=torch.full((len(CAMS), 3), 0.5))
    torch.testing.assert_close(views.over(0.5), grey.clamp(0, 1), atol=1e-6, rtol=0)


def test_rgb_is_the_objects_own_colour_where_it_is_opaque() -> None:
    colour = torch.tensor([0.8, 0.3, 0.1])
    g = Gaussians.random_ball(
        3000, radius=0.5, scale=0.06, opacity=0.95, generator=torch.Generator().manual_seed(0)
    )
    g = replace(g, sh=rgb_to_sh(colour).expand_as(g.sh).clone())
    views = render_views(g, CAMS)
    inside = views.alpha > 0.99
    assert inside.sum() > 100
    torch.testing.assert_close(views.rgb[inside].mean(0), colour, atol=2e-3, rtol=0)
    assert torch.equal(views.silhouette, views.alpha > 0.5)


def test_select_and_cat_keep_colour_and_alpha_together() -> None:
    v = render_views(_bright_scene(0), CAMS)
    idx = torch.tensor([4, 0, 7])
    picked = Views.cat([v.select(idx[:1]), v.select(idx[1:])])
    assert len(picked) == 3
    assert torch.equal(picked.premult, v.premult[idx]) and torch.equal(picked.alpha, v.alpha[idx])
