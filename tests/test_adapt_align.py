"""Front alignment: hypothesis scoring, the render -> score -> rotate plumbing, and (with the shipped
TinyPrior) accuracy of the diffusion-classifier scorer on turned starter assets."""

from __future__ import annotations

import torch

from splatdream.adaptation.align import align_front, candidate_yaws, hypothesis_scores
from splatdream.adaptation.config import AlignConfig
from splatdream.render import render_gaussians
from splatdream.scene import Cameras, Gaussians

WORDS = ("front", "side", "back")


def test_hypothesis_scores_pick_the_labelling_the_scores_support() -> None:
    yaws = candidate_yaws(8)
    assert yaws == [0.0, 45.0, 90.0, 135.0, -180.0, -135.0, -90.0, -45.0]
    # Renders scored as if the front faced azimuth 90: front at 90, back at -90, side at 0 / 180.
    truth = {90.0: "front", -90.0: "back", 0.0: "side", -180.0: "side"}
    sim = torch.zeros(8, 3)
    for i, az in enumerate(yaws):
        if az in truth:
            sim[i, WORDS.index(truth[az])] = 1.0
    support = hypothesis_scores(sim, yaws, 15.0, WORDS)
    assert yaws[int(support.argmax())] == 90.0
    # Its mirror (front at -90, where the back was seen) is well below it.
    assert support[yaws.index(90.0)] > support[yaws.index(-90.0)] + 0.2


def marked_asset(front_azimuth: float) -> Gaussians:
    """A grey ball with a red patch facing ``front_azimuth``."""
    gen = torch.Generator().manual_seed(0)
    g = Gaussians.random_ball(600, radius=0.6, scale=0.07, opacity=0.9, generator=gen)
    d = torch.nn.functional.normalize(g.means, dim=-1)
    a = torch.deg2rad(torch.tensor(front_azimuth))
    facing = d @ torch.stack([torch.sin(a), torch.tensor(0.0), torch.cos(a)]) > 0.6
    rgb = torch.full((len(g), 3), 0.5)
    rgb[facing] = torch.tensor([0.9, 0.05, 0.05])
    return Gaussians.from_activated(g.means, g.scales, g.opacities, rgb)


def redness_scorer(images: torch.Tensor, texts: list[str]) -> torch.Tensor:
    """A stand-in CLIP: 'front' likes red pixels, 'back' dislikes them, 'side' is neutral."""
    assert texts[0].startswith("front view of")  # the CLIP wording, not the prior's
    red = (images[:, 0] - images[:, 1:].mean(1)).clamp_min(0).mean((1, 2))
    return torch.stack([red, torch.zeros_like(red), -red], dim=1)


def test_align_front_turns_the_front_to_azimuth_zero() -> None:
    cfg = AlignConfig(resolution=32)
    for true_front in (135.0, -70.0):
        rotated, yaw, scores = align_front(
            None, marked_asset(true_front), "a ball", cfg, scorer=redness_scorer
        )
        assert abs((yaw - true_front + 180) % 360 - 180) <= 22.5
        assert set(scores) == set(candidate_yaws(8)) and max(scores, key=scores.get) == yaw
        # After alignment the red patch is seen from the front camera (+Z).
        cams = Cameras.from_orbit(
            torch.tensor([0.0, 180.0]),
            torch.tensor([0.0, 0.0]),
            torch.tensor([2.8, 2.8]),
            torch.tensor([45.0, 45.0]),
            32,
            32,
        )
        rgb, _, _ = render_gaussians(rotated, cams, backend="torch")
        redness = (rgb[..., 0] - rgb[..., 1:].mean(-1)).mean((1, 2))
        assert redness[0] > redness[1] + 0.05


def test_align_scorer_choice_clip_when_it_loads_else_the_prior(tmp_path) -> None:
    """'auto' takes CLIP when its weights load and falls back to the prior; 'clip' without weights is refused."""
    import pytest

    from splatdream.adaptation.scoring import choose_align_scorer
    from splatdream.retrieval.config import ClipConfig
    from tests.support.tiny_sd import write_tiny_clip

    missing = ClipConfig(checkpoint=tmp_path / "nope.pt")
    assert choose_align_scorer("diffusion", missing) == (None, "diffusion classifier on the prior")
    scorer, how = choose_align_scorer("auto", missing)
    assert scorer is None and "CLIP weights not on this machine" in how
    with pytest.raises(FileNotFoundError, match=r"--retrieval\.clip-checkpoint"):
        choose_align_scorer("clip", missing)
    config, checkpoint = write_tiny_clip(tmp_path / "clip")
    scorer, how = choose_align_scorer("auto", ClipConfig(model=str(config), checkpoint=checkpoint))
    assert scorer is not None and how == "CLIP"
    sim = scorer(torch.rand(4, 3, 32, 32), ["front view of a chair", "back view of a chair"])
    assert sim.shape == (4, 2) and torch.isfinite(sim).all()


def test_denoising_errors_on_a_one_thread_worker_are_the_two_thread_bits() -> None:
    """adaptation_effect runs its measures on one-thread workers: each is the same bits as on the caller's threads."""
    from splatdream.adaptation.scoring import denoising_errors, fixed_probes
    from splatdream.cpu_pool import CpuPool
    from splatdream.priors.tiny_prior import TinyPrior

    prior = TinyPrior.load()
    x0 = torch.rand(6, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    text = prior.encode_prompts(["a chair, front view", "a chair, side view", "a chair, back view"])
    t, noise = fixed_probes(x0.shape[1:], (100, 400, 700), 2, 0)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        here = denoising_errors(prior, x0, text, t, noise)
    finally:
        torch.set_num_threads(before)
    with CpuPool(2) as pool:
        there = pool.submit(denoising_errors, prior, x0, text, t, noise).result()
    assert here.shape == (6, 3) and torch.equal(here, there)
