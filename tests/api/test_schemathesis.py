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
