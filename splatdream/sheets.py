"""The piece every contact sheet shares: a row of rendered views as one uint8 image.

Three pictures are drawn from it -- init's strip (``init_particle_<i>.png``), eval's init/result
sheet (``eval.png``) and retrieval's thumbnail grid (``retrieved.png``, which tiles PNG thumbnails
instead) -- and they differ in layout and labels, so only the conversion lives here. Imports
nothing of ours, so any stage may use it.
"""

from __future__ import annotations

import numpy as np
from torch import Tensor


def views_row(images: Tensor) -> np.ndarray:
    """Views [V, S, S, 3] in [0, 1] (on the CPU) side by side: uint8 [S, V*S, 3]."""
    arr = (images.clamp(0, 1).numpy() * 255).round().astype(np.uint8)
    return np.concatenate(list(arr), axis=1)
