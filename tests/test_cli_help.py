"""``splatdream --help`` imports no torch: the config types live in config modules, the stages load lazily."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import contextlib, io, sys
from splatdream import cli
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        code = cli.main(sys.argv[1:])
    except SystemExit as exc:  # tyro exits after printing a subcommand's help
        code = exc.code or 0
assert code == 0, code
assert "--distill.steps" in out.getvalue() or "subcommands" in out.getvalue(), out.getvalue()[:500]
print(sorted(m for m in sys.modules if m == "torch" or m.startswith("torch.")))
"""


def test_help_imports_no_torch() -> None:
    for argv in (["--help"], ["run", "--help"]):
        # a fresh interpreter: the test process itself has torch loaded already
        done = subprocess.run(
            [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=300, check=False
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.strip().splitlines()[-1] == "[]", f"splatdream {' '.join(argv)} imported torch"
