"""Every script in benchmarks/ runs its code path on the CPU in smoke mode (BENCH_SMOKE=1: toy sizes, reports
written aside), so a script a doc tells a user to run cannot rot unnoticed (issue 24: benchmarks/pipeline.py
failed with a TypeError on its CUDA branch and nobody ran it)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"

# script -> (extra arguments, the report its smoke run must write into BENCH_SMOKE_OUT, or None: prints only)
SCRIPTS: dict[str, tuple[list[str], str | None]] = {
    "adapt.py": ([], "adapt.md"),
    "adapt_sweep.py": ([], None),
    "colour_drift.py": ([], None),
    "densify.py": ([], None),
    "export.py": ([], "export.md"),
    "gpu_check.py": (["--steps", "6", "--kill-steps", "12", "--adapt-steps", "2"], "gpu_check_cpu_smoke.md"),
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


#: benchmarks/results/ as it was before any smoke run started
RESULTS_BEFORE: dict[Path, int] = {}


def _smoke_run(script: str, out: Path) -> subprocess.CompletedProcess[str]:
    args, _ = SCRIPTS[script]
    env = dict(
        os.environ,
        BENCH_SMOKE="1",
        BENCH_SMOKE_OUT=str(out),
        HF_HUB_OFFLINE="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        OMP_NUM_THREADS="1",
    )
    return subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def smoke_runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, tuple[Future, Path]]]:
    """The selected scripts' smoke runs, started together two at a time: each runs single-threaded
    (OMP_NUM_THREADS=1) and most of its time is imports, so two share CI's 2 cores at half the wall time."""
    selected: set[str] = {
        str(item.callspec.params["script"])
        for item in request.session.items
        if isinstance(item, pytest.Function) and item.originalname == "test_benchmark_smoke"
    }
    RESULTS_BEFORE.update({p: p.stat().st_mtime_ns for p in (BENCH / "results").glob("*")})
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = {}
        for script in sorted(selected):
            out = tmp_path_factory.mktemp(script.removesuffix(".py"))
            runs[script] = (pool.submit(_smoke_run, script, out), out)
        yield runs
        for future, _ in runs.values():
            future.cancel()


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_benchmark_smoke(script: str, smoke_runs: dict[str, tuple[Future, Path]]) -> None:
    future, out = smoke_runs[script]
    done = future.result()
    assert done.returncode == 0, (
        f"{script} failed in smoke mode:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    report = SCRIPTS[script][1]
    if report is not None:
        text = (out / report).read_text()
        assert "| ---" in text or "|---" in text  # a Markdown table
    else:
        assert done.stdout.strip()
    # the measured results are never overwritten by a smoke run
    assert {p: p.stat().st_mtime_ns for p in (BENCH / "results").glob("*")} == RESULTS_BEFORE
