"""Tiny random Stable-Diffusion-shaped models saved as a diffusers folder, and a tiny random open_clip model.

The real SD and CLIP loading paths run on them with no download: ``write_tiny_sd(folder)`` writes
unet/ vae/ text_encoder/ tokenizer/ scheduler/ (epsilon or v prediction), ``write_tiny_clip(folder)``
an open_clip model config and checkpoint for ``--retrieval.clip-model FILE.json --retrieval.clip-checkpoint``.
Also ``python -m tests.support.tiny_sd DIR [--v-prediction]`` (the GPU check's CPU smoke mode).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Literal

import torch

Flavour = Literal["sd15", "sd21-base", "sd21"]
FLAVOURS: dict[str, dict[str, Any]] = {
    # What tells the real folders apart, at tiny sizes: SD 1.5 (CLIP ViT-L text tower: quick_gelu, conv
    # attention projections, one head size, PNDM scheduler, pads with <|endoftext|>); SD 2.1-base (OpenCLIP-H:
    # gelu, linear projections, head counts per block, PNDM, pads with "!", epsilon); SD 2.1 (the same at 768 px,
    # v-prediction, DDIM). Sizes here are tiny; the config keys and classes are the real folders'.
    "sd15": {
        "linear": False,
        "heads": 4,
        "act": "quick_gelu",
        "scheduler": "PNDMScheduler",
        "pred": "epsilon",
        "pad": None,
    },
    "sd21-base": {
        "linear": True,
        "heads": (2, 4),
        "act": "gelu",
        "scheduler": "PNDMScheduler",
        "pred": "epsilon",
        "pad": "!",
    },
    "sd21": {
        "linear": True,
        "heads": (2, 4),
        "act": "gelu",
        "scheduler": "DDIMScheduler",
        "pred": "v_prediction",
        "pad": "!",
    },
}

WORDS = ["a", "red", "blue", "chair", "front", "side", "back", "view", "of", ","]
"""Whole-word tokens of the tokenizer; any other word maps to <|endoftext|>."""


def write_tokenizer(folder: Path, pad_token: str | None = None) -> None:
    """A CLIP BPE tokenizer with a handful of whole-word tokens (unknown words map to <|endoftext|>)."""
    from transformers import CLIPTokenizer

    chars = sorted({c for w in WORDS for c in w})
    vocab = ["<|startoftext|>", "<|endoftext|>"] + chars + [c + "</w>" for c in chars]
    merges, pieces = [], []
    for w in WORDS:  # merge left to right: r e -> re, re d</w> -> red</w>
        cur = w[0]
        for i, c in enumerate(w[1:], start=1):
            nxt = c + ("</w>" if i == len(w) - 1 else "")
            merges.append(f"{cur} {nxt}")
            cur = cur + nxt
            pieces.append(cur)
    vocab += [p for p in dict.fromkeys(pieces) if p not in vocab]
    if pad_token is not None and pad_token not in vocab:
        vocab.append(pad_token)
    folder.mkdir(parents=True)
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(dict.fromkeys(merges)) + "\n")
    kw = {} if pad_token is None else {"pad_token": pad_token}
    tok = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=16, **kw)
    tok.save_pretrained(folder)


def tiny_sd_models(
    sample_size: int = 8,
    *,
    heads: int | tuple[int, ...] = 4,
    linear: bool = False,
    act: str = "quick_gelu",
    cross_attention_first: bool = True,
    vae_blocks: tuple[int, ...] = (16, 32),
    seed: int = 0,
) -> tuple[Any, Any, Any]:
    """(UNet2DConditionModel, AutoencoderKL, CLIPTextModel) with tiny random weights, SD-shaped: 4 latent
    channels, 32-d text states. The VAE downsamples by 2 per block after the first (``(16, 32)``: 16 px
    images on 8x8 latents; four blocks: SD's x8). ``heads``, ``linear`` and ``act`` are what tell SD 1.5
    and 2.1 apart (``FLAVOURS``). Seeded, and built in this order, so the same arguments give the same
    weights: the folders below and the benchmarks' random SD share them."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    cross, plain = ("CrossAttnDownBlock2D", "DownBlock2D"), ("UpBlock2D", "CrossAttnUpBlock2D")
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=sample_size,
        in_channels=4,
        out_channels=4,
        block_out_channels=(32, 64),
        layers_per_block=1,
        down_block_types=cross if cross_attention_first else cross[::-1],
        up_block_types=plain if cross_attention_first else plain[::-1],
        cross_attention_dim=32,
        attention_head_dim=heads,
        use_linear_projection=linear,
        norm_num_groups=8,
    )
    vae = AutoencoderKL(
        block_out_channels=vae_blocks,
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        norm_num_groups=8,
        down_block_types=("DownEncoderBlock2D",) * len(vae_blocks),
        up_block_types=("UpDecoderBlock2D",) * len(vae_blocks),
        sample_size=sample_size * 2 ** (len(vae_blocks) - 1),
        scaling_factor=0.18215,
    )
    text = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=1000,
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=2,
            num_attention_heads=4,
            max_position_embeddings=77,
            projection_dim=32,
            hidden_act=act,
        )
    )
    return unet, vae, text


def _save_models(root: Path, models: tuple[Any, Any, Any]) -> None:
    for sub, model in zip(("unet", "vae", "text_encoder"), models, strict=True):
        model.save_pretrained(root / sub)


def write_tiny_sd(
    root: Path, prediction_type: Literal["epsilon", "v_prediction"] = "epsilon", seed: int = 0
) -> Path:
    """A diffusers SD folder with tiny random weights: 16 px images, 8x8x4 latents, 32-d text states."""
    from diffusers import DDPMScheduler

    _save_models(root, tiny_sd_models(seed=seed))
    write_tokenizer(root / "tokenizer")
    DDPMScheduler(
        beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, prediction_type=prediction_type
    ).save_pretrained(root / "scheduler")
    (root / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    return root


def write_tiny_sd_like(root: Path, flavour: Flavour, seed: int = 0) -> Path:
    """A tiny folder shaped like a real SD 1.5, 2.1-base or 2.1 diffusers folder (``FLAVOURS``): the same
    model and scheduler classes, config keys and model_index.json, at 16 px."""
    import diffusers

    f = FLAVOURS[flavour]
    _save_models(root, tiny_sd_models(heads=f["heads"], linear=f["linear"], act=f["act"], seed=seed))
    write_tokenizer(root / "tokenizer", pad_token=f["pad"])
    scheduler = getattr(diffusers, f["scheduler"])
    extra = {"skip_prk_steps": True} if f["scheduler"] == "PNDMScheduler" else {"clip_sample": False}
    scheduler(
        beta_schedule="scaled_linear",
        beta_start=0.00085,
        beta_end=0.012,
        prediction_type=f["pred"],
        steps_offset=1,
        set_alpha_to_one=False,
        **extra,
    ).save_pretrained(root / "scheduler")
    index = {
        "_class_name": "StableDiffusionPipeline",
        "_diffusers_version": diffusers.__version__,
        "scheduler": ["diffusers", f["scheduler"]],
        "text_encoder": ["transformers", "CLIPTextModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"],
        "requires_safety_checker": flavour == "sd15",
    }
    if flavour == "sd15":  # SD 1.5 folders carry a safety checker and feature extractor we never load
        index |= {
            "safety_checker": ["stable_diffusion", "StableDiffusionSafetyChecker"],
            "feature_extractor": ["transformers", "CLIPImageProcessor"],
        }
    (root / "model_index.json").write_text(json.dumps(index))
    return root


TINY_CLIP = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 32, "head_width": 16, "patch_size": 8},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2},
}
"""An open_clip ViT small enough to embed a few hundred renders in seconds on one CPU core."""


def write_tiny_clip(folder: Path, seed: int = 0) -> tuple[Path, Path]:
    """(model config .json, checkpoint .pt) of a random tiny open_clip model."""
    import open_clip

    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "tiny-clip.json"
    config.write_text(json.dumps(TINY_CLIP))
    torch.manual_seed(seed)
    model = open_clip.CLIP(**TINY_CLIP)
    checkpoint = folder / "tiny-clip.pt"
    torch.save(model.state_dict(), checkpoint)
    return config, checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--v-prediction", action="store_true")
    args = parser.parse_args()
    write_tiny_sd(args.folder, "v_prediction" if args.v_prediction else "epsilon")
    write_tiny_clip(args.folder / "clip")
    print(args.folder)


if __name__ == "__main__":
    main()
