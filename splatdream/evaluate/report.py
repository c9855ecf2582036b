"""eval.png: for each particle its init row above its result row, with the particle's numbers under them."""

from __future__ import annotations

import math

from PIL import Image, ImageDraw, ImageFont
from torch import Tensor

from splatdream.evaluate.record import ParticleEval, RunEval
from splatdream.sheets import views_row

TITLE_H = 22
"""Height of the prompt strip at the top, in pixels."""
LABEL_H = 30
"""Height of each particle's two lines of numbers."""


def _fmt(v: float | None, spec: str) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def particle_lines(p: ParticleEval) -> tuple[str, str]:
    """The two lines of numbers drawn under a particle (also what a reader of eval.png compares)."""
    c = p.cleanliness
    first = (
        f"particle {p.index}: speckle x{_fmt(c.speckle_ratio, '.2f')}  holes {_fmt(c.holes, '.1%')}  "
        f"floaters {_fmt(c.floaters, '.1%')}  gaussians {c.gaussians_init}->{c.gaussians} "
        f"(x{_fmt(c.count_ratio, '.2f')})"
    )
    parts = []
    if p.patches is not None:
        parts.append(f"patches {_fmt(p.patches, '.1f')}  shift {_fmt(p.mean_shift, '.0f')}")
    if p.colour is not None:
        parts.append(
            f"dE({p.colour.word}) {_fmt(p.colour.delta_e_init, '.0f')}->{_fmt(p.colour.delta_e, '.0f')}"
        )
    if p.classifier is not None:
        parts.append(f"classifier {_fmt(p.classifier_init, '+.4f')}->{_fmt(p.classifier, '+.4f')}")
    if p.clip is not None:
        parts.append(f"CLIP {_fmt(p.clip_init, '.1f')}->{_fmt(p.clip, '.1f')}")
    if p.alpips is not None:
        parts.append(f"A-LPIPS {_fmt(p.alpips_init, '.3f')}->{_fmt(p.alpips, '.3f')}")
    return first, "  ".join(parts) or "(init -> result)"


def sheet_size(n_particles: int, views: int, size: int) -> tuple[int, int]:
    """(width, height) of eval.png for this many particles and views per row."""
    return views * size, TITLE_H + n_particles * (2 * size + LABEL_H)


def contact_sheet(result: RunEval, rows: list[tuple[Tensor, Tensor]]) -> Image.Image:
    """``rows``: per particle (init views, result views), each [V, S, S, 3] on white."""
    views, size = rows[0][0].shape[0], rows[0][0].shape[1]
    width, height = sheet_size(len(rows), views, size)
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    draw.text(
        (4, 5), f"{result.prompt}   ({result.run_dir.name}; init above result)", fill="black", font=font
    )
    y = TITLE_H
    for p, (init, res) in zip(result.particles, rows, strict=True):
        for tag, images in (("init", init), ("result", res)):
            sheet.paste(Image.fromarray(views_row(images)), (0, y))
            draw.text((3, y + 2), tag, fill=(90, 90, 90), font=font)
            y += size
        for k, line in enumerate(particle_lines(p)):
            draw.text((4, y + 2 + 13 * k), line, fill="black", font=font)
        y += LABEL_H
    return sheet
