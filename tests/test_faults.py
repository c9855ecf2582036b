"""Issue 17's table of hostile and unlucky inputs (docs/faults.md): one test per row.

Every refusal goes through ``splatdream.cli.main`` as a user would meet it: exit code 2, one or two
lines on stderr that name the fix, no traceback. Rows that need a real run use a random 16 px
TinyPrior, a few hundred Gaussians and two distillation steps; the ones that start processes are
marked ``slow``.
"""

from __future__ import annotations

import errno
import gzip
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from plyfile import PlyData, PlyElement

from splatdream.cli import main as cli_main
from splatdream.cli import user_message
from splatdream.configio import dump_yaml
from splatdream.errors import CheckpointError
from splatdream.io.ply import read_ply, write_ply
from splatdream.lockfile import FileLock
from splatdream.rundir import LOCK, claim_run_dir, interrupted, slugify
from splatdream.scene import Gaussians
from tests.test_pipeline_e2e import small_config

ROOT = Path(__file__).resolve().parents[1]


def scene(n: int = 40, seed: int = 0) -> Gaussians:
    return Gaussians.random_ball(
        n, radius=0.5, scale=0.05, opacity=0.6, generator=torch.Generator().manual_seed(seed)
    )


def refused(argv: list[str], capsys: pytest.CaptureFixture[str], fragment: str) -> str:
    """Run the command; assert exit 2 and a short message holding ``fragment``, no traceback."""
    code = cli_main(argv)
    captured = capsys.readouterr()
    err = captured.err
    assert code == 2, f"exit {code}\nstdout: {captured.out}\nstderr: {err}"
    assert "Traceback" not in err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert 1 <= len(lines) <= 2, err
    assert fragment in err, err
    return err


def config_file(tmp_path: Path, prior: Path, out: Path, **over: object) -> Path:
    path = tmp_path / f"{out.name}.yaml"
    path.write_text(dump_yaml(small_config(prior, out, **over)))
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- .ply files given to info, view, turntable and --init.method ply ---------------------------------------
def _plydata(path: Path) -> PlyData:
    with open(path, "rb") as f:
        return PlyData.read(f, mmap=False)


def _bad_ply(kind: str, folder: Path) -> Path:
    path = folder / f"{kind}.ply"
    if kind == "truncated":
        write_ply(path, scene())
        data = path.read_bytes()
        path.write_bytes(data[: len(data) - 100])
    elif kind == "empty-file":
        path.write_bytes(b"")
    elif kind == "no-gaussians":
        write_ply(path, scene()[torch.zeros(40, dtype=torch.bool)])
    elif kind == "all-nan":
        write_ply(path, scene())
        ply = _plydata(path)
        ply["vertex"].data["x"] = np.nan
        ply.write(str(path))
    elif kind == "huge-scales":  # finite, but exp(80) = 5.5e34: covariances overflow (was a LinAlgError)
        write_ply(path, scene())
        ply = _plydata(path)
        ply["vertex"].data["scale_0"] = 80.0
        ply.write(str(path))
    elif kind == "uchar":  # a log-scale of -4 stored as uchar reads as 252 (was 2.8e+109, then a traceback)
        rows = _plydata_rows(scene())
        typed = np.empty(
            len(rows), dtype=[(n, "u1" if n.startswith("scale") else "<f4") for n in rows.dtype.names]
        )
        for name in rows.dtype.names:
            typed[name] = np.clip(rows[name], 0, 255) if name.startswith("scale") else rows[name]
        PlyData([PlyElement.describe(typed, "vertex")]).write(str(path))
    elif kind == "gzip":
        write_ply(folder / "plain.ply", scene())
        path.write_bytes(gzip.compress((folder / "plain.ply").read_bytes()))
    elif kind == "text":
        path.write_text("these are not the splats you are looking for\n")
    elif kind == "mesh":
        import trimesh

        trimesh.creation.box().export(path)
    else:
        raise AssertionError(kind)
    return path


PLY_CASES = {
    "truncated": "truncated",
    "empty-file": "empty (0 bytes)",
    "no-gaussians": "holds no Gaussians",
    "all-nan": "NaN/inf",
    "gzip": "gzip-compressed",
    "huge-scales": "log-scales beyond +-20",
    "uchar": "not float",
    "text": "not a readable .ply",
    "mesh": "lacks the Gaussian properties",
}


def _ply_argv(command: str, path: Path, tmp_path: Path, prior: Path) -> list[str]:
    if command == "info":
        return ["info", str(path)]
    if command == "view":
        return ["view", str(path), "--port", str(free_port())]
    if command == "turntable":
        return ["turntable", str(path), "--out", str(tmp_path / "t.mp4"), "--frames", "1", "--size", "16"]
    cfg = config_file(tmp_path, prior, tmp_path / "run")
    return ["--config", str(cfg), "--init.method", "ply", "--init.ply", str(path)]


@pytest.mark.parametrize("command", ["info", "view", "turntable", "init"])
@pytest.mark.parametrize("kind", list(PLY_CASES))
def test_bad_ply_is_one_clear_line(kind, command, tmp_path, capsys, random_tiny_prior) -> None:
    path = _bad_ply(kind, tmp_path)
    argv = _ply_argv(command, path, tmp_path, random_tiny_prior)
    if command == "info" and kind in (
        "no-gaussians",
        "all-nan",
        "huge-scales",
    ):  # info reports, it does not refuse
        assert cli_main(argv) == 0
        out = capsys.readouterr().out
        assert (
            ("with NaN/inf" in out)
            if kind == "all-nan"
            else ("gaussians        0" in out)
            if kind == "no-gaussians"
            else "gaussians" in out
        )
        return
    refused(argv, capsys, PLY_CASES[kind])
    assert not (tmp_path / "t.mp4").exists()


@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_a_folder_or_fifo_named_ply_is_named_for_what_it_is(kind, tmp_path, capsys) -> None:
    path = tmp_path / "scene.ply"
    if kind == "folder":
        path.mkdir()
    else:
        os.mkfifo(path)
    fragment = "is a folder" if kind == "folder" else "not a regular file"
    refused(
        ["turntable", str(path), "--out", str(tmp_path / "t.gif"), "--frames", "1", "--size", "16"],
        capsys,
        fragment,
    )
    refused(["info", str(path)], capsys, fragment)


def test_a_valid_ply_with_a_long_header_reads(tmp_path) -> None:
    path = tmp_path / "commented.ply"
    write_ply(path, scene(n=5))
    data = path.read_bytes()
    comments = b"".join(
        b"comment exported by some tool, line %d\n" % i for i in range(3000)
    )  # ~110 KB of header
    path.write_bytes(
        data.replace(b"format binary_little_endian 1.0\n", b"format binary_little_endian 1.0\n" + comments)
    )
    assert path.stat().st_size - len(data) > 1 << 16  # the header alone is over the old 64 KiB limit
    torch.testing.assert_close(read_ply(path).means, scene(n=5).means)


def _plydata_rows(g: Gaussians) -> np.ndarray:
    from splatdream.io.ply import _to_rows

    return _to_rows(g)


@pytest.mark.parametrize("kind", ["huge-scales", "uchar"])
def test_export_and_eval_refuse_unusable_ply_the_same_way(kind, tmp_path, capsys) -> None:
    path = _bad_ply(kind, tmp_path)
    refused(["export", str(path), "--format", "glb"], capsys, PLY_CASES[kind])
    assert not path.with_suffix(".glb").exists()


def test_implausible_rows_are_dropped_with_a_warning_by_every_reader(tmp_path, caplog) -> None:
    """Finite but unusable rows (huge log-scales, positions of 3e38, all-zero quaternions) go, with one warning."""
    path = tmp_path / "some-bad.ply"
    write_ply(path, scene(n=40))
    ply = _plydata(path)
    v = ply["vertex"].data
    v["scale_1"][[2, 5]] = 80.0
    v["x"][9] = 3e38
    for q in ("rot_0", "rot_1", "rot_2", "rot_3"):
        v[q][13] = 0.0
    ply.write(str(path))
    with caplog.at_level(logging.WARNING, logger="splatdream.io.ply"):
        g = read_ply(path)
    assert len(g) == 36
    assert "dropped 4 of 40 Gaussians" in caplog.text
    assert "2 with log-scales beyond" in caplog.text and "1 with positions beyond" in caplog.text
    assert "1 with all-zero quaternions" in caplog.text
    assert len(read_ply(path, nonfinite="keep")) == 40  # info sees the file as it is
    keep = torch.ones(40, dtype=torch.bool)
    keep[[2, 5, 9, 13]] = False
    torch.testing.assert_close(g.means, read_ply(path, nonfinite="keep").means[keep])
    # the turntable of that file renders the 36 good Gaussians (it used to end in a LinAlgError)
    assert (
        cli_main(["turntable", str(path), "--out", str(tmp_path / "t.gif"), "--frames", "2", "--size", "16"])
        == 0
    )
    assert (tmp_path / "t.gif").stat().st_size > 0


def test_nan_rows_are_dropped_with_a_warning_naming_the_count(tmp_path, caplog) -> None:
    path = tmp_path / "some-nan.ply"
    write_ply(path, scene(n=40))
    ply = _plydata(path)
    ply["vertex"].data["opacity"][[3, 7, 11]] = np.inf
    ply.write(str(path))
    with caplog.at_level(logging.WARNING, logger="splatdream.io.ply"):
        g = read_ply(path)
    assert len(g) == 37 and g.is_finite()
    assert "dropped 3 of 40 Gaussians holding NaN/inf" in caplog.text
    assert len(read_ply(path, nonfinite="keep")) == 40


# -- prompts --------------------------------------------------------------------------------------------
PROMPTS = {
    "traversal-and-shell": "../../x; rm -rf /",
    "separators-and-metachars": "a/b\\c $(reboot) `ls` | & > /etc/passwd ~root *?",
    "5000-chars": "a very long prompt " * 263,
    "emoji": "🚀🔥 a rocket 🚀",
    "non-latin": "一把木椅子 стул كرسي",
    "only-symbols": "../..///\\\\;;",
}


@pytest.mark.parametrize("prompt", list(PROMPTS.values()), ids=list(PROMPTS))
def test_prompt_slug_never_leaves_outputs(prompt) -> None:
    slug = slugify(prompt)
    assert 1 <= len(slug) <= 40 and all(c.isascii() and (c.isalnum() or c == "-") for c in slug)
    outputs = Path("/srv/outputs")
    assert (outputs / slug).resolve().parent == outputs


@pytest.mark.slow
@pytest.mark.parametrize("key", ["traversal-and-shell", "5000-chars", "non-latin"])
def test_hostile_prompt_runs_into_a_folder_under_outputs(
    key, tmp_path, monkeypatch, random_tiny_prior
) -> None:
    from rich.console import Console

    from splatdream.pipeline import run

    monkeypatch.chdir(tmp_path)
    cfg = replace(
        small_config(random_tiny_prior, tmp_path, num_particles=1, distill={"steps": 2}),
        prompt=PROMPTS[key],
        out=None,
    )
    run_dir = run(cfg, Console(file=open(os.devnull, "w")))
    assert run_dir.resolve().parent == (tmp_path / "outputs").resolve()
    assert (run_dir / "particle_0.ply").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outputs"]


@pytest.mark.parametrize("prompt", ["", "   \t "], ids=["empty", "blank"])
def test_empty_prompt_is_refused(prompt, capsys) -> None:
    refused(["--preset", "cpu-tiny", "--prompt", prompt], capsys, "prompt is empty")


def test_prompt_without_a_matching_asset_still_retrieves_k(tmp_path) -> None:
    from splatdream.models.embedders import load_embedder
    from splatdream.retrieval.library import AssetLibrary

    hits = AssetLibrary.open().search("zxqv qqq glorp", 3, embedder=load_embedder("text"))
    assert len(hits) == 3 and len({h.id for h in hits}) == 3


# -- particles and k ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", ["0", "-3"])
def test_num_particles_below_one_is_refused(n, capsys) -> None:
    refused(["--preset", "cpu-tiny", "--num-particles", n], capsys, "--num-particles must be at least 1")


BAD_NUMBERS = {
    "steps": (["--distill.steps", "-5"], "--distill.steps must be at least 0, got -5"),
    "frames": (["--output.turntable-frames", "-3"], "--output.turntable-frames must be at least 0"),
    "guidance-nan": (["--distill.guidance-scale", "nan"], "--distill.guidance-scale must be a finite number"),
    "guidance-inf": (["--distill.guidance-scale", "inf"], "--distill.guidance-scale must be a finite number"),
    "turntable-size": (["--output.turntable-size", "-64"], "--output.turntable-size must be at least 1"),
    "adapt-resolution": (["--adapt.resolution", "-8"], "--adapt.resolution must be at least 1"),
    "render-resolution": (
        ["--distill.resolution.values", "-32"],
        "--distill.resolution.values must be at least 1",
    ),
    "t-max": (["--distill.t-max.values", "1.5"], "--distill.t-max.values must lie in [0, 1]"),
    "fov": (["--adapt.fov-y-deg", "190"], "--adapt.fov-y-deg must lie between 0 and 180"),
    "port": (["--viewer.port", "70000"], "--viewer.port must be a port number"),
}


@pytest.mark.parametrize("case", list(BAD_NUMBERS))
def test_bad_numbers_are_refused_before_any_work(case, tmp_path, capsys) -> None:
    argv, fragment = BAD_NUMBERS[case]
    out = tmp_path / "run"
    refused(["--preset", "cpu-tiny", "--prompt", "a chair", "--out", str(out), *argv], capsys, fragment)
    assert not out.exists()  # refused at parse time: no folder, no prior loaded


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (
            ["turntable", "x.ply", "--out", "t.mp4", "--elevation", "nan"],
            "--elevation must be a finite number",
        ),
        (
            ["export", "x.ply", "--format", "glb", "--mesh.resolution", "-4"],
            "--mesh.resolution must be at least 1",
        ),
        (["eval", "run", "--size", "-1"], "--size must be at least 1"),
        (
            ["init", "--prompt", "a chair", "--out", "o", "--random-radius", "-1"],
            "--random-radius must be above 0",
        ),
    ],
    ids=["turntable", "export", "eval", "init"],
)
def test_bad_numbers_of_subcommands_are_refused(argv, fragment, capsys) -> None:
    refused(argv, capsys, fragment)


def test_yaml_bomb_in_a_valid_key_is_refused_quickly_and_briefly(tmp_path, capsys) -> None:
    lines = ["distill:", "  steps:", "  - &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"  - &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]  # 10^9 values expanded
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    assert bomb.stat().st_size < 1200
    t0 = time.monotonic()
    err = refused(["--config", str(bomb), "--prompt", "a chair"], capsys, "expands to more than")
    assert time.monotonic() - t0 < 20 and len(err) < 400


def test_particle_counts_past_the_machines_memory_need_force(tmp_path, capsys, monkeypatch) -> None:
    from splatdream import budget
    from splatdream.config import parse_run_config

    monkeypatch.setattr(budget, "free_bytes", lambda device: (8 << 30, "RAM"))  # an 8 GiB machine
    argv = [
        "--preset",
        "cpu-tiny",
        "--prompt",
        "a chair",
        "--out",
        str(tmp_path / "run"),
        "--num-particles",
        "2000",
    ]
    # 2000 x 6000 Gaussians x 944 B = 10.55 GiB of training state
    err = refused(argv, capsys, "2000 particles need about 10.6 GiB")
    assert "--force" in err and not (tmp_path / "run").exists()
    cfg = parse_run_config([*argv, "--force"])
    assert cfg.num_particles == 2000 and "takes about 500x as long" in capsys.readouterr().err
    assert (
        parse_run_config([*argv[:-2], "--num-particles", "4"]).num_particles == 4
    )  # the presets' count: silent
    assert capsys.readouterr().err == ""


def test_k_larger_than_the_library_is_refused(tmp_path, capsys, random_tiny_prior) -> None:
    cfg = config_file(tmp_path, random_tiny_prior, tmp_path / "run")
    refused(
        [
            "--config",
            str(cfg),
            "--init.method",
            "retrieved",
            "--retrieval.embedder",
            "text",
            "--retrieval.k",
            "100000",
        ],
        capsys,
        "k=100000",
    )


@pytest.mark.slow
@pytest.mark.parametrize("n", [1, 2, 5])
def test_particle_counts_around_k_run_end_to_end(n, tmp_path, random_tiny_prior) -> None:
    """k = 3 retrieved assets with 1, 2 (fewer than k) and 5 (more) particles, adaptation on; then resume."""
    import shutil

    from rich.console import Console

    from splatdream.pipeline import run

    over = {
        "num_particles": n,
        "retrieval": {"k": 3, "embedder": "text"},
        "init": {"method": "retrieved", "gaussians_per_particle": 200},
        "adapt": {"enabled": True, "align": False, "steps": 1, "batch_size": 2, "resolution": 16},
        "distill": {"steps": 2},
    }
    cfg = small_config(random_tiny_prior, tmp_path / "run", **over)
    console = Console(file=open(os.devnull, "w"))
    run_dir = run(cfg, console)
    assert sorted(p.name for p in run_dir.glob("particle_*.ply")) == [f"particle_{i}.ply" for i in range(n)]
    shutil.rmtree(run_dir / "adapter")  # the resume path that adapts again from retrieved.json
    run(replace(cfg, resume=run_dir), console)
    assert (run_dir / "adapter").is_dir()


# -- output directory -----------------------------------------------------------------------------------------
def _out_case(kind: str, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    if kind == "existing-file":
        out.write_text("my notes")
    elif kind == "unwritable":
        out = Path("/proc/splatdream-cannot-write")
    elif kind == "someone-elses-files":
        out.mkdir()
        (out / "thesis.tex").write_text("precious")
    elif kind == "earlier-run":
        out.mkdir()
        for name, text in (
            ("config.yaml", "prompt: old\n"),
            ("metrics.jsonl", '{"step": 0}\n'),
            ("particle_7.ply", "x"),
        ):
            (out / name).write_text(text)
    return out


OUT_CASES = {
    "existing-file": "is a file, not a folder",
    "unwritable": "cannot write to output directory",
    "someone-elses-files": "already holds files (thesis.tex)",
    "earlier-run": "pass --resume",
}


@pytest.mark.parametrize("kind", list(OUT_CASES))
def test_out_that_is_not_ours_is_refused_and_left_alone(kind, tmp_path, capsys, random_tiny_prior) -> None:
    out = _out_case(kind, tmp_path)
    before = {p: p.read_bytes() for p in out.rglob("*")} if out.is_dir() and kind != "unwritable" else {}
    cfg = config_file(tmp_path, random_tiny_prior, out)
    refused(["--config", str(cfg)], capsys, OUT_CASES[kind])
    if kind == "existing-file":
        assert out.read_text() == "my notes"
    after = {p: p.read_bytes() for p in out.rglob("*") if p.name != LOCK} if out.is_dir() and before else {}
    assert after == before


def test_second_run_into_a_locked_out_is_refused(tmp_path, capsys, random_tiny_prior) -> None:
    out = tmp_path / "busy"
    out.mkdir()
    with FileLock(out / LOCK):  # as a run in another process holds it
        refused(
            ["--config", str(config_file(tmp_path, random_tiny_prior, out))], capsys, "another splatdream run"
        )
    with claim_run_dir(out, resuming=False):  # released: the folder (holding only the lock file) is usable
        pass


def test_resume_of_a_run_still_going_is_refused(tmp_path, capsys, random_tiny_prior) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text(dump_yaml(small_config(random_tiny_prior, run_dir)))
    with FileLock(run_dir / LOCK):
        refused(["--resume", str(run_dir)], capsys, "another splatdream run")


@pytest.mark.slow
def test_two_runs_started_into_the_same_out_one_refuses(tmp_path, random_tiny_prior) -> None:
    cfg = config_file(tmp_path, random_tiny_prior, tmp_path / "same", num_particles=1)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "splatdream", "--config", str(cfg)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    results = [(p.wait(timeout=600), p.stdout.read() if p.stdout else "") for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    loser = next(out for code, out in results if code == 2)
    assert "another splatdream run" in loser or "already holds files" in loser
    steps = [
        json.loads(line)["step"] for line in (tmp_path / "same" / "metrics.jsonl").read_text().splitlines()
    ]
    assert steps == list(range(12))


# -- resume ---------------------------------------------------------------------------------------------------
def _resume_dir(tmp_path: Path, prior: Path, checkpoint: str | None) -> Path:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.yaml").write_text(dump_yaml(small_config(prior, run_dir)))
    ckpt = run_dir / "checkpoint.pt"
    if checkpoint == "truncated":
        torch.save({"params": [torch.zeros(1000)] * 2, "step": 4}, ckpt)
        ckpt.write_bytes(ckpt.read_bytes()[:300])
    elif checkpoint == "empty":
        ckpt.write_bytes(b"")
    elif checkpoint == "foreign":
        torch.save({"model": torch.zeros(3)}, ckpt)
    elif checkpoint == "other-particle-count":
        torch.save({"params": [{}] * 3, "step": 4, "optimizers": [], "rng": {}, "lr_scale": 1.0}, ckpt)
    return run_dir


class _TouchOnUnpickle:
    """Unpickling this calls ``open(marker, "w")``: the harmless stand-in for a pickle that runs code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return open, (str(self.marker), "w")


def test_a_checkpoint_that_would_run_code_runs_nothing(tmp_path, capsys, random_tiny_prior) -> None:
    import pickle

    run_dir = _resume_dir(tmp_path, random_tiny_prior, None)
    marker = tmp_path / "pwned"
    state = {
        "params": [{}] * 2,
        "step": 4,
        "optimizers": [],
        "rng": {},
        "lr_scale": 1.0,
        "payload": _TouchOnUnpickle(marker),
    }
    torch.save(state, run_dir / "checkpoint.pt")
    # The file is live: Python's own unpickler (weights_only=False) would run the payload.
    probe = tmp_path / "probe"
    pickle.loads(pickle.dumps(_TouchOnUnpickle(probe)))
    assert probe.exists()
    err = refused(["--resume", str(run_dir)], capsys, "could run code")
    assert not marker.exists()
    assert f"delete {run_dir / 'checkpoint.pt'}" in err


@pytest.mark.parametrize("command", ["export", "resume-training"])
def test_a_tiny_prior_checkpoint_that_would_run_code_runs_nothing(command, tmp_path) -> None:
    from splatdream.priors.tiny_training.export import export_tiny
    from splatdream.priors.tiny_training.train import TrainTinyConfig, train

    marker = tmp_path / "pwned"
    run = tmp_path / "tiny"
    run.mkdir()
    torch.save(
        {
            "unet": {},
            "ema": {},
            "opt": {},
            "gen": torch.zeros(1),
            "step": 1,
            "arch": _TouchOnUnpickle(marker),
        },
        run / "checkpoint.pt",
    )
    with pytest.raises(CheckpointError, match="could run code"):
        if command == "export":
            export_tiny(run, tmp_path / "out", measure_quality=False)
        else:
            train(TrainTinyConfig(out=run, steps=2, resume=True))
    assert not marker.exists()


CHECKPOINT_CASES = {
    "truncated": "cannot read checkpoint",
    "empty": "cannot read checkpoint",
    "foreign": "is not a splatdream checkpoint",
    "other-particle-count": "checkpoint has 3 particles, this run 2",
}


@pytest.mark.parametrize("kind", list(CHECKPOINT_CASES))
def test_bad_checkpoint_is_one_line(kind, tmp_path, capsys, random_tiny_prior) -> None:
    run_dir = _resume_dir(tmp_path, random_tiny_prior, kind)
    err = refused(["--resume", str(run_dir)], capsys, CHECKPOINT_CASES[kind])
    assert f"delete {run_dir / 'checkpoint.pt'}" in err


def test_debug_shows_the_error_with_its_traceback(tmp_path, random_tiny_prior) -> None:
    run_dir = _resume_dir(tmp_path, random_tiny_prior, "truncated")
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        cli_main(["--debug", "--resume", str(run_dir)])


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--num-particles", "3"], "num_particles 3 (the run has 2)"),
        (["--preset", "redream-sd21"], "was made with other settings"),
        (["--prompt", "a red car"], "prompt 'a red car'"),
    ],
    ids=["other-particle-count", "other-preset", "other-prompt"],
)
def test_resume_with_other_settings_is_refused(extra, fragment, tmp_path, capsys, random_tiny_prior) -> None:
    run_dir = _resume_dir(tmp_path, random_tiny_prior, None)
    refused(["--resume", str(run_dir), *extra], capsys, fragment)


def test_resume_of_a_folder_that_is_no_run_is_refused(tmp_path, capsys) -> None:
    refused(["--resume", str(tmp_path)], capsys, "is not a run directory")


OLD_SETTINGS = {
    "view-prompts": (("distill", "view_prompts"), {"style": "suffix"}, "distill.view_prompts moved to prior"),
    "absolute-refine-stop": (
        ("distill", "densify", "refine_stop"),
        800,
        "refine_stop (800) is now a fraction",
    ),
    "lr-means-steps": (("distill", "lr", "means", "steps"), 1200, "became distill.lr.means.over"),
}


@pytest.mark.parametrize("how", ["config", "resume"])
@pytest.mark.parametrize("old", list(OLD_SETTINGS))
def test_a_config_of_an_older_version_says_what_changed(
    old, how, tmp_path, capsys, random_tiny_prior
) -> None:
    """Old settings used to get advice the user had already followed; now: what changed, and what to do."""
    import yaml

    key, value, said = OLD_SETTINGS[old]
    data = yaml.safe_load(dump_yaml(small_config(random_tiny_prior, tmp_path / "run")))
    node = data
    for k in key[:-1]:
        node = node[k]
    node[key[-1]] = value
    if how == "config":
        path = tmp_path / "old.yaml"
        path.write_text(yaml.safe_dump(data))
        err = refused(["--config", str(path)], capsys, "was written for an earlier version of splatdream")
        assert "edit those settings" in err
    else:
        run = tmp_path / "old-run"
        run.mkdir()
        (run / "config.yaml").write_text(yaml.safe_dump(data))
        err = refused(["--resume", str(run)], capsys, f"{run} was written by an earlier version")
        assert "cannot be resumed" in err and "start a new run" in err
    assert said in err and len(err.strip().splitlines()) == 1


def test_resume_drops_metrics_past_the_checkpoint(tmp_path) -> None:
    from splatdream.distill.loop import truncate_metrics

    path = tmp_path / "metrics.jsonl"
    path.write_text(
        "".join(json.dumps({"step": s, "loss": 0.1}) + "\n" for s in range(10)) + '{"step": 10, "lo'
    )
    truncate_metrics(path, 6)
    assert [json.loads(line)["step"] for line in path.read_text().splitlines()] == list(range(6))


# -- disk full ------------------------------------------------------------------------------------------------
def _enospc(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


def _partial_then_enospc(obj: object, f: object, *args: object, **kwargs: object) -> None:
    Path(str(f)).write_bytes(b"half a file")
    _enospc()


@pytest.mark.parametrize("what", ["ply-export", "checkpoint", "format-export"])
def test_disk_full_keeps_the_previous_file(what, tmp_path, monkeypatch) -> None:
    from splatdream.distill import checkpoint as checkpoint_mod

    target = (
        tmp_path
        / {"checkpoint": "checkpoint.pt", "ply-export": "scene.ply", "format-export": "scene.splat"}[what]
    )
    target.write_bytes(b"the previous, intact file")
    with pytest.raises(OSError) as exc:
        if what == "ply-export":
            monkeypatch.setattr(PlyData, "write", _partial_then_enospc)
            write_ply(target, scene())
        elif what == "checkpoint":
            monkeypatch.setattr(checkpoint_mod.torch, "save", _partial_then_enospc)
            monkeypatch.setattr(checkpoint_mod, "trainer_state", lambda trainer: {})
            checkpoint_mod.save_checkpoint(None, target)  # type: ignore[arg-type]
        else:
            from splatdream.export.convert import export_scene

            monkeypatch.setattr(Path, "write_bytes", _enospc)
            export_scene(scene(), "splat", target)
    assert exc.value.errno == errno.ENOSPC
    assert target.read_bytes() == b"the previous, intact file"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # no temporary left behind
    assert "disk is full" in (user_message(exc.value) or "")


def test_disk_full_while_saving_the_adapter_leaves_the_previous_one(tmp_path, monkeypatch, capsys) -> None:
    import safetensors.torch

    from splatdream.adaptation.lora import CONFIG_FILE, WEIGHTS_FILE, adapter_complete, add_lora, save_adapter
    from tests.test_adapt_lora import tiny_prior

    unet = tiny_prior().unet
    add_lora(unet, rank=2, alpha=2.0)
    folder = tmp_path / "adapter"
    save_adapter(unet, folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert adapter_complete(folder)

    def half_then_full(tensors: object, filename: str, *args: object, **kwargs: object) -> None:
        Path(filename).write_bytes(b"half a file")
        raise safetensors.SafetensorError("Error while serializing: No space left on device (os error 28)")

    monkeypatch.setattr(safetensors.torch, "save_file", half_then_full)
    with pytest.raises(Exception) as exc:
        save_adapter(unet, folder)
    message = user_message(exc.value) or ""
    assert (
        message.count("\n") == 0 and "disk is full" in message and str(folder) in message and "MB" in message
    )
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # the previous adapter, untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adapter"]  # no staging folder left behind
    # and a folder left half-written by an older version counts as no adapter at all
    (folder / CONFIG_FILE).unlink()
    assert not adapter_complete(folder) and (folder / WEIGHTS_FILE).exists()


def _strict_records(path: Path) -> list[dict]:
    def refuse(name: str) -> None:
        raise AssertionError(f"bare {name} in {path}: not strict JSON")

    return [json.loads(line, parse_constant=refuse) for line in path.read_text().splitlines()]


def test_a_run_whose_steps_all_fail_stops_with_an_error(tmp_path, tiny_prior_factory) -> None:
    from splatdream.distill.loop import NumericalFailure, train
    from splatdream.distill.trainer import Trainer
    from tests.test_distill_trainer import CFG, particles

    prior = tiny_prior_factory()
    real = prior.predict_noise
    prior.predict_noise = lambda *a, **k: real(*a, **k) * float("nan")  # type: ignore[method-assign]
    cfg = replace(CFG, steps=40, max_bad_steps=2, checkpoint_every=100)
    with pytest.raises(NumericalFailure) as exc:
        train(Trainer(cfg, prior, "a chair", particles(1)), tmp_path)
    message = user_message(exc.value) or ""
    assert "4 steps in a row were skipped" in message and "\n" not in message
    records = _strict_records(tmp_path / "metrics.jsonl")  # NaN losses are written as null
    assert len(records) == 4 and all(r["skipped"] and r["loss"] is None for r in records)


def test_a_short_run_ending_in_skipped_steps_is_not_done(tmp_path, tiny_prior_factory) -> None:
    from splatdream.distill.loop import NumericalFailure, train
    from splatdream.distill.trainer import Trainer
    from tests.test_distill_trainer import CFG, particles

    prior = tiny_prior_factory()
    real = prior.predict_noise
    prior.predict_noise = lambda *a, **k: real(*a, **k) * float("nan")  # type: ignore[method-assign]
    with pytest.raises(NumericalFailure, match="the last 3 steps were all skipped"):
        train(Trainer(replace(CFG, steps=3, max_bad_steps=3), prior, "a chair", particles(1)), tmp_path)


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_run_folder_deleted_or_replaced_mid_run_stops_the_run(how, tmp_path, tiny_prior_factory) -> None:
    import shutil

    from splatdream.distill.loop import train
    from splatdream.distill.trainer import Trainer
    from splatdream.errors import RunDirError
    from tests.test_distill_trainer import CFG, particles

    run_dir = tmp_path / "run"
    run_dir.mkdir()

    def pull_the_folder(tr: Trainer, result: object) -> None:
        if tr.step_count == 1:
            shutil.rmtree(run_dir)
            if how == "replaced":
                run_dir.mkdir()

    cfg = replace(CFG, steps=6, checkpoint_every=2)
    with pytest.raises(RunDirError, match=how):
        train(
            Trainer(cfg, tiny_prior_factory(), "a chair", particles(1)), run_dir, observers=[pull_the_folder]
        )
    assert not run_dir.exists() if how == "deleted" else list(run_dir.iterdir()) == []  # nothing re-created


# -- asset library ----------------------------------------------------------------------------------------------
def _mesh_file(kind: str, folder: Path) -> Path:
    import trimesh

    if kind == "good":
        path = folder / "good_box.obj"
        trimesh.creation.box().export(path)
    elif kind == "corrupt":
        path = folder / "corrupt_chair.glb"
        path.write_bytes(b"glTF\x02\x00\x00\x00" + os.urandom(64))
    elif kind == "empty":
        path = folder / "empty_chair.obj"
        path.write_bytes(b"")
    elif kind == "nan-vertex":
        path = folder / "nan_chair.obj"
        path.write_text("v 0 0 0\nv 1 0 0\nv nan 1 0\nv 0 0 1\nf 1 2 3\nf 1 2 4\n")
    elif kind == "zero-area":
        path = folder / "flat_chair.obj"
        path.write_text("v 0 0 0\nv 1 0 0\nv 2 0 0\nv 3 0 0\nf 1 2 3\nf 2 3 4\n")
    elif kind == "not-a-mesh":
        path = folder / "readme.txt"
        path.write_text("hello")
    return path


MESH_CASES = {
    "corrupt": "cannot be read as a mesh",
    "empty": "empty file",
    "nan-vertex": "",  # trimesh may drop the NaN vertex's faces or keep them: either way it is rejected
    "zero-area": "zero surface area",
    "not-a-mesh": "unsupported extension",
}


@pytest.mark.parametrize("kind", list(MESH_CASES))
def test_bad_mesh_is_skipped_and_reported_the_batch_goes_on(kind, tmp_path) -> None:
    from splatdream.models.embedders import load_embedder
    from splatdream.retrieval.library import AssetLibrary

    folder = tmp_path / "in"
    folder.mkdir()
    good, bad = _mesh_file("good", folder), _mesh_file(kind, folder)
    lib = AssetLibrary.open(tmp_path / "lib")
    report = lib.add(folder, embedders=[load_embedder("text")], progress=False)
    assert len(report.added) == 1 and len(lib) == 1
    assert [Path(name).name for name, _ in report.skipped] == [bad.name]
    assert MESH_CASES[kind] in report.skipped[0][1]
    assert bad.name in report.summary() and good.exists()


def damage_library(lib: Path, kind: str) -> None:
    """Damage a copy of the shipped library the way a bad disk or a killed copy would."""
    if kind == "truncated-assets":
        data = next((lib / "assets.lance" / "data").glob("*.lance"))
        os.truncate(data, 100)
    elif kind == "overwritten-embeddings":
        data = next((lib / "emb_minilm-l6-v2.lance" / "data").glob("*.lance"))
        raw = bytearray(data.read_bytes())
        raw[len(raw) // 4 : -16] = b"\xab" * (len(raw) - 16 - len(raw) // 4)
        data.write_bytes(bytes(raw))
    else:
        next((lib / "assets.lance" / "_versions").glob("*.manifest")).write_bytes(b"garbage\n")


@pytest.mark.parametrize(
    ("kind", "command"),
    [
        ("truncated-assets", "retrieve"),
        ("overwritten-embeddings", "retrieve"),
        ("garbage-manifest", "retrieve"),
        ("overwritten-embeddings", "run"),
    ],
)
def test_a_damaged_library_is_named_with_its_fix(
    kind, command, tmp_path, capsys, monkeypatch, random_tiny_prior
) -> None:
    """Lance's own message named no file and no fix; ours names the folder and how to get a good one."""
    import shutil

    from splatdream.retrieval.library import SHIPPED_LIBRARY

    lib = tmp_path / "my library"
    shutil.copytree(SHIPPED_LIBRARY, lib)
    damage_library(lib, kind)
    monkeypatch.setenv("SPLATDREAM_LIBRARY", str(lib))
    if command == "retrieve":
        argv = ["retrieve", "--prompt", "a chair", "--embedder", "text", "--sheet", "None"]
    else:
        cfg = config_file(tmp_path, random_tiny_prior, tmp_path / "run")
        argv = ["--config", str(cfg), "--init.method", "retrieved", "--retrieval.embedder", "text"]
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if "is damaged" in line]
    assert len(errors) == 1, err
    assert f"the asset library at {lib} is damaged" in errors[0]
    assert "delete that folder" in errors[0] and "SPLATDREAM_LIBRARY" in errors[0]
    assert ".rs:" not in errors[0]  # no Rust source locations


def test_a_damaged_shipped_library_says_how_to_rebuild_it() -> None:
    from splatdream.retrieval.library import SHIPPED_LIBRARY, corrupt_message

    message = corrupt_message(SHIPPED_LIBRARY, RuntimeError("lance error: LanceError(IO): x, /a/b.rs:1:2"))
    assert "\n" not in message and str(SHIPPED_LIBRARY) in message
    assert "splatdream assets build-starter" in message and "b.rs" not in message


def test_symlink_loops_in_assets_add_are_listed_among_the_skipped(tmp_path) -> None:
    from splatdream.models.embedders import load_embedder
    from splatdream.retrieval.library import AssetLibrary

    folder = tmp_path / "in"
    folder.mkdir()
    _mesh_file("good", folder)
    (folder / "loop.obj").symlink_to(folder / "loop.obj")  # points at itself
    (folder / "gone.obj").symlink_to(folder / "nowhere.obj")
    report = AssetLibrary.open(tmp_path / "lib").add(
        folder, embedders=[load_embedder("text")], progress=False
    )
    assert len(report.added) == 1
    reasons = {Path(name).name: why for name, why in report.skipped}
    assert set(reasons) == {"loop.obj", "gone.obj"}
    assert "symlink loop" in reasons["loop.obj"] and "dangling" in reasons["gone.obj"]
    assert "loop.obj" in report.summary()


@pytest.mark.slow
def test_two_processes_adding_to_one_library_lose_and_duplicate_nothing(tmp_path) -> None:
    import trimesh

    folders = [tmp_path / "a", tmp_path / "b"]
    for k, folder in enumerate(folders):
        folder.mkdir()
        for i in range(4):  # the same 2 shared files in both folders, and 2 of each folder's own
            shape = (
                trimesh.creation.icosphere(subdivisions=1, radius=1 + i)
                if i < 2
                else trimesh.creation.box(extents=(1 + k, 2 + i, 1))
            )
            shape.export(folder / f"shape_{i}.obj")
    script = (
        "import sys; from splatdream.retrieval.library import AssetLibrary; "
        "from splatdream.models.embedders import load_embedder; "
        "AssetLibrary.open(sys.argv[1]).add(sys.argv[2], embedders=[load_embedder('text')], progress=False)"
    )
    lib = tmp_path / "lib"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(lib), str(f)], cwd=ROOT, stderr=subprocess.PIPE, text=True
        )
        for f in folders
    ]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    from splatdream.retrieval.library import AssetLibrary

    rows = AssetLibrary.open(lib).rows()
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)) == 6, sorted(r["source_name"] for r in rows)


# -- viewer ------------------------------------------------------------------------------------------------------
def test_viewers_bind_localhost_by_default() -> None:
    from viewer.app import ViewArgs
    from viewer.config import ViewerConfig

    assert ViewerConfig().host == "127.0.0.1"
    assert ViewArgs.__dataclass_fields__["host"].default == "127.0.0.1"


def test_binding_all_interfaces_warns(capsys) -> None:
    from viewer.server import start_server, stop_server

    server, url = start_server("0.0.0.0", free_port())
    try:
        err = capsys.readouterr().err
        assert "warning" in err and "reachable from other machines" in err
        assert url.startswith("http://localhost:")
    finally:
        stop_server(server)


# -- signals --------------------------------------------------------------------------------------------------------
def test_ctrl_c_during_distillation_checkpoints_then_stops(tmp_path, tiny_prior_factory) -> None:
    from splatdream.distill.checkpoint import load_checkpoint
    from splatdream.distill.loop import Interrupted, train
    from splatdream.distill.trainer import Trainer
    from tests.test_distill_trainer import CFG, particles

    cfg = replace(CFG, steps=6, checkpoint_every=100)
    trainer = Trainer(cfg, tiny_prior_factory(), "a chair", particles())

    def press_ctrl_c(tr: Trainer, result: object) -> None:
        if tr.step_count == 2:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(Interrupted, match="--resume"):
        train(trainer, tmp_path, observers=[press_ctrl_c])
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored
    again = Trainer(cfg, tiny_prior_factory(), "a chair", particles())
    load_checkpoint(again, tmp_path / "checkpoint.pt")
    assert again.step_count == 2
    with pytest.raises(CheckpointError, match="does not fit"):
        load_checkpoint(
            Trainer(cfg, tiny_prior_factory(), "a chair", particles(3)), tmp_path / "checkpoint.pt"
        )


@pytest.mark.slow
def test_ctrl_c_leaves_a_resumable_run_and_frees_the_viewer_port(tmp_path, random_tiny_prior) -> None:
    port = free_port()
    cfg = config_file(
        tmp_path,
        random_tiny_prior,
        tmp_path / "run",
        num_particles=1,
        distill={"steps": 40, "checkpoint_every": 1000},
        viewer={"enabled": True, "port": port},
    )
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "splatdream", "--config", str(cfg)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    metrics = tmp_path / "run" / "metrics.jsonl"
    deadline = time.time() + 300
    while (
        time.time() < deadline and proc.poll() is None and not (metrics.exists() and metrics.stat().st_size)
    ):
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()[0]
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out
    assert "Traceback" not in out and f"splatdream --resume {tmp_path / 'run'}" in out
    assert (tmp_path / "run" / "checkpoint.pt").exists()
    with socket.socket() as s:  # the viewer's port is free again
        s.bind(("127.0.0.1", port))
    done = subprocess.run(
        [sys.executable, "-m", "splatdream", "--resume", str(tmp_path / "run"), "--no-viewer"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0 and "resumed at step" in done.stdout, done.stdout + done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["load_prior", "retrieve", "init"])
def test_ctrl_c_before_distillation_is_one_line_and_the_out_is_reusable(
    stage, tmp_path, random_tiny_prior
) -> None:
    out = tmp_path / "run"
    cfg = config_file(
        tmp_path,
        random_tiny_prior,
        out,
        num_particles=1,
        distill={"steps": 2},
        init={"method": "retrieved", "gaussians_per_particle": 200},
        retrieval={"k": 1, "embedder": "text"},
    )
    env = dict(os.environ, PYTHONUNBUFFERED="1", SPLATDREAM_LIBRARY=str(tmp_path / "user-library"))
    proc = subprocess.run(
        [sys.executable, "-m", "tests.support.interrupt", stage, "--config", str(cfg)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 130, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    if stage == "load_prior":  # before config.yaml: nothing kept, the same command works again
        assert "run the same command again" in proc.stderr, proc.stderr
        assert [p.name for p in out.iterdir()] == [LOCK]
        again = ["--config", str(cfg)]
    else:
        assert f"splatdream --resume {out}" in proc.stderr, proc.stderr
        again = ["--resume", str(out), "--no-viewer"]
    done = subprocess.run(
        [sys.executable, "-m", "splatdream", *again],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (out / "particle_0.ply").exists(), sorted(p.name for p in out.iterdir())


def test_interrupt_before_config_removes_what_the_run_wrote_and_keeps_a_resumable_run(tmp_path) -> None:
    out = tmp_path / "run"
    with claim_run_dir(out, resuming=False):
        (out / "retrieved.json").write_text("[]")
        (out / "adapter").mkdir()
        assert "run the same command again" in str(interrupted(out, resuming=False))
        assert [p.name for p in out.iterdir()] == [LOCK]
        (out / "config.yaml").write_text("prompt: a chair\n")
        (out / "retrieved.json").write_text("[]")
        assert f"splatdream --resume {out}" in str(interrupted(out, resuming=False))
        assert sorted(p.name for p in out.iterdir()) == sorted([LOCK, "config.yaml", "retrieved.json"])
