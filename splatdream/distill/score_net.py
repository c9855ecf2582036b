"""The particles' own score model for VSD: a LoRA on the prior's UNet plus a camera embedding.

ProlificDreamer models the score of the rendered-image distribution with a LoRA copy of the
pretrained UNet conditioned on the camera. We keep a single UNet in memory: the LoRA is a peft
adapter that is switched on only for the particle-score predictions, and the camera embedding
(flattened 4x4 camera-to-world through a small MLP) is added to the UNet's timestep embedding by
a forward hook, so it works for any diffusers ``UNet2DConditionModel`` (Stable Diffusion or
TinyPrior, whatever class embedding the prior itself already uses). The MLP's last layer starts
at zero and the LoRA's B matrices start at zero, so at step 0 the score net equals the prior.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from torch import Tensor, nn

from splatdream.distill.config import ScoreNetConfig

ADAPTER_NAME = "vsd"
LORA_TARGETS = ("to_q", "to_k", "to_v", "to_out.0")


def lora_config(cfg: ScoreNetConfig) -> Any:
    """peft's LoraConfig for the score net on the UNet's attention projections."""
    from peft import LoraConfig

    # peft annotates lora_alpha as int; any number works (scaling = alpha / r)
    return LoraConfig(
        r=cfg.rank,
        lora_alpha=cfg.alpha,  # type: ignore[arg-type]
        init_lora_weights="gaussian" if cfg.init == "gaussian" else True,
        target_modules=list(LORA_TARGETS),
    )


def score_optimizer(params: list[nn.Parameter], cfg: ScoreNetConfig) -> torch.optim.Optimizer:
    """AdamW with the configured (threestudio's) settings."""
    return torch.optim.AdamW(params, lr=cfg.lr, betas=cfg.betas, eps=cfg.eps, weight_decay=cfg.weight_decay)


class CameraEmbedding(nn.Module):
    """Flattened camera-to-world [B, 16] -> timestep-embedding offset [B, D]; zero at init."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        first, last = nn.Linear(16, dim), nn.Linear(dim, dim)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.net = nn.Sequential(first, nn.SiLU(), last)

    def forward(self, c2w: Tensor) -> Tensor:  # [B, 4, 4] -> [B, D]
        return self.net(c2w.reshape(c2w.shape[0], 16))


class CameraLoRA(nn.Module):
    """Installs the ``vsd`` LoRA adapter and the camera hook on ``unet``; owns only trainable weights."""

    def __init__(self, unet: Any, cfg: ScoreNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self._unet = [unet]  # a list, so the frozen UNet is not registered as a submodule (or saved)
        if ADAPTER_NAME in getattr(unet, "peft_config", {}):
            raise ValueError(f"the UNet already carries a {ADAPTER_NAME!r} adapter")
        unet.add_adapter(lora_config(cfg), adapter_name=ADAPTER_NAME)
        dim = unet.time_embedding.linear_2.out_features
        p = next(unet.parameters())
        self.camera = CameraEmbedding(dim).to(device=p.device)
        self._pending: Tensor | None = None
        self._hook = unet.time_embedding.register_forward_hook(self._add_camera)
        unet.disable_adapters()
        # LoRA weights train in float32 even when the UNet runs in half precision.
        for param in self.lora_parameters():
            param.data = param.data.float()

    @property
    def unet(self) -> Any:
        return self._unet[0]

    def lora_parameters(self) -> list[nn.Parameter]:
        return [p for n, p in self.unet.named_parameters() if f".{ADAPTER_NAME}." in n]

    def parameters_to_train(self) -> list[nn.Parameter]:
        return self.lora_parameters() + list(self.camera.parameters())

    def _add_camera(self, module: nn.Module, inputs: Any, output: Tensor) -> Tensor:
        if self._pending is None:
            return output
        cam = self.camera(self._pending.to(torch.float32)).to(output.dtype)
        if cam.shape[0] != output.shape[0]:
            raise RuntimeError(f"camera batch {cam.shape[0]} != UNet batch {output.shape[0]}")
        return output + cam

    @contextlib.contextmanager
    def active(self, c2w: Tensor | None) -> Iterator[None]:
        """Within the block the UNet is the particles' score model conditioned on ``c2w`` [B, 4, 4].

        ``c2w=None`` (or zeros) is the unconditional camera. Outside the block the UNet is the prior.
        """
        self.unet.enable_adapters()
        self._pending = c2w
        try:
            yield
        finally:
            self._pending = None
            self.unet.disable_adapters()
            # peft re-enables grads on enable; keep requires_grad as we want it (trainable LoRA).
            for param in self.lora_parameters():
                param.requires_grad_(True)

    def trainable_state_dict(self) -> dict[str, Tensor]:
        """Only what VSD trains: LoRA weights and the camera MLP (never the frozen prior)."""
        state = {
            f"lora.{n}": p.detach().clone()
            for n, p in self.unet.named_parameters()
            if f".{ADAPTER_NAME}." in n
        }
        state.update({f"camera.{k}": v.detach().clone() for k, v in self.camera.state_dict().items()})
        return state

    def load_trainable_state_dict(self, state: dict[str, Tensor]) -> None:
        named = {n: p for n, p in self.unet.named_parameters() if f".{ADAPTER_NAME}." in n}
        lora_keys = {k[len("lora.") :] for k in state if k.startswith("lora.")}
        if lora_keys != set(named):
            raise ValueError(
                "checkpoint LoRA weights do not match this prior's UNet (different prior or rank?)"
            )
        with torch.no_grad():
            for name, param in named.items():
                param.copy_(state[f"lora.{name}"])
        self.camera.load_state_dict(
            {k[len("camera.") :]: v for k, v in state.items() if k.startswith("camera.")}
        )

    def remove(self) -> None:
        self._hook.remove()
        self.unet.delete_adapters(ADAPTER_NAME)
