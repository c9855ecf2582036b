"""Does distillation improve the retrieved assets? cpu-tiny over the prompt suite, per variant, scored by eval.

    python benchmarks/quality.py [--limit N | --prompts P ...] [--variants default sds ...]
                                 [--num-particles 2] [--steps S] [--threads 2]

Each (variant, prompt) runs ``python -m splatdream --preset cpu-tiny ...`` in a fresh process into
``--runs DIR/<variant>/<prompt-slug>`` (a finished run is reused, so an interrupted benchmark resumes),
then ``splatdream.evaluate.evaluate_run`` scores it. Prints one Markdown table of means -- the
initialisation itself first -- and writes it to benchmarks/results/quality.md, plus a contact sheet of
init vs result for the suite's first four prompts (default variant, else the first one run) to
docs/quality_default.png.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from bench_util import SMOKE, markdown_table, results_path, smoke, write_report

ROOT = Path(__file__).resolve().parent.parent
SUITE = Path(__file__).parent / "prompts" / "suite.csv"
RESULTS = Path(__file__).parent / "results" / "quality.md"
SHEET = ROOT / "docs" / "quality_default.png"

VARIANTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "default": ("cpu-tiny as shipped", ()),
    "random-init": ("particles from a random ball, not the retrieved assets", ("--init.method", "random")),
    "prompt-target": (
        "the particle scored under the prompt, not the edited caption (issue 26's first pass)",
        ("--distill.target-text", "prompt"),
    ),
    "one-affine": (
        "one affine colour map per particle instead of the held palette",
        (
            "--distill.colour.affine",
            "--distill.colour.palette",
            "0",
            "--distill.colour.hold-matching",
            "0",
        ),
    ),
    "no-hold": (
        "the palette without holding the clusters that match",
        ("--distill.colour.hold-matching", "0"),
    ),
    "no-reference": (
        "VSD with its LoRA particle score and no caption reference (as before issue 26; the held palette kept)",
        (
            "--distill.retrieval-reg-every",
            "0",
            "--distill.reference-text",
            "prompt",
            "--distill.target-text",
            "prompt",
        ),
    ),
    "adapt": ("with the LoRA adaptation of the prior on the retrieved assets", ("--adapt.enabled",)),
}
"""name -> (description, overrides of cpu-tiny); field names from splatdream/config.py and distill/config.py."""


@dataclass(frozen=True)
class Prompt:
    text: str
    kind: str


def load_suite(path: Path = SUITE) -> list[Prompt]:
    with open(path, newline="") as f:
        return [Prompt(r["prompt"].strip(), r["kind"].strip()) for r in csv.DictReader(f)]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]


def run_pipeline(
    prompt: str, variant: str, out: Path, particles: int, steps: int | None, threads: int
) -> float:
    """One cpu-tiny run in a fresh process; returns its wall time (0 when a finished run is reused)."""
    if all((out / f"particle_{i}.ply").exists() for i in range(particles)):
        return 0.0
    cmd = [
        sys.executable,
        "-m",
        "splatdream",
        "--preset",
        "cpu-tiny",
        "--prompt",
        prompt,
        "--num-particles",
        str(particles),
        "--no-viewer",
        "--output.turntable-frames",
        "0",
        *VARIANTS[variant][1],
    ]
    if (out / "config.yaml").exists():
        cmd += ["--resume", str(out)]  # interrupted earlier: continue from its checkpoint
    else:
        cmd += ["--out", str(out)]
    if steps is not None:
        cmd += ["--distill.steps", str(steps)]
    if SMOKE:  # the code path only: no adaptation, few Gaussians
        cmd += ["--adapt.no-enabled", "--init.gaussians-per-particle", "300"]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"run failed ({' '.join(cmd)}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return time.perf_counter() - t0


def _median(xs: list[float]) -> float:
    xs = [x for x in xs if not math.isnan(x)]
    return statistics.median(xs) if xs else math.nan


def _mean(xs: list[float]) -> float:
    xs = [x for x in xs if not math.isnan(x)]
    return sum(xs) / len(xs) if xs else math.nan


def _share(flags: list[bool]) -> float:  # NaN for an empty list
    return sum(flags) / len(flags) if flags else math.nan


def _f(v: float, spec: str) -> str:
    return "-" if math.isnan(v) else format(v, spec)


HEADER = (
    "variant",
    "particles",
    "speckle x (median)",
    "holes",
    "floaters",
    "clean (holes, floaters <= 1%)",
    "gaussians x",
    "patches dE (median)",
    "patches <= 4",
    "dE to colour word",
    "nearer the colour than init",
    "already matching (init dE <= 15) kept within +1",
    "no colour word: mean shift dE <= 5",
    "classifier",
    "classifier better than init",
    "object part better",
    "colour part better",
    "CLIP",
    "A-LPIPS",
    "wall s / run",
)
ALIGN = ("---",) + ("---:",) * (len(HEADER) - 1)


def summary_row(name: str, evals: list, walls: list[float]) -> list[str]:  # evals: list[RunEval]
    """Means (medians where the issue's targets are medians) over every particle of every run."""
    ps = [p for e in evals for p in e.particles]
    flat = [p.flat() for p in ps]
    col = [p.colour for p in ps if p.colour is not None]
    nearer = [c.delta_e < c.delta_e_init for c in col]
    cls = [
        (p.classifier, p.classifier_init)
        for p in ps
        if p.classifier is not None and p.classifier_init is not None
    ]
    clean = [r["holes"] <= 0.01 and r["floaters"] <= 0.01 for r in flat]
    return [
        name,
        str(len(ps)),
        _f(_median([r["speckle_ratio"] for r in flat]), ".2f"),
        _f(_mean([r["holes"] for r in flat]), ".2%"),
        _f(_mean([r["floaters"] for r in flat]), ".2%"),
        _f(_share(clean), ".0%"),
        _f(_mean([r["count_ratio"] for r in flat]), ".2f"),
        _f(_median([r["patches"] for r in flat]), ".1f"),
        _f(_share([r["patches"] <= 4 for r in flat]), ".0%"),
        _f(_mean([c.delta_e for c in col]), ".1f"),
        _f(_share(nearer), ".0%"),
        _f(_share([c.delta_e <= c.delta_e_init + 1 for c in col if c.delta_e_init <= 15]), ".0%"),
        _f(_share([p.mean_shift <= 5 for p in ps if p.colour is None and p.mean_shift is not None]), ".0%"),
        _f(_mean([a for a, _ in cls]), "+.4f"),
        _f(_share([a < b for a, b in cls]), ".0%"),
        _f(_better(flat, "classifier_object"), ".0%"),
        _f(_better(flat, "classifier_attribute"), ".0%"),
        _f(_mean([r["clip"] for r in flat]), ".1f"),
        _f(_mean([r["alpips"] for r in flat]), ".3f"),
        _f(_mean([w for w in walls if w > 0]), ".0f"),
    ]


def _better(flat: list[dict[str, float]], key: str) -> float:
    """Share of particles whose ``key`` is lower than its ``key_init`` (NaN when none measured it)."""
    pairs = [(r[key], r[f"{key}_init"]) for r in flat if not math.isnan(r[key])]
    return _share([a < b for a, b in pairs])


PROMPT_HEADER = (
    "prompt",
    "kind",
    "speckle x (median)",
    "holes, floaters <= 1%",
    "patches dE (max)",
    "mean shift dE (max)",
    "dE init -> result",
    "classifier better",
    "object part better",
    "colour part better",
)


def prompt_rows(evals: list, suite: list[Prompt]) -> list[list[str]]:  # evals: list[RunEval], in suite order
    """One row per prompt: where the means come from, and which prompts fall short."""
    rows = []
    for e, prompt in zip(evals, suite, strict=True):
        flat = [p.flat() for p in e.particles]
        n = len(flat)

        def count(key: str, flat: list[dict[str, float]] = flat, n: int = n) -> str:
            pairs = [(r[key], r[f"{key}_init"]) for r in flat if not math.isnan(r[key])]
            return f"{sum(a < b for a, b in pairs)}/{n}" if pairs else "-"

        clean = sum(r["holes"] <= 0.01 and r["floaters"] <= 0.01 for r in flat)
        de = (
            f"{_mean([r['delta_e_init'] for r in flat]):.0f} -> {_mean([r['delta_e'] for r in flat]):.0f}"
            if e.colour_word
            else "-"
        )
        rows.append(
            [
                prompt.text,
                prompt.kind,
                _f(_median([r["speckle_ratio"] for r in flat]), ".2f"),
                f"{clean}/{n}",
                _f(max(r["patches"] for r in flat), ".1f"),
                _f(max(r["mean_shift"] for r in flat), ".1f"),
                de,
                count("classifier"),
                count("classifier_object"),
                count("classifier_attribute"),
            ]
        )
    return rows


def init_row(evals: list) -> list[str]:
    """The initialisation scored as if it were the result: what distillation has to beat."""
    ps = [p for e in evals for p in e.particles]
    flat = [p.flat() for p in ps]
    col = [p.colour for p in ps if p.colour is not None]
    return [
        "initialisation (retrieved)",
        str(len(ps)),
        "1.00",
        "0.00%",
        "0.00%",
        "100%",
        "1.00",
        "0.0",
        "100%",
        _f(_mean([c.delta_e_init for c in col]), ".1f"),
        "-",
        "-",
        "-",
        _f(_mean([r["classifier_init"] for r in flat]), "+.4f"),
        "-",
        "-",
        "-",
        _f(_mean([r["clip_init"] for r in flat]), ".1f"),
        _f(_mean([r["alpips_init"] for r in flat]), ".3f"),
        "-",
    ]


def contact_sheet(run_dirs: list[Path], out: Path, views: int = 3, size: int = 160) -> None:
    """Per prompt, particle 0's init above its result from ``views`` ring views; prompts side by side."""
    import numpy as np
    from PIL import Image, ImageDraw

    from splatdream.atomic import atomic_write
    from splatdream.evaluate.views import RING_ELEVATION_DEG
    from splatdream.io.ply import read_ply
    from splatdream.render.views import render_views
    from splatdream.rundir import RunDir
    from splatdream.scene import orbit_ring

    cams = orbit_ring(views, size, size, RING_ELEVATION_DEG, start_azimuth_deg=-30.0)
    label_h, gap = 20, 8
    blocks = []
    for run_dir in run_dirs:
        files = RunDir(run_dir).finished_run()
        rows = [
            render_views(read_ply(p), cams, device="cpu").over(1.0)
            for p in (files.inits[0], files.particles[0])
        ]
        arr = np.concatenate(
            [np.concatenate(list((r.numpy() * 255).round().astype(np.uint8)), 1) for r in rows], 0
        )
        block = Image.new("RGB", (arr.shape[1], arr.shape[0] + label_h), "white")
        block.paste(Image.fromarray(arr), (0, label_h))
        draw = ImageDraw.Draw(block)
        draw.text((4, 4), files.prompt, fill="black")
        draw.text((4, label_h + 2), "init", fill=(90, 90, 90))
        draw.text((4, label_h + size + 2), "result", fill=(90, 90, 90))
        blocks.append(block)
    width = sum(b.width for b in blocks) + gap * (len(blocks) - 1)
    sheet = Image.new("RGB", (width, blocks[0].height), "white")
    x = 0
    for b in blocks:
        sheet.paste(b, (x, 0))
        x += b.width + gap
    with atomic_write(out) as tmp:
        sheet.save(tmp, format="PNG")
    print(f"wrote {out}")


def _eval_is_fresh(run_dir: Path) -> bool:
    """eval.json exists and is newer than every particle file (so it scored these particles)."""
    ev = run_dir / "eval.json"
    plys = list(run_dir.glob("particle_*.ply"))
    return ev.exists() and bool(plys) and all(ev.stat().st_mtime >= p.stat().st_mtime for p in plys)


def variant_sheet(
    runs: Path,
    variants: list[str],
    prompts: list[Prompt],
    out: Path,
    particle: int = 0,
    views: int = 2,
    size: int = 128,
) -> None:
    """One row per variant (the retrieved init first), one column block per prompt: the ablation by eye."""
    import numpy as np
    from PIL import Image, ImageDraw

    from splatdream.atomic import atomic_write
    from splatdream.evaluate.views import RING_ELEVATION_DEG
    from splatdream.io.ply import read_ply
    from splatdream.render.views import render_views
    from splatdream.rundir import RunDir
    from splatdream.scene import orbit_ring

    cams = orbit_ring(views, size, size, RING_ELEVATION_DEG, start_azimuth_deg=-30.0)
    label_w, head_h, gap = 110, 18, 6
    rows = [("init (retrieved)", "default", True)] + [(v, v, False) for v in variants]
    block_w = views * size
    sheet = Image.new("RGB", (label_w + len(prompts) * (block_w + gap), head_h + len(rows) * size), "white")
    draw = ImageDraw.Draw(sheet)
    for j, prompt in enumerate(prompts):
        draw.text((label_w + j * (block_w + gap) + 4, 3), prompt.text, fill="black")
    for i, (label, variant, init) in enumerate(rows):
        y = head_h + i * size
        draw.text((4, y + size // 2 - 6), label, fill="black")
        for j, prompt in enumerate(prompts):
            files = RunDir(runs / variant / slug(prompt.text)).finished_run()
            g = read_ply((files.inits if init else files.particles)[particle])
            imgs = (render_views(g, cams, device="cpu").over(1.0).numpy() * 255).round().astype(np.uint8)
            sheet.paste(Image.fromarray(np.concatenate(list(imgs), 1)), (label_w + j * (block_w + gap), y))
    with atomic_write(out) as tmp:
        sheet.save(tmp, format="PNG")
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", type=Path, default=SUITE)
    parser.add_argument("--limit", type=int, default=smoke(None, 1), help="only the suite's first N prompts")
    parser.add_argument(
        "--reuse-evals",
        action="store_true",
        help="read a run's eval.json when it is newer than its particles instead of scoring again "
        "(only valid when the eval settings have not changed)",
    )
    parser.add_argument(
        "--variant-sheet",
        type=Path,
        default=ROOT / "docs" / "quality" / "ablation.png",
        help="where the per-variant picture goes (when more than one variant runs)",
    )
    parser.add_argument("--prompts", nargs="+", default=None, help="only these prompts (exact suite text)")
    parser.add_argument(
        "--variants", nargs="+", default=smoke(list(VARIANTS), ["default"]), choices=list(VARIANTS)
    )
    parser.add_argument("--num-particles", type=int, default=smoke(4, 1))
    parser.add_argument(
        "--steps", type=int, default=smoke(None, 2), help="override the distillation steps (quick checks)"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--runs",
        type=Path,
        default=smoke(ROOT / "outputs" / "quality", results_path(Path("quality-runs"))),
        help="where the runs go",
    )
    parser.add_argument("--eval-views", type=int, default=smoke(24, 4))
    parser.add_argument("--eval-size", type=int, default=smoke(128, 32))
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--sheet", type=Path, default=smoke(SHEET, results_path(SHEET)))
    args = parser.parse_args()

    import torch

    from splatdream.evaluate import EvalConfig, Scorers, evaluate_run, read_eval

    torch.set_num_threads(args.threads)
    suite = load_suite(args.suite)
    if args.prompts:
        unknown = set(args.prompts) - {p.text for p in suite}
        if unknown:
            raise SystemExit(f"not in {args.suite}: {sorted(unknown)}")
        suite = [p for p in suite if p.text in args.prompts]
    suite = suite[: args.limit] if args.limit else suite
    cfg = EvalConfig(views=args.eval_views, size=args.eval_size, device="cpu")
    scorers = Scorers(cfg)
    results: dict[str, tuple[list, list[float]]] = {}
    for variant in args.variants:
        evals, walls = [], []
        for prompt in suite:
            run_dir = args.runs / variant / slug(prompt.text)
            print(f"[{variant}] {prompt.text} -> {run_dir}", flush=True)
            walls.append(
                run_pipeline(prompt.text, variant, run_dir, args.num_particles, args.steps, args.threads)
            )
            evals.append(
                replace(read_eval(run_dir), run_dir=run_dir)
                if args.reuse_evals and _eval_is_fresh(run_dir)
                else evaluate_run(run_dir, cfg, scorers=scorers)
            )
        results[variant] = (evals, walls)

    first = results.get("default", next(iter(results.values())))[0]
    rows = [init_row(first)] + [summary_row(v, *results[v]) for v in args.variants]
    skipped = sorted({msg for evals, _ in results.values() for e in evals for msg in e.skipped.values()})
    steps = f"{args.steps} steps (override)" if args.steps else "the preset's steps"
    command = " ".join(f'"{a}"' if " " in a else a for a in sys.argv[1:])
    intro = (
        f"`python benchmarks/quality.py {command}`: cpu-tiny, "
        f"{len(suite)} prompt(s) of {args.suite.name}, {args.num_particles} particle(s) each, {steps}, "
        f"{args.threads} thread(s); scored by `splatdream eval` at {args.eval_views} ring views, {args.eval_size} px "
        "(metrics: docs/metrics.md). Every number is over all particles of all prompts: speckle is the median "
        "result/init ratio; holes, floaters, gaussians x, dE, classifier, CLIP, A-LPIPS are means; 'nearer the colour' "
        "counts particles of prompts with a colour word whose result is nearer the word than its init; the "
        "classifier's object part competes with object-swapped captions, its colour part with colour-swapped ones "
        "(prompts with a colour or material word only), the classifier is their mean. "
        "The first row scores the initialisation itself. Variants: "
        + "; ".join(f"`{v}` {VARIANTS[v][0]}" for v in args.variants)
        + "."
    )
    per_variant = "default" if "default" in results else args.variants[0]
    per_prompt = [
        "",
        f"Per prompt (`{per_variant}`; counts are particles better than their init):",
        "",
        *markdown_table(
            PROMPT_HEADER,
            prompt_rows(results[per_variant][0], suite),
            ("---", "---", *("---:",) * (len(PROMPT_HEADER) - 2)),
        ),
    ]
    write_report(
        args.out,
        "Quality: distillation against its own initialisation",
        intro,
        markdown_table(HEADER, rows, ALIGN) + per_prompt,
        footer="\n".join(f"- {m}" for m in skipped),
    )
    if len(args.variants) > 1:
        variant_sheet(args.runs, args.variants, suite[:4], args.variant_sheet)
    sheet_variant = "default" if "default" in results else args.variants[0]
    contact_sheet([e.run_dir for e in results[sheet_variant][0][:4]], args.sheet)


if __name__ == "__main__":
    main()
