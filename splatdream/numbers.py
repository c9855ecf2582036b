"""Every number of a parsed config checked before any work starts: one line naming the option, exit 2.

Without this, ``--distill.steps -5`` ran and said "done", ``--distill.guidance-scale nan`` skipped every
step and returned the init, and ``--output.turntable-size -64`` failed only after the whole distillation.
The rules go by the field's name, so one table serves the run config and every subcommand's config:

- every float finite (no NaN, no inf), tuples included;
- every int at least 0, except seeds;
- the counts and sizes in ``AT_LEAST_ONE`` at least 1 (a frame count may be 0: no turntable);
- the fractions in ``UNIT`` within [0, 1], the names in ``POSITIVE`` above 0, angles of view in (0, 180).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, TypeVar

T = TypeVar("T")

#: integer fields that must be >= 1 (by leaf name, in any config)
AT_LEAST_ONE = frozenset(
    {
        "num_particles",
        "k",
        "n_candidates",
        "clip_views",
        "gaussians_per_particle",
        "n_yaws",
        "resolution",
        "noises_per_timestep",
        "rank",
        "batch_size",
        "views_per_particle",
        "max_batch",
        "refine_every",
        "max_gaussians",
        "steps_per_particle_step",
        "checkpoint_every",
        "max_bad_steps",
        "log_every",
        "update_every",
        "max_gaussians_per_particle",
        "turntable_size",
        "turntable_fps",
        "image_size",
        "size",
        "fps",
        "batch",
        "views",
        "sheet_size",
        "top_k",
        "local_cpus",
    }
)
#: float fields (or tuples of floats) that must lie in [0, 1]
UNIT = frozenset(
    {
        "t_min",
        "t_max",
        "t_range",
        "camera_dropout",
        "opacity",
        "random_opacity",
        "prune_opa",
        "max_busy_fraction",
        "min_opacity",
        "lr_backoff",
        "attribute_weight",
    }
)
#: float fields that must be > 0
POSITIVE = frozenset(
    {
        "radius",
        "random_radius",
        "random_scale",
        "max_updates_per_second",
        "extent",
        "tangent_scale",
        "cpus_per_run",
    }
)
#: fields of view, in degrees: (0, 180)
ANGLES_OF_VIEW = frozenset({"fov_y_deg", "fov"})
#: ints that may be negative
SIGNED = frozenset({"seed"})
#: the largest port number
MAX_PORT = 65535


def option(path: str) -> str:
    """The command-line spelling of a dotted config path: ``distill.guidance_scale`` -> ``--distill.guidance-scale``."""
    return "--" + path.replace("_", "-")


def _scalars(value: Any) -> list[Any]:
    return list(value) if isinstance(value, tuple | list) else [value]


def problems(cfg: Any, prefix: str = "", omit: tuple[str, ...] = ()) -> list[str]:
    """What is wrong with the numbers of dataclass ``cfg``, one phrase per bad option (empty if all is well)."""
    found: list[str] = []
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        path = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            # a schedule's values carry the schedule's name (distill.t_max.values -> t_max)
            found += problems(value, f"{path}.", omit)
            continue
        leaf = path.split(".")[-2] if f.name in ("values", "start", "end") and "." in path else f.name
        for x in _scalars(value):
            if isinstance(x, bool) or not isinstance(x, int | float):
                continue
            flag = option(next((path.removeprefix(p) for p in omit if path.startswith(p)), path))
            if isinstance(x, float) and not math.isfinite(x):
                found.append(f"{flag} must be a finite number, got {x}")
            elif isinstance(x, int) and leaf in AT_LEAST_ONE and x < 1:
                found.append(f"{flag} must be at least 1, got {x}")
            elif isinstance(x, int) and x < 0 and leaf not in SIGNED:
                found.append(f"{flag} must be at least 0, got {x}")
            elif leaf == "port" and x > MAX_PORT:
                found.append(f"{flag} must be a port number (1-{MAX_PORT}), got {x}")
            elif leaf in UNIT and not 0.0 <= x <= 1.0:
                found.append(f"{flag} must lie in [0, 1], got {x}")
            elif leaf in POSITIVE and x <= 0:
                found.append(f"{flag} must be above 0, got {x}")
            elif leaf in ANGLES_OF_VIEW and not 0 < x < 180:
                found.append(f"{flag} must lie between 0 and 180 degrees, got {x}")
            elif leaf == "resolution" and isinstance(x, float) and x < 1:
                found.append(f"{flag} must be at least 1 pixel, got {x}")
            else:
                continue
            break  # one message per option
    return found


def checked(cfg: T, omit: tuple[str, ...] = ()) -> T:
    """``cfg`` if every number in it is sane, else ``SystemExit`` with one line naming each bad option.

    ``omit``: dotted prefixes the command line leaves out (``eval.`` for ``splatdream eval --size``).
    """
    bad = problems(cfg, omit=omit)
    if bad:
        raise SystemExit(
            "error: " + "; ".join(bad[:4]) + (f" (and {len(bad) - 4} more)" if len(bad) > 4 else "")
        )
    return cfg
