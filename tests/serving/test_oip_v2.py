"""The Open Inference Protocol with httpx and with the real tritonclient."""

from __future__ import annotations

import httpx
import numpy as np
import pandas as pd
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from modelyard.models import Predictor
from modelyard.serving import DeploymentPlan, Mode, ServingPlan, Variant
from tests.serving.conftest import ServerFactory, primary


def test_health_and_metadata(server_factory: ServerFactory, single_plan: ServingPlan) -> None:
    server = server_factory(single_plan)

    assert httpx.get(f"{server.url}/v2/health/live").json() == {"live": True}
    assert httpx.get(f"{server.url}/v2/health/ready").json() == {"ready": True}
    assert httpx.get(f"{server.url}/v2/models/churn/ready").json() == {"name": "churn", "ready": True}
    metadata = httpx.get(f"{server.url}/v2/models/churn").json()
    assert [i["name"] for i in metadata["inputs"]] == ["x1", "x2", "n"]
    assert [i["datatype"] for i in metadata["inputs"]] == ["FP64", "FP64", "INT64"]
    assert metadata["platform"] == "modelyard_sklearn"
    missing = httpx.get(f"{server.url}/v2/models/nope/ready")
    assert missing.status_code == 404
    assert "nope" in missing.json()["error"]


def test_infer_with_column_tensors_and_a_matrix(
    server_factory: ServerFactory, single_plan: ServingPlan, classifier: Predictor, frame: pd.DataFrame
) -> None:
    server = server_factory(single_plan)
    head = frame.head(4)
    expected = classifier.predict(head).tolist()
    columns = {
        "id": "7",
        "inputs": [
            {"name": "x1", "shape": [4], "datatype": "FP64", "data": head["x1"].tolist()},
            {"name": "x2", "shape": [4, 1], "datatype": "FP64", "data": head["x2"].tolist()},
            {"name": "n", "shape": [4], "datatype": "INT64", "data": head["n"].tolist()},
        ],
    }
    matrix = {
        "inputs": [{"name": "features", "shape": [4, 3], "datatype": "FP64", "data": head.to_numpy().tolist()}],
        "outputs": [{"name": "predict"}, {"name": "predict_proba"}],
    }

    by_column = httpx.post(f"{server.url}/v2/models/churn/infer", json=columns).json()
    by_matrix = httpx.post(f"{server.url}/v2/models/churn/infer", json=matrix).json()

    assert by_column["id"] == "7"
    assert by_column["model_name"] == "churn"
    assert by_column["model_version"] == "churn/1"
    assert by_column["outputs"][0] == {"name": "predict", "datatype": "INT64", "shape": [4], "data": expected}
    assert by_matrix["outputs"][0]["data"] == expected
    proba = by_matrix["outputs"][1]
    assert proba["shape"] == [4, 2]
    assert np.allclose(np.reshape(proba["data"], (4, 2)), classifier.predict_proba(head))


def test_version_in_the_path_picks_that_variant(
    server_factory: ServerFactory, classifier: Predictor, classifier_b: Predictor, frame: pd.DataFrame
) -> None:
    plan = ServingPlan(
        [
            DeploymentPlan(
                name="churn",
                variants=(
                    primary(classifier),
                    Variant(name="green", model_version="churn/2", predictor=classifier_b, mode=Mode.CANARY, weight=0),
                ),
            )
        ]
    )
    server = server_factory(plan)
    body = {"inputs": [{"name": "m", "shape": [2, 3], "datatype": "FP64", "data": frame.head(2).to_numpy().tolist()}]}

    answer = httpx.post(f"{server.url}/v2/models/churn/versions/2/infer", json=body)

    assert answer.headers["x-modelyard-variant"] == "green"
    assert answer.json()["model_version"] == "churn/2"
    assert httpx.post(f"{server.url}/v2/models/churn/versions/9/infer", json=body).status_code == 404


@pytest.mark.parametrize("binary", [False, True])
def test_tritonclient(
    binary: bool, server_factory: ServerFactory, single_plan: ServingPlan, classifier: Predictor, frame: pd.DataFrame
) -> None:
    server = server_factory(single_plan)
    client = triton.InferenceServerClient(url=server.url.removeprefix("http://"))
    head = frame.head(5)
    inputs = []
    for name, datatype in (("x1", "FP64"), ("x2", "FP64"), ("n", "INT64")):
        tensor = triton.InferInput(name, [5], datatype)
        tensor.set_data_from_numpy(head[name].to_numpy(), binary_data=binary)
        inputs.append(tensor)

    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready("churn")
    assert [i["name"] for i in client.get_model_metadata("churn")["inputs"]] == ["x1", "x2", "n"]
    result = client.infer(
        "churn", inputs, outputs=[triton.InferRequestedOutput("predict", binary_data=False)], request_id="42"
    )
    assert result.as_numpy("predict").tolist() == classifier.predict(head).tolist()
    assert result.get_response()["id"] == "42"

    bad = triton.InferInput("x1", [5], "FP64")
    bad.set_data_from_numpy(head["x1"].to_numpy(), binary_data=binary)
    with pytest.raises(InferenceServerException, match="'x2'"):
        client.infer("churn", [bad])
    client.close()


def test_spec_details_real_clients_rely_on(
    server_factory: ServerFactory,
    single_plan: ServingPlan,
    classifier: Predictor,
    regressor: Predictor,
    frame: pd.DataFrame,
) -> None:
    """Issue 15.4: all declared outputs by default, versions as clients name them, JSON 404s."""
    price = DeploymentPlan(name="price", variants=(primary(regressor, version="price/3"),))
    plan = ServingPlan([*single_plan.deployments.values(), price])
    server = server_factory(plan)
    client = triton.InferenceServerClient(url=server.url.removeprefix("http://"))
    head = frame.head(3)
    inputs = []
    for name, datatype in (("x1", "FP64"), ("x2", "FP64"), ("n", "INT64")):
        tensor = triton.InferInput(name, [3], datatype)
        tensor.set_data_from_numpy(head[name].to_numpy(), binary_data=False)
        inputs.append(tensor)

    metadata = client.get_model_metadata("churn")
    assert metadata["versions"] == ["1"]
    assert client.is_model_ready("churn", model_version="1")
    everything = client.infer("churn", inputs)  # no outputs asked for: every declared output
    assert [o["name"] for o in everything.get_response()["outputs"]] == ["predict", "predict_proba"]
    assert np.allclose(everything.as_numpy("predict_proba"), classifier.predict_proba(head))
    versioned = client.infer("churn", inputs, model_version="1")
    assert versioned.as_numpy("predict").tolist() == classifier.predict(head).tolist()
    assert [o["name"] for o in client.infer("price", inputs).get_response()["outputs"]] == ["predict"]
    with pytest.raises(InferenceServerException, match=r"this model has \['predict'\]"):
        client.infer("price", inputs, outputs=[triton.InferRequestedOutput("predict_proba")])
    client.close()

    unknown = httpx.get(f"{server.url}/v2/models/churn/nonsense")
    assert unknown.status_code == 404 and "nonsense" in unknown.json()["error"]
    assert httpx.delete(f"{server.url}/v2/models/churn").json()["error"]  # 405, as JSON too
    assert httpx.get(f"{server.url}/no-such-page").status_code == 404
