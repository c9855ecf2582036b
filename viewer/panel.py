"""The training half of the GUI: stage/step/speed text and a metric curve (uPlot)."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import viser
import viser.uplot as uplot

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

    def record(self, step: int, metrics: Mapping[str, float]) -> None:
        with self._lock:
            for key, value in metrics.items():
                v = float(value)
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


class TrainingPanel:
    """Status text and one metric curve, chosen from a dropdown of the metrics seen so far."""

    def __init__(self, server: viser.ViserServer, history: MetricHistory, title: str = "Training") -> None:
        self._history = history
        self._lock = threading.RLock()  # re-entered if setting the dropdown fires its callback inline
        self._shown_version = -1
        self._shown_keys: list[str] = []
        self._last_status: str | None = None
        with server.gui.add_folder(title):
            self.status = server.gui.add_markdown(format_status(Status()))
            self.metric = server.gui.add_dropdown("Curve", ["(none yet)"], initial_value="(none yet)")
            self.plot = server.gui.add_uplot(
                data=(np.zeros(0), np.zeros(0)),
                series=(uplot.Series(label="step"), uplot.Series(label="value", stroke="#4263eb", width=1.5)),
                scales={"x": uplot.Scale(time=False, auto=True), "y": uplot.Scale(auto=True)},
                legend=uplot.Legend(show=False),
                aspect=1.6,
            )
        self.metric.on_update(lambda _event: self.refresh_curve(force=True))

    def set_status(self, status: Status) -> None:
        text = format_status(status)
        with self._lock:
            if text == self._last_status:
                return
            self._last_status = text
        self.status.content = text

    def refresh_curve(self, force: bool = False) -> None:
        """Push the chosen metric's curve if new values arrived since the last push."""
        with self._lock:
            version = self._history.version
            if version == self._shown_version and not force:
                return
            self._shown_version = version
            keys = self._history.keys()
            if keys and keys != self._shown_keys:
                self._shown_keys = keys
                current = self.metric.value if self.metric.value in keys else default_metric(keys)
                self.metric.options = keys
                self.metric.value = current
            key = self.metric.value
            if key not in keys:
                return
            x, y = self._history.series(key)
            self.plot.title = key
            self.plot.data = (x, y)
