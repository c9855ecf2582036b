"""``splatdream eval``: is each particle cleaner and closer to the prompt than where it started?

Modules, one job each (what a run directory must hold is ``splatdream.rundir``'s): ``views`` (the fixed cameras),
``cleanliness`` (speckle, holes, floaters, count), ``colour`` (the colour-word table, CIELAB),
``fidelity`` (diffusion-classifier and CLIP scores), ``consistency`` (A-LPIPS), ``scorers`` (models
loaded once), ``record`` (eval.json), ``report`` (eval.png), ``run`` (``evaluate_run``), ``cli``.
Metrics are documented in docs/metrics.md.
"""

from __future__ import annotations

from splatdream.evaluate.config import EvalConfig
from splatdream.evaluate.record import ParticleEval, RunEval, read_eval
from splatdream.evaluate.run import evaluate_particles, evaluate_run
from splatdream.evaluate.scorers import Scorers
from splatdream.rundir import MissingInitError, NoParticlesError, NotARunError, RunDirError

__all__ = [
    "EvalConfig",
    "MissingInitError",
    "NoParticlesError",
    "NotARunError",
    "ParticleEval",
    "RunDirError",
    "RunEval",
    "Scorers",
    "evaluate_particles",
    "evaluate_run",
    "read_eval",
]
