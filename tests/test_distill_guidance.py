"""Score-distillation math: gradients, weights, timesteps and schedules."""

from __future__ import annotations

import pytest
import torch

from splatdream.distill.guidance import (
    all_finite,
    sample_timesteps,
    sds_grad,
    surrogate_loss,
    timestep_weight,
    vsd_grad,
)
from splatdream.distill.schedule import ExpDecay, Ramp, Steps
from splatdream.priors.base import denoising_target, sd_alphas_cumprod


def test_surrogate_loss_gradient_is_grad_over_batch() -> None:
    x0 = torch.randn(3, 4, 8, 8, requires_grad=True)
    grad = torch.randn(3, 4, 8, 8)
    surrogate_loss(x0, grad).backward()
    torch.testing.assert_close(x0.grad, grad / 3)


def test_vsd_and_sds_weighting() -> None:
    ac = sd_alphas_cumprod()
    t = torch.tensor([20, 500, 980])
    w = timestep_weight(ac, t)
    assert w.shape == (3, 1, 1, 1)
    torch.testing.assert_close(w.flatten(), 1 - ac[t])
    assert (w.flatten().diff() > 0).all()  # noisier -> larger weight
    eps_p, eps_l, noise = torch.randn(3, 3, 3, 4, 4)
    torch.testing.assert_close(vsd_grad(eps_p, eps_l, w), w * (eps_p - eps_l))
    torch.testing.assert_close(sds_grad(eps_p, noise, w), w * (eps_p - noise))
    # VSD with a perfect particle score equal to the prior gives no update.
    assert vsd_grad(eps_p, eps_p, w).abs().max() == 0


def test_sample_timesteps_range_and_seed() -> None:
    a = sample_timesteps(4000, 0.02, 0.5, 1000, torch.Generator().manual_seed(0))
    b = sample_timesteps(4000, 0.02, 0.5, 1000, torch.Generator().manual_seed(0))
    assert torch.equal(a, b)
    assert a.min() >= 20 and a.max() < 500 and a.max() > 480


def test_schedules() -> None:
    s = Steps((0.98, 0.5), (0.25,))
    assert s(0, 20_000) == 0.98 and s(4999, 20_000) == 0.98 and s(5000, 20_000) == 0.5
    assert s(1199, 4800) == 0.98 and s(1200, 4800) == 0.5  # a shorter run drops at the same fraction
    r = Ramp(1.0, 0.0, 10, 20)
    assert r(0) == 1.0 and r(15) == pytest.approx(0.5) and r(25) == 0.0
    jump = Ramp(1.0, 0.0, 10, 10)
    assert jump(9) == 1.0 and jump(10) == 0.0
    e = ExpDecay(1e-2, 1e-4)
    assert (
        e(0, 100) == pytest.approx(1e-2)
        and e(50, 100) == pytest.approx(1e-3)
        and e(1000, 100) == pytest.approx(1e-4)
    )
    assert e(5, 10) == pytest.approx(1e-3) and ExpDecay(1e-2, 1e-4, over=0.5)(25, 100) == pytest.approx(1e-3)
    with pytest.raises(ValueError, match="milestones"):
        Steps((1.0, 2.0))
    with pytest.raises(ValueError, match="fractions of the run"):
        Steps((0.98, 0.5), (5000,))


def test_surrogate_loss_of_a_chunk_divides_by_the_whole_batch() -> None:
    x0 = torch.randn(6, 4, 8, 8, requires_grad=True)
    grad = torch.randn(6, 4, 8, 8)
    (surrogate_loss(x0[:2], grad[:2], batch=6) + surrogate_loss(x0[2:], grad[2:], batch=6)).backward()
    torch.testing.assert_close(x0.grad, grad / 6)


def test_denoising_target_is_noise_or_velocity() -> None:
    from splatdream.priors.base import v_to_eps

    abar = sd_alphas_cumprod()
    x0, noise, t = torch.randn(3, 4, 8, 8), torch.randn(3, 4, 8, 8), torch.tensor([10, 500, 990])
    assert denoising_target(x0, noise, t, abar, "epsilon") is noise
    v = denoising_target(x0, noise, t, abar, "v_prediction")
    a = abar[t].sqrt().reshape(-1, 1, 1, 1)
    s = (1 - abar[t]).sqrt().reshape(-1, 1, 1, 1)
    torch.testing.assert_close(v, a * noise - s * x0)
    # a v-prediction UNet that hits its target is read back as the true noise
    torch.testing.assert_close(v_to_eps(v, a * x0 + s * noise, t, abar), noise, rtol=1e-4, atol=1e-4)


def test_all_finite_is_one_check_over_many_tensors() -> None:
    good = [torch.randn(5), torch.zeros(2, 3), None]
    assert all_finite(good)
    assert all_finite([])
    assert not all_finite([*good, torch.tensor([1.0, float("nan")])])
    assert not all_finite([torch.tensor([float("inf")]), *good])
    big = torch.full((4,), 3e38)
    assert all_finite([big, big])  # finite values whose norm would overflow are still finite
