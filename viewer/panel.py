"""The training half of the GUI: stage/step/speed text and a metric curve (uPlot)."""

from __future__ import annotations

import threading

import numpy as np
import viser
import viser.uplot as uplot

from viewer.metrics import MetricHistory, Status, default_metric, format_status


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
                assert current is not None  # keys is not empty
                self.metric.value = current  # type: ignore[misc]  # viser's value has a setter mypy misses
            key = self.metric.value
            if key not in keys:
                return
            x, y = self._history.series(key)
            self.plot.title = key
            self.plot.data = (x, y)
