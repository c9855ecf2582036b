"""Prior throughput: TinyPrior noise predictions per second on CPU (batch 8, with and without CFG);
on CUDA, ms per Stable Diffusion 2.1 UNet call at 64x64 latents in fp16 (sd21-random: RANDOM weights).

    python benchmarks/priors.py [--threads 1] [--out benchmarks/results/priors.md]

Writes a Markdown table; CUDA rows are skipped without a GPU.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import torch
from bench_util import load_tiny_prior, markdown_table, smoke, write_report


def _rate(
    fn, batch: int, min_seconds: float = smoke(3.0, 0.0), warmup: int = smoke(2, 1)
) -> tuple[float, float]:
    """(images per second, ms per call) of ``fn`` run for at least ``min_seconds``."""
    for _ in range(warmup):
        fn()
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < min_seconds or calls < 3:
        fn()
        calls += 1
    dt = (time.perf_counter() - start) / calls
    return batch / dt, dt * 1000


@torch.no_grad()
def tiny_rows(threads: int) -> list[tuple[str, str, str, str]]:
    torch.set_num_threads(threads)
    prior, shipped = load_tiny_prior()
    label = "TinyPrior (shipped weights)" if shipped else "TinyPrior (untrained: no shipped weights)"
    x = torch.randn(8, 3, 32, 32)
    t = torch.randint(20, 980, (8,))
    emb = prior.encode_prompts(["a red chair, front view"])
    rows = []
    for cfg_scale, name in ((1.0, "no CFG"), (7.5, "CFG (2 branches)")):
        ips, ms = _rate(
            lambda cfg_scale=cfg_scale: prior.predict_noise(x, t, emb, guidance_scale=cfg_scale), 8
        )
        rows.append(
            (f"{label}, {name}", f"CPU, {threads} thread(s)", f"{ips:.1f} predictions/s", f"{ms:.1f} ms/call")
        )
    return rows


@torch.no_grad()
def sd_rows() -> list[tuple[str, str, str, str]]:
    if not torch.cuda.is_available():
        return [("SD 2.1 UNet (sd21-random), 64x64 latents, fp16", "CUDA", "skipped: no GPU", "-")]
    from splatdream.priors.config import PriorConfig
    from splatdream.priors.loader import load_prior

    prior = load_prior(PriorConfig(kind="sd", path="sd21-random", dtype="float16"), "cuda")
    emb = prior.encode_prompts(["a red chair, front view"])
    rows = []
    for batch in (1, 4):
        x = torch.randn(batch, 4, 64, 64, device="cuda", dtype=torch.float16)
        t = torch.randint(20, 980, (batch,), device="cuda")
        for cfg_scale, name in ((1.0, "1 branch"), (7.5, "CFG, 2 branches")):

            def call(x: torch.Tensor = x, t: torch.Tensor = t, cfg_scale: float = cfg_scale) -> None:
                prior.predict_noise(x, t, emb, guidance_scale=cfg_scale)
                torch.cuda.synchronize()

            ips, ms = _rate(call, batch)
            rows.append(
                (
                    f"SD 2.1 UNet (sd21-random, RANDOM weights), batch {batch}, {name}, fp16 SDPA",
                    torch.cuda.get_device_name(),
                    f"{ips:.1f} latents/s",
                    f"{ms:.1f} ms/call",
                )
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "priors.md")
    args = parser.parse_args()
    rows = tiny_rows(args.threads) + sd_rows()
    intro = (
        f"`python benchmarks/priors.py --threads {args.threads}` on {platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}. Batch 8 for the TinyPrior (32x32 pixels). SD rows use the SD 2.1 "
        "architecture with RANDOM weights (`sd21-random`): timing only."
    )
    write_report(
        args.out, "Prior throughput", intro, markdown_table(("what", "device", "throughput", "latency"), rows)
    )


if __name__ == "__main__":
    main()
