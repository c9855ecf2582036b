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

from splatdream.models.embedders import Embedder
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
        return (
            f"{self.n} prompts: precision@1 {self.precision_at_1:.3f}, precision@{self.k} "
            f"{self.precision_at_k:.3f}, recall@{self.k} {self.recall_at_k:.3f}"
        )


def read_queries(path: Path) -> list[tuple[str, str]]:
    """(prompt, category) pairs from a csv with columns prompt, category."""
    with open(path, newline="", encoding="utf-8") as f:
        return [(row["prompt"], row["category"]) for row in csv.DictReader(f)]


def evaluate(
    lib: AssetLibrary,
    queries: list[tuple[str, str]],
    embedder: Embedder,
    k: int = 3,
    n_candidates: int = 20,
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


@dataclass
class WeakReport:
    """How the weak-match flag does: false alarms on correct hits, and real misses it lets through."""

    false_alarms: list[str]
    """Prompts of a labelled set whose top hit is the expected category and yet flagged weak."""
    unflagged: list[str]
    """Prompts naming objects the library lacks whose top hit is not flagged weak."""
    any_flagged: int
    """How many of the absent-object prompts have at least one weak hit (the run then warns)."""


def weak_report(
    lib: AssetLibrary,
    queries: list[tuple[str, str]],
    absent: list[str],
    embedder: Embedder,
    k: int = 3,
) -> WeakReport:
    """Search ``queries`` (prompt, category) and ``absent`` prompts once each and score the weak flag."""
    results = lib.search_many([p for p, _ in queries] + absent, k, embedder=embedder)
    known, missing = results[: len(queries)], results[len(queries) :]
    false_alarms = [p for (p, c), r in zip(queries, known, strict=True) if r[0].category == c and r[0].weak]
    unflagged = [p for p, r in zip(absent, missing, strict=True) if not r[0].weak]
    return WeakReport(false_alarms, unflagged, sum(any(h.weak for h in r) for r in missing))
