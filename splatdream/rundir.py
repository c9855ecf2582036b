"""The run directory is the run's own: never someone else's files, never two runs at once.

A new run takes an empty or new folder (``--out`` naming a file, a folder that already holds
files, or a path that cannot be written is refused before any work); a lock file inside it keeps a
second run, or a ``--resume`` of a run still going, out. Default folder names come from the prompt
through ``slugify``, which keeps only ``[a-z0-9-]`` so no prompt can leave ``outputs/``.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

from splatdream.errors import RunDirError, one_line
from splatdream.lockfile import FileLock, LockHeld

LOCK = ".splatdream.lock"
"""Lock file in every run directory (left in place: the kernel releases the lock, not its deletion)."""


def slugify(prompt: str, limit: int = 40) -> str:
    """A folder-name fragment from a prompt: lower-case ASCII letters, digits and '-', at most ``limit`` long.

    Path separators, '..', shell metacharacters, emoji and non-Latin scripts all become '-' or vanish;
    a prompt with nothing left gives 'run'.
    """
    slug = re.sub(r"[^a-z0-9]+", "-", prompt.lower()).strip("-")
    return slug[:limit].rstrip("-") or "run"


def unused(path: Path) -> Path:
    """``path``, or ``path-2``, ``path-3``, ... when it exists (two runs started in the same second)."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate


@contextlib.contextmanager
def claim_run_dir(run_dir: Path, *, resuming: bool) -> Iterator[Path]:
    """Hold ``run_dir`` for one run (or resume) while the body runs; raises ``RunDirError`` with the fix."""
    run_dir = Path(run_dir)
    flag = "--resume" if resuming else "--out"
    if run_dir.exists() and not run_dir.is_dir():
        raise RunDirError(f"{flag} {run_dir} is a file, not a folder; pass a folder for the run's outputs")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(run_dir / LOCK)
        lock.acquire()
    except LockHeld as exc:
        raise RunDirError(
            f"another splatdream run ({exc.holder}) is writing to {run_dir}; wait for it to finish, "
            f"or pass a different --out"
        ) from None
    except OSError as exc:
        raise RunDirError(f"cannot write to output directory {run_dir} ({one_line(exc)}); pass --out DIR") from None
    try:
        if not resuming:
            theirs = sorted(p.name for p in run_dir.iterdir() if p.name != LOCK)
            if theirs:
                shown = ", ".join(theirs[:3]) + (f" and {len(theirs) - 3} more" if len(theirs) > 3 else "")
                fix = (f"pass --resume {run_dir} to continue that run, or " if "config.yaml" in theirs else "")
                raise RunDirError(
                    f"--out {run_dir} already holds files ({shown}); a run never overwrites them: "
                    f"{fix}pass a new or empty folder"
                )
        yield run_dir
    finally:
        lock.release()


def interrupted(run_dir: Path, *, resuming: bool) -> KeyboardInterrupt:
    """The Ctrl-C to raise for an interrupt before distillation, having left ``run_dir`` reusable.

    Once config.yaml is written the run can be resumed (every stage before distillation reruns when
    its outputs are missing). Before that nothing is worth keeping: what the run wrote is removed
    (``claim_run_dir`` made sure the folder held nothing else), the lock file stays (see ``LOCK``),
    and the same ``--out`` is taken again as an empty folder.
    """
    if resuming or (run_dir / "config.yaml").exists():
        return KeyboardInterrupt(f"interrupted before distillation; continue with splatdream --resume {run_dir}")
    for path in run_dir.iterdir():
        if path.name == LOCK:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return KeyboardInterrupt(f"interrupted before the run started; nothing was kept in {run_dir}: "
                             "run the same command again")


RESUME_MAY_CHANGE = ("resume", "device", "viewer")
"""Settings a ``--resume`` may give anew; every other one is the run's own (its config.yaml)."""


def check_resume_overrides(argv: list[str], given: object, saved: object, run_dir: Path) -> None:
    """Refuse command-line settings that differ from the run being resumed (they would be ignored).

    ``given`` is the config the command line parsed to, ``saved`` the run's config.yaml; options on
    ``argv`` (and every setting, when ``--preset``/``--config`` is given) are compared.
    """
    mine, theirs = _flatten(given), _flatten(saved)
    names = set()
    for arg in argv:
        if not arg.startswith("--") or arg in ("--no-viewer", "--debug"):
            continue
        name = arg[2:].split("=", 1)[0].replace("-", "_")
        if name in ("preset", "config"):
            names |= set(mine)
            continue
        head, _, last = name.rpartition(".")
        if name not in mine and last.startswith("no_"):  # tyro's --adapt.no-enabled
            name = f"{head}.{last[3:]}" if head else last[3:]
        names |= {k for k in mine if k == name or k.startswith(name + ".")}
    changed = sorted(
        k for k in names
        if not k.startswith(RESUME_MAY_CHANGE) and k != "out" and mine.get(k) != theirs.get(k)
    )
    if changed:
        shown = "; ".join(f"{k} {mine.get(k)!r} (the run has {theirs.get(k)!r})" for k in changed[:3])
        more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
        raise RunDirError(
            f"{run_dir} was made with other settings: {shown}{more}. --resume continues a run with its own "
            f"{run_dir / 'config.yaml'}: drop those options, or start a new run with --out"
        )


def _flatten(cfg: object, prefix: str = "") -> dict[str, object]:
    from dataclasses import fields, is_dataclass

    out: dict[str, object] = {}
    for f in fields(cfg):  # type: ignore[arg-type]
        value = getattr(cfg, f.name)
        key = prefix + f.name
        if is_dataclass(value) and not isinstance(value, type):
            out.update(_flatten(value, key + "."))
        else:
            out[key] = value
    return out
