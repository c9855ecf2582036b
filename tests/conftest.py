"""Shared fixtures: tiny random priors so the real guidance code runs with no download."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import torch


@pytest.fixture(scope="session", autouse=True)
def _ctrl_c_not_ignored():
    """Give the tests the terminal's Ctrl-C, however pytest was started.

    A shell without job control starts ``cmd &`` with SIGINT ignored, and every subprocess inherits that
    (Python then installs no KeyboardInterrupt handler): the Ctrl-C tests would test nohup, not splatdream.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture(scope="session")
def tiny_prior_factory():
    """Builds an untrained, very small TinyPrior (16 px, 8/16 channels); the text encoder is shared."""
    from splatdream.priors.text import MiniLMTokenEncoder
    from splatdream.priors.tiny_prior import TinyArch, TinyPrior, build_tiny_unet

    encoder = MiniLMTokenEncoder(max_length=8)

    def make(seed: int = 0) -> TinyPrior:
        torch.manual_seed(seed)
        arch = TinyArch(
            image_size=16,
            block_out_channels=(8, 16),
            norm_num_groups=4,
            attention_head_dim=4,
            max_text_tokens=8,
        )
        return TinyPrior(build_tiny_unet(arch), arch, text_encoder=encoder)

    return make


@pytest.fixture(scope="session")
def random_tiny_prior(tmp_path_factory) -> Path:
    """An exported, untrained, very small TinyPrior folder (fast; for plumbing tests)."""
    from tests.support.tiny_runs import write_random_tiny_prior

    return write_random_tiny_prior(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="session")
def tiny_sd(tmp_path_factory) -> Path:
    """A diffusers SD folder (unet/ vae/ text_encoder/ tokenizer/ scheduler/) with tiny random weights."""
    from tests.support.tiny_sd import write_tiny_sd

    return write_tiny_sd(tmp_path_factory.mktemp("tiny_sd"))


@pytest.fixture(scope="session")
def tiny_sd_v(tmp_path_factory) -> Path:
    """``tiny_sd`` with a v-prediction scheduler (as SD 2.1 768)."""
    from tests.support.tiny_sd import write_tiny_sd

    return write_tiny_sd(tmp_path_factory.mktemp("tiny_sd_v"), "v_prediction")
