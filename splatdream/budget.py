"""What a run will need, estimated before any work: refuse a particle count the machine cannot hold.

``--num-particles 1000`` used to start with no bound and no warning, and fail (or swap) hours later.
The particles' training state dominates what grows with the count: every Gaussian carries 59 floats
(position, rotation, scale, opacity, degree-3 SH) and Adam keeps the value, its gradient and two
moments, 4 x 59 x 4 bytes. With densification on, a particle may grow to ``densify.max_gaussians``.
Past the memory the training device has free, the run is refused unless ``--force``.
"""

from __future__ import annotations

from typing import Any

#: bytes of training state per Gaussian: 59 float32 values x (value, gradient, two Adam moments)
BYTES_PER_GAUSSIAN = 59 * 4 * 4
#: particles beyond which the time warning is printed (the presets use 2-4)
MANY_PARTICLES = 16


def particle_bytes(cfg: Any) -> int:
    """Estimated bytes of the particles' training state for run config ``cfg``."""
    per_particle = cfg.init.gaussians_per_particle
    if cfg.distill.densify.enabled:
        per_particle = max(per_particle, cfg.distill.densify.max_gaussians)
    return int(cfg.num_particles * per_particle * BYTES_PER_GAUSSIAN)


def free_bytes(device: str) -> tuple[int, str]:
    """Free memory of the training device (CUDA when asked for or auto with a GPU, else RAM) and its name."""
    import psutil

    if device != "cpu":
        try:
            import torch

            if torch.cuda.is_available():
                free, _ = torch.cuda.mem_get_info()
                return int(free), "GPU memory"
        except (ImportError, RuntimeError):
            pass
    return int(psutil.virtual_memory().available), "RAM"


def check_budget(cfg: Any, force: bool) -> str | None:
    """``SystemExit`` when the particles cannot fit (unless ``force``); a warning line for very many particles."""
    need = particle_bytes(cfg)
    free, where = free_bytes(cfg.device)
    if need > free and not force:
        raise SystemExit(
            f"error: {cfg.num_particles} particles need about {need / 2**30:.1f} GiB of training state and the "
            f"machine has {free / 2**30:.1f} GiB of {where} free; lower --num-particles (or "
            "--init.gaussians-per-particle / --distill.densify.max-gaussians), or pass --force to try anyway"
        )
    if cfg.num_particles > MANY_PARTICLES:
        return (
            f"warning: {cfg.num_particles} particles: every step renders and scores each of them, so the run "
            f"takes about {cfg.num_particles / 4:.0f}x as long as with the presets' 4 "
            f"(~{need / 2**30:.1f} GiB of training state)"
        )
    return None
