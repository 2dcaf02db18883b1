"""Auto-rollback and auto-promotion: the SLO verdict on figures, and the watcher on a real server."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from modelyard.config import Settings
from modelyard.domain.serving import CanarySLO, EventKind, VariantMode, VariantSpec
from modelyard.errors import InvalidInput
from modelyard.sdk.backends.local import LocalBackend, local_backend
from modelyard.sdk.serving import DeploymentServer, build_app
from modelyard.serving import start_in_thread
from modelyard.serving.slo import Action, CanaryFigures, evaluate, p95
from tests.serving._deployed import FEATURES, AlwaysFails, Constant, classifier, register

SLO = CanarySLO(max_error_rate=0.05, max_p95_ms=50.0, max_disagreement=0.1, min_requests=100, window_s=600)


def figures(**overrides: float) -> CanaryFigures:
    base = {
        "requests": 200,
        "errors": 0,
        "p95_ms": 10.0,
        "disagreement_rate": 0.0,
        "compared_rows": 400,
        "elapsed_s": 60,
    }
    base.update(overrides)
    return CanaryFigures(**base)  # type: ignore[arg-type]


# -- the verdict, on figures --------------------------------------------------------------------------


def test_too_few_requests_decide_nothing_even_when_all_failed_or_the_window_passed() -> None:
    verdict = evaluate(SLO, figures(requests=99, errors=99, elapsed_s=10_000))
    assert verdict.action is Action.WAIT
    assert "99 requests so far" in verdict.reasons[0]


@pytest.mark.parametrize(
    ("overrides", "phrase"),
    [
        ({"errors": 11}, "error rate 5.50% (11/200) above the limit 5.00%"),
        ({"p95_ms": 50.5}, "p95 latency 50.5 ms above the limit 50 ms"),
        ({"disagreement_rate": 0.25}, "disagreement with the primary 25.00% over 400 rows above the limit 10.00%"),
    ],
)
def test_any_breach_rolls_back_before_the_window_ends(overrides: dict[str, float], phrase: str) -> None:
    verdict = evaluate(SLO, figures(**overrides))
    assert verdict.action is Action.ROLLBACK
    assert verdict.reasons == (phrase,)


def test_limits_are_inclusive_and_the_window_decides_promotion() -> None:
    at_limits = figures(errors=10, p95_ms=50.0, disagreement_rate=0.1)
    assert evaluate(SLO, at_limits).action is Action.WAIT
    assert evaluate(SLO, figures(errors=10, elapsed_s=600)).action is Action.PROMOTE


def test_unmeasured_figures_are_reported_not_counted() -> None:
    verdict = evaluate(SLO, figures(disagreement_rate=None, compared_rows=0, elapsed_s=600))
    assert verdict.action is Action.PROMOTE
    assert "disagreement with the primary not measured (no compared rows)" in verdict.reasons
    only_errors = CanarySLO(max_error_rate=0.5, min_requests=10, window_s=600)
    assert evaluate(only_errors, figures(errors=150)).reasons[0].startswith("error rate 75.00%")


def test_p95_is_the_nearest_rank() -> None:
    assert p95([]) is None
    assert p95([7.0]) == 7.0
    assert p95([float(i) for i in range(1, 101)]) == 95.0
    assert p95([float(i) for i in range(1, 21)]) == 19.0


@pytest.mark.parametrize(
    "kwargs",
    [{"max_error_rate": 1.5}, {"max_p95_ms": 0}, {"min_requests": 0}, {"window_s": float("inf")}],
)
def test_bad_slos_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(InvalidInput, match="SLO"):
        CanarySLO(**kwargs)  # type: ignore[arg-type]


# -- the watcher, on a real server --------------------------------------------------------------------


@pytest.fixture
def backend(settings: Settings) -> LocalBackend:
    register(settings, "churn", [classifier(0.0), AlwaysFails(), classifier(0.0), Constant(1)], champion=1)
    return local_backend(settings)


def send_until(url: str, done: Callable[[], bool], timeout: float = 60.0) -> list[tuple[int, str | None]]:
    """Send requests until ``done()``; returns (status, answering version) of each."""
    body = {"records": FEATURES.head(4).to_dict(orient="records")}
    answers: list[tuple[int, str | None]] = []
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=url, timeout=10.0) as client:
        while not done():
            if time.monotonic() > deadline:
                pytest.fail(f"the watcher did not act within {timeout:g} s; answers so far: {len(answers)}")
            response = client.post("/v1/deployments/churn-api/predict", json=body)
            answers.append((response.status_code, response.headers.get("x-modelyard-model-version")))
    return answers


Serve = Callable[[], tuple[DeploymentServer, str]]


@pytest.fixture
def serve(backend: LocalBackend) -> Iterator[Serve]:
    started = []

    def start() -> tuple[DeploymentServer, str]:
        server = build_app(backend, ["churn-api"], reload_interval_s=0.2, watch_interval_s=0.2)
        http = start_in_thread(server.app)
        started.append(http)
        return server, http.url

    yield start
    for http in started:
        http.stop()


def test_a_canary_that_raises_is_rolled_back_on_its_own(backend: LocalBackend, serve: Serve) -> None:
    service = backend.deployments
    service.deploy(
        "churn-api",
        [VariantSpec(uri="models:/churn/1"), VariantSpec(uri="models:/churn/2", mode=VariantMode.CANARY, weight=50)],
        slo=CanarySLO(max_error_rate=0.1, min_requests=20, window_s=3600),
    )
    server, url = serve()
    answers = send_until(url, lambda: not service.get("churn-api").canaries)
    assert {status for status, version in answers if version == "churn/1"} == {200}
    assert any(status == 500 for status, _ in answers)  # the canary did fail callers before the verdict

    event = service.history("churn-api")[-1]
    assert event.kind is EventKind.AUTO_ROLLED_BACK and event.actor == "tester"
    details = event.details
    assert details.decided_by == "slo-watcher" and details.model_version == "churn/2"
    assert details.figures is not None and details.figures["requests"] >= 20
    assert details.figures["errors"] == details.figures["requests"]  # every canary request failed
    assert details.figures["error_rate"] == 1.0
    assert details.action == "rollback"
    assert details.reasons[0].startswith("error rate 100.00%")
    assert event.after is not None and [v["version"] for v in event.after["variants"]] == [1]

    # The server reloads the rolled-back deployment: from then on only the primary answers.
    deadline = time.monotonic() + 30
    while len(server.holder.current.get("churn-api").variants) != 1:
        assert time.monotonic() < deadline, "the rolled-back deployment was not reloaded"
        time.sleep(0.05)
    remaining = [0]

    def hundred_more() -> bool:
        remaining[0] += 1
        return remaining[0] > 100

    assert set(send_until(url, hundred_more)) == {(200, "churn/1")}


def test_a_canary_that_disagrees_is_rolled_back(backend: LocalBackend, serve: Serve) -> None:
    service = backend.deployments
    service.deploy(
        "churn-api",
        [VariantSpec(uri="models:/churn/1"), VariantSpec(uri="models:/churn/4", mode=VariantMode.CANARY, weight=50)],
        slo=CanarySLO(max_error_rate=0.1, max_disagreement=0.1, min_requests=20, window_s=3600),
    )
    _, url = serve()
    send_until(url, lambda: not service.get("churn-api").canaries)
    event = service.history("churn-api")[-1]
    assert event.kind is EventKind.AUTO_ROLLED_BACK
    figures_ = event.details.figures
    assert figures_ is not None
    assert figures_["errors"] == 0 and figures_["compared_rows"] > 0
    assert figures_["disagreement_rate"] > 0.1
    assert "disagreement with the primary" in event.details.reasons[0]


def test_a_healthy_canary_is_promoted_when_the_window_passes(backend: LocalBackend, serve: Serve) -> None:
    service = backend.deployments
    backend.aliases.set("churn", "champion", 1)
    service.deploy(
        "churn-api",
        [VariantSpec(uri="models:/churn/1"), VariantSpec(uri="models:/churn/3", mode=VariantMode.CANARY, weight=50)],
        slo=CanarySLO(max_error_rate=0.0, max_disagreement=0.0, min_requests=20, window_s=1.0),
    )
    _, url = serve()
    answers = send_until(url, lambda: not service.get("churn-api").canaries)
    assert all(status == 200 for status, _ in answers)
    deployment = service.get("churn-api")
    assert deployment.primary is not None and deployment.primary.model_version == "churn/3"
    event = service.history("churn-api")[-1]
    assert event.kind is EventKind.AUTO_PROMOTED
    assert event.details.figures is not None
    assert event.details.figures["disagreement_rate"] == 0.0 and event.details.figures["errors"] == 0
    assert event.details.figures["elapsed_s"] >= 1.0
    # @champion named the old primary, so it follows the promotion (right after it, on the watcher's thread).
    deadline = time.monotonic() + 30
    while backend.aliases.get_version("churn", "champion").version != 3:
        assert time.monotonic() < deadline, "@champion did not follow the promotion"
        time.sleep(0.05)
    moved = backend.audit.search(object_kind="registered_model", object_id="churn", action="alias.set")[-1]
    assert moved.details["previous"] == 1 and moved.details["version"] == 3
