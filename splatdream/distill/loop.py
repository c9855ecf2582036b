"""Drive a ``Trainer`` to the end: progress display, metrics, checkpoints, numerical safety, viewer.

Kept apart from the trainer so the step math stays free of I/O, and from ``run`` so the
pipeline's stages stay readable.
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from splatdream.atomic import atomic_write
from splatdream.distill.trainer import StepResult, Trainer, load_checkpoint, save_checkpoint
from splatdream.rundir import RunDir

log = logging.getLogger(__name__)


class StepObserver(Protocol):
    """Anything that wants to see each step (the live viewer, the progress bar)."""

    def __call__(self, trainer: Trainer, result: StepResult, /) -> None: ...  # called positionally


class NumericalFailure(RuntimeError):
    pass


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during distillation, after the checkpoint of the last finished step was written."""


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
    Ctrl-C finishes the current step, writes a checkpoint and raises ``Interrupted`` (a second
    Ctrl-C stops at once). Records past the trainer's step (a run killed after its last
    checkpoint, now resumed) are dropped from metrics.jsonl before they are written again.
    """
    cfg = trainer.cfg
    ckpt = RunDir(run_dir).checkpoint
    metrics_path = RunDir(run_dir).metrics
    truncate_metrics(metrics_path, trainer.step_count)
    bad_streak = 0
    restores = 0
    t_last = time.perf_counter()
    with metrics_path.open("a") as metrics, _sigint_after_step() as stop:
        while trainer.step_count < cfg.steps:
            if stop.is_set():
                save_checkpoint(trainer, ckpt)
                raise Interrupted(f"interrupted at step {trainer.step_count} of {cfg.steps}; the checkpoint is "
                                  f"saved: continue with splatdream --resume {run_dir}")
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
            if result.step % cfg.log_every == 0 or result.skipped or result.refine:
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


def truncate_metrics(path: Path, step: int) -> None:
    """Keep the records of steps before ``step`` (and drop a torn last line): resuming replays the rest."""
    if not path.exists():
        return
    kept, dropped = [], 0
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
            keep = int(record["step"]) < step
        except (ValueError, KeyError, TypeError):
            keep = False
        if keep:
            kept.append(line)
        else:
            dropped += 1
    if dropped:
        with atomic_write(path) as tmp:
            tmp.write_text("".join(f"{line}\n" for line in kept))
        log.info("metrics.jsonl: dropped %d records past step %d (they are replayed)", dropped, step)


@contextlib.contextmanager
def _sigint_after_step() -> Iterator[threading.Event]:
    """While the body runs, the first SIGINT only sets the event; the second one interrupts as usual."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop  # signal handlers can only be set from the main thread
        return

    def handler(signum: int, frame: object) -> None:
        stop.set()
        signal.signal(signal.SIGINT, previous or signal.default_int_handler)
        log.warning("Ctrl-C: saving a checkpoint after this step (press again to stop at once)")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous or signal.default_int_handler)
