"""The 3D half of the viewer, shared by live training and ``splatdream view``.

Particles sit side by side along +X (or one at a time at the origin); each particle's initial
Gaussians (the retrieved asset it started from) sit in a row below it; frustums of recent training
cameras are drawn around the first particle on screen. World is +Y up, as in ``splatdream.scene``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import viser

from viewer.splats import FrustumPose

ALL = "all side by side"
"""Particle-selector option showing every particle."""


def particle_option(i: int) -> str:
    return f"particle {i}"


class SceneView:
    """Owns the scene nodes and the scene GUI (particle selector, toggles); thread-safe."""

    def __init__(self, server: viser.ViserServer, num_particles: int, spacing: float = 2.4) -> None:
        if num_particles < 1:
            raise ValueError(f"need at least one particle to show, got {num_particles}")
        self._server = server
        self._n = num_particles
        self._spacing = spacing
        self._lock = threading.RLock()
        self._particles: dict[int, viser.GaussianSplatHandle] = {}
        self._initial: dict[int, viser.GaussianSplatHandle] = {}
        self._frustums: list[viser.CameraFrustumHandle] = []

        server.scene.set_up_direction("+y")
        self._frames = [
            server.scene.add_frame(f"/particle_{i}", show_axes=False) for i in range(num_particles)
        ]
        self._init_frames = [
            server.scene.add_frame(f"/initial_{i}", show_axes=False) for i in range(num_particles)
        ]
        self._camera_frame = server.scene.add_frame("/training_cameras", show_axes=False)
        for i in range(num_particles):
            server.scene.add_label(f"/particle_{i}/label", particle_option(i), position=(0.0, 1.15, 0.0))
            server.scene.add_label(f"/initial_{i}/label", f"initial {i}", position=(0.0, 1.15, 0.0))

        with server.gui.add_folder("Scene"):
            options = [ALL] + [particle_option(i) for i in range(num_particles)]
            self.selector = server.gui.add_dropdown("Particles", options, initial_value=ALL)
            self.show_initial = server.gui.add_checkbox(
                "Initial Gaussians",
                initial_value=False,
                disabled=True,
                hint="The retrieved assets each particle started from, in a row below the particles.",
            )
            self.show_cameras = server.gui.add_checkbox(
                "Training cameras", initial_value=True, hint="Frustums of the most recent training views."
            )
        for handle in (self.selector, self.show_initial, self.show_cameras):
            handle.on_update(lambda _event: self.relayout())
        self.relayout()
        self._frame_camera()

    @property
    def num_particles(self) -> int:
        return self._n

    def shown_particles(self) -> list[int]:
        value = self.selector.value
        if value == ALL:
            return list(range(self._n))
        return [int(value.rsplit(" ", 1)[1])]

    def _column_x(self, column: int, columns: int) -> float:
        return (column - (columns - 1) / 2) * self._spacing

    def relayout(self) -> None:
        """Place and show/hide every node for the current selector and toggles."""
        with self._lock:
            shown = self.shown_particles()
            show_initial = self.show_initial.value and bool(self._initial)
            for i in range(self._n):
                visible = i in shown
                x = self._column_x(shown.index(i), len(shown)) if visible else 0.0
                self._frames[i].position = (x, 0.0, 0.0)
                self._frames[i].visible = visible
                self._init_frames[i].position = (x, -self._spacing, 0.0)
                self._init_frames[i].visible = visible and show_initial and i in self._initial
            self._camera_frame.position = self._frames[shown[0]].position
            self._camera_frame.visible = self.show_cameras.value

    def _frame_camera(self, with_initial: bool = False) -> None:
        """Initial camera for new browsers: in front (+Z), a little above, far enough to see the rows."""
        width = self._n * self._spacing
        distance = max(3.5, 0.75 * width) + (1.0 if with_initial else 0.0)
        centre_y = -0.5 * self._spacing if with_initial else 0.0
        self._server.initial_camera.position = (0.0, centre_y + 0.3 * distance, distance)
        self._server.initial_camera.look_at = (0.0, centre_y, 0.0)

    @staticmethod
    def _set(
        scene: viser.SceneApi,
        store: dict[int, viser.GaussianSplatHandle],
        i: int,
        name: str,
        buffer: np.ndarray,
    ) -> None:
        """Create or replace splat node ``name`` from a packed buffer [N, 8] uint32 (``splats.packed_to_buffer``)."""
        assert buffer.ndim == 2 and buffer.shape[1] == 8 and buffer.dtype == np.uint32, (
            buffer.shape,
            buffer.dtype,
        )
        handle = store.get(i)
        if handle is None:
            # add_gaussian_splats only takes unpacked arrays: create a one-splat node, then swap the buffer in
            handle = store[i] = scene.add_gaussian_splats(
                name,
                centers=np.zeros((1, 3)),
                covariances=np.eye(3)[None] * 1e-4,
                rgbs=np.ones((1, 3)),
                opacities=np.ones((1, 1)),
            )
        handle.buffer = buffer

    def set_particles(self, particles: Sequence[np.ndarray]) -> None:
        """Each particle's splat buffer [N_i, 8] uint32."""
        if len(particles) != self._n:
            raise ValueError(f"viewer was opened for {self._n} particles, got {len(particles)}")
        with self._lock:
            for i, buffer in enumerate(particles):
                self._set(self._server.scene, self._particles, i, f"/particle_{i}/splats", buffer)

    def set_initial(self, particles: Sequence[np.ndarray]) -> None:
        """Initial (retrieved-asset) Gaussians, one per particle; fewer than ``num_particles`` is fine."""
        if len(particles) > self._n:
            raise ValueError(
                f"viewer was opened for {self._n} particles, got {len(particles)} initial scenes"
            )
        with self._lock:
            first = not self._initial
            for i, buffer in enumerate(particles):
                self._set(self._server.scene, self._initial, i, f"/initial_{i}/splats", buffer)
            self.show_initial.disabled = False
            if first:
                self.show_initial.value = True  # type: ignore[misc]  # viser's value has a setter mypy misses
                self._frame_camera(with_initial=True)
            self.relayout()

    def set_cameras(self, poses: Sequence[FrustumPose], scale: float = 0.15) -> None:
        """Replace the drawn training-camera frustums (newest last, drawn brightest)."""
        with self._lock:
            scene = self._server.scene
            while len(self._frustums) > len(poses):
                self._frustums.pop().remove()
            for j, pose in enumerate(poses):
                shade = int(60 + 160 * (j + 1) / len(poses))
                color = (shade, 60, 255 - shade)
                if j < len(self._frustums):
                    f = self._frustums[j]
                    f.wxyz, f.position, f.fov, f.aspect, f.color = (
                        pose.wxyz,
                        pose.position,
                        pose.fov_y,
                        pose.aspect,
                        color,
                    )
                else:
                    self._frustums.append(
                        scene.add_camera_frustum(
                            f"/training_cameras/{j}",
                            fov=pose.fov_y,
                            aspect=pose.aspect,
                            scale=scale,
                            color=color,
                            wxyz=pose.wxyz,
                            position=pose.position,
                            cast_shadow=False,
                            receive_shadow=False,
                        )
                    )
