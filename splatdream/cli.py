"""The ``splatdream`` command: ``splatdream --prompt ...`` runs the pipeline; subcommands run one stage.

Subcommands are imported lazily so ``splatdream --help`` stays fast and never touches torch/CUDA.
Each target is a ``main(argv) -> int | None`` that parses its own arguments with tyro.

Errors the user can fix (``splatdream.errors.UserError``, a missing file, a bad value, a full disk)
end here as one line on stderr and exit code 2, with no traceback; ``--debug`` (anywhere on the
command line) or ``SPLATDREAM_DEBUG=1`` shows the traceback instead.
"""

from __future__ import annotations

import errno
import importlib
import os
import sys
from collections.abc import Callable

# name -> (module, function, one-line description)
SUBCOMMANDS: dict[str, tuple[str, str, str]] = {
    "run": (
        "splatdream.pipeline",
        "main",
        "text -> Gaussian splats: retrieve, init, adapt, distil, export (default)",
    ),
    "retrieve": ("splatdream.retrieval.cli", "retrieve_main", "top-k assets of the library for a prompt"),
    "assets": (
        "splatdream.retrieval.cli",
        "assets_main",
        "manage the asset library (build-starter, add, add-objaverse, list, show, remove)",
    ),
    "init": ("splatdream.init.cli", "main", "retrieve + initialise particles and write them as .ply"),
    "prior": ("splatdream.priors.cli", "main", "2D priors: sample, train-tiny, render-data, export-tiny"),
    "adapt": ("splatdream.adaptation.cli", "main", "front-align retrieved assets and LoRA-adapt the prior"),
    "eval": (
        "splatdream.evaluate.cli",
        "main",
        "score runs against their initialisations: eval.json, eval.png",
    ),
    "batch": (
        "splatdream.batch.cli",
        "main",
        "many prompts as Ray tasks into one folder: resumable, with a gallery",
    ),
    "view": ("viewer.app", "main", "open a .ply or run directory in the browser viewer"),
    "turntable": ("splatdream.export.turntable", "main", "render an orbit video of a .ply"),
    "info": ("splatdream.export.info", "main", "print count, SH degree and bounds of a .ply"),
    "export": (
        "splatdream.export.convert",
        "main",
        "write a .ply or run as .splat, compressed .ply, .spz or a .glb mesh",
    ),
}
DEFAULT = "run"
PASSIVE_OMP = frozenset({"eval"})
"""Subcommands whose OpenMP threads sleep instead of spinning while they wait (``OMP_WAIT_POLICY=PASSIVE``).

eval is a long chain of small ops (the torch rasteriser, a small UNet): with another job on the second
core, spinning threads wait on a descheduled partner at every op and took 4-9x longer (docs/benchmarks.md).
The policy changes no result. It must be in the environment before torch loads OpenMP, so it is set here;
a value the user set wins.
"""


def _usage() -> str:
    lines = [
        "usage: splatdream [SUBCOMMAND] [OPTIONS]",
        "",
        "With no subcommand, runs the full pipeline: splatdream --prompt 'a wooden rocking chair'",
        "",
        "subcommands:",
    ]
    width = max(len(n) for n in SUBCOMMANDS)
    lines += [f"  {name:<{width}}  {desc}" for name, (_, _, desc) in SUBCOMMANDS.items()]
    lines += ["", "Run 'splatdream SUBCOMMAND --help' for a subcommand's options; --debug shows tracebacks."]
    return "\n".join(lines)


def _load(name: str) -> Callable[[list[str]], int | None]:
    module, func, _ = SUBCOMMANDS[name]
    if name in PASSIVE_OMP:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            raise SystemExit(f"splatdream {name}: not available in this build ({module} missing)") from exc
        raise
    return getattr(mod, func)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("SPLATDREAM_DEBUG", "") not in ("", "0")
    argv = [a for a in argv if a != "--debug"]
    if debug:
        try:
            return _dispatch(argv)
        except SystemExit as exc:
            if isinstance(exc.code, str) and isinstance(exc.__cause__, Exception):
                raise exc.__cause__ from None  # the stage's own error, with its traceback
            raise
    try:
        return _dispatch(argv)
    except KeyboardInterrupt as exc:
        print(
            f"splatdream: {str(exc) or 'interrupted'}", file=sys.stderr
        )  # KeyboardInterrupt() is truthy, its text ''
        return 130
    except SystemExit as exc:
        if isinstance(exc.code, str):  # raise SystemExit("error: ...") from a stage: the message is the fix
            print(exc.code, file=sys.stderr)
            return 2
        raise
    except Exception as exc:
        message = user_message(exc)
        if message is None:
            raise
        print(message, file=sys.stderr)
        return 2


def user_message(exc: BaseException) -> str | None:
    """The one- or two-line message for an error the user can act on; None for a bug (keep the traceback)."""
    from splatdream.errors import UserError, one_line

    hint = "(run again with --debug for the traceback)"
    if isinstance(exc, UserError):
        return f"error: {exc}"
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        where = f" writing {exc.filename}" if exc.filename else ""
        return f"error: the disk is full{where}; free some space (earlier files were kept) and run again, or --resume the run"
    if isinstance(
        exc, (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError, FileExistsError)
    ):
        return f"error: {one_line(exc)}"
    if isinstance(exc, ValueError):  # our stages raise ValueError with the fix in the message
        return f"error: {one_line(exc)}\n{hint}"
    return None


def _dispatch(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help", "help"):
        print(_usage() + "\n\nOptions of the default subcommand, run:\n", flush=True)
        try:
            _load(DEFAULT)(["--help"])
        except SystemExit as exc:  # tyro exits after printing help
            return int(exc.code or 0)
        return 0
    if argv and argv[0] in SUBCOMMANDS:
        name, rest = argv[0], argv[1:]
    elif argv and not argv[0].startswith("-"):
        print(f"splatdream: unknown subcommand {argv[0]!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    else:
        name, rest = DEFAULT, argv
    result = _load(name)(rest)
    return int(result or 0)


if __name__ == "__main__":
    raise SystemExit(main())
