"""2D diffusion priors behind one interface: Stable Diffusion (diffusers) and the shipped TinyPrior.

Guidance code uses ``load_prior(PriorConfig(...), device)`` and the ``Prior`` methods only; see base.py.
"""

from __future__ import annotations

from splatdream.priors.base import Prior, TextEmbeddings, add_noise, eps_to_v, v_to_eps
from splatdream.priors.config import PriorConfig, ViewPromptConfig
from splatdream.priors.loader import load_prior
from splatdream.priors.views import view_prompts, view_words, with_view

__all__ = [
    "Prior", "PriorConfig", "TextEmbeddings", "ViewPromptConfig", "add_noise", "eps_to_v", "load_prior",
    "v_to_eps", "view_prompts", "view_words", "with_view",
]
