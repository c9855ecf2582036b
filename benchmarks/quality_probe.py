"""Quick quality probe of the default run: each particle against its own initialisation.

    python benchmarks/quality_probe.py --prompt "a blue sports car" [--particles 4] [--set distill.steps=120 ...]
    python benchmarks/quality_probe.py --eval-only RUN_DIR --prompt "..."

Runs the pipeline through its Python API (cpu-tiny preset + overrides, no viewer), times each stage,
then renders every particle and its ``init_particle_i.ply`` on a 128 px ring (8 azimuths at 15 deg,
4 at 40 deg) and reports, per particle:
- speckle: mean |Laplacian| of RGB inside both (eroded) silhouettes, result / init (lower is cleaner);
- holes: init-silhouette pixels whose result alpha < 0.5, as a fraction of the init silhouette;
- floaters: result alpha > 0.5 outside the init silhouette dilated by 2 px, same denominator;
- count: Gaussians result / init;
- colour: CIELAB distance of the object's mean colour to the prompt's colour word, init and result;
- prior score: the shipped (unadapted) TinyPrior's diffusion-classifier score of the prompt against the
  same words with other library categories, init and result (lower is better).
Writes probe.json and probe.png (init row above result row, per particle) into the run directory. A probe,
not the official ``splatdream eval``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from splatdream.export.ply import read_ply  # noqa: E402
from splatdream.render import render_gaussians  # noqa: E402
from splatdream.scene import Cameras, Gaussians  # noqa: E402

COLOUR_WORDS: dict[str, tuple[tuple[float, float, float], ...]] = {
    "blue": ((0.12, 0.25, 0.80), (0.25, 0.45, 0.90)),
    "red": ((0.80, 0.10, 0.10), (0.65, 0.05, 0.08)),
    "yellow": ((0.95, 0.85, 0.15), (0.90, 0.75, 0.10)),
    "green": ((0.15, 0.60, 0.20), (0.10, 0.45, 0.15)),
    "white": ((0.95, 0.95, 0.95),),
    "black": ((0.08, 0.08, 0.08),),
    "pink": ((0.95, 0.55, 0.70),),
    "orange": ((0.95, 0.50, 0.10),),
    "wooden": ((0.55, 0.35, 0.18), (0.70, 0.50, 0.30), (0.40, 0.25, 0.12)),
}


# -- colour -----------------------------------------------------------------------------------------
def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb, dtype=np.float64)
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def colour_word(prompt: str) -> str | None:
    words = prompt.lower().replace(",", " ").split()
    for w in words:
        if w in COLOUR_WORDS:
            return w
        if w == "wood":
            return "wooden"
    return None


def delta_e(rgb: np.ndarray, word: str) -> float:
    lab = rgb_to_lab(rgb)
    return float(min(np.linalg.norm(lab - rgb_to_lab(np.array(ref))) for ref in COLOUR_WORDS[word]))


# -- views and metrics ------------------------------------------------------------------------------
def ring(size: int = 128) -> Cameras:
    az = torch.cat([torch.arange(8) * 45.0, torch.arange(4) * 90.0 + 45.0])
    az = torch.remainder(az + 180.0, 360.0) - 180.0
    el = torch.cat([torch.full((8,), 15.0), torch.full((4,), 40.0)])
    n = len(az)
    return Cameras.from_orbit(az, el, torch.full((n,), 2.8), torch.full((n,), 45.0), size, size)


@torch.no_grad()
def render(g: Gaussians, cams: Cameras) -> tuple[torch.Tensor, torch.Tensor]:
    bg = torch.ones(len(cams), 3)
    rgb, alpha, _ = render_gaussians(g.detach().with_sh_degree(0), cams, backgrounds=bg, backend="torch")
    return rgb.clamp(0, 1), alpha[..., 0]


def _morph(mask: torch.Tensor, r: int, dilate: bool) -> torch.Tensor:
    m = mask.float()[:, None]
    k = 2 * r + 1
    if dilate:
        return (F.max_pool2d(m, k, 1, r) > 0.5)[:, 0]
    return (-F.max_pool2d(-m, k, 1, r) > 0.5)[:, 0]


def laplacian(rgb: torch.Tensor) -> torch.Tensor:  # [C, H, W, 3] -> [C, H, W]
    x = rgb.permute(0, 3, 1, 2)
    k = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]).repeat(3, 1, 1, 1)
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), k, groups=3).abs().mean(1)


def compare(init: Gaussians, result: Gaussians, cams: Cameras, word: str | None) -> dict[str, float]:
    rgb0, a0 = render(init, cams)
    rgb1, a1 = render(result, cams)
    m0, m1 = a0 > 0.5, a1 > 0.5
    inner = _morph(m0, 1, False) & _morph(m1, 1, False)
    lap0, lap1 = laplacian(rgb0), laplacian(rgb1)
    speckle0 = float(lap0[inner].mean()) if inner.any() else float("nan")
    speckle1 = float(lap1[inner].mean()) if inner.any() else float("nan")
    sil = m0.sum().clamp_min(1)
    out = {
        "speckle_init": speckle0,
        "speckle_result": speckle1,
        "speckle_ratio": speckle1 / max(speckle0, 1e-8),
        "holes": float((m0 & ~m1).sum() / sil),
        "floaters": float((m1 & ~_morph(m0, 2, True)).sum() / sil),
        "count_init": len(init),
        "count_result": len(result),
        "count_ratio": len(result) / len(init),
        "rgb_init": rgb0[m0].mean(0).tolist(),
        "rgb_result": rgb1[m1].mean(0).tolist() if m1.any() else [float("nan")] * 3,
    }
    if word is not None:
        out["dE_init"] = delta_e(np.array(out["rgb_init"]), word)
        out["dE_result"] = delta_e(np.array(out["rgb_result"]), word)
        out["colour_closer"] = out["dE_result"] < out["dE_init"]
    return out


def contrast_prompts(prompt: str) -> tuple[str, ...]:
    """The prompt's colour/material word with other library categories (every 4th), as the e2e test does."""
    from splatdream.retrieval.starter import load_manifest

    word = colour_word(prompt) or ""
    cats = sorted({a.category for a in load_manifest()})
    mine = [c for c in cats if c.replace("_", " ") in prompt.lower()]
    others = [c for c in cats if c not in mine][::8]
    if word == "wooden":
        word = "wooden"
    return tuple(f"a {word} {c.replace('_', ' ')}".replace("  ", " ") for c in others)


def sheet(run_dir: Path, inits: list[Gaussians], results: list[Gaussians], metrics: list[dict], size: int = 128) -> Path:
    from PIL import Image, ImageDraw

    cams = ring(size)
    pick = [0, 2, 4, 9]  # front, side, back, high three-quarter
    cams = cams[torch.tensor(pick)]
    cols = len(pick)
    n = len(inits)
    canvas = Image.new("RGB", (cols * size * n + 8 * (n - 1), 2 * size + 16), "white")
    draw = ImageDraw.Draw(canvas)
    for i, (g0, g1) in enumerate(zip(inits, results)):
        x0 = i * (cols * size + 8)
        for row, g in enumerate((g0, g1)):
            rgb, _ = render(g, cams)
            for j in range(cols):
                img = Image.fromarray((rgb[j].numpy() * 255).astype(np.uint8))
                canvas.paste(img, (x0 + j * size, row * size))
        m = metrics[i]
        text = f"p{i} spk x{m['speckle_ratio']:.2f} hole {100*m['holes']:.1f}% flt {100*m['floaters']:.1f}% n x{m['count_ratio']:.2f}"
        draw.text((x0 + 2, 2 * size + 2), text, fill="black")
    path = run_dir / "probe.png"
    canvas.save(path)
    return path


def evaluate(run_dir: Path, prompt: str, n: int, score: bool = True) -> dict:
    cams = ring()
    word = colour_word(prompt)
    inits = [read_ply(run_dir / f"init_particle_{i}.ply") for i in range(n)]
    results = [read_ply(run_dir / f"particle_{i}.ply") for i in range(n)]
    per = [compare(a, b, cams, word) for a, b in zip(inits, results)]
    if score:
        from splatdream.distill.metrics import prior_score
        from splatdream.priors.config import PriorConfig, load_prior

        prior = load_prior(PriorConfig(kind="tiny"))
        contrast = contrast_prompts(prompt)
        cache = run_dir / "init_scores.json"  # init scores are the same for every run from these inits
        cached = json.loads(cache.read_text()) if cache.exists() else {}
        for i, (m, g0, g1) in enumerate(zip(per, inits, results)):
            key = f"{prompt}|{i}"
            if key not in cached:
                cached[key] = prior_score(prior, [g0], prompt, contrast=contrast, noises=1)
            m["score_init"] = cached[key]
            m["score_result"] = prior_score(prior, [g1], prompt, contrast=contrast, noises=1)
            m["score_better"] = m["score_result"] < m["score_init"]
        cache.write_text(json.dumps(cached))
    png = sheet(run_dir, inits, results, per)
    summary = {
        "prompt": prompt,
        "speckle_median": float(np.median([m["speckle_ratio"] for m in per])),
        "holes_ok": float(np.mean([m["holes"] <= 0.01 for m in per])),
        "floaters_ok": float(np.mean([m["floaters"] <= 0.01 for m in per])),
        "count_ratio_max": float(max(m["count_ratio"] for m in per)),
        "png": str(png),
    }
    if word:
        summary["colour_closer"] = float(np.mean([m["colour_closer"] for m in per]))
        summary["dE"] = [(round(m["dE_init"], 1), round(m["dE_result"], 1)) for m in per]
    if score:
        summary["score_better"] = float(np.mean([m["score_better"] for m in per]))
    return {"summary": summary, "particles": per}


def run_pipeline(prompt: str, out: Path, particles: int, sets: list[str], turntables: bool,
                 reuse: Path | None = None) -> dict[str, float]:
    from rich.console import Console

    import splatdream.distill.run as runmod
    from splatdream.config import PRESETS
    from splatdream.configio import merge

    over: dict = {"prompt": prompt, "num_particles": particles, "out": str(out), "viewer": {"enabled": False}}
    if not turntables:
        over["output"] = {"turntable_frames": 0}
    for s in sets:
        key, value = s.split("=", 1)
        node = over
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = json.loads(value) if value[:1] in "[{0123456789-tfn" else value
    cfg = merge(PRESETS["cpu-tiny"][1], over)
    if reuse is not None:  # distil only: the other run's init particles and adapter, as a resume would
        import shutil

        out.mkdir(parents=True, exist_ok=True)
        for f in [*reuse.glob("init_particle_*"), reuse / "retrieved.json", *reuse.glob("init_scores.json")]:
            shutil.copy(f, out / f.name)
        shutil.copytree(reuse / "adapter", out / "adapter")
        cfg = merge(cfg, {"resume": str(out)})
    timings: dict[str, float] = {}

    def timed(name, fn):
        def wrapper(*a, **k):
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                return fn(*a, **k)
            finally:
                timings[name] = timings.get(name, 0.0) + time.perf_counter() - t0
                timings[name + "_cpu"] = timings.get(name + "_cpu", 0.0) + time.process_time() - c0
        return wrapper

    P = runmod.Pipeline
    originals = {k: getattr(P, k) for k in ("load_prior", "retrieve", "align", "init", "adapt", "export")}
    for k, fn in originals.items():
        setattr(P, k, timed(k, fn))
    orig_distil = runmod.distil
    runmod.distil = timed("distil", orig_distil)
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        runmod.run(cfg, Console(file=open(os.devnull, "w")))
    finally:
        for k, fn in originals.items():
            setattr(P, k, fn)
        runmod.distil = orig_distil
    timings["total"] = time.perf_counter() - t0
    timings["total_cpu"] = time.process_time() - c0
    if "init" in timings and "align" in timings:
        timings["init_only"] = timings["init"] - timings["align"]
        timings["init_only_cpu"] = timings["init_cpu"] - timings["align_cpu"]
    return timings


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--prompt", default="a wooden rocking chair")
    ap.add_argument("--particles", type=int, default=4)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--set", action="append", default=[], help="override, e.g. distill.steps=120")
    ap.add_argument("--eval-only", type=Path, default=None)
    ap.add_argument("--reuse", type=Path, default=None, help="distil only, from this run's init and adapter")
    ap.add_argument("--turntables", action="store_true", help="also write the turntables (as the default run)")
    ap.add_argument("--no-score", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    timings = {}
    run_dir = args.eval_only
    if run_dir is None:
        slug = "".join(c if c.isalnum() else "-" for c in args.prompt.lower())
        run_dir = args.out or Path("/tmp/probe") / f"{slug}-{time.strftime('%H%M%S')}"
        timings = run_pipeline(args.prompt, run_dir, args.particles, args.set, args.turntables, args.reuse)
    res = evaluate(run_dir, args.prompt, args.particles, score=not args.no_score)
    res["timings"] = timings
    res["sets"] = args.set
    (run_dir / "probe.json").write_text(json.dumps(res, indent=1))
    print(json.dumps(res["summary"]))
    print("timings", {k: round(v, 1) for k, v in timings.items()})
    for i, m in enumerate(res["particles"]):
        print(f"  p{i}: spk x{m['speckle_ratio']:.2f} holes {100*m['holes']:.2f}% flt {100*m['floaters']:.2f}% "
              f"n {m['count_init']}->{m['count_result']} "
              + (f"dE {m['dE_init']:.1f}->{m['dE_result']:.1f} " if 'dE_init' in m else "")
              + (f"score {m['score_init']:.4f}->{m['score_result']:.4f}" if 'score_init' in m else ""))


if __name__ == "__main__":
    main()
