"""The run configuration: one frozen dataclass per stage, composed; presets by name.

``splatdream [--preset NAME | --config FILE.yaml] [--field.path VALUE ...]``: a preset (or a
YAML file such as those in ``configs/``) gives the defaults and the command line overrides them.
With neither, ``redream-sd21`` is chosen when a CUDA GPU and the Stable Diffusion weights are
present, else ``cpu-tiny``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import tyro

from splatdream.adaptation.config import TINY_PRIOR_ADAPT, AdaptConfig
from splatdream.configio import load_yaml
from splatdream.distill.config import ColourFieldConfig, DensifyConfig, DistillConfig, LearningRates
from splatdream.distill.schedule import ExpDecay, Steps
from splatdream.distill.score_net import ScoreNetConfig
from splatdream.export.convert import ExportFormat
from splatdream.init.config import InitConfig
from splatdream.priors.config import PriorConfig
from splatdream.retrieval.config import RetrievalConfig
from splatdream.scene import OrbitRanges
from viewer.config import ViewerConfig


@dataclass(frozen=True)
class OutputConfig:
    """What the run writes at the end besides the .ply particles."""

    turntable_frames: int = 48
    """Frames of each particle's turntable video; 0 skips the videos."""
    turntable_size: int = 192
    """Turntable video side in pixels."""
    turntable_fps: int = 24
    """Turntable frame rate."""
    formats: tuple[ExportFormat, ...] = ()
    """Also write each particle as: splat, ply-compressed, spz, glb (see splatdream export)."""


@dataclass(frozen=True)
class RunConfig:
    """Text -> Gaussian splats with retrieval-augmented score distillation (ReDream)."""

    prompt: str = "a wooden rocking chair"
    """What to generate."""
    num_particles: int = 4
    """Particles of the variational distribution (each one a 3D asset; ProlificDreamer: 4)."""
    out: Path | None = None
    """Run directory; default outputs/<prompt-slug>-<time>."""
    resume: Path | None = None
    """Continue the run in this directory from its last checkpoint (its config.yaml is used)."""
    device: str = "auto"
    """Where to run: 'auto' (CUDA when present), 'cpu', 'cuda', 'cuda:1', ..."""
    retrieval: RetrievalConfig = RetrievalConfig()
    """Step 1: which assets to start from."""
    init: InitConfig = InitConfig()
    """Step 2: retrieved meshes -> Gaussian particles."""
    prior: PriorConfig = PriorConfig()
    """The 2D diffusion prior."""
    adapt: AdaptConfig = AdaptConfig()
    """Step 3: front alignment and LoRA adaptation of the prior."""
    distill: DistillConfig = DistillConfig()
    """Step 4: variational score distillation."""
    viewer: ViewerConfig = ViewerConfig()
    """Live browser viewer."""
    output: OutputConfig = OutputConfig()
    """Exports."""


CPU_TINY_STEPS = 120

PRESETS: dict[str, tuple[str, RunConfig]] = {
    "cpu-tiny": (
        "TinyPrior on CPU: 32px renders, 4 particles, retrieved geometry kept and recoloured, ~3 minutes on 2 cores",
        RunConfig(
            prior=PriorConfig(kind="tiny"),
            init=InitConfig(gaussians_per_particle=6000),
            adapt=TINY_PRIOR_ADAPT,
            # Issue 13: free per-Gaussian colours, moving geometry and densification turned clean retrieved
            # assets into speckle, holes and floaters (speckle x1.3-3, count x3). The 32 px TinyPrior cannot
            # see one Gaussian, so the distillation keeps the retrieved geometry and recolours it through a
            # smooth field (an affine colour transform per particle + a 6^3 offset grid), at the prior's own
            # resolution, with ReDream's retrieval regulariser every 3rd step and CFG 5.
            distill=DistillConfig(
                loss="vsd",
                steps=CPU_TINY_STEPS,
                guidance_scale=5.0,
                t_max=Steps((0.6,)),
                resolution=Steps((32.0,)),
                lr=LearningRates(means=ExpDecay(0.0, 0.0, CPU_TINY_STEPS), scales=0.0, quats=0.0, opacities=0.0,
                                 sh0=0.0, shN=0.0),
                colour=ColourFieldConfig(enabled=True, grid_size=6, lr_affine=1e-2, lr_grid=1e-2),
                densify=DensifyConfig(enabled=False),
                score_net=ScoreNetConfig(rank=4, lr=1e-3),
                retrieval_reg_every=3,
                checkpoint_every=40,
            ),
        ),
    ),
    "redream-sd21": (
        "The paper's setting on a GPU: SD 2.1 base, VSD, 3 retrieved assets, 64px warm-up then 512px, CFG 7.5",
        RunConfig(
            prior=PriorConfig(kind="sd"),
            init=InitConfig(gaussians_per_particle=50_000),
            adapt=AdaptConfig(steps=500, resolution=512),
            distill=DistillConfig(
                loss="vsd",
                steps=20_000,
                guidance_scale=7.5,
                t_max=Steps((0.98, 0.5), (5000,)),
                resolution=Steps((64.0, 512.0), (5000,)),
                cameras=OrbitRanges(elevation_deg=(-10.0, 45.0), radius=(2.5, 3.2), fov_y_deg=(40.0, 70.0)),
                lr=LearningRates(means=ExpDecay(1e-3, 1e-5, 20_000)),
                densify=DensifyConfig(refine_start=500, refine_every=300, refine_stop=15_000, max_gaussians=300_000),
                score_net=ScoreNetConfig(rank=16, lr=1e-4),
                retrieval_reg_every=3,
                checkpoint_every=500,
            ),
            output=OutputConfig(turntable_frames=120, turntable_size=512, turntable_fps=30),
        ),
    ),
}


def auto_preset() -> str:
    """redream-sd21 when a CUDA GPU and local Stable Diffusion weights exist, else cpu-tiny."""
    import torch

    if not torch.cuda.is_available():
        return "cpu-tiny"
    from huggingface_hub import try_to_load_from_cache

    repo = PRESETS["redream-sd21"][1].prior.path or "stabilityai/stable-diffusion-2-1-base"
    if Path(repo).is_dir():
        return "redream-sd21"
    cached = try_to_load_from_cache(repo, "model_index.json")
    return "redream-sd21" if isinstance(cached, str) else "cpu-tiny"


def _pop_option(argv: list[str], name: str) -> tuple[str | None, list[str]]:
    rest, value = [], None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == name:
            if i + 1 >= len(argv):
                raise SystemExit(f"error: {name} needs a value")
            value = argv[i + 1]
            i += 2
            continue
        if arg.startswith(name + "="):
            value = arg.split("=", 1)[1]
        else:
            rest.append(arg)
        i += 1
    return value, rest


def parse_run_config(argv: list[str]) -> RunConfig:
    """Preset or YAML defaults, then command-line overrides (tyro)."""
    no_viewer = "--no-viewer" in argv
    argv = [a for a in argv if a != "--no-viewer"]
    preset, argv = _pop_option(argv, "--preset")
    config_file, argv = _pop_option(argv, "--config")
    if preset is not None and config_file is not None:
        raise SystemExit("error: give --preset or --config, not both")
    if config_file is not None:
        default = load_yaml(RunConfig, Path(config_file))
        description = f"defaults from {config_file}"
    else:
        name = preset or auto_preset()
        if name not in PRESETS:
            raise SystemExit(f"error: unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
        description, default = PRESETS[name]
        description = f"preset {name}: {description}"
    cfg = tyro.cli(
        RunConfig,
        default=default,
        args=argv,
        prog="splatdream",
        description=f"Text -> Gaussian splats (ReDream). {description}. "
        f"Choose defaults with --preset {{{','.join(PRESETS)}}} or --config FILE.yaml; --no-viewer skips the browser view.",
    )
    if not cfg.prompt.strip():
        raise SystemExit("error: the prompt is empty; say what to generate, e.g. --prompt 'a wooden chair'")
    if cfg.num_particles < 1:
        raise SystemExit(f"error: --num-particles must be at least 1, got {cfg.num_particles}")
    if no_viewer:
        cfg = replace(cfg, viewer=replace(cfg.viewer, enabled=False))
    return replace(cfg, prompt=cfg.prompt.strip())


def preset_yaml(name: str) -> str:
    """The preset as the YAML file shipped in configs/ (copy it, edit it, pass --config FILE)."""
    description, cfg = PRESETS[name]
    from splatdream.configio import dump_yaml

    return f"# {name}: {description}\n# Regenerate with: python -m splatdream.config configs/\n" + dump_yaml(cfg)


if __name__ == "__main__":
    import sys

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "configs")
    out.mkdir(parents=True, exist_ok=True)
    for preset in PRESETS:
        (out / f"{preset}.yaml").write_text(preset_yaml(preset))
        print(f"wrote {out / f'{preset}.yaml'}")
