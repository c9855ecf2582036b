"""Category-level retrieval quality on a query set: precision@1 and recall@k (hit in the top k)."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from splatdream.retrieval.embedders import Embedder
from splatdream.retrieval.library import AssetLibrary


@dataclass
class QualityReport:
    n: int
    precision_at_1: float
    recall_at_k: float
    k: int
    misses: list[tuple[str, str, list[str]]] = field(default_factory=list)  # (prompt, expected, got top-k)

    def summary(self) -> str:
        return f"{self.n} prompts: precision@1 {self.precision_at_1:.3f}, recall@{self.k} {self.recall_at_k:.3f}"


def read_queries(path: Path) -> list[tuple[str, str]]:
    """(prompt, category) pairs from a csv with columns prompt, category."""
    with open(path, newline="", encoding="utf-8") as f:
        return [(row["prompt"], row["category"]) for row in csv.DictReader(f)]


def evaluate(
    lib: AssetLibrary, queries: list[tuple[str, str]], embedder: Embedder, k: int = 3, n_candidates: int = 20
) -> QualityReport:
    top1 = topk = 0
    misses = []
    results = lib.search_many([p for p, _ in queries], k, embedder=embedder, n_candidates=n_candidates)
    for (prompt, expected), res in zip(queries, results, strict=True):
        got = [r.category for r in res]
        top1 += got[0] == expected
        topk += expected in got
        if got[0] != expected:
            misses.append((prompt, expected, got))
    n = max(1, len(queries))
    return QualityReport(len(queries), top1 / n, topk / n, k, misses)
