"""Drive a ``Trainer`` to the end: progress display, metrics, checkpoints, numerical safety, viewer.

Kept apart from the trainer so the step math stays free of I/O, and from ``run`` so the
pipeline's stages stay readable.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any, Protocol

from splatdream.distill.trainer import StepResult, Trainer, load_checkpoint, save_checkpoint

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"


class StepObserver(Protocol):
    """Anything that wants to see each step (the live viewer, the progress bar)."""

    def __call__(self, trainer: Trainer, result: StepResult, /) -> None: ...  # called positionally


class NumericalFailure(RuntimeError):
    pass


def train(
    trainer: Trainer,
    run_dir: Path,
    *,
    observers: list[StepObserver] | None = None,
    progress: Any = None,
    task: Any = None,
) -> None:
    """Run ``trainer`` up to ``cfg.steps``; checkpoint every ``checkpoint_every`` steps and at the end.

    Non-finite steps are skipped (the trainer leaves the particles untouched) and logged; after
    ``max_bad_steps`` in a row the last checkpoint is restored with a lower learning rate.
    """
    cfg = trainer.cfg
    ckpt = run_dir / CHECKPOINT
    metrics_path = run_dir / "metrics.jsonl"
    bad_streak = 0
    restores = 0
    t_last = time.perf_counter()
    with metrics_path.open("a") as metrics:
        while trainer.step_count < cfg.steps:
            result = trainer.step()
            now = time.perf_counter()
            result.extra["seconds"] = now - t_last
            t_last = now
            if result.skipped:
                bad_streak += 1
                log.warning("step %d: non-finite loss or gradient, step skipped (%d in a row)", result.step, bad_streak)
                if bad_streak >= cfg.max_bad_steps:
                    restores += 1
                    if restores > 5:
                        raise NumericalFailure(
                            f"training keeps producing NaN/inf after {restores - 1} restores; "
                            "lower --distill.lr.* or --distill.guidance-scale"
                        )
                    if ckpt.exists():
                        load_checkpoint(trainer, ckpt)
                    trainer.lower_learning_rate()
                    log.warning("restored step %d with learning rates x%.3g", trainer.step_count, trainer.lr_scale)
                    bad_streak = 0
            else:
                bad_streak = 0
            if result.step % cfg.log_every == 0 or result.skipped:
                metrics.write(json.dumps(result.as_record()) + "\n")
                metrics.flush()
            for obs in observers or []:
                obs(trainer, result)
            if progress is not None and task is not None:
                progress.update(task, completed=trainer.step_count,
                                loss=f"{result.loss:.3g}", n=sum(result.num_gaussians))
            if trainer.step_count % cfg.checkpoint_every == 0 and trainer.step_count < cfg.steps:
                save_checkpoint(trainer, ckpt)
    save_checkpoint(trainer, ckpt)
