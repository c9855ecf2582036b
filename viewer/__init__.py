"""Browser viewer (viser) for SplatDream: live training view and ``splatdream view``.

``ViewerConfig`` imports without viser; ``LiveViewer`` loads it on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from viewer.config import ViewerConfig

if TYPE_CHECKING:
    from viewer.live import LiveViewer, ViewerStats

__all__ = ["LiveViewer", "ViewerConfig", "ViewerStats"]


def __getattr__(name: str) -> Any:
    if name in ("LiveViewer", "ViewerStats"):
        from viewer import live

        return getattr(live, name)
    raise AttributeError(f"module 'viewer' has no attribute {name!r}")
