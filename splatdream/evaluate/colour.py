"""Colour fidelity: the prompt's colour/material word, its reference colours, and CIELAB distance.

The table is ours and small on purpose: a few sRGB references per word (a wood is light oak or
dark walnut; blue is royal or navy-ish), and the distance is to the nearest of them, so any
reasonable shade of the word scores well. Distances are CIE76 Delta E (Euclidean in CIELAB, D65):
about 2 is a just-noticeable difference, above 50 two clearly different colours.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from splatdream.colours import delta_e, target_word
from splatdream.evaluate.views import quick_views
from splatdream.render.views import Views
from splatdream.scene import Gaussians


def mean_colour(views: Views) -> Tensor:
    """Mean un-premultiplied sRGB [3] over every view's silhouette (NaN when nothing is drawn)."""
    mask = views.silhouette
    if not mask.any():
        return torch.full((3,), float("nan"))
    return views.rgb[mask].mean(0)


@dataclass(frozen=True)
class ColourScore:
    """How far a particle's mean colour is from the prompt's colour word, before and after distillation."""

    word: str
    """The prompt's colour or material word."""
    delta_e_init: float
    delta_e: float
    """CIE76 Delta E to the word's nearest reference colour; lower is better."""
    mean_rgb_init: tuple[float, float, float]
    mean_rgb: tuple[float, float, float]
    """Mean object sRGB over every view's silhouette."""


def colour_score(prompt: str, init: Views, result: Views) -> ColourScore | None:
    """None when the prompt names no colour or material of the table."""
    word = target_word(prompt)
    if word is None:
        return None
    c0, c1 = mean_colour(init), mean_colour(result)
    return ColourScore(
        word=word.word,
        delta_e_init=delta_e(c0, word),
        delta_e=delta_e(c1, word),
        mean_rgb_init=(float(c0[0]), float(c0[1]), float(c0[2])),
        mean_rgb=(float(c1[0]), float(c1[1]), float(c1[2])),
    )


def mean_object_colour(g: Gaussians) -> Tensor:
    """``mean_colour`` on 8 ring views at 64 px: a quick colour check of one scene."""
    return mean_colour(quick_views(g))
