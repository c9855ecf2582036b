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

FUZZ = settings(
    max_examples=60,
    deadline=2000,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
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
    extra = draw(
        st.lists(st.sampled_from(["nx", "ny", "nz", "red", "alpha", "f_rest_0"]), unique=True, max_size=3)
    )
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
    kind = draw(
        st.sampled_from(
            [
                "truncate-section",
                "truncate-anywhere",
                "huge-count",
                "drop-line",
                "swap-lines",
                "retype",
                "garbage-line",
                "flip-bytes",
                "none",
            ]
        )
    )
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
            new = draw(
                st.sampled_from(["double", "uchar", "int", "list uchar float", "bogus", "list int int"])
            )
            header[i] = f"property {new} {name}\n"
    elif kind == "garbage-line":
        i = draw(st.integers(1, len(header) - 1))
        header.insert(
            i,
            draw(
                st.sampled_from(
                    [
                        "element face 3\n",
                        "property float\n",
                        "format binary_big_endian 1.0\n",
                        "comment \xff\n",
                        "element vertex\n",
                        "obj_info x\n",
                        "\n",
                    ]
                )
            ),
        )
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
    ply = PlyData.read(io.BytesIO(data))
    gaussian = [*REQUIRED_PROPERTIES, "f_rest_0"]
    integer = [
        p.name for p in ply["vertex"].properties if p.name in gaussian and np.dtype(p.val_dtype).kind != "f"
    ]
    if isinstance(
        out, PlyFormatError
    ):  # a bad f_rest count (a lone f_rest_0), or integer Gaussian properties
        assert "f_rest" in str(out) or (integer and "not float" in str(out)), out
    else:
        assert not integer, f"integer-typed {integer} read silently"
        assert len(out) == ply["vertex"].count
        torch.testing.assert_close(
            out.means[:, 0], torch.from_numpy(np.array(ply["vertex"]["x"], dtype=np.float32))
        )


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


# -- configs, checkpoints and the numbers of the command line ------------------------------------------------------
# Each ends in success or one line (``SystemExit`` with a message, or an error ``user_message`` turns into one
# line); never a traceback or a hang. Budgets are fixed so the three run in well under a minute together.
CONFIG_FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _one_line_refusal(exc: BaseException) -> str:
    from splatdream.cli import user_message

    if isinstance(exc, SystemExit):
        text = (
            exc.code if isinstance(exc.code, str) else "tyro: usage error"
        )  # tyro prints its own box, exit 2
    else:
        text = user_message(exc)
    assert text is not None, f"{type(exc).__name__} would be a traceback: {exc}"
    assert len(text.splitlines()) <= 2 and len(text) < 1000, text
    return text


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.sampled_from(["nan", "inf", "-1", "1e999", "~", "[1", "*x"]),
)
_KEYS = st.sampled_from(
    [
        "distill",
        "steps",
        "guidance_scale",
        "output",
        "turntable_size",
        "prompt",
        "num_particles",
        "t_max",
        "values",
        "milestones",
        "adapt",
        "resolution",
        "viewer",
        "port",
        "bogus",
        "init",
    ]
)


def _config_trees() -> st.SearchStrategy:
    return st.recursive(
        _SCALARS,
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_KEYS, inner, max_size=4)),
        max_leaves=20,
    )


@CONFIG_FUZZ
@given(tree=st.dictionaries(_KEYS, _config_trees(), max_size=5), share=st.booleans())
def test_any_yaml_config_parses_or_is_one_line(tree: dict, share: bool, tmp_path_factory) -> None:
    import yaml

    from splatdream.config import parse_run_config

    if share and tree:  # the same object twice: safe_dump writes an anchor and an alias
        key = next(iter(tree))
        tree = {**tree, "distill": {"steps": tree[key], "t_max": tree[key]}}
    path = tmp_path_factory.mktemp("cfg") / "c.yaml"
    path.write_text(yaml.safe_dump(tree))
    try:
        parse_run_config(["--config", str(path), "--prompt", "a chair"])
    except (SystemExit, Exception) as exc:
        _one_line_refusal(exc)


def _numeric_options() -> list[tuple[str, type]]:
    import dataclasses

    from splatdream.config import PRESETS
    from splatdream.numbers import option

    found: list[tuple[str, type]] = []

    def walk(cfg: object, prefix: str) -> None:
        for f in dataclasses.fields(cfg):  # type: ignore[arg-type]
            value = getattr(cfg, f.name)
            if dataclasses.is_dataclass(value):
                walk(value, f"{prefix}{f.name}.")
            elif isinstance(value, int | float) and not isinstance(value, bool):
                found.append((option(prefix + f.name), type(value)))

    walk(PRESETS["cpu-tiny"][1], "")
    return found


NUMERIC_OPTIONS = _numeric_options()


@CONFIG_FUZZ
@given(
    which=st.sampled_from(NUMERIC_OPTIONS),
    value=st.one_of(
        st.integers(-(2**40), 2**40),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from(["nan", "-inf", "1e999", "-0", "0x10", "1_000"]),
    ),
)
def test_every_numeric_option_parses_or_is_one_line(which: tuple[str, type], value: object) -> None:
    from splatdream.config import parse_run_config
    from splatdream.numbers import problems

    flag, _ = which
    try:
        cfg = parse_run_config(["--preset", "cpu-tiny", "--prompt", "a chair", flag, str(value)])
    except (SystemExit, Exception) as exc:
        _one_line_refusal(exc)
        return
    assert problems(cfg) == []  # what parses is sane


_CKPT_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.integers(-5, 2**40),
        st.floats(),
        st.text(max_size=4),
        st.builds(torch.zeros, st.integers(0, 5)),
        st.builds(lambda n: torch.ones(n, 3), st.integers(0, 4)),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def fuzz_trainer(tiny_prior_factory):  # type: ignore[no-untyped-def]
    from splatdream.distill.trainer import Trainer
    from tests.test_distill_trainer import CFG, particles

    return Trainer(
        CFG, tiny_prior_factory(), "a chair", particles(2)
    )  # one, reused: a failed restore is harmless


@CONFIG_FUZZ
@given(
    state=st.one_of(
        _CKPT_VALUES,
        st.fixed_dictionaries(
            {"params": _CKPT_VALUES, "step": _CKPT_VALUES, "optimizers": _CKPT_VALUES, "rng": _CKPT_VALUES},
            optional={
                "lr_scale": _CKPT_VALUES,
                "strategy_states": _CKPT_VALUES,
                "colour_fields": _CKPT_VALUES,
            },
        ),
    )
)
def test_any_checkpoint_contents_load_or_are_one_line(state: object, tmp_path_factory, fuzz_trainer) -> None:
    from splatdream.distill.checkpoint import load_checkpoint
    from splatdream.errors import CheckpointError

    path = tmp_path_factory.mktemp("ckpt") / "checkpoint.pt"
    torch.save(state, path)
    with pytest.raises(CheckpointError) as exc:  # nothing random is a whole checkpoint of this run
        load_checkpoint(fuzz_trainer, path)
    _one_line_refusal(exc.value)
