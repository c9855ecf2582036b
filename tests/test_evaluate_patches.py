"""The patch measure on constructed cases: a global recolour scores about 0, painted patches score their strength."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from splatdream.evaluate import EvalConfig, evaluate_particles
from splatdream.evaluate.patches import fit_affine, patch_residual
from splatdream.evaluate.views import eval_cameras
from splatdream.render.views import render_views
from splatdream.scene import Gaussians, rgb_to_sh
from tests.support.evaluate_scenes import box_scene

CFG = EvalConfig(views=8, size=64, extra_elevations_deg=(40.0,))


def _with_rgb(g: Gaussians, rgb: torch.Tensor) -> Gaussians:
    sh = g.sh.clone()
    sh[:, 0] = rgb_to_sh(rgb.clamp(0, 1))
    return replace(g, sh=sh)


@pytest.fixture(scope="module")
def two_tone():
    """A box whose colour runs from wood to a pale blue-grey along x: an init with more than one colour."""
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    g = box_scene()
    s = ((g.means[:, 0] + 0.45) / 0.9).clamp(0, 1)[:, None]
    rgb = (1 - s) * torch.tensor([0.59, 0.39, 0.22]) + s * torch.tensor([0.55, 0.6, 0.7])
    return _with_rgb(g, rgb)


@pytest.fixture(scope="module")
def two_tone_views(two_tone):
    return _views(two_tone)


def _views(g: Gaussians):
    cams = eval_cameras(CFG.views, CFG.size, CFG.extra_elevations_deg)
    return render_views(g, cams)


def _painted(g: Gaussians, strength: float) -> Gaussians:
    """A blotch: Gaussians within 0.25 of a corner of the top face shifted toward olive by ``strength``."""
    centre = torch.tensor([0.3, 0.3, 0.2])
    inside = ((g.means - centre).norm(dim=-1) < 0.25)[:, None].float()
    return _with_rgb(g, g.rgb + strength * inside * torch.tensor([-0.1, 0.15, -0.2]))


def test_affine_fit_recovers_a_known_map() -> None:
    gen = torch.Generator().manual_seed(0)
    src = torch.rand(200, 3, generator=gen, dtype=torch.float64) * 100
    m = torch.rand(4, 3, generator=gen, dtype=torch.float64)
    dst = torch.cat([src, torch.ones(200, 1, dtype=torch.float64)], 1) @ m
    torch.testing.assert_close(fit_affine(src, dst), m)


def test_unchanged_and_globally_recoloured_copies_score_about_zero(two_tone, two_tone_views) -> None:
    v0 = two_tone_views
    assert patch_residual(v0, _views(two_tone.clone())) < 1e-6
    # What the colour field's affine does: a 3x3 sRGB matrix and an offset, the same everywhere.
    a = torch.tensor([[0.8, 0.1, 0.0], [0.05, 0.9, 0.05], [0.0, 0.1, 0.6]])
    tinted = _with_rgb(two_tone, two_tone.rgb @ a.T + torch.tensor([0.05, 0.0, -0.02]))
    assert patch_residual(v0, _views(tinted)) < 1.0
    # A strong global shift toward blue: large Delta E, still no patches.
    blued = _with_rgb(two_tone, 0.4 * two_tone.rgb + torch.tensor([0.05, 0.15, 0.5]))
    assert patch_residual(v0, _views(blued)) < 1.0


def test_painted_patches_score_higher_with_strength(two_tone, two_tone_views) -> None:
    v0 = two_tone_views
    light, strong = (
        patch_residual(v0, _views(_painted(two_tone, 0.5))),
        patch_residual(v0, _views(_painted(two_tone, 1.0))),
    )
    assert 1.0 < light < strong, (light, strong)
    assert strong > 1.6 * light
    # Speckle does not count: blurred away.
    noisy = two_tone.rgb + 0.05 * torch.randn(len(two_tone), 3, generator=torch.Generator().manual_seed(1))
    assert patch_residual(v0, _views(_with_rgb(two_tone, noisy))) < 0.5 * light


def test_evaluate_particles_reports_patches_and_mean_shift(two_tone) -> None:
    p = evaluate_particles(two_tone, _painted(two_tone, 1.0), CFG, prompt="a wooden chair")
    assert p.patches is not None and p.patches > 1.0
    assert p.mean_shift is not None and p.mean_shift > 0.1
    same = evaluate_particles(two_tone, two_tone.clone(), CFG)
    assert same.patches == pytest.approx(0.0, abs=1e-6) and same.mean_shift == pytest.approx(0.0, abs=1e-6)


def test_a_recolour_of_one_part_everywhere_is_not_a_patch() -> None:
    """Six parts of different colours (a car's body, roof, tyres, lights ...); two of them change colour
    everywhere they occur: a function of the init's colour, so about 0 -- where one global affine map, which
    cannot move two of six colours and keep the rest, calls it a patch."""
    from splatdream.colours import srgb_to_lab
    from splatdream.evaluate.patches import blurred_colour, piecewise_affine_residual

    g = box_scene()
    octant = (g.means > 0).long()
    part = (octant[:, 0] + 2 * octant[:, 1] + 4 * octant[:, 2]) % 6
    colours = torch.tensor(
        [
            [0.8, 0.1, 0.1],
            [0.95, 0.95, 0.9],
            [0.1, 0.1, 0.1],
            [0.2, 0.3, 0.8],
            [0.9, 0.8, 0.2],
            [0.5, 0.5, 0.5],
        ]
    )
    init = _with_rgb(g, colours[part])
    new = colours.clone()
    new[0], new[3] = torch.tensor([0.45, 0.28, 0.12]), torch.tensor([0.2, 0.6, 0.25])
    v0, v1 = _views(init), _views(_with_rgb(g, new[part]))
    part_recolour = patch_residual(v0, v1)  # what is left is the blur where two parts meet
    assert part_recolour < 2.5
    rgb0, cov0 = blurred_colour(v0, 2.0)
    rgb1, cov1 = blurred_colour(v1, 2.0)
    mask = (cov0 > 0.9) & (cov1 > 0.9)
    one_map = piecewise_affine_residual(srgb_to_lab(rgb0[mask]), srgb_to_lab(rgb1[mask]), k=1)
    assert one_map.square().sum(-1).mean().sqrt() > 4 * part_recolour
    # ... and a patch painted on that object still counts, above the part recolour
    assert patch_residual(v0, _views(_painted(init, 1.0))) > 2 * part_recolour
