"""A folder of small generated meshes with a captions.csv, for ingestion tests and benchmarks."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import trimesh

SHAPES = ("box", "sphere", "cylinder", "cone", "capsule")
COLOURS = {
    "red": (200, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 70, 200),
    "yellow": (220, 200, 40),
    "grey": (130, 130, 130),
}


def make_mesh_folder(folder: Path, n: int, *, bad: bool = True, duplicate: bool = True) -> Path:
    """``n`` coloured primitives (.glb and .ply) with captions; plus one unreadable file and one copy when asked."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        shape, colour = SHAPES[i % len(SHAPES)], list(COLOURS)[(i // len(SHAPES)) % len(COLOURS)]
        mesh = {
            "box": lambda: trimesh.creation.box(extents=rng.uniform(0.3, 2.0, 3)),
            "sphere": lambda: trimesh.creation.icosphere(subdivisions=1, radius=float(rng.uniform(0.3, 1.5))),
            "cylinder": lambda: trimesh.creation.cylinder(
                radius=float(rng.uniform(0.2, 1)), height=float(rng.uniform(0.5, 2)), sections=12
            ),
            "cone": lambda: trimesh.creation.cone(
                radius=float(rng.uniform(0.2, 1)), height=float(rng.uniform(0.5, 2)), sections=12
            ),
            "capsule": lambda: trimesh.creation.capsule(
                height=float(rng.uniform(0.5, 2)), radius=0.3, count=(8, 8)
            ),
        }[shape]()
        mesh.apply_translation(rng.uniform(-2, 2, 3))
        mesh.visual.face_colors = (*COLOURS[colour], 255)
        name = f"{colour}_{shape}_{i:03d}.{'glb' if i % 2 == 0 else 'ply'}"
        mesh.export(folder / name)
        rows.append(
            {"file": name, "caption": f"a {colour} {shape}", "category": shape, "tags": f"{colour};{shape}"}
        )
    if duplicate:
        (folder / "copy_of_first.glb").write_bytes((folder / rows[0]["file"]).read_bytes())
    if bad:
        (folder / "broken.obj").write_text("this is not a mesh\n")
    with open(folder / "captions.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["file", "caption", "category", "tags"])
        writer.writeheader()
        writer.writerows(rows)
    return folder
