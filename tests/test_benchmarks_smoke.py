"""Every script in benchmarks/ runs its code path on the CPU in smoke mode (BENCH_SMOKE=1: toy sizes, reports
written aside), so a script a doc tells a user to run cannot rot unnoticed (issue 24: benchmarks/pipeline.py
failed with a TypeError on its CUDA branch and nobody ran it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"

# script -> (extra arguments, the report its smoke run must write into BENCH_SMOKE_OUT, or None: prints only)
SCRIPTS: dict[str, tuple[list[str], str | None]] = {
    "adapt.py": ([], "adapt.md"),
    "adapt_sweep.py": ([], None),
    "densify.py": ([], None),
    "export.py": ([], "export.md"),
    "gpu_check.py": (["--steps", "3", "--kill-steps", "6", "--adapt-steps", "2"], "gpu_check_cpu_smoke.md"),
    "init.py": ([], "init.md"),
    "pipeline.py": ([], "pipeline.md"),
    "priors.py": ([], "priors.md"),
    "quality.py": ([], "quality.md"),
    "ray.py": (["--cpus", "1"], "ray.md"),
    "render.py": ([], "render.md"),
    "retrieval.py": ([], "retrieval.md"),
    "viewer_overhead.py": ([], "viewer.md"),
    "full_scale_cpu.py": ([], "full_scale_cpu.md"),
}


def test_every_benchmark_script_has_a_smoke_run() -> None:
    scripts = {p.name for p in BENCH.glob("*.py")} - {"bench_util.py"}
    assert scripts == set(SCRIPTS), "add the new script to SCRIPTS (and give it a BENCH_SMOKE=1 mode)"


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_benchmark_smoke(script: str, tmp_path: Path) -> None:
    args, report = SCRIPTS[script]
    results = {p: p.stat().st_mtime_ns for p in (BENCH / "results").glob("*")}
    env = dict(
        os.environ,
        BENCH_SMOKE="1",
        BENCH_SMOKE_OUT=str(tmp_path),
        HF_HUB_OFFLINE="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        OMP_NUM_THREADS="1",
    )
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, (
        f"{script} failed in smoke mode:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    if report is not None:
        text = (tmp_path / report).read_text()
        assert "| ---" in text or "|---" in text  # a Markdown table
    else:
        assert done.stdout.strip()
    # the measured results are never overwritten by a smoke run
    assert {p: p.stat().st_mtime_ns for p in (BENCH / "results").glob("*")} == results
