"""`splatdream retrieve` / `splatdream assets` end to end, and Objaverse ingestion with the package mocked."""

from __future__ import annotations

import json
import urllib.error
from pathlib import Path

import pytest
import trimesh
from PIL import Image

from splatdream.retrieval.cli import assets_main, retrieve_main


@pytest.fixture(autouse=True)
def user_library(tmp_path: Path, monkeypatch) -> Path:  # type: ignore[no-untyped-def]
    """Writes to the default library land in a temp dir, never in ~/.cache."""
    from splatdream.retrieval import thumbnails

    monkeypatch.setattr(
        thumbnails, "render_views", lambda mesh, cameras, supersample=1: thumbnails._painter(mesh, cameras)
    )
    path = tmp_path / "user-lib"
    monkeypatch.setenv("SPLATDREAM_LIBRARY", str(path))
    return path


def test_retrieve_json_and_contact_sheet(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    sheet = tmp_path / "sheet.png"
    rc = retrieve_main(
        [
            "--prompt",
            "a vehicle that blasts off into outer space",
            "-k",
            "3",
            "--json",
            "--embedder",
            "text",
            "--sheet",
            str(sheet),
        ]
    )
    out, err = capsys.readouterr()
    assert rc == 0
    rows = json.loads(out)
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert set(rows[0]) == {"rank", "score", "object_score", "weak", "caption", "source", "id", "mesh_path"}
    assert "rocket" in rows[0]["caption"] and Path(rows[0]["mesh_path"]).is_file()
    assert rows[0]["score"] >= rows[1]["score"] >= rows[2]["score"]
    assert "embedder: minilm-l6-v2" in err
    assert Image.open(sheet).size[0] > 3 * 96


def test_retrieve_prompts_file_gives_json_lines(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a pet that barks\n\na stringed instrument for rock music\n")
    assert (
        retrieve_main(
            ["--prompts-file", str(prompts), "-k", "2", "--json", "--embedder", "text", "--sheet", "None"]
        )
        == 0
    )
    lines = [json.loads(ln) for ln in capsys.readouterr().out.splitlines()]
    assert [ln["prompt"] for ln in lines] == ["a pet that barks", "a stringed instrument for rock music"]
    assert all(len(ln["results"]) == 2 for ln in lines)


def test_retrieve_table_and_errors(capsys) -> None:  # type: ignore[no-untyped-def]
    assert retrieve_main(["--prompt", "a dog", "-k", "2", "--embedder", "text", "--sheet", "None"]) == 0
    out = capsys.readouterr().out
    assert "rank" in out and "caption" in out and "dog" in out
    assert retrieve_main(["--prompt", "  ", "--embedder", "text", "--sheet", "None"]) == 2
    assert "prompt is empty" in capsys.readouterr().err
    assert retrieve_main(["--prompt", "a dog", "-k", "0", "--embedder", "text", "--sheet", "None"]) == 2
    assert "at least 1" in capsys.readouterr().err
    assert retrieve_main(["--prompt", "a dog", "-k", "100000", "--embedder", "text", "--sheet", "None"]) == 2
    assert "holds only" in capsys.readouterr().err
    assert retrieve_main(["--prompt", "a dog", "--library", "/nonexistent/lib", "--embedder", "text"]) == 2
    assert "no asset library at /nonexistent/lib" in capsys.readouterr().err


def test_assets_add_list_show_remove(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "src"
    src.mkdir()
    trimesh.creation.torus(1.0, 0.3).export(src / "rubber_ring.glb")
    (src / "junk.obj").write_text("this is not an obj file\x00\x01")
    lib = tmp_path / "lib"
    assert assets_main(["add", str(src), "--library", str(lib)]) == 0
    err = capsys.readouterr().err
    assert "added 1" in err and "skipped 1" in err and "junk.obj" in err
    assert assets_main(["list", "--library", str(lib), "--json"]) == 0
    (row,) = [json.loads(ln) for ln in capsys.readouterr().out.splitlines()]
    assert row["caption"] == "rubber ring" and row["source"] == "local"
    thumb = tmp_path / "t.png"
    assert assets_main(["show", row["id"][:8], "--library", str(lib), "--thumbnail", str(thumb)]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == row["id"] and Image.open(thumb).size == (96, 96)
    assert assets_main(["remove", row["id"], "--library", str(lib)]) == 0
    assert assets_main(["list", "--library", str(lib), "--json"]) == 0
    assert capsys.readouterr().out.strip() == ""
    assert assets_main(["show", "abcdef", "--library", str(lib)]) == 2


def test_add_objaverse_with_the_package_mocked(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    import objaverse

    files = {}
    for uid, mesh in {"a" * 32: trimesh.creation.box(), "b" * 32: trimesh.creation.icosphere()}.items():
        files[uid] = str(tmp_path / f"{uid}.glb")
        mesh.export(files[uid])
    monkeypatch.setattr(
        objaverse, "load_lvis_annotations", lambda: {"chair": ["a" * 32], "ball": ["b" * 32, "c" * 32]}
    )
    monkeypatch.setattr(
        objaverse,
        "load_annotations",
        lambda uids: {
            u: {"name": f"Object {u[0]}", "license": "by", "tags": [{"name": "toy"}]} for u in uids
        },
    )
    monkeypatch.setattr(
        objaverse,
        "load_objects",
        lambda uids, download_processes=1: {u: files[u] for u in uids if u in files},
    )
    lib = tmp_path / "lib"
    assert assets_main(["add-objaverse", "--lvis-categories", "chair", "ball", "--library", str(lib)]) == 0
    assert "added 2" in capsys.readouterr().err  # c... was "not downloaded"
    assert assets_main(["list", "--library", str(lib), "--json"]) == 0
    rows = {r["source"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert rows["objaverse:" + "a" * 32]["category"] == "chair"
    assert rows["objaverse:" + "a" * 32]["caption"] == "Object a (chair)"
    assert rows["objaverse:" + "b" * 32]["licence"] == "by" and rows["objaverse:" + "b" * 32]["tags"] == [
        "toy"
    ]

    def offline():  # type: ignore[no-untyped-def]
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(objaverse, "load_lvis_annotations", offline)
    assert assets_main(["add-objaverse", "--lvis-categories", "chair", "--library", str(lib)]) == 2
    assert "needs network access" in capsys.readouterr().err
