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
from typing import Literal

import torch

WORDS = ["a", "red", "blue", "chair", "front", "side", "back", "view", "of", ","]
"""Whole-word tokens of the tokenizer; any other word maps to <|endoftext|>."""


def write_tokenizer(folder: Path) -> None:
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
    folder.mkdir(parents=True)
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(dict.fromkeys(merges)) + "\n")
    tok = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=16)
    tok.save_pretrained(folder)


def write_tiny_sd(root: Path, prediction_type: Literal["epsilon", "v_prediction"] = "epsilon", seed: int = 0) -> Path:
    """A diffusers SD folder with tiny random weights: 16 px images, 8x8x4 latents, 32-d text states."""
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, block_out_channels=(32, 64), layers_per_block=1,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=32, attention_head_dim=4, norm_num_groups=8,
    ).save_pretrained(root / "unet")
    AutoencoderKL(
        block_out_channels=(16, 32), in_channels=3, out_channels=3, latent_channels=4, norm_num_groups=8,
        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2, sample_size=16,
    ).save_pretrained(root / "vae")
    CLIPTextModel(CLIPTextConfig(
        vocab_size=1000, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
        max_position_embeddings=77, projection_dim=32,
    )).save_pretrained(root / "text_encoder")
    write_tokenizer(root / "tokenizer")
    DDPMScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012,
                  prediction_type=prediction_type).save_pretrained(root / "scheduler")
    (root / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
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
