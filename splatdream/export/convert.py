"""``splatdream export PATH.ply|RUN_DIR --format ...``: write a scene in the formats other tools open."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import tyro

from splatdream.export.config import ExportFormat, MeshOptions
from splatdream.export.formats import EmptySceneError, write_compressed_ply, write_splat, write_spz
from splatdream.export.gltf_splats import write_gltf_splats
from splatdream.export.gltf_splats_reader import GltfSplatsError
from splatdream.export.mesh import MeshExtractionError, write_glb
from splatdream.export.scene_file import read_scene
from splatdream.io.ply import NonFiniteGaussiansError, PlyFormatError
from splatdream.numbers import checked
from splatdream.scene import Gaussians

SUFFIXES: dict[str, str] = {
    "splat": ".splat",
    "ply-compressed": ".compressed.ply",  # the suffix SuperSplat and splat-transform recognise
    "spz": ".spz",
    "glb": ".glb",
    "gltf-splats": ".splats.glb",  # the splats themselves (KHR_gaussian_splatting), beside the mesh .glb
}


def _writer(fmt: str, mesh: MeshOptions) -> Callable[[Path, Gaussians], object]:
    if fmt == "glb":
        return lambda path, g: write_glb(path, g, mesh)
    return {
        "splat": write_splat,
        "ply-compressed": write_compressed_ply,
        "spz": write_spz,
        "gltf-splats": write_gltf_splats,
    }[fmt]


def default_path(source: Path, fmt: str) -> Path:
    """``particle_0.ply`` -> ``particle_0.splat`` / ``.compressed.ply`` / ``.spz`` / ``.glb`` beside it."""
    name = source.name
    for suffix in (".splats.glb", ".glb"):  # a splat .glb as input: scene.splats.glb -> scene.spz
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return source.with_name(name.removesuffix(".ply") + SUFFIXES[fmt])


def export_scene(
    gaussians: Gaussians, fmt: str, out: str | os.PathLike[str], mesh: MeshOptions = MeshOptions()
) -> Path:
    """Write ``gaussians`` to ``out`` in format ``fmt`` (atomically); returns ``out``."""
    if fmt not in SUFFIXES:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(SUFFIXES)}")
    out = Path(out)
    _writer(fmt, mesh)(out, gaussians)
    return out


def export_formats(
    gaussians: Gaussians, formats: tuple[str, ...], ply_path: Path, mesh: MeshOptions = MeshOptions()
) -> list[Path]:
    """Write every format in ``formats`` beside ``ply_path`` (the run's hook); returns the files."""
    return [export_scene(gaussians, fmt, default_path(ply_path, fmt), mesh) for fmt in formats]


def check_formats(formats: tuple[str, ...]) -> None:
    unknown = [f for f in formats if f not in SUFFIXES]
    if unknown:
        raise ValueError(
            f"unknown export format(s) {', '.join(map(repr, unknown))}; choose from {', '.join(SUFFIXES)}"
        )


def scene_files(path: Path) -> list[Path]:
    """The .ply to export: ``path`` itself, or a run directory's ``particle_<i>.ply``."""
    if path.is_dir():
        from splatdream.rundir import RunDir

        files = RunDir(path).particles()
        if not files:
            raise FileNotFoundError(
                f"{path} has no particle_<i>.ply; pass a run directory a finished run wrote, or a .ply file"
            )
        return files
    if not path.exists():
        raise FileNotFoundError(f"no such file or directory: {path}; pass a .ply or a run directory")
    return [path]


@dataclass(frozen=True)
class ExportConfig:
    """Write a Gaussian .ply or splat .glb (or every particle of a run directory) as .splat, compressed .ply, .spz or .glb."""

    path: tyro.conf.Positional[Path]
    """A .ply of Gaussian splats (INRIA layout), a .glb holding KHR_gaussian_splatting splats, or a run
    directory holding particle_<i>.ply."""
    format: tuple[ExportFormat, ...]
    """One or more of: splat (32 B/Gaussian, web viewers), ply-compressed (SuperSplat/PlayCanvas),
    spz (Niantic), glb (mesh extracted from the splats, for engines), gltf-splats (the splats in a .glb,
    Khronos KHR_gaussian_splatting)."""
    out: Path | None = None
    """Output file (one input and one format), or output directory; default: beside each input."""
    mesh: MeshOptions = MeshOptions()
    """Mesh extraction for --format glb."""


def _targets(cfg: ExportConfig, files: list[Path]) -> list[tuple[Path, str, Path]]:
    single = len(files) == 1 and len(cfg.format) == 1
    if cfg.out is not None and not single and cfg.out.suffix and not cfg.out.is_dir():
        raise ValueError(
            f"--out {cfg.out} names a file, but {len(files) * len(cfg.format)} files would be written; "
            "pass a directory, or one input and one --format"
        )
    jobs: list[tuple[Path, str, Path]] = []
    for src in files:
        for fmt in cfg.format:
            if cfg.out is None:
                dst = default_path(src, fmt)
            elif single and not cfg.out.is_dir():
                dst = cfg.out
            else:
                dst = cfg.out / default_path(src, fmt).name
            if dst.resolve() == src.resolve():
                raise ValueError(f"{dst} would overwrite its input {src}; pass --out with another file name")
            jobs.append((src, fmt, dst))
    return jobs


def main(argv: list[str] | None = None) -> int:
    cfg = checked(tyro.cli(ExportConfig, args=argv, prog="splatdream export"))
    try:
        check_formats(cfg.format)
        files = scene_files(cfg.path)
        for src, fmt, dst in _targets(cfg, files):
            start = time.perf_counter()
            export_scene(read_scene(src), fmt, dst, cfg.mesh)
            size = dst.stat().st_size
            print(f"{src} -> {dst}  ({fmt}, {size / 2**20:.2f} MiB, {time.perf_counter() - start:.1f} s)")
    except (
        PlyFormatError,
        GltfSplatsError,
        FileNotFoundError,
        EmptySceneError,
        NonFiniteGaussiansError,
        MeshExtractionError,
        ImportError,
        ValueError,
    ) as exc:
        print(f"splatdream export: error: {exc}", file=sys.stderr)
        return 2
    return 0


assert set(get_args(ExportFormat)) == set(SUFFIXES)

__all__ = [
    "SUFFIXES",
    "ExportConfig",
    "check_formats",
    "default_path",
    "export_formats",
    "export_scene",
    "main",
    "scene_files",
]

if __name__ == "__main__":
    raise SystemExit(main())
