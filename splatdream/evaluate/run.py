"""``evaluate_run``: score every particle of a run against its own initialisation, write eval.json and eval.png."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import torch
from torch import Tensor

from splatdream.atomic import atomic_write
from splatdream.colours import target_word
from splatdream.cpu_pool import CpuPool, cpu_workers
from splatdream.evaluate.cleanliness import cleanliness
from splatdream.evaluate.colour import colour_score
from splatdream.evaluate.config import EvalConfig
from splatdream.evaluate.fidelity import attribute_distractors, classifier_margins, distractor_captions
from splatdream.evaluate.patches import mean_colour_shift, patch_residual
from splatdream.evaluate.record import ParticleEval, RunEval
from splatdream.evaluate.report import contact_sheet
from splatdream.evaluate.scorers import Scorers
from splatdream.evaluate.views import eval_cameras
from splatdream.io.ply import read_ply
from splatdream.render.views import Views, render_views
from splatdream.rundir import FinishedRun, RunDir
from splatdream.scene import Cameras, Gaussians

T = TypeVar("T")


def _ring_subset(views: Views, ring: int, n: int) -> Tensor:
    """``n`` evenly spaced views of the main ring (the first ``ring``), composited on white [n, H, W, 3]."""
    idx = torch.linspace(0, ring, min(n, ring) + 1)[:-1].long()
    return views.over(1.0)[idx]


def evaluate_run(
    run_dir: str | Path, cfg: EvalConfig = EvalConfig(), *, scorers: Scorers | None = None, write: bool = True
) -> RunEval:
    """Score ``run_dir`` (see ``splatdream.rundir.RunDir.finished_run`` for what it must hold); writes eval.json and eval.png into it when ``write``.

    Pass one ``Scorers`` to several calls so the prior, CLIP and LPIPS load once.
    Raises a ``RunDirError`` naming what is missing for folders that are not finished runs.
    """
    files = RunDir(Path(run_dir)).finished_run()
    scorers = scorers or Scorers(cfg)
    cams = eval_cameras(cfg.views, cfg.size, cfg.extra_elevations_deg, cfg.radius, cfg.fov_y_deg)
    # Each distinct scene is rendered and scored once: particles that share an init, or a result left
    # equal to its init (a guard that kept the init), reuse its renders and classifier margins. Every
    # measure depends on the scene alone, so the numbers are those of scoring each file on its own.
    keys = [_content_key(p) for p in (*files.inits, *files.particles)]
    unique = list(dict.fromkeys(keys))
    scenes: dict[str, Gaussians] = {}
    for k, path in zip(keys, (*files.inits, *files.particles), strict=True):
        if k not in scenes:
            scenes[k] = read_ply(path)
    # Scenes render side by side, one torch thread each (the rasteriser's small ops lose more to a
    # second thread than it gives; each image is the same bits at any thread count, tested).
    # The classifier is coordinated from its own thread (its UNet calls run on the pool). The pool closes
    # first: on an error its close cancels the queued calls, so the coordinator stops at once.
    with (
        ThreadPoolExecutor(1, thread_name_prefix="eval-classifier") as coordinator,
        CpuPool(cpu_workers(scorers.device)) as pool,
    ):
        return _evaluate(files, cfg, scorers, cams, scenes, keys, unique, pool, coordinator, write)


def _evaluate(
    files: FinishedRun,
    cfg: EvalConfig,
    scorers: Scorers,
    cams: Cameras,
    scenes: dict[str, Gaussians],
    keys: list[str],
    unique: list[str],
    pool: CpuPool,
    coordinator: ThreadPoolExecutor,
    write: bool,
) -> RunEval:
    n = len(files.inits)
    init_keys, result_keys = keys[:n], keys[n:]
    inits = [scenes[k] for k in init_keys]
    results = [scenes[k] for k in result_keys]
    skipped: dict[str, str] = {}

    # The renders start first: the models load (mostly imports, one core) while the workers render.
    pending = pool.map(lambda k: render_views(scenes[k], cams, device=scorers.device), unique)
    prior = scorers.prior(files.prior) if cfg.classifier else None
    clip, alp = scorers.clip(), scorers.alpips()
    for name, model in (("clip", clip), ("alpips", alp)):
        if isinstance(model, str):
            skipped[name] = model
    margin = cfg.floater_margin or max(1, cfg.size // 32)
    distractors: tuple[str, ...] = ()
    attributes: tuple[str, ...] = ()
    objects: tuple[str, ...] = ("",)
    scoring: Future[list[Tensor]] | None = None
    if prior is not None and not isinstance(prior, str):
        distractors = distractor_captions(files.prompt, cfg.distractors)
        attributes = attribute_distractors(files.prompt, cfg.attribute_distractors)
        objects = distractors or ("",)
        kw = dict(contrast=(*objects, *attributes), views=cfg.fidelity_views, seed=cfg.seed, pool=pool)
        # One call for every distinct scene (the captions are embedded once; each scene restarts the
        # probes' generator, so the numbers are those of one call per scene). It runs beside the
        # per-particle measures below: its UNet calls keep the workers busy while this thread measures.
        threads = torch.get_num_threads()
        scoring = coordinator.submit(
            _with_threads,
            threads,
            lambda: classifier_margins(prior, [scenes[k] for k in unique], files.prompt, **kw),  # type: ignore[arg-type]
        )
    renders = dict(zip(unique, pending, strict=True))
    clip_of = (
        {}
        if isinstance(clip, str)
        else {
            k: clip.score(_ring_subset(v, cfg.views, cfg.fidelity_views), files.prompt)
            for k, v in renders.items()
        }
    )
    alpips_of = (
        {} if isinstance(alp, str) else {k: alp.ring(v.over(1.0)[: cfg.views]) for k, v in renders.items()}
    )
    particles: list[ParticleEval] = []
    sheet_rows = []
    for i, (g0, g1) in enumerate(zip(inits, results, strict=True)):
        v0, v1 = renders[init_keys[i]], renders[result_keys[i]]
        p = ParticleEval(
            index=i,
            cleanliness=cleanliness(v0, v1, len(g0), len(g1), margin),
            colour=colour_score(files.prompt, v0, v1),
            patches=patch_residual(v0, v1),
            mean_shift=mean_colour_shift(v0, v1),
        )
        if clip_of:
            p = replace(p, clip_init=clip_of[init_keys[i]], clip=clip_of[result_keys[i]])
        if alpips_of:
            p = replace(p, alpips_init=alpips_of[init_keys[i]], alpips=alpips_of[result_keys[i]])
        particles.append(p)
        sheet_rows.append(
            (_ring_subset(v0, cfg.views, cfg.sheet_views), _ring_subset(v1, cfg.views, cfg.sheet_views))
        )

    if isinstance(prior, str):
        skipped["classifier"] = prior
    elif prior is None:
        skipped["classifier"] = "diffusion-classifier score skipped: turned off (--no-classifier)"
    if scoring is not None:
        by_key = dict(zip(unique, scoring.result(), strict=True))
        m0, m1 = [by_key[k] for k in init_keys], [by_key[k] for k in result_keys]
        particles = [
            _with_classifier(p, a, b, len(objects)) for p, a, b in zip(particles, m0, m1, strict=True)
        ]

    word = target_word(files.prompt)
    if word is None:
        skipped["colour"] = "colour distance skipped: the prompt names no colour or material of the table"
    out = RunEval(
        run_dir=files.run_dir,
        prompt=files.prompt,
        views=cfg.views,
        size=cfg.size,
        particles=tuple(particles),
        colour_word=word.word if word else None,
        distractors=distractors,
        attribute_distractors=attributes,
        skipped=skipped,
    )
    if write:
        write_outputs(out, sheet_rows)
    return out


def _with_threads(threads: int, fn: Callable[[], T]) -> T:
    """``fn()`` on this thread with ``threads`` torch intra-op threads (a new thread starts at the process default)."""
    torch.set_num_threads(threads)
    return fn()


def _content_key(path: Path) -> str:
    """A digest of a scene file's bytes: equal files are the same scene."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _parts(margins: Tensor, n_objects: int) -> tuple[float, float, float | None]:
    """One particle's per-caption margins -> (headline, object part, attribute part or None)."""
    obj = float(margins[:n_objects].mean())
    attr = float(margins[n_objects:].mean()) if len(margins) > n_objects else None
    return (obj if attr is None else (obj + attr) / 2), obj, attr


def _with_classifier(p: ParticleEval, init: Tensor, result: Tensor, n_objects: int) -> ParticleEval:
    """``p`` with the classifier's headline and parts for its init and its result."""
    h0, o0, a0 = _parts(init, n_objects)
    h1, o1, a1 = _parts(result, n_objects)
    return replace(
        p,
        classifier_init=h0,
        classifier=h1,
        classifier_object_init=o0,
        classifier_object=o1,
        classifier_attribute_init=a0,
        classifier_attribute=a1,
    )


def write_outputs(result: RunEval, sheet_rows: list[tuple[Tensor, Tensor]]) -> None:
    """eval.json and eval.png into the run directory, each written atomically."""
    with atomic_write(RunDir(result.run_dir).eval_json) as tmp:
        tmp.write_text(json.dumps(result.to_json(), indent=1) + "\n")
    sheet = contact_sheet(result, sheet_rows)
    with atomic_write(RunDir(result.run_dir).eval_png) as tmp:
        sheet.save(tmp, format="PNG")


def evaluate_particles(
    init: Gaussians, result: Gaussians, cfg: EvalConfig = EvalConfig(), prompt: str = ""
) -> ParticleEval:
    """Cleanliness (and colour, given a prompt) of one result against its init, with no run directory."""
    cams = eval_cameras(cfg.views, cfg.size, cfg.extra_elevations_deg, cfg.radius, cfg.fov_y_deg)
    v0, v1 = render_views(init, cams, device="cpu"), render_views(result, cams, device="cpu")
    margin = cfg.floater_margin or max(1, cfg.size // 32)
    return ParticleEval(
        index=0,
        cleanliness=cleanliness(v0, v1, len(init), len(result), margin),
        colour=colour_score(prompt, v0, v1) if prompt else None,
        patches=patch_residual(v0, v1),
        mean_shift=mean_colour_shift(v0, v1),
    )
