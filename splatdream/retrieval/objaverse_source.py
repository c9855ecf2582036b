"""Objaverse assets into the library through the ``objaverse`` package (its files land in ~/.objaverse).

Every objaverse call needs the network; offline they fail within milliseconds and we turn that
into one clear message instead of a traceback. Objaverse GLBs are +Y up, like ours.
"""

from __future__ import annotations

import contextlib
import difflib
import socket
import urllib.error
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from splatdream.retrieval.ingest import IngestItem

NETWORK_TIMEOUT_S = 30.0


class ObjaverseUnavailable(RuntimeError):
    """Objaverse could not be reached (offline machine, firewall, hub down)."""


@contextlib.contextmanager
def _network(what: str) -> Iterator[None]:
    """Bound every socket wait, and explain network failures in one sentence."""
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(NETWORK_TIMEOUT_S)
    try:
        yield
    except (TimeoutError, urllib.error.URLError, ConnectionError) as exc:
        raise ObjaverseUnavailable(
            f"could not {what}: Objaverse needs network access to huggingface.co ({exc}). On an offline "
            "machine, copy .glb files over and use `splatdream assets add DIR` (captions from a captions.csv)."
        ) from exc
    finally:
        socket.setdefaulttimeout(old)


def _caption(uid: str, ann: dict[str, Any], category: str | None) -> str:
    name = str(ann.get("name") or "").strip()
    if category and category.replace("_", " ") not in name.lower():
        return f"{name} ({category.replace('_', ' ')})" if name else category.replace("_", " ")
    return name or f"objaverse object {uid}"


def objaverse_items(
    lvis_categories: Sequence[str] = (), uids_file: Path | None = None, limit: int | None = None
) -> tuple[list[IngestItem], list[tuple[str, str]]]:
    """Resolve uids, fetch annotations and files; returns the items and (uid, reason) for files not obtained."""
    import objaverse

    if not lvis_categories and uids_file is None:
        raise ValueError("say which objects: --lvis-categories chair table ... and/or --uids-file FILE")
    uids: list[str] = []
    category_of: dict[str, str] = {}
    if lvis_categories:
        with _network("load the LVIS category list"):
            lvis = objaverse.load_lvis_annotations()
        for cat in lvis_categories:
            if cat not in lvis:
                close = difflib.get_close_matches(cat, list(lvis), n=5)
                raise ValueError(
                    f"{cat!r} is not an LVIS category"
                    + (f"; did you mean {', '.join(close)}?" if close else "")
                )
            for uid in lvis[cat]:
                category_of.setdefault(uid, cat)
                uids.append(uid)
    if uids_file is not None:
        uids += [
            ln.strip()
            for ln in Path(uids_file).read_text().splitlines()
            if ln.strip() and not ln.startswith("#")
        ]
    uids = list(dict.fromkeys(uids))[: limit if limit is not None else None]
    if not uids:
        return [], []
    with _network("download Objaverse annotations"):
        annotations = objaverse.load_annotations(uids)
    with _network("download Objaverse objects"):
        paths = objaverse.load_objects(uids)
    items, missing = [], []
    for uid in uids:
        path = paths.get(uid)
        if path is None or not Path(path).is_file():
            missing.append((uid, "not downloaded"))
            continue
        ann = annotations.get(uid, {})
        tags = tuple(t.get("name", "") if isinstance(t, dict) else str(t) for t in ann.get("tags") or ())
        category = category_of.get(uid) or (tags[0] if tags else "")
        items.append(
            IngestItem(
                path=Path(path),
                caption=_caption(uid, ann, category_of.get(uid)),
                category=category.replace("_", " "),
                tags=tuple(t for t in tags if t),
                source=f"objaverse:{uid}",
                licence=str(ann.get("license") or "unknown"),
            )
        )
    return items, missing
