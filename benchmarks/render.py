"""Benchmark: the pure-torch rasteriser against a dense brute-force reference, forward + backward.

Run ``python benchmarks/render.py``. Each configuration runs in its own subprocess so memory is
measured cleanly: "peak mem" is the growth of the process's peak resident set (VmHWM, reset via
/proc/self/clear_refs just before the timed runs) over its resident set at that moment, i.e. the
extra RAM the render + backward needed, allocator slack included. Time is the median wall time
of forward + ``loss.backward()`` over a few runs after one warm-up, gradients w.r.t. means,
quats, scales, opacities and SH. The dense reference builds [cameras, pixels, Gaussians] tensors
and is skipped where its estimated footprint exceeds ``dense_budget_gb``. The markdown table is
printed and written to ``benchmarks/results/render.md``.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from bench_util import reset_peak_rss, results_path, rss_kb, smoke
from torch import Tensor

RESULTS = Path(__file__).resolve().parent / "results" / "render.md"
CONFIGS = smoke([(10_000, 64), (20_000, 128), (50_000, 256)], [(300, 16)])
DENSE_BYTES_PER_ENTRY = 60  # bytes per [C, P, N] entry at the peak, measured at (10k, 64², 1 camera)


@dataclass(frozen=True)
class Config:
    cameras: tuple[int, ...] = smoke((1, 4), (1,))
    """Camera counts to run every (Gaussians, resolution) configuration with."""
    repeats: int = smoke(3, 1)
    """Timed runs per configuration (after one warm-up); the median is reported."""
    threads: int = 0
    """torch intra-op threads; 0 keeps torch's default (the number of cores)."""
    dense_budget_gb: float = 3.0
    """Skip the dense reference where its estimated footprint is above this."""
    output: Path = RESULTS
    """Where the markdown table is written."""


def make_scene(n: int, size: int, n_cams: int) -> dict[str, Tensor | int]:
    """Gaussians in the unit ball, scales 0.01-0.03, cameras on a ring at distance 2.8 (fov 45 deg)."""
    from splatdream.scene import Gaussians, orbit_ring

    gen = torch.Generator().manual_seed(0)
    g = Gaussians.random_ball(n, radius=1.0, scale=0.02, opacity=0.5, sh_degree=0, generator=gen)
    log_scales = torch.empty(n, 3).uniform_(
        float(torch.log(torch.tensor(0.01))), float(torch.log(torch.tensor(0.03))), generator=gen
    )
    logit_opa = torch.logit(torch.empty(n).uniform_(0.1, 0.9, generator=gen))
    cams = orbit_ring(n_cams, size, size, elevation_deg=20.0, radius=2.8, fov_y_deg=45.0)
    return {
        "means": g.means,
        "quats": g.quats,
        "log_scales": log_scales,
        "logit_opa": logit_opa,
        "sh": g.sh,
        "viewmats": cams.viewmats,
        "Ks": cams.Ks,
        "size": size,
    }


def dense_render(means, quats, scales, opacities, sh, viewmats, Ks, size):  # type: ignore[no-untyped-def]
    """Brute force: every pixel against every Gaussian as [C, P, N] tensors, plain autograd."""
    from splatdream.render.projection import ALPHA_THRESHOLD, project_gaussians
    from splatdream.render.sh import eval_sh_colors

    proj = project_gaussians(means, quats, scales, opacities, viewmats, Ks, size, size)
    campos = torch.linalg.inv(viewmats)[:, :3, 3]
    rgb = eval_sh_colors(0, means[None] - campos[:, None], sh[None].expand(len(viewmats), -1, -1, -1))
    order = torch.argsort(proj.depths, dim=1, stable=True)  # [C, N]
    take = lambda t: torch.gather(t, 1, order.reshape(order.shape + (1,) * (t.ndim - 2)).expand_as(t))
    m2d, con, col = take(proj.means2d), take(proj.conics), take(rgb)
    live = take((proj.radii > 0).all(-1)[..., None])[..., 0]
    opa = opacities[order]
    ys, xs = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    pix = torch.stack([xs.reshape(-1), ys.reshape(-1)], -1).to(means) + 0.5  # [P, 2]
    dx = m2d[:, None, :, 0] - pix[None, :, None, 0]  # [C, P, N]
    dy = m2d[:, None, :, 1] - pix[None, :, None, 1]
    sigma = 0.5 * (con[:, None, :, 0] * dx * dx + con[:, None, :, 2] * dy * dy) + con[:, None, :, 1] * dx * dy
    alpha = torch.clamp_max(opa[:, None] * torch.exp(-sigma), 0.999)
    alpha = alpha * ((sigma >= 0) & (alpha >= ALPHA_THRESHOLD) & live[:, None])
    t_incl = torch.cumprod(1 - alpha, dim=-1)
    t_excl = torch.cat([torch.ones_like(t_incl[..., :1]), t_incl[..., :-1]], -1)
    weight = alpha * t_excl * (t_incl > 1e-4)
    img = weight @ col  # [C, P, 3]
    return img.reshape(len(viewmats), size, size, 3)


def worker(backend: str, n: int, size: int, n_cams: int, repeats: int) -> dict:
    from splatdream.render.torch_backend import rasterization_torch

    s = make_scene(n, size, n_cams)
    leaves = {k: s[k].clone().requires_grad_() for k in ("means", "quats", "log_scales", "logit_opa", "sh")}

    def run() -> Tensor:
        args = (leaves["means"], leaves["quats"], leaves["log_scales"].exp(), leaves["logit_opa"].sigmoid())
        if backend == "torch":
            img = rasterization_torch(*args, leaves["sh"], s["viewmats"], s["Ks"], size, size, sh_degree=0)[0]
        else:
            img = dense_render(*args, leaves["sh"], s["viewmats"], s["Ks"], size)
        img.sum().backward()
        for t in leaves.values():
            t.grad = None
        return img.detach()

    reset_peak_rss()
    base = rss_kb("VmRSS")
    img = run()  # warm-up, also measured for memory
    times, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        run()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    peak_mb = (rss_kb("VmHWM") - base) / 1024
    path = f"/tmp/splatdream_bench_{os.getpid()}.pt"
    torch.save(img, path)
    return {
        "time_s": statistics.median(times),
        "cpu_s": statistics.median(cpu),
        "peak_mb": peak_mb,
        "image": path,
    }


def run_worker(cfg: Config, backend: str, n: int, size: int, n_cams: int) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        backend,
        str(n),
        str(size),
        str(n_cams),
        str(cfg.repeats),
        str(cfg.threads),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark worker failed ({' '.join(cmd)}):\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    import tyro

    cfg = tyro.cli(Config, args=argv, prog="python benchmarks/render.py")
    threads = cfg.threads or torch.get_num_threads()
    lines = [
        "| Gaussians | image | cameras | torch fwd+bwd wall (s) | torch CPU (s) | torch peak mem (MB) "
        "| dense fwd+bwd wall (s) | dense CPU (s) | dense peak mem (MB) | speed-up (wall) | max abs diff |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, size in CONFIGS:
        for n_cams in cfg.cameras:
            ours = run_worker(cfg, "torch", n, size, n_cams)
            need_gb = n_cams * size * size * n * DENSE_BYTES_PER_ENTRY / 1e9
            if need_gb <= cfg.dense_budget_gb:
                dense = run_worker(cfg, "dense", n, size, n_cams)
                diff = (torch.load(ours["image"]) - torch.load(dense["image"])).abs().max().item()
                os.remove(dense["image"])
                cells = [
                    f"{dense['time_s']:.3f}",
                    f"{dense['cpu_s']:.2f}",
                    f"{dense['peak_mb']:.0f}",
                    f"{dense['time_s'] / ours['time_s']:.1f}x",
                    f"{diff:.1e}",
                ]
            else:
                cells = [f"n/a (would need ~{need_gb:.0f} GB)", "n/a", "n/a", "n/a", "n/a"]
            os.remove(ours["image"])
            row = [
                f"{n:,}",
                f"{size}²",
                str(n_cams),
                f"{ours['time_s']:.3f}",
                f"{ours['cpu_s']:.2f}",
                f"{ours['peak_mb']:.0f}",
                *cells,
            ]
            lines.append("| " + " | ".join(row) + " |")
            print(lines[-1], flush=True)
    header = (
        f"Render benchmark (`python benchmarks/render.py`): {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, torch {torch.__version__} with {threads} thread(s), load average "
        f"{os.getloadavg()[0]:.1f} at the end (other jobs shared the cores, so wall times include waiting; "
        f"CPU is this process's CPU time, summed over its threads). Median of {cfg.repeats} forward+backward "
        "runs; peak mem is the growth of peak resident memory during the runs (see the script's docstring).\n\n"
    )
    text = header + "\n".join(lines) + "\n"
    print("\n" + text)
    output = results_path(cfg.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(output)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        backend, n, size, n_cams, repeats, threads = sys.argv[2:8]
        if int(threads) > 0:
            torch.set_num_threads(int(threads))
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        print(json.dumps(worker(backend, int(n), int(size), int(n_cams), int(repeats))))
    else:
        main()
