"""Scalar metric history and the status line: the GUI-free half of the training panel."""

from __future__ import annotations

import math
import numbers
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_PLOT_POINTS = 600
"""Points sent per curve update; longer histories are averaged into this many bins."""


class MetricHistory:
    """Every (step, value) of every scalar metric; thread-safe, append-only."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._steps: dict[str, list[float]] = {}
        self._values: dict[str, list[float]] = {}
        self.version = 0
        """Bumped on every record; lets the pusher skip unchanged curves."""

    def record(self, step: int, metrics: Mapping[str, Any]) -> None:
        """Keep the real-number entries of ``metrics`` (lists, flags and strings are skipped)."""
        values = scalar_metrics(metrics)
        with self._lock:
            for key, v in values.items():
                if not math.isfinite(v):
                    continue  # uPlot's autoscale breaks on inf/NaN; a NaN loss shows as a gap
                self._steps.setdefault(key, []).append(float(step))
                self._values.setdefault(key, []).append(v)
            self.version += 1

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._steps)

    def series(self, key: str, max_points: int = MAX_PLOT_POINTS) -> tuple[np.ndarray, np.ndarray]:
        """(steps, values) of ``key``, bin-averaged down to at most ``max_points``."""
        with self._lock:
            x = np.asarray(self._steps.get(key, ()), dtype=np.float64)
            y = np.asarray(self._values.get(key, ()), dtype=np.float64)
        if len(x) <= max_points:
            return x, y
        edges = np.linspace(0, len(x), max_points + 1).astype(np.int64)
        counts = np.diff(edges)
        return np.add.reduceat(x, edges[:-1]) / counts, np.add.reduceat(y, edges[:-1]) / counts


@dataclass(frozen=True)
class Status:
    stage: str = ""
    step: int = 0
    total_steps: int = 0
    its: float = 0.0
    paused: bool = False
    done: bool = False


def format_status(s: Status) -> str:
    """Markdown for the status box; the step is plain text so the page (and a test) can read it."""
    total = f" / {s.total_steps}" if s.total_steps else ""
    state = " (paused)" if s.paused else (" (finished)" if s.done else "")
    lines = [f"**Stage** {s.stage or '-'}{state}", f"**Step** {s.step}{total}"]
    if s.its > 0:
        lines.append(f"**Speed** {s.its:.2f} it/s")
    return "  \n".join(lines)


def default_metric(keys: list[str]) -> str | None:
    for preferred in ("loss", "loss/total", "vsd", "sds"):
        if preferred in keys:
            return preferred
    return keys[0] if keys else None


def scalar_metrics(record: Mapping[str, Any]) -> dict[str, float]:
    """The plottable entries of a metrics record: real numbers other than ``step`` (bools excluded)."""
    return {
        k: float(v)
        for k, v in record.items()
        if k != "step" and isinstance(v, numbers.Real) and not isinstance(v, bool)
    }
