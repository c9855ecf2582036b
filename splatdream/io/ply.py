"""Read and write Gaussian splats as .ply in the INRIA 3D Gaussian Splatting layout.

The layout every splat viewer understands (INRIA's ``save_ply``, gsplat's exporter, nerfstudio's
splatfacto export): one ``vertex`` element of little-endian float32 properties

    x y z  nx ny nz  f_dc_0..2  f_rest_0..44  opacity  scale_0..2  rot_0..3

holding raw parameters: logit opacity, log scales, a wxyz quaternion, SH coefficients.
``f_rest`` is channel-major -- the 15 higher-band coefficients of red, then of green, then of blue
(``sh[:, 1:].transpose(1, 2).reshape(N, -1)``). Normals are written as zeros, as INRIA does.
We always write the degree-3 slots (zero-padded) because strict viewers reject anything else;
reading infers the degree from how many ``f_rest`` properties a file has (``Gaussians.with_sh_degree``
trims). Files written by other programs read as long as those properties exist, in any order,
with extra properties ignored.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from plyfile import PlyData, PlyElement

from splatdream.atomic import atomic_write
from splatdream.errors import UserError
from splatdream.scene import Gaussians, num_sh_bases

log = logging.getLogger(__name__)

WRITE_SH_DEGREE = 3
"""SH degree of the slots we write; 45 ``f_rest`` properties is what strict viewers expect."""

_POSITION = ["x", "y", "z"]
_NORMAL = ["nx", "ny", "nz"]
_DC = ["f_dc_0", "f_dc_1", "f_dc_2"]
_OPACITY = ["opacity"]
_SCALE = ["scale_0", "scale_1", "scale_2"]
_ROT = ["rot_0", "rot_1", "rot_2", "rot_3"]
REQUIRED_PROPERTIES = _POSITION + _DC + _OPACITY + _SCALE + _ROT
"""Properties a file must have to be read as Gaussians (normals and ``f_rest`` are optional)."""

_LAYOUT_HINT = (
    "expected the INRIA 3D Gaussian Splatting layout: a 'vertex' element with float properties "
    "x y z [nx ny nz] f_dc_0..2 [f_rest_0..44] opacity scale_0..2 rot_0..3"
)


class PlyFormatError(UserError, ValueError):
    """The file is not a readable .ply of Gaussian splats in the INRIA layout."""


class NonFiniteGaussiansError(UserError, ValueError):
    """Refused to write Gaussians with NaN/inf parameters."""


def ply_property_names(sh_degree: int = WRITE_SH_DEGREE) -> list[str]:
    """Property names in file order for the given SH degree (degree 3: 62 properties)."""
    n_rest = 3 * (num_sh_bases(sh_degree) - 1)
    return _POSITION + _NORMAL + _DC + [f"f_rest_{i}" for i in range(n_rest)] + _OPACITY + _SCALE + _ROT


def nonfinite_rows(gaussians: Gaussians) -> dict[str, torch.Tensor]:
    """Per parameter, a boolean mask [N] of rows holding a NaN or inf (only fields that have any)."""
    fields = {
        "means": gaussians.means,
        "quats": gaussians.quats,
        "log_scales": gaussians.log_scales,
        "logit_opacities": gaussians.logit_opacities.unsqueeze(-1),
        "sh": gaussians.sh.flatten(1),
    }
    bad = {name: ~torch.isfinite(t).all(dim=-1) for name, t in fields.items()}
    return {name: mask for name, mask in bad.items() if bool(mask.any())}


#: One sanity bound for every reader (init, turntable, export, eval, view, info). A log-scale of 20 is a
#: Gaussian 500,000 km across; past it covariances overflow float32 (a log-scale of 80 is 5.5e34 and ends
#: in a LinAlgError). Positions past 1e7 scene units render nothing anywhere and break the camera fit.
MAX_ABS_LOG_SCALE = 20.0
MAX_ABS_POSITION = 1e7


def implausible_rows(gaussians: Gaussians) -> dict[str, torch.Tensor]:
    """Per-Gaussian masks [N] of finite but unusable rows, by reason (only the reasons that occur)."""
    g = gaussians
    checks = {
        f"log-scales beyond +-{MAX_ABS_LOG_SCALE:g}": (g.log_scales.abs() > MAX_ABS_LOG_SCALE).any(dim=-1),
        f"positions beyond +-{MAX_ABS_POSITION:g}": (g.means.abs() > MAX_ABS_POSITION).any(dim=-1),
        "all-zero quaternions": (g.quats == 0).all(dim=-1),
    }
    return {reason: mask for reason, mask in checks.items() if bool(mask.any())}


def _to_rows(gaussians: Gaussians) -> np.ndarray:
    """Gaussians -> structured float32 array [N] with the 62 INRIA properties in file order."""
    g = gaussians.detach().to("cpu").with_sh_degree(WRITE_SH_DEGREE)
    n = len(g)
    rest = g.sh[:, 1:].transpose(1, 2).flatten(1)  # [N, 45], channel-major
    columns = [
        g.means,
        torch.zeros(n, 3, dtype=g.means.dtype),
        g.sh[:, 0],
        rest,
        g.logit_opacities.unsqueeze(-1),
        g.log_scales,
        g.quats,
    ]
    matrix = torch.cat([c.to(torch.float32) for c in columns], dim=1).numpy()
    matrix = np.ascontiguousarray(matrix, dtype="<f4")
    dtype = np.dtype([(name, "<f4") for name in ply_property_names(WRITE_SH_DEGREE)])
    return matrix.view(dtype).reshape(n)


def write_ply(path: str | os.PathLike[str], gaussians: Gaussians) -> None:
    """Write ``gaussians`` atomically as a binary little-endian INRIA-layout .ply (degree-3 slots).

    Raises ``NonFiniteGaussiansError`` (and writes nothing, leaving any existing file intact)
    if any parameter is NaN or inf -- also after the cast to float32, so float64 values too large
    for a float32 are caught. Rows are never dropped silently.
    """
    g32 = gaussians.detach().to("cpu", torch.float32)
    bad = nonfinite_rows(g32)
    if bad:
        any_bad = torch.stack(list(bad.values())).any(dim=0)
        detail = ", ".join(f"{name}: {int(mask.sum())} rows" for name, mask in bad.items())
        raise NonFiniteGaussiansError(
            f"refusing to write {os.fspath(path)}: {int(any_bad.sum())} of {len(g32)} Gaussians have "
            f"non-finite values ({detail}); nothing was written. Find the NaN source, or drop the rows "
            "explicitly with gaussians[mask] where mask marks the finite rows."
        )
    element = PlyElement.describe(_to_rows(g32), "vertex")
    with atomic_write(path) as tmp:
        PlyData([element], text=False, byte_order="<").write(os.fspath(tmp))


_SIZES = {
    name: size
    for size, names in {
        1: ("char", "uchar", "int8", "uint8"),
        2: ("short", "ushort", "int16", "uint16"),
        4: ("int", "uint", "float", "int32", "uint32", "float32"),
        8: ("double", "float64"),
    }.items()
    for name in names
}
_MAX_HEADER = 1 << 20  # a real header is a few hundred bytes; others' tools add comments


def check_ply_size(path: Path) -> None:
    """Refuse, before any parsing or allocation, files that cannot be a .ply or are shorter than they declare.

    Reads only the header: every element's declared row count times its smallest possible row (the
    fixed-size properties, an empty list for list properties, two characters a value in ASCII) must
    fit in the bytes after the header, so a huge declared count with a short body is an error here
    instead of a huge allocation in the parser.
    """
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(_MAX_HEADER)
    if size == 0:
        raise PlyFormatError(f"{path} is empty (0 bytes) -- an interrupted copy or write? {_LAYOUT_HINT}")
    if head[:2] == b"\x1f\x8b":
        raise PlyFormatError(
            f"{path} is gzip-compressed; decompress it first (gunzip -k {path}) and pass the .ply"
        )
    if not head.startswith(b"ply"):
        raise PlyFormatError(
            f"{path} is not a readable .ply file (it does not start with 'ply'); {_LAYOUT_HINT}"
        )
    end = head.find(b"end_header")
    if end < 0:
        if size > len(head):  # plenty of file after: not truncated, the header is just longer than we read
            raise PlyFormatError(
                f"{path}: no 'end_header' in the first {_MAX_HEADER >> 20} MiB; a header that long "
                "(thousands of comment or property lines) is not supported, or the file is no .ply"
            )
        raise PlyFormatError(f"{path}: no 'end_header' before the file ends -- truncated, or not a .ply")
    body = size - (head.index(b"\n", end) + 1 if b"\n" in head[end:] else len(head))
    ascii_format, needed = False, 0
    count, row = 0, 0
    for raw in head[:end].decode("ascii", errors="replace").splitlines():
        words = raw.split()
        if not words:
            continue
        if words[0] == "format" and len(words) > 1:
            ascii_format = words[1] == "ascii"
        elif words[0] == "element" and len(words) == 3:
            needed += count * row
            try:
                count, row = int(words[2]), 0
            except ValueError:
                raise PlyFormatError(f"{path}: bad element count in header line {raw.strip()!r}") from None
            if count < 0:
                raise PlyFormatError(f"{path}: negative element count in header line {raw.strip()!r}")
        elif words[0] == "property" and len(words) >= 3:
            if ascii_format:
                row += 2
            elif words[1] == "list" and len(words) >= 5:
                row += _SIZES.get(words[2], 1)
            else:
                row += _SIZES.get(words[1], 1)
    needed += count * row
    if needed > body:
        raise PlyFormatError(
            f"{path} declares at least {needed:,} bytes of data but only {max(body, 0):,} follow the header "
            "-- the file is truncated (an interrupted copy or write?)"
        )


def read_ply(
    path: str | os.PathLike[str], *, nonfinite: Literal["drop", "keep"] = "drop", allow_empty: bool = True
) -> Gaussians:
    """Read an INRIA-layout .ply (ours or another program's) into float32 CPU ``Gaussians``.

    The SH degree is inferred from the number of ``f_rest`` properties (0, 9, 24 or 45 -> degree
    0..3). Raises ``PlyFormatError`` naming what is missing for truncated, empty and compressed
    files, non-.ply files and .ply files of other kinds (meshes, coloured point clouds).

    Args:
        nonfinite: rows holding NaN/inf are dropped with a logged warning ('drop'; a file with no
            finite row is an error) or returned as they are ('keep', for ``splatdream info``).
        allow_empty: False makes a file with no Gaussians an error (nothing to render or train).
    """
    path = Path(path)
    if path.is_dir():
        raise PlyFormatError(
            f"{path} is a folder, not a .ply file; pass the .ply inside it (or a run directory "
            "to the commands that take one)"
        )
    if path.exists() and not path.is_file():  # a FIFO or device: reading it could block forever
        raise PlyFormatError(
            f"{path} is not a regular file (a pipe or device?); save the scene to a .ply file first"
        )
    if not path.is_file():
        raise FileNotFoundError(f"no such .ply file: {path}")
    gaussians = _read_rows(path)
    bad = nonfinite_rows(gaussians)
    if bad and nonfinite == "drop":
        finite = ~torch.stack(list(bad.values())).any(dim=0)
        n_bad = len(gaussians) - int(finite.sum())
        if n_bad == len(gaussians):
            raise PlyFormatError(
                f"{path}: all {n_bad:,} Gaussians hold NaN/inf values; nothing to use. "
                "Re-export the scene from the program that made it"
            )
        log.warning("%s: dropped %d of %d Gaussians holding NaN/inf values", path, n_bad, len(gaussians))
        gaussians = gaussians[finite]
    implausible = implausible_rows(gaussians) if nonfinite == "drop" else {}
    if implausible:
        keep = ~torch.stack(list(implausible.values())).any(dim=0)
        n_bad = len(gaussians) - int(keep.sum())
        detail = ", ".join(f"{int(m.sum()):,} with {reason}" for reason, m in implausible.items())
        if n_bad == len(gaussians):
            raise PlyFormatError(
                f"{path}: all {n_bad:,} Gaussians are unusable ({detail}); nothing to render. "
                "Re-export the scene from the program that made it"
            )
        log.warning("%s: dropped %d of %d Gaussians (%s)", path, n_bad, len(gaussians), detail)
        gaussians = gaussians[keep]
    if not allow_empty and len(gaussians) == 0:
        raise PlyFormatError(
            f"{path} holds no Gaussians (its vertex element is empty); pass a non-empty scene"
        )
    return gaussians


def _read_rows(path: Path) -> Gaussians:
    check_ply_size(path)
    try:
        with open(path, "rb") as f:
            # A copy-on-write map reads the vertex block as one array; without it plyfile reads
            # value by value in Python (0.5 s for a 6,000-Gaussian file). Columns are copied out below.
            ply = PlyData.read(f, mmap="c")
    except Exception as exc:  # plyfile raises many types (PlyParseError, ValueError, EOFError, ...)
        truncated = "end-of-file" in str(exc)
        hint = " -- the file looks truncated (an interrupted copy or write?)" if truncated else ""
        raise PlyFormatError(
            f"{path} is not a readable .ply file ({type(exc).__name__}: {exc}){hint}; {_LAYOUT_HINT}"
        ) from exc

    names = [el.name for el in ply.elements]
    if "vertex" not in names:
        raise PlyFormatError(f"{path} has no 'vertex' element (elements: {names or 'none'}); {_LAYOUT_HINT}")
    vertex = ply["vertex"]
    props = {p.name: p for p in vertex.properties}
    missing = [name for name in REQUIRED_PROPERTIES if name not in props]
    if missing:
        kind = ""
        if {"red", "green", "blue"} <= props.keys() or "face" in names:
            kind = " It looks like a mesh or coloured point cloud, not Gaussian splats."
        raise PlyFormatError(
            f"{path} lacks the Gaussian properties {', '.join(missing)} "
            f"(it has: {', '.join(props) or 'none'}).{kind} {_LAYOUT_HINT}"
        )
    lists = [name for name in REQUIRED_PROPERTIES if hasattr(props[name], "len_dtype")]
    if lists:
        raise PlyFormatError(f"{path}: properties {lists} are lists, not scalars; {_LAYOUT_HINT}")

    rest_ids = sorted(int(n[len("f_rest_") :]) for n in props if n.startswith("f_rest_") and n[7:].isdigit())
    if rest_ids != list(range(len(rest_ids))) or len(rest_ids) not in (0, 9, 24, 45):
        raise PlyFormatError(
            f"{path} has {len(rest_ids)} f_rest properties (indices {rest_ids[:3]}...{rest_ids[-3:]}); "
            "expected f_rest_0..f_rest_{M-1} with M = 0, 9, 24 or 45 (SH degree 0, 1, 2 or 3)"
        )
    used = [*REQUIRED_PROPERTIES, *(f"f_rest_{i}" for i in rest_ids)]
    not_float = [name for name in used if np.dtype(props[name].val_dtype).kind != "f"]
    if not_float:
        kinds = sorted({np.dtype(props[n].val_dtype).name for n in not_float})
        raise PlyFormatError(
            f"{path}: Gaussian properties {', '.join(not_float[:4])}{' ...' if len(not_float) > 4 else ''} are "
            f"{'/'.join(kinds)}, not float (a log-scale of -4 stored as uchar reads as 252); "
            "re-export the scene with float properties"
        )
    data = vertex.data

    def column(*cols: str) -> torch.Tensor:
        stacked = np.stack([np.asarray(data[c], dtype=np.float32) for c in cols], axis=-1)
        return torch.from_numpy(np.ascontiguousarray(stacked))

    n = len(data)
    k_rest = len(rest_ids) // 3
    dc = column(*_DC).unsqueeze(1)  # [N, 1, 3]
    if k_rest:
        rest = column(*[f"f_rest_{i}" for i in range(len(rest_ids))]).reshape(n, 3, k_rest).transpose(1, 2)
        sh = torch.cat([dc, rest], dim=1).contiguous()
    else:
        sh = dc
    return Gaussians(
        means=column(*_POSITION),
        quats=column(*_ROT),
        log_scales=column(*_SCALE),
        logit_opacities=column(*_OPACITY)[:, 0].contiguous(),
        sh=sh,
    )


__all__ = [
    "MAX_ABS_LOG_SCALE",
    "MAX_ABS_POSITION",
    "REQUIRED_PROPERTIES",
    "NonFiniteGaussiansError",
    "PlyFormatError",
    "check_ply_size",
    "implausible_rows",
    "nonfinite_rows",
    "ply_property_names",
    "read_ply",
    "write_ply",
]
