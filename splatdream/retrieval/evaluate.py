"""Category-level retrieval quality on a query set: precision@1, precision@k and recall@k.

precision@k is the share of the top k that are the expected category, out of as many as the
library holds of it (a category with one asset counts only rank 1); recall@k is "any hit in the
top k".
"""

from __future__ import annotations

import csv
from collections import Counter
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
    precision_at_k: float = float("nan")
    misses: list[tuple[str, str, list[str]]] = field(default_factory=list)  # (prompt, expected, got top-k)

    def summary(self) -> str:
        return (f"{self.n} prompts: precision@1 {self.precision_at_1:.3f}, precision@{self.k} "
                f"{self.precision_at_k:.3f}, recall@{self.k} {self.recall_at_k:.3f}")


def read_queries(path: Path) -> list[tuple[str, str]]:
    """(prompt, category) pairs from a csv with columns prompt, category."""
    with open(path, newline="", encoding="utf-8") as f:
        return [(row["prompt"], row["category"]) for row in csv.DictReader(f)]


def evaluate(
    lib: AssetLibrary, queries: list[tuple[str, str]], embedder: Embedder, k: int = 3, n_candidates: int = 20,
    attribute_weight: float | None = None,
) -> QualityReport:
    """Search every prompt once; ``misses`` lists prompts whose top k hold any other category."""
    held = Counter(r["category"] for r in lib.rows())
    top1 = topk = 0
    prec = 0.0
    misses = []
    kw = {} if attribute_weight is None else {"attribute_weight": attribute_weight}
    results = lib.search_many([p for p, _ in queries], k, embedder=embedder, n_candidates=n_candidates, **kw)
    for (prompt, expected), res in zip(queries, results, strict=True):
        got = [r.category for r in res]
        top1 += got[0] == expected
        topk += expected in got
        prec += sum(g == expected for g in got) / max(1, min(k, held[expected]))
        if any(g != expected for g in got[: max(1, min(k, held[expected]))]):
            misses.append((prompt, expected, got))
    n = max(1, len(queries))
    return QualityReport(len(queries), top1 / n, topk / n, k, prec / n, misses)
