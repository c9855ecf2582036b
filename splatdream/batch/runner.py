"""Submit one Ray task per unfinished prompt, show the batch's progress, record each result in the manifest."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from splatdream.batch.manifest import Entry, Manifest
from splatdream.batch.tasks import PromptJob, count_attempts, finished, run_prompt
from splatdream.rundir import RunDir


@dataclass(frozen=True)
class Resources:
    """What each prompt's task asks of the cluster, and how often a dead worker's task is retried."""

    cpus_per_run: float = 1.0
    gpus_per_run: float | None = None
    """None: 1 when the cluster has GPUs, else 0."""
    max_retries: int = 3


def pending_jobs(manifest: Manifest, entries: list[Entry], job_of: Any) -> list[tuple[Entry, PromptJob]]:
    """The entries still to run (a 'done' entry whose particles are gone runs again)."""
    out = manifest.path.parent
    todo = []
    for entry in entries:
        if entry.status == "done" and finished(out / entry.slug):
            continue
        entry.status, entry.error = "pending", None
        todo.append((entry, job_of(entry)))
    return todo


def last_step(run_dir: Path) -> int:
    """The distillation step of the run's last metrics line (0 before the first), read from the file's tail."""
    path = RunDir(run_dir).metrics
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 4096))
            lines = f.read().splitlines()
    except OSError:
        return 0
    for line in reversed(lines):
        try:
            return int(json.loads(line)["step"]) + 1
        except (ValueError, KeyError, TypeError):
            continue
    return 0


class BatchProgress:
    """One display for the whole batch: a bar of prompts and a row per running prompt (plain lines off a terminal)."""

    def __init__(self, console: Any, total: int, steps: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.console, self.steps, self.total, self.done = console, steps, total, 0
        self.live = console.is_terminal
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=not self.live,
        )
        self.overall = self.progress.add_task("[bold]batch", total=total)
        self.rows: dict[str, Any] = {}
        self.seen_attempts: dict[str, int] = {}

    def __enter__(self) -> BatchProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)

    def say(self, text: str) -> None:
        self.progress.console.print(text) if self.live else self.console.print(
            text, highlight=False, soft_wrap=True
        )

    def poll(self, out: Path, running: list[Entry]) -> None:
        """Notice started (and restarted) prompts from their logs; move their rows to the step they reached."""
        for entry in running:
            attempts = count_attempts(out / "logs" / f"{entry.slug}.log")
            if attempts > self.seen_attempts.get(entry.slug, entry.attempts):
                self.seen_attempts[entry.slug] = attempts
                again = f" (attempt {attempts})" if attempts > 1 else ""
                self.say(f"started '{entry.prompt}'{again}")
                if entry.slug not in self.rows:
                    self.rows[entry.slug] = self.progress.add_task(f"  {entry.slug}", total=self.steps)
            if entry.slug in self.rows:
                self.progress.update(self.rows[entry.slug], completed=last_step(out / entry.slug))

    def finish(self, entry: Entry) -> None:
        self.done += 1
        if entry.slug in self.rows:
            self.progress.remove_task(self.rows.pop(entry.slug))
        self.progress.advance(self.overall)
        if entry.status == "done":
            took = f" in {entry.seconds:.0f} s" if entry.seconds is not None else ""
            self.say(f"[{self.done}/{self.total}] done '{entry.prompt}'{took} -> {entry.slug}/")
        else:
            self.say(f"[{self.done}/{self.total}] [red]failed[/] '{entry.prompt}': {entry.error}")


def _error_line(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None) or exc
    text = str(cause).strip().splitlines()
    return text[-1] if text else type(cause).__name__


def run_jobs(
    ray: Any,
    manifest: Manifest,
    todo: list[tuple[Entry, PromptJob]],
    res: Resources,
    console: Any,
    steps: int,
) -> None:
    """Run ``todo`` as Ray tasks; each result (or failure) lands in the manifest as soon as it is known."""
    from ray.exceptions import RayError

    gpus = res.gpus_per_run
    if gpus is None:
        gpus = 1.0 if ray.cluster_resources().get("GPU", 0) > 0 else 0.0
    task = ray.remote(run_prompt).options(
        num_cpus=res.cpus_per_run,
        num_gpus=gpus,
        max_retries=res.max_retries,
        retry_exceptions=False,
        name="splatdream-batch-prompt",
    )
    out = manifest.path.parent
    refs = {task.remote(job): entry for entry, job in todo}
    with BatchProgress(console, len(refs), steps) as progress:
        try:
            while refs:
                ready, _ = ray.wait(list(refs), num_returns=len(refs), timeout=1.0, fetch_local=True)
                for ref in ready:
                    entry = refs.pop(ref)
                    try:
                        result = ray.get(ref)
                    except (
                        RayError
                    ) as exc:  # the pipeline raised, or workers died more than max_retries times
                        entry.status, entry.error = "failed", _error_line(exc)
                        entry.attempts = max(
                            entry.attempts, count_attempts(out / "logs" / f"{entry.slug}.log")
                        )
                    else:
                        entry.status, entry.error = "done", result["eval_error"]
                        entry.attempts, entry.seconds, entry.eval = (
                            result["attempts"],
                            result["seconds"],
                            result["eval"],
                        )
                    manifest.save()
                    progress.finish(entry)
                progress.poll(out, list(refs.values()))
        except KeyboardInterrupt:
            for ref in refs:
                ray.cancel(ref, force=True)
            manifest.save()
            progress.say(
                f"interrupted; {len(refs)} prompts unfinished. Run the same command again to resume them."
            )
            raise
