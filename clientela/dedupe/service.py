"""Duplicate detection runs: read the store, score pairs, merge the sure ones, queue the rest.

A run is several transactions: one to read the profiles, one per block of merges, one for the
review queue; each leaves the store consistent, and a run interrupted half-way is simply run
again (merged profiles are no longer active, decided pairs are remembered).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from clientela.dedupe import engine, snapshot
from clientela.domain.actor import Actor, utcnow
from clientela.domain.clustering import cluster_pairs
from clientela.domain.errors import BadRequest, StoreNotReady
from clientela.domain.ids import new_id
from clientela.identity.merging import merge_clusters
from clientela.quality.service import refresh_quality
from clientela.security.keyring import Keyring
from clientela.settings import Settings
from clientela.storage.store import Store
from clientela.storage.uow import UnitOfWork

__all__ = ["DedupeSummary", "run_dedupe", "train_model"]

_MERGES_PER_TRANSACTION = 500

Progress = Callable[[str], None]
logger = logging.getLogger("clientela.dedupe")


@dataclass
class DedupeSummary:
    run_id: str
    mode: str
    model_version: int
    trained: bool
    profiles: int
    new_profiles: int
    pairs_scored: int
    clusters_merged: int = 0
    merges: int = 0
    queued: int = 0
    already_decided: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _read_profiles(
    store: Store, since: datetime | None = None, *, kept_in: Path | None = None
) -> tuple[Any, set[str]]:
    """The comparison table of active profiles (ordered by id), and the ids of those changed
    since ``since``. With ``kept_in`` (the data directory), the table of the last run kept
    there is reused for every profile unchanged since, and the new table is kept for the next
    run (``dedupe/snapshot.py``); rows are folded as they stream in, none is kept twice."""
    changed: set[str] = set()
    marks: list[str] = []
    with store.unit_of_work(write=False) as uow:
        keyring = _keyring(uow) if kept_in is not None else None
        if kept_in is None or keyring is None:
            rows = _flagged(uow.matches.profiles(changed_since=since), changed, None)
            return engine.prepare(rows), changed
        path = snapshot.path_in(kept_in)
        kept = snapshot.load(path, keyring, store_check=store.url)
        if kept is None:
            reused, again = None, None
        else:
            current, changed = snapshot.marks_table(uow.matches.versions(changed_since=since))
            reused, again = snapshot.reusable(kept, current)
            if not again and reused.num_rows == kept.num_rows:
                return kept.drop_columns([snapshot.MARK]), changed  # nothing changed since
        rows = _flagged(uow.matches.profiles(changed_since=since, ids=again), changed, marks)
        fresh = engine.prepare(rows)
    fresh = fresh.append_column(snapshot.MARK, pa.array(marks, pa.string()))
    parts = [fresh] if reused is None else [reused.cast(fresh.schema), fresh]
    table = pa.concat_tables(parts).sort_by("unique_id")
    try:
        snapshot.save(path, keyring, table, store_check=store.url)
    except OSError as exc:
        logger.warning("the comparison table could not be kept for the next run: %s", exc)
    return table.drop_columns([snapshot.MARK]), changed


def _flagged(
    batches: Iterable[list[list[Any]]], changed: set[str], marks: list[str] | None
) -> Iterator[list[Any]]:
    """The rows of ``batches``, noting in ``changed`` the ids flagged as changed and in
    ``marks`` (when kept) each row's mark, its last value."""
    for batch in batches:
        for row in batch:
            if row[1]:
                changed.add(str(row[0]))
            if marks is not None:
                marks.append(row[-1])
            yield row


def _keyring(uow: UnitOfWork) -> Keyring | None:
    try:
        return uow.keyring
    except StoreNotReady:
        return None


def _kept_in(settings: Settings) -> Path | None:
    return settings.data_dir if settings.dedupe_keep_profiles else None


def train_model(store: Store, *, settings: Settings, actor: Actor, table: Any | None = None) -> int:
    """Train a new model version on the active profiles; returns its version."""
    if table is None:
        table, _ = _read_profiles(store, kept_in=_kept_in(settings))
    if table.num_rows < 2:
        raise BadRequest("There are fewer than two active profiles to learn from.")
    try:
        model = engine.train(
            table,
            u_max_pairs=settings.dedupe_u_max_pairs,
            em_max_pairs=settings.dedupe_em_max_pairs,
            backend=settings.dedupe_backend,
            memory_limit=settings.dedupe_memory_limit,
        )
    except ValueError as exc:
        raise BadRequest(f"The duplicate model could not be trained: {exc}.") from None
    with store.unit_of_work() as uow:
        version = uow.dedupe_models.add(
            {
                "model": model,
                "trained_on": table.num_rows,
                "actor": actor.label,
                "created_at": utcnow(),
            }
        )
        uow.commit()
    return version


def run_dedupe(
    store: Store,
    *,
    settings: Settings,
    actor: Actor,
    auto_merge: bool = False,
    since: datetime | None = None,
    retrain: bool = False,
    on_progress: Progress | None = None,
) -> DedupeSummary:
    """Find duplicates among active profiles (only pairs involving profiles changed since
    ``since``, when given); merge sure clusters when ``auto_merge``; queue the uncertain."""
    say = on_progress or (lambda _: None)
    clock = time.perf_counter()
    seconds: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = round(now - clock, 3)
        clock = now

    run_id = new_id()
    mode = "incremental" if since is not None else "full"
    with store.unit_of_work() as uow:
        uow.dedupe_runs.add(
            {
                "id": run_id,
                "mode": mode,
                "status": "running",
                "actor": actor.label,
                "started_at": utcnow(),
            }
        )
        uow.commit()
    try:
        summary = _run(store, run_id, mode, settings, actor, auto_merge, since, retrain, say, lap)
    except BaseException:
        with store.unit_of_work() as uow:
            uow.dedupe_runs.finish(run_id, {"status": "failed", "finished_at": utcnow()})
            uow.commit()
        raise
    summary.seconds = seconds
    with store.unit_of_work() as uow:
        uow.dedupe_runs.finish(
            run_id,
            {
                "status": "done",
                "finished_at": utcnow(),
                "model_version": summary.model_version,
                "summary": summary.as_dict(),
            },
        )
        uow.commit()
    return summary


def _run(
    store: Store,
    run_id: str,
    mode: str,
    settings: Settings,
    actor: Actor,
    auto_merge: bool,
    since: datetime | None,
    retrain: bool,
    say: Progress,
    lap: Callable[[str], None],
) -> DedupeSummary:
    say("reading profiles")
    table, changed = _read_profiles(store, since, kept_in=_kept_in(settings))
    new_ids: set[str] | None = changed if since is not None else None
    lap("read")
    with store.unit_of_work(write=False) as uow:
        latest = uow.dedupe_models.latest()
    trained = False
    if latest is None or retrain:
        if table.num_rows < 2:
            return DedupeSummary(run_id, mode, 0, False, table.num_rows, 0, 0)
        say("training the model")
        version = train_model(store, settings=settings, actor=actor, table=table)
        with store.unit_of_work(write=False) as uow:
            latest = uow.dedupe_models.latest()
        trained = True
        lap("train")
    assert latest is not None
    version = int(latest["version"])
    summary = DedupeSummary(
        run_id,
        mode,
        version,
        trained,
        table.num_rows,
        len(new_ids) if new_ids is not None else table.num_rows,
        0,
    )
    if table.num_rows < 2 or (new_ids is not None and not new_ids):
        return summary
    say("scoring pairs")
    scores: dict[tuple[str, str], float] = {}
    candidates: dict[tuple[str, str], engine.ScoredPair] = {}
    for batch in engine.predict(
        latest["model"],
        table,
        new_ids=new_ids,
        threshold=settings.dedupe_review_probability,
        backend=settings.dedupe_backend,
        memory_limit=settings.dedupe_memory_limit,
    ):
        for pair in batch:
            key = (pair.left_id, pair.right_id)
            scores[key] = pair.probability
            candidates[key] = pair
    summary.pairs_scored = len(scores)
    lap("predict")

    with store.unit_of_work(write=False) as uow:
        decided = uow.matches.existing(candidates)
    rejected = {key for key, row in decided.items() if row["status"] == "rejected"}
    summary.already_decided = sum(1 for row in decided.values() if row["status"] != "pending")

    merged_pairs: dict[tuple[str, str], str] = {}
    if auto_merge:
        say("merging")
        clustering = cluster_pairs(
            {key: p for key, p in scores.items() if key not in rejected},
            threshold=settings.dedupe_auto_merge_probability,
            rejected=rejected,
            max_size=settings.dedupe_max_cluster_size,
        )
        merged_pairs = _merge_clusters(
            store, clustering.clusters, candidates, actor, settings, summary
        )
        lap("merge")

    say("updating the review queue")
    queue = [
        pair for key, pair in candidates.items() if key not in rejected and key not in merged_pairs
    ]
    now = utcnow()
    with store.unit_of_work() as uow:
        existing = uow.matches.existing(candidates)
        new_rows = []
        for pair in queue:
            key = (pair.left_id, pair.right_id)
            row = existing.get(key)
            if row is None:
                new_rows.append(_candidate_row(pair, "pending", version, run_id, now))
            elif row["status"] == "pending":
                uow.matches.rescore(
                    row["id"],
                    {
                        "probability": pair.probability,
                        "match_weight": pair.match_weight,
                        "explanation": pair.explanation,
                        "model_version": version,
                        "run_id": run_id,
                    },
                )
        for key, merge_id in merged_pairs.items():
            row = existing.get(key)
            scored = candidates.get(key)
            if row is None and scored is not None:
                record = _candidate_row(scored, "merged", version, run_id, now)
                record.update(decided_by=actor.label, decided_at=now, merge_id=merge_id)
                new_rows.append(record)
            elif row is not None:
                uow.matches.decide(
                    row["id"], status="merged", actor=actor.label, at=now, merge_id=merge_id
                )
        uow.matches.insert_many(new_rows)
        summary.queued = sum(1 for r in new_rows if r["status"] == "pending")
        # Open duplicates lower the uniqueness part of quality.
        queued_ids = {pair.left_id for pair in queue} | {pair.right_id for pair in queue}
        refresh_quality(uow, queued_ids, settings=settings, now=now)
        uow.commit()
    lap("queue")
    return summary


def _candidate_row(
    pair: engine.ScoredPair, status: str, version: int, run_id: str, now: datetime
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "left_id": pair.left_id,
        "right_id": pair.right_id,
        "probability": pair.probability,
        "match_weight": pair.match_weight,
        "explanation": pair.explanation,
        "status": status,
        "model_version": version,
        "run_id": run_id,
        "created_at": now,
    }


def _merge_clusters(
    store: Store,
    clusters: Iterable[list[str]],
    candidates: dict[tuple[str, str], engine.ScoredPair],
    actor: Actor,
    settings: Settings,
    summary: DedupeSummary,
) -> dict[tuple[str, str], str]:
    """Merge each cluster into its oldest profile (ids are time-ordered). Returns the merge id
    of every candidate pair the merges settled."""
    settled: dict[tuple[str, str], str] = {}
    block: list[list[str]] = []

    def flush() -> None:
        with store.unit_of_work() as uow:
            scores: dict[str, int | None] = {}
            for survivor, *others in block:
                for other in others:
                    pair = candidates.get((min(survivor, other), max(survivor, other)))
                    scores[other] = round(pair.match_weight) if pair else None
            # Profiles merged or erased since they were read are left for the next run.
            done = merge_clusters(
                uow,
                block,
                reason="probabilistic",
                actor=actor,
                scores=scores,
                rules=settings.survivorship,
                settings=settings,
                skip_unmergeable=True,
            )
            uow.commit()
        merge_ids = {m.merged_id: m.merge_id for m in done}
        clusters_done: dict[str, list[str]] = {}
        for m in done:
            clusters_done.setdefault(m.survivor_id, [m.survivor_id]).append(m.merged_id)
        summary.merges += len(done)
        summary.clusters_merged += len(clusters_done)
        for survivor, *others in clusters_done.values():
            members = [survivor, *others]
            for i, a in enumerate(members):
                for b in members[i + 1 :]:
                    key = (min(a, b), max(a, b))
                    settled[key] = merge_ids[b if b != survivor else a]
        block.clear()

    for members in clusters:
        block.append(sorted(members))
        if len(block) >= _MERGES_PER_TRANSACTION:
            flush()
    if block:
        flush()
    return settled
