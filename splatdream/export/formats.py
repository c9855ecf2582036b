"""Splat formats other tools open: ``.splat`` (web viewers), SuperSplat's compressed .ply, Niantic's ``.spz``.

Byte layouts, for readers of the files:

- ``.splat`` (antimatter15's viewer and the three.js / PlayCanvas loaders): 32 bytes per Gaussian,
  no header -- position float32x3, activated scale float32x3, RGBA uint8 (colour from the SH DC
  band ``0.5 + C0 * dc``, alpha = sigmoid opacity), rotation uint8x4 (unit wxyz quaternion as
  ``q * 128 + 128``). Rows sorted by descending volume x opacity, as those viewers expect for
  progressive loading. Higher SH bands are dropped (the format has no slot for them).
- compressed .ply (SuperSplat / PlayCanvas): chunks of 256 Gaussians in Morton order, each with
  float min/max bounds; per Gaussian four uint32 (position 11/10/11 bits, rotation smallest-three
  2+10+10+10, log-scale 11/10/11, colour+opacity 8/8/8/8) and one byte per higher SH coefficient.
  Written by gsplat's exporter, which drops Gaussians with opacity <= 1/255 (invisible anyway).
- ``.spz`` (Niantic): gzip of fixed-point positions, 8-bit log-scales, rotation, colour, opacity
  and SH; written by the ``gsply`` package (version-3 container, which every current reader opens).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from splatdream.atomic import atomic_write
from splatdream.export.info import highest_nonzero_band
from splatdream.io.ply import NonFiniteGaussiansError, nonfinite_rows
from splatdream.scene import SH_C0, Gaussians

SPLAT_DTYPE = np.dtype(
    [("position", "<f4", 3), ("scale", "<f4", 3), ("rgba", "u1", 4), ("rotation", "u1", 4)]
)
"""One row of a ``.splat`` file (32 bytes)."""

COMPRESSED_MIN_OPACITY = 1 / 255
"""gsplat's compressed-.ply writer drops Gaussians at or below this opacity."""


class EmptySceneError(ValueError):
    """The scene has no Gaussians, so there is nothing to export."""


def check_exportable(gaussians: Gaussians, what: str = "the scene") -> Gaussians:
    """Detached float32 CPU copy of ``gaussians`` without all-zero SH bands; raises if empty or NaN/inf."""
    g = gaussians.detach().to("cpu", torch.float32)
    if len(g) == 0:
        raise EmptySceneError(
            f"{what} has no Gaussians, so there is nothing to export; pass a .ply written by a run "
            "(particle_<i>.ply) or by another splat tool"
        )
    bad = nonfinite_rows(g)
    if bad:
        detail = ", ".join(f"{name}: {int(mask.sum())} rows" for name, mask in bad.items())
        raise NonFiniteGaussiansError(
            f"{what} has Gaussians with NaN/inf parameters ({detail}); nothing was written. "
            "Drop them first with gaussians[mask] where mask marks the finite rows."
        )
    if bool((g.quats.norm(dim=-1) == 0).any()):
        raise NonFiniteGaussiansError(
            f"{what} has Gaussians with an all-zero quaternion; nothing was written"
        )
    # .ply files carry zero-padded degree-3 slots; dropping all-zero bands is lossless and saves bytes.
    return g.with_sh_degree(highest_nonzero_band(g.sh))


# -- .splat --------------------------------------------------------------------------------------
def splat_rows(gaussians: Gaussians) -> np.ndarray:
    """Gaussians -> structured array [N] in the ``.splat`` layout, largest x most opaque first."""
    g = check_exportable(gaussians)
    scales, opacities = g.scales, g.opacities
    order = torch.argsort(scales.prod(dim=-1) * opacities, descending=True, stable=True)
    rgba = torch.cat([g.rgb, opacities[:, None]], dim=1)[order]
    rot = g.unit_quats[order] * 128 + 128
    rows = np.empty(len(g), dtype=SPLAT_DTYPE)
    rows["position"] = g.means[order].numpy()
    rows["scale"] = scales[order].numpy()
    rows["rgba"] = (rgba * 255).round().clamp(0, 255).to(torch.uint8).numpy()
    rows["rotation"] = rot.round().clamp(0, 255).to(torch.uint8).numpy()
    return rows


def write_splat(path: str | os.PathLike[str], gaussians: Gaussians) -> None:
    """Write ``gaussians`` atomically as a ``.splat`` file (32 bytes per Gaussian, DC colour only)."""
    data = splat_rows(gaussians).tobytes()
    with atomic_write(path) as tmp:
        tmp.write_bytes(data)


def read_splat(path: str | os.PathLike[str]) -> Gaussians:
    """Read a ``.splat`` file back into raw-parameter ``Gaussians`` (SH degree 0)."""
    raw = Path(path).read_bytes()
    if len(raw) % SPLAT_DTYPE.itemsize:
        raise ValueError(
            f"{path} is {len(raw)} bytes, not a multiple of 32: not a .splat file (or truncated)"
        )
    rows = np.frombuffer(raw, dtype=SPLAT_DTYPE)
    rgba = torch.from_numpy(rows["rgba"].astype(np.float32) / 255)
    quats = torch.from_numpy((rows["rotation"].astype(np.float32) - 128) / 128)
    opacity = rgba[:, 3].clamp(1e-4, 1 - 1e-4)
    return Gaussians(
        means=torch.from_numpy(rows["position"].copy()),
        quats=quats,
        log_scales=torch.from_numpy(rows["scale"].copy()).clamp_min(1e-12).log(),
        logit_opacities=torch.logit(opacity),
        sh=((rgba[:, :3] - 0.5) / SH_C0).unsqueeze(1),
    )


# -- compressed .ply -----------------------------------------------------------------------------
def compressed_ply_bytes(gaussians: Gaussians) -> bytes:
    """The SuperSplat / PlayCanvas compressed .ply of ``gaussians`` (gsplat's writer; runs on CPU)."""
    from gsplat.exporter import export_splats

    g = check_exportable(gaussians)
    data = export_splats(
        g.means, g.log_scales, g.quats, g.logit_opacities, g.sh[:, :1], g.sh[:, 1:], format="ply_compressed"
    )
    if g.sh_degree == 0:
        # gsplat declares an 'sh' element with no properties; PlayCanvas's own writer leaves it out.
        kept = int((g.opacities > COMPRESSED_MIN_OPACITY).sum())
        data = data.replace(f"element sh {kept}\nend_header\n".encode(), b"end_header\n", 1)
    return data


def write_compressed_ply(path: str | os.PathLike[str], gaussians: Gaussians) -> None:
    """Write ``gaussians`` atomically as a SuperSplat compressed .ply."""
    data = compressed_ply_bytes(gaussians)
    with atomic_write(path) as tmp:
        tmp.write_bytes(data)


# -- .spz ----------------------------------------------------------------------------------------
def write_spz(path: str | os.PathLike[str], gaussians: Gaussians) -> None:
    """Write ``gaussians`` atomically as Niantic ``.spz`` (through the ``gsply`` package)."""
    try:
        import gsply
    except ImportError as exc:
        raise ImportError(
            ".spz export needs the gsply package (pip install 'gsply>=0.4.6,<0.5'), a dependency of "
            "splatdream; reinstall with pip install -e ."
        ) from exc
    g = check_exportable(gaussians)
    data = gsply.GSData(
        means=g.means.numpy(),
        scales=g.log_scales.numpy(),
        quats=g.unit_quats.numpy(),
        opacities=g.logit_opacities.numpy(),
        sh0=g.sh[:, 0].numpy(),
        shN=g.sh[:, 1:].contiguous().numpy(),
    )
    with atomic_write(path) as tmp:
        gsply.write_spz(tmp, data, version=3)


def read_spz(path: str | os.PathLike[str]) -> Gaussians:
    """Read a ``.spz`` file into ``Gaussians`` (through ``gsply``)."""
    import gsply

    d = gsply.read_spz(Path(path))
    n = len(d.means)
    sh = torch.from_numpy(np.asarray(d.sh0, dtype=np.float32)).reshape(n, 1, 3)
    if d.shN is not None and d.shN.size:
        sh = torch.cat([sh, torch.from_numpy(np.asarray(d.shN, dtype=np.float32)).reshape(n, -1, 3)], dim=1)
    return Gaussians(
        means=torch.from_numpy(np.asarray(d.means, dtype=np.float32)),
        quats=torch.from_numpy(np.asarray(d.quats, dtype=np.float32)),
        log_scales=torch.from_numpy(np.asarray(d.scales, dtype=np.float32)),
        logit_opacities=torch.from_numpy(np.asarray(d.opacities, dtype=np.float32)),
        sh=sh,
    )


__all__ = [
    "COMPRESSED_MIN_OPACITY",
    "SPLAT_DTYPE",
    "EmptySceneError",
    "check_exportable",
    "compressed_ply_bytes",
    "read_splat",
    "read_spz",
    "splat_rows",
    "write_compressed_ply",
    "write_splat",
    "write_spz",
]
