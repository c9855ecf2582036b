"""Drive a ``Trainer`` to the end: progress display, metrics, checkpoints, numerical safety, viewer.

Kept apart from the trainer so the step math stays free of I/O, and from ``run`` so the
pipeline's stages stay readable.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from splatdream.atomic import atomic_write
from splatdream.distill.checkpoint import load_checkpoint, save_checkpoint
from splatdream.distill.trainer import StepResult, Trainer
from splatdream.errors import RunDirError, UserError
from splatdream.rundir import RunDir

log = logging.getLogger(__name__)


class StepObserver(Protocol):
    """Anything that wants to see each step (the live viewer, the progress bar)."""

    def __call__(self, trainer: Trainer, result: StepResult, /) -> None: ...  # called positionally


class NumericalFailure(UserError, RuntimeError):
    """Steps kept failing (NaN/inf) through every restore: the run stops with an error, never "done"."""


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
    folder = _identity(run_dir)

    def checkpoint() -> None:
        _check_same_folder(run_dir, folder)  # never re-create a deleted or replaced run folder
        save_checkpoint(trainer, ckpt)

    bad_streak = 0
    in_a_row = 0  # skipped steps in a row, across restores
    restores = 0
    t_last = time.perf_counter()
    with metrics_path.open("a") as metrics, _sigint_after_step() as stop:
        while trainer.step_count < cfg.steps:
            if stop.is_set():
                checkpoint()
                raise Interrupted(
                    f"interrupted at step {trainer.step_count} of {cfg.steps}; the checkpoint is "
                    f"saved: continue with splatdream --resume {run_dir}"
                )
            result = trainer.step()
            now = time.perf_counter()
            result.extra["seconds"] = now - t_last
            t_last = now
            in_a_row = in_a_row + 1 if result.skipped else 0
            if result.skipped:
                bad_streak += 1
                log.warning(
                    "step %d: non-finite loss or gradient, step skipped (%d in a row)",
                    result.step,
                    bad_streak,
                )
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
                    log.warning(
                        "restored step %d with learning rates x%.3g", trainer.step_count, trainer.lr_scale
                    )
                    bad_streak = 0
            else:
                bad_streak = 0
            if result.step % cfg.log_every == 0 or result.skipped or result.refine:
                metrics.write(json.dumps(strict_json(result.as_record()), allow_nan=False) + "\n")
                metrics.flush()
            if in_a_row >= 2 * cfg.max_bad_steps:  # a restore with lower learning rates did not help either
                raise NumericalFailure(
                    f"{in_a_row} steps in a row were skipped (NaN/inf loss or gradient), even after restoring "
                    f"with lower learning rates; stopping (the result would be the init). Lower --distill.lr.* or "
                    "--distill.guidance-scale, or check the prior"
                )
            for obs in observers or []:
                obs(trainer, result)
            if progress is not None and task is not None:
                progress.update(
                    task, completed=trainer.step_count, loss=f"{result.loss:.3g}", n=sum(result.num_gaussians)
                )
            if trainer.step_count % cfg.checkpoint_every == 0 and trainer.step_count < cfg.steps:
                checkpoint()
    if in_a_row >= cfg.max_bad_steps:
        raise NumericalFailure(
            f"the last {in_a_row} steps were all skipped (NaN/inf loss or gradient); the run is not done. "
            "Lower --distill.lr.* or --distill.guidance-scale, or check the prior"
        )
    checkpoint()


def strict_json(value: Any) -> Any:
    """``value`` with every NaN/inf float as ``None``: metrics.jsonl stays strict JSON (no bare ``NaN``)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json(v) for v in value]
    return value


def _identity(folder: Path) -> tuple[int, int]:
    info = folder.stat()
    return info.st_dev, info.st_ino


def _check_same_folder(folder: Path, identity: tuple[int, int]) -> None:
    """Stop if the run folder was deleted or replaced since the run began (checked at every checkpoint)."""
    try:
        same = _identity(folder) == identity
    except FileNotFoundError:
        raise RunDirError(
            f"the run directory {folder} was deleted during the run; stopping without writing "
            "there again: start a new run (the folder cannot be resumed)"
        ) from None
    if not same:
        raise RunDirError(
            f"the run directory {folder} was replaced by another folder during the run; stopping "
            "without writing into it: start a new run with a fresh --out"
        ) from None


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
