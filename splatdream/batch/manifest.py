"""The batch's prompts and its manifest (``DIR/batch.json``): which prompt runs where, and which are done.

The manifest is rewritten atomically after every change, so an interrupted batch (Ctrl-C, a dead
driver, a lost cluster) is resumed by running the same command again: finished prompts are skipped
and unfinished ones continue from their run directory's checkpoint.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from splatdream.atomic import atomic_write
from splatdream.rundir import slugify

MANIFEST = "batch.json"
VERSION = 1
Status = Literal["pending", "done", "failed"]


@dataclass(frozen=True)
class PromptLine:
    """A problem with one line of the prompts file (reported; the line is left out, the batch goes on)."""

    line: int
    text: str
    problem: str


def read_prompts(path: Path) -> tuple[list[str], list[PromptLine]]:
    """The prompts of ``path`` (one a line, ``#`` comments), and the lines that were left out and why."""
    if not path.is_file():
        raise FileNotFoundError(f"prompts file {path} not found; write one prompt a line into it")
    prompts: list[str] = []
    first_line: dict[str, int] = {}
    problems: list[PromptLine] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    while lines and not lines[-1].strip():  # trailing blank lines are not mistakes
        lines.pop()
    for number, raw in enumerate(lines, start=1):
        text = " ".join(raw.split())
        if text.startswith("#"):
            continue
        if not text:
            problems.append(PromptLine(number, raw, "empty line"))
        elif text.lower() in first_line:
            problems.append(PromptLine(number, text, f"duplicate of line {first_line[text.lower()]}"))
        else:
            first_line[text.lower()] = number
            prompts.append(text)
    return prompts, problems


@dataclass
class Entry:
    """One prompt of the batch and what became of it."""

    prompt: str
    slug: str
    status: Status = "pending"
    attempts: int = 0
    """Times a worker started this prompt (more than one: a worker died, or the batch was resumed)."""
    seconds: float | None = None
    """Wall time of the last attempt that finished."""
    error: str | None = None
    eval: dict[str, float | None] | None = None
    """Mean eval metrics over the particles (``splatdream eval``), when the batch evaluated the run."""


@dataclass
class Manifest:
    """``DIR/batch.json``: the batch's settings and one entry per prompt, in the prompts file's order."""

    path: Path
    preset: str | None = None
    overrides: list[str] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)

    @classmethod
    def load(cls, out: Path) -> Manifest:
        """The manifest in ``out``, or a new empty one when the folder holds none."""
        path = out / MANIFEST
        if not path.exists():
            return cls(path)
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != VERSION:
            raise ValueError(
                f"{path} has version {data.get('version')}, expected {VERSION}; use a new --out folder"
            )
        return cls(
            path,
            data.get("preset"),
            list(data.get("overrides") or []),
            [Entry(**e) for e in data.get("entries") or []],
        )

    def save(self) -> None:
        data: dict[str, Any] = {
            "version": VERSION,
            "preset": self.preset,
            "overrides": self.overrides,
            "entries": [asdict(e) for e in self.entries],
        }
        with atomic_write(self.path) as tmp:
            tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")

    def add_prompts(self, prompts: list[str]) -> list[Entry]:
        """Entries for ``prompts`` (existing ones kept, new ones appended with a folder name no other prompt has)."""
        by_prompt = {e.prompt: e for e in self.entries}
        taken = {e.slug for e in self.entries}
        out = []
        for prompt in prompts:
            entry = by_prompt.get(prompt)
            if entry is None:
                base = slug = slugify(prompt)
                n = 2
                while slug in taken:  # "a red chair" and "a red chair!" share a slug
                    slug, n = f"{base}-{n}", n + 1
                taken.add(slug)
                entry = Entry(prompt, slug)
                self.entries.append(entry)
                by_prompt[prompt] = entry
            out.append(entry)
        return out
