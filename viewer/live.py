"""The live viewer the trainer drives: push particles every N steps, pause/resume, "export now".

The training thread only ever copies: ``update`` snapshots the particles (detached, CPU, maybe
subsampled) at most ``max_updates_per_second`` times a second into a one-slot mailbox (newest
wins) that one background thread empties, converting to splat arrays and talking to viser. Updates
over the rate are dropped, never queued, so a slow browser or network cannot slow training down.
With no browser connected the background thread does no conversion at all; a browser that
connects gets the newest snapshot at once (even while training is paused). Browsers connecting
and leaving only talk to viser's own threads and this mailbox.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from splatdream.scene import Cameras, Gaussians
from viewer.config import ViewerConfig
from viewer.metrics import MetricHistory, Status
from viewer.splats import Snapshot, camera_arrays, frustum_poses, packed_to_buffer, snapshot, splat_buffer

__all__ = ["LiveViewer", "ViewerConfig", "ViewerStats"]


@dataclass
class ViewerStats:
    """Counters the tests and the benchmark read."""

    pushed: int = 0
    """Snapshots delivered to the browser side."""
    dropped: int = 0
    """Due updates skipped because of the rate cap."""
    superseded: int = 0
    """Snapshots replaced by a newer one before being sent (e.g. while no browser is connected)."""
    busy_seconds: float = 0.0
    """CPU seconds the background thread spent converting and handing pushes to viser."""
    errors: int = 0
    last_error: str = ""


@dataclass
class _Pending:
    particles: list[Snapshot]
    cameras: tuple[np.ndarray, np.ndarray, int, int] | None = None


class LiveViewer:
    """Browser view of a running distillation; a no-op object when ``cfg.enabled`` is False."""

    def __init__(self, cfg: ViewerConfig, num_particles: int, run_dir: Path | None = None) -> None:
        if cfg.update_every < 1:
            raise ValueError(f"viewer.update_every must be >= 1, got {cfg.update_every}")
        if cfg.max_updates_per_second <= 0:
            raise ValueError(f"viewer.max_updates_per_second must be > 0, got {cfg.max_updates_per_second}")
        if not 0 < cfg.max_busy_fraction <= 1:
            raise ValueError(f"viewer.max_busy_fraction must be in (0, 1], got {cfg.max_busy_fraction}")
        self.cfg = cfg
        self.num_particles = num_particles
        self.url = ""
        self.stats = ViewerStats()
        self._closed = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._resume = threading.Event()
        self._resume.set()
        self._export_flag = threading.Event()
        self._export_callback: Callable[[], object] | None = None
        self._pending: _Pending | None = None
        self._status = Status()
        self._history = MetricHistory()
        self._step_times: deque[tuple[float, int]] = deque(maxlen=32)
        self._cameras: deque[tuple[np.ndarray, np.ndarray, int, int]] = deque(
            maxlen=max(1, cfg.recent_cameras)
        )
        self._next_push = -float("inf")  # perf_counter time before which due updates are dropped
        self._thread: threading.Thread | None = None
        if not cfg.enabled:
            return

        # viser loads here, not at import
        from viewer.panel import TrainingPanel
        from viewer.scene_view import SceneView
        from viewer.server import start_server, stop_server

        self._server, self.url = start_server(cfg.host, cfg.port)
        try:
            self.panel = TrainingPanel(self._server, self._history)
            gui = self._server.gui
            with gui.add_folder("Control"):
                self._pause_button = gui.add_button("Pause training", hint="Training waits between steps.")
                self._export_button = gui.add_button(
                    "Export now", hint="Write the current particles as .ply."
                )
                run = f"**Run** `{run_dir}`" if run_dir is not None else ""
                self._note = gui.add_markdown(run)
                self._run_text = run
            self._pause_button.on_click(lambda _event: self._toggle_pause())
            self._export_button.on_click(lambda _event: self._request_export())
            self.scene = SceneView(self._server, num_particles)
            self._server.on_client_connect(lambda _client: self._wake.set())
        except BaseException:
            stop_server(self._server)
            raise
        self._thread = threading.Thread(target=self._worker, name="splatdream-viewer", daemon=True)
        self._thread.start()

    # -- the trainer's side ------------------------------------------------------------------
    @property
    def enabled(self) -> bool:
        return self.cfg.enabled and not self._closed

    @property
    def port(self) -> int:
        return self._server.get_port() if self.cfg.enabled else 0

    def set_initial(self, particles: Sequence[Gaussians]) -> None:
        """Show the retrieved-asset Gaussians each particle started from (a toggle in the GUI)."""
        if not self.enabled:
            return
        cap = self.cfg.max_gaussians_per_particle
        self.scene.set_initial([splat_buffer(g, cap) for g in particles[: self.num_particles]])

    def update(
        self,
        step: int,
        total_steps: int,
        stage: str,
        particles: Sequence[Gaussians],
        metrics: Mapping[str, float],
        cameras: Cameras | None = None,
    ) -> None:
        """Record this step; every ``update_every`` steps also snapshot the particles, unless throttled.

        Non-blocking: the only work here is appending metrics and, on a due and unthrottled step,
        one device-side copy per particle. ``metrics`` values should already be Python floats (a
        CUDA scalar tensor would force a sync).
        """
        if not self.enabled:
            return
        now = time.perf_counter()
        self._step_times.append((now, step))
        self._history.record(step, metrics)
        self._status = Status(stage, step, total_steps, self._its(), paused=not self._resume.is_set())
        self._service_export()
        if step % self.cfg.update_every != 0:
            return
        if now < self._next_push:
            self.stats.dropped += 1
            return
        if len(particles) != self.num_particles:
            self._record_error(f"viewer was opened for {self.num_particles} particles, got {len(particles)}")
            return
        cap = self.cfg.max_gaussians_per_particle
        pending = _Pending([snapshot(g, cap) for g in particles])
        if cameras is not None:
            self._cameras.append(camera_arrays(cameras))
            pending.cameras = self._recent_cameras()
        self._next_push = now + 1.0 / self.cfg.max_updates_per_second  # the worker may push it further
        with self._lock:
            if self._pending is not None:
                self.stats.superseded += 1
            self._pending = pending
        self._wake.set()

    def wait_if_paused(self) -> None:
        """Block the training loop while the GUI's pause is on; runs a requested export meanwhile."""
        if not self.enabled:
            return
        self._service_export()
        while not self._resume.wait(timeout=0.1):
            if self._closed:
                return
            self._service_export()

    def set_export_callback(self, fn: Callable[[], object] | None) -> None:
        """Run ``fn()`` on the training thread (in ``update``/``wait_if_paused``) when "export now" is clicked.

        Its return value (e.g. the written path) is shown in the GUI. With a callback set,
        ``export_requested`` always returns False.
        """
        self._export_callback = fn

    def export_requested(self) -> bool:
        """True once after each "export now" click (when no export callback is set)."""
        if self._export_callback is not None or not self._export_flag.is_set():
            return False
        self._export_flag.clear()
        return True

    def close(self) -> None:
        """Stop the background thread and the server (frees the port); unblocks a paused trainer."""
        if self._closed:
            return
        self._closed = True
        self._resume.set()
        if not self.cfg.enabled:
            return
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10.0)
        from viewer.server import stop_server

        stop_server(self._server)

    def __enter__(self) -> LiveViewer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------
    def _its(self) -> float:
        if len(self._step_times) < 2:
            return 0.0
        (t0, s0), (t1, s1) = self._step_times[0], self._step_times[-1]
        return (s1 - s0) / (t1 - t0) if t1 > t0 else 0.0

    def _recent_cameras(self) -> tuple[np.ndarray, np.ndarray, int, int]:
        """The last ``recent_cameras`` views as one batch (each entry can hold several views)."""
        last = self._cameras[-1]
        viewmats = np.concatenate([c[0] for c in self._cameras])[-self.cfg.recent_cameras :]
        Ks = np.concatenate([c[1] for c in self._cameras])[-self.cfg.recent_cameras :]
        return viewmats, Ks, last[2], last[3]

    def _toggle_pause(self) -> None:
        if self._resume.is_set():
            self._resume.clear()
            self._pause_button.label = "Resume training"
        else:
            self._step_times.clear()  # the pause is not training time
            self._resume.set()
            self._pause_button.label = "Pause training"
        self._status = replace(self._status, paused=not self._resume.is_set(), its=0.0)
        self._wake.set()

    def _request_export(self) -> None:
        self._export_flag.set()
        self._set_note("Export requested; written after the current step.")

    def _service_export(self) -> None:
        fn = self._export_callback
        if fn is None or not self._export_flag.is_set():
            return
        self._export_flag.clear()
        try:
            result = fn()
        except Exception as exc:  # a failed export must not kill the run it was meant to save
            self._record_error(f"export failed: {exc!r}")
            self._set_note(f"Export failed: {exc}")
            return
        self._set_note(f"Exported `{result}`" if result is not None else "Exported.")

    def _set_note(self, text: str) -> None:
        self._note.content = "  \n".join(t for t in (self._run_text, text) if t)

    def _record_error(self, message: str) -> None:
        self.stats.errors += 1
        if not self.stats.last_error:  # print once; a broken viewer must not flood the training log
            print(f"splatdream viewer: {message} (training continues)", file=sys.stderr, flush=True)
        self.stats.last_error = message

    def _worker(self) -> None:
        period = 1.0 / self.cfg.max_updates_per_second
        while not self._stop.is_set():
            self._wake.wait(timeout=period)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self.panel.set_status(self._status)
                self.panel.refresh_curve()
                if not self._server.get_clients():
                    continue  # keep the newest snapshot for whoever connects next
                with self._lock:
                    pending, self._pending = self._pending, None
                if pending is not None:
                    busy = time.thread_time()
                    self.scene.set_particles([packed_to_buffer(s.wait().numpy()) for s in pending.particles])
                    if pending.cameras is not None:
                        self.scene.set_cameras(frustum_poses(*pending.cameras))
                    self.stats.pushed += 1
                    self.stats.busy_seconds += time.thread_time() - busy
                    # Space pushes so this thread's CPU stays under max_busy_fraction of wall time.
                    spacing = (time.thread_time() - busy) / self.cfg.max_busy_fraction
                    self._next_push = max(self._next_push, time.perf_counter() + spacing - 1e-3)
            except Exception as exc:
                self._record_error(f"update failed: {exc!r}")
