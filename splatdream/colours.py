"""The project's one colour vocabulary: the words retrieval reads as colours, and the colour and
material words evaluation measures, with their reference sRGB colours.

Retrieval (``retrieval/query.py``) and evaluation (``evaluate/colour.py``) both read colour words
from a prompt; one home keeps them from drifting apart (tests/test_evaluate_metrics.py checks that
every measured word is one retrieval knows). Imports nothing of ours, so any layer may use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

COLOURS = frozenset(
    """
red green blue yellow orange purple violet pink black white grey gray brown silver golden gold teal
navy cream tan beige turquoise cyan magenta maroon ivory bronze crimson scarlet emerald olive lime
mint lavender lilac indigo aqua azure amber mustard khaki charcoal rainbow multicoloured multicolored
colourful colorful pastel neon
""".split()
)
"""Every word retrieval parses as a colour attribute of the object (measured or not)."""

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
"""Other spellings and near-synonyms -> the table's word ('pine' only counts before a noun other than 'tree')."""
