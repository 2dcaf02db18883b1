"""Micro-batching: concurrent requests predicted in one model call, each caller getting its own rows.

The models here are module-level classes (so they pickle and load like any user's pyfunc model)
that append the size of every frame they are given to a file: the batches the server really made.
Their prediction is a function of the input row, so a caller handed a neighbour's rows would see it.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from modelyard.config import Settings
from modelyard.domain.serving import BatchingSpec, EventKind, VariantSpec
from modelyard.errors import InvalidInput
from modelyard.models import Predictor, load_model_dir, save_model
from modelyard.sdk.backends.local import local_backend
from modelyard.sdk.serving import build_app
from modelyard.serving import DeploymentPlan, QueueRequestLogger, ServingPlan, start_in_thread
from modelyard.serving.batching import concat, split
from tests._cli import run_modelyard
from tests._subprocess import child_env
from tests.serving._deployed import FEATURES, register
from tests.serving.conftest import ServerFactory, primary

SPEC = BatchingSpec(max_batch_size=8, max_wait_ms=500)  # long enough to gather on a loaded machine


class BatchRecorder:
    """Predicts ``10 * x1 + x2`` per row and appends every batch size it receives to ``log``."""

    def __init__(self, log: str) -> None:
        self.log = log

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        with open(self.log, "a") as handle:
            handle.write(f"{len(df)}\n")
        return (10 * df["x1"] + df["x2"]).to_numpy()


class BrokenOnBatches:
    """Raises on every call, like a model that cannot take the input it is given."""

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        raise RuntimeError("cannot predict this")


def expected(rows: list[dict[str, float]]) -> list[float]:
    return [10 * r["x1"] + r["x2"] for r in rows]


def batch_sizes(log: Path) -> list[int]:
    return [int(line) for line in log.read_text().split()] if log.exists() else []


def save(model: Any, path: Path) -> Predictor:
    """Save and load ``model``; a recorder's log starts empty (saving predicts the input example)."""
    save_model(model, path, input_example=FEATURES.head(3))
    if isinstance(model, BatchRecorder):
        Path(model.log).unlink(missing_ok=True)
    return load_model_dir(path)


def concurrently(url: str, calls: list[tuple[str, Any]]) -> list[httpx.Response]:
    """POST every ``(path, json body)`` at once, each on its own connection."""

    async def go() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=len(calls))
        async with httpx.AsyncClient(base_url=url, timeout=30.0, limits=limits) as client:
            return await asyncio.gather(*(client.post(path, json=body) for path, body in calls))

    return asyncio.run(go())


def one_row(i: int) -> dict[str, float]:
    return {"x1": float(i), "x2": float(i % 7) / 8}


def test_concurrent_requests_share_batches_and_each_gets_its_own_rows(
    tmp_path: Path, server_factory: ServerFactory
) -> None:
    log = tmp_path / "sizes.txt"
    model = save(BatchRecorder(str(log)), tmp_path / "recorder")
    plan = ServingPlan([DeploymentPlan(name="api", variants=(primary(model),), batching=SPEC)])
    request_log = QueueRequestLogger()
    server = server_factory(plan, request_logger=request_log)

    calls: list[tuple[str, Any]] = []
    sent: list[list[dict[str, float]]] = []
    for i in range(32):
        rows = [one_row(100 * i + k) for k in range(1 + i % 3)]  # 1-3 rows per request
        sent.append(rows)
        if i % 4 == 3:  # MLflow's split format with the columns in the other order
            columns = ["x2", "x1"]
            data = [[r["x2"], r["x1"]] for r in rows]
            calls.append(("/invocations", {"dataframe_split": {"columns": columns, "data": data}}))
        else:
            calls.append(("/v1/deployments/api/predict", {"records": rows}))

    answers = concurrently(server.url, calls)

    for rows, answer in zip(sent, answers, strict=True):
        assert answer.status_code == 200, answer.text
        assert answer.headers["x-modelyard-variant"] == "blue"
        assert answer.headers["x-modelyard-model-version"] == "churn/1"
        assert answer.json()["predictions"] == pytest.approx(expected(rows))
    sizes = batch_sizes(log)
    assert sum(sizes) == sum(len(rows) for rows in sent)
    assert max(sizes) <= SPEC.max_batch_size
    assert max(sizes) > 1, f"no two requests shared a model call: {sizes}"
    assert len(sizes) < len(calls)

    ids = [a.headers["x-request-id"] for a in answers]
    assert len(set(ids)) == len(ids)
    deadline = time.monotonic() + 10
    while request_log.accepted < len(calls) and time.monotonic() < deadline:
        time.sleep(0.02)
    records = {r.request_id: r for r in request_log.drain()}
    assert sorted(records) == sorted(ids)
    for rows, answer in zip(sent, answers, strict=True):
        record = records[answer.headers["x-request-id"]]
        assert len(record.inputs) == len(rows)
        assert list(record.prediction) == pytest.approx(expected(rows))


def test_a_bad_request_is_refused_alone_and_the_batch_goes_on(tmp_path: Path, server_factory: ServerFactory) -> None:
    log = tmp_path / "sizes.txt"
    model = save(BatchRecorder(str(log)), tmp_path / "recorder")
    plan = ServingPlan([DeploymentPlan(name="api", variants=(primary(model),), batching=SPEC)])
    server = server_factory(plan)
    path = "/v1/deployments/api/predict"
    calls: list[tuple[str, Any]] = [(path, {"records": [one_row(i)]}) for i in range(12)]
    calls[5] = (path, {"records": [{"x1": "not a number", "x2": 1.0}]})
    calls[9] = (path, {"records": [{"x1": 1.0}]})

    answers = concurrently(server.url, calls)

    for index, answer in enumerate(answers):
        if index in (5, 9):
            assert answer.status_code == 422, answer.text
            assert answer.json()["details"]["problems"][0]["column"] == ("x1" if index == 5 else "x2")
        else:
            assert answer.status_code == 200, answer.text
            assert answer.json()["predictions"] == pytest.approx(expected([one_row(index)]))
    assert sum(batch_sizes(log)) == 10  # the refused rows never reached the model


def test_a_failing_batch_fails_its_callers_like_an_unbatched_call_and_serving_goes_on(
    tmp_path: Path, server_factory: ServerFactory
) -> None:
    broken = save(BrokenOnBatches(), tmp_path / "broken")
    good = save(BatchRecorder(str(tmp_path / "sizes.txt")), tmp_path / "recorder")
    plan = ServingPlan(
        [
            DeploymentPlan(name="batched", variants=(primary(broken),), batching=SPEC),
            DeploymentPlan(name="plain", variants=(primary(broken),)),
            DeploymentPlan(name="good", variants=(primary(good),), batching=SPEC),
        ]
    )
    server = server_factory(plan)
    body = {"records": [one_row(1)]}
    unbatched = httpx.post(f"{server.url}/v1/deployments/plain/predict", json=body, timeout=10)
    assert unbatched.status_code >= 500

    answers = concurrently(server.url, [("/v1/deployments/batched/predict", body)] * 10)

    for answer in answers:
        assert answer.status_code == unbatched.status_code
        assert answer.json() == unbatched.json()
    oip = concurrently(server.url, [("/v2/models/batched/infer", _oip(one_row(2)))] * 3)
    oip_plain = httpx.post(f"{server.url}/v2/models/plain/infer", json=_oip(one_row(2)), timeout=10)
    assert [a.status_code for a in oip] == [oip_plain.status_code] * 3
    assert all(a.json() == oip_plain.json() for a in oip)
    after = concurrently(server.url, [("/v1/deployments/good/predict", body)] * 4)
    assert [a.status_code for a in after] == [200] * 4


def _oip(row: dict[str, float]) -> dict[str, Any]:
    return {
        "inputs": [{"name": name, "shape": [1], "datatype": "FP64", "data": [value]} for name, value in row.items()]
    }


def test_concat_and_split_keep_rows_in_order() -> None:
    frames = [pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}), pd.DataFrame({"a": [5.0], "b": [6.0]})]
    assert concat(frames).to_dict(orient="list") == {"a": [1.0, 2.0, 5.0], "b": [3.0, 4.0, 6.0]}
    mixed = [pd.DataFrame({"a": [1], "s": ["x"]}), pd.DataFrame({"a": [2], "s": ["y"]})]
    assert concat(mixed).to_dict(orient="list") == {"a": [1, 2], "s": ["x", "y"]}
    parts = split(np.array([[1, 1], [2, 2], [3, 3]]), [2, 1])
    assert [p.tolist() for p in parts] == [[[1, 1], [2, 2]], [[3, 3]]]
    frame_parts = split(pd.DataFrame({"p": [7, 8, 9]}), [1, 2])
    assert [p["p"].tolist() for p in frame_parts] == [[7], [8, 9]]
    with pytest.raises(Exception, match="answered 2 rows for a batch of 3"):
        split(np.array([1, 2]), [2, 1])


@pytest.mark.parametrize(
    ("size", "wait"), [(0, 5.0), (8, -1.0), (8, 1_001.0), (8, float("nan")), (2.5, 5.0), (True, 5.0)]
)
def test_batching_spec_refuses_nonsense(size: Any, wait: float) -> None:
    with pytest.raises(InvalidInput):
        BatchingSpec(max_batch_size=size, max_wait_ms=wait)


def test_batching_is_stored_changed_and_recorded(settings: Settings) -> None:
    register(settings, "churn", [BatchRecorder("/dev/null")], champion=1)
    service = local_backend(settings).deployments

    made = service.deploy(
        "api", [VariantSpec(uri="models:/churn/1")], batching=BatchingSpec(max_batch_size=16, max_wait_ms=2)
    )
    assert service.get("api").batching == BatchingSpec(max_batch_size=16, max_wait_ms=2.0)
    assert made.summary()["batching"] == {"max_batch_size": 16, "max_wait_ms": 2.0}
    # Redeploying (a new canary, say) without naming batching keeps it: it is an operating setting.
    redeployed = service.deploy("api", [VariantSpec(uri="models:/churn/1")])
    assert redeployed.revision == 2 and redeployed.batching == made.batching

    local_backend(settings).identity.create_user("ops", role="contributor")  # a name nobody created is a viewer
    changed = service.set_batching("api", BatchingSpec(max_batch_size=4, max_wait_ms=0), actor="ops")
    assert changed.revision == 3 and service.get("api").batching == BatchingSpec(max_batch_size=4, max_wait_ms=0)
    off = service.set_batching("api", None)
    assert off.revision == 4 and service.get("api").batching is None
    assert service.get("api").variants == made.variants

    events = service.history("api")
    assert [(e.kind, e.actor) for e in events] == [
        (EventKind.DEPLOYED, "tester"),
        (EventKind.DEPLOYED, "tester"),
        (EventKind.BATCHING, "ops"),
        (EventKind.BATCHING, "tester"),
    ]
    assert events[2].before is not None and events[2].after is not None
    assert events[2].before["batching"] == {"max_batch_size": 16, "max_wait_ms": 2.0}
    assert events[2].after["batching"] == {"max_batch_size": 4, "max_wait_ms": 0.0}
    assert events[3].after is not None and events[3].after["batching"] is None


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_batching_set_through_the_service_reaches_a_running_server(settings: Settings, tmp_path: Path) -> None:
    log = tmp_path / "sizes.txt"
    register(settings, "churn", [BatchRecorder(str(log))], champion=1)
    backend = local_backend(settings)
    backend.deployments.deploy("api", [VariantSpec(uri="models:/churn@champion")])
    log.unlink()  # registering predicted the input example
    server = build_app(backend, ["api"], reload_interval_s=0.1)
    running = start_in_thread(server.app)
    path = "/v1/deployments/api/predict"
    calls: list[tuple[str, Any]] = [(path, {"records": [one_row(i)]}) for i in range(16)]
    try:
        before = concurrently(running.url, calls)
        assert batch_sizes(log) == [1] * 16  # no batching: one model call per request

        backend.deployments.set_batching("api", SPEC)
        wait_for(lambda: server.holder.current.get("api").batching == SPEC, "the reload with batching")
        log.unlink()
        during = concurrently(running.url, calls)
        assert max(batch_sizes(log)) > 1 and sum(batch_sizes(log)) == 16

        backend.deployments.set_batching("api", None)
        wait_for(lambda: server.holder.current.get("api").batching is None, "the reload without batching")
        log.unlink()
        after = concurrently(running.url, calls)
        assert batch_sizes(log) == [1] * 16
    finally:
        running.stop()

    answers = [*before, *during, *after]
    assert all(a.status_code == 200 for a in answers)
    for index, answer in enumerate(during):
        assert answer.json()["predictions"] == pytest.approx(expected([one_row(index)]))
    frames = list(backend.inference_log.read_window("api", 0, 2**62))
    logged = pd.concat(frames, ignore_index=True)
    assert sorted(logged["request_id"]) == sorted(a.headers["x-request-id"] for a in answers)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_reload_closes_the_old_batcher_and_answers_what_it_held(tmp_path: Path, server_factory: ServerFactory) -> None:
    log = tmp_path / "sizes.txt"
    model = save(BatchRecorder(str(log)), tmp_path / "recorder")
    slow = BatchingSpec(max_batch_size=64, max_wait_ms=1_000)
    plan = ServingPlan([DeploymentPlan(name="api", variants=(primary(model),), batching=slow)])
    server = server_factory(plan)
    holder = server.app.state.holder  # type: ignore[attr-defined]
    results: list[httpx.Response] = []

    def send() -> None:
        results.extend(concurrently(server.url, [("/v1/deployments/api/predict", {"records": [one_row(3)]})] * 4))

    thread = threading.Thread(target=send)
    thread.start()
    pool = server.app.state.dispatcher.batchers  # type: ignore[attr-defined]
    wait_for(lambda: pool.waiting == 4, "four requests gathered")
    holder.swap(ServingPlan([DeploymentPlan(name="api", variants=(primary(model),))]))  # batching off
    answer = httpx.post(f"{server.url}/v1/deployments/api/predict", json={"records": [one_row(4)]}, timeout=10)
    thread.join(10)

    assert answer.status_code == 200 and len(pool) == 0
    assert [r.status_code for r in results] == [200] * 4
    assert all(r.json()["predictions"] == pytest.approx(expected([one_row(3)])) for r in results)


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_cli_turns_batching_on_and_off_and_shows_it(settings: Settings) -> None:
    register(settings, "churn", [BatchRecorder("/dev/null")], champion=1)
    local_backend(settings).identity.create_user("cli-user", role="contributor")  # else a viewer
    env = child_env(settings, user="cli-user")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return run_modelyard(["deployments", *args], env=env)

    deployed = cli("deploy", "api", "models:/churn/1", "--max-batch-size", "16", "--max-batch-wait-ms", "2", "--json")
    assert deployed.returncode == 0, deployed.stderr
    assert json.loads(deployed.stdout)["batching"] == {"max_batch_size": 16, "max_wait_ms": 2.0}

    off = cli("batching", "api", "--off")
    assert off.returncode == 0, off.stderr
    assert "micro-batching: off" in off.stdout.lower()
    service = local_backend(settings).deployments
    assert service.get("api").batching is None
    assert service.history("api")[-1].actor == "cli-user"

    refused = cli("batching", "api", "--max-batch-size", "8")
    assert refused.returncode != 0
    assert refused.stderr.strip() == "error: micro-batching needs both --max-batch-size and --max-batch-wait-ms"
