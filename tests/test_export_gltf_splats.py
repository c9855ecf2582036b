"""Splats inside glTF (KHR_gaussian_splatting): the layout the spec asks for, lossless round trips, the
commands that open a .glb, bad input, and third-party readers (Khronos validator, PlayCanvas engine)."""

from __future__ import annotations

import json
import struct
import types
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import trimesh

from splatdream.cli import main as cli_main
from splatdream.config import OutputConfig, RunConfig
from splatdream.export.convert import export_scene
from splatdream.export.formats import EmptySceneError
from splatdream.export.gltf_splats import gltf_splats_bytes, write_gltf_splats
from splatdream.export.gltf_splats_reader import EXTENSION, GltfSplatsError, read_gltf_splats, sh_attribute
from splatdream.export.info import highest_nonzero_band
from splatdream.export.scene_file import read_scene
from splatdream.export.turntable import render_turntable
from splatdream.io.ply import NonFiniteGaussiansError, read_ply, write_ply
from splatdream.scene import SH_C0, Gaussians
from splatdream.starter.sample import SAMPLE_PLY
from tests.support.node_tools import (
    playcanvas_load_splats,
    read_playcanvas_ply,
    splat_transform,
    validate_gltf,
)
from tests.test_export_formats import make_scene, match_rows

F32_STEP_BELOW_ONE = 2.0**-24  # spacing of float32 values in [0.5, 1): the opacity's quantum


def glb_parts(data: bytes) -> tuple[dict, bytes]:
    """The JSON document and the BIN chunk of a .glb, parsed by hand from the container layout."""
    magic, version, length = struct.unpack_from("<4sII", data, 0)
    assert (magic, version, length) == (b"glTF", 2, len(data))
    json_len, json_type = struct.unpack_from("<II", data, 12)
    assert json_type == 0x4E4F534A and json_len % 4 == 0
    bin_len, bin_type = struct.unpack_from("<II", data, 20 + json_len)
    assert bin_type == 0x004E4942 and 28 + json_len + bin_len == len(data)
    return json.loads(data[20 : 20 + json_len]), data[28 + json_len :]


def accessor(doc: dict, binary: bytes, semantic: str) -> np.ndarray:
    acc = doc["accessors"][doc["meshes"][0]["primitives"][0]["attributes"][semantic]]
    view = doc["bufferViews"][acc["bufferView"]]
    width = {"SCALAR": 1, "VEC3": 3, "VEC4": 4}[acc["type"]]
    dtype = {5126: "<f4", 5121: "u1"}[acc["componentType"]]
    raw = binary[view["byteOffset"] : view["byteOffset"] + view["byteLength"]]
    return np.frombuffer(raw, dtype=dtype).reshape(acc["count"], width)


def assert_lossless(back: Gaussians, ref: Gaussians) -> None:
    """Every parameter equal up to what storing activated float32 values implies."""
    assert len(back) == len(ref)
    assert torch.equal(back.means, ref.means)
    degree = max(back.sh_degree, ref.sh_degree)  # a .ply carries zero-padded bands, the .glb drops them
    assert torch.equal(back.with_sh_degree(degree).sh, ref.with_sh_degree(degree).sh)
    # The spec stores unit quaternions: the rotation survives, the raw (unnormalised) length does not.
    torch.testing.assert_close(back.quats, ref.unit_quats, rtol=0, atol=2e-7)
    # exp/log and sigmoid/logit, each rounded to float32 once: a float32 step of the stored value.
    torch.testing.assert_close(back.log_scales, ref.log_scales, rtol=2**-23, atol=2**-23)
    opacity_back, opacity_ref = (
        torch.sigmoid(back.logit_opacities.double()),
        torch.sigmoid(ref.logit_opacities.double()),
    )
    torch.testing.assert_close(opacity_back, opacity_ref, rtol=0, atol=F32_STEP_BELOW_ONE)


def test_layout_follows_the_spec():
    g = Gaussians.from_activated(
        torch.tensor([[0.1, -0.2, 0.3], [-1.0, 0.5, 2.0]]),
        torch.tensor([[0.01, 0.02, 0.03], [0.5, 0.25, 0.125]]),
        torch.tensor([0.5, 0.9]),
        torch.tensor([[1.0, 0.5, 0.0], [0.2, 0.4, 0.6]]),
        quats=torch.tensor([[2.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 3.0]]),
        sh_degree=2,
    )
    g.sh[:, 1:] = torch.arange(2 * 8 * 3, dtype=torch.float32).reshape(2, 8, 3) / 10
    doc, binary = glb_parts(gltf_splats_bytes(g))

    assert doc["asset"]["version"] == "2.0"
    assert (
        doc["extensionsUsed"] == [EXTENSION] and "extensionsRequired" not in doc
    )  # plain viewers show points
    prim = doc["meshes"][0]["primitives"][0]
    assert prim["mode"] == 0  # POINTS
    assert prim["extensions"][EXTENSION] == {
        "kernel": "ellipse",
        "colorSpace": "srgb_rec709_display",
        "projection": "perspective",
        "sortingMethod": "cameraDistance",
    }
    expected = {"POSITION", "COLOR_0", f"{EXTENSION}:ROTATION", f"{EXTENSION}:SCALE", f"{EXTENSION}:OPACITY"}
    expected |= {sh_attribute(d, c) for d in range(3) for c in range(2 * d + 1)}
    assert set(prim["attributes"]) == expected
    for semantic, index in prim["attributes"].items():
        acc = doc["accessors"][index]
        assert acc["count"] == 2
        assert acc["componentType"] == (5121 if semantic == "COLOR_0" else 5126)
        assert doc["bufferViews"][acc["bufferView"]]["byteOffset"] % 4 == 0

    np.testing.assert_array_equal(accessor(doc, binary, "POSITION"), g.means.numpy())
    pos = doc["accessors"][prim["attributes"]["POSITION"]]
    np.testing.assert_allclose(pos["min"], [-1.0, -0.2, 0.3], rtol=1e-7)
    np.testing.assert_allclose(pos["max"], [0.1, 0.5, 2.0], rtol=1e-7)
    # glTF quaternion order x, y, z, w, unit length; ours is w, x, y, z and unnormalised.
    np.testing.assert_array_equal(
        accessor(doc, binary, f"{EXTENSION}:ROTATION"), [[0, 0, 0, 1], [0, 0, 1, 0]]
    )
    np.testing.assert_allclose(
        accessor(doc, binary, f"{EXTENSION}:SCALE"), [[0.01, 0.02, 0.03], [0.5, 0.25, 0.125]], rtol=1e-6
    )  # linear, not log
    np.testing.assert_allclose(
        accessor(doc, binary, f"{EXTENSION}:OPACITY")[:, 0], [0.5, 0.9], rtol=1e-6
    )  # not logit
    np.testing.assert_allclose(
        accessor(doc, binary, sh_attribute(0, 0)) * SH_C0 + 0.5, [[1.0, 0.5, 0.0], [0.2, 0.4, 0.6]], atol=1e-6
    )  # raw DC: colour = 0.5 + C0 * dc
    for degree, coef in [
        (1, 0),
        (1, 2),
        (2, 0),
        (2, 4),
    ]:  # coefficient n of band l is our sh[:, l*l + n] (m = n - l)
        np.testing.assert_array_equal(
            accessor(doc, binary, sh_attribute(degree, coef)), g.sh[:, degree**2 + coef]
        )
    # Fallback colour: linear (glTF COLOR_0), from the sRGB DC colour; alpha = opacity.
    color = accessor(doc, binary, "COLOR_0")
    assert color[0].tolist() == [255, 55, 0, 128]  # sRGB 0.5 -> linear 0.214 -> 55
    assert abs(int(color[1, 3]) - 0.9 * 255) <= 0.5


def test_a_reader_without_the_extension_sees_a_coloured_point_cloud(tmp_path):
    """trimesh knows nothing of KHR_gaussian_splatting: it must still open the file, as the spec's fallback."""
    g = make_scene(n=200, sh_degree=1)
    path = export_scene(g, "gltf-splats", tmp_path / "s.splats.glb")
    scene = trimesh.load(path)
    (cloud,) = scene.geometry.values()
    assert isinstance(cloud, trimesh.PointCloud)
    np.testing.assert_array_equal(cloud.vertices, g.means.double().numpy())
    linear = np.asarray(cloud.colors)[:, :3] / 255
    srgb = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
    dark = g.rgb.clamp(0, 1).numpy() < 0.1  # 8-bit linear is coarse in the darks
    assert np.abs(srgb - g.rgb.clamp(0, 1).numpy())[~dark].max() < 0.02
    assert np.abs(np.asarray(cloud.colors)[:, 3] / 255 - g.opacities.numpy()).max() <= 0.5 / 255 + 1e-6


@pytest.mark.parametrize("sh_degree", [0, 1, 3])
def test_ply_glb_ply_round_trip_is_lossless(tmp_path, sh_degree):
    g = make_scene(n=500, sh_degree=sh_degree, seed=sh_degree)
    g.quats = g.quats * 3.0  # raw quaternions need not be unit
    g.logit_opacities[:3] = torch.tensor([40.0, -40.0, 16.0])  # saturate float32 sigmoid: 1.0 and ~0
    write_ply(tmp_path / "scene.ply", g)
    assert cli_main(["export", str(tmp_path / "scene.ply"), "--format", "gltf-splats"]) == 0
    glb = tmp_path / "scene.splats.glb"
    ply = read_ply(tmp_path / "scene.ply")
    back = read_scene(glb)
    assert back.sh_degree == sh_degree == highest_nonzero_band(ply.sh)
    assert_lossless(back, ply)
    write_ply(tmp_path / "back.ply", back)
    again = read_ply(tmp_path / "back.ply")
    assert_lossless(again, ply)
    assert torch.isfinite(again.logit_opacities).all()
    # Storage: float32 position, rotation, scale, opacity and SH, plus 4 bytes of fallback colour, nothing else.
    _, binary = glb_parts(glb.read_bytes())
    assert len(binary) == len(g) * (4 * (3 + 4 + 3 + 1 + 3 * (sh_degree + 1) ** 2) + 4)


def test_info_view_and_turntable_open_a_splat_glb(tmp_path, capsys):
    from tests.test_viewer_app import free_port
    from viewer.app import StaticViewer, find_run_files

    sample = read_ply(SAMPLE_PLY)
    glb = export_scene(sample, "gltf-splats", tmp_path / "sample.splats.glb")

    assert cli_main(["info", str(glb), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["count"] == len(sample) and summary["sh_highest_nonzero_band"] == 1
    np.testing.assert_allclose(summary["bbox_min"], sample.means.min(0).values.tolist(), rtol=1e-6)

    frames_ply = render_turntable(sample, 2, 32, backend="torch", device="cpu", batch=2, progress=False)
    frames_glb = render_turntable(
        read_scene(glb), 2, 32, backend="torch", device="cpu", batch=2, progress=False
    )
    assert np.abs(frames_ply.astype(int) - frames_glb.astype(int)).max() <= 1
    assert (
        cli_main(
            [
                "turntable",
                str(glb),
                "--out",
                str(tmp_path / "t.gif"),
                "--frames",
                "2",
                "--size",
                "16",
                "--backend",
                "torch",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert (tmp_path / "t.gif").stat().st_size > 0

    assert find_run_files(glb).particles == [glb]
    with StaticViewer(glb, port=free_port()) as viewer:
        assert viewer.scene.num_particles == 1


def test_export_converts_a_splat_glb_and_never_overwrites_its_input(tmp_path, capsys):
    g = make_scene(n=100, sh_degree=1)
    glb = export_scene(g, "gltf-splats", tmp_path / "scene.splats.glb")
    before = glb.read_bytes()
    assert cli_main(["export", str(glb), "--format", "splat", "gltf-splats"]) == 2
    assert "would overwrite its input" in capsys.readouterr().err
    assert glb.read_bytes() == before and not (tmp_path / "scene.splat").exists()  # checked before any write
    assert cli_main(["export", str(glb), "--format", "splat"]) == 0
    assert (tmp_path / "scene.splat").stat().st_size == 32 * len(g)


def test_a_glb_without_splats_nan_and_empty_scenes_are_one_line_errors(tmp_path, capsys):
    trimesh.creation.box().export(tmp_path / "box.glb")
    for argv in (
        ["info", str(tmp_path / "box.glb")],
        ["export", str(tmp_path / "box.glb"), "--format", "splat"],
        ["turntable", str(tmp_path / "box.glb"), "--out", str(tmp_path / "t.gif")],
    ):
        assert cli_main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "holds no Gaussian splats" in err and "gltf-splats" in err
    (tmp_path / "text.glb").write_text("not a glb at all")
    assert cli_main(["info", str(tmp_path / "text.glb")]) == 2
    assert "not a binary glTF" in capsys.readouterr().err

    good = tmp_path / "good.splats.glb"
    write_gltf_splats(good, make_scene(n=50))
    (tmp_path / "cut.glb").write_bytes(good.read_bytes()[:-100])
    assert cli_main(["info", str(tmp_path / "cut.glb")]) == 2
    assert "truncated" in capsys.readouterr().err

    empty = make_scene(n=5)[torch.zeros(5, dtype=torch.bool)]
    with pytest.raises(EmptySceneError, match="nothing to export"):
        export_scene(empty, "gltf-splats", tmp_path / "e.glb")
    write_ply(tmp_path / "empty.ply", empty)
    assert cli_main(["export", str(tmp_path / "empty.ply"), "--format", "gltf-splats"]) == 2
    assert "no Gaussians" in capsys.readouterr().err

    target = tmp_path / "old.glb"
    target.write_bytes(b"previous export")
    bad = make_scene(n=20)
    bad.sh[3, 0, 1] = float("nan")
    with pytest.raises(NonFiniteGaussiansError, match="NaN"):
        export_scene(bad, "gltf-splats", target)
    assert target.read_bytes() == b"previous export"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary left


def build_glb(doc: dict, binary: bytes) -> bytes:
    """A .glb of ``doc`` and ``binary``, assembled by hand (the container layout of the glTF spec)."""
    text = json.dumps(doc).encode()
    text += b" " * (-len(text) % 4)
    binary += b"\0" * (-len(binary) % 4)
    data = b"glTF" + struct.pack("<II", 2, 28 + len(text) + len(binary))
    return (
        data
        + struct.pack("<II", len(text), 0x4E4F534A)
        + text
        + struct.pack("<II", len(binary), 0x004E4942)
        + binary
    )


def test_reader_takes_normalised_integers_and_interleaved_views(tmp_path):
    """What other writers may use: short-normalised rotation, byte-normalised opacity, one interleaved view."""
    g = make_scene(n=50, sh_degree=1, seed=5)
    doc, binary = glb_parts(gltf_splats_bytes(g))
    attrs = doc["meshes"][0]["primitives"][0]["attributes"]
    quats = np.round(g.unit_quats.numpy()[:, [1, 2, 3, 0]] * 32767).astype("<i2")
    opacity = np.round(g.opacities.numpy() * 255).astype("u1")
    interleaved = np.concatenate([g.means.numpy(), g.scales.numpy()], axis=1).astype("<f4")  # stride 24
    extra = [(quats.tobytes(), 0), (opacity.tobytes(), 0), (interleaved.tobytes(), 24)]
    for raw, stride in extra:
        view = {"buffer": 0, "byteOffset": len(binary), "byteLength": len(raw)}
        if stride:
            view["byteStride"] = stride
        doc["bufferViews"].append(view)
        binary += raw + b"\0" * (-len(raw) % 4)
    views = len(doc["bufferViews"])
    new = [
        (
            "rot",
            {"bufferView": views - 3, "componentType": 5122, "normalized": True, "count": 50, "type": "VEC4"},
        ),
        (
            "opa",
            {
                "bufferView": views - 2,
                "componentType": 5121,
                "normalized": True,
                "count": 50,
                "type": "SCALAR",
            },
        ),
        (
            "pos",
            {
                "bufferView": views - 1,
                "componentType": 5126,
                "count": 50,
                "type": "VEC3",
                "min": g.means.min(0).values.tolist(),
                "max": g.means.max(0).values.tolist(),
            },
        ),
        (
            "scale",
            {"bufferView": views - 1, "byteOffset": 12, "componentType": 5126, "count": 50, "type": "VEC3"},
        ),
    ]
    index = {}
    for key, acc in new:
        index[key] = len(doc["accessors"])
        doc["accessors"].append(acc)
    attrs.update(
        {
            f"{EXTENSION}:ROTATION": index["rot"],
            f"{EXTENSION}:OPACITY": index["opa"],
            "POSITION": index["pos"],
            f"{EXTENSION}:SCALE": index["scale"],
        }
    )
    path = tmp_path / "mixed.glb"
    path.write_bytes(build_glb(doc, binary))

    back = read_gltf_splats(path)
    assert torch.equal(back.means, g.means) and torch.equal(back.sh, g.sh)
    torch.testing.assert_close(back.log_scales, g.log_scales, rtol=2**-23, atol=2**-23)
    assert (back.quats - g.unit_quats).abs().max() <= 0.5 / 32767 + 1e-7
    assert (back.opacities - g.opacities).abs().max() <= 0.5 / 255 + 1e-6

    doc["accessors"][index["opa"]]["normalized"] = False  # raw bytes 0..255 are no opacities
    path.write_bytes(build_glb(doc, binary))
    with pytest.raises(GltfSplatsError, match=r"opacities outside \[0, 1\]"):
        read_gltf_splats(path)


def test_nan_rows_in_a_glb_are_dropped_with_a_warning_as_in_a_ply(tmp_path, caplog, capsys):
    g = make_scene(n=40, sh_degree=0)
    doc, binary = glb_parts(gltf_splats_bytes(g))
    view = doc["bufferViews"][
        doc["accessors"][doc["meshes"][0]["primitives"][0]["attributes"]["POSITION"]]["bufferView"]
    ]
    data = bytearray(binary)
    for row in (2, 5, 7):  # x of three Gaussians becomes NaN
        data[view["byteOffset"] + 12 * row : view["byteOffset"] + 12 * row + 4] = np.float32("nan").tobytes()
    path = tmp_path / "nan.glb"
    path.write_bytes(build_glb(doc, bytes(data)))
    with caplog.at_level("WARNING"):
        back = read_scene(path)
    assert len(back) == 37 and "dropped 3 of 40 Gaussians" in caplog.text
    assert cli_main(["info", str(path)]) == 0
    assert "(3 with NaN/inf!)" in capsys.readouterr().out

    for row in range(40):
        data[view["byteOffset"] + 12 * row : view["byteOffset"] + 12 * row + 4] = np.float32("nan").tobytes()
    path.write_bytes(build_glb(doc, bytes(data)))
    assert cli_main(["turntable", str(path), "--out", str(tmp_path / "t.gif")]) == 2
    assert "all 40 Gaussians hold NaN/inf values" in capsys.readouterr().err


def test_reader_rejects_what_the_spec_forbids(tmp_path):
    def rewrite(edit) -> Path:
        doc, binary = glb_parts(gltf_splats_bytes(make_scene(n=10, sh_degree=1)))
        edit(doc)
        path = tmp_path / "edited.glb"
        path.write_bytes(build_glb(doc, binary))
        return path

    def attrs(doc):
        return doc["meshes"][0]["primitives"][0]["attributes"]

    with pytest.raises(GltfSplatsError, match="only partly defined"):
        read_gltf_splats(rewrite(lambda d: attrs(d).pop(sh_attribute(1, 2))))
    with pytest.raises(GltfSplatsError, match=r"lacks the required attributes .*OPACITY"):
        read_gltf_splats(rewrite(lambda d: attrs(d).pop(f"{EXTENSION}:OPACITY")))
    with pytest.raises(GltfSplatsError, match="mode POINTS"):
        read_gltf_splats(rewrite(lambda d: d["meshes"][0]["primitives"][0].update(mode=4)))
    with pytest.raises(GltfSplatsError, match="transform"):
        read_gltf_splats(rewrite(lambda d: d["nodes"][0].update(translation=[1.0, 0.0, 0.0])))
    # An identity transform written out is fine.
    assert len(read_gltf_splats(rewrite(lambda d: d["nodes"][0].update(scale=[1, 1, 1])))) == 10


def test_run_writes_gltf_splats_when_listed(tmp_path):
    from splatdream.pipeline import Pipeline

    cfg = replace(
        RunConfig(), device="cpu", output=OutputConfig(turntable_frames=0, formats=("gltf-splats", "splat"))
    )
    pipe = Pipeline(cfg, tmp_path, console=types.SimpleNamespace(print=lambda *a, **k: None))
    particle = Gaussians.from_activated(
        torch.randn(400, 3, generator=torch.Generator().manual_seed(0)).clamp(-1, 1) * 0.3,
        torch.full((400, 3), 0.08),
        torch.full((400,), 0.9),
        torch.full((400, 3), 0.4),
    )
    pipe.export(types.SimpleNamespace(particles=lambda: [particle]))
    names = sorted(p.name for p in Path(tmp_path).iterdir())
    assert names == [
        "particle_0.ply",
        "particle_0.splat",
        "particle_0.splats.glb",
    ]  # beside a mesh particle_0.glb
    assert_lossless(read_scene(tmp_path / "particle_0.splats.glb"), particle)


# -- third-party readers ------------------------------------------------------------------------
def test_khronos_validator_finds_no_errors_but_the_known_attribute_name_check(tmp_path):
    """Every error must be the validator's known gap: KhronosGroup/glTF-Validator#252 (open) rejects any
    attribute name not starting with '_', while KHR_gaussian_splatting requires its prefixed names
    (the core-spec change is glTF PR #2514). Anything else -- accessor bounds, alignment, buffer views,
    an unprefixed bad name -- still fails this test."""
    path = export_scene(make_scene(n=300, sh_degree=3), "gltf-splats", tmp_path / "s.splats.glb")
    report = validate_gltf(path)
    messages = report["issues"]["messages"]
    errors = [m for m in messages if m["severity"] == 0]
    known = [
        m
        for m in errors
        if m["code"] == "MESH_PRIMITIVE_INVALID_ATTRIBUTE"
        and m["pointer"].startswith(f"/meshes/0/primitives/0/attributes/{EXTENSION}:")
    ]
    assert [m for m in errors if m not in known] == []
    assert len(known) == 3 + 16  # ROTATION, SCALE, OPACITY and the 16 SH coefficients: nothing else
    warnings = [m for m in messages if m["severity"] == 1]
    assert warnings == []
    assert {m["code"] for m in messages if m["severity"] == 2} <= {"UNSUPPORTED_EXTENSION"}
    assert report["info"]["drawCallCount"] == 1 and report["info"]["totalVertexCount"] == 300


@pytest.mark.parametrize("sh_degree", [0, 2])
def test_playcanvas_loads_the_same_splats(tmp_path, sh_degree):
    g = make_scene(n=400, sh_degree=sh_degree, seed=7)
    path = export_scene(g, "gltf-splats", tmp_path / "s.splats.glb")
    report = playcanvas_load_splats(path, tmp_path / "decoded.ply")
    assert report["count"] == len(g) and report["shBands"] == sh_degree and report["activated"]
    # The engine's bounds: centres +- twice the largest scale (its own formula, from what it read).
    reach = 2 * g.scales.max(dim=-1).values[:, None]
    lo, hi = (g.means - reach).min(0).values, (g.means + reach).max(0).values
    np.testing.assert_allclose(report["aabb"]["center"], ((lo + hi) / 2).tolist(), atol=1e-6)
    np.testing.assert_allclose(report["aabb"]["halfExtents"], ((hi - lo) / 2).tolist(), atol=1e-6)

    back = read_playcanvas_ply(tmp_path / "decoded.ply")  # in the engine's (Morton) order
    idx = match_rows(g, back, 1e-9)
    assert sorted(idx.tolist()) == list(range(len(g)))
    assert_lossless(back, g[idx])


def test_we_read_splat_transforms_gltf_splats(tmp_path):
    """An independent writer: splat-transform's .glb, read by our reader, holds our scene.

    splat-transform takes any .ply to be in the y-down frame of COLMAP-trained scenes and turns it
    180 degrees about Z into glTF's y-up frame, SH bands included; so its splats are ours rotated,
    which checks our reading of the rotation order and of every SH coefficient's place.
    """
    g = make_scene(n=300, sh_degree=3, seed=3)
    write_ply(tmp_path / "scene.ply", g)
    splat_transform(tmp_path / "scene.ply", tmp_path / "theirs.glb")
    back = read_scene(tmp_path / "theirs.glb")
    assert len(back) == len(g) and back.sh_degree == 3

    turn = torch.tensor([-1.0, -1.0, 1.0])  # 180 degrees about Z
    idx = match_rows(
        g, Gaussians(back.means * turn, back.quats, back.log_scales, back.logit_opacities, back.sh), 1e-7
    )
    ref = g[idx]
    torch.testing.assert_close(back.means, ref.means * turn, rtol=0, atol=1e-7)
    torch.testing.assert_close(
        rotation_matrix(back.quats), torch.diag(turn.double()) @ rotation_matrix(ref.quats), rtol=0, atol=1e-6
    )
    torch.testing.assert_close(back.log_scales, ref.log_scales, rtol=2**-23, atol=2**-23)
    torch.testing.assert_close(
        back.opacities.double(), ref.opacities.double(), rtol=0, atol=2 * F32_STEP_BELOW_ONE
    )
    # A real SH basis function of order m is odd under (x, y) -> (-x, -y) exactly when m is odd.
    m = torch.tensor([m for degree in range(4) for m in range(-degree, degree + 1)])
    parity = torch.where(m % 2 == 0, 1.0, -1.0)
    assert torch.equal(back.sh, ref.sh * parity[None, :, None])


def rotation_matrix(quats: torch.Tensor) -> torch.Tensor:
    """[N, 3, 3] rotation of wxyz quaternions (normalised first), in float64."""
    w, x, y, z = torch.nn.functional.normalize(quats.double(), dim=-1).unbind(-1)
    return torch.stack(
        [
            1 - 2 * (y * y + z * z),
            2 * (x * y - w * z),
            2 * (x * z + w * y),
            2 * (x * y + w * z),
            1 - 2 * (x * x + z * z),
            2 * (y * z - w * x),
            2 * (x * z - w * y),
            2 * (y * z + w * x),
            1 - 2 * (x * x + y * y),
        ],
        dim=-1,
    ).reshape(-1, 3, 3)
