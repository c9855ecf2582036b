"""A per-particle guard: no particle leaves distillation worse than it started, by the measures eval reports.

After the last step each particle is compared with its own initialisation on a small fixed ring of views:
the patch measure (colour blotches the init does not have), the speckle ratio (noise or texture contrast
inside the init's parts), the mean colour's shift, and Delta E to the prompt's colour or material word. When the result breaks a bound, the guard walks the particle's colours
back toward the init's along the straight line between them (rgb = rgb0 + a (rgb1 - rgb0), a from 1 down to
0) and keeps the largest ``a`` that is within every bound; a = 0 is the init itself, which always is. This
is a trust region around the init, applied once, at the end: stateless, so a resumed run ends the same.
When the speckle bound leaves none of the change (a texture pulled apart: a wooden piano's dark grain turned
black, its light grain kept), the change's part-wise mean is tried the same way: every Gaussian of a part (the
Gaussians linked by neighbours of like colour: the whole grain) takes the part's mean change, which keeps the
darkening and drops the contrast added inside the part.

It needs the geometry unchanged (same Gaussians in the same places: cpu-tiny's frozen geometry); a particle
whose Gaussians moved or multiplied is left as it is, and the record says so.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
from torch import Tensor

from splatdream.colours import delta_e, srgb_to_lab, target_word
from splatdream.distill.config import GuardConfig
from splatdream.evaluate.cleanliness import PART_EDGE_DELTA_E, speckle
from splatdream.evaluate.colour import mean_colour
from splatdream.evaluate.patches import mean_colour_shift, patch_residual
from splatdream.evaluate.views import RING_ELEVATION_DEG, eval_cameras
from splatdream.render.views import Views, render_views
from splatdream.scene import Cameras, Gaussians, rgb_to_sh, sh_to_rgb

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
    smoothed: bool = False
    """``alpha`` is a fraction of the change's part-wise mean (``partwise_change``): the change itself broke the
    speckle bound at every fraction but 0."""

    @property
    def acted(self) -> bool:
        return self.alpha < 1.0 or self.smoothed

    @property
    def kept(self) -> str:
        """What the particle kept, in words: 'kept 50% of its colour change'."""
        part = "its colour change averaged per part" if self.smoothed else "its colour change"
        return f"kept {self.alpha:.0%} of {part}"

    def as_record(self) -> dict:
        return asdict(self) | {"acted": self.acted}


MIN_PART_FRACTION = 0.02
"""A part holds at least this fraction of a particle's Gaussians; smaller components join their neighbours'."""


def parts_of(init: Gaussians, neighbours: int, chunk: int = 1024) -> Tensor:
    """Part label [N] of each Gaussian of a CPU scene: connected components of the graph linking each Gaussian
    to its ``neighbours`` nearest ones whose colour is within ``PART_EDGE_DELTA_E`` (the edge speckle leaves
    out), so a wood grain is one part and a bench or the keys beside it are others."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    lab = srgb_to_lab(sh_to_rgb(init.sh[:, 0]).clamp(0, 1).double())
    k = min(neighbours + 1, len(init))  # +1: itself
    rows, cols = [], []
    for s in range(0, len(init), chunk):  # bounded memory: chunk x N distances at a time
        near = torch.cdist(init.means[s : s + chunk], init.means).topk(k, largest=False).indices
        here = torch.arange(s, s + len(near))[:, None].expand_as(near)
        alike = (lab[near] - lab[here]).norm(dim=-1) < PART_EDGE_DELTA_E
        rows.append(here[alike])
        cols.append(near[alike])
    r, c = torch.cat(rows).numpy(), torch.cat(cols).numpy()
    graph = coo_matrix((np.ones(len(r), dtype=np.int8), (r, c)), shape=(len(init), len(init)))
    _, found = connected_components(graph, directed=False)
    labels = torch.from_numpy(found).long()
    # A part of a few Gaussians (a dark knot of the grain, a stray speckle) is texture, not a part: it joins
    # the part of its nearest Gaussian in a real one.
    sizes = torch.bincount(labels)
    big = sizes[labels] >= max(1, int(MIN_PART_FRACTION * len(init)))
    if big.any() and not big.all():
        small, anchors = torch.nonzero(~big)[:, 0], torch.nonzero(big)[:, 0]
        for s in range(0, len(small), chunk):
            idx = small[s : s + chunk]
            nearest = torch.cdist(init.means[idx], init.means[anchors]).argmin(1)
            labels[idx] = labels[anchors[nearest]]
    return labels


def partwise_change(init: Gaussians, result: Gaussians, neighbours: int) -> Gaussians:
    """``result`` with each Gaussian's colour change from ``init`` replaced by its part's mean change: the
    recolour of each part kept, the contrast it added inside a part dropped."""
    g0, g1 = init.detach().to("cpu"), result.detach().to("cpu")  # the graph is built on the CPU (scipy)
    rgb0, rgb1 = sh_to_rgb(g0.sh[:, 0]), sh_to_rgb(g1.sh[:, 0])
    labels = parts_of(g0, neighbours)
    n = int(labels.max()) + 1
    total = torch.zeros(n, 3, dtype=rgb0.dtype).index_add_(0, labels, rgb1 - rgb0)
    count = torch.bincount(labels, minlength=n).clamp_min(1)[:, None].to(rgb0.dtype)
    sh = result.sh.clone()
    sh[:, 0] = rgb_to_sh((rgb0 + (total / count)[labels]).clamp(0, 1)).to(sh)
    return replace(result, sh=sh)


def _walk_back(
    cfg: GuardConfig, v0: Views, init: Gaussians, result: Gaussians, prompt: str, cams: Cameras
) -> tuple[float, Gaussians]:
    """The largest a of rgb0 + a (rgb1 - rgb0) on the grid that is within every bound (a = 0: the init)."""
    for k in range(1, cfg.steps + 1):
        alpha = 1.0 - k / cfg.steps
        kept = _blend(init, result, alpha)
        if alpha == 0.0 or not _broken(cfg, v0, render_views(kept, cams, device="cpu"), prompt)[0]:
            return alpha, kept
    return 0.0, init


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
        alpha, kept, smoothed = 1.0, g1, False
        if reason:
            alpha, kept = _walk_back(cfg, v0, g0, g1, prompt, cams)
        if alpha == 0.0 and "speckle" in reason and cfg.part_neighbours > 0:
            # The contrast the change added inside a part is what broke the bound; its part-wise mean may hold.
            smooth = partwise_change(g0, g1, cfg.part_neighbours)
            if not _broken(cfg, v0, render_views(smooth, cams, device="cpu"), prompt)[0]:
                alpha, kept, smoothed = 1.0, smooth, True
            else:
                alpha, kept = _walk_back(cfg, v0, g0, smooth, prompt, cams)
                smoothed = alpha > 0.0
        rec = GuardRecord(i, alpha, patches, speckle, shift, de0, de1, reason, smoothed)
        if rec.acted:  # the run log says it to the user (``pipeline``); a warning here printed it twice
            log.info("guard: particle %d %s (%s)", i, rec.kept, reason)
        out.append(kept)
        records.append(rec)
    return out, records
