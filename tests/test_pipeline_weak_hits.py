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
