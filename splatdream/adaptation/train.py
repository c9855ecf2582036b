"""ReDream's lightweight adaptation: a LoRA on the prior's UNet, trained on view-captioned renders.

Each retrieved (front-aligned) asset is rendered on a dense azimuth x elevation grid; each render is
captioned with the prompt (or the asset's own caption, ``captions="asset"``) plus its view word in the
prior's own wording, composited over a fresh random solid background every step, and the LoRA learns
the ordinary denoising loss on it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from splatdream.adaptation.config import ADAPTER_NAME, AdaptConfig
from splatdream.adaptation.lora import ViewTokens, add_lora, remove_adapter, save_adapter, text_shape
from splatdream.adaptation.multiview import grid_cameras
from splatdream.priors.base import Prior, TextEmbeddings, denoising_target
from splatdream.priors.config import ViewPromptConfig
from splatdream.priors.half import loss_scale, scaled_backward, unscale_grads
from splatdream.priors.views import view_words, with_view
from splatdream.render.views import Views, render_views
from splatdream.scene import Gaussians

if TYPE_CHECKING:
    from types import TracebackType

    from rich.progress import Progress

RECORD_FILE = "adapt.json"


@dataclass
class AdaptResult:
    """What the adaptation produced, as recorded in ``<adapter_dir>/adapt.json``."""

    adapter_dir: Path | None
    """Saved adapter (load with ``apply_adapter``); None when adaptation was disabled."""
    losses: list[float] = field(default_factory=list)
    """Training loss per step."""
    seconds: float = 0.0
    """Wall time of rendering + training."""
    n_views: int = 0
    """Training renders (assets x azimuths x elevations)."""


@dataclass
class CaptionedViews:
    """Renders of several assets with one caption (prompt + view word) each."""

    views: Views
    prompts: list[str]  # [C]
    words: list[str]  # [C]
    asset: Tensor  # [C] index of the asset each render shows

    @staticmethod
    def cat(items: Sequence[CaptionedViews]) -> CaptionedViews:
        """Concatenate sets (asset indices are renumbered so they stay distinct)."""
        offsets = [0]
        for c in items[:-1]:
            offsets.append(offsets[-1] + (int(c.asset.max()) + 1 if len(c.asset) else 0))
        return CaptionedViews(
            Views.cat([c.views for c in items]),
            [p for c in items for p in c.prompts],
            [w for c in items for w in c.words],
            # strict=False: offsets is [0] even when items is empty
            torch.cat([c.asset + o for c, o in zip(items, offsets, strict=False)]),
        )


def render_training_views(
    assets: Sequence[Gaussians],
    captions: str | Sequence[str],
    cfg: AdaptConfig,
    azimuths_deg: Sequence[float] | None = None,
    elevations_deg: Sequence[float] | None = None,
    view_cfg: ViewPromptConfig = ViewPromptConfig(),
) -> CaptionedViews:
    """Render every asset on the grid (``cfg``'s unless given) and caption each render (``view_cfg``'s wording).

    ``captions`` is one caption for all assets, or one per asset; each render gets its view word.
    """
    per_asset = [captions] * len(assets) if isinstance(captions, str) else list(captions)
    if len(per_asset) != len(assets):
        raise ValueError(f"got {len(per_asset)} captions for {len(assets)} assets; give one per asset")
    az = cfg.azimuths_deg if azimuths_deg is None else azimuths_deg
    el = cfg.elevations_deg if elevations_deg is None else elevations_deg
    cams = grid_cameras(az, el, cfg.radius, cfg.fov_y_deg, cfg.resolution)
    assert cams.azimuth_deg is not None and cams.elevation_deg is not None  # orbit cameras
    words = view_words(cams.azimuth_deg, cams.elevation_deg, view_cfg)
    views = Views.cat([render_views(g, cams) for g in assets])
    all_words = words * len(assets)
    return CaptionedViews(
        views,
        [with_view(c, w, view_cfg) for c in per_asset for w in words],
        all_words,
        torch.arange(len(assets)).repeat_interleave(len(cams)),
    )


def training_captions(prompt: str, asset_captions: Sequence[str] | None, cfg: AdaptConfig) -> str | list[str]:
    """The captions ``cfg.captions`` asks for: the prompt, or each retrieved asset's own caption."""
    if cfg.captions == "prompt":
        return prompt
    if asset_captions is None:
        raise ValueError(
            "adapt.captions='asset' needs the retrieved assets' captions; pass asset_captions, "
            "or set --adapt.captions prompt"
        )
    return list(asset_captions)


def _encode_unique(prior: Prior, prompts: list[str]) -> tuple[TextEmbeddings, list[str], Tensor]:
    unique = list(dict.fromkeys(prompts))
    emb = prior.encode_prompts(unique)
    index = torch.tensor([unique.index(p) for p in prompts])
    return emb, unique, index


def adapt_prior(
    prior: Prior,
    assets_gaussians: list[Gaussians],
    prompt: str,
    cfg: AdaptConfig,
    out_dir: str | Path,
    asset_captions: Sequence[str] | None = None,
) -> AdaptResult:
    """Fine-tune a 'redream' LoRA on renders of the (aligned) assets and save it into ``out_dir``.

    Renders are captioned with ``prompt`` or, with ``cfg.captions == "asset"``, with ``asset_captions``
    (one per asset, the library's captions).

    ``prior`` is left as it was: apply the result with ``apply_adapter(prior, result.adapter_dir)``,
    which is also what a resumed run does in a fresh process, so both paths see the same prior.
    Learnt view tokens (``cfg.learn_view_tokens``) are saved beside the LoRA.
    """
    if not cfg.enabled:
        return AdaptResult(adapter_dir=None)
    if not assets_gaussians:
        raise ValueError("adaptation needs at least one retrieved asset; retrieve with k >= 1 or disable it")
    start = time.perf_counter()
    gen = torch.Generator().manual_seed(cfg.seed)
    data = render_training_views(
        assets_gaussians, training_captions(prompt, asset_captions, cfg), cfg, view_cfg=prior.view_prompts
    )
    emb, unique, prompt_index = _encode_unique(prior, data.prompts)
    emb = emb.to(prior.device, torch.float32)

    with torch.random.fork_rng(devices=[]):  # peft draws the LoRA A matrices from the global RNG
        torch.manual_seed(cfg.seed)
        params = add_lora(prior.unet, cfg.rank, cfg.alpha, target_modules=cfg.target_modules)
    groups: list[dict] = [{"params": params, "lr": cfg.lr}]
    tokens: ViewTokens | None = None
    if cfg.learn_view_tokens:
        tokens = ViewTokens(*text_shape(prior), prior.view_prompts).to(prior.device)
        groups.append({"params": list(tokens.parameters()), "lr": cfg.view_token_lr})
    optim = torch.optim.AdamW(groups, weight_decay=cfg.weight_decay)

    n = len(data.prompts)
    steps_total = prior.num_train_timesteps
    t_lo, t_hi = int(cfg.t_range[0] * steps_total), int(cfg.t_range[1] * steps_total)
    losses: list[float] = []
    order = torch.randperm(n, generator=gen)
    cursor = 0
    prior.unet.train()
    with _progress(cfg.progress, cfg.steps) as advance:
        for _ in range(cfg.steps):
            if cursor + cfg.batch_size > n:
                order, cursor = torch.randperm(n, generator=gen), 0
            idx = order[cursor : cursor + cfg.batch_size]
            cursor += cfg.batch_size
            b = len(idx)
            images = data.views.select(idx).images(torch.rand(b, 3, generator=gen))
            with torch.no_grad():
                x0 = prior.encode_images(images.to(prior.device, prior.dtype)).float()
            noise = torch.randn(x0.shape, generator=gen).to(x0)
            t = torch.randint(t_lo, t_hi, (b,), generator=gen).to(prior.device)
            x_t = prior.add_noise(x0, noise, t)
            text = TextEmbeddings(emb.cond[prompt_index[idx]], emb.uncond)
            if tokens is not None:
                text = tokens.add_offsets(text, [unique[i] for i in prompt_index[idx].tolist()])
            out = prior.unet_forward(x_t.to(prior.dtype), t, text.cond.to(prior.dtype), None).float()
            loss = torch.nn.functional.mse_loss(
                out, denoising_target(x0, noise, t, prior.alphas_cumprod, prior.prediction_type)
            )
            optim.zero_grad(set_to_none=True)
            scaled_backward(loss, prior.dtype)  # float16 UNet: keep the gradients out of the subnormals
            trained = [p for group in groups for p in group["params"]]
            unscale_grads(trained, prior.dtype)
            half = loss_scale(prior.dtype) != 1.0
            if not half or bool(
                torch.stack([p.grad.isfinite().all() for p in trained if p.grad is not None]).all()
            ):
                optim.step()  # a float16 step whose scaled gradients overflowed is skipped
            losses.append(float(loss.detach()))
            advance(losses[-1])
    prior.unet.eval()
    for p in params:
        p.requires_grad_(False)

    if tokens is not None:
        tokens.requires_grad_(False)
    folder = save_adapter(prior.unet, Path(out_dir), tokens, ADAPTER_NAME)
    remove_adapter(prior.unet, ADAPTER_NAME)
    result = AdaptResult(folder, losses=losses, seconds=time.perf_counter() - start, n_views=n)
    _record(folder, prior, prompt, cfg, result, unique)
    return result


def _record(
    folder: Path, prior: Prior, prompt: str, cfg: AdaptConfig, result: AdaptResult, captions: list[str]
) -> None:
    from splatdream.atomic import atomic_write

    record = {
        "prompt": prompt,
        "prior": getattr(prior, "name", type(prior).__name__),
        "captions": captions,
        "config": asdict(cfg),
        "losses": result.losses,
        "seconds": result.seconds,
        "n_views": result.n_views,
    }
    with atomic_write(folder / RECORD_FILE) as tmp:
        Path(tmp).write_text(json.dumps(record, indent=2))


class _progress:
    """A rich progress bar (or nothing), used as ``with _progress(on, total) as advance: advance(loss)``."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled, self.total = enabled, total
        self._bar: Progress | None = None

    def __enter__(self):  # -> Callable[[float], None]
        if not self.enabled:
            return lambda loss: None
        import sys

        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        if not sys.stdout.isatty():  # a log file: rich draws no bar there, so print a line per 10%
            every, done = max(1, self.total // 10), [0]

            def line(loss: float) -> None:
                done[0] += 1
                if done[0] % every == 0 or done[0] == self.total:
                    print(f"adapting prior {done[0]}/{self.total}: loss {loss:.4f}", flush=True)

            return line
        self._bar = bar = Progress(
            TextColumn("adapting prior"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}"),
            TimeRemainingColumn(),
            transient=True,
        )
        bar.__enter__()
        task = bar.add_task("adapt", total=self.total, loss=float("nan"))
        return lambda loss: bar.update(task, advance=1, loss=loss)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.__exit__(kind, exc, tb)
