"""``splatdream eval``'s metrics on constructed cases: each moves the right way, by a clear margin."""

from __future__ import annotations

import pytest
import torch

from splatdream.colours import COLOUR_WORDS, colour_words, delta_e, srgb_to_lab, target_word
from splatdream.evaluate import EvalConfig, evaluate_particles
from splatdream.evaluate.fidelity import ATTRIBUTE_MIN_DELTA_E, attribute_distractors, distractor_captions
from tests.support.evaluate_scenes import box_scene, punched, recoloured, speckled, with_floaters

CFG = EvalConfig(views=8, size=64, extra_elevations_deg=(40.0,))


@pytest.fixture(scope="module")
def box():
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    return box_scene()


def test_unchanged_particle_scores_neutral(box) -> None:
    c = evaluate_particles(box, box.clone(), CFG).cleanliness
    assert c.speckle_ratio == pytest.approx(1.0) and c.holes == 0 and c.floaters == 0 and c.count_ratio == 1


def test_speckled_copy_scores_worse_speckle(box) -> None:
    light = evaluate_particles(box, speckled(box, std=0.08), CFG).cleanliness
    heavy = evaluate_particles(box, speckled(box, std=0.25), CFG).cleanliness
    assert light.speckle_ratio > 1.5, light
    assert heavy.speckle > light.speckle > light.speckle_init
    # Colour noise is not a hole nor a floater.
    assert heavy.holes < 0.005 and heavy.floaters < 0.005


def test_recolour_towards_blue_lowers_delta_e_to_blue(box) -> None:
    p = evaluate_particles(box, recoloured(box, (0.1, 0.25, 0.8)), CFG, prompt="a blue wooden chair")
    assert p.colour is not None and p.colour.word == "blue"
    assert p.colour.delta_e < p.colour.delta_e_init - 20, p.colour
    # The same recolouring moves the object away from wood.
    w = evaluate_particles(box, recoloured(box, (0.1, 0.25, 0.8)), CFG, prompt="a wooden chair").colour
    assert w is not None and w.word == "wooden" and w.delta_e > w.delta_e_init + 10, w


def test_punched_hole_is_counted(box) -> None:
    holed = punched(box)
    c = evaluate_particles(box, holed, CFG).cleanliness
    assert 0.01 < c.holes < 0.3, c
    assert c.floaters == 0 and c.count_ratio == pytest.approx(len(holed) / len(box))


def test_added_floaters_are_counted(box) -> None:
    c = evaluate_particles(box, with_floaters(box, n=40), CFG).cleanliness
    assert c.floaters > 0.02, c
    assert c.holes < 0.005 and c.count_ratio == pytest.approx((len(box) + 40) / len(box))


def test_denser_copy_has_count_ratio_two(box) -> None:
    from splatdream.scene import Gaussians

    c = evaluate_particles(box, Gaussians.cat([box, box.clone()]), CFG).cleanliness
    assert c.count_ratio == 2 and c.holes == 0 and c.floaters == 0


def test_lab_and_delta_e_reference_values() -> None:
    lab = srgb_to_lab(torch.tensor([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]))
    torch.testing.assert_close(
        lab[0], torch.tensor([100.0, 0.0, 0.0], dtype=torch.float64), atol=0.05, rtol=0
    )
    torch.testing.assert_close(lab[1], torch.zeros(3, dtype=torch.float64), atol=1e-6, rtol=0)
    torch.testing.assert_close(
        lab[2], torch.tensor([53.24, 80.09, 67.20], dtype=torch.float64), atol=0.05, rtol=0
    )
    for w in COLOUR_WORDS:  # every reference is at distance 0 from its own word
        assert delta_e(torch.tensor(w.references[0]) / 255.0, w) < 1e-4


@pytest.mark.parametrize(
    ("prompt", "words", "target"),
    [
        ("a blue wooden chair", ["blue", "wooden"], "blue"),
        ("A Gray sofa", ["grey"], "grey"),
        ("a wooden rocking chair", ["wooden"], "wooden"),
        ("a golden crown", ["golden"], "golden"),
        ("a tall pine tree", [], None),
        ("a chair", [], None),
    ],
)
def test_colour_words_from_prompt(prompt: str, words: list[str], target: str | None) -> None:
    assert [w.word for w in colour_words(prompt)] == words
    t = target_word(prompt)
    assert (t.word if t else None) == target


def test_distractors_swap_the_object_and_keep_the_colour() -> None:
    cats = ["apple", "chair", "ice cream cone", "table", "tree"]
    assert distractor_captions("a blue wooden chair", 2, cats) == (
        "a blue wooden apple",
        "a blue wooden table",
    )
    assert distractor_captions("a red ice cream cone", 4, cats) == (
        "a red apple",
        "a red chair",
        "a red table",
        "a red tree",
    )
    assert distractor_captions("an old chair", 1, cats) == ("an old apple",)
    assert distractor_captions("a purple octopus", 1, cats) == ("a purple apple",)


def test_attribute_distractors_swap_the_colour_word_for_clearly_different_colours() -> None:
    caps = attribute_distractors("a blue wooden chair", 4)
    assert len(caps) == 4 and all(c.endswith(" wooden chair") and "blue" not in c for c in caps), caps
    by_word = {w.word: w for w in COLOUR_WORDS}
    blue = by_word["blue"]
    for c in caps:
        (word,) = [w for w in colour_words(c) if w.kind == "colour"]
        refs = torch.tensor(word.references, dtype=torch.float64) / 255.0
        assert min(delta_e(r, blue) for r in refs) >= ATTRIBUTE_MIN_DELTA_E, (c, "too close to blue")
    assert "navy" not in " ".join(caps)
    assert attribute_distractors("an orange mug", 2) == (
        "a green mug",
        "a black mug",
    )  # articles follow the word
    assert attribute_distractors("a wooden car", 3)[0].startswith("a ") and "wooden" not in " ".join(
        attribute_distractors("a wooden car", 3)
    )
    assert attribute_distractors("a chair", 4) == () and attribute_distractors("a red chair", 0) == ()


def test_shipped_prior_prefers_the_prompt_colour_over_its_distractors() -> None:
    """The attribute part ranks a blue box above a red one for 'a blue chair' (the shipped TinyPrior knows colour)."""
    from splatdream.evaluate.fidelity import classifier_margins
    from splatdream.priors.config import PriorConfig
    from splatdream.priors.loader import load_prior

    prior = load_prior(PriorConfig(kind="tiny"), "cpu")
    box = box_scene(1500)
    prompt = "a blue chair"
    blue, red = classifier_margins(
        prior,
        [recoloured(box, (0.1, 0.25, 0.8), 0.9), recoloured(box, (0.8, 0.1, 0.1), 0.9)],
        prompt,
        contrast=attribute_distractors(prompt, 4),
        views=4,
    )
    assert float(blue.mean()) < 0 < float(red.mean()) + 0.002, (blue, red)
    assert float(blue.mean()) < float(red.mean()) - 0.002, (blue, red)


def test_measured_colour_words_are_words_retrieval_reads() -> None:
    """One vocabulary (splatdream/colours.py): a word eval measures is a colour or material to retrieval."""
    from splatdream.retrieval.query import COLOURS, MATERIALS

    assert [w.word for w in COLOUR_WORDS if w.word not in COLOURS | MATERIALS] == []


def test_an_init_of_random_colours_still_gets_a_speckle_ratio() -> None:
    """Random colours per pixel: every pixel is next to a part boundary, so speckle falls back to the whole
    interior rather than to no pixels (a NaN in eval.json)."""
    from splatdream.evaluate.cleanliness import PART_EDGE_DELTA_E, part_edges, speckle, speckle_mask
    from splatdream.render.views import Views

    gen = torch.Generator().manual_seed(0)
    alpha = torch.zeros(2, 24, 24)
    alpha[:, 2:22, 2:22] = 1.0  # a 20 px square on a transparent frame
    noisy = Views(torch.rand(2, 24, 24, 3, generator=gen) * alpha[..., None], alpha)
    quiet = Views(noisy.premult * 0.5 + 0.25, alpha)  # the same pattern at half the contrast
    assert not (part_edges(noisy)[:, 2:22, 2:22] < PART_EDGE_DELTA_E).any()
    assert int(speckle_mask(noisy).sum()) == 2 * 18 * 18  # the square's interior, eroded 1 px
    assert speckle(noisy, quiet).ratio == pytest.approx(0.5)
