"""Distillation cost: seconds per step and peak memory for 1, 2 and 4 particles at 64px (CPU, cpu-tiny),
the wall time of the README's default run, and on CUDA the it/s of redream-sd21 (RANDOM SD weights).

    python benchmarks/pipeline.py [--threads 2] [--steps 12] [--skip-default-run]
    BENCH_SMOKE=1 python benchmarks/pipeline.py   # CI: 1 particle, 1 step, and the redream-sd21 worker on
                                                  # the CPU with a tiny random SD folder (no default run)

Each configuration runs in a fresh subprocess, so "peak mem" (VmHWM: the process's peak resident
memory, prior and text encoder included) is not inflated by what earlier rows left behind. Writes benchmarks/results/pipeline.md.
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
from dataclasses import replace
from pathlib import Path

import torch
from bench_util import SMOKE, markdown_table, rss_kb, smoke, write_report

RESULTS = Path(__file__).parent / "results" / "pipeline.md"
PROMPT = "a blue chair"


def _captions(n: int) -> list[str]:
    from splatdream.starter.build import load_manifest

    chairs = [e for e in load_manifest() if e.category == "chair"]
    return [chairs[i % len(chairs)].caption for i in range(n)]


def _particles(n: int, gaussians: int, device: str):  # -> list[Gaussians]
    from splatdream.init.from_mesh import mesh_to_gaussians
    from splatdream.retrieval.meshes import load_mesh
    from splatdream.starter.build import load_manifest

    chairs = [e for e in load_manifest() if e.category == "chair"]
    return [
        mesh_to_gaussians(load_mesh(chairs[i % len(chairs)].path), gaussians, seed=i).to(device)
        for i in range(n)
    ]


def worker(preset: str, particles: int, steps: int, threads: int) -> dict:
    """Time ``steps`` distillation steps (after 2 warm-up steps) of ``preset``'s trainer.

    redream-sd21 runs on CUDA with SD 2.1-shaped RANDOM weights (``sd21-random``) at 512 px; in smoke mode on the
    CPU with a tiny random SD folder at its 16 px, through the same code. Its regulariser's references are the
    initial particles (the retrieved assets they start from), as in a run.
    """
    from splatdream.config import PRESETS
    from splatdream.distill.schedule import Steps
    from splatdream.distill.trainer import Trainer
    from splatdream.priors.loader import load_prior

    torch.set_num_threads(threads)
    cfg = PRESETS[preset][1]
    sd = preset == "redream-sd21"
    cuda = sd and not SMOKE
    device = "cuda" if cuda else "cpu"
    distill = replace(cfg.distill, densify=replace(cfg.distill.densify, enabled=False))
    gaussians = smoke(cfg.init.gaussians_per_particle, 500)
    if sd and SMOKE:
        from tests.support.tiny_sd import write_tiny_sd

        folder = write_tiny_sd(Path(tempfile.mkdtemp(prefix="bench-sd-")) / "sd")
        prior = load_prior(replace(cfg.prior, path=str(folder), dtype="float32", image_size=None), "cpu")
        label = "tiny random SD folder (smoke: proves the script, not a timing)"
        distill = replace(distill, resolution=Steps((16.0,), ()))
    elif sd:
        prior = load_prior(replace(cfg.prior, path="sd21-random", dtype="float16"), "cuda")
        label = "SD 2.1 architecture, RANDOM weights (timing only)"
        distill = replace(distill, resolution=Steps((512.0,), ()))  # the preset renders 512 px throughout
    else:
        label = "shipped weights"
        try:
            prior = load_prior(cfg.prior, "cpu")
        except FileNotFoundError:  # no shipped TinyPrior: an untrained one costs the same
            from splatdream.priors.tiny_prior import TinyArch, TinyPrior, build_tiny_unet

            prior, label = TinyPrior(build_tiny_unet(), TinyArch()), "UNTRAINED TinyPrior (same cost)"
    parts = _particles(particles, gaussians, device)
    references = [p.detach().clone() for p in parts] if distill.retrieval_reg_every > 0 else None
    # cpu-tiny scores the references under their assets' captions; the starter chairs' own captions stand in
    captions = (
        _captions(len(parts)) if references is not None and distill.reference_text == "caption" else None
    )
    trainer = Trainer(
        distill, prior, PROMPT, parts, references=references, device=device, reference_captions=captions
    )
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    for _ in range(smoke(2, 1)):
        trainer.step()
    sync()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        trainer.step()
        sync()
        times.append(time.perf_counter() - t0)
    # CPU: the whole process's peak resident memory (prior, text encoder, particles, autograd), which
    # is what a user's machine must hold; CUDA: peak allocated GPU memory during the timed steps.
    peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else rss_kb("VmHWM") / 1024
    return {
        "sec_per_step": statistics.median(times),
        "peak_mb": peak,
        "label": label,
        "resolution": int(distill.resolution(0, distill.steps)),
        "gaussians": gaussians,
    }


def run_worker(preset: str, particles: int, steps: int, threads: int) -> dict:
    cmd = [sys.executable, __file__, "--worker", preset, str(particles), str(steps), str(threads)]
    root = str(
        Path(__file__).resolve().parents[1]
    )  # the worker imports splatdream and tests.support from here
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark worker failed ({' '.join(cmd)}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def default_run(threads: int) -> tuple[float, str]:
    """Wall time of the README's first command (minus the viewer), in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        cmd = [
            sys.executable,
            "-m",
            "splatdream",
            "--prompt",
            "a wooden rocking chair",
            "--num-particles",
            "4",
            "--no-viewer",
            "--out",
            str(Path(tmp) / "run"),
        ]
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        wall = time.perf_counter() - t0
        if done.returncode != 0:
            raise RuntimeError(f"default run failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
        return wall, " ".join(cmd[3:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=smoke(12, 1))
    parser.add_argument("--skip-default-run", action="store_true")
    parser.add_argument("--worker", nargs=4, metavar=("PRESET", "PARTICLES", "STEPS", "THREADS"))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.worker:
        preset, n, steps, threads = args.worker
        print(json.dumps(worker(preset, int(n), int(steps), int(threads))))
        return

    rows = []
    base = None
    for n in smoke((1, 2, 4), (1,)):
        r = run_worker("cpu-tiny", n, args.steps, args.threads)
        base = base or r["sec_per_step"]
        rows.append(
            (
                f"cpu-tiny VSD step, {n} particle(s), {r['gaussians']} Gaussians each, {r['resolution']}px",
                f"CPU, {args.threads} thread(s)",
                f"{r['sec_per_step']:.3f} s/step",
                f"{r['sec_per_step'] / base:.2f}x",
                f"{r['peak_mb']:.0f} MB",
                r["label"],
            )
        )
    if torch.cuda.is_available() or SMOKE:
        n = smoke(4, 2)
        r = run_worker("redream-sd21", n, args.steps, args.threads)
        rows.append(
            (
                f"redream-sd21 VSD step, {n} particles, {r['gaussians']} Gaussians each, {r['resolution']}px",
                smoke(torch.cuda.get_device_name() if torch.cuda.is_available() else "", "CPU (smoke)"),
                f"{1 / r['sec_per_step']:.2f} it/s",
                "-",
                f"{r['peak_mb']:.0f} MB" + smoke(" (GPU)", ""),
                r["label"],
            )
        )
    else:
        rows.append(("redream-sd21 VSD step at 512px", "CUDA", "skipped: no GPU", "-", "-", "-"))
    if not (args.skip_default_run or SMOKE):
        wall, cmd = default_run(args.threads)
        rows.append(
            (
                f"default run end to end: `splatdream {cmd}`",
                f"CPU, {args.threads} thread(s)",
                f"{wall:.0f} s wall",
                "-",
                "-",
                "retrieve + align + adapt + distil + export",
            )
        )
    load = os.getloadavg()[0]
    intro = (
        f"`python benchmarks/pipeline.py --threads {args.threads} --steps {args.steps}` on "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}; "
        f"load average {load:.1f} at the end. Median of {args.steps} steps after 2 warm-up steps, densification off "
        "(so every step has the same Gaussians); peak mem is the process's peak resident memory (CPU) or the "
        "peak allocated GPU memory over the timed steps (CUDA), each row in a fresh process; ratios are against the "
        "1-particle row of the same run."
    )
    table = markdown_table(
        ("what", "device", "time", "vs 1 particle", "peak mem", "prior"),
        rows,
        ("---", "---", "---", "---:", "---:", "---"),
    )
    write_report(args.out, "Distillation cost", intro, table)


if __name__ == "__main__":
    main()
