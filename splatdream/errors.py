"""The project's own error types: a ``UserError`` is a problem with the input, and its message names the fix.

``splatdream`` (``cli.main``) prints these as one line and exits 2 instead of showing a traceback;
``--debug`` shows the traceback too. Library code raises subclasses that also derive from the
built-in type callers would expect (``PlyFormatError`` is a ``ValueError``), so both catch them.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input or an unusable environment; ``str(exc)`` says what to do about it."""


class RunDirError(UserError):
    """The output or run directory cannot be used (a file, not ours, locked by another run, ...)."""


class CheckpointError(UserError, ValueError):
    """A ``checkpoint.pt`` that cannot be read or does not belong to this run."""


def one_line(exc: BaseException, limit: int = 300) -> str:
    """The first line of ``exc``'s message, cut to ``limit`` characters (for embedding in our own message)."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    return first if len(first) <= limit else first[: limit - 3] + "..."
