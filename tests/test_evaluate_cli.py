"""``splatdream eval`` on constructed run directories: files written and read back, skips, bad input."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from PIL import Image

from splatdream.cli import main as cli_main
from splatdream.evaluate import (
    EvalConfig,
    MissingInitError,
    NoParticlesError,
    NotARunError,
    Scorers,
    evaluate_run,
    read_eval,
)
from splatdream.evaluate.report import sheet_size
from splatdream.priors.config import PriorConfig
from tests.support.evaluate_scenes import box_scene, punched, recoloured, speckled, write_run

ARGS = [
    "--views",
    "8",
    "--size",
    "48",
    "--extra-elevations-deg",
    "--fidelity-views",
    "2",
    "--distractors",
    "2",
]
CFG = EvalConfig(
    views=8,
    size=48,
    extra_elevations_deg=(),
    fidelity_views=2,
    distractors=2,
    attribute_distractors=2,
    device="cpu",
)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, random_tiny_prior: Path) -> Path:
    g = box_scene(1500)
    results = [speckled(recoloured(g, (0.1, 0.25, 0.8))), punched(g)]
    prior = PriorConfig(kind="tiny", path=str(random_tiny_prior))
    return write_run(
        tmp_path_factory.mktemp("runs") / "blue-chair", "a blue wooden chair", [g, g.clone()], results, prior
    )


@pytest.fixture(scope="module")
def scorers() -> Scorers:
    """Shared across tests so the prior and its text encoder load once."""
    return Scorers(CFG)


def test_evaluate_run_writes_eval_json_and_png(run_dir: Path, scorers: Scorers) -> None:
    ev = evaluate_run(run_dir, CFG, scorers=scorers)
    assert read_eval(run_dir) == ev
    assert ev.prompt == "a blue wooden chair" and ev.colour_word == "blue" and len(ev.particles) == 2
    first, second = ev.particles
    assert first.cleanliness.speckle_ratio > 1.5 and first.colour is not None
    assert first.colour.delta_e < first.colour.delta_e_init
    assert second.cleanliness.holes > 0.01 and second.cleanliness.count_ratio < 1
    assert first.classifier is not None and len(ev.distractors) == 2  # the run's own prior was loaded
    assert len(ev.attribute_distractors) == 2 and all("blue" not in c for c in ev.attribute_distractors)
    assert first.classifier_object is not None and first.classifier_attribute is not None
    assert first.classifier == pytest.approx((first.classifier_object + first.classifier_attribute) / 2)
    assert set(ev.skipped) == {"clip", "alpips"} and "--clip-checkpoint" in ev.skipped["clip"]
    raw = json.loads((run_dir / "eval.json").read_text())
    assert raw["mean"]["holes"] == pytest.approx(ev.means()["holes"]) and raw["particles"][0]["clip"] is None
    with Image.open(run_dir / "eval.png") as im:
        assert im.size == sheet_size(n_particles=2, views=CFG.sheet_views, size=CFG.size)


def test_classifier_pairs_probes_per_particle(run_dir: Path, scorers: Scorers) -> None:
    """Identical particles get identical scores: init and result see the same noise, views and backgrounds."""
    from splatdream.evaluate.fidelity import classifier_scores
    from splatdream.io.ply import read_ply
    from splatdream.rundir import RunDir

    files = RunDir(run_dir).finished_run()
    prior = scorers.prior(files.prior)
    assert not isinstance(prior, str), prior
    g = read_ply(files.inits[0])
    a, b = classifier_scores(
        prior,
        [g, g.clone()],
        files.prompt,
        contrast=("a blue wooden table",),
        views=2,
        timesteps=(300,),
        noises=1,
    )
    assert a == b


def test_cli_prints_a_table_and_writes_files(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (run_dir / "eval.png").unlink()
    assert cli_main(["eval", str(run_dir), *ARGS, "--no-classifier"]) == 0
    out = capsys.readouterr().out
    assert "speckle x" in out and "holes" in out and "A-LPIPS skipped" in out and "CLIP score skipped" in out
    assert (run_dir / "eval.png").is_file() and read_eval(run_dir).particles[0].classifier is None


def test_cli_json_flag_prints_a_list(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["eval", str(run_dir), *ARGS, "--no-classifier", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert len(printed) == 1 and printed[0]["prompt"] == "a blue wooden chair"
    assert "classifier" in printed[0]["skipped"] and printed[0]["particles"][0]["classifier"] is None


def test_bad_inputs_name_what_is_missing(
    tmp_path: Path, run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = EvalConfig(views=4, size=32, classifier=False)
    with pytest.raises(NotARunError, match=r"no config\.yaml"):
        evaluate_run(tmp_path, cfg)
    with pytest.raises(NotARunError, match="not a directory"):
        evaluate_run(tmp_path / "nope", cfg)
    (tmp_path / "config.yaml").write_text("num_particles: 2\n")
    with pytest.raises(NotARunError, match="no 'prompt'"):
        evaluate_run(tmp_path, cfg)
    (tmp_path / "config.yaml").write_text("prompt: a chair\n")
    with pytest.raises(NoParticlesError, match=r"particle_<i>\.ply"):
        evaluate_run(tmp_path, cfg)
    g = box_scene(200)
    write_run(tmp_path, "a chair", [g, g], [g, g])
    (tmp_path / "init_particle_1.ply").unlink()
    with pytest.raises(MissingInitError, match=r"init_particle_1\.ply missing"):
        evaluate_run(tmp_path, cfg)
    # the command: one line naming the missing file, exit code 2, no traceback
    assert (
        cli_main(["eval", str(run_dir), str(tmp_path), "--views", "4", "--size", "32", "--no-classifier"])
        == 2
    )
    err = capsys.readouterr().err
    assert "init_particle_1.ply" in err and "Traceback" not in err


def test_lpips_backbone_from_a_local_file(tmp_path: Path) -> None:
    """A-LPIPS loads its backbone from a given file (here random AlexNet features: nothing is downloaded)."""
    pytest.importorskip("lpips")
    import torchvision

    from splatdream.evaluate.consistency import Alpips, LpipsUnavailable

    with pytest.raises(LpipsUnavailable, match="--lpips-backbone"):
        Alpips(tmp_path / "missing.pth")
    torch.manual_seed(0)
    feats = {k: v for k, v in torchvision.models.alexnet().state_dict().items() if k.startswith("features.")}
    torch.save(feats, tmp_path / "alexnet.pth")
    model = Alpips(tmp_path / "alexnet.pth")
    flat = torch.full((4, 32, 32, 3), 0.5)
    assert model.ring(flat) == pytest.approx(0.0, abs=1e-6)
    assert model.ring(torch.rand(4, 32, 32, 3, generator=torch.Generator().manual_seed(0))) > 0


def test_clip_absent_is_known_without_loading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No open_clip weights on disk: the CLIP skip comes at once, without constructing (or importing) CLIP."""
    import time

    from splatdream.evaluate.fidelity import ClipScorer, ClipUnavailable
    from splatdream.models import embedders

    def must_not_load(*args: object, **kwargs: object) -> None:
        raise AssertionError("CLIP was constructed although no weights are on disk")

    monkeypatch.setenv("HOME", str(tmp_path))  # ~/.cache/clip, open_clip's URL cache, is empty
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(embedders.ClipEmbedder, "from_config", must_not_load)
    start = time.perf_counter()
    with pytest.raises(ClipUnavailable, match="--clip-checkpoint"):
        ClipScorer("ViT-L-14", "openai", None)
    assert time.perf_counter() - start < 1.0
    # with an open_clip weights file in the hub cache, the real loader is asked
    snap = tmp_path / "hub" / "models--laion--some-clip" / "snapshots" / "abc"
    snap.mkdir(parents=True)
    (snap / "open_clip_model.safetensors").write_bytes(b"")
    assert embedders.any_open_clip_weights_cached()
    with pytest.raises(AssertionError, match="was constructed"):
        ClipScorer("ViT-L-14", "openai", None)


@pytest.fixture(scope="module")
def four_particle_run(tmp_path_factory, random_tiny_prior: Path) -> Path:
    """Four particles as a run leaves them: two share an init, one result is its init unchanged (a guard kept it)."""
    wood, white = box_scene(1200), box_scene(1200, rgb=(0.9, 0.9, 0.88), seed=3)
    inits = [wood, white, wood.clone(), wood.clone()]
    results = [
        speckled(recoloured(wood, (0.1, 0.25, 0.8))),
        punched(white),
        recoloured(wood, (0.4, 0.5, 0.2)),
        wood,
    ]
    prior = PriorConfig(kind="tiny", path=str(random_tiny_prior))
    return write_run(tmp_path_factory.mktemp("runs") / "four", "a wooden chair", inits, results, prior)


def test_each_distinct_scene_is_rendered_and_scored_once(
    four_particle_run: Path, scorers: Scorers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eight files, five distinct scenes: five renders and the classifier on five scenes, not eight of each.

    The numbers are pinned to scoring every particle on its own (the pre-sharing path): the same
    cleanliness, colour and patch values, and the same classifier margins as one call per scene.
    """
    from splatdream.evaluate import run as run_mod
    from splatdream.evaluate.fidelity import attribute_distractors, distractor_captions
    from splatdream.evaluate.run import _with_classifier, evaluate_particles
    from splatdream.io.ply import read_ply
    from splatdream.rundir import RunDir

    rendered: list[int] = []
    probed: list[int] = []
    real_render, real_margins = run_mod.render_views, run_mod.classifier_margins

    def counting_render(g, *args, **kwargs):  # type: ignore[no-untyped-def]
        rendered.append(len(g))
        return real_render(g, *args, **kwargs)

    def counting_margins(prior, particles, *args, **kwargs):  # type: ignore[no-untyped-def]
        probed.append(len(particles))
        return real_margins(prior, particles, *args, **kwargs)

    monkeypatch.setattr(run_mod, "render_views", counting_render)
    monkeypatch.setattr(run_mod, "classifier_margins", counting_margins)
    ev = evaluate_run(four_particle_run, CFG, scorers=scorers, write=False)
    # distinct: wood, white, and results 0, 1, 2 (result 3 is wood itself)
    assert len(rendered) == 5 and probed == [5]

    files = RunDir(four_particle_run).finished_run()
    prior = scorers.prior(files.prior)
    assert not isinstance(prior, str), prior
    objects = distractor_captions(files.prompt, CFG.distractors) or ("",)
    contrast = (*objects, *attribute_distractors(files.prompt, CFG.attribute_distractors))
    for p, init_file, result_file in zip(ev.particles, files.inits, files.particles, strict=True):
        g0, g1 = read_ply(init_file), read_ply(result_file)
        alone = evaluate_particles(g0, g1, CFG, files.prompt)
        assert (p.cleanliness, p.colour, p.patches, p.mean_shift) == (
            alone.cleanliness,
            alone.colour,
            alone.patches,
            alone.mean_shift,
        )
        (m0,) = real_margins(
            prior, [g0], files.prompt, contrast=contrast, views=CFG.fidelity_views, seed=CFG.seed
        )
        (m1,) = real_margins(
            prior, [g1], files.prompt, contrast=contrast, views=CFG.fidelity_views, seed=CFG.seed
        )
        assert p == _with_classifier(replace(p, classifier=None), m0, m1, len(objects))
    last = ev.particles[3]
    assert last.classifier == last.classifier_init and last.cleanliness.speckle_ratio == 1.0


def _margins_one_call_per_probe_and_caption(
    prior, g, prompt: str, contrast: tuple[str, ...], views: int, timesteps: tuple[int, ...], noises: int
) -> torch.Tensor:  # type: ignore[no-untyped-def]
    """classifier_margins written plainly: one UNet call per (timestep, noise) probe and caption."""
    from splatdream.priors.base import TextEmbeddings
    from splatdream.priors.views import view_prompts
    from splatdream.render import render_gaussians
    from splatdream.scene import orbit_ring

    cams = orbit_ring(views, 64, 64)
    assert cams.azimuth_deg is not None and cams.elevation_deg is not None
    embs = [
        prior.encode_prompts(view_prompts(c, cams.azimuth_deg, cams.elevation_deg))
        for c in (prompt, *contrast)
    ]
    # the empty contrast is the unconditional embedding itself, with no view words
    embs = [
        TextEmbeddings(embs[0].uncond.expand_as(embs[0].cond).contiguous(), e.uncond) if c == "" else e
        for c, e in zip((prompt, *contrast), embs, strict=True)
    ]
    gen = torch.Generator().manual_seed(0)
    bg = torch.rand(views, 3, generator=torch.Generator().manual_seed(1))
    colors, _, _ = render_gaussians(g, cams, backgrounds=bg)
    x0 = prior.encode_images(colors.permute(0, 3, 1, 2).clamp(0, 1))
    diffs = []
    for t in timesteps:
        for _ in range(noises):
            noise = torch.randn(x0.shape, generator=gen)
            tt = torch.full((views,), t)
            x_t = prior.add_noise(x0, noise, tt)
            err = torch.stack(
                [
                    (
                        prior.predict_noise(x_t, tt, TextEmbeddings(e.cond, e.uncond), guidance_scale=1.0)
                        - noise
                    )
                    .square()
                    .reshape(1, -1)
                    .mean(1)[0]
                    for e in embs
                ]
            )
            diffs.append(err[0] - err[1:])
    return torch.stack(diffs).mean(0)


def test_classifier_batches_give_the_margins_of_one_call_per_probe_and_caption(
    run_dir: Path, scorers: Scorers
) -> None:
    """Rows of all probes and captions share UNet calls of any size; the margins stay those of one call each.

    A call of exactly one (probe, caption) block is the same computation, so the same bits; calls that
    cut across blocks may change a row's UNet output in the last float bit (the CPU convolution picks
    its algorithm by batch size), far below the margins' own size (1e-3).
    """
    from splatdream.evaluate.fidelity import classifier_margins
    from splatdream.io.ply import read_ply
    from splatdream.rundir import RunDir

    files = RunDir(run_dir).finished_run()
    prior = scorers.prior(files.prior)
    assert not isinstance(prior, str), prior
    g0, g1 = read_ply(files.inits[0]), read_ply(files.particles[0])
    contrast, views, timesteps, noises = ("a blue wooden table", "a red wooden chair", ""), 3, (300, 700), 2
    ref = [
        _margins_one_call_per_probe_and_caption(prior, g, files.prompt, contrast, views, timesteps, noises)
        for g in (g0, g1)
    ]
    assert (ref[0] - ref[1]).abs().max() > 1e-4  # the two scenes differ: a mix-up of rows would show
    kw = dict(contrast=contrast, views=views, timesteps=timesteps, noises=noises)
    per_block = classifier_margins(prior, [g0, g1], files.prompt, max_batch=views, **kw)  # type: ignore[arg-type]
    assert all(torch.equal(a, b) for a, b in zip(per_block, ref, strict=True))
    for max_batch in (5, 72):
        out = classifier_margins(prior, [g0, g1], files.prompt, max_batch=max_batch, **kw)  # type: ignore[arg-type]
        for a, b in zip(out, ref, strict=True):
            # other batch shapes pick other BLAS kernels: float32 rounding (1.2e-7 seen on CI's machine),
            # still 100x below the scenes' own difference above
            torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_the_eval_prior_is_channels_last_and_scores_as_the_loaded_one(
    run_dir: Path, scorers: Scorers
) -> None:
    """eval's own prior runs its convolutions channels-last (quicker on the CPU): the margins are those of the
    prior as loaded up to float32 rounding, 100x below the difference between two scenes."""
    from splatdream.evaluate.fidelity import classifier_margins
    from splatdream.io.ply import read_ply
    from splatdream.priors.loader import load_prior
    from splatdream.rundir import RunDir

    files = RunDir(run_dir).finished_run()
    fast, plain = scorers.prior(files.prior), load_prior(files.prior, "cpu")
    assert not isinstance(fast, str), fast
    conv = fast.unet.conv_in.weight  # type: ignore[union-attr]
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    scenes = [read_ply(files.inits[0]), read_ply(files.particles[0])]
    kw = dict(contrast=("a blue wooden table", "a red wooden chair"), views=3, timesteps=(300, 700), noises=1)
    a = classifier_margins(fast, scenes, files.prompt, **kw)  # type: ignore[arg-type]
    b = classifier_margins(plain, scenes, files.prompt, **kw)  # type: ignore[arg-type]
    assert (b[0] - b[1]).abs().max() > 1e-4
    for x, y in zip(a, b, strict=True):
        torch.testing.assert_close(x, y, rtol=0, atol=1e-6)


def test_eval_renders_are_the_same_bits_on_one_thread(run_dir: Path) -> None:
    """evaluate_run renders on one thread (faster); the torch rasteriser's pixels do not depend on it."""
    from splatdream.evaluate.views import eval_cameras
    from splatdream.io.ply import read_ply
    from splatdream.render.views import render_views
    from splatdream.rundir import RunDir

    g = read_ply(RunDir(run_dir).finished_run().particles[0])
    cams = eval_cameras(8, 48, (-5.0, 40.0))
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        two = render_views(g, cams)
        torch.set_num_threads(1)
        one = render_views(g, cams)
    finally:
        torch.set_num_threads(before)
    assert two.alpha.amax() > 0.5
    assert torch.equal(one.premult, two.premult) and torch.equal(one.alpha, two.alpha)


def test_eval_threads_sleep_while_waiting_unless_the_user_chose(monkeypatch: pytest.MonkeyPatch) -> None:
    """`splatdream eval` asks OpenMP for passive waiting (set before torch would load it); a user's value wins."""
    from splatdream import cli

    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    cli._load("eval")
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    cli._load("eval")
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
    monkeypatch.delenv("OMP_WAIT_POLICY")
    cli._load("info")
    assert "OMP_WAIT_POLICY" not in os.environ


def test_a_pool_of_one_thread_workers_gives_the_one_thread_numbers(
    four_particle_run: Path, scorers: Scorers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The eval's work on two one-thread workers (the CPU default) scores every particle exactly as one
    thread does: the same margins bit for bit, and the same eval record, field by field."""
    from splatdream.cpu_pool import CpuPool
    from splatdream.evaluate import run as run_mod
    from splatdream.evaluate.fidelity import classifier_margins
    from splatdream.io.ply import read_ply
    from splatdream.rundir import RunDir

    files = RunDir(four_particle_run).finished_run()
    prior = scorers.prior(files.prior)
    assert not isinstance(prior, str), prior
    scenes = [read_ply(p) for p in (*files.inits[:2], *files.particles[:2])]
    kw = dict(contrast=("a wooden table", "a red wooden chair"), views=3, timesteps=(300, 700), noises=1)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        alone = classifier_margins(prior, scenes, files.prompt, max_batch=5, **kw)  # type: ignore[arg-type]
        with CpuPool(2) as pool:
            pooled = classifier_margins(prior, scenes, files.prompt, max_batch=5, pool=pool, **kw)  # type: ignore[arg-type]
        assert torch.get_num_threads() == 1  # the workers' setting is their own
        assert all(torch.equal(a, b) for a, b in zip(alone, pooled, strict=True))
        monkeypatch.setattr(run_mod, "cpu_workers", lambda device: 1)
        one = evaluate_run(four_particle_run, CFG, scorers=scorers, write=False)
        monkeypatch.setattr(run_mod, "cpu_workers", lambda device: 2)
        two = evaluate_run(four_particle_run, CFG, scorers=scorers, write=False)
    finally:
        torch.set_num_threads(before)
    assert one == two


def test_a_cpu_pool_refuses_no_workers() -> None:
    from splatdream.cpu_pool import CpuPool

    with pytest.raises(ValueError, match="at least one worker"):
        CpuPool(0)
