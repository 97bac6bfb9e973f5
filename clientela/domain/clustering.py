"""From scored pairs to clusters of one person, with a guard against chaining.

Transitive matches form clusters (connected components of the pairs above the threshold). One
weak link can chain two different people through a third record, so a cluster is accepted only
when it is tight: at most ``max_size`` profiles, every member within two links of every other,
no pair inside it that a person rejected, and no weak bridge — a link below the stricter
threshold whose removal would leave two groups of two or more (two people, each with their own
duplicates, joined by one doubtful pair). A cluster that fails is split by raising the
threshold; what still fails is left to a person (the review queue).

Pairs scored low inside a cluster are not taken as evidence of two people: heavily corrupted
duplicates of one record often score low against each other while each matches the original.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = ["Clustering", "cluster_pairs"]

Pair = tuple[str, str]


@dataclass
class Clustering:
    #: accepted clusters, each sorted, with at least two profiles
    clusters: list[list[str]] = field(default_factory=list)
    #: pairs above the threshold that no accepted cluster explains (sent to review)
    held_back: list[Pair] = field(default_factory=list)


def _components(nodes: Iterable[str], edges: Iterable[Pair]) -> list[list[str]]:
    parent: dict[str, str] = {node: node for node in nodes}

    def find(node: str) -> str:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b in edges:
        root_a, root_b = find(a), find(b)
        if root_a != root_b:
            parent[max(root_a, root_b)] = min(root_a, root_b)
    groups: dict[str, list[str]] = defaultdict(list)
    for node in parent:
        groups[find(node)].append(node)
    return [sorted(group) for group in groups.values() if len(group) > 1]


def _diameter_at_most_two(members: list[str], edges: list[Pair]) -> bool:
    neighbours: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        neighbours[a].add(b)
        neighbours[b].add(a)
    for start in members:
        seen = {start: 0}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            for other in neighbours[node]:
                if other not in seen:
                    seen[other] = seen[node] + 1
                    queue.append(other)
        if len(seen) < len(members) or max(seen.values()) > 2:
            return False
    return True


def _weak_bridge(
    members: list[str], edges: list[Pair], scores: Mapping[Pair, float], strong: float
) -> bool:
    for edge in edges:
        if scores[edge] >= strong:
            continue
        rest = [e for e in edges if e != edge]
        side = _reachable(edge[0], rest)
        if edge[1] not in side and min(len(side), len(members) - len(side)) >= 2:
            return True
    return False


def _reachable(start: str, edges: list[Pair]) -> set[str]:
    neighbours: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        neighbours[a].add(b)
        neighbours[b].add(a)
    seen = {start}
    queue = deque([start])
    while queue:
        for other in neighbours[queue.popleft()]:
            if other not in seen:
                seen.add(other)
                queue.append(other)
    return seen


def cluster_pairs(
    scores: Mapping[Pair, float],
    *,
    threshold: float,
    rejected: frozenset[Pair] | set[Pair] = frozenset(),
    max_size: int = 10,
    rounds: int = 3,
) -> Clustering:
    """Clusters of the pairs scored at or above ``threshold``. ``scores`` holds the scored pairs
    (keys with left < right); ``rejected`` pairs were judged two people by a person."""
    result = Clustering()
    adjacent: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for (a, b), p in scores.items():
        adjacent[a].append((b, p))
        adjacent[b].append((a, p))
    strong = [pair for pair, p in scores.items() if p >= threshold]
    nodes = {node for pair in strong for node in pair}
    pending = [(members, threshold) for members in _components(nodes, strong)]
    while pending:
        members, level = pending.pop()
        inside = set(members)
        edges = [
            (a, b) for a in members for b, p in adjacent[a] if a < b and p >= level and b in inside
        ]
        stricter = 1 - (1 - level) / 10
        tight = (
            len(members) <= max_size
            and not any((a, b) in rejected for a in members for b in members if a < b)
            and _diameter_at_most_two(members, edges)
            and not _weak_bridge(members, edges, scores, stricter)
        )
        if tight:
            result.clusters.append(members)
            continue
        if rounds and stricter < 1 and level < 1 - 1e-9 and _rounds_used(level, threshold) < rounds:
            tighter = [pair for pair in edges if scores[pair] >= stricter]
            split = _components(members, tighter)
            pending.extend((group, stricter) for group in split)
            explained = {tuple(sorted((a, b))) for group in split for a in group for b in group}
            result.held_back.extend(pair for pair in edges if pair not in explained)
        else:
            result.held_back.extend(edges)
    result.clusters.sort()
    result.held_back = sorted(set(result.held_back))
    return result


def _rounds_used(level: float, threshold: float) -> int:
    used, current = 0, threshold
    while current < level - 1e-12:
        current = 1 - (1 - current) / 10
        used += 1
    return used
