"""One resolver for every id users type: the 8 digits tables show work wherever an id is taken."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from modelyard.config import Settings
from modelyard.domain.lineage import NodeKind
from modelyard.domain.monitoring import Alert, AlertStatus
from modelyard.errors import InvalidInput, NotFound
from modelyard.monitoring.alerts import AlertService
from modelyard.sdk.client import Client
from modelyard.store.repos import monitoring as monitoring_rows


@pytest.fixture
def client(sdk_settings: Settings) -> Client:
    return Client(sdk_settings)


def test_run_uris_take_a_prefix_in_load_register_and_lineage(my: Any, client: Client) -> None:
    frame = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    with my.start_run() as run:
        my.log_model(LogisticRegression().fit(frame, [0, 0, 1, 1]), "model", input_example=frame.head(2))
    short = f"runs:/{run.info.run_id[:8]}/model"
    assert list(my.load_model(short).predict(frame)) == [0, 0, 1, 1]
    version = my.register_model(short, "prefixed")
    assert version.run_id == run.info.run_id
    node = client.backend.lineage.resolve(f"runs:/{run.info.run_id[:8]}")
    assert (node.kind, node.id) == (NodeKind.RUN, run.info.run_id)
    with pytest.raises(NotFound, match="no run with id"):
        my.load_model("runs:/ffffffff/model" if not run.info.run_id.startswith("ffffffff") else "runs:/eeeeeeee/model")
    with pytest.raises(InvalidInput, match="not a run URI"):
        my.load_model("runs:/abc/model")


def test_alert_ids_take_the_prefix_the_tables_show(client: Client) -> None:
    db = client.backend.db
    alert = Alert(
        id="0123456789abcdef0123456789abcdef", rule="r", monitor="m", deployment="d", expression="x > 1",
        status=AlertStatus.OPEN, value=2.0, message="x is 2", window_start_ms=0, window_end_ms=1,
        opened_ms=1, updated_ms=1,
    )  # fmt: skip
    with db.begin() as conn:
        monitoring_rows.add_alert(conn, alert)
    service = AlertService(db, actor="tester")
    assert service.acknowledge("01234567").status is AlertStatus.ACKNOWLEDGED
    assert service.resolve("0123456789ABCDEF").status is AlertStatus.RESOLVED
    with pytest.raises(InvalidInput, match="is not an alert id"):
        service.get("012")
    with pytest.raises(NotFound, match="no alert with id 'ffff0000'"):
        service.get("ffff0000")


def test_an_ambiguous_prefix_asks_for_more_digits(client: Client) -> None:
    experiment_id = client.create_experiment("e")
    ids = [client.create_run(experiment_id).info.run_id for _ in range(40)]
    first = sorted(ids)[0]
    shared = next((a[:4] for a, b in zip(sorted(ids), sorted(ids)[1:], strict=False) if a[:4] == b[:4]), None)
    if shared is not None:
        with pytest.raises(InvalidInput, match="ambiguous; give more digits"):
            client.backend.runs.resolve_id(shared)
    assert client.backend.runs.resolve_id(first[:12].upper()) == first
