"""``splatdream info SCENE.ply``: what is in a splat file, at a glance."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import tyro

from splatdream.export.gltf_splats_reader import GltfSplatsError
from splatdream.export.scene_file import read_scene
from splatdream.io.ply import PlyFormatError, implausible_rows, nonfinite_rows
from splatdream.scene import Gaussians


@dataclass(frozen=True)
class InfoConfig:
    """Print count, SH degree, bounds and opacity/scale statistics of a Gaussian .ply or splat .glb."""

    path: tyro.conf.Positional[Path]
    """The .ply file (INRIA 3D Gaussian Splatting layout) or .glb (KHR_gaussian_splatting)."""
    json: bool = False
    """Print a JSON object instead of a table (for scripts)."""


def highest_nonzero_band(sh: torch.Tensor) -> int:
    """Highest SH band (0..3) with any non-zero coefficient; files often carry zero-padded slots."""
    degree = round(sh.shape[1] ** 0.5) - 1
    for band in range(degree, 0, -1):
        if bool((sh[:, band**2 : (band + 1) ** 2] != 0).any()):
            return band
    return 0


def _stats(values: torch.Tensor) -> dict[str, float]:
    if values.numel() == 0:
        return {"min": float("nan"), "median": float("nan"), "mean": float("nan"), "max": float("nan")}
    v = values.double()
    return {
        "min": v.min().item(),
        "median": v.median().item(),
        "mean": v.mean().item(),
        "max": v.max().item(),
    }


def summarize(gaussians: Gaussians) -> dict[str, Any]:
    """Plain-number summary of a scene (activated opacities and scales, world-space bounds)."""
    g = gaussians.detach().to("cpu", torch.float64)
    finite = torch.ones(len(g), dtype=torch.bool)
    for mask in nonfinite_rows(g).values():
        finite &= ~mask
    gf = g[finite]
    if len(gf):
        lo, hi = gf.means.min(dim=0).values, gf.means.max(dim=0).values
        center = (lo + hi) / 2
        radius = (gf.means - center).norm(dim=-1).max().item()
        origin_radius = gf.means.norm(dim=-1).max().item()
    else:
        lo = hi = center = torch.full((3,), float("nan"), dtype=torch.float64)
        radius = origin_radius = float("nan")
    opacities = gf.opacities
    # Finite rows past the readers' sanity bound: every other command drops them, so info counts them
    # (kept in the statistics below, where they show as the extreme values).
    implausible = implausible_rows(gf)
    outside = torch.zeros(len(gf), dtype=torch.bool)
    for mask in implausible.values():
        outside |= mask
    return {
        "count": len(g),
        "non_finite": int((~finite).sum()),
        "implausible": int(outside.sum()),
        "implausible_by_reason": {reason: int(mask.sum()) for reason, mask in implausible.items()},
        "sh_degree": g.sh_degree,
        "sh_highest_nonzero_band": highest_nonzero_band(gf.sh),
        "bbox_min": lo.tolist(),
        "bbox_max": hi.tolist(),
        "bbox_center": center.tolist(),
        "bounding_radius": radius,
        "max_distance_from_origin": origin_radius,
        "opacity": _stats(opacities),
        "transparent_fraction": float((opacities < 0.005).double().mean()) if len(gf) else float("nan"),
        "scale_max_axis": _stats(gf.scales.max(dim=-1).values),
        "scale_min_axis": _stats(gf.scales.min(dim=-1).values),
    }


def format_summary(summary: dict[str, Any], title: str = "") -> str:
    def vec(v: list[float]) -> str:
        return "(" + ", ".join(f"{x:+.4f}" for x in v) + ")"

    def stats(s: dict[str, float]) -> str:
        return f"min {s['min']:.4g}  median {s['median']:.4g}  mean {s['mean']:.4g}  max {s['max']:.4g}"

    s = summary
    lines = [title] if title else []
    lines += [
        f"gaussians        {s['count']:,}"
        + (f"  ({s['non_finite']:,} with NaN/inf!)" if s["non_finite"] else "")
        + (
            f"  ({s['implausible']:,} outside the sanity bound, which the other commands drop: "
            + ", ".join(f"{n:,} with {reason}" for reason, n in s["implausible_by_reason"].items())
            + "!)"
            if s.get("implausible")
            else ""
        ),
        f"sh degree        {s['sh_degree']} (highest non-zero band: {s['sh_highest_nonzero_band']})",
        f"bbox min         {vec(s['bbox_min'])}",
        f"bbox max         {vec(s['bbox_max'])}",
        f"bbox center      {vec(s['bbox_center'])}",
        f"bounding radius  {s['bounding_radius']:.4f} about the bbox center, "
        f"{s['max_distance_from_origin']:.4f} about the origin",
        f"opacity          {stats(s['opacity'])}  ({100 * s['transparent_fraction']:.1f}% below 0.005)",
        f"scale (largest)  {stats(s['scale_max_axis'])}",
        f"scale (smallest) {stats(s['scale_min_axis'])}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    cfg = tyro.cli(InfoConfig, args=argv, prog="splatdream info")
    try:
        summary = summarize(read_scene(cfg.path, nonfinite="keep"))
    except (PlyFormatError, GltfSplatsError, FileNotFoundError) as exc:
        print(f"splatdream info: error: {exc}", file=sys.stderr)
        return 2
    if cfg.json:
        print(json.dumps({"path": str(cfg.path), **summary}, indent=2))
    else:
        size_mb = cfg.path.stat().st_size / 2**20
        print(format_summary(summary, title=f"{cfg.path}  ({size_mb:.2f} MiB)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
