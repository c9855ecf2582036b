"""The adaptation LoRA: training, peft-format save/load, fusing, view tokens, the disabled switch."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

from splatdream.adaptation.config import ADAPTER_NAME, AdaptConfig
from splatdream.adaptation.lora import ViewTokens, apply_adapter, fuse_adapter, install_view_tokens
from splatdream.adaptation.train import adapt_prior
from splatdream.priors.tiny_prior import TinyArch, TinyPrior, build_tiny_unet
from splatdream.scene import Gaussians

ARCH = TinyArch(image_size=16, block_out_channels=(8, 16, 32), attention_head_dim=4, norm_num_groups=4)


class HashText:
    """Deterministic stand-in for MiniLM: each word adds a fixed random vector to every row."""

    seq_len = 1 + ARCH.max_text_tokens

    def encode(self, prompts: list[str]) -> torch.Tensor:
        out = torch.zeros(len(prompts), self.seq_len, 384)
        for i, p in enumerate(prompts):
            for j, word in enumerate(p.replace(",", " ").split()):
                seed = int(hashlib.md5(word.encode()).hexdigest()[:8], 16)
                out[i, min(j, self.seq_len - 1)] += torch.randn(
                    384, generator=torch.Generator().manual_seed(seed)
                )
        return out


def tiny_prior(seed: int = 0) -> TinyPrior:
    torch.manual_seed(seed)
    return TinyPrior(build_tiny_unet(ARCH), ARCH, text_encoder=HashText())


def blob_asset(seed: int) -> Gaussians:
    gen = torch.Generator().manual_seed(seed)
    return Gaussians.random_ball(300, radius=0.7, scale=0.08, opacity=0.8, generator=gen)


FAST = AdaptConfig(
    steps=6,
    batch_size=4,
    resolution=16,
    azimuths_deg=(0.0, 90.0, 180.0, 270.0),
    elevations_deg=(10.0,),
    lr=1e-2,
    progress=False,
    align=False,
)


def _probe(prior: TinyPrior) -> torch.Tensor:
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(3, 3, 16, 16, generator=gen)
    t = torch.tensor([50, 400, 900])
    emb = prior.encode_prompts(["a blob, front view", "a blob, side view", "a blob, back view"])
    return prior.predict_noise(x, t, emb, guidance_scale=1.0)


def test_adapt_saves_reloads_and_fuses(tmp_path: Path) -> None:
    prior = tiny_prior()
    before = _probe(prior)
    result = adapt_prior(prior, [blob_asset(0), blob_asset(1)], "a blob", FAST, tmp_path / "adapter")
    assert result.adapter_dir == tmp_path / "adapter"
    assert len(result.losses) == FAST.steps and result.n_views == 8
    # Training leaves the prior as it was; apply_adapter is the one way to use the result.
    torch.testing.assert_close(_probe(prior), before)
    assert not getattr(prior.unet, "peft_config", None)

    files = {p.name for p in result.adapter_dir.iterdir()}
    assert {"adapter_model.safetensors", "adapter_config.json", "adapt.json"} <= files
    config = json.loads((result.adapter_dir / "adapter_config.json").read_text())
    assert config["r"] == FAST.rank and set(config["target_modules"]) == {"to_q", "to_k", "to_v", "to_out.0"}
    record = json.loads((result.adapter_dir / "adapt.json").read_text())
    assert record["prompt"] == "a blob" and len(record["losses"]) == FAST.steps

    unfused = apply_adapter(prior, result.adapter_dir, fuse=False)
    assert ADAPTER_NAME in unfused.unet.peft_config
    adapted = _probe(unfused)
    assert (adapted - before).abs().max() > 1e-4  # the LoRA changed the prior
    fuse_adapter(unfused.unet)  # merging computes the same function
    torch.testing.assert_close(_probe(unfused), adapted, atol=1e-5, rtol=1e-4)

    # A fresh copy of the base prior + the saved adapter, fused into plain weights so that
    # distillation can add its own 'vsd' LoRA.
    fresh = apply_adapter(tiny_prior(), result.adapter_dir, fuse=True)
    torch.testing.assert_close(_probe(fresh), adapted, atol=1e-5, rtol=1e-4)
    assert not getattr(fresh.unet, "peft_config", None)
    assert not any("lora" in n for n, _ in fresh.unet.named_parameters())
    assert not any(p.requires_grad for p in fresh.unet.parameters())
    from splatdream.distill.config import ScoreNetConfig
    from splatdream.distill.score_net import CameraLoRA

    CameraLoRA(fresh.unet, ScoreNetConfig())  # must not clash with the fused adapter
    twice = apply_adapter(tiny_prior(), result.adapter_dir, fuse=False)
    with pytest.raises(ValueError, match="already carries"):
        apply_adapter(twice, result.adapter_dir)


def test_disabled_adaptation_is_a_no_op(tmp_path: Path) -> None:
    prior = tiny_prior()
    before = _probe(prior)
    result = adapt_prior(prior, [blob_asset(0)], "a blob", AdaptConfig(enabled=False), tmp_path / "adapter")
    assert result.adapter_dir is None and result.losses == []
    assert not getattr(prior.unet, "peft_config", None)
    assert not (tmp_path / "adapter").exists()
    torch.testing.assert_close(_probe(prior), before)


def test_view_tokens_learnt_saved_and_installed(tmp_path: Path) -> None:
    prior = tiny_prior()
    cfg = AdaptConfig(**{**FAST.__dict__, "learn_view_tokens": True, "view_token_lr": 1e-1})
    result = adapt_prior(prior, [blob_asset(0)], "a blob", cfg, tmp_path)
    assert prior.encode_prompts(["a blob, front view"]).cond.shape[0] == 1
    tokens = ViewTokens.load(result.adapter_dir)
    assert tokens.offsets["front"].abs().max() > 0  # trained (zero at init)
    assert tokens.offsets["overhead"].abs().max() == 0  # no overhead renders in this grid
    assert tokens.word_of("a blob, back view") == "back" and tokens.word_of("a blob") is None

    fresh = tiny_prior()
    plain = fresh.encode_prompts(["a blob, front view", "a blob"])
    apply_adapter(fresh, result.adapter_dir)
    shifted = fresh.encode_prompts(["a blob, front view", "a blob"])
    torch.testing.assert_close(shifted.cond[0], plain.cond[0] + tokens.offsets["front"])
    torch.testing.assert_close(shifted.cond[1], plain.cond[1])
    unfused = apply_adapter(tiny_prior(), result.adapter_dir, fuse=False)
    torch.testing.assert_close(_probe(fresh), _probe(unfused), atol=1e-5, rtol=1e-4)
    install_view_tokens(fresh, tokens)  # re-installing does not stack offsets
    torch.testing.assert_close(fresh.encode_prompts(["a blob, front view"]).cond[0], shifted.cond[0])


def test_missing_adapter_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="splatdream adapt"):
        apply_adapter(tiny_prior(), tmp_path)


def test_asset_captions_caption_each_assets_renders(tmp_path: Path) -> None:
    from dataclasses import replace

    from splatdream.adaptation.train import render_training_views

    cfg = replace(FAST, captions="asset")
    data = render_training_views([blob_asset(0), blob_asset(1)], ["a red blob", "a tall blob"], cfg)
    assert data.prompts[:4] == [
        "a red blob, front view",
        "a red blob, side view",
        "a red blob, back view",
        "a red blob, side view",
    ]
    assert (
        all(p.startswith("a tall blob") for p in data.prompts[4:])
        and data.asset.tolist() == [0] * 4 + [1] * 4
    )

    result = adapt_prior(
        tiny_prior(),
        [blob_asset(0), blob_asset(1)],
        "a blob",
        cfg,
        tmp_path / "a",
        asset_captions=["a red blob", "a tall blob"],
    )
    record = json.loads((result.adapter_dir / "adapt.json").read_text())
    assert record["prompt"] == "a blob" and {c.split(",")[0] for c in record["captions"]} == {
        "a red blob",
        "a tall blob",
    }
    with pytest.raises(ValueError, match="asset_captions"):
        adapt_prior(tiny_prior(), [blob_asset(0)], "a blob", cfg, tmp_path / "b")
    with pytest.raises(ValueError, match="one per asset"):
        adapt_prior(tiny_prior(), [blob_asset(0)], "a blob", cfg, tmp_path / "c", asset_captions=["x", "y"])
