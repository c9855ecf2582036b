"""Browser viewer (viser) for SplatDream: live training view and ``splatdream view``."""

from __future__ import annotations

from viewer.live import LiveViewer, ViewerConfig, ViewerStats

__all__ = ["LiveViewer", "ViewerConfig", "ViewerStats"]
