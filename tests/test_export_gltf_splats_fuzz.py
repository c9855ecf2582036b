"""Fuzzing the splat .glb reader: a mutated file reads or raises GltfSplatsError, without a large allocation.

Kept apart from tests/test_export_gltf_splats.py because it skips, as a module, where hypothesis is absent.
"""

from __future__ import annotations

import tracemalloc

import pytest

from splatdream.export.gltf_splats import gltf_splats_bytes
from splatdream.export.gltf_splats_reader import GltfSplatsError, read_gltf_splats
from tests.test_export_formats import make_scene
from tests.test_export_gltf_splats import build_glb, glb_parts

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_BASE_GLB = gltf_splats_bytes(make_scene(n=16, sh_degree=1))


@st.composite
def mutated_glbs(draw: st.DrawFn) -> bytes:
    doc, binary = glb_parts(_BASE_GLB)
    kind = draw(st.sampled_from(["truncate", "flip-bytes", "edit-json", "huge-count"]))
    if kind == "truncate":
        return _BASE_GLB[: draw(st.integers(0, len(_BASE_GLB) - 1))]
    if kind == "flip-bytes":
        data = bytearray(_BASE_GLB)
        for _ in range(draw(st.integers(1, 8))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data)
    if kind == "huge-count":
        acc = doc["accessors"][draw(st.integers(0, len(doc["accessors"]) - 1))]
        acc["count"] = draw(st.sampled_from([2**31 - 1, 2**40, 10**15, -1]))
        return build_glb(doc, binary)
    section = draw(st.sampled_from(["accessors", "bufferViews", "nodes", "meshes", "scenes"]))
    item = draw(st.integers(0, len(doc[section]) - 1))
    target = doc[section][item]
    key = draw(st.sampled_from(sorted(target)))
    target[key] = draw(st.sampled_from([None, -1, 10**9, "x", [], {}, 0, 1.5, [0, 0, 0, 0]]))
    return build_glb(doc, binary)


@settings(
    max_examples=80,
    deadline=2000,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=mutated_glbs())
def test_mutated_glb_reads_or_raises_our_error(data: bytes, tmp_path_factory) -> None:
    path = tmp_path_factory.mktemp("glb") / "m.glb"
    path.write_bytes(data)
    tracemalloc.start()
    try:
        read_gltf_splats(path)
    except GltfSplatsError as exc:
        assert "\n" not in str(exc)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak <= 64 * len(data) + (8 << 20)
