"""ReDream's lightweight adaptation: front-align retrieved assets, then LoRA-adapt the 2D prior on them.

Stages used by the pipeline (``splatdream.pipeline``):
    align_front(prior, gaussians, caption, cfg) -> (rotated_gaussians, yaw_deg, scores)
    adapt_prior(prior, assets_gaussians, prompt, cfg, out_dir) -> AdaptResult
    apply_adapter(prior, adapter_dir, fuse=True) -> prior
"""

from __future__ import annotations

from splatdream.adaptation.align import align_front
from splatdream.adaptation.config import ADAPTER_NAME, AdaptConfig, AlignConfig
from splatdream.adaptation.lora import apply_adapter, load_adapter, save_adapter
from splatdream.adaptation.rotate import rotate_gaussians_yaw, rotate_mesh_yaw
from splatdream.adaptation.scoring import ImageTextScorer, clip_scorer, load_clip_scorer
from splatdream.adaptation.train import AdaptResult, adapt_prior

__all__ = [
    "ADAPTER_NAME",
    "AdaptConfig",
    "AdaptResult",
    "AlignConfig",
    "ImageTextScorer",
    "adapt_prior",
    "align_front",
    "apply_adapter",
    "clip_scorer",
    "load_adapter",
    "load_clip_scorer",
    "rotate_gaussians_yaw",
    "rotate_mesh_yaw",
    "save_adapter",
]
