"""Precision and recall of a clustering against a ground truth (record key -> true id),
pairwise and per cluster. Used by the tests and the benchmark."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass
class Scores:
    pair_precision: float
    pair_recall: float
    cluster_precision: float  # predicted clusters that are exactly one true customer's records
    cluster_recall: float  # true customers whose records form exactly one predicted cluster
    true_pairs: int
    predicted_pairs: int

    def __str__(self) -> str:
        return (
            f"pairwise P={self.pair_precision:.4f} R={self.pair_recall:.4f} "
            f"({self.predicted_pairs} predicted / {self.true_pairs} true pairs); "
            f"cluster P={self.cluster_precision:.4f} R={self.cluster_recall:.4f}"
        )


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def score(predicted: Mapping[str, str], truth: Mapping[str, str]) -> Scores:
    keys = [k for k in predicted if k in truth]
    pred_groups: dict[str, list[str]] = defaultdict(list)
    true_groups: dict[str, list[str]] = defaultdict(list)
    joint: Counter = Counter()
    for k in keys:
        pred_groups[predicted[k]].append(k)
        true_groups[truth[k]].append(k)
        joint[(predicted[k], truth[k])] += 1
    tp = sum(_pairs(n) for n in joint.values())
    pp = sum(_pairs(len(g)) for g in pred_groups.values())
    tt = sum(_pairs(len(g)) for g in true_groups.values())
    pred_sets = {frozenset(g) for g in pred_groups.values()}
    true_sets = {frozenset(g) for g in true_groups.values()}
    exact = len(pred_sets & true_sets)
    return Scores(
        pair_precision=tp / pp if pp else 1.0,
        pair_recall=tp / tt if tt else 1.0,
        cluster_precision=exact / len(pred_sets) if pred_sets else 1.0,
        cluster_recall=exact / len(true_sets) if true_sets else 1.0,
        true_pairs=tt,
        predicted_pairs=pp,
    )


def with_review(assignment: Mapping[str, str], review: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The clustering a steward would reach by accepting every review pair (auto + review
    band): union of the auto clusters along the review pairs."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in review:
        ra, rb = find(assignment[a]), find(assignment[b])
        if ra != rb:
            parent[ra] = rb
    return {k: find(v) for k, v in assignment.items()}
