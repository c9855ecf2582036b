"""SplatDream: retrieval-augmented score distillation on 3D Gaussian splats."""

from __future__ import annotations

__version__ = "0.1.0"
