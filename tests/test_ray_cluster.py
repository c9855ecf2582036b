"""``splatdream batch`` on a real local Ray cluster: outputs and gallery, a killed worker, a resumed batch.

The cluster is ``ray start --head`` on 127.0.0.1 with 2 CPUs (tests/support/ray_cluster.py), started
once for the module and stopped at its end. Runs are tiny: random init, 1 particle, 300 Gaussians,
8 steps at 24 px of an untrained 16 px TinyPrior.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from splatdream.batch.manifest import Manifest, read_prompts
from splatdream.ray_cluster import USAGE_STATS_ENV
from tests.support.ray_cluster import local_ray_cluster
from tests.support.tiny_runs import write_tiny_run_config

pytestmark = pytest.mark.slow

PROMPTS = ["a red chair", "a blue mug", "a green lamp"]
EVAL_ARGS = [
    "--eval.views",
    "4",
    "--eval.size",
    "32",
    "--eval.extra-elevations-deg",
    "--eval.fidelity-views",
    "2",
    "--eval.distractors",
    "2",
    "--eval.sheet-views",
    "2",
    "--eval.clip-checkpoint",
    "/nonexistent/clip.pt",
    "--eval.lpips-backbone",
    "/nonexistent/alexnet.pth",
]


@pytest.fixture(scope="module")
def ray_address():
    # The drivers these tests start in this process keep Ray's usage stats off, as the private local Ray
    # does (a Ray Data metrics poller would otherwise run in pytest's process until it exits).
    old = os.environ.get(USAGE_STATS_ENV)
    os.environ[USAGE_STATS_ENV] = "0"
    try:
        with local_ray_cluster(num_cpus=2) as address:
            yield address
    finally:
        if old is None:
            os.environ.pop(USAGE_STATS_ENV, None)
        else:
            os.environ[USAGE_STATS_ENV] = old


@pytest.fixture(scope="module")
def tiny_run_config(tmp_path_factory) -> Path:
    """A run config (YAML for --config) of an untrained tiny prior and a few steps."""
    return write_tiny_run_config(tmp_path_factory.mktemp("tiny"), steps=8, checkpoint_every=2)


def _batch_argv(prompts_file: Path, out: Path, address: str, config: Path, *extra: str) -> list[str]:
    return [
        str(prompts_file),
        "--out",
        str(out),
        "--ray-address",
        address,
        "--config",
        str(config),
        "--cpus-per-run",
        "2",
        *EVAL_ARGS,
        *extra,
    ]


def _run_batch(argv: list[str]) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run(
        [sys.executable, "-m", "splatdream", "batch", *argv],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def test_read_prompts_reports_bad_lines(tmp_path) -> None:
    path = tmp_path / "p.txt"
    path.write_text("a red chair\n\n# a comment\na  red chair\nA red chair\na blue mug\n\n")
    prompts, problems = read_prompts(path)
    assert prompts == ["a red chair", "a blue mug"]
    assert [(p.line, p.problem) for p in problems] == [
        (2, "empty line"),
        (4, "duplicate of line 1"),
        (5, "duplicate of line 1"),
    ]


def test_batch_writes_every_output_and_a_gallery_then_rerun_does_nothing(
    ray_address, tiny_run_config, tmp_path
):
    prompts_file = tmp_path / "prompts.txt"
    prompts_file.write_text("\n".join([PROMPTS[0], "", PROMPTS[1], PROMPTS[0], PROMPTS[2]]) + "\n")
    out = tmp_path / "batch"
    turntables = ("--output.turntable-frames", "2", "--output.turntable-size", "32")
    done = _run_batch(_batch_argv(prompts_file, out, ray_address, tiny_run_config, *turntables))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2: empty line; left out" in done.stdout and "4: duplicate of line 1; left out" in done.stdout

    manifest = Manifest.load(out)
    assert [e.prompt for e in manifest.entries] == PROMPTS
    index = (out / "index.html").read_text()
    for entry in manifest.entries:
        run_dir = out / entry.slug
        assert entry.status == "done" and entry.attempts == 1, entry
        for name in (
            "config.yaml",
            "metrics.jsonl",
            "checkpoint.pt",
            "init_particle_0.ply",
            "init_particle_0.png",
            "particle_0.ply",
            "eval.json",
            "eval.png",
        ):
            assert (run_dir / name).is_file(), f"{run_dir / name} missing"
        assert len((run_dir / "metrics.jsonl").read_text().splitlines()) == 8
        assert (out / "gallery" / f"{entry.slug}_0.png").is_file()
        assert entry.eval is not None and entry.eval["speckle_ratio"] is not None
        assert (run_dir / "turntable_0.mp4").is_file()
        assert entry.prompt in index and f"{entry.slug}/turntable_0.mp4" in index
    assert "speckle x" in index

    # Run again: nothing to do, no cluster work, same manifest.
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.ply")}
    again = _run_batch(_batch_argv(prompts_file, out, ray_address, tiny_run_config, *turntables))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already done" in again.stdout
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.ply")} == before
    assert [e.attempts for e in Manifest.load(out).entries] == [1, 1, 1]


def test_killed_worker_reruns_its_prompt_and_the_batch_finishes(
    ray_address, tiny_run_config, tmp_path
) -> None:
    prompts_file = tmp_path / "prompts.txt"
    prompts_file.write_text("\n".join(PROMPTS[:2]) + "\n")
    out = tmp_path / "batch"
    # 16 steps with a checkpoint every 2: the kill lands mid-run, after the first checkpoint
    argv = _batch_argv(
        prompts_file, out, ray_address, tiny_run_config, "--distill.steps", "16", "--no-evaluate"
    )
    driver = subprocess.Popen(
        [sys.executable, "-m", "splatdream", "batch", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    victim = out / "a-red-chair"
    log = out / "logs" / "a-red-chair.log"
    deadline = time.time() + 300
    pid = None
    while time.time() < deadline and driver.poll() is None:
        steps = (
            len((victim / "metrics.jsonl").read_text().splitlines())
            if (victim / "metrics.jsonl").exists()
            else 0
        )
        if steps >= 4 and (victim / "checkpoint.pt").exists():
            pid = int(re.search(r"pid (\d+)", log.read_text()).group(1))
            break
        time.sleep(0.1)
    assert pid is not None, f"the run ended or never started before the kill:\n{driver.communicate()[0]}"
    os.kill(pid, signal.SIGKILL)  # the Ray worker running 'a red chair'
    output, _ = driver.communicate(timeout=600)
    assert driver.returncode == 0, output

    entries = {e.prompt: e for e in Manifest.load(out).entries}
    assert entries["a red chair"].attempts == 2, output
    assert all(e.status == "done" for e in entries.values())
    text = log.read_text()
    assert "resumed at step" in text, text
    steps = [json.loads(line)["step"] for line in (victim / "metrics.jsonl").read_text().splitlines()]
    assert steps[-1] == 15
    for e in entries.values():
        assert (out / e.slug / "particle_0.ply").is_file()
    assert (out / "index.html").is_file()


# -- ingestion -------------------------------------------------------------------------------------------
def _library_state(root: Path) -> tuple[list[dict], dict[str, tuple[np.ndarray, object]], dict[str, bytes]]:
    from splatdream.retrieval.store import Catalogue

    cat = Catalogue(root)
    rows = sorted(cat.rows(thumbnails=True), key=lambda r: r["id"])
    table = cat.embedding_table("minilm-l6-v2")
    vectors = {
        r["id"]: (np.asarray(r["text"]), r["image"])
        for r in table.search().limit(None).to_arrow().to_pylist()
    }
    meshes = {p.name: p.read_bytes() for p in (root / "meshes").iterdir()}
    return rows, vectors, meshes


def test_ray_ingestion_gives_the_serial_rows(ray_address, tmp_path) -> None:
    import ray

    from splatdream.models.embedders import load_embedder
    from splatdream.retrieval.ingest import scan_directory
    from splatdream.retrieval.library import AssetLibrary
    from splatdream.retrieval.ray_ingest import EmbedderSpec, ingest_with_ray
    from tests.support.mesh_folder import make_mesh_folder

    items = scan_directory(make_mesh_folder(tmp_path / "meshes", 48))
    serial = AssetLibrary.open(tmp_path / "serial")
    serial_report = serial.add(items, embedders=[load_embedder("text")], progress=False)

    lib = AssetLibrary.open(tmp_path / "ray")
    ray.init(address=ray_address, log_to_driver=False, logging_level="WARNING")
    try:
        # Half first, then everything: the second call resumes (the first half are already present).
        first = ingest_with_ray(lib.catalogue, lib.root, items[:10], [EmbedderSpec("text")], batch_size=8)
        report = ingest_with_ray(lib.catalogue, lib.root, items, [EmbedderSpec("text")], batch_size=8)
    finally:
        ray.shutdown()

    assert "data-usage-metrics-poller" not in {t.name for t in threading.enumerate()}
    assert len(serial_report.added) == 48 and len(serial_report.skipped) == 1
    assert first.added + report.added == serial_report.added
    assert sorted(report.duplicates)[-1:] and len(report.duplicates) == len(first.added) + 1
    assert [s[0] for s in report.skipped] == [s[0] for s in serial_report.skipped]

    rows_s, vec_s, meshes_s = _library_state(tmp_path / "serial")
    rows_r, vec_r, meshes_r = _library_state(tmp_path / "ray")
    assert len(rows_r) == 48
    for a, b in zip(rows_s, rows_r, strict=True):
        assert a.keys() == b.keys()
        for key in a:
            np.testing.assert_equal(
                np.asarray(a[key], dtype=object), np.asarray(b[key], dtype=object), err_msg=key
            )
    assert vec_s.keys() == vec_r.keys()
    for k in vec_s:
        np.testing.assert_allclose(vec_s[k][0], vec_r[k][0], atol=1e-5)
        assert vec_s[k][1] is None and vec_r[k][1] is None
    assert meshes_s == meshes_r


def test_a_private_local_ray_keeps_usage_stats_off_unless_the_user_chose(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from splatdream.ray_cluster import private_local_ray

    monkeypatch.delenv(USAGE_STATS_ENV, raising=False)
    with private_local_ray():
        assert os.environ[USAGE_STATS_ENV] == "0"
    assert USAGE_STATS_ENV not in os.environ
    monkeypatch.setenv(USAGE_STATS_ENV, "1")
    with private_local_ray():
        assert os.environ[USAGE_STATS_ENV] == "1"
    assert os.environ[USAGE_STATS_ENV] == "1"
