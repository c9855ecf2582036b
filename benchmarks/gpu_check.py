"""The redream-sd21 run on one GPU, with SD-shaped RANDOM weights: step time, peak memory, stage times,
Gaussian counts per refine, the t_max drop, and a kill -9 after a refine + resume.

    python benchmarks/gpu_check.py [--steps 120] [--adapt-steps 100] [--cpu-smoke]

Called by benchmarks/gpu_check.sh after the CUDA tests. Two runs of the redream-sd21 preset, each in
its own process: a measured one (512 px, 4 particles) and one killed with SIGKILL mid-distillation
after a refine and resumed with ``--resume``. Needs no network, no real weights and none of LanceDB, the
MiniLM package, open_clip, imageio-ffmpeg or viser (the GPU machine has none of them): the prior is
``sd21-random``, "retrieval" hands the run three starter-library chairs (``starter_retrieve``: the
shipped meshes, no index), front alignment scores with the prior (the diffusion classifier), and no
video is written. The densification schedule is shortened so that a short run reaches at least two
refines, a densified checkpoint and the t_max drop. ``--cpu-smoke`` runs the same steps on the CPU at
toy sizes with a tiny random SD folder (tests/support/tiny_sd.py), to prove the script works.
Prints one table and writes it to benchmarks/results/gpu_check.md (gpu_check_cpu_smoke.md for the smoke).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.support: the tiny SD folder and the kill -9 helper
from bench_util import SMOKE, markdown_table, write_report  # noqa: E402

PROMPT = "a wooden chair"


def schedule(steps: int) -> dict[str, Any]:
    """Densification and t_max for a ``steps``-step check: refines at 1/6, 2/6, ... of the run (so >= 2 land
    before the kill and more after), the t_max drop at 1/2 (the preset drops at 1/3 of its 1,200 steps)."""
    every = max(2, steps // 6)
    return {
        "densify": {"refine_start": every - 1, "refine_every": every, "refine_stop": 1.0},
        "t_max": {"values": [0.98, 0.5], "milestones": [0.5]},
    }


def run_config(
    out: Path, smoke: bool, prior: str, steps: int, adapt_steps: int, kill_run: bool, dtype: str = "auto"
) -> Any:
    """redream-sd21 with sizes, step counts and the refine/t_max schedule changed (and the random prior)."""
    from splatdream.config import PRESETS
    from splatdream.configio import merge

    if smoke:
        sizes: dict[str, Any] = {
            "num_particles": 2,
            "device": "cpu",
            "init": {"gaussians_per_particle": 300},
            "adapt": {
                "resolution": 16,
                "batch_size": 2,
                "azimuths_deg": [0.0, 90.0, 180.0, 270.0],
                "elevations_deg": [0.0],
                "alignment": {
                    "n_yaws": 4,
                    "resolution": 32,
                    "timesteps": [200, 500],
                    "noises_per_timestep": 1,
                },
            },
            "distill": {"resolution": {"values": [16.0], "milestones": []}},
            "output": {"turntable_frames": 0},
        }
    else:
        # 512 px from the first step: the warm-up's 64 px would flatter the step time
        sizes = {
            "num_particles": 4,
            "device": "cuda",
            "distill": {"resolution": {"values": [64.0 if kill_run else 512.0], "milestones": []}},
            "output": {"turntable_frames": 0},
        }  # no video: imageio-ffmpeg is not on the GPU machine
    cfg = merge(PRESETS["redream-sd21"][1], sizes)
    every = schedule(steps)["densify"]["refine_every"]
    return merge(
        cfg,
        {
            "prompt": PROMPT,
            "out": str(out),
            "prior": {"path": prior, "dtype": dtype},
            "viewer": {"enabled": False},
            "adapt": {"steps": adapt_steps, "progress": False, "alignment": {"scorer": "diffusion"}},
            "output": {"formats": []},
            # a checkpoint just after the second refine: the kill lands after it, so the resume loads densified particles
            "distill": {"steps": steps, "checkpoint_every": 2 * every + 1, **schedule(steps)},
        },
    )


# -- retrieval without LanceDB -------------------------------------------------------------------------------
def starter_retrieve(self: Any) -> tuple[list[Any], list[Any]]:
    """``Pipeline.retrieve`` without an index: the first three chairs of the shipped starter library."""
    from types import SimpleNamespace

    from splatdream.atomic import atomic_write
    from splatdream.retrieval.meshes import load_mesh  # trimesh only (retrieval.library would import LanceDB)
    from splatdream.starter.build import load_manifest

    chairs = [e for e in load_manifest() if e.category == "chair"][: self.cfg.retrieval.k]
    # source 'gpu_check', not the starter's: the check exercises the front alignment at the prior's size
    hits = [
        SimpleNamespace(rank=i, id=e.name, caption=e.caption, weak=False, source="gpu_check")
        for i, e in enumerate(chairs)
    ]
    for h in hits:
        self.say(f"  starter asset #{h.rank}: {h.caption} (gpu_check: no retrieval index)")
    with atomic_write(self.run_dir / "retrieved.json") as tmp:
        tmp.write_text(json.dumps([vars(h) for h in hits], indent=2))
    return hits, [load_mesh(e.path) for e in chairs]


def run_cli(config: Path) -> None:
    """``splatdream --config CONFIG`` with the starter retrieval (the kill -9 run's first process)."""
    from splatdream.pipeline import Pipeline, main

    Pipeline.retrieve = starter_retrieve  # type: ignore[method-assign]
    raise SystemExit(main(["--config", str(config), "--no-viewer"]))


# -- the measured run (in its own process: --worker) ---------------------------------------------------------
def worker(config: Path, stats: Path) -> None:
    """Run the pipeline on ``config`` with the alignment and adaptation timed; write the figures to ``stats``."""
    import torch
    from rich.console import Console

    from splatdream.config import RunConfig
    from splatdream.configio import load_yaml
    from splatdream.pipeline import Pipeline, run

    cfg = load_yaml(RunConfig, config)
    cuda = cfg.device.startswith("cuda")
    timers = {"load_prior": 0.0, "retrieve": 0.0, "align": 0.0, "adapt": 0.0, "export": 0.0}
    Pipeline.retrieve = starter_retrieve  # type: ignore[method-assign]

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    def timed(name: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kw: Any) -> Any:
            sync()
            t0 = time.perf_counter()
            try:
                return fn(*args, **kw)
            finally:
                sync()
                timers[name] += time.perf_counter() - t0

        return wrapper

    for name in timers:
        setattr(Pipeline, name, timed(name, getattr(Pipeline, name)))
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    run(cfg, Console(stderr=True))
    wall = time.perf_counter() - t0
    stats.write_text(
        json.dumps(
            {
                "wall_s": wall,
                **{f"{k}_s": v for k, v in timers.items()},
                "peak_gpu_mb": torch.cuda.max_memory_allocated() / 2**20 if cuda else None,
                "device": torch.cuda.get_device_name() if cuda else platform.processor() or "CPU",
            }
        )
    )


def measured_run(tmp: Path, cfg: Any) -> dict[str, Any]:
    from splatdream.configio import dump_yaml

    config, stats = tmp / "measured.yaml", tmp / "measured.json"
    config.write_text(dump_yaml(cfg))
    subprocess.run([sys.executable, __file__, "--worker", str(config), str(stats)], check=True)
    out = json.loads(stats.read_text())
    records = [json.loads(line) for line in (Path(cfg.out) / "metrics.jsonl").read_text().splitlines()]
    seconds = [r["seconds"] for r in records[3:]] or [r["seconds"] for r in records]  # past the warm-up
    out["sec_per_step"] = statistics.median(seconds)
    out["sec_per_step_mean"] = statistics.fmean(seconds)
    out["steps"] = len(records)
    out["gaussians"] = records[-1]["num_gaussians"]
    out["distil_s"] = sum(r["seconds"] for r in records)
    out["refines"] = [
        (r["step"], int(r["gaussians_before"]), int(r["gaussians_after"]), r.get("grow_threshold"))
        for r in records
        if "gaussians_after" in r
    ]
    drop = cfg.distill.t_max.milestone_steps(cfg.distill.steps)[0]
    before = [r["t_mean"] for r in records if r["step"] < drop]
    after = [r["t_mean"] for r in records if r["step"] >= drop]
    out["t_mean"] = (max(before), max(after)) if before and after else None
    if len(out["refines"]) < 2:
        raise RuntimeError(
            f"the measured run refined {len(out['refines'])} time(s); the check needs at least two"
        )
    adapt = json.loads((Path(cfg.out) / "adapter" / "adapt.json").read_text())
    out["adapt_steps"] = len(adapt.get("losses", []))
    for i in range(cfg.num_particles):
        if not (Path(cfg.out) / f"particle_{i}.ply").is_file():
            raise RuntimeError(f"the measured run wrote no particle_{i}.ply")
    return out


# -- kill -9 mid-distillation, then --resume ---------------------------------------------------------------
def kill_and_resume(tmp: Path, cfg: Any) -> dict[str, Any]:
    from splatdream.configio import dump_yaml
    from tests.support.runs import kill_mid_distillation, launch

    run_dir = Path(cfg.out)
    config = tmp / "killed.yaml"
    config.write_text(dump_yaml(cfg))
    t0 = time.perf_counter()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    victim = subprocess.Popen(
        [sys.executable, __file__, "--run", str(config)],
        cwd=tmp,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    kill_mid_distillation(victim, run_dir, min_steps=cfg.distill.checkpoint_every + 2)
    refined = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    refines_before_kill = sum("gaussians_after" in r for r in refined)
    killed_at = len((run_dir / "metrics.jsonl").read_text().splitlines())
    if (run_dir / "particle_0.ply").exists():
        raise RuntimeError("the run finished before the kill; raise --kill-steps")
    resumed = launch(["--resume", str(run_dir), "--no-viewer"], tmp)
    out, _ = resumed.communicate(timeout=900)
    if resumed.returncode != 0:
        raise RuntimeError(f"--resume failed (exit {resumed.returncode}):\n{out[-4000:]}")
    line = next((x for x in out.splitlines() if "resumed at step" in x), None)
    if line is None or line.strip().endswith("step 0"):
        raise RuntimeError(f"the resume did not continue from a checkpoint:\n{out[-4000:]}")
    steps = [json.loads(x)["step"] for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    if steps != list(range(cfg.distill.steps)):
        raise RuntimeError(
            f"metrics.jsonl after the resume holds steps {steps[:5]}...{steps[-5:]}, not 0..{cfg.distill.steps - 1}"
        )
    missing = [
        f"particle_{i}.ply" for i in range(cfg.num_particles) if not (run_dir / f"particle_{i}.ply").is_file()
    ]
    if missing:
        raise RuntimeError(f"the resumed run did not write {', '.join(missing)}")
    if refines_before_kill < 1:
        raise RuntimeError("the kill came before any refine; the resume must load densified particles")
    return {
        "killed_after": killed_at,
        "refines_before_kill": refines_before_kill,
        "resumed": line.strip(),
        "wall_s": time.perf_counter() - t0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--steps", type=int, default=120, help="distillation steps of the measured run (512 px)"
    )
    parser.add_argument(
        "--adapt-steps", type=int, default=100, help="LoRA adaptation steps (the preset has 500)"
    )
    parser.add_argument(
        "--kill-steps", type=int, default=40, help="distillation steps of the kill -9 run (64 px)"
    )
    parser.add_argument(
        "--dtype",
        default="auto",
        choices=("auto", "float16", "bfloat16", "float32"),
        help="the prior's dtype (auto: float16 on CUDA)",
    )
    parser.add_argument(
        "--cpu-smoke",
        action="store_true",
        default=SMOKE,
        help="toy sizes on the CPU with a tiny random SD folder",
    )
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--worker", nargs=2, type=Path, metavar=("CONFIG", "STATS"), help=argparse.SUPPRESS)
    parser.add_argument("--run", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    if args.run:
        run_cli(args.run)
    import torch

    smoke = args.cpu_smoke
    if not smoke and not torch.cuda.is_available():
        raise SystemExit(
            "gpu_check: no CUDA GPU visible; run on a GPU machine or pass --cpu-smoke (GPU_CHECK_TINY=1)"
        )
    out = args.out or ROOT / "benchmarks" / "results" / (
        "gpu_check_cpu_smoke.md" if smoke else "gpu_check.md"
    )
    with tempfile.TemporaryDirectory(prefix="gpu_check-") as name:
        tmp = Path(name)
        if smoke:
            from tests.support.tiny_sd import write_tiny_sd

            prior = str(write_tiny_sd(tmp / "tiny_sd"))
            steps, kill_steps = min(args.steps, 12), min(args.kill_steps, 18)
        else:
            prior, steps, kill_steps = "sd21-random", args.steps, args.kill_steps
        measured = measured_run(
            tmp, run_config(tmp / "measured", smoke, prior, steps, args.adapt_steps, False, args.dtype)
        )
        killed = kill_and_resume(
            tmp,
            run_config(tmp / "killed", smoke, prior, kill_steps, min(args.adapt_steps, 10), True, args.dtype),
        )
    write(out, smoke, measured, killed, steps)


def write(path: Path, smoke: bool, m: dict[str, Any], k: dict[str, Any], steps: int) -> None:
    res = (
        "16 px, 2 particles, tiny random SD (CPU smoke)" if smoke else "512 px, 4 particles, sd21-random fp16"
    )
    peak = "n/a (CPU)" if m["peak_gpu_mb"] is None else f"{m['peak_gpu_mb']:.0f} MB"
    rows = [
        (
            "distillation, seconds per step (median; mean)",
            f"{m['sec_per_step']:.3f} s; {m['sec_per_step_mean']:.3f} s",
            f"{m['steps']} VSD steps, {res}, Gaussians at the end {m['gaussians']}",
        ),
        ("peak GPU memory (torch.cuda.max_memory_allocated)", peak, "the whole measured run"),
        (
            "prior load",
            f"{m['load_prior_s']:.1f} s",
            "the tiny SD folder" if smoke else "sd21-random: building the random SD 2.1 models",
        ),
        ("starter assets (no retrieval index)", f"{m['retrieve_s']:.1f} s", "3 shipped chair meshes"),
        ("front alignment", f"{m['align_s']:.1f} s", "all retrieved assets, the prior as view classifier"),
        ("LoRA adaptation", f"{m['adapt_s']:.1f} s", f"{m['adapt_steps']} steps, incl. rendering its views"),
        ("distillation", f"{m['distil_s']:.1f} s", f"{m['steps']} steps"),
        ("export (.ply)", f"{m['export_s']:.1f} s", "no video"),
        *[
            (f"refine at step {s}", f"{a:,} -> {b:,} Gaussians", f"all particles; grew above grad2d {t:.3g}")
            for s, a, b, t in m["refines"]
        ],
        (
            "t_max drop (max t before / after)",
            "n/a" if m["t_mean"] is None else f"{m['t_mean'][0]:.2f} / {m['t_mean'][1]:.2f}",
            "fractions of the schedule",
        ),
        ("measured run, wall", f"{m['wall_s']:.1f} s", "prior load to export"),
        (
            "kill -9 after a refine, --resume",
            "completed",
            f"killed after {k['killed_after']} steps "
            f"({k['refines_before_kill']} refine(s) before); {k['resumed']}; {k['wall_s']:.1f} s for both processes",
        ),
    ]
    weights = (
        "a tiny random SD-shaped folder" if smoke else "RANDOM SD 2.1-shaped weights (timing and memory only)"
    )
    intro = (
        f"`bash benchmarks/gpu_check.sh` on {m['device']}, {time.strftime('%Y-%m-%d')}: the redream-sd21 preset "
        f"with {weights}, {steps} distillation steps."
    )
    if smoke:
        intro = (
            "CPU SMOKE RUN (GPU_CHECK_TINY=1): proves the script works; these are not GPU figures. " + intro
        )
    write_report(
        path, "GPU check: redream-sd21", intro, markdown_table(("what", "measured", "conditions"), rows)
    )


if __name__ == "__main__":
    main()
