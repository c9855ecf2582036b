"""Helpers the benchmark scripts share: Markdown tables written next to the scripts, peak RSS on Linux,
and the smoke mode.

``BENCH_SMOKE=1``: every script runs its whole code path on the CPU at toy sizes in seconds (CI runs each
one this way, tests/test_benchmarks_smoke.py), and whatever it would write under benchmarks/results/ goes to
``$BENCH_SMOKE_OUT`` (default: a temporary folder) instead, so a smoke run never overwrites measured results.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from splatdream.priors.base import Prior

T = TypeVar("T")
SMOKE = os.environ.get("BENCH_SMOKE", "") == "1"
"""Smoke mode: toy sizes, CPU only, results written aside (see the module docstring)."""
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def smoke(full: T, small: T) -> T:
    """``small`` in smoke mode, else ``full``."""
    return small if SMOKE else full


def results_path(path: Path) -> Path:
    """Where a report meant for ``path`` is written: ``path`` itself, or in smoke mode a scratch folder."""
    if not SMOKE:
        return path
    out = Path(os.environ.get("BENCH_SMOKE_OUT") or tempfile.mkdtemp(prefix="bench-smoke-"))
    out.mkdir(parents=True, exist_ok=True)
    return out / Path(path).name


def markdown_table(
    header: Sequence[str], rows: Sequence[Sequence[object]], align: Sequence[str] | None = None
) -> list[str]:
    """Lines of a Markdown table; ``align`` holds '---' or '---:' per column (left by default)."""
    align = align or ["---"] * len(header)
    return [f"| {' | '.join(header)} |", f"| {' | '.join(align)} |"] + [
        f"| {' | '.join(map(str, r))} |" for r in rows
    ]


def write_report(path: Path, title: str, intro: str, table: list[str], footer: str = "") -> str:
    """Write ``# title``, the intro paragraph, the table and an optional footer to ``path``; print it too."""
    text = "\n".join([f"# {title}", "", intro, "", *table]) + "\n" + (f"\n{footer}\n" if footer else "")
    path = results_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(text)
    return text


def rss_kb(field: str) -> int:
    """A memory field of /proc/self/status in kB (VmRSS: now, VmHWM: peak since the last reset)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def reset_peak_rss() -> None:
    """Start a new VmHWM measurement (Linux: writing 5 to clear_refs resets the peak)."""
    Path("/proc/self/clear_refs").write_text("5")


def load_tiny_prior() -> tuple[Prior, bool]:
    """The TinyPrior on the CPU and whether it has the shipped weights.

    Without shipped weights an untrained TinyPrior stands in: it costs the same per call, so the
    timing benchmarks still measure something true (their tables say which one ran).
    """
    from splatdream.priors.config import PriorConfig
    from splatdream.priors.loader import load_prior
    from splatdream.priors.tiny_prior import TinyArch, TinyPrior, build_tiny_unet

    try:
        prior = load_prior(PriorConfig(kind="tiny"), "cpu")
    except FileNotFoundError:
        return TinyPrior(build_tiny_unet(), TinyArch()), False
    return prior, True
