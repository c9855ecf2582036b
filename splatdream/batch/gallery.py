"""The batch's results for people: ``DIR/index.html`` (turntables or pictures, eval numbers) and a summary table."""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

from splatdream.atomic import atomic_write
from splatdream.batch.manifest import Entry, Manifest
from splatdream.batch.tasks import GALLERY
from splatdream.rundir import RunDir

INDEX = "index.html"
# (label, key of RunEval.means(), format): the eval numbers a gallery card and the summary table show
METRICS: tuple[tuple[str, str, str], ...] = (
    ("speckle x", "speckle_ratio", ".2f"),
    ("floaters", "floaters", ".1%"),
    ("dE", "delta_e", ".1f"),
    ("classifier", "classifier", "+.4f"),
    ("CLIP", "clip", ".1f"),
    ("A-LPIPS", "alpips", ".3f"),
)

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; background: #fafafa; color: #222; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 1em; }
.card { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .8em; }
.card h2 { font-size: 1em; margin: 0 0 .4em; }
.media { display: flex; flex-wrap: wrap; gap: 4px; }
.media video, .media img { width: 160px; height: 160px; object-fit: contain; background: #fff; }
.failed { border-color: #c33; } .pending { border-color: #cc3; }
table { border-collapse: collapse; font-size: .85em; margin-top: .4em; }
td { padding: 1px 8px 1px 0; } .meta { color: #666; font-size: .85em; }
"""


def eval_means(out: Path, entry: Entry) -> dict[str, Any] | None:
    """The run's mean eval numbers: from the manifest, else from an eval.json written by ``splatdream eval``."""
    if entry.eval is not None:
        return entry.eval
    path = RunDir(out / entry.slug).eval_json
    if path.is_file():
        try:
            return dict(json.loads(path.read_text()).get("mean") or {})
        except (OSError, ValueError):
            return None
    return None


def _fmt(value: Any, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(float(value), spec)


def _media(out: Path, entry: Entry) -> list[str]:
    run = RunDir(out / entry.slug)
    tags = []
    for i in range(64):
        video, picture = run.turntable(i), out / GALLERY / f"{entry.slug}_{i}.png"
        if video.is_file():
            tags.append(
                f'<video src="{html.escape(entry.slug)}/{video.name}" autoplay loop muted playsinline '
                f'title="particle {i}"></video>'
            )
        elif picture.is_file():
            tags.append(
                f'<img src="{GALLERY}/{html.escape(entry.slug)}_{i}.png" alt="particle {i}" loading="lazy">'
            )
        elif not run.particle(i).is_file():
            break
    return tags


def _card(out: Path, entry: Entry) -> str:
    means = eval_means(out, entry) or {}
    rows = "".join(
        f"<tr><td>{label}</td><td>{_fmt(means.get(key), spec)}</td></tr>"
        for label, key, spec in METRICS
        if means.get(key) is not None
    )
    seconds = f"{entry.seconds:.0f} s" if entry.seconds is not None else "-"
    meta = f"{entry.status}, {entry.attempts} attempt{'s' if entry.attempts != 1 else ''}, {seconds}"
    error = f'<p class="meta">{html.escape(entry.error)}</p>' if entry.error else ""
    return (
        f'<div class="card {entry.status}"><h2>{html.escape(entry.prompt)}</h2>'
        f'<div class="media">{"".join(_media(out, entry))}</div>'
        f'<p class="meta"><a href="{html.escape(entry.slug)}/">{html.escape(entry.slug)}/</a> - {meta}</p>'
        f"{error}{f'<table>{rows}</table>' if rows else ''}</div>"
    )


def write_gallery(manifest: Manifest) -> Path:
    """``index.html`` beside the manifest: one card per prompt, in the prompts file's order."""
    out = manifest.path.parent
    done = sum(e.status == "done" for e in manifest.entries)
    cards = "\n".join(_card(out, e) for e in manifest.entries)
    page = (
        f'<!doctype html>\n<html><head><meta charset="utf-8"><title>splatdream batch: {html.escape(out.name)}'
        f"</title><style>{STYLE}</style></head><body>\n<h1>{html.escape(out.name)}</h1>\n"
        f'<p class="meta">{done} of {len(manifest.entries)} prompts done; preset {manifest.preset or "auto"}'
        f"{'; overrides ' + html.escape(' '.join(manifest.overrides)) if manifest.overrides else ''}</p>\n"
        f'<div class="grid">\n{cards}\n</div></body></html>\n'
    )
    with atomic_write(out / INDEX) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return out / INDEX


def summary_table(manifest: Manifest) -> Any:
    """A rich Table: one row per prompt with its status, attempts, time and mean eval numbers."""
    from rich.table import Table

    out = manifest.path.parent
    means = [eval_means(out, e) or {} for e in manifest.entries]
    shown = [m for m in METRICS if any(row.get(m[1]) is not None for row in means)]
    table = Table(title=f"batch {out}", title_justify="left")
    for col in ("prompt", "status", "attempts", "time"):
        table.add_column(col, justify="right" if col in ("attempts", "time") else "left", overflow="fold")
    for label, _, _ in shown:
        table.add_column(label, justify="right")
    for entry, row in zip(manifest.entries, means, strict=True):
        seconds = f"{entry.seconds:.0f} s" if entry.seconds is not None else "-"
        table.add_row(
            entry.prompt,
            entry.status,
            str(entry.attempts),
            seconds,
            *(_fmt(row.get(key), spec) for _, key, spec in shown),
        )
    return table
