"""The imports show the pipeline: every arrow points down, and there are no cycles.

Read from the source with ``ast`` (function-level imports included, since a lazy import is still a
dependency), so a module that reaches back up a layer fails here rather than in review.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _modules() -> dict[str, Path]:
    mods = {}
    for package in ("splatdream", "viewer"):
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            mods[name.removesuffix(".__init__")] = path
    return mods


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m in MODULES}


GRAPH = {name: _imports(path) - {name} for name, path in MODULES.items()}


def _under(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _violations(
    importers: tuple[str, ...], forbidden: tuple[str, ...], allowed: tuple[str, ...] = ()
) -> list[str]:
    return sorted(
        f"{mod} imports {dep}"
        for mod, deps in GRAPH.items()
        if _under(mod, *importers)
        for dep in deps
        if _under(dep, *forbidden) and not _under(dep, *allowed)
    )


def test_the_graph_sees_the_packages() -> None:
    assert {"splatdream.pipeline", "splatdream.distill.trainer", "splatdream.render", "viewer.live"} <= set(
        GRAPH
    )
    assert "splatdream.distill.trainer" in GRAPH["splatdream.distill.loop"]


def test_no_import_cycles() -> None:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = [stack.pop()]
            while comp[-1] != v:
                comp.append(stack.pop())
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in GRAPH:
        if v not in index:
            visit(v)
    assert cycles == []


STAGES_ABOVE_DISTILL = (
    "splatdream.pipeline",
    "splatdream.config",
    "splatdream.cli",
    "viewer",
    "splatdream.retrieval",
    "splatdream.init",
    "splatdream.adaptation",
    "splatdream.export",
    "splatdream.evaluate",
    "splatdream.starter",
)


@pytest.mark.parametrize(
    ("importers", "forbidden", "allowed"),
    [
        # distillation sees the prior, the renderer and the scene, nothing that runs it
        (("splatdream.distill",), STAGES_ABOVE_DISTILL, ()),
        # the renderer knows the scene only
        (("splatdream.render",), ("splatdream", "viewer"), ("splatdream.render", "splatdream.scene")),
        # the run's tools that build shipped data are not part of a run
        (
            (
                "splatdream.retrieval",
                "splatdream.init",
                "splatdream.adaptation",
                "splatdream.distill",
                "splatdream.render",
                "splatdream.export",
                "splatdream.evaluate",
                "splatdream.pipeline",
                "splatdream.config",
                "splatdream.scene",
                "splatdream.priors.base",
                "splatdream.priors.sd",
                "splatdream.priors.tiny_prior",
                "splatdream.priors.loader",
            ),
            ("splatdream.starter", "splatdream.priors.tiny_training"),
            (),
        ),
        # the core takes only the viewer's config; the pipeline starts the live viewer
        (("splatdream",), ("viewer",), ("viewer.config", "splatdream.pipeline")),
        # nothing imports the command line or the whole run
        (("splatdream", "viewer"), ("splatdream.cli", "splatdream.pipeline"), ()),
        # the run never imports the starter tooling nor the TinyPrior's training tooling (issue 23)
        (
            (
                "splatdream.pipeline",
                "splatdream.distill",
                "splatdream.render",
                "splatdream.adaptation",
                "splatdream.init",
                "splatdream.evaluate",
                "splatdream.io",
                "splatdream.models",
                "splatdream.rundir",
                "viewer",
            ),
            ("splatdream.starter", "splatdream.priors.tiny_training"),
            (),
        ),
        # no stage but export/ (and the run that asks for the formats) imports an export format's writer
        (
            ("splatdream",),
            ("splatdream.export.formats", "splatdream.export.mesh"),
            ("splatdream.export", "splatdream.pipeline"),
        ),
        # .ply I/O and CLIP have one home each: nothing imports them from their old rooms
        (("splatdream", "viewer"), ("splatdream.export.ply", "splatdream.retrieval.embedders"), ()),
    ],
)
def test_imports_point_down(
    importers: tuple[str, ...], forbidden: tuple[str, ...], allowed: tuple[str, ...]
) -> None:
    bad = _violations(importers, forbidden, allowed)
    # what the rules cannot express: `python -m splatdream`, the command table, the live viewer of a run, batches,
    # and `splatdream assets build-starter` (a command that runs the starter tooling)
    bad = [
        b
        for b in bad
        if not b.startswith(
            (
                "splatdream.__main__ imports splatdream.cli",
                "splatdream.cli imports",
                "splatdream.pipeline imports viewer",
                "splatdream.batch",  # a batch is many runs: it sits above the pipeline
                "splatdream.retrieval.cli imports splatdream.starter",
            )
        )
    ]
    assert bad == []


def test_each_class_has_one_home() -> None:
    """Two classes of one name are two homes for one concept (as the two ``Views`` were): a reader imports the
    wrong one, and the two drift apart."""
    homes: dict[str, list[str]] = {}
    for name, path in MODULES.items():
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef):
                homes.setdefault(node.name, []).append(name)
    twice = {cls: mods for cls, mods in homes.items() if len(mods) > 1}
    assert twice == {}
    assert homes["Views"] == ["splatdream.render.views"]
