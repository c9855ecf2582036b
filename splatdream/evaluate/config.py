"""Settings of ``splatdream eval``: which views, at what size, which optional models."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class EvalConfig:
    """How runs are scored; the same settings give the same numbers for the same files."""

    views: int = 24
    """Cameras on the main ring (15 deg elevation); A-LPIPS compares neighbours on it."""
    size: int = 128
    """Render side in pixels."""
    extra_elevations_deg: tuple[float, ...] = (-5.0, 40.0)
    """Further rings (a low and a high one), each with views // 4 cameras, so tops and undersides count."""
    radius: float = 2.8
    """Camera distance from the origin (objects lie inside the unit sphere)."""
    fov_y_deg: float = 45.0
    """Vertical field of view of every camera."""
    floater_margin: int = 0
    """Dilation of the init silhouette before counting floaters, in pixels; 0 means size // 32 (4 px at 128)."""
    classifier: bool = True
    """Score prompt fidelity with the run's own prior as a diffusion classifier (slow for SD on CPU)."""
    fidelity_views: int = 8
    """Ring views the diffusion classifier (at 64 px) and CLIP score."""
    distractors: int = 8
    """Object-swapped captions the prompt competes against in the diffusion-classifier score."""
    attribute_distractors: int = 4
    """Colour-swapped captions it competes against too, when the prompt names a colour or material."""
    clip_model: str = "ViT-L-14"
    """open_clip architecture of the CLIP score (ViT-L/14 as the paper reports)."""
    clip_pretrained: str = "openai"
    """open_clip pretrained tag, looked up in the local cache only (never downloaded)."""
    clip_checkpoint: Path | None = None
    """A local open_clip checkpoint file for the CLIP score; overrides ``clip_pretrained``."""
    lpips_backbone: Path | None = None
    """A local torchvision AlexNet state dict (alexnet-owt-7be5be79.pth) for A-LPIPS; default: torch hub's cache."""
    sheet_views: int = 6
    """Ring views per row of eval.png."""
    device: str = "auto"
    """Where renders and models run: 'auto' (CUDA when present), 'cpu', 'cuda'."""
    seed: int = 0
    """Seed of the diffusion classifier's noise and backgrounds."""
