"""The run directory: one ``RunDir`` type names every file a run writes, and checks what a reader needs.

The writer (``pipeline``), resume, ``splatdream eval``, batches, the viewer and the tests all spell a
run's files through ``RunDir``, so a rename happens here once. The layout::

    RUN_DIR/config.yaml                 the RunConfig (written first; its presence makes a run resumable)
    RUN_DIR/retrieved.json|png          the retrieved assets and their contact sheet
    RUN_DIR/init_particle_<i>.ply|png   particle i as it started (ReDream's regulariser references)
    RUN_DIR/adapter/                    the LoRA adapter of the prior
    RUN_DIR/metrics.jsonl               one JSON record per logged distillation step
    RUN_DIR/checkpoint.pt               the latest distillation checkpoint
    RUN_DIR/particle_<i>.ply            particle i after distillation (also .splat, .spz, ... with --output.formats)
    RUN_DIR/turntable_<i>.mp4           its orbit video
    RUN_DIR/snapshot_particle_<i>.ply   the viewer's "export now" during a run
    RUN_DIR/eval.json|png               ``splatdream eval``'s scores and picture
    RUN_DIR/.splatdream.lock            held while a run writes (left in place)

A run is the folder's own: never someone else's files, never two runs at once. A new run takes an
empty or new folder (``--out`` naming a file, a folder that already holds files, or a path that
cannot be written is refused before any work); the lock file keeps a second run, or a ``--resume``
of a run still going, out. Default folder names come from the prompt through ``slugify``, which
keeps only ``[a-z0-9-]`` so no prompt can leave ``outputs/``.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from splatdream.errors import RunDirError, one_line
from splatdream.lockfile import FileLock, LockHeld

if TYPE_CHECKING:
    from splatdream.priors.config import PriorConfig

LOCK = ".splatdream.lock"
"""Lock file in every run directory (left in place: the kernel releases the lock, not its deletion)."""
CONFIG = "config.yaml"
METRICS = "metrics.jsonl"
CHECKPOINT = "checkpoint.pt"
ADAPTER = "adapter"
RETRIEVED_JSON = "retrieved.json"
RETRIEVED_PNG = "retrieved.png"
EVAL_JSON = "eval.json"
EVAL_PNG = "eval.png"
PARTICLE_RE = re.compile(r"^particle_(\d+)\.ply$")
INIT_RE = re.compile(r"^init_particle_(\d+)\.ply$")
SNAPSHOT_RE = re.compile(r"^snapshot_particle_(\d+)\.ply$")


class NotARunError(RunDirError):
    """No config.yaml with a prompt: not a directory a run wrote."""


class NoParticlesError(RunDirError):
    """The run has not exported any particle_<i>.ply yet."""


class MissingInitError(RunDirError):
    """A particle's initialisation (init_particle_<i>.ply) is missing."""


@dataclass(frozen=True)
class FinishedRun:
    """What a finished run holds for a reader that scores it (``splatdream eval``)."""

    run_dir: Path
    prompt: str
    prior: PriorConfig
    particles: tuple[Path, ...]
    inits: tuple[Path, ...]


@dataclass(frozen=True)
class RunDir:
    """The files of one run directory, by name; ``RunDir(path).particle(0)`` is ``path/particle_0.ply``."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    # -- the files ---------------------------------------------------------------------------------
    @property
    def config(self) -> Path:
        return self.path / CONFIG

    @property
    def metrics(self) -> Path:
        return self.path / METRICS

    @property
    def checkpoint(self) -> Path:
        return self.path / CHECKPOINT

    @property
    def adapter(self) -> Path:
        return self.path / ADAPTER

    @property
    def retrieved_json(self) -> Path:
        return self.path / RETRIEVED_JSON

    @property
    def retrieved_png(self) -> Path:
        return self.path / RETRIEVED_PNG

    @property
    def eval_json(self) -> Path:
        return self.path / EVAL_JSON

    @property
    def eval_png(self) -> Path:
        return self.path / EVAL_PNG

    @property
    def lock(self) -> Path:
        return self.path / LOCK

    def particle(self, i: int, suffix: str = ".ply") -> Path:
        """Particle ``i`` after distillation (``suffix`` ``.splat``, ``.spz``... for the other formats)."""
        return self.path / f"particle_{i}{suffix}"

    def init_particle(self, i: int) -> Path:
        return self.path / f"init_particle_{i}.ply"

    def init_sheet(self, i: int) -> Path:
        """Contact sheet of particle ``i``'s initialisation."""
        return self.path / f"init_particle_{i}.png"

    def snapshot(self, i: int) -> Path:
        """Particle ``i`` as the viewer's "export now" wrote it during the run."""
        return self.path / f"snapshot_particle_{i}.ply"

    def turntable(self, i: int) -> Path:
        return self.path / f"turntable_{i}.mp4"

    # -- what is there -----------------------------------------------------------------------------
    def _numbered(self, pattern: re.Pattern[str]) -> list[tuple[int, Path]]:
        found = [(int(m.group(1)), p) for p in self.path.iterdir() if (m := pattern.match(p.name))]
        return sorted(found)

    def particles(self) -> list[Path]:
        """The exported particles, in numeric (not lexical) order."""
        return [p for _, p in self._numbered(PARTICLE_RE)]

    def init_particles(self) -> list[Path]:
        return [p for _, p in self._numbered(INIT_RE)]

    def snapshots(self) -> list[Path]:
        return [p for _, p in self._numbered(SNAPSHOT_RE)]

    def finished(self) -> bool:
        """True when the run exported its particles (``particle_0.ply`` exists)."""
        return self.particle(0).is_file()

    def has_inits(self, n: int) -> bool:
        """All ``n`` initial particles are written (a resume can skip retrieval, init and alignment)."""
        return all(self.init_particle(i).exists() for i in range(n))

    # -- a reader's checks -------------------------------------------------------------------------
    def read_config(self) -> dict[str, Any]:
        """config.yaml as a dict with a prompt; raises ``NotARunError`` naming the fix otherwise."""
        import yaml

        if not self.path.is_dir():
            raise NotARunError(
                f"{self.path} is not a directory; pass the folder a run wrote (splatdream --out DIR)"
            )
        if not self.config.is_file():
            raise NotARunError(
                f"{self.path} is not a run directory: it has no {CONFIG}; pass the folder a run "
                "wrote (splatdream --out DIR)"
            )
        try:
            data = yaml.safe_load(self.config.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise NotARunError(f"{self.config} cannot be read as YAML ({exc})") from exc
        if not isinstance(data, dict) or not str(data.get("prompt") or "").strip():
            raise NotARunError(
                f"{self.config} has no 'prompt'; it is not a run's config "
                "(written by splatdream --prompt ...)"
            )
        return data

    def prior_config(self, data: dict[str, Any]) -> PriorConfig:
        """The prior section of config.yaml ``data``, reading runs written before a prior setting moved."""
        from splatdream.configio import from_dict
        from splatdream.priors.config import PriorConfig

        # Only the fields PriorConfig still has: prior.device and prior.guidance_scale moved out of it.
        known = {f.name for f in fields(PriorConfig)}
        section = {k: v for k, v in dict(data.get("prior") or {}).items() if k in known}
        try:
            return from_dict(PriorConfig, section, where=f"{self.config}: prior")
        except (TypeError, ValueError) as exc:
            raise NotARunError(f"{self.config}: the 'prior' section is not a prior config ({exc})") from exc

    def finished_run(self) -> FinishedRun:
        """Check this holds a finished run and list its files; raises a ``RunDirError`` subclass otherwise."""
        data = self.read_config()
        ids = [i for i, _ in self._numbered(PARTICLE_RE)]
        if not ids:
            raise NoParticlesError(
                f"{self.path} has no particles (particle_<i>.ply): the run has not finished; resume it with "
                f"splatdream --resume {self.path}"
            )
        missing = [self.init_particle(i).name for i in ids if not self.init_particle(i).is_file()]
        if missing:
            raise MissingInitError(
                f"{self.path} lacks the initialisation of its particles: {', '.join(missing)} missing (the pipeline "
                "writes init_particle_<i>.ply before distilling; eval compares each particle with it)"
            )
        return FinishedRun(
            run_dir=self.path,
            prompt=str(data["prompt"]).strip(),
            prior=self.prior_config(data),
            particles=tuple(self.particle(i) for i in ids),
            inits=tuple(self.init_particle(i) for i in ids),
        )


def slugify(prompt: str, limit: int = 40) -> str:
    """A folder-name fragment from a prompt: lower-case ASCII letters, digits and '-', at most ``limit`` long.

    Path separators, '..', shell metacharacters, emoji and non-Latin scripts all become '-' or vanish;
    a prompt with nothing left gives 'run'.
    """
    slug = re.sub(r"[^a-z0-9]+", "-", prompt.lower()).strip("-")
    return slug[:limit].rstrip("-") or "run"


def unused(path: Path) -> Path:
    """``path``, or ``path-2``, ``path-3``, ... when it exists (two runs started in the same second)."""
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate


@contextlib.contextmanager
def claim_run_dir(run_dir: Path, *, resuming: bool) -> Iterator[Path]:
    """Hold ``run_dir`` for one run (or resume) while the body runs; raises ``RunDirError`` with the fix."""
    run_dir = Path(run_dir)
    flag = "--resume" if resuming else "--out"
    if run_dir.exists() and not run_dir.is_dir():
        raise RunDirError(f"{flag} {run_dir} is a file, not a folder; pass a folder for the run's outputs")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(RunDir(run_dir).lock)
        lock.acquire()
    except LockHeld as exc:
        raise RunDirError(
            f"another splatdream run ({exc.holder}) is writing to {run_dir}; wait for it to finish, "
            f"or pass a different --out"
        ) from None
    except OSError as exc:
        raise RunDirError(
            f"cannot write to output directory {run_dir} ({one_line(exc)}); pass --out DIR"
        ) from None
    try:
        if not resuming:
            theirs = sorted(p.name for p in run_dir.iterdir() if p.name != LOCK)
            if theirs:
                shown = ", ".join(theirs[:3]) + (f" and {len(theirs) - 3} more" if len(theirs) > 3 else "")
                fix = f"pass --resume {run_dir} to continue that run, or " if CONFIG in theirs else ""
                raise RunDirError(
                    f"--out {run_dir} already holds files ({shown}); a run never overwrites them: "
                    f"{fix}pass a new or empty folder"
                )
        yield run_dir
    finally:
        lock.release()


def interrupted(run_dir: Path, *, resuming: bool) -> KeyboardInterrupt:
    """The Ctrl-C to raise for an interrupt before distillation, having left ``run_dir`` reusable.

    Once config.yaml is written the run can be resumed (every stage before distillation reruns when
    its outputs are missing). Before that nothing is worth keeping: what the run wrote is removed
    (``claim_run_dir`` made sure the folder held nothing else), the lock file stays (see ``LOCK``),
    and the same ``--out`` is taken again as an empty folder.
    """
    if resuming or RunDir(run_dir).config.exists():
        return KeyboardInterrupt(
            f"interrupted before distillation; continue with splatdream --resume {run_dir}"
        )
    for path in run_dir.iterdir():
        if path.name == LOCK:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return KeyboardInterrupt(
        f"interrupted before the run started; nothing was kept in {run_dir}: run the same command again"
    )


RESUME_MAY_CHANGE = ("resume", "device", "viewer")
"""Settings a ``--resume`` may give anew; every other one is the run's own (its config.yaml)."""


def check_resume_overrides(argv: list[str], given: object, saved: object, run_dir: Path) -> None:
    """Refuse command-line settings that differ from the run being resumed (they would be ignored).

    ``given`` is the config the command line parsed to, ``saved`` the run's config.yaml; options on
    ``argv`` (and every setting, when ``--preset``/``--config`` is given) are compared.
    """
    mine, theirs = _flatten(given), _flatten(saved)
    names = set()
    for arg in argv:
        if not arg.startswith("--") or arg in ("--no-viewer", "--debug"):
            continue
        name = arg[2:].split("=", 1)[0].replace("-", "_")
        if name in ("preset", "config"):
            names |= set(mine)
            continue
        head, _, last = name.rpartition(".")
        if name not in mine and last.startswith("no_"):  # tyro's --adapt.no-enabled
            name = f"{head}.{last[3:]}" if head else last[3:]
        names |= {k for k in mine if k == name or k.startswith(name + ".")}
    changed = sorted(
        k
        for k in names
        if not k.startswith(RESUME_MAY_CHANGE) and k != "out" and mine.get(k) != theirs.get(k)
    )
    if changed:
        shown = "; ".join(f"{k} {mine.get(k)!r} (the run has {theirs.get(k)!r})" for k in changed[:3])
        more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
        raise RunDirError(
            f"{run_dir} was made with other settings: {shown}{more}. --resume continues a run with its own "
            f"{RunDir(run_dir).config}: drop those options, or start a new run with --out"
        )


def _flatten(cfg: object, prefix: str = "") -> dict[str, object]:
    from dataclasses import is_dataclass

    out: dict[str, object] = {}
    for f in fields(cfg):  # type: ignore[arg-type]
        value = getattr(cfg, f.name)
        key = prefix + f.name
        if is_dataclass(value) and not isinstance(value, type):
            out.update(_flatten(value, key + "."))
        else:
            out[key] = value
    return out
