"""The project's one colour vocabulary: the words retrieval reads as colours, and the colour and
material words evaluation measures, with their reference sRGB colours.

Retrieval (``retrieval/query.py``) and evaluation (``evaluate/colour.py``) both read colour words
from a prompt; one home keeps them from drifting apart (tests/test_evaluate_metrics.py checks that
every measured word is one retrieval knows). Imports nothing of ours, so any layer may use it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from torch import Tensor

COLOURS = frozenset(
    """
red green blue yellow orange purple violet pink black white grey gray brown silver golden gold teal
navy cream tan beige turquoise cyan magenta maroon ivory bronze crimson scarlet emerald olive lime
mint lavender lilac indigo aqua azure amber mustard khaki charcoal rainbow multicoloured multicolored
colourful colorful pastel neon
""".split()
)
"""Every word retrieval parses as a colour attribute of the object (measured or not)."""

MATERIALS = frozenset(
    """
wooden wood oak pine-wood metal metallic steel iron aluminium aluminum brass chrome copper tin glass
plastic ceramic porcelain marble stone granite brick leather velvet fabric wool woollen cotton
linen silk denim paper cardboard straw rubber jade crystal clay terracotta concrete bamboo wicker
rattan enamel felt lego knitted plush cast-iron stainless
""".split()
)
"""Every word retrieval parses as a material of the object (measured or not)."""
SHADES = frozenset("dark light bright pale deep".split())
"""Attributes only before a colour ('light blue'); alone they can be the object ('a light')."""


WordKind = Literal["colour", "material"]


@dataclass(frozen=True)
class ColourWord:
    """One entry of the table: the canonical word, its kind and reference sRGB colours (0-255)."""

    word: str
    kind: WordKind
    references: tuple[tuple[int, int, int], ...]


COLOUR_WORDS: tuple[ColourWord, ...] = (
    ColourWord("red", "colour", ((200, 30, 30), (170, 20, 25), (225, 50, 45))),
    ColourWord("orange", "colour", ((245, 130, 20), (225, 105, 30))),
    ColourWord("yellow", "colour", ((250, 215, 30), (235, 195, 55))),
    ColourWord("green", "colour", ((40, 150, 50), (30, 105, 40), (110, 180, 70))),
    ColourWord("blue", "colour", ((30, 70, 200), (45, 115, 220), (25, 45, 140))),
    ColourWord("purple", "colour", ((120, 50, 160), (150, 85, 190))),
    ColourWord("pink", "colour", ((240, 130, 170), (250, 180, 200))),
    ColourWord("white", "colour", ((245, 245, 245), (228, 228, 222))),
    ColourWord("black", "colour", ((20, 20, 20), (45, 45, 48))),
    ColourWord("grey", "colour", ((128, 128, 128), (90, 90, 92), (180, 180, 180))),
    ColourWord("brown", "colour", ((120, 75, 40), (150, 100, 60), (90, 55, 30))),
    ColourWord("teal", "colour", ((0, 128, 128), (30, 145, 140))),
    ColourWord("navy", "colour", ((20, 30, 90), (30, 45, 110))),
    ColourWord("cream", "colour", ((245, 235, 200), (235, 220, 180))),
    ColourWord("beige", "colour", ((210, 180, 140), (225, 200, 165))),
    ColourWord("wooden", "material", ((190, 145, 95), (150, 100, 55), (100, 65, 40))),
    ColourWord("golden", "material", ((212, 175, 55), (230, 190, 80))),
    ColourWord("silver", "material", ((192, 192, 192), (165, 170, 175))),
    ColourWord("brass", "material", ((180, 150, 70), (200, 170, 90))),
    ColourWord("copper", "material", ((185, 110, 60), (160, 90, 50))),
    ColourWord("steel", "material", ((150, 155, 160), (120, 125, 130))),
)

ALIASES: dict[str, str] = {
    "gray": "grey",
    "wood": "wooden",
    "oak": "wooden",
    "walnut": "wooden",
    "pine": "wooden",
    "gold": "golden",
    "tan": "beige",
    "violet": "purple",
    "crimson": "red",
    "scarlet": "red",
}
"""Other spellings and near-synonyms -> the table's word (a wood's name only counts before a noun other than
'tree': ``WOOD_SPECIES``)."""
WOOD_SPECIES = frozenset({"oak", "pine", "walnut"})
"""Woods that are also trees: "an oak tree" names a species, not a wood colour."""


def _is_species(tokens: list[str], i: int) -> bool:
    return tokens[i] in WOOD_SPECIES and tokens[i + 1 : i + 2] in (["tree"], ["trees"])


_BY_WORD = {w.word: w for w in COLOUR_WORDS}


def srgb_to_lab(rgb: Tensor) -> Tensor:
    """sRGB in [0, 1] [..., 3] -> CIELAB (D65) [..., 3] (torch imported here: retrieval reads this module
    for its words and must not pay for torch)."""
    import torch

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
    import torch

    refs = torch.tensor(word.references, dtype=torch.float64) / 255.0
    return float((srgb_to_lab(refs) - srgb_to_lab(rgb)).norm(dim=-1).min())


def word_distance(a: ColourWord, b: ColourWord) -> float:
    """Smallest CIE76 distance between any reference colour of ``a`` and any of ``b``."""
    import torch

    la = srgb_to_lab(torch.tensor(a.references, dtype=torch.float64) / 255.0)
    lb = srgb_to_lab(torch.tensor(b.references, dtype=torch.float64) / 255.0)
    return float(torch.cdist(la, lb).min())


def colour_words(prompt: str) -> list[ColourWord]:
    """The table's words in ``prompt``, in order, once each ("a blue wooden chair" -> blue, wooden)."""
    tokens = re.findall(r"[a-z]+", prompt.lower())
    found: list[ColourWord] = []
    for i, tok in enumerate(tokens):
        if _is_species(tokens, i):
            continue
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


APPEARANCE_WORDS = COLOURS | MATERIALS | {w.word for w in COLOUR_WORDS} | ALIASES.keys()
"""Words that say what colour or material an object is: what a colour edit may change in a caption."""

_TOKEN = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*")


def appearance_words(text: str) -> list[str]:
    """The colour and material words of ``text`` in order, once each, with a shade kept before its colour
    ("a light blue wooden chair" -> ['light blue', 'wooden'])."""
    tokens = [m.group(0).lower() for m in _TOKEN.finditer(text)]
    found: list[str] = []
    for i, tok in enumerate(tokens):
        if tok not in APPEARANCE_WORDS:
            continue
        if _is_species(tokens, i):
            continue
        word = f"{tokens[i - 1]} {tok}" if i > 0 and tokens[i - 1] in SHADES else tok
        if word not in found:
            found.append(word)
    return found


NEAR_DELTA_E = 16.0
"""A caption word whose colours lie this close (CIE76) to the prompt's word already says it: 'brown' for
'wooden' (2.7), 'yellow' for 'golden' (10.6); 'black' for 'wooden' (28.8) does not."""


def _canonical(word: str) -> ColourWord | None:
    """The measured table's entry for a word or phrase ('light blue' -> blue), None when unmeasured."""
    last = word.split()[-1]
    return _BY_WORD.get(ALIASES.get(last, last))


def _says(run: list[str], want: str) -> bool:
    """Whether a caption's run of appearance words already asks for ``want``."""
    target = _canonical(want)
    for word in run:
        have = _canonical(word)
        if word == want or (have is not None and have == target):
            return True
        if have is not None and target is not None and word_distance(have, target) <= NEAR_DELTA_E:
            return True
    return False


def edit_caption(caption: str, prompt: str) -> str:
    """``caption`` as the prompt asks it to look: each run of its colour and material words (with their
    shades) that does not already say what the prompt asks becomes the prompt's colour and material words;
    with no run at all, those words go after the leading article. A prompt without such words asks for no
    change and gets ``caption`` back unchanged; so does a caption that already says it.

    Why: a Delta Denoising Score scores the particle under one text and the retrieved asset under its own
    caption; every word in which the two texts differ pushes the particle. The caption against the prompt
    differs in words the prompt never asked to change ("a *red* sedan" vs "a sports car" pushes away from
    red), and dropping a word that agrees with the prompt pushes away from it too ("brown wooden legs" ->
    "wooden legs" turned brown legs olive); so the target is the caption edited by exactly what the prompt
    asks (docs/quality.md).
    """
    words = appearance_words(prompt)
    if not words:
        return caption
    phrase = " ".join(words)
    runs: list[tuple[int, int, list[str]]] = []  # (start, end, words) of each run of appearance words
    for m in _TOKEN.finditer(caption):
        tok = m.group(0).lower()
        after = _TOKEN.match(caption[m.end() :].lstrip(" "))
        is_shade = tok in SHADES and after is not None and after.group(0).lower() in APPEARANCE_WORDS
        species = tok in WOOD_SPECIES and after is not None and after.group(0).lower() in ("tree", "trees")
        if not (tok in APPEARANCE_WORDS or is_shade) or species:
            continue
        if runs and caption[runs[-1][1] : m.start()].strip() == "":
            start, _, run = runs[-1]
            runs[-1] = (start, m.end(), [*run, tok])
        else:
            runs.append((m.start(), m.end(), [tok]))
    if not runs:
        head = re.match(r"\s*(an?|the)\s+", caption, flags=re.IGNORECASE)
        if head is None:
            return f"{phrase} {caption}"
        article = head.group(1)
        if article.lower() != "the":  # a/an agrees with the phrase now in front
            article = "an" if phrase[0] in "aeiou" else "a"
            article = article.capitalize() if head.group(1)[0].isupper() else article
        return f"{article} {phrase} {caption[head.end() :]}"
    out, pos = [], 0
    for start, end, run in runs:
        if not all(_says(run, w) for w in words):
            out += [caption[pos:start], phrase]
            pos = end
    return "".join(out) + caption[pos:]
