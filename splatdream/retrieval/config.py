"""Retrieval settings (ReDream step 1): which library, how many assets, which embedder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import tyro

EmbedderChoice = Literal["auto", "clip", "text"]
ATTRIBUTE_WEIGHT = 0.3


@dataclass(frozen=True)
class ClipConfig:
    """Where CLIP weights come from. Nothing is ever downloaded: weights must already be local."""

    model: str = "ViT-B-32"
    """open_clip architecture name (``open_clip.list_models()``), or a model-config .json file in open_clip's
    layout (embed_dim, vision_cfg, text_cfg) for an architecture of one's own; give its weights as ``checkpoint``."""
    pretrained: str = "laion2b_s34b_b79k"
    """open_clip pretrained tag, looked up in the local Hugging Face / open_clip cache only."""
    checkpoint: Path | None = None
    """A local open_clip checkpoint file (.bin/.pt/.safetensors); overrides ``pretrained``."""
    views: int = 8
    """Renders per asset whose CLIP image embeddings are averaged (an orbit at 15 deg elevation)."""


@dataclass(frozen=True)
class RetrievalConfig:
    """Two-stage retrieval: top ``n_candidates`` by caption text embedding, re-ranked to ``k`` by renders."""

    library: Path | None = None
    """Library directory; None opens the starter library shipped with the package (or your copy of it)."""
    k: Annotated[int, tyro.conf.arg(aliases=("-k",))] = 3
    """Assets to return (ReDream's K)."""
    n_candidates: int = 20
    """Stage-1 candidates taken by text similarity before the image re-rank (ReDream's N' > K)."""
    attribute_weight: float = ATTRIBUTE_WEIGHT
    """In [0, 1]: how much colour, material, finish and style words order the assets of the prompt's object (which always decides; 0: object only). See docs/retrieval.md."""
    weak_below: float | None = None
    """Object score under which a hit whose caption never names the prompt's object is a weak match (not used by the run); None: the embedder's default, 0: never weak."""
    embedder: EmbedderChoice = "auto"
    """'clip' (open_clip, needs local weights), 'text' (offline MiniLM), 'auto': CLIP when its weights load."""
    clip_model: str = "ViT-B-32"
    """open_clip architecture name (``open_clip.list_models()``) or a model-config .json file (with --retrieval.clip-checkpoint)."""
    clip_pretrained: str = "laion2b_s34b_b79k"
    """open_clip pretrained tag, looked up in the local Hugging Face / open_clip cache only (never downloaded)."""
    clip_checkpoint: Path | None = None
    """A local open_clip checkpoint file (.bin/.pt/.safetensors); overrides ``clip_pretrained``."""
    clip_views: int = 8
    """Renders per asset whose CLIP image embeddings are averaged."""

    @property
    def clip(self) -> ClipConfig:
        return ClipConfig(self.clip_model, self.clip_pretrained, self.clip_checkpoint, self.clip_views)
