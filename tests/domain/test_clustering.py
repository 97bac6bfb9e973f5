"""Clusters from scored pairs, and the guard against chaining different people."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from clientela.domain.clustering import cluster_pairs


def test_transitive_matches_form_one_cluster() -> None:
    scores = {("a", "b"): 0.999, ("b", "c"): 0.995, ("a", "c"): 0.97}
    result = cluster_pairs(scores, threshold=0.99)
    assert result.clusters == [["a", "b", "c"]]
    assert result.held_back == []


def test_a_pair_a_person_rejected_splits_the_chain() -> None:
    scores = {("a", "b"): 0.991, ("b", "c"): 0.9995, ("a", "c"): 0.0}
    result = cluster_pairs(scores, threshold=0.99, rejected={("a", "c")})
    assert result.clusters == [["b", "c"]]
    assert result.held_back == [("a", "b")]


def test_corrupted_copies_of_one_record_stay_one_cluster() -> None:
    # Two heavily corrupted copies score low against each other, high against the original.
    scores = {("a", "b"): 0.999, ("a", "c"): 0.998, ("b", "c"): 0.0001}
    assert cluster_pairs(scores, threshold=0.99).clusters == [["a", "b", "c"]]


def test_one_weak_link_does_not_join_two_people() -> None:
    # a1~a2 and b1~b2 are sure; a single doubtful a2~b1 link would make one cluster of four.
    scores = {("a1", "a2"): 0.9999, ("b1", "b2"): 0.9999, ("a2", "b1"): 0.992}
    result = cluster_pairs(scores, threshold=0.99)
    assert result.clusters == [["a1", "a2"], ["b1", "b2"]]
    assert result.held_back == [("a2", "b1")]


def test_long_chains_are_not_merged_blindly() -> None:
    chain = {(f"n{i}", f"n{i + 1}"): 0.995 for i in range(6)}
    result = cluster_pairs(chain, threshold=0.99)
    assert result.clusters == []
    assert sorted(result.held_back) == sorted(chain)


def test_oversized_clusters_are_split_at_a_stricter_threshold() -> None:
    star = {("hub", f"x{i:02d}"): 0.995 for i in range(20)}
    star[("hub", "x00")] = 0.99999
    result = cluster_pairs(star, threshold=0.99, max_size=10)
    assert result.clusters == [["hub", "x00"]]
    assert len(result.held_back) == 19


ids = st.sampled_from([f"p{i}" for i in range(8)])


@given(
    st.dictionaries(
        st.tuples(ids, ids).filter(lambda t: t[0] < t[1]).map(tuple),
        st.floats(0, 1),
        max_size=20,
    )
)
def test_every_strong_pair_is_clustered_or_held_back(scores: dict[tuple[str, str], float]) -> None:
    result = cluster_pairs(scores, threshold=0.9, max_size=5)
    members = [m for cluster in result.clusters for m in cluster]
    assert len(members) == len(set(members))  # a profile is in one cluster at most
    assert all(2 <= len(cluster) <= 5 for cluster in result.clusters)
    cluster_of = {m: i for i, cluster in enumerate(result.clusters) for m in cluster}
    for (a, b), p in scores.items():
        if p >= 0.9:
            together = a in cluster_of and cluster_of.get(a) == cluster_of.get(b)
            assert together or (a, b) in result.held_back
