"""The pure-torch rasteriser against gsplat's own torch helpers and a brute-force per-pixel loop."""

from __future__ import annotations

import math

import pytest
import torch
from gsplat.cuda._torch_impl import _fully_fused_projection, _quat_scale_to_covar_preci, _spherical_harmonics

from splatdream.render.projection import ALPHA_THRESHOLD, project_gaussians
from splatdream.render.torch_backend import rasterization_torch
from splatdream.scene import Cameras, look_at

W, H = 40, 32


def make_scene(n: int, seed: int, dtype: torch.dtype = torch.float64, sh_degree: int | None = None) -> dict:
    """Random Gaussians in the unit ball, some large and opaque so pixels saturate and stop early."""
    g = torch.Generator().manual_seed(seed)
    means = (torch.rand(n, 3, generator=g) * 2 - 1) * 0.9
    quats = torch.randn(n, 4, generator=g)
    scales = torch.exp(torch.empty(n, 3).uniform_(math.log(0.03), math.log(0.3), generator=g))
    opacities = torch.empty(n).uniform_(0.2, 0.99, generator=g)
    opacities[n // 2 :] = torch.empty(n - n // 2).uniform_(0.9, 1.0, generator=g)
    opacities[:3] = 0.002  # below 1/255: culled
    if sh_degree is None:
        colors = torch.rand(n, 3, generator=g)
    else:
        colors = torch.randn(n, (sh_degree + 1) ** 2, 3, generator=g) * 0.5
    # Three orbit cameras plus one inside the cloud: Gaussians behind it, across the near plane
    # and far outside its frustum (the Jacobian clamp) all occur.
    eye = torch.tensor([[0.0, 0.3, 2.8], [2.5, 1.0, -0.5], [-1.5, -1.0, -2.2], [0.2, 0.1, 0.6]])
    viewmats = look_at(eye)
    K = torch.tensor([[38.0, 0.0, W / 2 + 0.7], [0.0, 36.0, H / 2 - 1.3], [0.0, 0.0, 1.0]])
    Ks = K.expand(len(eye), 3, 3).clone()
    backgrounds = torch.rand(len(eye), 3, generator=g)
    t = {
        "means": means,
        "quats": quats,
        "scales": scales,
        "opacities": opacities,
        "colors": colors,
        "viewmats": viewmats,
        "Ks": Ks,
        "backgrounds": backgrounds,
    }
    return {k: v.to(dtype) for k, v in t.items()}


def reference_render(
    s: dict, sh_degree: int | None, render_mode: str, use_bg: bool
) -> tuple[torch.Tensor, ...]:
    """Brute force: every pixel visits every projected Gaussian in depth order, as gsplat's kernel."""
    covars, _ = _quat_scale_to_covar_preci(s["quats"], s["scales"], compute_preci=False)
    radii, means2d, depths, conics, _ = _fully_fused_projection(
        s["means"], covars, s["viewmats"], s["Ks"], W, H, eps2d=0.3, near_plane=0.01, far_plane=1e10
    )
    n_cams = s["viewmats"].shape[0]
    if sh_degree is None:
        feats = s["colors"][None].expand(n_cams, -1, -1)
    else:
        campos = torch.linalg.inv(s["viewmats"])[:, :3, 3]
        dirs = s["means"][None] - campos[:, None]
        coeffs = s["colors"][None].expand(n_cams, -1, -1, -1)
        feats = torch.clamp_min(_spherical_harmonics(sh_degree, dirs, coeffs) + 0.5, 0.0)
    bg = s["backgrounds"] if use_bg else None
    if render_mode in ("RGB+D", "RGB+ED"):
        feats = torch.cat([feats, depths[..., None]], -1)
        bg = None if bg is None else torch.cat([bg, bg.new_zeros(n_cams, 1)], -1)
    elif render_mode in ("D", "ED"):
        feats = depths[..., None]
        bg = None if bg is None else bg.new_zeros(n_cams, 1)

    ys, xs = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
    px, py = xs.reshape(-1).to(means2d) + 0.5, ys.reshape(-1).to(means2d) + 0.5
    images, alphas, n_done = [], [], 0
    for c in range(n_cams):
        out = feats.new_zeros(H * W, feats.shape[-1])
        T = feats.new_ones(H * W)
        done = torch.zeros(H * W, dtype=torch.bool)
        live = torch.nonzero((radii[c] > 0).all(-1))[:, 0]
        for i in live[torch.sort(depths[c, live], stable=True).indices].tolist():
            dx, dy = means2d[c, i, 0] - px, means2d[c, i, 1] - py
            a, b, cc = conics[c, i]
            sigma = 0.5 * (a * dx * dx + cc * dy * dy) + b * dx * dy
            alpha = torch.clamp_max(s["opacities"][i] * torch.exp(-sigma), 0.999)
            use = ~done & (sigma >= 0) & (alpha >= ALPHA_THRESHOLD)
            next_T = T * (1 - alpha)
            stop = use & (next_T <= 1e-4)
            use = use & ~stop
            done = done | stop
            out = out + torch.where(use[:, None], (alpha * T)[:, None] * feats[c, i], 0.0)
            T = torch.where(use, next_T, T)
        n_done += int(done.sum())
        if bg is not None:
            out = out + T[:, None] * bg[c]
        images.append(out.reshape(H, W, -1))
        alphas.append((1 - T).reshape(H, W, 1))
    img, alpha = torch.stack(images), torch.stack(alphas)
    if render_mode in ("ED", "RGB+ED"):
        img = torch.cat([img[..., :-1], img[..., -1:] / alpha.clamp(min=1e-10)], -1)
    return img, alpha, n_done


def ours(s: dict, sh_degree: int | None, render_mode: str, use_bg: bool, **kw) -> tuple:
    return rasterization_torch(
        s["means"],
        s["quats"],
        s["scales"],
        s["opacities"],
        s["colors"],
        s["viewmats"],
        s["Ks"],
        W,
        H,
        sh_degree=sh_degree,
        backgrounds=s["backgrounds"] if use_bg else None,
        render_mode=render_mode,
        **kw,
    )


def test_projection_matches_gsplat_torch_helpers() -> None:
    s = make_scene(300, seed=0)
    covars, _ = _quat_scale_to_covar_preci(s["quats"], s["scales"], compute_preci=False)
    ref_radii, ref_means2d, ref_depths, ref_conics, _ = _fully_fused_projection(
        s["means"], covars, s["viewmats"], s["Ks"], W, H, eps2d=0.3, near_plane=0.01, far_plane=1e10
    )
    p = project_gaussians(s["means"], s["quats"], s["scales"], s["opacities"], s["viewmats"], s["Ks"], W, H)
    valid = (p.radii > 0).all(-1)
    ref_valid = (ref_radii > 0).all(-1)
    assert valid.sum() > 100 and (~valid).sum() > 20  # both culling and rendering are exercised
    # gsplat's torch helper has no opacity culling, so it keeps a superset of ours.
    assert not (valid & ~ref_valid).any()
    assert not valid[:, :3].any() and ref_valid[:, :3].any()  # opacity 0.002 < 1/255 culls
    torch.testing.assert_close(p.means2d[valid], ref_means2d[valid])
    torch.testing.assert_close(p.depths, ref_depths)
    torch.testing.assert_close(p.conics[valid], ref_conics[valid])
    # Opacity-aware radii: ceil(min(3.33, sqrt(2 ln(255 o))) * sigma) per axis, never above gsplat's 3.33-sigma box.
    a, b, c = ref_conics.unbind(-1)
    det = a * c - b * b
    sigma_xy = torch.stack([c / det, a / det], -1).sqrt()
    extend = torch.sqrt(2 * torch.log(s["opacities"] * 255)).clamp_max(3.33)[None, :, None]
    torch.testing.assert_close(p.radii[valid], torch.ceil(extend * sigma_xy)[valid].int(), rtol=0, atol=0)
    assert (p.radii[valid] <= ref_radii[valid]).all()
    assert (p.radii[valid] < ref_radii[valid]).any()


@pytest.mark.parametrize(
    ("sh_degree", "render_mode", "use_bg"),
    [
        (None, "RGB", True),
        (None, "RGB", False),
        (0, "RGB+D", True),
        (1, "D", False),
        (2, "ED", True),
        (3, "RGB+ED", True),
    ],
)
def test_render_matches_brute_force(sh_degree: int | None, render_mode: str, use_bg: bool) -> None:
    s = make_scene(300, seed=1, sh_degree=sh_degree)
    ref_img, ref_alpha, n_done = reference_render(s, sh_degree, render_mode, use_bg)
    assert n_done > 50  # early termination (T < 1e-4) really happens in this scene
    # A small pair budget forces several row bands per image, exercising the band seams.
    img, alpha, meta = ours(s, sh_degree, render_mode, use_bg, max_pairs=3000)
    assert img.shape == ref_img.shape and alpha.shape == (4, H, W, 1)
    assert (img - ref_img).abs().max() <= 1e-5
    assert (alpha - ref_alpha).abs().max() <= 1e-5
    assert meta["means2d"].shape == (4, 300, 2) and meta["radii"].dtype == torch.int32
    assert meta["gaussian_ids"] is None and meta["n_cameras"] == 4
    assert meta["width"] == W and meta["height"] == H


def test_gradients_match_brute_force_autograd() -> None:
    """Hand-written backward vs autograd through the brute-force loop, all inputs at once."""
    s = make_scene(120, seed=2, sh_degree=2)
    keys = ["means", "quats", "scales", "opacities", "colors", "backgrounds"]
    grads = []
    for fn in (
        lambda t: ours(t, 2, "RGB+ED", True)[:2],
        lambda t: reference_render(t, 2, "RGB+ED", True)[:2],
    ):
        t = {k: v.clone().requires_grad_(k in keys) for k, v in s.items()}
        img, alpha = fn(t)
        w = torch.linspace(-1, 1, img.numel(), dtype=img.dtype).reshape(img.shape)
        ((img * w).sum() + (alpha * alpha).sum()).backward()
        grads.append([t[k].grad for k in keys])
    for k, g_ours, g_ref in zip(keys, *grads, strict=True):
        torch.testing.assert_close(g_ours, g_ref, rtol=1e-6, atol=1e-8, msg=lambda m, k=k: f"{k}: {m}")


@pytest.mark.parametrize("sh_degree", [None, 3])
def test_gradcheck_tiny_scene(sh_degree: int | None) -> None:
    s = make_scene(6, seed=3, sh_degree=sh_degree)
    s["opacities"][:3] = 0.6  # keep all six visible
    s["means"] = s["means"] * 0.5
    keys = ["means", "quats", "scales", "opacities", "colors", "backgrounds"]
    fixed = {k: v for k, v in s.items() if k not in keys}
    view = {k: v[:2] for k, v in fixed.items()}

    def fn(*xs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t = dict(zip(keys, xs, strict=True)) | view
        t["backgrounds"] = t["backgrounds"][:2]
        img, alpha, _ = ours(t, sh_degree, "RGB+D", True)
        return img, alpha

    inputs = tuple(s[k].clone().requires_grad_() for k in keys)
    assert torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-6, rtol=1e-4, fast_mode=True)


def test_means2d_grad_and_empty_views() -> None:
    s = make_scene(50, seed=4)
    means2d_grad = None
    t = {k: v.clone().requires_grad_(k == "means") for k, v in s.items()}
    img, alpha, meta = ours(t, None, "RGB", True)
    meta["means2d"].retain_grad()
    img.sum().backward()
    means2d_grad = meta["means2d"].grad
    visible = (meta["radii"] > 0).all(-1)
    assert means2d_grad is not None and means2d_grad.shape == (4, 50, 2)
    assert (means2d_grad[~visible] == 0).all() and (means2d_grad[visible].abs().sum(-1) > 0).any()
    # A camera looking away from everything renders the background exactly.
    away = Cameras(
        look_at(torch.tensor([[0.0, 0.0, 3.0]]), torch.tensor([0.0, 0.0, 6.0])), s["Ks"][:1].float(), W, H
    )
    s2 = s | {"viewmats": away.viewmats.double(), "Ks": away.Ks.double(), "backgrounds": s["backgrounds"][:1]}
    img, alpha, _ = ours(s2, None, "RGB", True)
    assert (alpha == 0).all() and torch.equal(img[0], s2["backgrounds"][0].expand(H, W, 3))


def test_packed_meta_is_gsplats_layout_with_the_same_images_and_gradients() -> None:
    """packed=True: gsplat 1.5.3's packed meta ([nnz, ...] rows of visible (camera, Gaussian) pairs, camera-major,
    with batch/camera/gaussian ids), the same images, and a means2d.grad equal to the unpacked one's visible rows."""
    s = make_scene(80, seed=6, sh_degree=1)
    out = {}
    for packed in (False, True):
        t = {k: v.clone().requires_grad_(k == "means") for k, v in s.items()}
        img, alpha, meta = ours(t, 1, "RGB", True, packed=packed)
        meta["means2d"].retain_grad()
        w = torch.linspace(-1, 1, img.numel(), dtype=img.dtype).reshape(img.shape)
        (img * w).sum().backward()
        out[packed] = (img.detach(), alpha.detach(), meta, t["means"].grad)
    (img_u, alpha_u, meta_u, gm_u), (img_p, alpha_p, meta_p, gm_p) = out[False], out[True]
    assert torch.equal(img_u, img_p) and torch.equal(alpha_u, alpha_p)
    torch.testing.assert_close(gm_p, gm_u, rtol=1e-12, atol=1e-14)
    visible = (meta_u["radii"] > 0).all(-1)  # [C, N]
    cam, gid = torch.nonzero(visible, as_tuple=True)
    nnz = len(cam)
    assert 0 < nnz < visible.numel()  # some pairs culled, so packing really drops rows
    assert torch.equal(meta_p["camera_ids"], cam) and torch.equal(meta_p["gaussian_ids"], gid)
    assert torch.equal(meta_p["batch_ids"], torch.zeros_like(cam))
    assert meta_p["radii"].shape == (nnz, 2) and meta_p["radii"].dtype == torch.int32
    assert meta_p["means2d"].shape == (nnz, 2) and meta_p["conics"].shape == (nnz, 3)
    assert meta_p["depths"].shape == (nnz,) and meta_p["opacities"].shape == (nnz,)
    for key in ("radii", "means2d", "depths", "conics", "opacities"):
        assert torch.equal(meta_p[key].detach(), meta_u[key].detach()[visible]), key
    assert torch.equal(meta_p["means2d"].grad, meta_u["means2d"].grad[visible])
    assert meta_u["gaussian_ids"] is None and meta_u["camera_ids"] is None


def test_float32_runs() -> None:
    s = make_scene(40, seed=5, dtype=torch.float32)
    img, _, _ = ours(s, None, "RGB", True)
    assert img.dtype == torch.float32 and torch.isfinite(img).all()
    ref_img, _, _ = reference_render({k: v.double() for k, v in s.items()}, None, "RGB", True)
    assert (img.double() - ref_img).abs().max() < 1e-4
