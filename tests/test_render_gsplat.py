"""The torch backend inside gsplat's own machinery: DefaultStrategy on CPU, and gsplat's CUDA rasteriser."""

from __future__ import annotations

import math

import pytest
import torch
from gsplat.strategy import DefaultStrategy

from splatdream.render.torch_backend import rasterization_torch
from splatdream.scene import Gaussians, orbit_ring


def scene_for_strategy() -> Gaussians:
    """Visible small and large Gaussians plus a few nearly transparent ones the strategy must prune."""
    g = torch.Generator().manual_seed(0)
    n = 60
    scales = torch.full((n,), 0.004)
    scales[n // 2 :] = 0.05  # above grow_scale3d * scene_scale (0.01): split; below: duplicate
    opacities = torch.full((n,), 0.6)
    opacities[:5] = 0.001  # below prune_opa (0.005) and below 1/255, so never rendered
    means = (torch.rand(n, 3, generator=g) * 2 - 1) * 0.5
    return Gaussians.from_activated(
        means, scales[:, None].expand(n, 3), opacities, torch.rand(n, 3, generator=g)
    )


def test_default_strategy_runs_unchanged_on_our_meta() -> None:
    gaussians = scene_for_strategy()
    params = gaussians.to_param_dict()
    optimizers = {k: torch.optim.Adam([p], lr=1e-3) for k, p in params.items()}
    strategy = DefaultStrategy(refine_start_iter=0, refine_every=1, grow_grad2d=1e-9, reset_every=10_000)
    strategy.check_sanity(params, optimizers)
    state = strategy.initialize_state(scene_scale=1.0)
    cams = orbit_ring(2, 48, 40)

    grows = torch.zeros(len(gaussians), dtype=torch.bool)
    for step in (0, 1):  # refinement needs step > refine_start_iter, so step 1 refines
        g = Gaussians.from_param_dict(params)
        img, _, info = rasterization_torch(
            g.means,
            g.unit_quats,
            g.scales,
            g.opacities,
            g.sh,
            cams.viewmats,
            cams.Ks,
            cams.width,
            cams.height,
            sh_degree=g.sh_degree,
        )
        strategy.step_pre_backward(params, optimizers, state, step, info)
        ((img - 0.3) ** 2).mean().backward()
        grad = info["means2d"].grad
        assert grad is not None and grad.shape == (2, len(gaussians), 2)
        grows |= ((info["radii"] > 0).all(-1) & (grad.norm(dim=-1) > 0)).any(0)
        if step == 1:
            break
        strategy.step_post_backward(params, optimizers, state, step, info)
        for opt in optimizers.values():
            opt.step()
            opt.zero_grad()
    assert len(params["means"]) == len(gaussians)  # step 0 only accumulates statistics

    small = gaussians.scales.max(-1).values <= 0.01
    prune = gaussians.opacities < 0.005
    assert grows.sum() > 20 and prune.sum() == 5 and not (grows & prune).any()
    n_dup, n_split = int((grows & small).sum()), int((grows & ~small).sum())
    assert n_dup > 0 and n_split > 0

    strategy.step_post_backward(params, optimizers, state, step, info)
    # Duplicates add one copy each, splits turn one into two, then the transparent ones go.
    assert len(params["means"]) == len(gaussians) + n_dup + n_split - int(prune.sum())
    assert torch.sigmoid(params["opacities"]).min() >= 0.005
    for k, p in params.items():
        exp_avg = optimizers[k].state[p]["exp_avg"]
        assert exp_avg.shape == p.shape, k


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA for gsplat's rasteriser")
@pytest.mark.parametrize("render_mode", ["RGB", "RGB+ED"])
def test_matches_gsplat_cuda_forward_and_gradients(render_mode: str) -> None:
    from gsplat import rasterization

    gen = torch.Generator().manual_seed(0)
    gaussians = Gaussians.random_ball(2000, radius=0.9, scale=0.03, opacity=0.6, sh_degree=2, generator=gen)
    gaussians.sh[:, 1:] = torch.randn(len(gaussians), 8, 3, generator=gen) * 0.2
    cams = orbit_ring(3, 72, 56)
    backgrounds = torch.rand(3, 3, generator=gen)
    results = []
    for device, fn in (("cpu", rasterization_torch), ("cuda", rasterization)):
        leaves = [
            t.clone().to(device).requires_grad_()
            for t in (
                gaussians.means,
                gaussians.quats,
                gaussians.scales,
                gaussians.opacities,
                gaussians.sh,
                backgrounds,
            )
        ]
        means, quats, scales, opacities, sh, bg = leaves
        img, alpha, _ = fn(
            means,
            quats,
            scales,
            opacities,
            sh,
            cams.viewmats.to(device),
            cams.Ks.to(device),
            72,
            56,
            sh_degree=2,
            backgrounds=bg,
            render_mode=render_mode,
            packed=False,
        )
        w = torch.linspace(-1, 1, img.numel(), device=device).reshape(img.shape)
        ((img * w).sum() + alpha.sum()).backward()
        results.append([img.detach().cpu(), alpha.detach().cpu()] + [t.grad.cpu() for t in leaves])
    names = ["colors", "alphas", "means", "quats", "scales", "opacities", "sh", "backgrounds"]
    # float32 on both sides: a pixel may flip at the 1/255 or 1e-4 thresholds, so images are
    # compared by max and mean error, gradients by relative norm error.
    for name, ours, ref in zip(names[:2], results[0][:2], results[1][:2], strict=True):
        diff = (ours - ref).abs()
        assert diff.max() < 1e-2 and diff.mean() < 1e-4, (
            f"{name}: max {diff.max():.2e} mean {diff.mean():.2e}"
        )
    for name, ours, ref in zip(names[2:], results[0][2:], results[1][2:], strict=True):
        err = (ours - ref).norm() / ref.norm().clamp_min(1e-12)
        assert err < 1e-2, f"{name}: relative error {err:.2e}"
    assert math.isfinite(float(results[0][2].sum()))
