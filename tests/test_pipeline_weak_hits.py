"""The weak-hit rule has one home (``pipeline.drop_weak``): retrieval, resume and the regulariser's captions agree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from splatdream.pipeline import drop_weak, kept_captions, particle_captions


def test_weak_hits_are_dropped_while_a_good_one_remains() -> None:
    assert drop_weak(["chair", "sofa", "lamp"], [False, True, False]) == ["chair", "lamp"]
    assert drop_weak(["chair", "sofa"], [False, False]) == ["chair", "sofa"]


def test_all_weak_keeps_every_hit_in_rank_order() -> None:
    # a synonym the captions never use flags every hit; the closest assets still beat a random ball
    assert drop_weak(["settee", "couch"], [True, True]) == ["settee", "couch"]
    assert drop_weak([], []) == []


def test_flags_must_match_the_hits() -> None:
    with pytest.raises(ValueError):
        drop_weak(["chair", "sofa"], [True])


def write_retrieved(run_dir: Path, hits: list[dict[str, object]]) -> None:
    (run_dir / "retrieved.json").write_text(json.dumps(hits))


def test_readers_of_retrieved_json_keep_the_hits_retrieval_kept(tmp_path: Path) -> None:
    write_retrieved(
        tmp_path,
        [
            {"caption": "oak chair", "weak": False},
            {"caption": "red lamp", "weak": True},
            {"caption": "pine chair"},  # a record without the flag counts as good
        ],
    )
    assert kept_captions(tmp_path / "retrieved.json") == ["oak chair", "pine chair"]
    # particle i takes kept asset i mod k
    assert particle_captions(tmp_path, 3) == ["oak chair", "pine chair", "oak chair"]


def test_particle_captions_when_all_weak_or_nothing_retrieved(tmp_path: Path) -> None:
    assert particle_captions(tmp_path, 2) is None  # no retrieved.json: a random or .ply start
    write_retrieved(tmp_path, [{"caption": "a", "weak": True}, {"caption": "b", "weak": True}])
    assert particle_captions(tmp_path, 3) == ["a", "b", "a"]
    write_retrieved(tmp_path, [])
    assert particle_captions(tmp_path, 2) is None


def test_alignment_keeps_the_front_of_assets_built_facing_it(tmp_path, monkeypatch) -> None:
    """Starter assets are built facing +Z, so only the others are front-aligned (and only then is a
    scorer chosen); each kept front is said once."""
    import io
    from types import SimpleNamespace

    import trimesh
    from rich.console import Console

    from splatdream.config import PRESETS
    from splatdream.configio import merge
    from splatdream.pipeline import Pipeline

    cfg = merge(
        PRESETS["cpu-tiny"][1],
        {
            "num_particles": 2,
            "init": {"gaussians_per_particle": 50},
            "adapt": {"alignment": {"scorer": "diffusion"}},
        },
    )
    out = io.StringIO()
    pipe = Pipeline(cfg, tmp_path, Console(file=out, width=200))
    aligned: list[str] = []
    monkeypatch.setattr(
        Pipeline, "align", lambda self, prior, hit, mesh, scorer=None: aligned.append(hit.caption) or mesh
    )
    box = trimesh.creation.box()
    starter = SimpleNamespace(caption="a red chair", source="starter-procedural")
    other = SimpleNamespace(caption="a scanned chair", source="objaverse")
    pipe.init(None, [starter, starter], [box, box])  # type: ignore[arg-type]
    assert aligned == [] and "alignment scorer" not in out.getvalue()
    assert out.getvalue().count("front kept (starter-procedural assets face +Z)") == 2
    pipe.init(None, [starter, other], [box, box])  # type: ignore[arg-type]
    assert aligned == ["a scanned chair"] and "alignment scorer" in out.getvalue()
    no_known = merge(cfg, {"adapt": {"alignment": {"known_front_sources": []}}})
    aligned.clear()
    Pipeline(no_known, tmp_path, Console(file=io.StringIO())).init(None, [starter, other], [box, box])  # type: ignore[arg-type]
    assert aligned == ["a red chair", "a scanned chair"]
