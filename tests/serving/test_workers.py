"""``modelyard serve --workers 2`` as a user runs it: both workers answer, follow traffic changes,
sum their metrics and write their own inference-log segments; and the listening socket asks for
``TCP_NODELAY`` on the plain asyncio loop."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from modelyard.config import Settings
from modelyard.domain.serving import VariantMode, VariantSpec
from modelyard.sdk.backends.local import LocalBackend, local_backend
from modelyard.serving.runner import WORKER_HEADER, bind_socket, wait_ready
from modelyard.store.repos import inference_segments
from tests._subprocess import child_env, stop_group
from tests.serving._deployed import FEATURES, Constant, classifier, register

MODELYARD = shutil.which("modelyard", path=str(Path(sys.executable).parent))
BODY = {"records": FEATURES.head(2).to_dict(orient="records")}


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """SQLite only: one subprocess server per test is the expensive part; the store paths of both
    engines are covered by the in-process serving tests."""
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def backend(settings: Settings) -> LocalBackend:
    register(settings, "churn", [classifier(0.0), Constant(1)], champion=1)
    service = local_backend(settings)
    service.deployments.deploy(
        "churn-api",
        [VariantSpec(uri="models:/churn/1"), VariantSpec(uri="models:/churn/2", mode=VariantMode.CANARY, weight=0)],
    )
    return service


@pytest.fixture
def two_workers(settings: Settings, backend: LocalBackend) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    probe = bind_socket("127.0.0.1", 0)
    port = probe.getsockname()[1]
    probe.close()
    env = {k: v for k, v in child_env(settings, user="server").items() if not k.startswith("PROMETHEUS_")}
    assert MODELYARD is not None
    process = subprocess.Popen(
        [MODELYARD, "serve", "churn-api", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, timeout=90)
        yield url, process
    finally:
        stop_group(process)


def _predict(url: str) -> httpx.Response:
    with httpx.Client(base_url=url, timeout=10.0) as client:  # a new connection: either worker may accept it
        return client.post("/v1/deployments/churn-api/predict", json=BODY)


def _answers(url: str, count: int) -> list[httpx.Response]:
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda _: _predict(url), range(count)))


def _until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"


@pytest.mark.slow
def test_two_workers_share_the_load_follow_changes_and_sum_their_metrics(
    two_workers: tuple[str, subprocess.Popen[str]], backend: LocalBackend
) -> None:
    url, process = two_workers
    answers = _answers(url, 80)
    by_worker: dict[str, set[str | None]] = {}
    sent = len(answers)

    def seen(batch: list[httpx.Response]) -> None:
        for answer in batch:
            assert answer.status_code == 200, answer.text
            by_worker.setdefault(answer.headers[WORKER_HEADER], set()).add(answer.headers["x-modelyard-model-version"])

    seen(answers)
    while len(by_worker) < 2 and sent < 800:  # which worker accepts is the kernel's choice
        more = _answers(url, 40)
        seen(more)
        sent += len(more)
    assert len(by_worker) == 2, f"every answer came from one worker: {sorted(by_worker)}"
    assert all(versions == {"churn/1"} for versions in by_worker.values())
    workers = set(by_worker)

    backend.deployments.set_traffic("churn-api", {"canary": 100})
    after: dict[str, set[str | None]] = {}

    def both_switched() -> bool:
        nonlocal sent
        batch = _answers(url, 16)
        sent += len(batch)
        for answer in batch:
            assert answer.status_code == 200, answer.text
            if answer.headers["x-modelyard-model-version"] == "churn/2":
                after.setdefault(answer.headers[WORKER_HEADER], set()).add("churn/2")
        return set(after) == workers

    _until(both_switched, "both workers to serve the canary at 100 %")
    final = _answers(url, 32)
    sent += len(final)
    assert {a.headers["x-modelyard-model-version"] for a in final} == {"churn/2"}
    assert {a.headers[WORKER_HEADER] for a in final} <= workers  # no worker was restarted

    metrics = httpx.get(f"{url}/metrics", timeout=10).text
    counted = sum(
        sample.value
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
        if sample.name == "modelyard_requests_total" and sample.labels["deployment"] == "churn-api"
    )
    assert counted == sent  # any worker's /metrics counts every worker's requests

    os.killpg(process.pid, signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr[-2000:]
    with backend.db.read() as conn:
        segments = inference_segments.overlapping(conn, "churn-api", 0, 2**62)
    assert sum(s.row_count for s in segments) == 2 * sent  # two records per request, each logged once
    assert len({s.uri for s in segments}) == len(segments) >= 2


def test_the_listening_socket_makes_asyncio_set_nodelay_on_accepted_connections() -> None:
    """The plain asyncio loop (no uvloop) sets TCP_NODELAY only for sockets that say IPPROTO_TCP."""

    async def accepted_nodelay() -> int:
        sock = bind_socket("127.0.0.1", 0)
        loop = asyncio.get_running_loop()
        flag: asyncio.Future[int] = loop.create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                conn = transport.get_extra_info("socket")
                flag.set_result(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

        server = await loop.create_server(Probe, sock=sock)
        _, writer = await asyncio.open_connection(*sock.getsockname()[:2])
        try:
            return await asyncio.wait_for(flag, 10)
        finally:
            writer.close()
            server.close()

    assert asyncio.run(accepted_nodelay()) != 0
