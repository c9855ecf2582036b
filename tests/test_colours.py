"""The colour vocabulary's caption edit: the target text of cpu-tiny's Delta Denoising Score."""

from __future__ import annotations

import pytest

from splatdream.colours import appearance_words, edit_caption


@pytest.mark.parametrize(
    ("caption", "prompt", "edited"),
    [
        # a run of colour and material words becomes the prompt's words, once; a run that already says
        # them stays ('brown' is within a few dE of 'wooden')
        (
            "a chair with a red seat, brown wooden legs and a tall solid back",
            "a wooden rocking chair",
            "a chair with a wooden seat, brown wooden legs and a tall solid back",
        ),
        ("a yellow taxi car", "a golden car", "a yellow taxi car"),
        ("a brown wooden chair", "a blue wooden chair", "a blue wooden chair"),
        (
            "a white modern chair with thin black metal legs",
            "a wooden rocking chair",
            "a wooden modern chair with thin wooden legs",
        ),
        # a shade goes with its colour, on both sides
        (
            "a light blue mug with a dark red handle",
            "a pale green mug",
            "a pale green mug with a pale green handle",
        ),
        # two words of the prompt travel together
        ("a red sofa", "a blue velvet couch", "a blue velvet sofa"),
        # nothing to replace: after the article, which agrees with the new first word
        ("a chair with a tall back", "an orange chair", "an orange chair with a tall back"),
        ("An old chair", "a blue chair", "A blue old chair"),
        ("the lamp", "a golden lamp", "the golden lamp"),
        ("chair with arms", "a red chair", "red chair with arms"),
        # an oak tree is a species: its green is what the caption says of its colour
        (
            "a leafy green oak tree with a round crown",
            "a wooden crown",
            "a leafy wooden oak tree with a round crown",
        ),
    ],
)
def test_edit_replaces_the_captions_appearance_with_the_prompts(
    caption: str, prompt: str, edited: str
) -> None:
    assert edit_caption(caption, prompt) == edited


@pytest.mark.parametrize("prompt", ["a sports car", "a chair", "a tall lamp", "a light", "a pine tree"])
def test_a_prompt_without_colour_or_material_asks_for_no_change(prompt: str) -> None:
    caption = "a red sedan car with a red roof and black wheels"
    assert appearance_words(prompt) == []
    assert edit_caption(caption, prompt) == caption


def test_appearance_words_in_order_once_each() -> None:
    assert appearance_words("a dark red chair, red and wooden, with gold trim") == [
        "dark red",
        "red",
        "wooden",
        "gold",
    ]
    assert appearance_words("a pine tree and pine planks") == ["pine"]
    assert appearance_words("an oak tree") == [] and appearance_words("oak trees, walnut trees") == []
