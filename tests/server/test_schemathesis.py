"""Property-based run over the server's own OpenAPI document (schemathesis): for generated
requests to every operation, no answer is a 5xx and every answer matches the documented schema.
Bounded: a few examples per operation, against a real server over SQLite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance

from tests.server._running import RunningServer, running_server
from tests.server.conftest import server_store

# Dataset uploads are Parquet bodies; generated binary bodies are sent as they are (the server
# must refuse a body that is not Parquet with a 400).
schemathesis.serializer.alias("application/vnd.apache.parquet", "application/octet-stream")


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    tmp = tmp_path_factory.mktemp("fuzz")
    with running_server(server_store(tmp, f"sqlite:///{tmp / 'fuzz.db'}")) as server:
        yield server


@pytest.fixture(scope="module")
def api_schema(fuzzed_server: RunningServer) -> schemathesis.BaseSchema:
    loaded = schemathesis.openapi.from_url(f"{fuzzed_server.url}/openapi.json")
    # Logging out would revoke the token the run itself uses.
    return loaded.exclude(path="/api/v1/auth/logout")


def test_no_5xx_and_answers_match_the_schema(api_schema: schemathesis.BaseSchema, fuzzed_server: RunningServer) -> None:
    # Driven with Hypothesis directly: schemathesis' pytest plugin does not load under pytest 9.
    headers = {"Authorization": f"Bearer {fuzzed_server.admin_token}"}
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 50
    for operation in operations:

        @settings(
            max_examples=4, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
        )
        @given(case=operation.as_strategy())
        def exercise(case: schemathesis.Case) -> None:
            case.call_and_validate(
                base_url=fuzzed_server.url,
                headers=headers,
                checks=[not_a_server_error, response_schema_conformance, status_code_conformance],
                timeout=30,
            )

        try:
            exercise()
        except BaseException as exc:  # a failed check is a group, not an Exception: collect, then report
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures.append(f"{operation.label}: {str(exc)[:600]}")
    assert failures == [], "\n\n".join(failures)
