"""The models eval needs, loaded once per process and shared by every run it scores.

Each is optional: a model that cannot load locally becomes a skip message (what was skipped and
how to supply it) instead of an error, so ``splatdream eval`` always gives the offline metrics.
"""

from __future__ import annotations

import logging

import torch

from splatdream.device import resolve_device
from splatdream.evaluate.config import EvalConfig
from splatdream.evaluate.consistency import Alpips, LpipsUnavailable
from splatdream.evaluate.fidelity import ClipScorer, ClipUnavailable
from splatdream.priors.base import Prior
from splatdream.priors.config import PriorConfig
from splatdream.priors.loader import load_prior

log = logging.getLogger(__name__)


class Scorers:
    """Lazily loaded prior(s), CLIP and LPIPS; ``skipped`` maps a metric to why it was not measured."""

    def __init__(self, cfg: EvalConfig) -> None:
        self.cfg = cfg
        self.device = str(resolve_device(cfg.device))
        self._priors: dict[PriorConfig, Prior | str] = {}
        self._clip: ClipScorer | str | None = None
        self._alpips: Alpips | str | None = None

    def prior(self, cfg: PriorConfig) -> Prior | str:
        """The run's prior without its LoRA adapter (the adapter leans towards the retrieved assets)."""
        if cfg not in self._priors:
            try:
                prior = load_prior(cfg, self.device)
            except (FileNotFoundError, OSError, RuntimeError) as exc:
                self._priors[cfg] = (
                    f"diffusion-classifier score skipped: the run's prior ({cfg.kind}) did not load: {exc}"
                )
            else:
                if self.device == "cpu":
                    # Channels-last convolutions are ~8% quicker on the CPU; the margins move by float32
                    # rounding only (<= 1e-6, tested), as with any other batch shape. This prior is eval's own.
                    prior.unet.to(memory_format=torch.channels_last)
                self._priors[cfg] = prior
        return self._priors[cfg]

    def clip(self) -> ClipScorer | str:
        if self._clip is None:
            c = self.cfg
            try:
                self._clip = ClipScorer(c.clip_model, c.clip_pretrained, c.clip_checkpoint, self.device)
            except ClipUnavailable as exc:
                self._clip = str(exc)
        return self._clip

    def alpips(self) -> Alpips | str:
        if self._alpips is None:
            try:
                self._alpips = Alpips(self.cfg.lpips_backbone, self.device)
            except LpipsUnavailable as exc:
                self._alpips = str(exc)
        return self._alpips
