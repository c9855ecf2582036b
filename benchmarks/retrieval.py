"""Retrieval benchmark: ANN index types at 100k and 1M rows, prompts per second, ingest throughput.

ANN part: top-10 by cosine over clustered synthetic 512-d unit vectors (a mixture of 256 Gaussians
on the sphere, like real embeddings, so recall against the exact answer is meaningful). For every
row count the exact answer (numpy, all queries in one matrix product) is the reference, and the
exact per-query latencies (numpy, LanceDB flat scan) are timed in the same run. Each index type is
built on the same table (build time reported) and searched with a few settings; the target is
recall@10 >= 0.95 at <= 20 ms per query at 1M rows.

Prompts part: prompts per second through ``splatdream retrieve --prompts-file`` (1,000 prompts,
shipped library, offline embedder), whole command and search alone.

    LANCE_CPU_THREADS=2 OMP_NUM_THREADS=1 python benchmarks/retrieval.py \
        [--parts ann prompts ingest] [--sizes 100000 1000000] [--queries 100]

Each part rewrites its own section of ``benchmarks/results/retrieval.md`` and leaves the others.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lancedb
import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.bench_util import markdown_table, results_path, smoke  # noqa: E402
from splatdream.atomic import atomic_write  # noqa: E402
from splatdream.retrieval.store import ann_index_config, ivf_partitions  # noqa: E402

DIM = 512
K = 10
TARGET_RECALL, TARGET_MS = 0.95, 20.0


def clustered(n: int, rng: np.random.Generator, centres: np.ndarray, chunk: int = 100_000) -> np.ndarray:
    out = np.empty((n, DIM), np.float32)
    for s in range(0, n, chunk):
        m = min(chunk, n - s)
        x = centres[rng.integers(0, len(centres), m)] + 0.8 * rng.standard_normal(
            (m, DIM), dtype=np.float32
        ) / np.sqrt(DIM)
        out[s : s + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def exact_top(data: np.ndarray, queries: np.ndarray, chunk: int = 200_000) -> np.ndarray:
    """[Q, K] ids of the exact top-K by dot product (= cosine on unit rows), blockwise over rows."""
    best_s = np.full((len(queries), 0), -np.inf, np.float32)
    best_i = np.zeros((len(queries), 0), np.int64)
    for s in range(0, len(data), chunk):
        scores = queries @ data[s : s + chunk].T  # [Q, chunk]
        top = np.argpartition(-scores, K, axis=1)[:, :K]
        best_s = np.concatenate([best_s, np.take_along_axis(scores, top, 1)], 1)
        best_i = np.concatenate([best_i, top + s], 1)
    order = np.argsort(-best_s, axis=1)[:, :K]
    return np.take_along_axis(best_i, order, 1)


def timed(fn: Callable[[int], Any], repeats: int) -> tuple[float, list[Any]]:
    """Median milliseconds per call and the calls' results (one extra call first, as a warm-up)."""
    fn(0)
    times, results = [], []
    for i in range(repeats):
        t = time.perf_counter()
        results.append(fn(i))
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), results


@dataclass(frozen=True)
class Search:
    nprobes: int
    refine: int | None = None
    ef: int | None = None

    def label(self) -> str:
        parts = [f"nprobes {self.nprobes}"]
        if self.ef:
            parts.append(f"ef {self.ef}")
        if self.refine:
            parts.append(f"refine x{self.refine}")
        return ", ".join(parts)


SWEEPS: dict[str, list[Search]] = {
    "IVF_PQ": [Search(20, 10), Search(10, 50), Search(20, 100)],
    "IVF_SQ": [Search(10), Search(20), Search(10, 5), Search(20, 5)],
    "IVF_HNSW_SQ": [Search(10, ef=100), Search(20, ef=200), Search(10, 5, ef=100), Search(20, 5, ef=200)],
    "IVF_FLAT": [Search(10), Search(20), Search(40)],
}


def bench_size(
    n: int, n_queries: int, kinds: list[str], workdir: Path, rng: np.random.Generator, centres: np.ndarray
) -> list[dict[str, Any]]:
    data = clustered(n, rng, centres)
    queries = clustered(n_queries, rng, centres)
    db = lancedb.connect(workdir / f"n{n}")
    schema = pa.schema([pa.field("id", pa.int64()), pa.field("vector", pa.list_(pa.float32(), DIM))])
    t = time.perf_counter()
    table = db.create_table("vectors", schema=schema)
    for s in range(0, n, 100_000):
        block = data[s : s + 100_000]
        vec = pa.FixedSizeListArray.from_arrays(pa.array(block.reshape(-1)), DIM)
        table.add(pa.Table.from_arrays([pa.array(np.arange(s, s + len(block))), vec], schema=schema))
    write_s = time.perf_counter() - t
    t = time.perf_counter()
    exact = exact_top(data, queries)
    batch_ms = (time.perf_counter() - t) * 1000 / n_queries

    def recall(found: list[np.ndarray]) -> float:
        return float(
            np.mean([len(set(f.tolist()) & set(e.tolist())) / K for f, e in zip(found, exact, strict=True)])
        )

    def numpy_top(i: int) -> np.ndarray:
        scores = data @ queries[i]
        top = np.argpartition(-scores, K)[:K]
        return top[np.argsort(-scores[top])]

    def lance_top(i: int, search: Search | None = None) -> np.ndarray:
        q = table.search(queries[i]).distance_type("cosine").select(["id", "_distance"]).limit(K)
        if search is not None:
            q = q.nprobes(search.nprobes)
            if search.refine:
                q = q.refine_factor(search.refine)
            if search.ef:
                q = q.ef(search.ef)
        return np.asarray(q.to_arrow().column("id").to_numpy())

    rows: list[dict[str, Any]] = []
    reps = min(n_queries, 20 if n <= 100_000 else 5)
    np_ms, _ = timed(numpy_top, reps)
    rows.append(
        {
            "n": n,
            "index": "exact (numpy, one query)",
            "search": "-",
            "recall": 1.0,
            "ms": np_ms,
            "build_s": 0.0,
            "note": f"all {n_queries} queries in one matmul: {batch_ms:.2f} ms/query",
        }
    )
    flat_ms, flat = timed(lance_top, reps)
    rows.append(
        {
            "n": n,
            "index": "exact (LanceDB flat scan)",
            "search": "-",
            "recall": recall(flat),
            "ms": flat_ms,
            "build_s": 0.0,
            "note": f"write {write_s:.1f} s",
        }
    )
    print(f"n={n}: numpy {np_ms:.1f} ms, flat {flat_ms:.1f} ms", file=sys.stderr, flush=True)
    for kind in kinds:
        config = ann_index_config(kind, n, DIM)
        t = time.perf_counter()
        table.create_index("vector", config=config, replace=True)
        build_s = time.perf_counter() - t
        for search in SWEEPS[kind]:
            ms, found = timed(lambda i, s=search: lance_top(i, s), n_queries)
            rows.append(
                {
                    "n": n,
                    "index": kind,
                    "search": search.label(),
                    "recall": recall(found),
                    "ms": ms,
                    "build_s": build_s,
                    "note": f"{ivf_partitions(n)} partitions",
                }
            )
            r = rows[-1]
            print(
                f"n={n} {kind} {r['search']}: recall@10 {r['recall']:.3f}, {ms:.1f} ms, build {build_s:.0f} s",
                file=sys.stderr,
                flush=True,
            )
    return rows


def ann_section(rows: list[dict[str, Any]], n_queries: int) -> str:
    table = markdown_table(
        [
            "rows",
            "index",
            "search",
            "recall@10",
            "ms/query (median)",
            "index build (s)",
            "meets target",
            "notes",
        ],
        [
            [
                f"{r['n']:,}",
                r["index"],
                r["search"],
                f"{r['recall']:.3f}",
                f"{r['ms']:.1f}",
                f"{r['build_s']:.0f}" if r["build_s"] else "-",
                "yes" if r["recall"] >= TARGET_RECALL and r["ms"] <= TARGET_MS else "no",
                r["note"],
            ]
            for r in rows
        ],
        ["---:", "---", "---", "---:", "---:", "---:", "---", "---"],
    )
    intro = (
        f"Top-{K} by cosine over clustered synthetic {DIM}-d unit vectors (256 Gaussian clusters), {n_queries} queries "
        f"(exact rows: fewer), one query at a time, LANCE_CPU_THREADS={os.environ.get('LANCE_CPU_THREADS', '-')}. "
        f"Recall@{K} against the exact numpy answer of the same run. Latencies on a CPU shared with other jobs are "
        "noisy (a few ms either way). "
        f"Target: recall@{K} >= {TARGET_RECALL} at <= {TARGET_MS:.0f} ms/query over 1M rows. Index build parameters "
        "come from `splatdream.retrieval.store.ann_index_config` (k-means on 64 samples per partition, 25 iterations)."
    )
    return "\n".join(["## ANN index", "", intro, "", *table])


def prompts_section(n_prompts: int, workdir: Path) -> str:
    """Prompts/s of ``splatdream retrieve --prompts-file`` (whole command) and of search_many alone."""
    from splatdream.models.embedders import load_embedder
    from splatdream.retrieval.library import AssetLibrary

    objects = [
        "chair",
        "sports car",
        "teapot",
        "pickup truck",
        "oak tree",
        "electric guitar",
        "wizard hat",
        "castle",
        "robot",
        "donut",
        "golden trophy",
        "sailboat",
        "cat",
        "floor lamp",
        "bicycle",
    ]
    attrs = ["", "red ", "wooden ", "shiny metal ", "green ", "small ", "vintage ", "pink ceramic "]
    prompts = [f"a {attrs[i % len(attrs)]}{objects[(i * 7) % len(objects)]}" for i in range(n_prompts)]
    path = workdir / "prompts.txt"
    path.write_text("\n".join(prompts) + "\n")
    env = dict(os.environ, SPLATDREAM_LIBRARY=str(workdir / "no-user-library"))
    t = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "splatdream",
            "retrieve",
            "--prompts-file",
            str(path),
            "--json",
            "--embedder",
            "text",
            "--sheet",
            "None",
        ],
        check=True,
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    cli_s = time.perf_counter() - t
    os.environ["SPLATDREAM_LIBRARY"] = env["SPLATDREAM_LIBRARY"]
    lib = AssetLibrary.open()
    emb = load_embedder("text")
    lib.search_many(prompts[:8], 3, embedder=emb)  # warm-up: model and tables loaded
    t = time.perf_counter()
    lib.search_many(prompts, 3, embedder=emb)
    search_s = time.perf_counter() - t
    return "\n".join(
        [
            "## Prompts per second",
            "",
            f"{n_prompts} prompts through `splatdream retrieve --prompts-file F --json --embedder text --sheet None` "
            f"(shipped starter library, k=3, object-first search): {n_prompts / cli_s:.0f} prompts/s for the whole command "
            f"({cli_s:.1f} s including Python start-up and model load); search_many alone, warm: "
            f"{n_prompts / search_s:.0f} prompts/s ({search_s:.2f} s).",
        ]
    )


def ingest_section(n: int, workdir: Path) -> str:
    """Assets/s through the real ingest path: load, normalise, thumbnail, MiniLM caption embedding, LanceDB."""
    import trimesh

    from splatdream.models.embedders import load_embedder
    from splatdream.retrieval.library import AssetLibrary

    src = workdir / "ingest_src"
    src.mkdir()
    makers = [
        lambda i: trimesh.creation.box(extents=(1 + i % 3, 1, 0.5)),
        lambda i: trimesh.creation.icosphere(subdivisions=2, radius=1 + i % 2),
        lambda i: trimesh.creation.cylinder(0.3 + 0.1 * (i % 4), 2.0, sections=24),
        lambda i: trimesh.creation.torus(1.0, 0.2 + 0.05 * (i % 3)),
    ]
    for i in range(n):
        mesh = makers[i % len(makers)](i)
        mesh.visual.vertex_colors = [(37 * i) % 255, (91 * i) % 255, (53 * i) % 255, 255]
        mesh.export(src / f"object_{i:04d}.glb")
    embedder = load_embedder("text")  # loaded outside the timing: a one-off per process
    lib = AssetLibrary.open(workdir / "ingest_lib")
    t = time.perf_counter()
    report = lib.add(src, embedders=[embedder], progress=False)
    secs = time.perf_counter() - t
    t = time.perf_counter()
    again = lib.add(src, embedders=[embedder], progress=False)
    dup_secs = time.perf_counter() - t
    assert len(report.added) == n and len(again.duplicates) == n
    return "\n".join(
        [
            "## Ingest",
            "",
            f"{n} small coloured meshes (load, normalise, 96² thumbnail, MiniLM caption embedding, write): "
            f"{n / secs:.1f} assets/s ({secs:.1f} s). Re-adding the same files (content-hash no-op): {n / dup_secs:.0f} files/s.",
        ]
    )


def merge_sections(old: str, new: dict[str, str], header: str) -> str:
    """``old`` with the ``## `` sections named in ``new`` replaced (or appended); the header refreshed."""
    sections = {
        m.group(1): m.group(0).rstrip() for m in re.finditer(r"^## (.+?)$.*?(?=^## |\Z)", old, re.M | re.S)
    }
    sections.update(new)
    order = ["ANN index", "Prompts per second", "Ingest"]
    body = [sections[name] for name in order if name in sections]
    return "\n\n".join([header, *body]) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--parts", nargs="+", default=["ann", "prompts", "ingest"], choices=["ann", "prompts", "ingest"]
    )
    ap.add_argument("--sizes", type=int, nargs="+", default=smoke([100_000, 1_000_000], [3000]))
    ap.add_argument(
        "--indexes", nargs="+", default=smoke(list(SWEEPS), list(SWEEPS)[:1]), choices=list(SWEEPS)
    )
    ap.add_argument("--queries", type=int, default=smoke(100, 5))
    ap.add_argument("--prompts", type=int, default=smoke(1000, 20), help="prompts for the prompts/s part")
    ap.add_argument("--ingest", type=int, default=smoke(30, 3), help="meshes for the ingest throughput part")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "retrieval.md")
    ap.add_argument("--workdir", type=Path, default=None, help="scratch directory (default: a temp dir)")
    args = ap.parse_args(argv)
    args.out = results_path(args.out)
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((256, DIM), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    workdir = Path(tempfile.mkdtemp(prefix="splatdream-bench-", dir=args.workdir))
    new: dict[str, str] = {}
    try:
        if "ann" in args.parts:
            rows = [
                r
                for n in args.sizes
                for r in bench_size(n, args.queries, args.indexes, workdir, rng, centres)
            ]
            new["ANN index"] = ann_section(rows, args.queries)
        if "prompts" in args.parts:
            new["Prompts per second"] = prompts_section(args.prompts, workdir)
        if "ingest" in args.parts:
            new["Ingest"] = ingest_section(args.ingest, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    header = "\n".join(
        [
            "# Retrieval benchmark",
            "",
            f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores shared with other jobs, "
            f"LanceDB {lancedb.__version__}, numpy {np.__version__}. "
            "`python benchmarks/retrieval.py` (see its docstring).",
        ]
    )
    old = args.out.read_text() if args.out.exists() else ""
    text = merge_sections(old, new, header)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(args.out) as tmp:
        tmp.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
