"""Benchmark: mesh -> Gaussians initialisation speed.

Claim: 100k Gaussians from a 50k-face textured mesh in under 0.5 s on 2 CPU cores.
Prints a markdown table and writes it to benchmarks/results/init.md.

    python benchmarks/init.py [--threads 2] [--repeats 5]
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import trimesh
from bench_util import results_path, smoke
from PIL import Image

from splatdream.init.from_mesh import mesh_to_gaussians


def textured_sphere(target_faces: int = 50_000, texture: int = 512) -> trimesh.Trimesh:
    """A UV sphere with about ``target_faces`` faces and a procedural texture image."""
    count = round(math.sqrt(target_faces / 4)) + 1
    mesh = trimesh.creation.uv_sphere(radius=0.9, count=[count, count])
    v = mesh.vertices / 0.9
    uv = np.c_[(np.arctan2(v[:, 0], v[:, 2]) / (2 * np.pi)) % 1.0, np.arccos(np.clip(v[:, 1], -1, 1)) / np.pi]
    y, x = np.mgrid[0:texture, 0:texture]
    img = np.stack([(x * 255 // texture), (y * 255 // texture), ((x // 32 + y // 32) % 2) * 255], -1).astype(
        np.uint8
    )
    mesh.visual = trimesh.visual.TextureVisuals(
        uv=uv, material=trimesh.visual.material.SimpleMaterial(image=Image.fromarray(img))
    )
    return mesh


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=smoke(5, 1))
    parser.add_argument("--gaussians", type=int, default=smoke(100_000, 2000))
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "init.md")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    mesh = textured_sphere(smoke(50_000, 2000), smoke(512, 64))
    mesh_to_gaussians(mesh, 1000)  # warm-up (imports, allocator)
    times = []
    for r in range(args.repeats):
        # Fresh copy each time: trimesh caches face areas/normals, a real first call pays for them.
        m = mesh.copy()
        t = time.perf_counter()
        g = mesh_to_gaussians(m, args.gaussians, seed=r)
        times.append(time.perf_counter() - t)
    assert len(g) == args.gaussians and g.is_finite()
    med, best = statistics.median(times), min(times)
    target = 0.5
    rows = [
        "| mesh | faces | Gaussians | threads | median s | best s | target s | pass |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        f"| textured UV sphere (512² texture) | {len(mesh.faces):,} | {args.gaussians:,} | {args.threads} | "
        f"{med:.3f} | {best:.3f} | {target} | {'yes' if med < target else 'no'} |",
    ]
    note = (
        f"\n{args.repeats} runs, fresh mesh copy per run (no cached areas/normals); "
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}, shared machine.\n"
    )
    text = "# mesh_to_gaussians speed\n\n" + "\n".join(rows) + "\n" + note
    print(text)
    out = results_path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)


if __name__ == "__main__":
    main()
