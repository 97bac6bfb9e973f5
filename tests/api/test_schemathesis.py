"""Property-based fuzzing of the whole API from its own OpenAPI document (bounded: 200 examples
per operation, half valid, half invalid).

No 5xx, no status code, content type or body that the schema does not declare, and invalid input
always refused with a 4xx.
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
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
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
