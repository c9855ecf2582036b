"""Train the TinyPrior on captioned renders: resumable, EMA weights, LR warm-up, logs and sample grids.

Run directory layout (everything written atomically, so a crash never leaves a broken file):
    checkpoint.pt     latest step: model, EMA, optimiser, RNG states (every ``checkpoint_every`` steps)
    loss.csv          step, loss, lr, seconds per step, wall seconds
    samples/          DDIM grids from the EMA weights, one prompt per row
    data_*.npz        the rendered training set (``tiny_data.RenderedSet``)
"""

from __future__ import annotations

import copy
import csv
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from splatdream.atomic import atomic_write
from splatdream.errors import CheckpointError, one_line
from splatdream.priors.base import add_noise, sd_alphas_cumprod
from splatdream.priors.config import ViewPromptConfig
from splatdream.priors.text import MiniLMTokenEncoder
from splatdream.priors.tiny_prior import TinyArch, TinyPrior, arch_from_json, arch_to_json, build_tiny_unet
from splatdream.priors.tiny_training.data import RenderedSet, render_assets, synthetic_assets
from splatdream.priors.views import with_view
from splatdream.safeload import load_tensors

CHECKPOINT = "checkpoint.pt"
SAMPLE_PROMPTS = (
    "a red cube, front view",
    "a blue cube, front view",
    "a green ball, side view",
    "a yellow ball, side view",
)


@dataclass(frozen=True)
class TrainTinyConfig:
    """Training run of the TinyPrior."""

    out: Path = Path("/work/tinyprior_run")
    """Run directory: checkpoint, loss log, sample grids, rendered data."""
    data: tuple[Path, ...] = ()
    """Rendered training sets (.npz from tiny_data); empty -> every data_*.npz in the run dir, else synthetic."""
    steps: int = 6000
    """Total optimiser steps (a resumed run continues up to this number)."""
    resume: bool = False
    """Continue from ``out/checkpoint.pt`` if it exists."""
    init_from: Path | None = None
    """Start a new run from an exported TinyPrior folder's weights (a fine-tune; fresh optimiser and
    schedule). Ignored when resuming: the checkpoint carries the run on."""
    batch_size: int = 32
    lr: float = 3e-4
    """Peak AdamW learning rate (after warm-up, cosine-decayed to 10% at ``steps``)."""
    warmup_steps: int = 300
    weight_decay: float = 0.01
    ema_decay: float = 0.999
    """EMA decay of the exported weights (ramped up from 0 over the first steps)."""
    caption_dropout: float = 0.12
    """Probability of training on the empty prompt, so classifier-free guidance works."""
    no_view_fraction: float = 0.15
    """Probability of a caption without its view word (the view-independent prompt VSD uses)."""
    white_background: float = 0.35
    """Probability of a white background; otherwise a random grey (25%) or a random solid colour."""
    checkpoint_every: int = 200
    sample_every: int = 500
    log_every: int = 10
    seed: int = 0
    threads: int = 1
    """torch CPU threads (1 leaves the other cores to everyone else)."""
    sample_prompts: tuple[str, ...] = SAMPLE_PROMPTS
    arch: TinyArch = field(default_factory=TinyArch)
    view: ViewPromptConfig = field(default_factory=ViewPromptConfig)


def find_data(cfg: TrainTinyConfig) -> list[Path]:
    if cfg.data:
        return list(cfg.data)
    found = sorted(cfg.out.glob("data_*.npz"))
    if found:
        return found
    path = cfg.out / "data_synthetic.npz"
    print(f"no training data given: rendering synthetic coloured shapes to {path}", flush=True)
    render_assets(synthetic_assets(), views_per_variant=24, recolourings=3, seed=cfg.seed).save(path)
    return [path]


class CaptionBank:
    """Every caption the sampler can draw, encoded once: [U, L, D] float16 plus lookup tables."""

    def __init__(self, data: RenderedSet, view_cfg: ViewPromptConfig, encoder: MiniLMTokenEncoder) -> None:
        with_views = [with_view(c, v, view_cfg) for c, v in zip(data.captions, data.views, strict=True)]
        texts = sorted(set(with_views) | set(data.captions) | {""})
        index = {t: i for i, t in enumerate(texts)}
        self.texts = texts
        self.emb = torch.cat([encoder.encode(texts[i : i + 512]) for i in range(0, len(texts), 512)]).half()
        self.with_view = torch.tensor([index[t] for t in with_views])
        self.without_view = torch.tensor([index[c] for c in data.captions])
        self.empty = index[""]


def composite(rgb: Tensor, alpha: Tensor, cfg: TrainTinyConfig, gen: torch.Generator) -> Tensor:
    """uint8 rgb [B,S,S,3] + alpha [B,S,S] over random solid backgrounds -> [B,3,S,S] in [-1, 1]."""
    b = rgb.shape[0]
    u = torch.rand(b, generator=gen)
    bg = torch.rand(b, 3, generator=gen)
    grey = torch.rand(b, 1, generator=gen).expand(b, 3)
    bg = torch.where(
        (u < cfg.white_background)[:, None],
        torch.ones(b, 3),
        torch.where((u < cfg.white_background + 0.25)[:, None], grey, bg),
    )
    a = alpha.float()[..., None] / 255.0
    img = rgb.float() / 255.0 * a + bg[:, None, None, :] * (1 - a)
    return img.permute(0, 3, 1, 2) * 2 - 1


def lr_at(step: int, cfg: TrainTinyConfig) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = min(1.0, (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps))
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


@torch.no_grad()
def ema_update(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    for pe, pm in zip(ema.parameters(), model.parameters(), strict=True):
        pe.lerp_(pm, 1.0 - decay)


def save_checkpoint(path: Path, state: dict) -> None:
    """Atomic, and plain data only (the arch as a JSON string), so ``load_checkpoint`` reads it without unpickling."""
    with atomic_write(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A training checkpoint, read with ``weights_only=True``; its ``arch`` back as a ``TinyArch``."""
    fix = f"delete {path} (or pass another --out) to train from scratch"
    state = load_tensors(path, fix)
    if not isinstance(state, dict) or not {"unet", "ema", "opt", "gen", "step", "arch"} <= state.keys():
        raise CheckpointError(f"{path} is not a TinyPrior training checkpoint; {fix}")
    try:
        state["arch"] = arch_from_json(json.loads(state["arch"]))
    except (TypeError, ValueError, KeyError) as exc:
        raise CheckpointError(f"{path} holds no readable arch ({one_line(exc, 120)}); {fix}") from None
    return state


def load_exported(folder: Path, arch: TinyArch) -> dict[str, Tensor]:
    """The UNet weights of an exported TinyPrior folder, checked against ``arch`` before any work."""
    from safetensors.torch import load_file

    from splatdream.priors.tiny_prior import META_FILE, UNET_DIR

    meta_path, weights = folder / META_FILE, folder / UNET_DIR / "diffusion_pytorch_model.safetensors"
    if not meta_path.is_file() or not weights.is_file():
        raise FileNotFoundError(
            f"--init-from {folder} is not an exported TinyPrior folder (needs {META_FILE} and "
            f"{UNET_DIR}/diffusion_pytorch_model.safetensors); pass the package's splatdream/data/tiny_prior"
        )
    theirs = arch_from_json(json.loads(meta_path.read_text())["arch"])
    if theirs != arch:
        raise ValueError(
            f"--init-from {folder} has arch {theirs}, this run {arch}; pass matching --arch options"
        )
    return load_file(str(weights))


def write_samples(ema: torch.nn.Module, cfg: TrainTinyConfig, step: int, encoder: MiniLMTokenEncoder) -> Path:
    from splatdream.priors.sample import ddim_sample, image_grid, save_png

    prior = TinyPrior(copy.deepcopy(ema), cfg.arch, text_encoder=encoder)
    prompts = [p for p in cfg.sample_prompts for _ in range(6)]
    images = ddim_sample(prior, prompts, steps=25, guidance_scale=5.0, seed=step)
    path = cfg.out / "samples" / f"step_{step:06d}.png"
    save_png(image_grid(images, ncols=6, upscale=2), path)
    return path


def train(cfg: TrainTinyConfig) -> Path:
    """Run (or resume) training; returns the checkpoint path."""
    torch.set_num_threads(cfg.threads)
    cfg.out.mkdir(parents=True, exist_ok=True)
    ckpt = cfg.out / CHECKPOINT
    if ckpt.is_file() and not cfg.resume:
        raise FileExistsError(f"{ckpt} exists; pass --resume to continue it or choose another --out")
    state = (
        load_checkpoint(ckpt) if ckpt.is_file() else None
    )  # before any work: a bad file is refused at once
    start = None if state is not None or cfg.init_from is None else load_exported(cfg.init_from, cfg.arch)
    # The base prior's card data (steps, hours, data) travels with the run, so an export into the same
    # folder the fine-tune started from can still say what it was built on.
    init_meta = (
        str(state.get("init_meta", ""))
        if state is not None
        else (cfg.init_from / "tiny_prior.json").read_text()
        if start is not None and cfg.init_from
        else ""
    )
    data = RenderedSet.concat([RenderedSet.load(p) for p in find_data(cfg)])
    encoder = MiniLMTokenEncoder(cfg.arch.max_text_tokens)
    bank = CaptionBank(data, cfg.view, encoder)
    print(f"{len(data)} renders, {len(bank.texts)} unique captions", flush=True)
    rgb_all, alpha_all = torch.from_numpy(data.rgb), torch.from_numpy(data.alpha)

    torch.manual_seed(cfg.seed)
    unet = build_tiny_unet(cfg.arch).train()
    if start is not None:
        unet.load_state_dict(start)
        print(f"fine-tuning from {cfg.init_from}", flush=True)
    ema = copy.deepcopy(unet).eval().requires_grad_(False)
    opt = torch.optim.AdamW(unet.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed)
    step, wall = 0, 0.0
    if state is not None:
        unet.load_state_dict(state["unet"])
        ema.load_state_dict(state["ema"])
        opt.load_state_dict(state["opt"])
        gen.set_state(state["gen"])
        step, wall = int(state["step"]), float(state.get("wall_s", 0.0))
        print(f"resumed from {ckpt} at step {step}", flush=True)
    alphas = sd_alphas_cumprod()
    n_params = sum(p.numel() for p in unet.parameters())
    print(f"UNet {n_params / 1e6:.2f}M parameters; training to step {cfg.steps}", flush=True)

    log_path = cfg.out / "loss.csv"
    new_log = not log_path.is_file()
    with open(log_path, "a", newline="") as log_file:
        log = csv.writer(log_file)
        if new_log:
            log.writerow(["step", "loss", "lr", "sec_per_step", "wall_s"])
        running, t_last = [], time.time()
        while step < cfg.steps:
            t0 = time.time()
            idx = torch.randint(0, len(data), (cfg.batch_size,), generator=gen)
            x0 = composite(rgb_all[idx], alpha_all[idx], cfg, gen)
            flip = torch.rand(cfg.batch_size, generator=gen) < 0.5
            x0 = torch.where(flip[:, None, None, None], x0.flip(-1), x0)
            u = torch.rand(cfg.batch_size, generator=gen)
            cap = torch.where(u < cfg.no_view_fraction, bank.without_view[idx], bank.with_view[idx])
            cap = torch.where(u > 1 - cfg.caption_dropout, torch.full_like(cap, bank.empty), cap)
            hidden = bank.emb[cap].float()
            t = torch.randint(0, len(alphas), (cfg.batch_size,), generator=gen)
            noise = torch.randn(x0.shape, generator=gen)
            x_t = add_noise(x0, noise, t, alphas)
            for g in opt.param_groups:
                g["lr"] = lr_at(step, cfg)
            pred = unet(x_t, t, encoder_hidden_states=hidden).sample
            loss = torch.nn.functional.mse_loss(pred, noise)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
            opt.step()
            step += 1
            ema_update(ema, unet, min(cfg.ema_decay, (1 + step) / (10 + step)))
            wall += time.time() - t0
            running.append(float(loss.detach()))
            if step % cfg.log_every == 0:
                sec = (time.time() - t_last) / len(running)
                log.writerow(
                    [step, f"{np.mean(running):.5f}", f"{lr_at(step, cfg):.2e}", f"{sec:.3f}", f"{wall:.0f}"]
                )
                log_file.flush()
                print(f"step {step} loss {np.mean(running):.4f} {sec:.2f}s/step", flush=True)
                running, t_last = [], time.time()
            if step % cfg.checkpoint_every == 0 or step == cfg.steps:
                save_checkpoint(
                    ckpt,
                    {
                        "unet": unet.state_dict(),
                        "ema": ema.state_dict(),
                        "opt": opt.state_dict(),
                        "gen": gen.get_state(),
                        "step": step,
                        "wall_s": wall,
                        "arch": json.dumps(arch_to_json(cfg.arch)),
                        "data": [str(p) for p in find_data(cfg)],
                        "init_from": str(cfg.init_from) if cfg.init_from else "",
                        "init_meta": init_meta,
                        "n_renders": len(data),
                    },
                )
            if step % cfg.sample_every == 0 or step == cfg.steps:
                print(f"samples: {write_samples(ema, cfg, step, encoder)}", flush=True)
    return ckpt


def main(argv: list[str] | None = None) -> int:
    import tyro

    cfg = tyro.cli(TrainTinyConfig, args=argv, prog="splatdream prior train-tiny")
    if os.environ.get("SPLATDREAM_TRAIN_DRY_RUN"):
        print(cfg)
        return 0
    train(cfg)
    return 0
