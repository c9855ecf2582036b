"""``splatdream batch PROMPTS.txt --out DIR``: one run per prompt on Ray, resumable, with a gallery at the end.

Options the batch does not know (``--distill.steps 500``, ``--num-particles 2``, ``--config FILE``)
pass through to every run, as ``splatdream`` itself takes them.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import tyro

from splatdream.evaluate.config import EvalConfig
from splatdream.numbers import checked

RESERVED = ("--prompt", "--out", "--resume")


@dataclass(frozen=True)
class BatchCommand:
    """Generate one asset per line of a prompts file, each a normal run in OUT/<slug>/, as Ray tasks.

    Run it again to resume: finished prompts are skipped, unfinished ones continue from their checkpoints.
    Other options (e.g. --distill.steps 500 --num-particles 2) pass through to every run.
    """

    prompts_file: tyro.conf.Positional[Path]
    """A text file with one prompt a line ('#' starts a comment)."""
    out: Path
    """The batch folder: one run directory per prompt, batch.json, index.html, logs/."""
    preset: str | None = None
    """Run preset for every prompt (default: chosen per worker, as splatdream does)."""
    ray_address: str | None = None
    """A Ray cluster to use ('auto', or the head's host:port); default: start a local Ray on this machine."""
    gpus_per_run: float | None = None
    """GPUs each run reserves; default 1 when the cluster has GPUs, else 0."""
    cpus_per_run: float = 1.0
    """CPUs each run reserves (Ray runs as many prompts at once as the reservations allow)."""
    max_retries: int = 3
    """Times a prompt is restarted when its worker dies (crash, OOM kill, lost node); it resumes its checkpoint."""
    local_cpus: int | None = None
    """CPUs of the local Ray started without --ray-address; default: all of this machine's."""
    evaluate: bool = True
    """Score each finished run with splatdream eval (eval.json in the run; numbers in the gallery)."""
    eval: Annotated[EvalConfig, tyro.conf.arg(name="eval")] = field(default_factory=EvalConfig)


def check_run_args(run_args: list[str], prompt: str) -> int:
    """Parse the runs' options once, here, so a typo fails before any cluster starts; returns distil steps."""
    from splatdream.config import parse_run_config

    bad = [a for a in run_args if a.split("=", 1)[0] in RESERVED]
    if bad:
        raise SystemExit(
            f"splatdream batch: {bad[0].split('=', 1)[0]} is set per prompt by the batch; leave it out"
        )
    with tempfile.TemporaryDirectory() as tmp:
        cfg = parse_run_config(
            [*run_args, "--prompt", prompt, "--out", str(Path(tmp) / "run"), "--no-viewer"]
        )
    return cfg.distill.steps


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console

    from splatdream.batch.gallery import summary_table, write_gallery
    from splatdream.batch.manifest import Manifest, read_prompts
    from splatdream.batch.runner import Resources, pending_jobs, run_jobs
    from splatdream.batch.tasks import PromptJob
    from splatdream.ray_cluster import ray_session

    argv = list(sys.argv[1:] if argv is None else argv)
    cmd, overrides = tyro.cli(BatchCommand, args=argv, prog="splatdream batch", return_unknown_args=True)
    checked(cmd)
    overrides = [a for a in overrides if a != "--no-viewer"]  # batch runs never open the viewer
    console = Console()
    try:
        prompts, problems = read_prompts(cmd.prompts_file)
    except FileNotFoundError as exc:
        raise SystemExit(f"splatdream batch: {exc}") from exc
    for p in problems:
        console.print(
            f"[yellow]{cmd.prompts_file}:{p.line}: {p.problem}; left out[/]", highlight=False, soft_wrap=True
        )
    if not prompts:
        raise SystemExit(f"splatdream batch: {cmd.prompts_file} holds no prompts; write one prompt a line")
    run_args = [*(["--preset", cmd.preset] if cmd.preset else []), *overrides]
    steps = check_run_args(run_args, prompts[0])

    cmd.out.mkdir(parents=True, exist_ok=True)
    manifest = Manifest.load(cmd.out)
    if manifest.entries and (manifest.preset, manifest.overrides) != (cmd.preset, overrides):
        console.print(
            f"[yellow]note: {manifest.path} was started with preset {manifest.preset} and overrides "
            f"{manifest.overrides}; unfinished runs keep the settings they were started with[/]"
        )
    manifest.preset, manifest.overrides = cmd.preset, overrides
    entries = manifest.add_prompts(prompts)

    def job_of(entry):  # type: ignore[no-untyped-def]
        return PromptJob(entry.prompt, cmd.out.resolve(), entry.slug, tuple(run_args), cmd.evaluate, cmd.eval)

    todo = pending_jobs(manifest, entries, job_of)
    manifest.save()
    if not todo:
        console.print(f"all {len(entries)} prompts are already done in {cmd.out}; nothing to run")
    else:
        console.print(f"{len(todo)} of {len(entries)} prompts to run into {cmd.out}")
        with ray_session(cmd.ray_address, cmd.local_cpus) as ray:
            run_jobs(
                ray,
                manifest,
                todo,
                Resources(cmd.cpus_per_run, cmd.gpus_per_run, cmd.max_retries),
                console,
                steps,
            )
    index = write_gallery(manifest)
    console.print(summary_table(manifest))
    console.print(f"gallery: {index}", soft_wrap=True)
    failed = [e for e in entries if e.status != "done"]
    return 1 if failed else 0
