"""The .ply exporter: INRIA layout, bit-exact round trips, foreign files, refusals, atomicity."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from plyfile import PlyData, PlyElement

from splatdream.atomic import atomic_write
from splatdream.io.ply import NonFiniteGaussiansError, PlyFormatError, ply_property_names, read_ply, write_ply
from splatdream.scene import Gaussians, num_sh_bases

INRIA_ORDER = (
    ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]
    + [f"f_rest_{i}" for i in range(45)]
    + ["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]
)


def _scene(n: int = 50, degree: int = 3, seed: int = 0) -> Gaussians:
    gen = torch.Generator().manual_seed(seed)
    return Gaussians(
        means=torch.randn(n, 3, generator=gen),
        quats=torch.randn(n, 4, generator=gen),
        log_scales=torch.randn(n, 3, generator=gen) - 4,
        logit_opacities=torch.randn(n, generator=gen),
        sh=torch.randn(n, num_sh_bases(degree), 3, generator=gen),
    )


def _assert_same(a: Gaussians, b: Gaussians) -> None:
    for name in ("means", "quats", "log_scales", "logit_opacities", "sh"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype == torch.float32, name
        assert torch.equal(x, y), name


def _temp_leftovers(directory) -> list[str]:
    return [p for p in os.listdir(directory) if ".tmp" in p]


@pytest.mark.parametrize("degree", [0, 1, 2, 3])
def test_round_trip_is_bit_exact_and_always_writes_degree3_slots(tmp_path, degree):
    g = _scene(degree=degree)
    path = tmp_path / "scene.ply"
    write_ply(path, g)
    back = read_ply(path)
    assert back.sh_degree == 3
    _assert_same(back.with_sh_degree(degree), g)
    assert torch.count_nonzero(back.sh[:, num_sh_bases(degree) :]) == 0  # zero padding, not garbage
    _assert_same(read_ply(path), back)  # and a second trip changes nothing


def test_other_library_sees_inria_property_names_order_and_dtype(tmp_path):
    g = _scene(n=7)
    path = tmp_path / "scene.ply"
    write_ply(path, g)
    ply = PlyData.read(str(path))
    assert [e.name for e in ply.elements] == ["vertex"]
    assert ply.byte_order == "<" and not ply.text
    vertex = ply["vertex"]
    assert [p.name for p in vertex.properties] == INRIA_ORDER == ply_property_names(3)
    assert all(vertex.data.dtype[name] == np.dtype("<f4") for name in INRIA_ORDER)
    assert len(vertex.data) == 7
    assert np.array_equal(vertex["opacity"], g.logit_opacities.numpy())  # raw logit, not sigmoid
    assert np.array_equal(vertex["scale_1"], g.log_scales[:, 1].numpy())  # raw log scale
    assert np.array_equal(vertex["rot_0"], g.quats[:, 0].numpy())  # w first
    assert not np.any(vertex["nx"]) and not np.any(vertex["nz"])


def test_f_rest_is_channel_major_like_inria_and_gsplat(tmp_path):
    n = 3
    sh = torch.zeros(n, 16, 3)
    for k in range(1, 16):
        for c in range(3):
            sh[:, k, c] = 100 * c + k  # coefficient k of channel c
    identity = torch.tensor([[1.0, 0, 0, 0]] * n)
    g = Gaussians(torch.zeros(n, 3), identity, torch.zeros(n, 3), torch.zeros(n), sh)
    path = tmp_path / "scene.ply"
    write_ply(path, g)
    vertex = PlyData.read(str(path))["vertex"]
    for c in range(3):
        for k in range(1, 16):
            assert vertex[f"f_rest_{c * 15 + (k - 1)}"][0] == 100 * c + k
    # The same ordering as gsplat's exporter: shN.permute(0, 2, 1).reshape(N, -1)
    rest = np.stack([vertex[f"f_rest_{i}"] for i in range(45)], axis=-1)
    assert np.array_equal(rest, sh[:, 1:].permute(0, 2, 1).reshape(n, -1).numpy())


def _write_foreign(path, columns: dict[str, np.ndarray], text: bool = False, extra_elements=()) -> None:
    dtype = [(name, arr.dtype.str) for name, arr in columns.items()]
    n = len(next(iter(columns.values())))
    data = np.empty(n, dtype=dtype)
    for name, arr in columns.items():
        data[name] = arr
    PlyData([PlyElement.describe(data, "vertex"), *extra_elements], text=text).write(str(path))


def _foreign_columns(g: Gaussians, n_rest: int, dtype=np.float32) -> dict[str, np.ndarray]:
    n = len(g)
    cols = {"rot_3": g.quats[:, 3], "opacity": g.logit_opacities}  # deliberately out of order
    cols.update({f"scale_{i}": g.log_scales[:, i] for i in range(3)})
    cols.update({"x": g.means[:, 0], "y": g.means[:, 1], "z": g.means[:, 2]})
    cols.update({f"rot_{i}": g.quats[:, i] for i in range(3)})
    cols.update({f"f_dc_{c}": g.sh[:, 0, c] for c in range(3)})
    rest = g.sh[:, 1:].permute(0, 2, 1).reshape(n, -1)
    cols.update({f"f_rest_{i}": rest[:, i] for i in reversed(range(n_rest))})
    out = {k: v.numpy().astype(dtype) for k, v in cols.items()}
    out["confidence"] = np.arange(n, dtype=np.float32)  # unknown extra property
    out["label"] = np.arange(n, dtype=np.uint8)
    return out


@pytest.mark.parametrize("degree", [0, 1, 2, 3])
def test_foreign_files_read_any_order_extra_properties_no_normals(tmp_path, degree):
    g = _scene(n=20, degree=degree, seed=degree)
    path = tmp_path / "foreign.ply"
    _write_foreign(path, _foreign_columns(g, n_rest=3 * (num_sh_bases(degree) - 1)))
    back = read_ply(path)
    assert back.sh_degree == degree
    _assert_same(back, g)


def test_foreign_ascii_and_float64_files_read(tmp_path):
    g = _scene(n=5, degree=1)
    path = tmp_path / "ascii.ply"
    _write_foreign(path, _foreign_columns(g, n_rest=9, dtype=np.float64), text=True)
    back = read_ply(path)
    assert back.sh_degree == 1 and back.means.dtype == torch.float32
    torch.testing.assert_close(back.sh, g.sh, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(back.means, g.means, rtol=1e-6, atol=1e-6)


def test_non_finite_rows_are_refused_and_old_file_stays(tmp_path):
    path = tmp_path / "scene.ply"
    good = _scene(n=10)
    write_ply(path, good)
    before = path.read_bytes()
    bad = good.clone()
    bad.means[2, 0] = float("nan")
    bad.sh[2, 5, 1] = float("inf")
    bad.logit_opacities[7] = float("-inf")
    with pytest.raises(NonFiniteGaussiansError) as info:
        write_ply(path, bad)
    message = str(info.value)
    assert "2 of 10" in message and "means: 1 rows" in message and "sh: 1 rows" in message
    assert "logit_opacities: 1 rows" in message and "nothing was written" in message
    assert path.read_bytes() == before
    assert _temp_leftovers(tmp_path) == []
    fresh = tmp_path / "never.ply"
    with pytest.raises(NonFiniteGaussiansError):
        write_ply(fresh, bad)
    assert not fresh.exists()


def test_float64_overflowing_float32_is_refused(tmp_path):
    g = _scene(n=4).to(dtype=torch.float64)
    g.log_scales[1, 0] = 1e300  # finite in float64, inf once stored as float32
    with pytest.raises(NonFiniteGaussiansError, match="log_scales: 1 rows"):
        write_ply(tmp_path / "x.ply", g)


def test_truncated_file_is_a_clear_error(tmp_path):
    path = tmp_path / "scene.ply"
    write_ply(path, _scene(n=30))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 100])
    with pytest.raises(PlyFormatError, match="truncated"):
        read_ply(path)


def test_non_ply_file_is_a_clear_error(tmp_path):
    path = tmp_path / "notes.ply"
    path.write_text("these are not the splats you are looking for\n")
    with pytest.raises(PlyFormatError, match=r"not a readable \.ply"):
        read_ply(path)
    with pytest.raises(FileNotFoundError):
        read_ply(tmp_path / "missing.ply")


def test_mesh_ply_names_missing_properties_and_expected_layout(tmp_path):
    path = tmp_path / "mesh.ply"
    verts = np.array(
        [(0, 0, 0, 255, 0, 0), (1, 0, 0, 0, 255, 0), (0, 1, 0, 0, 0, 255)],
        dtype=[("x", "f4"), ("y", "f4"), ("z", "f4"), ("red", "u1"), ("green", "u1"), ("blue", "u1")],
    )
    faces = np.array([([0, 1, 2],)], dtype=[("vertex_indices", "i4", (3,))])
    PlyData([PlyElement.describe(verts, "vertex"), PlyElement.describe(faces, "face")]).write(str(path))
    with pytest.raises(PlyFormatError) as info:
        read_ply(path)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    for name in ("f_dc_0", "opacity", "scale_0", "rot_0"):
        assert name in message
    assert "mesh" in message and "INRIA" in message


def test_bad_f_rest_count_is_a_clear_error(tmp_path):
    g = _scene(n=4, degree=1)
    cols = _foreign_columns(g, n_rest=9)
    del cols["f_rest_8"]
    path = tmp_path / "odd.ply"
    _write_foreign(path, cols)
    with pytest.raises(PlyFormatError, match="8 f_rest"):
        read_ply(path)


def test_atomic_write_leaves_nothing_on_failure_and_replaces_on_success(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as tmp:
            assert tmp.parent == tmp_path and tmp.suffix == ".bin"
            tmp.write_bytes(b"half")
            raise RuntimeError("boom")
    assert target.read_bytes() == b"old"
    assert _temp_leftovers(tmp_path) == []
    with atomic_write(target) as tmp:
        tmp.write_bytes(b"new")
    assert target.read_bytes() == b"new"
    assert sorted(os.listdir(tmp_path)) == ["out.bin"]
    nested = tmp_path / "a" / "b" / "c.bin"
    with atomic_write(nested) as tmp:
        tmp.write_bytes(b"x")
    assert nested.read_bytes() == b"x"


def test_empty_scene_round_trips(tmp_path):
    path = tmp_path / "empty.ply"
    write_ply(path, _scene(n=0))
    back = read_ply(path)
    assert len(back) == 0 and back.sh_degree == 3
