"""``splatdream --prompt ...``: retrieve -> init -> align -> adapt -> distil -> export, with resume.

Every check that can fail without doing work (empty prompt, unknown preset, unwritable output,
missing prior weights, k larger than the library) runs before the first stage starts. The stages
are imported where they run, so ``splatdream --help`` (this module's ``main``) never loads torch.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from splatdream.atomic import atomic_write
from splatdream.config import RunConfig, load_run_config, parse_run_config
from splatdream.configio import dump_yaml
from splatdream.distill.config import DistillConfig
from splatdream.errors import UserError
from splatdream.rundir import RunDir, check_resume_overrides, claim_run_dir, interrupted, slugify, unused

if TYPE_CHECKING:  # the stages' types, for the reader and mypy; importing them would load torch for --help
    import trimesh
    from rich.console import Console

    from splatdream.adaptation.scoring import ImageTextScorer
    from splatdream.distill.loop import StepObserver
    from splatdream.distill.trainer import StepResult, Trainer
    from splatdream.priors.base import Prior
    from splatdream.retrieval.library import RetrievedAsset
    from splatdream.scene import Gaussians

log = logging.getLogger("splatdream")
T = TypeVar("T")


def default_run_dir(prompt: str) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return unused(Path("outputs") / f"{slugify(prompt)}-{stamp}")


class Pipeline:
    """The stages of one run, in order; each writes what it produced into ``run_dir``."""

    def __init__(self, cfg: RunConfig, run_dir: Path, console: Console) -> None:
        self.cfg = cfg
        self.run_dir = run_dir
        from splatdream.device import resolve_device

        self.files = RunDir(run_dir)
        self.console = console
        self.device = resolve_device(cfg.device)
        self.started = time.perf_counter()
        self.seconds: dict[str, float] = {}

    def say(self, text: str) -> None:
        self.console.print(text)

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the body as stage ``name`` (summed when it runs more than once); ``times`` prints them."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0

    def times(self) -> str:
        """'retrieve 1.2 s, init 8.0 s, ...': each stage's wall time and the total, for the end of a run."""
        parts = [f"{name} {secs:.1f} s" for name, secs in self.seconds.items()]
        return ", ".join(parts) + f"; total {time.perf_counter() - self.started:.1f} s"

    # -- stages ------------------------------------------------------------------------------------
    def load_prior(self) -> Prior:
        from splatdream.priors.loader import load_prior

        prior = load_prior(self.cfg.prior, self.device)
        self.say(f"[bold]prior[/]: {prior.name}")
        return prior

    def retrieve(self) -> tuple[list[RetrievedAsset], list[trimesh.Trimesh]]:
        """Top-k assets and their normalised meshes; writes retrieved.png and retrieved.json."""
        from splatdream.models.embedders import load_embedder
        from splatdream.retrieval.library import AssetLibrary, weak_match_warning
        from splatdream.retrieval.thumbnails import contact_sheet

        rc = self.cfg.retrieval
        lib = AssetLibrary.open(rc.library)
        embedder = load_embedder(rc.embedder, rc.clip)
        hits = lib.search(
            self.cfg.prompt,
            rc.k,
            embedder=embedder,
            n_candidates=rc.n_candidates,
            attribute_weight=rc.attribute_weight,
            weak_below=rc.weak_below,
        )
        for h in hits:
            self.say(
                f"  retrieved #{h.rank}: {h.caption} (score {h.score:.3f}, {h.source}{', weak' if h.weak else ''})"
            )
        if warning := weak_match_warning(self.cfg.prompt, hits, lib.root):
            log.warning(warning)
            self.say(
                "  init uses only the good assets"
                if len(hits) > sum(h.weak for h in hits)
                else "  no good asset: particles start from the closest ones (--init.method random starts from noise)"
            )
        thumbs = lib.thumbnails([h.id for h in hits])
        sheet = contact_sheet([(self.cfg.prompt, [(thumbs.get(h.id), h.caption) for h in hits])])
        with atomic_write(self.files.retrieved_png) as tmp:
            sheet.save(tmp)
        with atomic_write(self.files.retrieved_json) as tmp:
            tmp.write_text(json.dumps([h.to_json() for h in hits], indent=2))
        hits = drop_weak(hits, [h.weak for h in hits])
        return hits, [lib.load_mesh(h) for h in hits]

    def init(
        self, prior: Prior, hits: list[RetrievedAsset], meshes: list[trimesh.Trimesh]
    ) -> list[Gaussians]:
        """Particles: particle i from retrieved asset i mod k, each front-aligned first."""
        from splatdream.init.particles import initialise

        init = self.cfg.init
        known = self.cfg.adapt.alignment.known_front_sources
        for hit in hits:
            if self.cfg.adapt.align and hit.source in known:
                self.say(f"  '{hit.caption}': front kept ({hit.source} assets face +Z)")
        if init.method == "retrieved" and self.cfg.adapt.align and any(h.source not in known for h in hits):
            from splatdream.adaptation.scoring import choose_align_scorer

            scorer, how = choose_align_scorer(
                self.cfg.adapt.alignment.scorer, self.cfg.retrieval.clip, str(self.device)
            )
            self.say(f"  alignment scorer: {how}")
            meshes = [
                mesh if hit.source in known else self.align(prior, hit, mesh, scorer)
                for hit, mesh in zip(hits, meshes, strict=True)
            ]
        return initialise(init, self.cfg.num_particles, meshes, names=[h.caption for h in hits] or None)

    def align(
        self,
        prior: Prior,
        hit: RetrievedAsset,
        mesh: trimesh.Trimesh,
        scorer: ImageTextScorer | None = None,
    ) -> trimesh.Trimesh:
        """Turn ``mesh`` so its front faces azimuth 0, judged on a light Gaussian version of it."""
        from splatdream.adaptation.align import align_front
        from splatdream.adaptation.rotate import rotate_mesh_yaw
        from splatdream.init.from_mesh import mesh_to_gaussians

        # render on the run's device: 240 views at 512 px on the CPU rasteriser would dominate a GPU run
        probe = mesh_to_gaussians(mesh, 4000, seed=self.cfg.init.seed, name=hit.caption).to(self.device)
        _, yaw, _ = align_front(
            prior, probe, hit.caption, self.cfg.adapt.alignment, scorer=scorer, view_cfg=prior.view_prompts
        )
        self.say(f"  aligned '{hit.caption}': front found at azimuth {yaw:.0f} deg")
        return rotate_mesh_yaw(mesh, -yaw)

    def adapt(self, prior: Prior, assets: list[Gaussians], captions: list[str]) -> None:
        """LoRA-adapt the prior on renders of the retrieved assets (one Gaussians each), then fuse it."""
        from splatdream.adaptation.lora import apply_adapter
        from splatdream.adaptation.train import adapt_prior

        if not self.cfg.adapt.enabled or not assets:
            return
        assets = [a.to(self.device) for a in assets]
        result = adapt_prior(
            prior, assets, self.cfg.prompt, self.cfg.adapt, self.files.adapter, asset_captions=captions
        )
        assert result.adapter_dir is not None  # adaptation is enabled
        apply_adapter(prior, result.adapter_dir, fuse=True)
        self.say(f"  adapter saved to {result.adapter_dir}")

    def guard(self, trainer: Trainer, inits: list[Gaussians]) -> list[Gaussians]:
        """The particles to write: as distilled, or walked back toward their inits where the guard says so.

        What it did goes to the console and, as one ``guard`` record, to metrics.jsonl.
        """
        particles = trainer.particles()
        gc = trainer.cfg.guard
        if not gc.enabled or self.cfg.init.method != "retrieved":
            return particles  # a random ball or a given .ply is no asset whose colours must be kept
        from splatdream.guard import guard_particles

        particles, records = guard_particles(
            [g.to(p.means.device) for g, p in zip(inits, particles, strict=True)],
            particles,
            self.cfg.prompt,
            gc,
        )
        for r in records:
            state = f"{r.kept} ({r.reason})" if r.acted else (r.reason or "within bounds")
            self.say(f"  guard: particle {r.particle} {state}")
        with self.files.metrics.open("a") as f:
            f.write(
                json.dumps({"step": trainer.step_count, "guard": [r.as_record() for r in records]}) + "\n"
            )
        return particles

    def export(self, trainer: Trainer, particles: list[Gaussians] | None = None) -> None:
        from splatdream.export.convert import export_formats
        from splatdream.export.turntable import render_turntable, write_video
        from splatdream.io.ply import write_ply

        oc = self.cfg.output
        for i, g in enumerate(particles if particles is not None else trainer.particles()):
            if not g.is_finite():
                raise RuntimeError(
                    f"particle {i} has non-finite parameters; not writing it (see metrics.jsonl)"
                )
            write_ply(self.files.particle(i), g)
            export_formats(g, oc.formats, self.files.particle(i))
            if oc.turntable_frames > 0:
                frames = render_turntable(
                    g,
                    oc.turntable_frames,
                    oc.turntable_size,
                    backend=self.cfg.distill.backend,
                    progress=False,
                )
                write_video(self.files.turntable(i), frames, fps=oc.turntable_fps)
        self.say(f"[bold green]done[/]: {self.run_dir}")


def adaptation_assets(particles: list[Gaussians], captions: list[str]) -> tuple[list[Gaussians], list[str]]:
    """One (Gaussians, caption) per retrieved asset that became a particle: particle i is asset i mod k,
    so with fewer particles than assets only the first ``len(particles)`` assets are in the run."""
    n = min(len(particles), len(captions))
    return particles[:n], captions[:n]


def save_init(run_dir: Path, particles: list[Gaussians]) -> None:
    """The particles as they start: also the retrieved-asset references of ReDream's regulariser."""
    from splatdream.init.particles import contact_sheet
    from splatdream.io.ply import write_ply

    files = RunDir(run_dir)
    for i, p in enumerate(particles):
        write_ply(files.init_particle(i), p)
        contact_sheet(p, files.init_sheet(i))


def regulariser_references(
    cfg: RunConfig, init: list[Gaussians]
) -> tuple[DistillConfig, list[Gaussians] | None]:
    """The distillation config and ReDream's regulariser references: the retrieved assets, or none.

    The regulariser pulls toward the retrieved assets' renders; a random or .ply start has no retrieved
    asset, and regularising toward the initial particles would pull back toward random blobs or the file.
    """
    if cfg.init.method == "retrieved" or cfg.distill.retrieval_reg_every <= 0:
        return cfg.distill, init if cfg.init.method == "retrieved" else None
    log.warning(
        "retrieval regulariser off (distill.retrieval_reg_every=%d ignored, the prompt is the target): "
        "--init.method %s starts from no retrieved asset to regularise toward",
        cfg.distill.retrieval_reg_every,
        cfg.init.method,
    )
    return replace(cfg.distill, retrieval_reg_every=0, target_text="prompt"), None


def drop_weak(hits: Sequence[T], weak: Sequence[bool]) -> list[T]:
    """``hits`` without the weak ones (``weak[i]`` flags ``hits[i]``), or all of them when every one is weak.

    Weak hits are dropped when good ones remain. When every hit is weak the closest are kept: the flag
    also fires on synonyms the captions never use ("settee", "lorry"), and distillation keeps the initial
    geometry, so a random ball would stay a ball. The retrieval stage and every reader of retrieved.json
    (resume, the regulariser's captions) keep the same hits through this one rule.
    """
    return [h for h, w in zip(hits, weak, strict=True) if not w] or list(hits)


def kept_captions(retrieved_json: Path) -> list[str]:
    """The captions of the hits the run kept (see ``drop_weak``), in rank order, from retrieved.json."""
    recorded = json.loads(retrieved_json.read_text())
    return drop_weak([h["caption"] for h in recorded], [bool(h.get("weak")) for h in recorded])


def particle_captions(run_dir: Path, n: int) -> list[str] | None:
    """Each particle's retrieved-asset caption (particle i is asset i mod k of the kept hits), from retrieved.json;
    None when the run retrieved nothing."""
    path = RunDir(run_dir).retrieved_json
    if not path.exists():
        return None
    captions = kept_captions(path)
    return [captions[i % len(captions)] for i in range(n)] if captions else None


def load_init(run_dir: Path, n: int) -> list[Gaussians]:
    from splatdream.io.ply import read_ply

    return [read_ply(RunDir(run_dir).init_particle(i)).with_sh_degree(0) for i in range(n)]


def run(cfg: RunConfig, console: Console) -> Path:
    """Run (or resume) the whole pipeline; returns the run directory."""
    from splatdream.distill.loop import Interrupted

    run_dir = Path(cfg.resume) if cfg.resume is not None else Path(cfg.out or default_run_dir(cfg.prompt))
    resuming = cfg.resume is not None
    with claim_run_dir(run_dir, resuming=resuming):
        try:
            return _run(cfg, run_dir, console)
        except Interrupted:  # during distillation: the checkpoint is written and the message says so
            raise
        except KeyboardInterrupt:
            raise interrupted(run_dir, resuming=resuming) from None


def _run(cfg: RunConfig, run_dir: Path, console: Console) -> Path:
    from splatdream.distill.checkpoint import load_checkpoint
    from splatdream.distill.trainer import Trainer

    resuming = cfg.resume is not None
    pipe = Pipeline(cfg, run_dir, console)
    files = pipe.files
    with pipe.stage("load prior"):
        prior = pipe.load_prior()
    if not resuming:
        with atomic_write(files.config) as tmp:
            tmp.write_text(dump_yaml(cfg))
    if resuming and files.has_inits(cfg.num_particles):
        particles = load_init(run_dir, cfg.num_particles)
        if cfg.adapt.enabled and cfg.init.method == "retrieved":
            from splatdream.adaptation.lora import adapter_complete, apply_adapter

            if not adapter_complete(files.adapter):  # a crash or a full disk mid-save: none, or partial
                pipe.say("  adapter missing or incomplete in the run; adapting again")
                captions = kept_captions(files.retrieved_json)
                pipe.adapt(prior, *adaptation_assets(particles, captions))
            else:
                apply_adapter(prior, files.adapter, fuse=True)
    else:
        pipe.say(f"[bold]retrieve[/]: '{cfg.prompt}'")
        with pipe.stage("retrieve"):
            hits, meshes = pipe.retrieve() if cfg.init.method == "retrieved" else ([], [])
        pipe.say("[bold]init[/]")
        with pipe.stage("align and init"):
            particles = pipe.init(prior, hits, meshes)
            save_init(run_dir, particles)
        if cfg.init.method == "retrieved":
            pipe.say("[bold]adapt[/]")
            with pipe.stage("adapt"):
                pipe.adapt(prior, *adaptation_assets(particles, [h.caption for h in hits]))
    refs = [p.clone() for p in particles]
    distill_cfg, references = regulariser_references(cfg, refs)
    ref_captions = particle_captions(run_dir, cfg.num_particles) if references is not None else None
    trainer = Trainer(
        distill_cfg,
        prior,
        cfg.prompt,
        particles,
        references=references,
        device=pipe.device,
        reference_captions=ref_captions,
    )
    if resuming and files.checkpoint.exists():
        load_checkpoint(trainer, files.checkpoint)
        pipe.say(f"resumed at step {trainer.step_count}")
    with pipe.stage("distil"):
        distil(pipe, trainer, refs)
    with pipe.stage("guard"):
        final = pipe.guard(trainer, refs)
    with pipe.stage("export"):
        pipe.export(trainer, final)
    pipe.say(f"[bold]times[/]: {pipe.times()}")
    return run_dir


def distil(pipe: Pipeline, trainer: Trainer, refs: list[Gaussians]) -> None:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from splatdream.distill.loop import train

    cfg = pipe.cfg
    why = trainer.unchanged_by_prompt if trainer.step_count == 0 else None
    if why is not None:
        pipe.say(
            f"  distil: skipped, {why}: every step's score would be exactly zero, so the particles are "
            "their inits (the score only moves what the prompt asks beyond the captions)"
        )
        with pipe.files.metrics.open("a") as f:
            f.write(json.dumps({"step": 0, "distil_skipped": why}) + "\n")
        return
    observers: list[StepObserver] = []
    viewer = None
    if cfg.viewer.enabled:
        from viewer import LiveViewer

        viewer = LiveViewer(cfg.viewer, trainer.num_particles, run_dir=pipe.run_dir)
        viewer.set_initial(refs)
        viewer.set_export_callback(lambda: export_now(pipe.run_dir, trainer))

        def to_viewer(tr: Trainer, result: StepResult) -> None:
            viewer.update(tr.step_count, cfg.distill.steps, "distil", tr.particles(), result.as_record())
            viewer.wait_if_paused()

        observers.append(to_viewer)
    if not pipe.console.is_terminal:  # output to a log: rich draws no bar there, so print lines instead
        observers.append(line_progress(pipe, cfg.distill.steps))
    columns = [
        TextColumn("[bold]distil ({task.fields[loss_kind]})"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}"),
        TextColumn("{task.fields[n]} gaussians"),
        TaskProgressColumn(show_speed=True),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    try:
        with Progress(*columns, console=pipe.console, transient=False) as progress:
            task = progress.add_task(
                "distil",
                total=cfg.distill.steps,
                completed=trainer.step_count,
                loss="-",
                n=0,
                loss_kind=cfg.distill.loss,
            )
            train(trainer, pipe.run_dir, observers=observers, progress=progress, task=task)
    finally:
        if viewer is not None:
            viewer.close()


def line_progress(pipe: Pipeline, total: int, lines: int = 20) -> StepObserver:
    """An observer printing one plain line per 1/``lines`` of the distillation."""
    every, start = max(1, total // lines), time.perf_counter()

    def report(trainer: Trainer, result: StepResult) -> None:
        if trainer.step_count % every == 0 or trainer.step_count == total:
            pipe.say(
                f"distil {trainer.step_count}/{total}: loss {result.loss:.3g}, "
                f"{sum(result.num_gaussians)} gaussians, {time.perf_counter() - start:.0f} s"
            )

    return report


def export_now(run_dir: Path, trainer: Trainer) -> None:
    from splatdream.io.ply import write_ply

    for i, g in enumerate(trainer.particles()):
        if g.is_finite():
            write_ply(RunDir(run_dir).snapshot(i), g)


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console

    console = Console(stderr=False)
    argv = list(sys.argv[1:] if argv is None else argv)
    cfg = parse_run_config(argv)
    if cfg.resume is not None:
        saved = RunDir(Path(cfg.resume)).config
        if not saved.exists():
            raise SystemExit(
                f"error: {cfg.resume} is not a run directory (no config.yaml); pass the folder a run wrote"
            )
        saved_cfg = load_run_config(saved, resume=Path(cfg.resume))
        check_resume_overrides(argv, cfg, saved_cfg, Path(cfg.resume))
        device = cfg.device if any(a.startswith("--device") for a in argv) else saved_cfg.device
        cfg = replace(saved_cfg, resume=cfg.resume, viewer=cfg.viewer, device=device)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        run(cfg, console)
    except (
        FileNotFoundError,
        UserError,
    ) as exc:  # missing weights, library, .ply or GPU: the message names the fix
        raise SystemExit(f"error: {exc}") from exc
    return 0
