"""Property-based fuzzing of the two readers of outside files: the .ply splat reader and mesh ingestion.

Each mutated file either reads correctly or raises the project's own error type (``PlyFormatError``,
``MeshError``); none hangs (hypothesis' per-example deadline) and none allocates much more than the
file justifies (tracemalloc, which sees numpy's buffers). Example counts are bounded so the module
runs in well under a minute.
"""

from __future__ import annotations

import io
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import torch

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from plyfile import PlyData, PlyElement  # noqa: E402

from splatdream.io.ply import REQUIRED_PROPERTIES, PlyFormatError, read_ply  # noqa: E402
from splatdream.retrieval.meshes import MeshError, load_any, normalise  # noqa: E402

FUZZ = settings(max_examples=60, deadline=2000, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
ALLOC_SLACK = 8 << 20
"""Bytes any read may allocate whatever the file (plyfile's and numpy's fixed costs)."""


def _splat_ply(n: int, order: list[str], dtypes: list[str], ascii_format: bool) -> bytes:
    rng = np.random.default_rng(n)
    rows = np.empty(n, dtype=[(name, dt) for name, dt in zip(order, dtypes, strict=True)])
    for name in order:
        rows[name] = rng.normal(size=n)
    buf = io.BytesIO()
    PlyData([PlyElement.describe(rows, "vertex")], text=ascii_format).write(buf)
    return buf.getvalue()


@st.composite
def splat_files(draw: st.DrawFn) -> bytes:
    extra = draw(st.lists(st.sampled_from(["nx", "ny", "nz", "red", "alpha", "f_rest_0"]), unique=True, max_size=3))
    order = draw(st.permutations(REQUIRED_PROPERTIES + extra))
    dtypes = [draw(st.sampled_from(["<f4", "<f8", "<f4", "<i2", "u1"])) for _ in order]
    return _splat_ply(draw(st.integers(0, 30)), list(order), dtypes, draw(st.booleans()))


def _sections(data: bytes) -> list[int]:
    """Offsets of every header line end and the end of the header: where truncations hurt most."""
    end = data.find(b"end_header\n") + len(b"end_header\n")
    return sorted({i + 1 for i, b in enumerate(data[:end]) if b == 0x0A} | {0, 3, end, len(data)})


@st.composite
def mutated_splat_files(draw: st.DrawFn) -> bytes:
    data = draw(splat_files())
    header_end = data.find(b"end_header\n") + len(b"end_header\n")
    header, body = data[:header_end].decode("ascii").splitlines(keepends=True), data[header_end:]
    kind = draw(st.sampled_from(["truncate-section", "truncate-anywhere", "huge-count", "drop-line",
                                 "swap-lines", "retype", "garbage-line", "flip-bytes", "none"]))
    if kind == "truncate-section":
        return data[: draw(st.sampled_from(_sections(data)))]
    if kind == "truncate-anywhere":
        return data[: draw(st.integers(0, len(data)))]
    if kind == "huge-count":
        count = draw(st.sampled_from([2**31 - 1, 2**40, 10**15, 2**63 - 1, 10**30, -1]))
        header = [f"element vertex {count}\n" if line.startswith("element") else line for line in header]
    elif kind == "drop-line" and len(header) > 3:
        del header[draw(st.integers(1, len(header) - 2))]
    elif kind == "swap-lines" and len(header) > 4:
        i = draw(st.integers(1, len(header) - 3))
        header[i], header[i + 1] = header[i + 1], header[i]
    elif kind == "retype":
        i = draw(st.integers(0, len(header) - 1))
        if header[i].startswith("property"):
            name = header[i].split()[-1]
            new = draw(st.sampled_from(["double", "uchar", "int", "list uchar float", "bogus", "list int int"]))
            header[i] = f"property {new} {name}\n"
    elif kind == "garbage-line":
        i = draw(st.integers(1, len(header) - 1))
        header.insert(i, draw(st.sampled_from(["element face 3\n", "property float\n", "format binary_big_endian 1.0\n",
                                              "comment \xff\n", "element vertex\n", "obj_info x\n", "\n"])))
    elif kind == "flip-bytes" and body:
        body = bytearray(body)
        for _ in range(draw(st.integers(1, 8))):
            body[draw(st.integers(0, len(body) - 1))] = draw(st.integers(0, 255))
        body = bytes(body)
    return "".join(header).encode("latin-1") + body


def _read_bounded(path: Path, reader, errors):  # type: ignore[no-untyped-def]
    """``reader(path)``; returns the result or the project's error; asserts the allocation bound."""
    size = path.stat().st_size
    tracemalloc.start()
    try:
        return reader(path)
    except errors as exc:
        return exc
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak <= 64 * size + ALLOC_SLACK, f"peak {peak:,} B for a {size:,} B file"


@FUZZ
@given(data=splat_files())
def test_well_formed_splat_files_in_any_order_and_type_read(data: bytes, tmp_path_factory) -> None:
    path = tmp_path_factory.mktemp("ply") / "scene.ply"
    path.write_bytes(data)
    out = _read_bounded(path, lambda p: read_ply(p, nonfinite="keep"), PlyFormatError)
    if isinstance(out, PlyFormatError):  # only a bad f_rest count (a lone f_rest_0) is a reason to refuse
        assert "f_rest" in str(out), out
    else:
        ply = PlyData.read(io.BytesIO(data))
        assert len(out) == ply["vertex"].count
        torch.testing.assert_close(out.means[:, 0], torch.from_numpy(np.array(ply["vertex"]["x"], dtype=np.float32)))


@FUZZ
@given(data=mutated_splat_files())
def test_mutated_splat_files_read_or_raise_our_error(data: bytes, tmp_path_factory) -> None:
    path = tmp_path_factory.mktemp("ply") / "scene.ply"
    path.write_bytes(data)
    _read_bounded(path, read_ply, PlyFormatError)


def test_huge_declared_count_is_refused_before_allocating(tmp_path) -> None:
    data = _splat_ply(4, list(REQUIRED_PROPERTIES), ["<f4"] * len(REQUIRED_PROPERTIES), False)
    path = tmp_path / "liar.ply"
    path.write_bytes(data.replace(b"element vertex 4", b"element vertex 1000000000000"))
    out = _read_bounded(path, read_ply, PlyFormatError)
    assert isinstance(out, PlyFormatError) and "truncated" in str(out)


# -- meshes for `assets add` -----------------------------------------------------------------------------------
def _mesh_bytes(fmt: str, seed: int) -> bytes:
    import trimesh

    mesh = trimesh.creation.icosphere(subdivisions=1) if seed % 2 else trimesh.creation.box()
    return mesh.export(file_type=fmt)  # type: ignore[no-any-return]


@st.composite
def mutated_meshes(draw: st.DrawFn) -> tuple[str, bytes]:
    fmt = draw(st.sampled_from(["obj", "ply", "stl", "off", "glb"]))
    data = _mesh_bytes(fmt, draw(st.integers(0, 1)))
    data = data.encode() if isinstance(data, str) else bytes(data)
    kind = draw(st.sampled_from(["truncate", "flip-bytes", "huge-count", "nan", "none"]))
    if kind == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    elif kind == "flip-bytes" and data:
        buf = bytearray(data)
        for _ in range(draw(st.integers(1, 16))):
            buf[draw(st.integers(0, len(buf) - 1))] = draw(st.integers(0, 255))
        data = bytes(buf)
    elif kind == "huge-count":
        for key in (b"element vertex ", b"element face "):
            at = data.find(key)
            if at >= 0:
                end = data.index(b"\n", at)
                data = data[: at + len(key)] + b"1000000000000" + data[end:]
        if fmt == "off":
            lines = data.split(b"\n")
            lines[1] = b"1000000000000 1000000000000 0"
            data = b"\n".join(lines)
    elif kind == "nan" and fmt == "obj":
        data = data.replace(b"v ", b"v nan ", 1)
    return fmt, data


@FUZZ
@given(case=mutated_meshes())
def test_mutated_meshes_load_or_raise_mesh_error(case: tuple[str, bytes], tmp_path_factory) -> None:
    fmt, data = case
    path = tmp_path_factory.mktemp("mesh") / f"asset.{fmt}"
    path.write_bytes(data)

    def ingest_geometry(p: Path) -> object:
        mesh = load_any(p)
        normalise(mesh)
        assert np.isfinite(mesh.vertices).all() and len(mesh.faces) > 0
        return mesh

    _read_bounded(path, ingest_geometry, MeshError)
