"""Export formats: size per Gaussian, fidelity of the re-read splats, and the .glb mesh's cost.

    python benchmarks/export.py [--threads 2] [--size 256] [--out benchmarks/results/export.md]
                                [--formats splat ply-compressed spz gltf-splats] [--no-mesh]

Scenes: a default-run (cpu-tiny) particle -- 6,000 Gaussians initialised from the starter armchair,
SH degree 0 -- and the shipped sample scene (7,200 Gaussians, SH band 1 in use). Each lossy file is
decoded by a third-party reader (PlayCanvas's splat-transform, from tests/node, when node is
installed; else our own readers, and compressed .ply is skipped; the KHR_gaussian_splatting .glb by the
PlayCanvas engine's glTF loader, tests/node/read_gltf_splats.mjs) and rendered against the original
from the same 8 views; PSNR over the whole image on a white background. The mesh row renders the
.glb against the splats: silhouette IoU and mean colour error inside both silhouettes.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from bench_util import SMOKE, markdown_table, smoke, write_report

ROOT = Path(__file__).resolve().parents[1]
SPLAT_TRANSFORM = ROOT / "tests" / "node" / "node_modules" / ".bin" / "splat-transform"
PLAYCANVAS_READER = ROOT / "tests" / "node" / "read_gltf_splats.mjs"
SPLAT_FORMATS = ("splat", "ply-compressed", "spz", "gltf-splats")
VIEWS = 8


def _scenes():
    from splatdream.init.from_mesh import mesh_to_gaussians
    from splatdream.io.ply import read_ply
    from splatdream.retrieval.meshes import load_mesh
    from splatdream.starter.build import STARTER_DIR
    from splatdream.starter.sample import SAMPLE_PLY

    particle = mesh_to_gaussians(
        load_mesh(STARTER_DIR / "meshes" / "armchair_green_velvet.glb"), smoke(6000, 500)
    )
    if SMOKE:  # one small scene: the code path, not a measurement
        return [("cpu-tiny particle (armchair, 500, SH 0; smoke)", particle)]
    return [
        ("cpu-tiny particle (armchair, 6,000, SH 0)", particle),
        ("sample scene (7,200, SH 1)", read_ply(SAMPLE_PLY)),
    ]


def _cameras(size: int):
    from splatdream.scene import Cameras

    az = torch.arange(VIEWS, dtype=torch.float32) * (360.0 / VIEWS)
    el = torch.tensor([30.0, -10.0] * (VIEWS // 2))
    one = torch.ones(VIEWS)
    return Cameras.from_orbit(torch.remainder(az + 180, 360) - 180, el, 2.8 * one, 45.0 * one, size, size)


def _render(g, cams) -> tuple[torch.Tensor, torch.Tensor]:
    from splatdream.render import render_gaussians

    with torch.no_grad():
        rgb, alpha, _ = render_gaussians(g, cams, backend="torch", backgrounds=torch.ones(len(cams), 3))
    return rgb.clamp(0, 1), alpha.reshape(len(cams), cams.height, cams.width)


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(((a - b) ** 2).mean())
    return float("inf") if mse == 0 else 10 * torch.log10(torch.tensor(1.0 / mse)).item()


def _decode(path: Path, fmt: str, tmp: Path):
    """Decoded Gaussians and the name of the decoder, or (None, reason)."""
    from splatdream.export.formats import read_splat, read_spz
    from splatdream.io.ply import read_ply

    node = shutil.which("node")
    if fmt == "gltf-splats":
        if not (node and (ROOT / "tests" / "node" / "node_modules" / "playcanvas").exists()):
            from splatdream.export.gltf_splats_reader import read_gltf_splats

            return read_gltf_splats(path), "ours"
        sys.path.insert(0, str(ROOT))  # tests.support: the reader of what the node script writes
        from tests.support.node_tools import read_playcanvas_ply

        out = tmp / "decoded-gltf.ply"
        subprocess.run([node, str(PLAYCANVAS_READER), str(path), str(out)], check=True, capture_output=True)
        return read_playcanvas_ply(out), "PlayCanvas engine"
    if node and SPLAT_TRANSFORM.exists():
        out = tmp / f"decoded-{fmt}.ply"
        subprocess.run(
            [str(SPLAT_TRANSFORM), "-q", "-w", str(path), str(out)], check=True, capture_output=True
        )
        return read_ply(out), "splat-transform"
    if fmt == "splat":
        return read_splat(path), "ours"
    if fmt == "spz":
        return read_spz(path), "gsply"
    return None, "needs node + tests/node"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--size", type=int, default=smoke(256, 32), help="render side in pixels for the PSNR/IoU views"
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "export.md")
    parser.add_argument("--formats", nargs="+", choices=SPLAT_FORMATS, default=list(SPLAT_FORMATS))
    parser.add_argument("--no-mesh", action="store_true", help="skip the mesh (.glb) rows, the slow part")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    import trimesh

    from splatdream.export.convert import SUFFIXES, export_scene
    from splatdream.io.ply import write_ply
    from splatdream.render.mesh import render_mesh

    cams = _cameras(args.size)
    splat_rows, mesh_rows = [], []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for label, g in _scenes():
            n = len(g)
            ref_rgb, ref_alpha = _render(g, cams)
            start = time.perf_counter()
            write_ply(tmp / "scene.ply", g)
            seconds = time.perf_counter() - start
            size = (tmp / "scene.ply").stat().st_size
            splat_rows.append(
                (
                    label,
                    "INRIA .ply (reference)",
                    f"{size / n:.1f}",
                    f"{size / 2**10:.0f}",
                    f"{seconds:.2f}",
                    "lossless",
                    "-",
                )
            )
            for fmt in args.formats:
                path = tmp / f"scene{SUFFIXES[fmt]}"
                start = time.perf_counter()
                export_scene(g, fmt, path)
                seconds = time.perf_counter() - start
                size = path.stat().st_size
                back, decoder = _decode(path, fmt, tmp)
                quality = f"{psnr(_render(back, cams)[0], ref_rgb):.1f}" if back is not None else "n/a"
                splat_rows.append(
                    (label, fmt, f"{size / n:.1f}", f"{size / 2**10:.0f}", f"{seconds:.2f}", quality, decoder)
                )

            if args.no_mesh:
                continue
            path = tmp / "scene.glb"
            start = time.perf_counter()
            export_scene(g, "glb", path)
            seconds = time.perf_counter() - start
            mesh = trimesh.load(path, force="mesh")
            rgb_m, alpha_m = render_mesh(mesh, cams, background=1.0)
            s, m = ref_alpha > 0.5, alpha_m > 0.5
            iou = ((s & m).sum(dim=(1, 2)) / (s | m).sum(dim=(1, 2))).min()
            mae = (ref_rgb - rgb_m).abs().mean(dim=-1)[s & m].mean()
            mesh_rows.append(
                (
                    label,
                    f"{len(mesh.faces):,}",
                    f"{len(mesh.vertices):,}",
                    f"{path.stat().st_size / 2**20:.2f}",
                    f"{seconds:.1f}",
                    f"{float(iou):.3f}",
                    f"{float(mae):.3f}",
                )
            )

    table = markdown_table(
        ["scene", "format", "bytes / Gaussian", "KiB", "write s", f"PSNR dB ({VIEWS} views)", "decoded by"],
        splat_rows,
        ["---", "---", "---:", "---:", "---:", "---:", "---"],
    )
    if not args.no_mesh:
        table += [
            "",
            "Mesh (.glb, default options: 128 voxels on the longest side, at most 60,000 faces):",
            "",
        ]
        table += markdown_table(
            [
                "scene",
                "faces",
                "vertices",
                "MiB",
                "extraction + write s",
                "min silhouette IoU",
                "colour MAE inside",
            ],
            mesh_rows,
            ["---", "---:", "---:", "---:", "---:", "---:", "---:"],
        )
    flags = (" --formats " + " ".join(args.formats) if args.formats != list(SPLAT_FORMATS) else "") + (
        " --no-mesh" if args.no_mesh else ""
    )
    intro = (
        f"`python benchmarks/export.py --threads {args.threads} --size {args.size}{flags}` on {platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}, {args.threads} threads. PSNR: renders of the re-read splats against the "
        f"original, {args.size} px, {VIEWS} views (azimuth every 45 deg, elevation 30/-10 deg), white background."
    )
    write_report(args.out, "Export formats", intro, table)


if __name__ == "__main__":
    main()
