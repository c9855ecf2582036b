"""One prompt of a batch, as it runs inside a Ray worker: the normal pipeline into ``DIR/<slug>/``.

The function is plain Python (Ray wraps it in ``runner``), so it runs and is tested without a
cluster. A worker that dies mid-run leaves a run directory with config.yaml and a checkpoint; Ray
retries the task and this function resumes that run (``splatdream --resume``) instead of starting over.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from splatdream.evaluate.config import EvalConfig
from splatdream.rundir import RunDir

ATTEMPT_MARK = "=== attempt "
LOGS = "logs"
GALLERY = "gallery"
_SCORERS: dict[EvalConfig, Any] = {}
"""Eval's models, loaded once per worker process (Ray reuses workers across prompts)."""


@dataclass(frozen=True)
class PromptJob:
    """Everything a worker needs to run one prompt (pickled to the worker)."""

    prompt: str
    out: Path
    """The batch folder; the run goes to ``out/slug``, its log to ``out/logs/slug.log``."""
    slug: str
    run_args: tuple[str, ...]
    """``--preset NAME`` and the pass-through overrides, as ``splatdream`` would take them."""
    evaluate: bool = True
    eval_cfg: EvalConfig = EvalConfig()
    thumbnail_size: int = 160

    @property
    def run_dir(self) -> Path:
        return self.out / self.slug

    @property
    def log_path(self) -> Path:
        return self.out / LOGS / f"{self.slug}.log"


def finished(run_dir: Path) -> bool:
    """True when the run exported its particles (``particle_0.ply`` exists)."""
    return RunDir(run_dir).finished()


def count_attempts(log_path: Path) -> int:
    if not log_path.exists():
        return 0
    return sum(line.startswith(ATTEMPT_MARK) for line in log_path.read_text(errors="replace").splitlines())


def run_prompt(job: PromptJob) -> dict[str, Any]:
    """Run (or resume) ``job``'s prompt; returns attempts, seconds and eval means (or why eval was skipped)."""
    from rich.console import Console

    from splatdream.config import RunConfig, parse_run_config
    from splatdream.configio import load_yaml
    from splatdream.pipeline import run

    job.log_path.parent.mkdir(parents=True, exist_ok=True)
    attempt = count_attempts(job.log_path) + 1
    start = time.perf_counter()
    with open(job.log_path, "a", encoding="utf-8", buffering=1) as log:
        log.write(f"{ATTEMPT_MARK}{attempt} pid {os.getpid()} host {socket.gethostname()} ===\n")
        console = Console(file=log, width=120, force_terminal=False, color_system=None)
        saved = RunDir(job.run_dir).config
        if saved.exists():  # an earlier attempt started this run: continue it from its checkpoint
            cfg = load_yaml(RunConfig, saved)
            cfg = replace(cfg, resume=job.run_dir, viewer=replace(cfg.viewer, enabled=False))
            console.print(f"resuming {job.run_dir}")
        else:
            try:
                cfg = parse_run_config(
                    [*job.run_args, "--prompt", job.prompt, "--out", str(job.run_dir), "--no-viewer"]
                )
            except SystemExit as exc:
                raise RuntimeError(str(exc.code)) from None
        try:
            run(cfg, console)
        except (
            SystemExit
        ) as exc:  # the pipeline's fail-fast errors: a failed prompt, not a dead worker to retry
            raise RuntimeError(str(exc.code)) from None
        seconds = time.perf_counter() - start
        write_thumbnails(job, cfg)
        result: dict[str, Any] = {"attempts": attempt, "seconds": seconds, "eval": None, "eval_error": None}
        if job.evaluate:
            from splatdream.evaluate import RunDirError, Scorers, evaluate_run

            try:
                scorers = _SCORERS.setdefault(job.eval_cfg, Scorers(job.eval_cfg))
                result["eval"] = evaluate_run(job.run_dir, job.eval_cfg, scorers=scorers).to_json()["mean"]
            except (RunDirError, FileNotFoundError, RuntimeError) as exc:  # the run stands without its scores
                result["eval_error"] = str(exc)
                console.print(f"eval failed: {exc}")
        console.print(f"batch task done in {seconds:.1f} s")
    return result


def write_thumbnails(job: PromptJob, cfg: Any) -> None:
    """One front view PNG per particle into ``out/gallery/`` (the gallery's picture when there is no turntable)."""
    from PIL import Image

    from splatdream.atomic import atomic_write
    from splatdream.export.turntable import render_turntable
    from splatdream.io.ply import read_ply

    for i in range(cfg.num_particles):
        g = read_ply(RunDir(job.run_dir).particle(i))
        frame = render_turntable(g, 1, job.thumbnail_size, backend=cfg.distill.backend, progress=False)[0]
        with atomic_write(job.out / GALLERY / f"{job.slug}_{i}.png") as tmp:
            Image.fromarray(frame).save(tmp)
