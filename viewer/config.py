"""Viewer settings, importable without loading viser (run configs embed them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ViewerConfig:
    """Live browser viewer while training (viser)."""

    enabled: bool = True
    """Serve the live viewer while training; the URL is printed at start-up."""
    host: str = "127.0.0.1"
    """Address to bind; 0.0.0.0 makes it reachable from other machines."""
    port: int = 8080
    """First port to try; the next free one is used when it is taken."""
    update_every: int = 10
    """Training steps between pushes of the particles to the browser."""
    max_updates_per_second: float = 2.0
    """Cap on pushes per second whatever the step rate; updates over it are dropped, never queued."""
    max_busy_fraction: float = 0.03
    """Cap on the viewer thread's CPU time as a share of wall time: when converting a push takes
    longer (big scenes, slow CPU) the next one waits longer, so the viewer stays cheap."""
    max_gaussians_per_particle: int = 200_000
    """Gaussians sent per particle per push (an evenly strided subsample beyond this); 0 sends all."""
    recent_cameras: int = 16
    """Training-camera frustums drawn (the most recent ones)."""
