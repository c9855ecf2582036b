"""Reading torch files from user folders without running code: ``torch.load(weights_only=True)``, one line on failure.

A run folder, a TinyPrior training folder or a copied batch output is data someone else may have
written. ``weights_only=True`` builds only tensors and plain containers (dict, list, tuple, str, int,
float, bool, None) and refuses any other object in the pickle before looking it up, so a file whose
``__reduce__`` names ``os.system`` is refused rather than run. Every writer of such a file therefore
stores plain data only (RNG states as tensors, configs as JSON strings).
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from splatdream.errors import CheckpointError, one_line


def load_tensors(path: Path, fix: str) -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU; a one-line ``CheckpointError`` ending in ``fix`` otherwise."""
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights" in str(exc).lower():
            raise CheckpointError(
                f"{path} holds Python objects beyond tensors and plain containers (not written by this "
                f"splatdream version, or a crafted file); it was not loaded, since loading it could run code; {fix}"
            ) from None
        raise CheckpointError(
            f"cannot read checkpoint {path} (UnpicklingError: {one_line(exc, 120)}); {fix}"
        ) from None
    except Exception as exc:  # truncated, empty, not a torch file: same advice, no chained traceback
        raise CheckpointError(
            f"cannot read checkpoint {path} ({type(exc).__name__}: {one_line(exc, 120)}); {fix}"
        ) from None
