"""The redream-sd21 run on one GPU, with SD-shaped RANDOM weights: step time, peak memory, stage times, kill -9 + resume.

    python benchmarks/gpu_check.py [--steps 200] [--adapt-steps 100] [--cpu-smoke]

Called by benchmarks/gpu_check.sh after the CUDA tests. Two runs of the redream-sd21 preset, each in
its own process: a measured one (512 px, 4 particles) and one killed with SIGKILL mid-distillation
and resumed with ``--resume``. Needs no network and no real weights: the prior is ``sd21-random``, and
retrieval and front alignment take CLIP when its weights are local, else the offline MiniLM embedder
(shipped starter library) and the prior as the view classifier. ``--cpu-smoke`` runs the same steps on
the CPU at toy sizes with a tiny random SD folder (tests/support/tiny_sd.py), to prove the script works.
Prints one table and writes it to benchmarks/results/gpu_check.md (gpu_check_cpu_smoke.md for the smoke).
"""

from __future__ import annotations

import argparse
import json
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


def run_config(out: Path, smoke: bool, prior: str, steps: int, adapt_steps: int, kill_run: bool,
               dtype: str = "auto") -> Any:
    """redream-sd21 with sizes and step counts only changed (and the random prior)."""
    from splatdream.config import PRESETS
    from splatdream.configio import merge

    if smoke:
        sizes: dict[str, Any] = {
            "num_particles": 2, "device": "cpu", "init": {"gaussians_per_particle": 300},
            "adapt": {"resolution": 16, "batch_size": 2, "azimuths_deg": [0.0, 90.0, 180.0, 270.0],
                      "elevations_deg": [0.0], "alignment": {"n_yaws": 4, "resolution": 32,
                                                             "timesteps": [200, 500], "noises_per_timestep": 1}},
            "distill": {"resolution": {"values": [16.0], "milestones": []}},
            "output": {"turntable_frames": 2, "turntable_size": 16},
        }
    else:
        # 512 px from the first step: the warm-up's 64 px would flatter the step time
        sizes = {"num_particles": 4, "device": "cuda",
                 "distill": {"resolution": {"values": [64.0 if kill_run else 512.0], "milestones": []}},
                 "output": {"turntable_frames": 0 if kill_run else 24, "turntable_size": 256}}
    cfg = merge(PRESETS["redream-sd21"][1], sizes)
    return merge(cfg, {
        "prompt": PROMPT, "out": str(out), "prior": {"path": prior, "dtype": dtype}, "viewer": {"enabled": False},
        "adapt": {"steps": adapt_steps, "progress": False},
        "distill": {"steps": steps, "checkpoint_every": max(1, steps // 4)},
    })


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
    timers = {"align": 0.0, "adapt": 0.0}

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

    Pipeline.align = timed("align", Pipeline.align)  # type: ignore[method-assign]
    Pipeline.adapt = timed("adapt", Pipeline.adapt)  # type: ignore[method-assign]
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    run(cfg, Console(stderr=True))
    wall = time.perf_counter() - t0
    stats.write_text(json.dumps({
        "wall_s": wall, "align_s": timers["align"], "adapt_s": timers["adapt"],
        "peak_gpu_mb": torch.cuda.max_memory_allocated() / 2**20 if cuda else None,
        "device": torch.cuda.get_device_name() if cuda else platform.processor() or "CPU",
    }))


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
    victim = launch(["--config", str(config)], tmp)
    kill_mid_distillation(victim, run_dir, min_steps=cfg.distill.checkpoint_every + 2)
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
        raise RuntimeError(f"metrics.jsonl after the resume holds steps {steps[:5]}...{steps[-5:]}, not 0..{cfg.distill.steps - 1}")
    missing = [f"particle_{i}.ply" for i in range(cfg.num_particles) if not (run_dir / f"particle_{i}.ply").is_file()]
    if missing:
        raise RuntimeError(f"the resumed run did not write {', '.join(missing)}")
    return {"killed_after": killed_at, "resumed": line.strip(), "wall_s": time.perf_counter() - t0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="distillation steps of the measured run (512 px)")
    parser.add_argument("--adapt-steps", type=int, default=100, help="LoRA adaptation steps (the preset has 500)")
    parser.add_argument("--kill-steps", type=int, default=40, help="distillation steps of the kill -9 run (64 px)")
    parser.add_argument("--dtype", default="auto", choices=("auto", "float16", "bfloat16", "float32"),
                        help="the prior's dtype (auto: float16 on CUDA)")
    parser.add_argument("--cpu-smoke", action="store_true", default=SMOKE, help="toy sizes on the CPU with a tiny random SD folder")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--worker", nargs=2, type=Path, metavar=("CONFIG", "STATS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    import torch

    smoke = args.cpu_smoke
    if not smoke and not torch.cuda.is_available():
        raise SystemExit("gpu_check: no CUDA GPU visible; run on a GPU machine or pass --cpu-smoke (GPU_CHECK_TINY=1)")
    out = args.out or ROOT / "benchmarks" / "results" / ("gpu_check_cpu_smoke.md" if smoke else "gpu_check.md")
    with tempfile.TemporaryDirectory(prefix="gpu_check-") as name:
        tmp = Path(name)
        if smoke:
            from tests.support.tiny_sd import write_tiny_sd

            prior = str(write_tiny_sd(tmp / "tiny_sd"))
            steps, kill_steps = min(args.steps, 12), min(args.kill_steps, 40)
        else:
            prior, steps, kill_steps = "sd21-random", args.steps, args.kill_steps
        measured = measured_run(tmp, run_config(tmp / "measured", smoke, prior, steps, args.adapt_steps, False,
                                                args.dtype))
        killed = kill_and_resume(tmp, run_config(tmp / "killed", smoke, prior, kill_steps, min(args.adapt_steps, 10),
                                                 True, args.dtype))
    write(out, smoke, measured, killed, steps)


def write(path: Path, smoke: bool, m: dict[str, Any], k: dict[str, Any], steps: int) -> None:
    res = "16 px, 2 particles, tiny random SD (CPU smoke)" if smoke else "512 px, 4 particles, sd21-random fp16"
    peak = "n/a (CPU)" if m["peak_gpu_mb"] is None else f"{m['peak_gpu_mb']:.0f} MB"
    rows = [
        ("distillation, seconds per step (median; mean)", f"{m['sec_per_step']:.3f} s; {m['sec_per_step_mean']:.3f} s",
         f"{m['steps']} VSD steps, {res}, Gaussians at the end {m['gaussians']}"),
        ("peak GPU memory (torch.cuda.max_memory_allocated)", peak, "the whole measured run"),
        ("front alignment", f"{m['align_s']:.1f} s", "all retrieved assets"),
        ("LoRA adaptation", f"{m['adapt_s']:.1f} s", f"{m['adapt_steps']} steps, incl. rendering its views"),
        ("measured run, wall", f"{m['wall_s']:.1f} s", "prior load to export"),
        ("kill -9 mid-distillation, --resume", "completed", f"killed after {k['killed_after']} steps; "
         f"{k['resumed']}; {k['wall_s']:.1f} s for both processes"),
    ]
    weights = "a tiny random SD-shaped folder" if smoke else "RANDOM SD 2.1-shaped weights (timing and memory only)"
    intro = (f"`bash benchmarks/gpu_check.sh` on {m['device']}, {time.strftime('%Y-%m-%d')}: the redream-sd21 preset "
             f"with {weights}, {steps} distillation steps.")
    if smoke:
        intro = "CPU SMOKE RUN (GPU_CHECK_TINY=1): proves the script works; these are not GPU figures. " + intro
    write_report(path, "GPU check: redream-sd21", intro, markdown_table(("what", "measured", "conditions"), rows))


if __name__ == "__main__":
    main()
