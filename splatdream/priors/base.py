"""The one interface guidance code sees: a 2D diffusion prior.

Model space is where the UNet works: VAE latents for Stable Diffusion, pixels scaled to
[-1, 1] for the pixel-space TinyPrior. Guidance code never needs to know which: it encodes
renders, adds noise with ``alphas_cumprod``, asks ``predict_noise`` and, for VSD, copies
``unet`` (a diffusers ``UNet2DConditionModel``) to make its LoRA score network.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import torch
from torch import Tensor

from splatdream.priors.config import ViewPromptConfig

if TYPE_CHECKING:  # shapes for the reader and mypy only: nothing checks them at run time
    from jaxtyping import Float, Int, Shaped

PredictionType = Literal["epsilon", "v_prediction"]


@dataclass
class TextEmbeddings:
    """Encoded prompts plus the unconditional (negative) prompt, ready for the UNet."""

    cond: Float[Tensor, "B L D"]
    """One row per prompt."""
    uncond: Float[Tensor, "1 L D"]
    """The negative / empty prompt, broadcast over the batch."""

    def __post_init__(self) -> None:
        assert self.cond.ndim == 3 and self.uncond.ndim == 3, (self.cond.shape, self.uncond.shape)
        assert self.cond.shape[1:] == self.uncond.shape[1:], (self.cond.shape, self.uncond.shape)

    def __len__(self) -> int:
        return self.cond.shape[0]

    def __getitem__(self, index: Tensor | slice | int | list[int]) -> TextEmbeddings:
        """Select prompts (e.g. the view-dependent prompt of each camera)."""
        if isinstance(index, int):
            index = [index]
        return TextEmbeddings(self.cond[index], self.uncond)

    def expand(self, batch: int) -> TextEmbeddings:
        """Repeat a single prompt over a batch; a batch of the right size is returned as is."""
        if len(self) == batch:
            return self
        if len(self) != 1:
            raise ValueError(f"{len(self)} prompts cannot be broadcast to a batch of {batch}")
        return TextEmbeddings(self.cond.expand(batch, -1, -1), self.uncond)

    def to(
        self, device: torch.device | str | None = None, dtype: torch.dtype | None = None
    ) -> TextEmbeddings:
        return TextEmbeddings(
            self.cond.to(device=device, dtype=dtype), self.uncond.to(device=device, dtype=dtype)
        )


def alpha_sigma(
    alphas_cumprod: Float[Tensor, " T"], t: Shaped[Tensor, " B"], ndim: int = 4
) -> tuple[Float[Tensor, " B *ones"], Float[Tensor, " B *ones"]]:
    """sqrt(abar_t) and sqrt(1 - abar_t) for timesteps ``t`` (integers in [0, T)), shaped [B, 1, ...] to
    broadcast over ``ndim`` dimensions."""
    abar = alphas_cumprod.to(t.device)[t.long()].float()
    shape = (-1,) + (1,) * (ndim - 1)
    return abar.sqrt().reshape(shape), (1 - abar).sqrt().reshape(shape)


def denoising_target(
    x0: Float[Tensor, " B *shape"],
    noise: Float[Tensor, " B *shape"],
    t: Shaped[Tensor, " B"],
    alphas_cumprod: Float[Tensor, " T"],
    prediction_type: PredictionType,
) -> Float[Tensor, " B *shape"]:
    """What a UNet of ``prediction_type`` should output for x_t = alpha_t x0 + sigma_t noise: noise, or v.

    v = alpha_t noise - sigma_t x0 (Salimans & Ho), the target threestudio's VSD trains the LoRA on for
    v-prediction priors.
    """
    if prediction_type == "epsilon":
        return noise
    a, s = alpha_sigma(alphas_cumprod, t, x0.ndim)
    return a * noise.float() - s * x0.float()


def v_to_eps(
    v: Float[Tensor, " B *shape"],
    x_t: Float[Tensor, " B *shape"],
    t: Shaped[Tensor, " B"],
    alphas_cumprod: Float[Tensor, " T"],
) -> Float[Tensor, " B *shape"]:
    """v-prediction -> noise: eps = sigma_t x_t + alpha_t v."""
    a, s = alpha_sigma(alphas_cumprod, t, v.ndim)
    return (s * x_t.float() + a * v.float()).to(v.dtype)


def eps_to_v(
    eps: Float[Tensor, " B *shape"],
    x_t: Float[Tensor, " B *shape"],
    t: Shaped[Tensor, " B"],
    alphas_cumprod: Float[Tensor, " T"],
) -> Float[Tensor, " B *shape"]:
    """Noise -> v-prediction: v = (eps - sigma_t x_t) / alpha_t."""
    a, s = alpha_sigma(alphas_cumprod, t, eps.ndim)
    return ((eps.float() - s * x_t.float()) / a).to(eps.dtype)


def add_noise(
    x0: Float[Tensor, " B *shape"],
    noise: Float[Tensor, " B *shape"],
    t: Shaped[Tensor, " B"],
    alphas_cumprod: Float[Tensor, " T"],
) -> Float[Tensor, " B *shape"]:
    """Forward diffusion q(x_t | x_0) for a batch of timesteps ``t`` [B]."""
    a, s = alpha_sigma(alphas_cumprod, t, x0.ndim)
    return (a * x0.float() + s * noise.float()).to(x0.dtype)


def sd_alphas_cumprod(
    num_train_timesteps: int = 1000, beta_start: float = 0.00085, beta_end: float = 0.012
) -> Float[Tensor, " T"]:
    """Stable Diffusion's 'scaled_linear' DDPM schedule (the TinyPrior uses the same one)."""
    betas = torch.linspace(beta_start**0.5, beta_end**0.5, num_train_timesteps, dtype=torch.float64) ** 2
    return torch.cumprod(1.0 - betas, dim=0).float()


class Prior(ABC):
    """A text-conditioned 2D diffusion prior (Stable Diffusion or the TinyPrior).

    Attributes every prior sets:
        unet: the diffusers ``UNet2DConditionModel`` (VSD makes a LoRA copy of it with peft and may
            give the copy a camera class embedding).
        alphas_cumprod: [T] the training schedule's cumulative alphas, on ``device``.
        prediction_type: what ``unet`` predicts; ``predict_noise`` always returns noise.
        device, dtype: where and in what precision the UNet runs.
        view_prompts: the view wording the prior knows (``PriorConfig.view_prompts``, set by ``load_prior``);
            every stage that puts a view word in a prompt reads it here, so they cannot disagree.
    """

    view_prompts: ViewPromptConfig = ViewPromptConfig()
    unet: torch.nn.Module
    alphas_cumprod: Float[Tensor, " T"]
    prediction_type: PredictionType
    device: torch.device
    dtype: torch.dtype
    name: str

    @property
    def num_train_timesteps(self) -> int:
        return int(self.alphas_cumprod.shape[0])

    @abstractmethod
    def encode_prompts(self, prompts: Sequence[str], negative_prompt: str = "") -> TextEmbeddings:
        """Text -> embeddings for ``predict_noise`` (one row per prompt, plus the negative prompt)."""

    @abstractmethod
    def encode_images(self, images: Float[Tensor, "B 3 H W"]) -> Float[Tensor, "B C h w"]:
        """Renders in [0, 1] -> model space (differentiable)."""

    @abstractmethod
    def decode(self, x: Float[Tensor, "B C h w"]) -> Float[Tensor, "B 3 H W"]:
        """Model space -> images in [0, 1]."""

    @abstractmethod
    def model_resolution(self) -> int:
        """Side of the model-space tensor ``encode_images`` makes (renders are resized to the model first)."""

    def unet_forward(
        self,
        x: Float[Tensor, "B C h w"],
        t: Int[Tensor, " B"],
        hidden: Float[Tensor, "B L D"],
        class_labels: Float[Tensor, "B ..."] | None,
    ) -> Float[Tensor, "B C h w"]:
        """One raw UNet call in the model's own parameterisation (override to add conditioning)."""
        return self.unet(x, t, encoder_hidden_states=hidden, class_labels=class_labels).sample

    def predict_noise(
        self,
        x_t: Float[Tensor, "B C h w"],  # noisy model-space tensor
        t: Int[Tensor, " B"],  # integer timesteps in [0, T)
        text_emb: TextEmbeddings,  # 1 or B prompts
        *,
        guidance_scale: float,
        class_labels: Float[Tensor, "B ..."] | None = None,  # e.g. flattened camera matrices (VSD LoRA copy)
    ) -> Float[Tensor, "B C h w"]:
        """Classifier-free-guided noise prediction eps_u + s (eps_c - eps_u), always as epsilon.

        With ``guidance_scale == 1`` only the conditional branch runs. Under guidance, the
        unconditional branch gets zeroed ``class_labels``, matching the label dropout VSD trains with.
        """
        b = x_t.shape[0]
        assert t.shape == (b,), (t.shape, x_t.shape)
        text_emb = text_emb.expand(b).to(self.device, self.dtype)
        x_in = x_t.to(self.device, self.dtype)
        t_in = t.to(self.device)
        if guidance_scale == 1.0:
            out = self.unet_forward(x_in, t_in, text_emb.cond, class_labels)
            out = self._to_eps(out, x_in, t_in)
            return out.to(x_t.dtype)
        hidden = torch.cat([text_emb.cond, text_emb.uncond.expand(b, -1, -1)])
        labels = None if class_labels is None else torch.cat([class_labels, torch.zeros_like(class_labels)])
        out = self.unet_forward(torch.cat([x_in, x_in]), torch.cat([t_in, t_in]), hidden, labels)
        out = self._to_eps(out, torch.cat([x_in, x_in]), torch.cat([t_in, t_in]))
        cond, uncond = out.float().chunk(2)
        return (uncond + guidance_scale * (cond - uncond)).to(x_t.dtype)

    def _to_eps(
        self, out: Float[Tensor, "B C h w"], x_t: Float[Tensor, "B C h w"], t: Int[Tensor, " B"]
    ) -> Float[Tensor, "B C h w"]:
        if self.prediction_type == "epsilon":
            return out
        return v_to_eps(out, x_t, t, self.alphas_cumprod)

    def add_noise(
        self, x0: Float[Tensor, "B C h w"], noise: Float[Tensor, "B C h w"], t: Int[Tensor, " B"]
    ) -> Float[Tensor, "B C h w"]:
        return add_noise(x0, noise, t, self.alphas_cumprod)

    def v_to_eps(
        self, v: Float[Tensor, "B C h w"], x_t: Float[Tensor, "B C h w"], t: Int[Tensor, " B"]
    ) -> Float[Tensor, "B C h w"]:
        return v_to_eps(v, x_t, t, self.alphas_cumprod)

    def eps_to_v(
        self, eps: Float[Tensor, "B C h w"], x_t: Float[Tensor, "B C h w"], t: Int[Tensor, " B"]
    ) -> Float[Tensor, "B C h w"]:
        return eps_to_v(eps, x_t, t, self.alphas_cumprod)
