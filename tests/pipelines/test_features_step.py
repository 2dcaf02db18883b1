"""The ``historical_features`` step: training data in a pipeline, logged with lineage to the features."""

from __future__ import annotations

from pathlib import Path

from modelyard.sdk.client import Client
from modelyard.sdk.features import open_feature_store
from tests.features.conftest import card_world
from tests.pipelines.feature_flows import training_data


def test_the_step_logs_point_in_time_training_data_as_its_runs_input(client: Client, tmp_path: Path) -> None:
    open_feature_store(client.backend).apply(card_world(tmp_path))
    result = training_data.run({}, client=client).check()
    # 01:00 -> limits 1000 (card 1) and 500 (card 2); 06:00 -> card 1 moved to 2000 at 05:00
    assert result.output("count_rows") == {"rows": 4.0, "limit_sum": 4000.0}
    step_run = result.step("historical_features").run_id or ""
    inputs = client.backend.datasets.inputs_of_run(step_run)
    logged = [i for i in inputs if i.dataset_name == "card-train"]
    assert len(logged) == 1  # beside the entity rows the step received
    version = client.backend.datasets.get("card-train", logged[0].digest[:12])
    graph = client.backend.lineage.graph(client.backend.lineage.resolve(version.uri))
    assert "feature_view:card_profile/1" in {str(e.source) for e in graph.upstream}
