"""The distillation's checkpoint: what a ``Trainer`` saves, and how ``--resume`` puts it back.

A run folder is user data: folders get shared and batch outputs get copied between machines. So a
checkpoint is read with ``torch.load(weights_only=True)``, which builds tensors and plain containers
(dict, list, tuple, str, int, float, bool, None) and refuses every other object instead of calling it;
a ``checkpoint.pt`` whose pickle would run code is refused before anything runs. The state written
here therefore holds nothing else: the RNG states that numpy and Python hand out as objects (numpy's
``ndarray`` key, Python's 625-int tuple) are stored as tensors and rebuilt on load.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from splatdream.atomic import atomic_write
from splatdream.distill.trainer import Trainer, make_optimizers
from splatdream.errors import CheckpointError, one_line
from splatdream.safeload import load_tensors

#: The keys every distillation checkpoint holds; a file without them is someone else's.
REQUIRED_KEYS = frozenset({"params", "step", "optimizers", "rng"})


def to_device(obj: Any, device: torch.device) -> Any:
    """``obj`` with every tensor in it (nested dicts, lists, tuples) moved to ``device``."""
    if isinstance(obj, Tensor):
        return obj.to(device)
    if isinstance(obj, dict):
        return {k: to_device(v, device) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(to_device(v, device) for v in obj)
    return obj


# -- RNG states as tensors ------------------------------------------------------------------------------------------
def numpy_rng_state() -> dict[str, Any]:
    """numpy's global MT19937 state, its 624-word key as an int64 tensor (an ``ndarray`` is no plain container)."""
    name, key, pos, has_gauss, cached = np.random.get_state()
    return {
        "name": str(name),
        "key": torch.from_numpy(np.asarray(key, dtype=np.int64)),
        "pos": int(pos),
        "has_gauss": int(has_gauss),
        "cached_gaussian": float(cached),
    }


def set_numpy_rng_state(state: dict[str, Any]) -> None:
    key = np.asarray(state["key"].numpy(), dtype=np.uint32)
    np.random.set_state(
        (state["name"], key, int(state["pos"]), int(state["has_gauss"]), float(state["cached_gaussian"]))
    )


def python_rng_state() -> dict[str, Any]:
    """Python's ``random`` state, its 625 words as an int64 tensor."""
    version, words, gauss_next = random.getstate()
    return {
        "version": int(version),
        "words": torch.tensor(words, dtype=torch.int64),
        "gauss_next": gauss_next,
    }


def set_python_rng_state(state: dict[str, Any]) -> None:
    words = tuple(int(w) for w in state["words"].tolist())
    gauss = state["gauss_next"]
    random.setstate((int(state["version"]), words, None if gauss is None else float(gauss)))


# -- the trainer's state --------------------------------------------------------------------------------------------
def trainer_state(trainer: Trainer) -> dict[str, Any]:
    """Everything trained and every RNG -- never the frozen prior. Tensors and plain containers only."""
    return {
        "step": trainer.step_count,
        "lr_scale": trainer.lr_scale,
        "params": [{k: v.detach().clone() for k, v in p.items()} for p in trainer.params],
        "optimizers": [{k: o.state_dict() for k, o in opts.items()} for opts in trainer.optimizers],
        "strategy_states": trainer.strategy_states,
        "colour_fields": [
            {k: v.detach().clone() for k, v in f.state_dict().items()} for f in trainer.colour_fields
        ],
        "colour_opts": [o.state_dict() for o in trainer.colour_opts],
        "score_net": None if trainer.score_net is None else trainer.score_net.trainable_state_dict(),
        "score_opt": None if trainer.score_opt is None else trainer.score_opt.state_dict(),
        "rng": {
            "generator": trainer.generator.get_state(),
            "torch": torch.get_rng_state(),
            "numpy": numpy_rng_state(),
            "python": python_rng_state(),
            # the VAE's latent sampling and gsplat draw from the CUDA generators
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None,
        },
    }


def restore_trainer(trainer: Trainer, state: dict[str, Any]) -> None:
    """Restore a ``trainer_state``, every tensor onto the device it trains on (checkpoints load on the CPU).

    Particles, gsplat's strategy state and colour fields go to ``trainer.device``, the score net to the
    prior's; ``Optimizer.load_state_dict`` moves the Adam moments to their parameter's device itself (and
    keeps ``step`` on the CPU, where non-capturable Adam wants it). RNG states stay CPU tensors.
    """
    if len(state["params"]) != trainer.num_particles:
        raise ValueError(
            f"checkpoint has {len(state['params'])} particles, this run {trainer.num_particles}; "
            "resume with the same --num-particles"
        )
    trainer.step_count = int(state["step"])
    trainer.lr_scale = float(state["lr_scale"])
    trainer.params = [
        torch.nn.ParameterDict({k: torch.nn.Parameter(v) for k, v in p.items()})
        for p in to_device(state["params"], trainer.device)
    ]
    trainer.optimizers = [make_optimizers(p, trainer.cfg, trainer.lr_scale) for p in trainer.params]
    for opts, saved in zip(trainer.optimizers, state["optimizers"], strict=True):
        for k, opt in opts.items():
            opt.load_state_dict(saved[k])
    trainer.strategy_states = to_device(state["strategy_states"], trainer.device)
    fields = state.get("colour_fields", [])
    if len(fields) != len(trainer.colour_fields):
        raise ValueError(
            "checkpoint and config disagree on --distill.colour.enabled; resume with the run's config"
        )
    for f, saved in zip(trainer.colour_fields, fields, strict=True):
        f.load_state_dict(to_device(saved, trainer.device))
    trainer.colour_opts = [torch.optim.Adam(f.param_groups(), eps=1e-15) for f in trainer.colour_fields]
    for opt, saved in zip(
        trainer.colour_opts, state.get("colour_opts", []), strict=False
    ):  # older checkpoints: none
        opt.load_state_dict(saved)
    if trainer.score_net is not None:
        if state["score_net"] is None:
            raise ValueError("checkpoint was made with --loss sds; resume it with the same loss")
        trainer.score_net.load_trainable_state_dict(to_device(state["score_net"], trainer.prior.device))
        assert trainer.score_opt is not None
        trainer.score_opt.load_state_dict(state["score_opt"])
    rng = state["rng"]
    trainer.generator.set_state(rng["generator"])
    torch.set_rng_state(rng["torch"])
    set_numpy_rng_state(rng["numpy"])
    set_python_rng_state(rng["python"])
    if rng.get("cuda") is not None and torch.cuda.is_available():
        for index, cuda_state in enumerate(rng["cuda"][: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(cuda_state, index)


# -- files ---------------------------------------------------------------------------------------------------------
def save_checkpoint(trainer: Trainer, path: Path) -> None:
    """Atomic: a crash mid-write leaves the previous checkpoint intact."""
    with atomic_write(path) as tmp:
        torch.save(trainer_state(trainer), tmp)


def load_checkpoint(trainer: Trainer, path: Path) -> None:
    """Restore ``trainer`` from ``path``; a ``CheckpointError`` (one line, with the fix) for any unusable file."""
    fix = f"delete {path} to restart the distillation from the run's initial particles"
    state = load_tensors(path, fix)
    if not isinstance(state, dict) or not REQUIRED_KEYS <= state.keys():
        raise CheckpointError(
            f"{path} is not a splatdream checkpoint (it holds {type(state).__name__}); {fix}"
        )
    try:
        restore_trainer(trainer, state)
    except (ValueError, KeyError, RuntimeError, TypeError, AttributeError, IndexError, OverflowError) as exc:
        # the file's contents are data, not code: any shape of them that does not fit is the same refusal
        raise CheckpointError(f"{path} does not fit this run ({one_line(exc, 200)}); {fix}") from None
