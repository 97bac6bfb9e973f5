"""The probabilistic duplicate model: Splink (Fellegi-Sunter) on DuckDB, or on Spark for scale.

Profiles are folded into comparison columns (case and accents removed, phone tails, mailbox
names and what they add to their owner's names), comparisons and blocking rules are chosen from
the columns the store actually fills, u is trained by random sampling and m by expectation
maximisation — no hand-set weights. A trained model is a Splink settings dict (JSON) and is
stored, versioned, by the caller.
"""

from __future__ import annotations

import logging
import math
import re
import shutil
import tempfile
import weakref
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from clientela.domain.values import search_key
from clientela.storage.repositories.dedupe import MATCH_COLUMNS

__all__ = [
    "COLUMNS",
    "ScoredPair",
    "count_exact_u",
    "fill_rates",
    "predict",
    "prepare",
    "train",
]

logger = logging.getLogger("clientela.dedupe")
# Splink reports progress and untrained levels (a level no pair fell in) at INFO/WARNING.
logging.getLogger("splink").setLevel(logging.ERROR)

#: Columns derived from a stored one, placed after it.
_DERIVED = {"email": ("email_user", "email_mark"), "phone": ("phone_tail",)}
#: Comparison columns, in the order ``prepare`` builds them.
COLUMNS = (
    "unique_id",
    *(name for column in MATCH_COLUMNS for name in (column, *_DERIVED.get(column, ()))),
)
#: A column filled on fewer profiles than this is left out of the model: EM cannot learn it.
MIN_FILL = 0.01
_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]")
_NOT_DIGIT = re.compile(r"\D")
_UNSEEN = object()
_FOLD_CACHE = 200_000


class TrainingFailed(ValueError):
    """The profiles give too little to learn from (too few, or too few alike)."""


class ScoredPair(NamedTuple):
    """A pair of profiles and its score (a tuple: a run builds hundreds of thousands)."""

    left_id: str
    right_id: str
    probability: float
    match_weight: float
    #: comparison -> {"level": label, "weight": match weight (log2 Bayes factor)}
    explanation: dict[str, dict[str, Any]]


def _fold(value: Any) -> str | None:
    if value is None:
        return None
    text = search_key(str(value))
    return text or None


def _digits(value: Any) -> str | None:
    if value is None:
        return None
    text = _NOT_DIGIT.sub("", str(value))
    return text or None


def mailbox_mark(user: str | None, given: str | None, family: str | None) -> str | None:
    """What a mailbox name says beyond its owner's (folded) names ("maria.silva1987" ->
    "1987"), or None when it says next to nothing ("maria.silva", "msilva"). Namesakes pick the
    same names for their mailboxes, so only this remainder tells two people apart."""
    if not user:
        return None
    rest = _NOT_ALNUM.sub("", _fold(user) or "")
    tokens = {t for name in (given, family) if name for t in _NOT_ALNUM.split(name) if len(t) > 1}
    for token in sorted(tokens, key=len, reverse=True):
        rest = rest.replace(token, "", 1)
    return rest if len(rest) > 1 else None


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value) if value else None


def prepare(rows: Iterable[Sequence[Any]]) -> pa.Table:
    """Arrow table of comparison columns from ``(id, changed, *MATCH_COLUMNS, ...)`` rows, as
    the match-candidate repository reads them (the second value and any after the match
    columns are not used here)."""
    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    at = {name: i for i, name in enumerate(("id", "changed", *MATCH_COLUMNS))}
    # names, cities and regions repeat across a million people: fold each spelling once
    folds: dict[Any, str | None] = {}

    def fold_common(value: Any) -> str | None:
        if value is None:
            return None
        found = folds.get(value, _UNSEEN)
        if found is _UNSEEN:
            if len(folds) >= _FOLD_CACHE:
                folds.clear()
            found = folds[value] = _fold(value)
        return found  # type: ignore[return-value]

    add = {name: values.append for name, values in columns.items()}
    i_email, i_phone, i_postal, i_country = (
        at[n] for n in ("email", "phone", "postal_code", "country")
    )
    i_given, i_family, i_birth, i_document = (
        at[n] for n in ("given_name", "family_name", "birth_date", "document")
    )
    folded = [(add[n], at[n], _fold) for n in ("address_line1", "address_line2")] + [
        (add[n], at[n], fold_common) for n in ("city", "region")
    ]
    for row in rows:
        email = str(row[i_email]).lower() if row[i_email] else None
        phone = _digits(row[i_phone])
        postal = row[i_postal]
        country = row[i_country]
        add["unique_id"](str(row[0]))
        given = fold_common(row[i_given])
        family = fold_common(row[i_family])
        user = email.split("@", 1)[0] if email else None
        add["given_name"](given)
        add["family_name"](family)
        add["birth_date"](_iso(row[i_birth]))
        add["email"](email)
        add["email_user"](user)
        add["email_mark"](mailbox_mark(user, given, family))
        add["phone"](phone)
        add["phone_tail"](phone[-8:] if phone else None)
        add["document"](_digits(row[i_document]))
        for append, position, fold in folded:
            append(fold(row[position]))
        add["postal_code"](_NOT_ALNUM.sub("", str(postal)).upper() or None if postal else None)
        add["country"](str(country).upper() if country else None)
    return pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()})


def fill_rates(table: pa.Table) -> dict[str, float]:
    """Share of profiles with each column, and how far the postal code decides the city."""
    rows = max(table.num_rows, 1)
    rates = {name: 1 - table.column(name).null_count / rows for name in COLUMNS[1:]}
    rates["postal_city_dependence"] = _postal_city_dependence(table)
    return rates


def _postal_city_dependence(table: pa.Table) -> float:
    """Share of (postal code, city) rows whose city is the most common one of their postal code:
    near 1 where postal codes lie in one city (real addresses), low where they were drawn
    independently."""
    both = table.select(["postal_code", "city"]).filter(
        pc.and_(pc.is_valid(table.column("postal_code")), pc.is_valid(table.column("city")))
    )
    if both.num_rows == 0:
        return 0.0
    counts = both.group_by(["postal_code", "city"]).aggregate([([], "count_all")])
    top = counts.group_by("postal_code").aggregate([("count_all", "max")])
    agreeing = pc.sum(top.column("count_all_max")).as_py()
    rows: int = both.num_rows
    return float(agreeing or 0) / rows


def _filled(fill: dict[str, float], *names: str) -> bool:
    return all(fill.get(name, 0.0) >= MIN_FILL for name in names)


def _comparisons(fill: dict[str, float]) -> list[Any]:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    chosen: list[Any] = []
    if _filled(fill, "given_name", "family_name"):
        # Handles swapped given and family names and fuzzy spellings of both.
        chosen.append(cl.ForenameSurnameComparison("given_name", "family_name"))
    else:
        for name in ("given_name", "family_name"):
            if _filled(fill, name):
                chosen.append(cl.NameComparison(name).configure(term_frequency_adjustments=False))
    if _filled(fill, "birth_date"):
        b = "birth_date"
        swapped = (
            f"substr({b}_l, 1, 4) = substr({b}_r, 1, 4) AND "
            f"substr({b}_l, 6, 2) = substr({b}_r, 9, 2) AND "
            f"substr({b}_l, 9, 2) = substr({b}_r, 6, 2)"
        )
        chosen.append(
            cl.CustomComparison(
                output_column_name=b,
                comparison_levels=[
                    cll.NullLevel(b),
                    cll.ExactMatchLevel(b),
                    cll.CustomLevel(swapped, "day and month swapped"),
                    cll.DamerauLevenshteinLevel(b, 1),
                    cll.AbsoluteDateDifferenceLevel(
                        b, input_is_string=True, threshold=1, metric="year"
                    ),
                    cll.AbsoluteDateDifferenceLevel(
                        b, input_is_string=True, threshold=10, metric="year"
                    ),
                    cll.ElseLevel(),
                ],
            )
        )
    if _filled(fill, "email"):
        # Mailbox names are made of their owners' names: "maria.silva" at two providers is as
        # often two Marias as one, and the name comparison has counted that already (Splink's
        # fuzzy e-mail levels joined namesakes on their names a second time). Only what a
        # mailbox name adds to the name (digits, nicknames) is evidence; without it, none.
        chosen.append(
            cl.CustomComparison(
                output_column_name="email",
                comparison_levels=[
                    cll.NullLevel("email_mark"),
                    cll.ExactMatchLevel("email"),
                    cll.ExactMatchLevel("email_user"),
                    cll.And(
                        cll.ExactMatchLevel("email_mark"),
                        cll.DamerauLevenshteinLevel("email_user", 2),
                    ),
                    cll.ElseLevel(),
                ],
            )
        )
    if _filled(fill, "phone"):
        chosen.append(
            cl.CustomComparison(
                output_column_name="phone",
                comparison_levels=[
                    cll.NullLevel("phone"),
                    cll.ExactMatchLevel("phone"),
                    cll.ExactMatchLevel("phone_tail"),
                    cll.DamerauLevenshteinLevel("phone", 1),
                    cll.ElseLevel(),
                ],
            )
        )
    if _filled(fill, "document"):
        chosen.append(cl.DamerauLevenshteinAtThresholds("document", [1]))
    if _filled(fill, "address_line1"):
        chosen.append(cl.LevenshteinAtThresholds("address_line1", [1, 3]))
    if _filled(fill, "address_line2"):
        chosen.append(cl.JaroWinklerAtThresholds("address_line2", [0.9]))
    # City and postal code say much the same thing (a postal code lies in one city): one
    # comparison of both, or the model counts the same evidence twice and joins neighbours.
    # Splink's postcode comparison is for UK postcodes; CEP and ZIP are compared as text.
    if _filled(fill, "city", "postal_code") and fill.get("postal_city_dependence", 0) >= 0.8:
        chosen.append(
            cl.CustomComparison(
                output_column_name="place",
                comparison_levels=[
                    cll.CustomLevel(
                        "(postal_code_l IS NULL OR postal_code_r IS NULL) AND "
                        "(city_l IS NULL OR city_r IS NULL)",
                        "missing",
                    ).configure(is_null_level=True),
                    cll.And(cll.ExactMatchLevel("postal_code"), cll.ExactMatchLevel("city")),
                    cll.ExactMatchLevel("postal_code"),
                    cll.And(
                        cll.LevenshteinLevel("postal_code", 1), cll.LevenshteinLevel("city", 2)
                    ),
                    cll.LevenshteinLevel("city", 2),
                    cll.LevenshteinLevel("postal_code", 1),
                    cll.ElseLevel(),
                ],
            )
        )
    else:
        if _filled(fill, "city"):
            chosen.append(cl.LevenshteinAtThresholds("city", [1, 2]))
        if _filled(fill, "postal_code"):
            chosen.append(cl.LevenshteinAtThresholds("postal_code", [1]))
    if _filled(fill, "region"):
        chosen.append(cl.ExactMatch("region"))
    if _filled(fill, "country"):
        chosen.append(cl.ExactMatch("country"))
    return chosen


def _blocking_rules(fill: dict[str, float]) -> list[Any]:
    """Pairs a rule lets through are scored; blocking recall decides overall recall."""
    from splink import block_on

    rules: list[Any] = []
    names = _filled(fill, "given_name", "family_name")
    if names:
        rules.append(block_on("given_name", "family_name"))
        # Swapped given and family names (symmetric, so one rule whichever side is left).
        rules.append("l.given_name = r.family_name AND l.family_name = r.given_name")
        # Typos late in both names: same beginnings and the same year of birth.
        if _filled(fill, "birth_date"):
            rules.append(
                block_on(
                    "substr(given_name, 1, 3)",
                    "substr(family_name, 1, 3)",
                    "substr(birth_date, 1, 4)",
                )
            )
        else:
            rules.append(block_on("substr(given_name, 1, 3)", "substr(family_name, 1, 3)"))
    if _filled(fill, "birth_date"):
        rules.append(block_on("birth_date"))
    if _filled(fill, "postal_code"):
        if names:
            rules.append(block_on("postal_code", "substr(given_name, 1, 1)"))
            rules.append(block_on("postal_code", "substr(family_name, 1, 1)"))
        if _filled(fill, "address_line1"):
            rules.append(block_on("postal_code", "substr(address_line1, 1, 4)"))
    if _filled(fill, "address_line1"):
        rules.append(block_on("address_line1"))
    if _filled(fill, "city") and _filled(fill, "family_name"):
        rules.append(block_on("city", "substr(family_name, 1, 3)", "substr(given_name, 1, 1)"))
    for column in ("email", "email_user", "phone_tail", "document"):
        if _filled(fill, column):
            rules.append(block_on(column))
    return rules


def _prior(rows: int) -> float:
    """Probability that two random profiles are one person, if one in a hundred has a twin."""
    return min(0.5, 0.01 / max(rows - 1, 1))


def _deterministic_rules(fill: dict[str, float]) -> list[Any]:
    from splink import block_on

    # Not e-mail, phone or document: they are identities, so no two profiles share one.
    rules: list[Any] = []
    if _filled(fill, "given_name", "family_name", "birth_date"):
        rules.append(block_on("given_name", "family_name", "birth_date"))
    if _filled(fill, "given_name", "family_name", "postal_code"):
        rules.append(block_on("given_name", "family_name", "postal_code"))
    return rules


def _training_blocks(fill: dict[str, float]) -> list[Any]:
    """EM sessions: each comparison is learned in a session that does not block on it. E-mail,
    phone and document are identities, unique in the store, so no session blocks on them.

    A session's share of matches is learned by EM itself (Splink's default), not fixed at the
    prior adjusted by the blocked levels' untrained weights: at a million profiles that fixed
    share was far from the block's real one, and EM filled it with different people sharing a
    name (m of an equal birth date fell to 0.66, recall to 0.58). Blocks stay broad on purpose:
    a block of near-certain matches (name and birth date, say) leaves EM nothing to tell
    apart, and it learns "moved" as "different person"."""
    from splink import block_on

    # Blocks on places are avoided while person-level blocks exist: many different people share
    # a postal code, and EM would learn "same household" instead of "same person".
    sessions: list[Any] = []
    if _filled(fill, "given_name", "family_name"):
        sessions.append(block_on("given_name", "family_name"))
    if _filled(fill, "birth_date"):
        sessions.append(block_on("birth_date"))
    for column in ("postal_code", "city"):
        if len(sessions) >= 2:
            break
        if _filled(fill, column):
            sessions.append(block_on(column))
    return sessions


def _database(backend: str, memory_limit: str | None = None) -> Any:
    if backend == "spark":  # pragma: no cover - needs pyspark and Java
        from pyspark.sql import SparkSession
        from splink import SparkAPI

        return SparkAPI(spark_session=SparkSession.builder.getOrCreate())  # type: ignore[no-untyped-call]
    import duckdb
    from splink import DuckDBAPI

    if memory_limit is None:
        return DuckDBAPI()
    # Past the limit DuckDB spills to disk instead of growing: a run on a large store stays
    # within the machine's memory, beside the profiles and pairs held in Python. The spill
    # directory goes with the connection (a server runs many dedupe runs).
    spill = tempfile.mkdtemp(prefix="clientela-duckdb-")
    connection = duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": spill})
    database = DuckDBAPI(connection=connection)
    weakref.finalize(database, shutil.rmtree, spill, ignore_errors=True)
    return database


def _settings(fill: dict[str, float]) -> Any:
    from splink import SettingsCreator

    comparisons = _comparisons(fill)
    if not comparisons:
        raise TrainingFailed("no column is filled on enough profiles to compare them")
    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=_blocking_rules(fill),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=True,
    )


def train(
    table: pa.Table,
    *,
    u_max_pairs: float = 5e6,
    em_max_pairs: float | None = 2e6,
    seed: int = 7,
    backend: str = "duckdb",
    memory_limit: str | None = None,
) -> dict[str, Any]:
    """A trained model (Splink settings with m and u) for these profiles. ``em_max_pairs``
    samples each EM session's block (records drawn on both sides, so its share of matches is
    kept): EM needs a few million pairs, not the tens of millions a large store's block holds."""
    from splink import Linker
    from splink.internals.exceptions import SplinkException

    fill = fill_rates(table)
    database = _database(backend, memory_limit)
    linker = Linker(database.register(table), _settings(fill), log_level=None)
    deterministic = _deterministic_rules(fill)
    try:
        if deterministic:
            linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.7)
        linker.training.estimate_u_using_random_sampling(max_pairs=u_max_pairs, seed=seed)
    except SplinkException as exc:
        raise TrainingFailed(str(exc)[:200]) from None
    counted = linker.misc.save_model_to_json()
    if count_exact_u(counted, table):
        linker = Linker(database.register(table), counted, log_level=None)
    trained = 0
    for block in _training_blocks(fill):
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                block, max_pairs=em_max_pairs
            )
            trained += 1
        except (ValueError, SplinkException) as exc:
            # Too few pairs in the block (a small store): EM drives a level to m = 0, which
            # Splink refuses. The other sessions still train; say which one was skipped.
            logger.warning("EM session skipped (%s): %s", block, str(exc)[:120])
    if not trained:
        raise TrainingFailed("too few similar profiles to learn what a duplicate looks like")
    model = linker.misc.save_model_to_json()
    model["clientela"] = {"fill": fill, "rows": table.num_rows}
    return model


_NULL_GROUP = re.compile(r'^\(?\s*"?(\w+)_l"? IS NULL OR "?\1_r"? IS NULL\s*\)?$')
_EQUAL_TERM = re.compile(r'^\(?\s*"?(\w+)_l"? = "?\1_r"?\s*\)?$')


def count_exact_u(model: dict[str, Any], table: pa.Table) -> dict[str, float]:
    """Set u of each comparison's first level, where that level is exact agreement on the
    columns its null level names, to the share of all pairs (outside the null level) that
    agree exactly — counted from value frequencies, not sampled — and scale the other levels'
    sampled u to the rest. Returns the values set, by comparison.

    Why: Splink samples records, then pairs them, so a sampled u of a rare agreement (an equal
    birth date: 4e-5) varies by 10-20% with the sample, that is with the store's ids; at a
    million profiles the weight of a common pattern (same name and birth date, moved) then fell
    on either side of the auto-merge threshold, and recall went 0.92 or 0.58 with the store."""
    counted: dict[str, float] = {}
    for comparison in model["comparisons"]:
        levels = comparison["comparison_levels"]
        nulls = [level for level in levels if level.get("is_null_level")]
        others = [level for level in levels if not level.get("is_null_level")]
        if len(nulls) != 1 or len(others) < 2:
            continue
        null_columns = _terms(nulls[0]["sql_condition"], _NULL_GROUP)
        equal_columns = _terms(others[0]["sql_condition"], _EQUAL_TERM)
        if not null_columns or sorted(null_columns) != sorted(equal_columns or []):
            continue
        outside = _pairs_outside_null_level(table, null_columns)
        present = table.select(null_columns)
        for name in null_columns:
            present = present.filter(pc.is_valid(present.column(name)))
        sizes = present.group_by(null_columns).aggregate([([], "count_all")])
        agreeing = sum(math.comb(n, 2) for n in sizes.column("count_all").to_pylist())
        u = agreeing / outside if outside else 0.0
        rest = sum(level.get("u_probability") or 0.0 for level in others[1:])
        if not 0 < u < 1 or rest <= 0:
            continue
        others[0]["u_probability"] = u
        for level in others[1:]:
            if level.get("u_probability") is not None:
                level["u_probability"] *= (1 - u) / rest
        counted[comparison["output_column_name"]] = u
    return counted


def _terms(condition: str, term: re.Pattern[str]) -> list[str] | None:
    """The columns of a condition made of ``term`` alone, joined by AND; None otherwise."""
    columns = []
    for part in re.split(r"\s+AND\s+", condition.strip()):
        match = term.match(part.strip())
        if match is None:
            return None
        columns.append(match.group(1))
    return columns


def _pairs_outside_null_level(table: pa.Table, columns: list[str]) -> int:
    """Pairs of rows outside a null level "for every column, one side null", counted from how
    many rows have each pattern of nulls."""
    flags = pa.table({name: pc.is_null(table.column(name)) for name in columns})
    patterns = {
        tuple(bool(row[name]) for name in columns): int(row["count_all"])
        for row in flags.group_by(columns).aggregate([([], "count_all")]).to_pylist()
    }
    inside = 0
    ordered = sorted(patterns)
    for i, a in enumerate(ordered):
        for b in ordered[i:]:
            if all(x or y for x, y in zip(a, b, strict=True)):
                inside += math.comb(patterns[a], 2) if a == b else patterns[a] * patterns[b]
    return math.comb(table.num_rows, 2) - inside


def _tf_columns(model: dict[str, Any]) -> list[str]:
    return sorted(
        {
            level["tf_adjustment_column"]
            for comparison in model["comparisons"]
            for level in comparison["comparison_levels"]
            if level.get("tf_adjustment_column")
        }
    )


def _level_weights(model: dict[str, Any]) -> dict[str, list[tuple[float, str]]]:
    """Per comparison, each level's match weight log2(m/u) and label: the predicted weight of a
    pair names the level it fell in."""
    levels: dict[str, list[tuple[float, str]]] = {}
    for comparison in model["comparisons"]:
        found: list[tuple[float, str]] = [(0.0, "missing")]
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            m = level.get("m_probability") or 1e-12
            u = level.get("u_probability") or 1e-12
            found.append((math.log2(m / u), str(level.get("label_for_charts", ""))))
        levels[comparison["output_column_name"]] = found
    return levels


def predict(
    model: dict[str, Any],
    table: pa.Table,
    *,
    new_ids: set[str] | None = None,
    threshold: float = 0.5,
    backend: str = "duckdb",
    memory_limit: str | None = None,
    batch_size: int = 50_000,
) -> Iterator[list[ScoredPair]]:
    """Scored pairs at or above ``threshold``. With ``new_ids``, only pairs that involve a new
    profile (new against existing, and new against new), so an incremental run costs in
    proportion to what changed."""
    from splink import Linker

    settings = {k: v for k, v in model.items() if k != "clientela"}
    database = _database(backend, memory_limit)
    everyone = database.register(table)
    linker = Linker(everyone, settings, log_level=None)
    if new_ids is None:
        results = [linker.inference.predict(threshold_match_probability=threshold)]
    else:
        # Term frequencies come from every profile, new and existing.
        for column in _tf_columns(settings):
            linker.table_management.compute_tf_table(column)
        is_new = pc.is_in(table.column("unique_id"), value_set=pa.array(sorted(new_ids)))
        new_table = table.filter(is_new)
        old_table = table.filter(pc.invert(is_new))
        new = database.register(new_table)
        results = [
            linker.inference.predict_within(
                new, threshold_match_probability=threshold, warning_mode="never"
            )
        ]
        if old_table.num_rows:
            results.append(
                linker.inference.predict_between(
                    new,
                    database.register(old_table),
                    threshold_match_probability=threshold,
                    warning_mode="never",
                )
            )
    labels = _level_weights(settings)
    for result in results:
        arrow = result.as_pyarrow_table()  # type: ignore[no-untyped-call]
        yield from _pairs(arrow, labels, batch_size)


def _pairs(
    arrow: pa.Table, levels: dict[str, list[tuple[float, str]]], batch_size: int
) -> Iterator[list[ScoredPair]]:
    names = [name for name in levels if f"mw_{name}" in arrow.column_names]
    for batch in arrow.to_batches(max_chunksize=batch_size):
        lefts = batch.column("unique_id_l").to_pylist()
        rights = batch.column("unique_id_r").to_pylist()
        probabilities = batch.column("match_probability").to_pylist()
        weights = batch.column("match_weight").to_pylist()
        comparisons = []
        for name in names:
            values = batch.column(f"mw_{name}").to_pylist()
            # A comparison's weight is one of its levels' few values: each distinct one is
            # labelled once, and pairs without a frequency adjustment share its (read-only) part.
            parts = {
                w: {"level": _nearest_label(levels[name], w), "weight": round(w, 3)}
                for w in set(values)
            }
            adjusted = f"mw_tf_adj_{name}"
            adjustments = (
                batch.column(adjusted).to_pylist() if adjusted in batch.schema.names else None
            )
            comparisons.append((name, values, parts, adjustments))
        pairs: list[ScoredPair] = []
        for i, (left, right) in enumerate(zip(lefts, rights, strict=True)):
            if left > right:
                left, right = right, left
            explanation: dict[str, dict[str, Any]] = {}
            for name, values, parts, adjustments in comparisons:
                part = parts[values[i]]
                if adjustments is not None and adjustments[i]:
                    part = {**part, "frequency_adjustment": round(adjustments[i], 3)}
                explanation[name] = part
            pairs.append(ScoredPair(left, right, probabilities[i], weights[i], explanation))
        yield pairs


def _nearest_label(levels: list[tuple[float, str]], weight: float) -> str:
    return min(levels, key=lambda level: abs(level[0] - weight))[1]
