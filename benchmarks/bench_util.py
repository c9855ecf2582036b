"""Helpers the benchmark scripts share: Markdown tables written next to the scripts, peak RSS on Linux."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]], align: Sequence[str] | None = None) -> list[str]:
    """Lines of a Markdown table; ``align`` holds '---' or '---:' per column (left by default)."""
    align = align or ["---"] * len(header)
    return [f"| {' | '.join(header)} |", f"| {' | '.join(align)} |"] + [f"| {' | '.join(map(str, r))} |" for r in rows]


def write_report(path: Path, title: str, intro: str, table: list[str], footer: str = "") -> str:
    """Write ``# title``, the intro paragraph, the table and an optional footer to ``path``; print it too."""
    text = "\n".join([f"# {title}", "", intro, "", *table]) + "\n" + (f"\n{footer}\n" if footer else "")
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
