"""Colour fidelity: the prompt's colour/material word, its reference colours, and CIELAB distance.

The table is ours and small on purpose: a few sRGB references per word (a wood is light oak or
dark walnut; blue is royal or navy-ish), and the distance is to the nearest of them, so any
reasonable shade of the word scores well. Distances are CIE76 Delta E (Euclidean in CIELAB, D65):
about 2 is a just-noticeable difference, above 50 two clearly different colours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
from torch import Tensor

from splatdream.colours import ALIASES, COLOUR_WORDS, ColourWord
from splatdream.evaluate.views import quick_views
from splatdream.render.views import Views
from splatdream.scene import Gaussians

_BY_WORD = {w.word: w for w in COLOUR_WORDS}


def colour_words(prompt: str) -> list[ColourWord]:
    """The table's words in ``prompt``, in order, once each ("a blue wooden chair" -> blue, wooden)."""
    tokens = re.findall(r"[a-z]+", prompt.lower())
    found: list[ColourWord] = []
    for i, tok in enumerate(tokens):
        if tok == "pine" and i + 1 < len(tokens) and tokens[i + 1] == "tree":
            continue  # a pine tree is a species, not a wood colour
        entry = _BY_WORD.get(ALIASES.get(tok, tok))
        if entry is not None and entry not in found:
            found.append(entry)
    return found


def target_word(prompt: str) -> ColourWord | None:
    """The word the object should match: the first colour word, else the first material word."""
    words = colour_words(prompt)
    colours = [w for w in words if w.kind == "colour"]
    pick = colours or words
    return pick[0] if pick else None


def srgb_to_lab(rgb: Tensor) -> Tensor:
    """sRGB in [0, 1] [..., 3] -> CIELAB (D65) [..., 3]."""
    rgb = rgb.double().clamp(0, 1)
    lin = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    m = torch.tensor(
        [
            [0.4124564, 0.3575761, 0.1804375],
            [0.2126729, 0.7151522, 0.0721750],
            [0.0193339, 0.1191920, 0.9503041],
        ],
        dtype=torch.float64,
    )
    xyz = lin @ m.T / torch.tensor([0.95047, 1.0, 1.08883], dtype=torch.float64)
    eps, kappa = 216 / 24389, 24389 / 27
    f = torch.where(xyz > eps, xyz ** (1 / 3), (kappa * xyz + 16) / 116)
    return torch.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1
    )


def delta_e(rgb: Tensor, word: ColourWord) -> float:
    """CIE76 distance from a colour [3] in [0, 1] to the nearest of ``word``'s references."""
    refs = torch.tensor(word.references, dtype=torch.float64) / 255.0
    return float((srgb_to_lab(refs) - srgb_to_lab(rgb)).norm(dim=-1).min())


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
