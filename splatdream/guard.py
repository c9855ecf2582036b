"""A per-particle guard: no particle leaves distillation worse than it started, by the measures eval reports.

After the last step each particle is compared with its own initialisation on a small fixed ring of views:
the patch measure (colour blotches the init does not have), the speckle ratio (noise or texture contrast
inside the init's parts), the mean colour's shift, and Delta E to the prompt's colour or material word. When the result breaks a bound, the guard walks the particle's colours
back toward the init's along the straight line between them (rgb = rgb0 + a (rgb1 - rgb0), a from 1 down to
0) and keeps the largest ``a`` that is within every bound; a = 0 is the init itself, which always is. This
is a trust region around the init, applied once, at the end: stateless, so a resumed run ends the same.

It needs the geometry unchanged (same Gaussians in the same places: cpu-tiny's frozen geometry); a particle
whose Gaussians moved or multiplied is left as it is, and the record says so.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, replace

import torch

from splatdream.colours import delta_e, target_word
from splatdream.distill.config import GuardConfig
from splatdream.evaluate.cleanliness import speckle
from splatdream.evaluate.colour import mean_colour
from splatdream.evaluate.patches import mean_colour_shift, patch_residual
from splatdream.evaluate.views import RING_ELEVATION_DEG, eval_cameras
from splatdream.render.views import Views, render_views
from splatdream.scene import Gaussians, rgb_to_sh, sh_to_rgb

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GuardRecord:
    """What the guard saw and did for one particle (a line of the run log and of metrics.jsonl)."""

    particle: int
    alpha: float
    """Kept fraction of the distilled colour change (1 = untouched, 0 = the init's colours)."""
    patches: float | None
    speckle_ratio: float | None
    mean_shift: float | None
    delta_e_init: float | None
    delta_e: float | None
    """The measures of the distilled result (before the guard acted)."""
    reason: str
    """Which bound the distilled result broke ('' when none)."""

    @property
    def acted(self) -> bool:
        return self.alpha < 1.0

    def as_record(self) -> dict:
        return asdict(self) | {"acted": self.acted}


def _blend(init: Gaussians, result: Gaussians, a: float) -> Gaussians:
    rgb0, rgb1 = sh_to_rgb(init.sh[:, 0]), sh_to_rgb(result.sh[:, 0])
    sh = result.sh.clone()
    sh[:, 0] = rgb_to_sh(rgb0 + a * (rgb1 - rgb0))
    return replace(result, sh=sh)


def _broken(
    cfg: GuardConfig, v0: Views, v1: Views, prompt: str
) -> tuple[str, float, float, float, float | None, float | None]:
    """(reason or '', patches, speckle ratio, mean shift, dE init, dE) of ``v1`` against ``v0``."""
    word = target_word(prompt)
    patches, shift = patch_residual(v0, v1), mean_colour_shift(v0, v1)
    speckle_ratio = speckle(v0, v1).ratio
    reasons = []
    if patches > cfg.max_patches:
        reasons.append(f"patches {patches:.1f} > {cfg.max_patches:g}")
    if speckle_ratio > cfg.max_speckle:
        reasons.append(f"speckle x{speckle_ratio:.2f} > x{cfg.max_speckle:g}")
    de0 = de1 = None
    if word is None:
        if shift > cfg.max_shift:
            reasons.append(
                f"mean colour moved {shift:.1f} > {cfg.max_shift:g} with no colour word in the prompt"
            )
    else:
        de0, de1 = delta_e(mean_colour(v0), word), delta_e(mean_colour(v1), word)
        if de0 <= cfg.match_below and de1 > de0 + cfg.keep_within:
            reasons.append(f"dE to '{word.word}' {de0:.1f} -> {de1:.1f} (it matched already)")
        elif de0 > cfg.match_below and de1 > de0:
            reasons.append(f"dE to '{word.word}' {de0:.1f} -> {de1:.1f} (farther from the word)")
    return "; ".join(reasons), patches, speckle_ratio, shift, de0, de1


@torch.no_grad()
def guard_particles(
    inits: list[Gaussians], results: list[Gaussians], prompt: str, cfg: GuardConfig
) -> tuple[list[Gaussians], list[GuardRecord]]:
    """Each result, walked back toward its init as far as its bounds need; one record per particle."""
    cams = eval_cameras(cfg.views, cfg.size, (RING_ELEVATION_DEG + 30.0,))
    out, records = [], []
    for i, (g0, g1) in enumerate(zip(inits, results, strict=True)):
        if len(g0) != len(g1) or not torch.allclose(g0.means, g1.means):
            out.append(g1)
            records.append(
                GuardRecord(
                    i,
                    1.0,
                    None,
                    None,
                    None,
                    None,
                    None,
                    "not checked: the geometry changed, there is no straight line back to the init",
                )
            )
            continue
        v0 = render_views(g0, cams, device="cpu")
        reason, patches, speckle, shift, de0, de1 = _broken(
            cfg, v0, render_views(g1, cams, device="cpu"), prompt
        )
        alpha, kept = 1.0, g1
        if reason:
            for k in range(1, cfg.steps + 1):
                alpha = 1.0 - k / cfg.steps
                kept = _blend(g0, g1, alpha)
                if alpha == 0.0 or not _broken(cfg, v0, render_views(kept, cams, device="cpu"), prompt)[0]:
                    break
        rec = GuardRecord(i, alpha, patches, speckle, shift, de0, de1, reason)
        if rec.acted:  # the run log says it to the user (``pipeline``); a warning here printed it twice
            log.info("guard: particle %d kept %.0f%% of its colour change (%s)", i, 100 * alpha, reason)
        out.append(kept)
        records.append(rec)
    return out, records
