"""The VSD score LoRA as threestudio sets it up (issue 24, finding 4), and its gradients through a float16
UNet (finding 5): loss scaling keeps them out of float16's subnormal range."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from splatdream.distill.score_net import CameraLoRA, ScoreNetConfig, lora_config, score_optimizer
from splatdream.priors.base import denoising_target
from splatdream.priors.config import PriorConfig
from splatdream.priors.half import HALF_LOSS_SCALE, loss_scale, scaled_backward, unscale_grads
from splatdream.priors.loader import load_prior

BEFORE = ScoreNetConfig(rank=16, alpha=4.0, init="kaiming", lr=1e-4, betas=(0.9, 0.999), eps=1e-8)
"""redream-sd21's score net before issue 24: rank 16, scale 0.25, peft's kaiming init, torch's AdamW defaults."""


def output_movement(cfg: ScoreNetConfig, width: int) -> float:
    """Mean |change| of an SD-width attention projection's output after one AdamW step of the LoRA on it."""
    from peft import inject_adapter_in_model

    torch.manual_seed(0)
    model = torch.nn.Sequential()
    model.add_module("to_q", torch.nn.Linear(width, width))
    model = inject_adapter_in_model(lora_config(cfg), model)
    lora = [p for n, p in model.named_parameters() if "lora" in n]
    for n, p in model.named_parameters():
        p.requires_grad_("lora" in n)
    x, y = torch.randn(1024, width), torch.randn(1024, width)
    with torch.no_grad():
        before = model(x)
    opt = score_optimizer(lora, cfg)
    ((model(x) - y) ** 2).mean().backward()
    opt.step()
    with torch.no_grad():
        return float((model(x) - before).abs().mean())


@pytest.mark.parametrize(("width", "least"), [(320, 10.0), (1280, 20.0)])
def test_vsd_lora_moves_like_threestudios(width: int, least: float) -> None:
    """At SD 2.1's projection widths the old LoRA moved its output 15x (320) to 31x (1280) less per step."""
    from splatdream.config import PRESETS

    now = PRESETS["redream-sd21"][1].distill.score_net
    assert (now.rank, now.alpha / now.rank, now.init, now.betas, now.eps) == (
        4,
        1.0,
        "gaussian",
        (0.9, 0.99),
        1e-15,
    )
    assert output_movement(now, width) > least * output_movement(BEFORE, width)


def test_loss_scale_only_for_float16() -> None:
    assert (
        loss_scale(torch.float16) == HALF_LOSS_SCALE
        and loss_scale(torch.bfloat16) == loss_scale(torch.float32) == 1
    )


def lora_grads(folder: Path, dtype: str, scaled: bool) -> torch.Tensor:
    """The score LoRA's gradients of a denoising loss over a 2 x 4 x 64 x 64 latent batch (SD 2.1-base's latent
    size) on a tiny SD UNet, as the trainer computes them (with or without the loss scale)."""
    prior = load_prior(PriorConfig(kind="sd", path=str(folder), dtype=dtype, image_size=512), "cpu")
    torch.manual_seed(1)
    net = CameraLoRA(prior.unet, ScoreNetConfig())
    with torch.no_grad():  # B away from zero, so the A matrices get gradients too (as after a few steps)
        for name, p in prior.unet.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.01)
    gen = torch.Generator().manual_seed(0)
    x0 = torch.randn(2, 4, 64, 64, generator=gen) * 0.8
    noise, t = torch.randn(x0.shape, generator=gen), torch.tensor([100, 700])
    hidden = prior.encode_prompts(["a red chair"]).cond.expand(2, -1, -1)
    x_t = prior.add_noise(x0, noise, t)
    with net.active(torch.eye(4).expand(2, 4, 4)):
        pred = prior.unet_forward(x_t.to(prior.dtype), t, hidden.to(prior.dtype), None)
    loss = torch.nn.functional.mse_loss(
        pred.float(), denoising_target(x0, noise, t, prior.alphas_cumprod, prior.prediction_type)
    )
    params = net.lora_parameters()
    if scaled:
        scaled_backward(loss, prior.dtype)
        unscale_grads(params, prior.dtype)
    else:
        loss.backward()
    return torch.cat([p.grad.flatten() for p in params])


def test_lora_gradients_through_a_float16_unet_need_the_loss_scale(tiny_sd: Path) -> None:
    """Float16 on the CPU: unscaled, a share of the LoRA's gradient entries underflow to exactly zero and the rest
    are off by tens of percent; scaled (what the trainer and the adaptation do), they match float32's."""
    ref = lora_grads(tiny_sd, "float32", scaled=True)
    plain = lora_grads(tiny_sd, "float16", scaled=False)
    fixed = lora_grads(tiny_sd, "float16", scaled=True)
    assert (ref != 0).all()
    assert (plain == 0).float().mean() > 0.05 and (plain - ref).norm() / ref.norm() > 0.1
    assert (fixed != 0).all() and (fixed - ref).norm() / ref.norm() < 0.01
