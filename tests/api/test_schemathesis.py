"""Property-based fuzzing of the whole API from its own OpenAPI document (bounded: 200 examples
per operation, half valid, half invalid), and statefully: sequences of calls chained by the links
schemathesis infers (a customer, purpose, segment or request created, then read, changed,
acted on and deleted through the id it came back with).

No 5xx, no status code, content type or body that the schema does not declare, invalid input
always refused with a 4xx, no operation that answers without its key, nothing deleted still
served, nothing created missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ensure_resource_availability,
    ignored_auth,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
    use_after_free,
)

from clientela.api.app import create_app
from clientela.exports import destinations
from clientela.settings import Settings
from clientela.storage.store import Store
from tests import factories
from tests.conftest import _migrate, api_key_for

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
EXAMPLES = 200
#: Operations that run a whole batch job per call get fewer examples (each is a Splink run).
BATCH_JOB_EXAMPLES = {"POST /api/v1/dedupe/runs": 30}


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    path: Path = tmp_path_factory.mktemp("fuzz") / "clientela.db"
    _migrate(f"sqlite+pysqlite:///{path}")
    store = Store(f"sqlite+pysqlite:///{path}", keyring=factories.TEST_KEYRING)
    token = api_key_for(store)
    app = create_app(Settings(data_dir=path.parent, dedupe_u_max_pairs=1e4), store)
    with pytest.MonkeyPatch.context() as patch:
        # fuzzed destinations are real https URLs: deliveries never leave the machine
        patch.setattr(destinations, "_post", lambda url, body, headers: 200)
        yield app, token
    store.dispose()


def _cases() -> list[tuple[str, GenerationMode]]:
    """Every operation with valid input, and with invalid input where it takes any input."""
    schema = schemathesis.openapi.from_asgi(
        "/api/openapi.json",
        create_app(Settings(), Store("sqlite://", keyring=factories.TEST_KEYRING)),
    )
    cases = []
    for result in schema.get_all_operations():
        operation = result.ok()
        cases.append((operation.label, GenerationMode.POSITIVE))
        inputs = len(operation.query) + len(operation.path_parameters) + len(operation.body)
        if inputs:
            cases.append((operation.label, GenerationMode.NEGATIVE))
    assert len(cases) >= 20
    return cases


@pytest.mark.parametrize(("label", "mode"), _cases())
def test_api_conforms_to_its_schema(
    label: str, mode: GenerationMode, fuzz_target: tuple[Any, str]
) -> None:
    app, token = fuzz_target
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    operation = next(r.ok() for r in schema.get_all_operations() if r.ok().label == label)
    headers = {"Authorization": f"Bearer {token}"}

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=BATCH_JOB_EXAMPLES.get(label, EXAMPLES) // 2,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


STATEFUL_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    ignored_auth,
    use_after_free,
    ensure_resource_availability,
]
STATEFUL_SCENARIOS = 100
STATEFUL_STEPS = 8


class _FreshStorePerScenario:
    """The API under a stateful run: each scenario starts on an empty store (a copy of the
    migrated template with one admin key), so a scenario never sees what an earlier one left —
    Hypothesis replays scenarios and needs them to behave the same each time."""

    def __init__(self, folder: Path, template: bytes) -> None:
        self.folder, self.template = folder, template
        self.count = 0
        self.app: Any = None
        self.store: Store | None = None
        self.token = ""

    def reset(self) -> None:
        self.close()
        self.count += 1
        path = self.folder / f"scenario-{self.count}.db"
        path.write_bytes(self.template)
        self.store = Store(f"sqlite+pysqlite:///{path}", keyring=factories.TEST_KEYRING)
        self.token = api_key_for(self.store)
        settings_ = Settings(data_dir=self.folder, dedupe_u_max_pairs=1e4)
        self.app = create_app(settings_, self.store)

    def close(self) -> None:
        if self.store is not None:
            self.store.dispose()
            self.store = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def test_api_call_sequences_hold_together(
    tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(destinations, "_post", lambda url, body, headers: 200)
    target = _FreshStorePerScenario(tmp_path, request.getfixturevalue("_sqlite_template"))
    target.reset()
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", target)
    workflow = schema.as_state_machine()
    transitions = [name for name in dir(workflow) if "___" in name]
    assert len(transitions) >= 20, "the links between operations are no longer inferred"

    class Authenticated(workflow):  # type: ignore[misc,valid-type]
        def setup(self) -> None:
            target.reset()

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": {"Authorization": f"Bearer {target.token}"}}

        def validate_response(
            self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            case.validate_response(response, checks=STATEFUL_CHECKS, transport_kwargs=kwargs)

    try:
        Authenticated.run(
            settings=settings(
                max_examples=STATEFUL_SCENARIOS,
                stateful_step_count=STATEFUL_STEPS,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
            )
        )
    finally:
        target.close()


LEAK_EXAMPLES = 25


@pytest.fixture(scope="module")
def analyst_target(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Any, str, list[str]]]:
    """A store with people in it, and an analyst's key: analysts never see documents, birth
    dates or whole e-mail addresses."""
    path: Path = tmp_path_factory.mktemp("leaks") / "clientela.db"
    _migrate(f"sqlite+pysqlite:///{path}")
    store = Store(f"sqlite+pysqlite:///{path}", keyring=factories.TEST_KEYRING)
    settings_ = Settings(data_dir=path.parent)
    secrets_ = []
    for n in range(5):
        person = factories.stored_customer(
            store, settings_, email=f"leak.probe.{n}@example.com", document=factories.cpf(7000 + n)
        )
        secrets_ += [person["email"], person["document"], str(person["birth_date"])]
    token = api_key_for(store, "analyst")
    yield create_app(settings_, store), token, secrets_
    store.dispose()


def _reads() -> list[str]:
    schema = schemathesis.openapi.from_asgi(
        "/api/openapi.json",
        create_app(Settings(), Store("sqlite://", keyring=factories.TEST_KEYRING)),
    )
    return sorted(
        r.ok().label
        for r in schema.get_all_operations()
        if r.ok().method.upper() in ("GET", "POST")
        and "/api/v1/" in r.ok().path
        and (r.ok().method.upper() == "GET" or r.ok().path.endswith(("/search", "/lookup")))
    )


@pytest.mark.parametrize("label", _reads())
def test_no_response_shows_an_analyst_what_the_role_hides(
    label: str, analyst_target: tuple[Any, str, list[str]]
) -> None:
    app, token, hidden = analyst_target
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    operation = next(r.ok() for r in schema.get_all_operations() if r.ok().label == label)
    headers = {"Authorization": f"Bearer {token}"}

    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    @settings(
        max_examples=LEAK_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: Any) -> None:
        response = case.call(headers=headers)
        assert response.status_code < 500, response.text
        for value in hidden:
            assert value not in response.text, f"{label} showed an analyst {value!r}"

    run()
