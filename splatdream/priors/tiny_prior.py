"""TinyPrior: a small pixel-space text-to-image diffusion model the project trains and ships.

Pixel space at 32x32 RGB (renders are downsampled to it with antialiasing), epsilon-prediction,
SD's 1000-step scaled_linear schedule, cross-attention on MiniLM token states at the lowest
resolution only, and global text conditioning through diffusers' ``addition_embed_type="text"``
(attention-pooled token states added to the timestep embedding). The global path is what lets
classifier-free guidance steer colour at the high noise levels score distillation samples.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from splatdream.priors.base import Prior, TextEmbeddings, sd_alphas_cumprod
from splatdream.priors.text import HIDDEN_DIM, MiniLMTokenEncoder

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "data" / "tiny_prior"
"""Where the package ships the trained TinyPrior (weights, config, model card)."""
META_FILE = "tiny_prior.json"
UNET_DIR = "unet"


@dataclass(frozen=True)
class TinyArch:
    """Architecture of the TinyPrior UNet (saved next to the weights)."""

    image_size: int = 32
    """Side of the pixel-space images the model denoises."""
    block_out_channels: tuple[int, ...] = (32, 64, 128)
    """Channels per resolution level; the last level (image_size / 4) has cross-attention."""
    layers_per_block: int = 1
    attention_head_dim: int = 8
    norm_num_groups: int = 16
    max_text_tokens: int = 32
    """MiniLM tokens kept per caption (a pooled sentence token is prepended)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Further UNet2DConditionModel kwargs (overrides)."""


def build_tiny_unet(arch: TinyArch = TinyArch()):  # -> UNet2DConditionModel
    """A fresh, randomly initialised TinyPrior UNet."""
    from diffusers import UNet2DConditionModel

    n = len(arch.block_out_channels)
    down = ("DownBlock2D",) * (n - 1) + ("CrossAttnDownBlock2D",)
    up = ("CrossAttnUpBlock2D",) + ("UpBlock2D",) * (n - 1)
    kwargs: dict[str, Any] = dict(
        sample_size=arch.image_size,
        in_channels=3,
        out_channels=3,
        block_out_channels=tuple(arch.block_out_channels),
        layers_per_block=arch.layers_per_block,
        down_block_types=down,
        up_block_types=up,
        cross_attention_dim=HIDDEN_DIM,
        attention_head_dim=arch.attention_head_dim,
        norm_num_groups=arch.norm_num_groups,
        addition_embed_type="text",
        addition_embed_type_num_heads=8,
    )
    kwargs.update(arch.extra)
    return UNet2DConditionModel(**kwargs)


def arch_from_json(d: dict[str, Any]) -> TinyArch:
    d = dict(d)
    d["block_out_channels"] = tuple(d["block_out_channels"])
    return TinyArch(**d)


def arch_to_json(arch: TinyArch) -> dict[str, Any]:
    d = asdict(arch)
    d["block_out_channels"] = list(arch.block_out_channels)
    return d


def missing_weights_message(path: Path) -> str:
    return (
        f"TinyPrior weights not found in {path}. Train them with "
        "'splatdream prior train-tiny --out /work/tinyprior_run' and copy them in with "
        "'splatdream prior export-tiny --run-dir /work/tinyprior_run', or pass --prior.path DIR "
        "pointing at an exported TinyPrior folder (tiny_prior.json + unet/)."
    )


class TinyPrior(Prior):
    """The TinyPrior behind the ``Prior`` interface; model space = pixels scaled to [-1, 1]."""

    name = "tiny"
    prediction_type = "epsilon"

    def __init__(
        self,
        unet: torch.nn.Module,
        arch: TinyArch,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
        text_encoder: MiniLMTokenEncoder | None = None,
    ) -> None:
        self.device = torch.device(device)
        self.dtype = dtype
        self.arch = arch
        unet = unet.to(self.device)
        if next(unet.parameters()).dtype != dtype:  # diffusers warns on any dtype cast, even a no-op one
            unet = unet.to(dtype)
        self.unet = unet.eval().requires_grad_(False)
        self.alphas_cumprod = sd_alphas_cumprod().to(self.device)
        self.text_encoder = text_encoder or MiniLMTokenEncoder(arch.max_text_tokens)

    @classmethod
    def load(
        cls,
        path: str | Path | None = None,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> TinyPrior:
        """Load an exported TinyPrior folder (the shipped one by default)."""
        from diffusers import UNet2DConditionModel

        folder = Path(path) if path else SHIPPED_DIR
        meta_path = folder / META_FILE
        if not meta_path.is_file() or not (folder / UNET_DIR / "config.json").is_file():
            raise FileNotFoundError(missing_weights_message(folder))
        meta = json.loads(meta_path.read_text())
        unet = UNet2DConditionModel.from_pretrained(folder / UNET_DIR, local_files_only=True)
        return cls(unet, arch_from_json(meta["arch"]), device=device, dtype=dtype)

    def encode_prompts(self, prompts: Sequence[str], negative_prompt: str = "") -> TextEmbeddings:
        cond = self.text_encoder.encode(list(prompts))
        uncond = self.text_encoder.encode([negative_prompt])
        return TextEmbeddings(cond, uncond).to(self.device, self.dtype)

    def encode_images(self, images: Tensor) -> Tensor:
        assert images.ndim == 4 and images.shape[1] == 3, images.shape
        s = self.arch.image_size
        if images.shape[-2:] != (s, s):
            images = torch.nn.functional.interpolate(
                images, size=(s, s), mode="bilinear", antialias=True, align_corners=False
            )
        return images * 2.0 - 1.0

    def decode(self, x: Tensor) -> Tensor:
        return ((x + 1.0) / 2.0).clamp(0.0, 1.0)

    def model_resolution(self) -> int:
        return self.arch.image_size
