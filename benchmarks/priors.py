"""Prior throughput: TinyPrior noise predictions per second on CPU (batch 8, with and without CFG);
on CUDA, ms per Stable Diffusion 2.1 UNet call at 64x64 latents in fp16 (sd21-random: RANDOM weights).
Then the TinyPrior's palette: for every colour and material word of the project's table, DDIM samples of
"a <word> chair, front view" and the Delta E of each sample's object colour to the word (issue 26: which
colours can distillation reach at all?).

    python benchmarks/priors.py [--threads 1] [--samples 8] [--out benchmarks/results/priors.md]

Writes Markdown tables; CUDA rows are skipped without a GPU.
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


def object_colour(image: torch.Tensor) -> torch.Tensor:
    """Mean sRGB [3] of the pixels of ``image`` [3, H, W] that differ from its background, taken as the
    median colour of its border (the TinyPrior paints objects on random solid backgrounds); NaN if none do."""
    from splatdream.colours import srgb_to_lab

    border = torch.cat([image[:, 0], image[:, -1], image[:, :, 0], image[:, :, -1]], dim=1)  # [3, 4W]
    bg = border.median(dim=1).values
    pixels = image.reshape(3, -1).T
    far = (srgb_to_lab(pixels) - srgb_to_lab(bg)).norm(dim=-1) > 15.0
    return pixels[far].mean(0) if int(far.sum()) >= 8 else torch.full((3,), float("nan"))


@torch.no_grad()
def palette_rows(samples: int) -> list[tuple[str, str, str, str]]:
    """Per word: median and best Delta E of ``samples`` DDIM samples' object colour to the word."""
    import statistics

    from splatdream.colours import COLOUR_WORDS, delta_e
    from splatdream.priors.sample import ddim_sample

    prior, _ = load_tiny_prior()
    words = COLOUR_WORDS[: smoke(len(COLOUR_WORDS), 2)]
    prompts = [f"a {w.word} chair, front view" for w in words for _ in range(samples)]
    images = ddim_sample(prior, prompts, steps=smoke(30, 2), guidance_scale=5.0)
    rows = []
    for k, w in enumerate(words):
        colours = [object_colour(images[k * samples + i]) for i in range(samples)]
        des = [delta_e(c, w) for c in colours if not c.isnan().any()]
        med = f"{statistics.median(des):.1f}" if des else "-"
        best = f"{min(des):.1f}" if des else "-"
        rows.append((w.word, med, best, f"{sum(d <= 15.0 for d in des)} of {samples}"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--samples", type=int, default=smoke(8, 2), help="DDIM samples per colour word")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "priors.md")
    args = parser.parse_args()
    rows = tiny_rows(args.threads) + sd_rows()
    intro = (
        f"`python benchmarks/priors.py --threads {args.threads}` on {platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}. Batch 8 for the TinyPrior (32x32 pixels). SD rows use the SD 2.1 "
        "architecture with RANDOM weights (`sd21-random`): timing only."
    )
    palette = markdown_table(
        ("word", "median dE to the word", "best dE", "samples within dE 15"), palette_rows(args.samples)
    )
    footer = "\n".join(
        [
            "## The TinyPrior's palette",
            "",
            f"DDIM 30 steps, guidance 5, {args.samples} samples of 'a <word> chair, front view' per word of",
            "`splatdream/colours.py`'s table; each sample's object colour is the mean of the pixels more than",
            "dE 15 from its border's median colour (the background), scored as `splatdream eval` scores a",
            "particle's colour: CIE76 dE to the nearest of the word's reference colours. A word whose samples",
            "stay far from it is one distillation cannot reach with this prior.",
            "",
            *palette,
        ]
    )
    write_report(
        args.out,
        "Prior throughput",
        intro,
        markdown_table(("what", "device", "throughput", "latency"), rows),
        footer=footer,
    )


if __name__ == "__main__":
    main()
