"""``serving.run`` with several forked workers on one socket, started as a user would, in a subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from modelyard.serving.runner import bind_socket, wait_ready

SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np, pandas as pd
    from sklearn.linear_model import LogisticRegression
    from modelyard.models import save_model, load_model_dir
    from modelyard.serving import DeploymentPlan, ServingPlan, Variant, run

    frame = pd.DataFrame({"a": np.arange(20.0), "b": np.arange(20.0) % 3})
    save_model(LogisticRegression().fit(frame, frame["a"] > 9), sys.argv[1], input_example=frame.head(3))
    plan = ServingPlan([DeploymentPlan(name="d", variants=(
        Variant(name="v", model_version="d/1", predictor=load_model_dir(sys.argv[1])),))])
    run(plan, "127.0.0.1", int(sys.argv[2]), workers=2)
    """
)


def test_bound_sockets_say_tcp_so_asyncio_sets_nodelay() -> None:
    sock = bind_socket("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()


@pytest.mark.slow
def test_run_with_two_workers_answers_and_stops_cleanly(tmp_path: Path) -> None:
    probe = bind_socket("127.0.0.1", 0)
    port = probe.getsockname()[1]
    probe.close()
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "model"), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, timeout=60)
        answers = []
        for _ in range(40):
            with httpx.Client(base_url=url) as client:  # a new connection each time: either worker may accept it
                answers.append(client.post("/v1/deployments/d/predict", json=[{"a": 15.0, "b": 0.0}]))
        assert [a.status_code for a in answers] == [200] * 40
        assert {a.json()["predictions"][0] for a in answers} == {True}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr.decode()[-2000:]
