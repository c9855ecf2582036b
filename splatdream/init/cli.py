"""``splatdream init``: retrieve assets for a prompt, initialise particles, write .ply + contact sheets."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import tyro

from splatdream.init.config import InitConfig
from splatdream.init.particles import contact_sheet, initialise
from splatdream.numbers import checked

if TYPE_CHECKING:
    import trimesh


@dataclass(frozen=True)
class InitCommand:
    """Retrieve + initialise particles and write them as .ply files."""

    out: Path
    """Output directory (particle_<i>.ply, init_particle_<i>.png, retrieved.json)."""
    prompt: str = ""
    """Text prompt used to retrieve assets (needed for --method retrieved)."""
    num_particles: int = 4
    """Particles to write."""
    top_k: int = 3
    """Assets retrieved (particle i starts from asset i mod top_k)."""
    library: Path | None = None
    """Asset library directory (the default library when unset)."""
    sheet_views: int = 4
    """Views per contact sheet (0 skips the sheets)."""
    sheet_size: int = 128
    """Contact sheet tile size in pixels."""
    init: Annotated[InitConfig, tyro.conf.arg(name="")] = field(default_factory=InitConfig)


def retrieve_meshes(
    prompt: str, k: int, library: Path | None
) -> tuple[list[trimesh.Trimesh], list[str], list[dict[str, Any]]]:
    """Top-k meshes for the prompt through the asset library."""
    try:
        from splatdream.retrieval.library import AssetLibrary
    except ImportError as exc:  # pragma: no cover - only while retrieval is missing
        raise SystemExit(
            f"splatdream init: retrieval is unavailable ({exc}); use --method random or --method ply --ply FILE"
        ) from exc
    if not prompt.strip():
        raise SystemExit(
            "splatdream init: --prompt is required with --method retrieved (or pass --method random)"
        )
    lib = AssetLibrary.open(library) if library is not None else AssetLibrary.open()
    hits = lib.search(prompt, k)
    meshes = [lib.load_mesh(h) for h in hits]
    info = [
        {"rank": i, "caption": h.caption, "score": float(h.score), "mesh_path": str(h.mesh_path)}
        for i, h in enumerate(hits)
    ]
    return meshes, [str(getattr(h, "id", h.caption)) for h in hits], info


def run(cmd: InitCommand) -> list[Path]:
    from splatdream.atomic import atomic_write
    from splatdream.io.ply import write_ply
    from splatdream.rundir import RunDir

    cfg = cmd.init
    meshes: list[trimesh.Trimesh] = []
    names: list[str] | None = None
    info: list[dict[str, Any]] = []
    if cfg.method == "retrieved":
        meshes, names, info = retrieve_meshes(cmd.prompt, cmd.top_k, cmd.library)
    particles = initialise(cfg, cmd.num_particles, meshes, names)
    cmd.out.mkdir(parents=True, exist_ok=True)
    files = RunDir(cmd.out)
    written = []
    for i, g in enumerate(particles):
        path = files.particle(i)
        write_ply(path, g)
        written.append(path)
        if cmd.sheet_views > 0:
            contact_sheet(g, files.init_sheet(i), views=cmd.sheet_views, size=cmd.sheet_size)
    with atomic_write(files.retrieved_json) as tmp:
        tmp.write_text(
            json.dumps(
                {
                    "prompt": cmd.prompt,
                    "method": cfg.method,
                    "ply": str(cfg.ply) if cfg.ply else None,
                    "assets": info,
                },
                indent=1,
            )
            + "\n"
        )
    return written


def main(argv: list[str] | None = None) -> int:
    cmd = checked(tyro.cli(InitCommand, args=argv, prog="splatdream init"), omit=("init.",))
    for path in run(cmd):
        print(path)
    return 0
