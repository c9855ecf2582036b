"""A run directory as ``splatdream eval`` reads it: prompt and prior from config.yaml, particles and inits.

What the pipeline writes (``splatdream/pipeline.py``) and eval needs::

    RUN_DIR/config.yaml             the RunConfig: ``prompt`` and ``prior`` are read
    RUN_DIR/particle_<i>.ply        particle i after distillation
    RUN_DIR/init_particle_<i>.ply   particle i as it started (retrieved, random or a .ply)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from splatdream.configio import from_dict
from splatdream.priors.config import PriorConfig

CONFIG_FILE = "config.yaml"
PARTICLE_RE = re.compile(r"^particle_(\d+)\.ply$")


def particle_file(i: int) -> str:
    return f"particle_{i}.ply"


def init_file(i: int) -> str:
    return f"init_particle_{i}.ply"


class RunDirError(ValueError):
    """A directory ``splatdream eval`` cannot score; the message names what is missing."""


class NotARunError(RunDirError):
    """No config.yaml with a prompt: not a directory a run wrote."""


class NoParticlesError(RunDirError):
    """The run has not exported any particle_<i>.ply yet."""


class MissingInitError(RunDirError):
    """A particle's initialisation (init_particle_<i>.ply) is missing."""


@dataclass(frozen=True)
class RunFiles:
    """What eval reads from one run directory."""

    run_dir: Path
    prompt: str
    prior: PriorConfig
    particles: tuple[Path, ...]
    inits: tuple[Path, ...]


def _read_config(run_dir: Path) -> dict[str, Any]:
    path = run_dir / CONFIG_FILE
    if not run_dir.is_dir():
        raise NotARunError(f"{run_dir} is not a directory; pass the folder a run wrote (splatdream --out DIR)")
    if not path.is_file():
        raise NotARunError(f"{run_dir} is not a run directory: it has no {CONFIG_FILE}; pass the folder a run "
                           "wrote (splatdream --out DIR)")
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise NotARunError(f"{path} cannot be read as YAML ({exc})") from exc
    if not isinstance(data, dict) or not str(data.get("prompt") or "").strip():
        raise NotARunError(f"{path} has no 'prompt'; it is not a run's config (written by splatdream --prompt ...)")
    return data


def _prior_config(data: dict[str, Any], path: Path) -> PriorConfig:
    # Only the prior section is parsed, and only the fields PriorConfig still has: eval must keep
    # reading runs written before a setting moved (prior.device and prior.guidance_scale did).
    known = {f.name for f in fields(PriorConfig)}
    section = {k: v for k, v in dict(data.get("prior") or {}).items() if k in known}
    try:
        return from_dict(PriorConfig, section, where=f"{path}: prior")
    except (TypeError, ValueError) as exc:
        raise NotARunError(f"{path}: the 'prior' section is not a prior config ({exc})") from exc


def find_run(run_dir: str | Path) -> RunFiles:
    """Check ``run_dir`` holds a finished run and list its files; raises a ``RunDirError`` subclass otherwise."""
    run_dir = Path(run_dir)
    data = _read_config(run_dir)
    ids = sorted(int(m.group(1)) for p in run_dir.iterdir() if (m := PARTICLE_RE.match(p.name)))
    if not ids:
        raise NoParticlesError(
            f"{run_dir} has no particles (particle_<i>.ply): the run has not finished; resume it with "
            f"splatdream --resume {run_dir}"
        )
    missing = [init_file(i) for i in ids if not (run_dir / init_file(i)).is_file()]
    if missing:
        raise MissingInitError(
            f"{run_dir} lacks the initialisation of its particles: {', '.join(missing)} missing (the pipeline "
            "writes init_particle_<i>.ply before distilling; eval compares each particle with it)"
        )
    return RunFiles(
        run_dir=run_dir,
        prompt=str(data["prompt"]).strip(),
        prior=_prior_config(data, run_dir / CONFIG_FILE),
        particles=tuple(run_dir / particle_file(i) for i in ids),
        inits=tuple(run_dir / init_file(i) for i in ids),
    )
