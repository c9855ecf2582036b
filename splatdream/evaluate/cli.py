"""``splatdream eval RUN_DIR [RUN_DIR ...]``: score runs against their initialisations; a table or JSON."""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import tyro

from splatdream.evaluate.config import EvalConfig
from splatdream.evaluate.record import RunEval
from splatdream.numbers import checked
from splatdream.rundir import RunDir, RunDirError

COLUMNS: tuple[tuple[str, str, str], ...] = (
    # (header, metric key, format); ratios and fractions are result against init
    ("speckle x", "speckle_ratio", ".2f"),
    ("holes", "holes", ".1%"),
    ("floaters", "floaters", ".1%"),
    ("gaussians x", "count_ratio", ".2f"),
    ("patches dE", "patches", ".1f"),
    ("mean shift dE", "mean_shift", ".1f"),
    ("dE init", "delta_e_init", ".1f"),
    ("dE", "delta_e", ".1f"),
    ("classifier init", "classifier_init", "+.4f"),
    ("classifier", "classifier", "+.4f"),
    ("object init", "classifier_object_init", "+.4f"),
    ("object", "classifier_object", "+.4f"),
    ("colour init", "classifier_attribute_init", "+.4f"),
    ("colour", "classifier_attribute", "+.4f"),
    ("CLIP init", "clip_init", ".1f"),
    ("CLIP", "clip", ".1f"),
    ("A-LPIPS init", "alpips_init", ".3f"),
    ("A-LPIPS", "alpips", ".3f"),
)


@dataclass(frozen=True)
class EvalCommand:
    """Render each particle and its initialisation from fixed views; write eval.json and eval.png into each run."""

    run_dirs: tyro.conf.Positional[tuple[Path, ...]]
    """Run directories (each with config.yaml, particle_<i>.ply and init_particle_<i>.ply)."""
    json: bool = False
    """Print the evaluations as a JSON list instead of a table (for scripts)."""
    eval: Annotated[EvalConfig, tyro.conf.arg(name="")] = field(default_factory=EvalConfig)


def _cell(v: float, spec: str) -> str:
    return "-" if math.isnan(v) else format(v, spec)


def print_table(results: list[RunEval]) -> None:
    """One row per particle, then the run's mean; skipped metrics are listed under the table."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 200)  # piped: do not squeeze the columns
    for r in results:
        keep = [c for c in COLUMNS if any(not math.isnan(p.flat()[c[1]]) for p in r.particles)]
        word = f", colour word '{r.colour_word}'" if r.colour_word else ""
        table = Table(title=f"{r.run_dir}: '{r.prompt}'{word}", title_justify="left")
        table.add_column("particle")
        for header, _, _ in keep:
            table.add_column(header, justify="right")
        for p in r.particles:
            flat = p.flat()
            table.add_row(str(p.index), *(_cell(flat[k], f) for _, k, f in keep))
        means = r.means()
        table.add_row("mean", *(_cell(means[k], f) for _, k, f in keep), style="bold")
        console.print(table)
        for msg in r.skipped.values():
            console.print(f"  [dim]{msg}[/]")
        console.print(f"  wrote {RunDir(r.run_dir).eval_json} and {RunDir(r.run_dir).eval_png}")


def main(argv: list[str] | None = None) -> int:
    from splatdream.evaluate.run import evaluate_run
    from splatdream.evaluate.scorers import Scorers

    cmd = checked(tyro.cli(EvalCommand, args=argv, prog="splatdream eval"), omit=("eval.",))
    if not cmd.run_dirs:
        raise SystemExit("splatdream eval: give at least one run directory")
    scorers = Scorers(cmd.eval)
    results = []
    for run_dir in cmd.run_dirs:
        try:
            results.append(evaluate_run(run_dir, cmd.eval, scorers=scorers))
        except RunDirError as exc:
            raise SystemExit(f"splatdream eval: {exc}") from exc
    if cmd.json:
        json.dump([r.to_json() for r in results], sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print_table(results)
    return 0
