"""Settings of ReDream's lightweight adaptation stage: front alignment, then a view-prefixed LoRA."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ADAPTER_NAME = "redream"
"""peft adapter name of the adaptation LoRA (distillation's own LoRA is called 'vsd')."""
LORA_TARGETS = ("to_q", "to_k", "to_v", "to_out.0")
"""UNet attention projections the LoRA wraps."""


@dataclass(frozen=True)
class AlignConfig:
    """Front-view alignment: score renders at evenly spaced yaws and turn the asset's front to azimuth 0."""

    n_yaws: int = 8
    """Candidate front azimuths, evenly spaced around the asset (ReDream: several camera poses)."""
    elevation_deg: float = 15.0
    """Elevation of the scoring renders."""
    radius: float = 2.8
    """Camera distance of the scoring renders (the asset lies inside the unit sphere)."""
    fov_y_deg: float = 45.0
    """Vertical field of view of the scoring renders."""
    resolution: int = 64
    """Render side in pixels (the prior downsamples to its own resolution)."""
    background: tuple[float, float, float] = (1.0, 1.0, 1.0)
    """Solid background colour of the scoring renders."""
    timesteps: tuple[int, ...] = (100, 200, 300, 400, 500, 600)
    """Diffusion-classifier timesteps: the view evidence sits at low-to-middle noise levels."""
    noises_per_timestep: int = 4
    """Fixed noise draws per timestep (shared by all view words, so their errors compare pairwise)."""
    view_words: tuple[str, ...] = ("front", "side", "back")
    """View words the classifier chooses between."""
    scorer: Literal["auto", "clip", "diffusion"] = "auto"
    """Who judges the views: 'clip' (the retrieval's open_clip weights, which must be local), 'diffusion'
    (the prior as a diffusion classifier), 'auto': CLIP when its weights load, else the prior."""
    clip_template: str = "{view} view of {caption}"
    """Prompt wording for a CLIP-style scorer (the diffusion scorer uses the prior's wording)."""
    seed: int = 0
    """Seed of the classifier's fixed noises."""
    known_front_sources: tuple[str, ...] = ("starter-procedural",)
    """Library sources whose assets are built facing +Z (starter/build.py's convention): the run keeps their
    front as it is. On them the classifier can only be wrong: the TinyPrior's turned two of six starter cars
    (45 and 180 degrees) and cost ~5 s an asset. Objaverse and your own assets are still aligned."""


@dataclass(frozen=True)
class AdaptConfig:
    """LoRA adaptation of the 2D prior on multiview renders of the retrieved assets (ReDream Sec. 3.3)."""

    enabled: bool = True
    """Run the adaptation; False leaves the prior untouched (ablation)."""
    align: bool = True
    """Front-align the retrieved assets before rendering them."""
    captions: Literal["prompt", "asset"] = "prompt"
    """What each render is captioned with before its view word: the user's prompt (ReDream's few-shot
    setting), or the retrieved asset's own library caption, which teaches the assets' views and shapes
    without binding the prompt's words (a colour, a material) to how the assets look."""
    alignment: AlignConfig = field(default_factory=AlignConfig)
    """How front alignment scores the assets."""
    steps: int = 150
    """LoRA optimisation steps."""
    rank: int = 8
    """LoRA rank on the UNet attention projections (to_q, to_k, to_v, to_out.0)."""
    alpha: float = 8.0
    """LoRA alpha (scale = alpha / rank)."""
    target_modules: tuple[str, ...] = LORA_TARGETS
    """UNet modules the LoRA wraps: the attention projections, as ReDream; add e.g. 'conv1', 'conv2',
    'proj_in', 'proj_out' for more capacity (the TinyPrior has attention only at its lowest resolution)."""
    lr: float = 1e-3
    """AdamW learning rate of the LoRA weights."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    azimuths_deg: tuple[float, ...] = tuple(22.5 * i for i in range(16))
    """Azimuth grid of the training renders (0 = the aligned front). Dense, as ReDream: on the TinyPrior a
    16 x 5 grid cuts the loss on in-between views by 21% where an 8 x 3 grid reaches 18%."""
    elevations_deg: tuple[float, ...] = (0.0, 10.0, 20.0, 30.0, 40.0)
    """Elevation grid of the training renders; every azimuth is rendered at every elevation."""
    radius: float = 2.8
    """Camera distance of the training renders."""
    fov_y_deg: float = 45.0
    """Vertical field of view of the training renders."""
    resolution: int = 64
    """Render side in pixels (the prior encodes to its own model resolution)."""
    batch_size: int = 8
    """Renders per optimisation step."""
    t_range: tuple[float, float] = (0.02, 0.98)
    """Diffusion-time range of the denoising loss, as fractions of the schedule."""
    learn_view_tokens: bool = False
    """Also learn an offset per view word added to the encoded text states (ReDream's Eq. 5)."""
    view_token_lr: float = 1e-3
    """AdamW learning rate of the view-word offsets."""
    seed: int = 0
    """Seed of backgrounds, batches, timesteps and noises."""
    progress: bool = True
    """Show a progress bar (rich) while training."""


TINY_LORA_TARGETS = ("to_q", "to_k", "to_v", "to_out.0", "conv1", "conv2")
"""LoRA targets that give the TinyPrior's adapter more capacity (its attention is only at 8x8)."""

TINY_PRIOR_ADAPT = AdaptConfig(
    steps=150, batch_size=16, lr=2e-3, target_modules=TINY_LORA_TARGETS, captions="asset"
)
"""Adaptation made for the shipped TinyPrior (the cpu-tiny preset's and ``splatdream adapt``'s default).
The adapter also wraps the ResNet convs (attention sits only at 8x8). Captioning the renders with
the assets' own captions, not the prompt, keeps so strong an adapter from binding the prompt to the
assets' looks: with prompt captions "a blue chair" distilled from white chairs stays white."""
