"""View-dependent prompts: threestudio's thresholds, both wordings, azimuth wrapping."""

from __future__ import annotations

import torch

from splatdream.priors.config import ViewPromptConfig
from splatdream.priors.views import view_prompts, view_words
from splatdream.scene import orbit_position


def test_threestudio_thresholds() -> None:
    az = [0.0, 44.0, -44.0, 46.0, 90.0, -100.0, 134.0, 136.0, 180.0, -179.0, 225.0, 320.0, 0.0, 180.0]
    el = [0.0] * 12 + [61.0, 59.0]
    assert view_words(az, el) == [
        "front",
        "front",
        "front",
        "side",
        "side",
        "side",
        "side",
        "back",
        "back",
        "back",
        "side",
        "front",
        "overhead",
        "back",
    ]


def test_wording_and_custom_thresholds() -> None:
    assert view_prompts("a red chair", [0.0, 180.0], [10.0, 10.0]) == [
        "a red chair, front view",
        "a red chair, back view",
    ]
    prefix = ViewPromptConfig(style="prefix", front_threshold_deg=30.0, back_threshold_deg=30.0)
    assert view_prompts(
        "a red chair", torch.tensor([35.0, 160.0, 0.0]), torch.tensor([0.0, 0.0, 70.0]), prefix
    ) == [
        "side view of a red chair",
        "back view of a red chair",
        "overhead view of a red chair",
    ]


def test_front_is_the_camera_on_plus_z() -> None:
    """Azimuth 0 must be the camera on +Z (scene.py's convention), so 'front' sees the object's front."""
    pos = orbit_position(torch.tensor([0.0, 180.0]), torch.tensor([0.0, 0.0]), torch.tensor([2.0, 2.0]))
    assert pos[0, 2] > 1.9 and pos[1, 2] < -1.9
    assert view_words([0.0, 180.0], [0.0, 0.0]) == ["front", "back"]
