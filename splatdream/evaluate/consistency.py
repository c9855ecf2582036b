"""View consistency: A-LPIPS, the LPIPS distance between neighbouring views of a ring (as ReDream reports).

Lower is better: a 3D-consistent object changes little between views 15 degrees apart, while
view-dependent flicker or a Janus face changes a lot. Needs the LPIPS backbone's ImageNet
weights (torchvision's AlexNet) on this machine; the ``lpips`` package ships only its linear heads.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import Tensor

ALEXNET_FILE = "alexnet-owt-7be5be79.pth"
"""torchvision's AlexNet ImageNet weights, as torch hub caches them."""


class LpipsUnavailable(RuntimeError):
    """The LPIPS package or its backbone weights are not on this machine; the message says how to supply them."""


def _backbone_file(path: Path | None) -> Path:
    how = (
        f"pass --lpips-backbone FILE (torchvision's {ALEXNET_FILE}, from "
        f"https://download.pytorch.org/models/{ALEXNET_FILE}) or copy that file into "
        f"{Path(torch.hub.get_dir()) / 'checkpoints'}"
    )
    if path is not None:
        if not Path(path).is_file():
            raise LpipsUnavailable(f"A-LPIPS skipped: the LPIPS backbone {path} does not exist; {how}")
        return Path(path)
    cached = Path(torch.hub.get_dir()) / "checkpoints" / ALEXNET_FILE
    if not cached.is_file():
        raise LpipsUnavailable(f"A-LPIPS skipped: the LPIPS backbone weights are not on this machine; {how}")
    return cached


class Alpips:
    """LPIPS (AlexNet, v0.1) with the backbone loaded from a local file, never downloaded."""

    def __init__(self, backbone: Path | None = None, device: str = "cpu") -> None:
        weights = _backbone_file(backbone)
        try:
            import lpips
        except ImportError as exc:
            raise LpipsUnavailable(
                "A-LPIPS skipped: the lpips package is missing; pip install lpips"
            ) from exc
        with warnings.catch_warnings():  # lpips still passes torchvision the deprecated pretrained=False
            warnings.simplefilter("ignore", UserWarning)
            model = lpips.LPIPS(net="alex", pnet_rand=True, verbose=False)  # random backbone: nothing fetched
        state = torch.load(weights, map_location="cpu", weights_only=True)
        # Slices hold torchvision's features.<i> modules under their own index: copy by that index.
        for name, sl in model.net.named_children():
            if name.startswith("slice"):
                sl.load_state_dict({k: state[f"features.{k}"] for k in sl.state_dict()})
        self.model = model.eval().to(device).requires_grad_(False)
        self.device = device

    @torch.no_grad()
    def ring(self, images: Tensor) -> float:
        """Mean LPIPS between each ring view and the next (cyclic); ``images`` [C, H, W, 3] in [0, 1]."""
        x = images.permute(0, 3, 1, 2).to(self.device) * 2 - 1
        d = self.model(x, torch.roll(x, -1, dims=0))
        return float(d.mean())
