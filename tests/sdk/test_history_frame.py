"""A metric history read as columns (``get_metric_history_frame``): the same points, in the same
order, as ``get_metric_history``, NaN and infinities included, on SQLite and PostgreSQL (where it
is a binary COPY parsed into arrays)."""

from __future__ import annotations

import math
import random

import pytest

from modelyard.config import Settings
from modelyard.domain.tracking import Metric
from modelyard.errors import NotFound
from modelyard.sdk.client import Client


@pytest.fixture
def client(sdk_settings: Settings) -> Client:
    return Client(sdk_settings)


def test_the_frame_holds_the_history_in_its_order(client: Client) -> None:
    run_id = client.create_run().info.run_id
    rng = random.Random(3)
    points = [
        Metric(key="loss", value=rng.uniform(-1e6, 1e6), timestamp=rng.randrange(10), step=i // 3) for i in range(5_000)
    ]
    points[7] = Metric(key="loss", value=math.nan, timestamp=5, step=2)
    points[8] = Metric(key="loss", value=math.inf, timestamp=5, step=2)
    points[9] = Metric(key="loss", value=-math.inf, timestamp=5, step=2)
    for start in range(0, len(points), 1_000):
        client.log_batch(run_id, metrics=points[start : start + 1_000])
    client.log_batch(run_id, metrics=[Metric(key="other", value=1.0, timestamp=1, step=0)])
    listed = client.get_metric_history(run_id, "loss")
    frame = client.get_metric_history_frame(run_id, "loss")
    assert list(frame.columns) == ["step", "timestamp", "value"]
    assert len(frame) == len(listed) == 5_000
    assert frame["step"].tolist() == [m.step for m in listed]
    assert frame["timestamp"].tolist() == [m.timestamp for m in listed]
    assert [repr(v) for v in frame["value"].tolist()] == [repr(m.value) for m in listed]  # NaN equals itself here
    assert str(frame["step"].dtype) == "int64" and str(frame["value"].dtype) == "float64"


def test_an_empty_history_is_an_empty_frame_and_an_unknown_run_is_not_found(client: Client) -> None:
    run_id = client.create_run().info.run_id
    frame = client.get_metric_history_frame(run_id, "never")
    assert len(frame) == 0 and list(frame.columns) == ["step", "timestamp", "value"]
    with pytest.raises(NotFound):
        client.get_metric_history_frame("0" * 32, "loss")
