"""The adaptation LoRA on disk and on the prior: add, save, load, fuse; plus learnt view-word offsets.

On disk (an "adapter dir"), in the standard peft/diffusers layout:
  adapter_model.safetensors   peft state dict of the 'redream' adapter (keys without adapter name)
  adapter_config.json         its ``LoraConfig``
  view_tokens.safetensors     optional: one [L, D] offset per view word (see ``ViewTokens``)
  view_tokens.json            the view wording those offsets were learnt with

View tokens: ReDream learns the view-prefix token embeddings jointly with the LoRA (its Eq. 5).
Our priors hide their text encoders behind ``encode_prompts``, so instead of input-token
embeddings we learn an offset per view word that is added to the *encoded* text states of every
prompt carrying that word. ``install_view_tokens`` makes the prior's ``encode_prompts`` add them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from splatdream.adaptation.config import ADAPTER_NAME, LORA_TARGETS
from splatdream.priors.base import Prior, TextEmbeddings
from splatdream.priors.config import ViewPromptConfig
from splatdream.priors.views import VIEW_WORDS, with_view

WEIGHTS_FILE = "adapter_model.safetensors"
CONFIG_FILE = "adapter_config.json"
TOKENS_FILE = "view_tokens.safetensors"
TOKENS_META = "view_tokens.json"


def add_lora(
    unet: Any,
    rank: int,
    alpha: float,
    adapter_name: str = ADAPTER_NAME,
    target_modules: Sequence[str] = LORA_TARGETS,
) -> list[nn.Parameter]:
    """Install a fresh (identity at init) LoRA adapter and return its parameters, in float32."""
    from peft import LoraConfig

    if adapter_name in getattr(unet, "peft_config", {}):
        raise ValueError(f"the UNet already carries a {adapter_name!r} adapter; apply or delete it first")
    unet.add_adapter(
        # peft annotates lora_alpha as int; any number works (scaling = alpha / r)
        LoraConfig(
            r=rank,
            lora_alpha=alpha,  # type: ignore[arg-type]
            init_lora_weights=True,
            target_modules=list(target_modules),
        ),
        adapter_name=adapter_name,
    )
    unet.set_adapter(adapter_name)
    params = lora_parameters(unet, adapter_name)
    for p in params:
        p.data = p.data.float()  # LoRA trains in float32 even when the UNet runs in half precision
        p.requires_grad_(True)
    return params


def lora_parameters(unet: Any, adapter_name: str = ADAPTER_NAME) -> list[nn.Parameter]:
    return [p for n, p in unet.named_parameters() if f".{adapter_name}." in n]


class ViewTokens(nn.Module):
    """A learnable offset [L, D] per view word, added to the encoded states of prompts with that word."""

    def __init__(
        self,
        seq_len: int,
        dim: int,
        view_cfg: ViewPromptConfig = ViewPromptConfig(),
        words: Sequence[str] = VIEW_WORDS,
    ) -> None:
        super().__init__()
        self.view_cfg = view_cfg
        self.offsets = nn.ParameterDict({w: nn.Parameter(torch.zeros(seq_len, dim)) for w in words})

    def word_of(self, prompt: str) -> str | None:
        """The view word the prompt carries in the configured wording, if any."""
        for w in self.offsets:
            marker = with_view("", w, self.view_cfg)
            if self.view_cfg.style == "suffix" and prompt.endswith(marker):
                return w
            if self.view_cfg.style == "prefix" and prompt.startswith(marker):
                return w
        return None

    def add_offsets(self, emb: TextEmbeddings, prompts: Sequence[str]) -> TextEmbeddings:
        """``emb`` with each prompt's view-word offset added to its cond rows (differentiable)."""
        assert len(emb) == len(prompts), (len(emb), len(prompts))
        rows = []
        for i, prompt in enumerate(prompts):
            w = self.word_of(prompt)
            row = emb.cond[i]
            rows.append(row if w is None else row + self.offsets[w].to(row))
        return TextEmbeddings(torch.stack(rows), emb.uncond)

    def save(self, folder: Path) -> None:
        from safetensors.torch import save_file

        from splatdream.atomic import atomic_write

        with atomic_write(folder / TOKENS_FILE) as tmp:
            save_file({w: p.detach().float().cpu().contiguous() for w, p in self.offsets.items()}, str(tmp))
        with atomic_write(folder / TOKENS_META) as tmp:
            Path(tmp).write_text(json.dumps({"view_prompts": asdict(self.view_cfg)}, indent=2))

    @classmethod
    def load(cls, folder: Path) -> ViewTokens:
        from safetensors.torch import load_file

        state = load_file(str(folder / TOKENS_FILE))
        meta = json.loads((folder / TOKENS_META).read_text())
        first = next(iter(state.values()))
        tokens = cls(first.shape[0], first.shape[1], ViewPromptConfig(**meta["view_prompts"]), list(state))
        with torch.no_grad():
            for w, t in state.items():
                tokens.offsets[w].copy_(t)
        return tokens.requires_grad_(False)


def install_view_tokens(prior: Prior, tokens: ViewTokens) -> None:
    """Make ``prior.encode_prompts`` add the learnt view-word offsets (idempotent per prior)."""
    base = getattr(prior, "_encode_prompts_without_view_tokens", None) or prior.encode_prompts

    def encode_prompts(prompts: Sequence[str], negative_prompt: str = "") -> TextEmbeddings:
        with torch.no_grad():
            return tokens.add_offsets(base(prompts, negative_prompt), list(prompts))

    prior._encode_prompts_without_view_tokens = base  # type: ignore[attr-defined]
    prior.encode_prompts = encode_prompts  # type: ignore[method-assign]
    prior.view_tokens = tokens  # type: ignore[attr-defined]


def save_adapter(
    unet: Any, folder: Path, tokens: ViewTokens | None = None, adapter_name: str = ADAPTER_NAME
) -> Path:
    """Write the adapter (and view tokens) into ``folder`` in peft's layout; returns ``folder``.

    Atomic as a folder: everything is written into a hidden sibling and renamed into place, so a crash
    or a full disk leaves the previous adapter (or none), never a half-written one that ``--resume``
    would trust. A full disk is one line naming the folder and the space the adapter needs.
    """
    import errno
    import shutil
    import tempfile

    from peft.utils import get_peft_model_state_dict
    from safetensors.torch import save_file

    from splatdream.errors import UserError

    if adapter_name not in getattr(unet, "peft_config", {}):
        raise ValueError(f"the UNet has no {adapter_name!r} adapter to save")
    folder.parent.mkdir(parents=True, exist_ok=True)
    state = get_peft_model_state_dict(unet, adapter_name=adapter_name)
    state = {k: v.detach().float().cpu().contiguous() for k, v in state.items()}
    needed = sum(v.numel() * v.element_size() for v in state.values())
    if tokens is not None:
        needed += sum(p.numel() * 4 for p in tokens.offsets.values())
    config = unet.peft_config[adapter_name].to_dict()
    config = {k: sorted(v) if isinstance(v, set) else v for k, v in config.items()}
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=folder.parent))
    try:
        save_file(state, str(staging / WEIGHTS_FILE), metadata={"format": "pt"})
        (staging / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True, default=str))
        if tokens is not None:
            tokens.save(staging)
        _replace_folder(staging, folder)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        free = shutil.disk_usage(folder.parent).free
        full = (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or "No space left" in str(exc)
        if isinstance(exc, Exception) and (full or free < needed):
            raise UserError(
                f"the disk is full: saving the adapter to {folder} needs about {needed / 1e6:.1f} MB and "
                f"{free / 1e6:.1f} MB are free; free some space and run again (or --resume the run)"
            ) from None
        raise
    return folder


def _replace_folder(staging: Path, folder: Path) -> None:
    """Rename ``staging`` to ``folder``, replacing a previous ``folder`` (kept until the new one is in place)."""
    import os
    import shutil
    import time

    ours = {WEIGHTS_FILE, CONFIG_FILE, TOKENS_FILE, TOKENS_META, "adapt.json"}
    if folder.is_dir() and any(p.name not in ours for p in folder.iterdir()):
        # a folder that holds other things too (an --out given as the adapter folder): never move those;
        # replace our files one by one, the config (which marks a complete adapter) last
        for name in sorted(p.name for p in staging.iterdir()):
            if name != CONFIG_FILE:
                os.replace(staging / name, folder / name)
        os.replace(staging / CONFIG_FILE, folder / CONFIG_FILE)
        staging.rmdir()
    elif folder.exists():
        trash = folder.with_name(f".{folder.name}.old-{time.time_ns()}")
        folder.rename(trash)
        staging.rename(folder)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        staging.rename(folder)


def adapter_complete(folder: Path) -> bool:
    """Whether ``folder`` holds a whole saved adapter (weights and config), as ``save_adapter`` leaves it."""
    return (folder / WEIGHTS_FILE).is_file() and (folder / CONFIG_FILE).is_file()


def load_adapter(unet: Any, folder: str | Path, adapter_name: str = ADAPTER_NAME) -> None:
    """Add the saved LoRA to ``unet`` as ``adapter_name`` and make it the active adapter."""
    from peft import LoraConfig
    from peft.utils import set_peft_model_state_dict
    from safetensors.torch import load_file

    folder = Path(folder)
    if not adapter_complete(folder):
        raise FileNotFoundError(
            f"no adapter in {folder} (expected {WEIGHTS_FILE} and {CONFIG_FILE}); run "
            "'splatdream adapt --prompt ... --out DIR' and pass DIR/adapter, or disable adaptation"
        )
    raw = json.loads((folder / CONFIG_FILE).read_text())
    known = set(LoraConfig.__dataclass_fields__)
    config = LoraConfig(
        **{k: v for k, v in raw.items() if k in known and k not in ("peft_type", "task_type")}
    )
    if adapter_name in getattr(unet, "peft_config", {}):
        raise ValueError(f"the UNet already carries a {adapter_name!r} adapter")
    unet.add_adapter(config, adapter_name=adapter_name)
    state = load_file(str(folder / WEIGHTS_FILE))
    result = set_peft_model_state_dict(unet, state, adapter_name=adapter_name)
    unexpected = getattr(result, "unexpected_keys", [])
    if unexpected:
        raise ValueError(
            f"adapter in {folder} does not fit this UNet (unexpected keys, e.g. {unexpected[:2]})"
        )
    unet.set_adapter(adapter_name)
    for p in lora_parameters(unet, adapter_name):
        p.requires_grad_(False)


def fuse_adapter(unet: Any, adapter_name: str = ADAPTER_NAME) -> None:
    """Merge the adapter into the base weights and remove every LoRA layer: a plain UNet again."""
    names = set(getattr(unet, "peft_config", {}))
    if names != {adapter_name}:
        raise ValueError(
            f"can only fuse when {adapter_name!r} is the sole adapter; the UNet carries {sorted(names)}"
        )
    unet.fuse_lora(adapter_names=[adapter_name])
    unet.unload_lora()


def remove_adapter(unet: Any, adapter_name: str = ADAPTER_NAME) -> None:
    """Take the (unfused) adapter off again; the UNet computes exactly what it did before."""
    names = set(getattr(unet, "peft_config", {}))
    if adapter_name not in names:
        return
    if names == {adapter_name}:
        unet.unload_lora()  # back to plain layers, not LoRA wrappers with no adapter
    else:
        unet.delete_adapters(adapter_name)


def apply_adapter(prior: Prior, adapter_dir: str | Path, fuse: bool = True) -> Prior:
    """Load a saved adaptation into ``prior`` (in place) and return it.

    With ``fuse`` the LoRA is merged into the UNet's weights, so the adapted prior is a plain
    UNet and distillation can add its own 'vsd' adapter. Learnt view tokens, if saved, are
    installed into ``prior.encode_prompts``.
    """
    folder = Path(adapter_dir)
    load_adapter(prior.unet, folder)
    if fuse:
        fuse_adapter(prior.unet)
    prior.unet.requires_grad_(False)
    if (folder / TOKENS_FILE).is_file():
        install_view_tokens(prior, ViewTokens.load(folder).to(prior.device))
    return prior


def text_shape(prior: Prior) -> tuple[int, int]:
    """(sequence length, width) of the prior's encoded prompts."""
    emb: Tensor = prior.encode_prompts([""]).cond
    return int(emb.shape[1]), int(emb.shape[2])
