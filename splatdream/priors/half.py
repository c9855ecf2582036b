"""Loss scaling for gradients that flow back through a half-precision (float16) prior.

The LoRA score net (VSD) and the adaptation LoRA train in float32, but their gradients reach them through
the UNet's float16 activations. A mean-squared denoising loss over a 4 x 4 x 64 x 64 latent batch gives each
output element a gradient near 2e-5, below float16's smallest normal number (6.1e-5): the backward pass
runs in the subnormal range and a fifth of the LoRA gradient entries come out exactly zero (measured on a tiny
SD-shaped UNet, tests/test_priors_half.py). The loss is multiplied by a fixed power of two before backward and
the gradients divided by it after: a static scale, so there is no scaler state to checkpoint, and a step whose
scaled gradients overflow is skipped by the callers' finite checks. bfloat16 and float32 need no scaling.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor

HALF_LOSS_SCALE = 2.0**12
"""Large enough to lift 2e-5 gradients well into float16's normal range, small enough that a denoising loss's
gradients (|x| < 1e-1 per element at this scale) stay far below its maximum, 65504."""


def loss_scale(dtype: torch.dtype) -> float:
    """The factor the loss is multiplied by before backward through a model running in ``dtype``."""
    return HALF_LOSS_SCALE if dtype == torch.float16 else 1.0


def scaled_backward(loss: Tensor, dtype: torch.dtype) -> None:
    """``loss.backward()``, with the loss scaled for a float16 model (unchanged otherwise)."""
    scale = loss_scale(dtype)
    (loss * scale if scale != 1.0 else loss).backward()


def unscale_grads(params: Iterable[Tensor], dtype: torch.dtype) -> None:
    """Divide the gradients of ``params`` by the scale ``scaled_backward`` used (nothing to do unless float16)."""
    scale = loss_scale(dtype)
    if scale == 1.0:
        return
    for p in params:
        if p.grad is not None:
            p.grad.div_(scale)
