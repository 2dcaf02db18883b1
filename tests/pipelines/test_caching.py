"""Caching: unchanged steps are skipped and their stored outputs reused; a changed param re-runs
only what depends on it; ``cache=False`` runs everything."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from modelyard.domain.pipelines import PipelineStatus, StepStatus
from modelyard.models import Predictor
from modelyard.pipelines import list_pipeline_runs, list_step_runs
from modelyard.sdk.client import Client
from tests.pipelines.conftest import executed
from tests.pipelines.flows import training


def test_second_run_executes_nothing_and_one_param_reruns_only_downstream(client: Client, trace: Path) -> None:
    first = training.run({"trace": str(trace)}, client=client).check()
    assert sorted(executed(trace)) == ["fit", "make_data", "make_weights", "score"]
    assert all(s.status is StepStatus.COMPLETED for s in first.steps)

    second = training.run({"trace": str(trace)}, client=client).check()
    assert executed(trace) == []
    assert [s.status for s in second.steps] == [StepStatus.CACHED] * 4
    assert second.output("score") == first.output("score")

    third = training.run({"trace": str(trace), "c": 0.01}, client=client).check()
    assert sorted(executed(trace)) == ["fit", "score"]
    statuses = {s.step_id: s.status for s in third.steps}
    assert statuses == {
        "make_data": StepStatus.CACHED,
        "make_weights": StepStatus.CACHED,
        "fit": StepStatus.COMPLETED,
        "score": StepStatus.COMPLETED,
    }

    fourth = training.run({"trace": str(trace)}, client=client, cache=False).check()
    assert sorted(executed(trace)) == ["fit", "make_data", "make_weights", "score"]
    assert fourth.executed() == ["make_data", "make_weights", "fit", "score"]

    runs = list_pipeline_runs(client, pipeline="training")
    assert [r.run_id for r in runs][::-1] == [first.run.run_id, second.run.run_id, third.run.run_id, fourth.run.run_id]
    assert all(r.status is PipelineStatus.FINISHED for r in runs)
    steps = list_step_runs(client, third.run.run_id)
    assert [s.step_id for s in steps] == ["make_data", "make_weights", "fit", "score"]


def test_outputs_round_trip_through_their_materializers(client: Client, trace: Path) -> None:
    result = training.run({"rows": 120}, client=client).check()
    frame = result.output("make_data")
    assert isinstance(frame, pd.DataFrame) and len(frame) == 120 and list(frame.columns) == ["x1", "x2", "y"]
    np.testing.assert_array_equal(result.output("make_weights"), np.array([0.0, 1.0, 2.0]))
    model = result.output("fit")
    assert isinstance(model, Predictor) and model.flavor == "sklearn"
    report = result.output("score")
    assert report["weight_sum"] == 3.0 and 0.9 <= report["accuracy"] <= 1.0
    kinds = {s.step_id: s.output.kind for s in result.steps if s.output}
    assert kinds == {"make_data": "dataframe", "make_weights": "ndarray", "fit": "model", "score": "json"}


def test_pipeline_and_steps_are_tracked_runs_with_lineage(client: Client) -> None:
    result = training.run({"c": 0.5}, client=client).check()
    parent = client.get_run(result.run.run_id)
    assert parent.info.status.value == "FINISHED"
    assert parent.data.params["c"] == "0.5"
    children = {s.step_id: client.get_run(s.run_id or "") for s in result.steps}
    assert all(c.info.parent_run_id == result.run.run_id for c in children.values())
    assert children["fit"].data.params == {"c": "0.5", "trace": ""}
    assert children["score"].data.metrics["weight_sum"] == 3.0
    assert children["score"].data.metrics["attempts"] == 1.0
    assert children["score"].data.tags["modelyard.step.status"] == "COMPLETED"

    backend = client.backend
    fit_run = result.step("fit").run_id
    graph = backend.lineage.graph(backend.lineage.resolve(f"runs:/{fit_run}"))
    upstream = {(e.source.kind.value, e.relation.value) for e in graph.upstream}
    assert ("dataset_version", "input") in upstream  # the frame make_data produced
    assert ("run", "produced") in upstream  # ... which make_data's run produced
    downstream = {(e.target.kind.value, e.relation.value) for e in graph.downstream}
    assert ("logged_model", "produced") in downstream
    assert ("run", "input") in downstream  # the score step used the model
