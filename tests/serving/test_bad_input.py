"""Every kind of bad input gets a 4xx naming the problem, never a 500, and the server keeps serving.

The cases cover each protocol's malformed bodies, signature breaks, non-finite numbers (JSON
``1e400``, CSV ``inf``, OIP FP16/FP32 overflow) and zero-row inputs.
"""

from __future__ import annotations

import json
import math

import httpx
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

from modelyard.serving import DeploymentPlan, ServingPlan
from tests.serving.conftest import ServerFactory, primary, rows

LIMIT = 4_096


def _row(frame: pd.DataFrame) -> dict[str, object]:
    return rows(frame, 1)[0]


def _cases(frame: pd.DataFrame) -> list[tuple[str, str, dict[str, object], int, str]]:
    """(id, path, httpx kwargs, status, text the error must contain)."""
    rec = "/v1/deployments/churn/predict"
    inv = "/invocations"
    oip = "/v2/models/churn/infer"
    good = _row(frame)
    nan_row = json.dumps([{**good, "x1": "NaN_"}]).replace('"NaN_"', "NaN")
    inf_row = json.dumps([{**good, "x1": "Inf_"}]).replace('"Inf_"', "Infinity")
    return [
        ("malformed-json-records", rec, {"content": b'[{"x1": 1,'}, 400, "malformed JSON"),
        (
            "malformed-json-invocations",
            inv,
            {"content": b"{nope", "headers": {"content-type": "application/json"}},
            400,
            "malformed JSON",
        ),
        ("malformed-json-oip", oip, {"content": b"{"}, 400, "malformed JSON"),
        ("empty-body", rec, {"content": b""}, 400, "empty"),
        ("not-utf8", rec, {"content": b'[{"x1": "\xff"}]'}, 400, "UTF-8"),
        ("records-not-objects", rec, {"json": [1, 2, 3]}, 400, "JSON object"),
        ("records-empty", rec, {"json": []}, 400, "empty"),
        ("records-fields-differ", rec, {"json": [good, {"x1": 1.0}]}, 400, "different fields"),
        ("nested-value", rec, {"json": [{**good, "x2": [1, 2]}]}, 400, "'x2'"),
        ("missing-column", rec, {"json": [{"x1": 1.0, "x2": 2.0}]}, 422, "'n'"),
        ("wrong-type", rec, {"json": [{**good, "x2": "high"}]}, 422, "'x2'"),
        ("extra-column", rec, {"json": [{**good, "zzz": 1}]}, 422, "'zzz'"),
        ("nan-not-allowed", rec, {"content": nan_row.encode()}, 422, "'x1'"),
        ("infinity", rec, {"content": inf_row.encode()}, 400, "Infinity"),
        ("too-large", rec, {"content": b"[" + b" " * (LIMIT + 10) + b"]"}, 413, "limit"),
        ("two-formats", inv, {"json": {"dataframe_records": [good], "instances": [good]}}, 400, "exactly one"),
        ("no-format", inv, {"json": {"rows": [good]}}, 400, "exactly one"),
        (
            "ragged-split",
            inv,
            {"json": {"dataframe_split": {"columns": ["x1", "x2", "n"], "data": [[1.0, 2.0]]}}},
            400,
            "row 0",
        ),
        (
            "unsupported-type",
            inv,
            {"content": b"x1,x2", "headers": {"content-type": "application/xml"}},
            415,
            "application/xml",
        ),
        ("bad-csv", inv, {"content": b'x1,x2,n\n"1,2', "headers": {"content-type": "text/csv"}}, 400, "CSV"),
        ("csv-wrong-type", inv, {"content": b"x1,x2,n\na,b,c\n", "headers": {"content-type": "text/csv"}}, 400, "'x1'"),
        ("oip-no-inputs", oip, {"json": {"inputs": []}}, 400, "inputs"),
        (
            "oip-shape-mismatch",
            oip,
            {"json": {"inputs": [{"name": "m", "shape": [2, 3], "datatype": "FP64", "data": [1.0] * 5}]}},
            400,
            "needs 6",
        ),
        (
            "oip-bad-datatype",
            oip,
            {"json": {"inputs": [{"name": "x1", "shape": [1], "datatype": "FLOAT", "data": [1.0]}]}},
            400,
            "datatype",
        ),
        (
            "oip-wrong-width",
            oip,
            {"json": {"inputs": [{"name": "m", "shape": [1, 2], "datatype": "FP64", "data": [1.0, 2.0]}]}},
            400,
            "2 columns",
        ),
        (
            "oip-missing-column",
            oip,
            {"json": {"inputs": [{"name": "x1", "shape": [1], "datatype": "FP64", "data": [1.0]}]}},
            422,
            "'x2'",
        ),
        (
            "oip-rows-differ",
            oip,
            {
                "json": {
                    "inputs": [
                        {"name": "x1", "shape": [2], "datatype": "FP64", "data": [1.0, 2.0]},
                        {"name": "x2", "shape": [1], "datatype": "FP64", "data": [1.0]},
                    ]
                }
            },
            400,
            "different numbers of rows",
        ),
        (
            "oip-bad-binary",
            oip,
            {"content": b'{"inputs": []}', "headers": {"inference-header-content-length": "999"}},
            400,
            "Inference-Header",
        ),
        (
            "oip-unknown-output",
            oip,
            {
                "json": {
                    "inputs": [{"name": "m", "shape": [1, 3], "datatype": "FP64", "data": [1.0, 2.0, 3.0]}],
                    "outputs": [{"name": "logits"}],
                }
            },
            400,
            "logits",
        ),
        # Non-finite numbers: refused where the signature's column is not optional (422 naming it).
        (
            "json-1e400",
            rec,
            {"content": json.dumps([{**good, "x1": "BIG_"}]).replace('"BIG_"', "1e400").encode()},
            422,
            "'x1'",
        ),
        (
            "json-minus-1e400",
            inv,
            {
                "content": json.dumps({"dataframe_records": [{**good, "x2": "BIG_"}]})
                .replace('"BIG_"', "-1e400")
                .encode(),
                "headers": {"content-type": "application/json"},
            },
            400,  # /invocations answers as MLflow's scoring server does; modelyard's own routes keep 422
            "'x2'",
        ),
        ("csv-inf", inv, {"content": b"x1,x2,n\ninf,1.0,1\n", "headers": {"content-type": "text/csv"}}, 400, "'x1'"),
        (
            "csv-minus-inf",
            inv,
            {"content": b"x1,x2,n\n1.0,-inf,1\n", "headers": {"content-type": "text/csv"}},
            400,
            "'x2'",
        ),
        (
            "oip-fp32-overflow",
            oip,
            {
                "json": {
                    "inputs": [
                        {"name": "x1", "shape": [1], "datatype": "FP32", "data": [1e39]},
                        {"name": "x2", "shape": [1], "datatype": "FP64", "data": [1.0]},
                        {"name": "n", "shape": [1], "datatype": "INT64", "data": [1]},
                    ]
                }
            },
            400,
            "out of range for FP32",
        ),
        (
            "oip-fp16-overflow",
            oip,
            {
                "json": {
                    "inputs": [
                        {"name": "x1", "shape": [1], "datatype": "FP16", "data": [70000.0]},
                        {"name": "x2", "shape": [1], "datatype": "FP64", "data": [1.0]},
                        {"name": "n", "shape": [1], "datatype": "INT64", "data": [1]},
                    ]
                }
            },
            400,
            "out of range for FP16",
        ),
        (
            "oip-fp64-1e400",
            oip,
            {
                "content": json.dumps(
                    {
                        "inputs": [
                            {"name": "x1", "shape": [1], "datatype": "FP64", "data": ["BIG_"]},
                            {"name": "x2", "shape": [1], "datatype": "FP64", "data": [1.0]},
                            {"name": "n", "shape": [1], "datatype": "INT64", "data": [1]},
                        ]
                    }
                )
                .replace('"BIG_"', "1e400")
                .encode()
            },
            422,
            "'x1'",
        ),
        # Zero rows: nothing for a model to answer.
        (
            "oip-shape-0",
            oip,
            {
                "json": {
                    "inputs": [
                        {"name": "x1", "shape": [0], "datatype": "FP64", "data": []},
                        {"name": "x2", "shape": [0], "datatype": "FP64", "data": []},
                        {"name": "n", "shape": [0], "datatype": "INT64", "data": []},
                    ]
                }
            },
            400,
            "no rows",
        ),
        (
            "oip-shape-0-by-3",
            oip,
            {"json": {"inputs": [{"name": "m", "shape": [0, 3], "datatype": "FP64", "data": []}]}},
            400,
            "no rows",
        ),
        ("split-no-rows", inv, {"json": {"dataframe_split": {"columns": ["x1", "x2", "n"], "data": []}}}, 400, "row"),
        ("inputs-empty-columns", inv, {"json": {"inputs": {"x1": [], "x2": [], "n": []}}}, 400, "row"),
        ("instances-empty", inv, {"json": {"instances": []}}, 400, "empty"),
        ("csv-header-only", inv, {"content": b"x1,x2,n\n", "headers": {"content-type": "text/csv"}}, 400, "row"),
        ("unknown-deployment", "/v1/deployments/nope/predict", {"json": [good]}, 404, "nope"),
        ("unknown-deployment-oip", "/v2/models/nope/infer", {"json": {"inputs": []}}, 404, "nope"),
    ]


def test_every_bad_input_is_a_4xx_and_the_server_keeps_serving(
    server_factory: ServerFactory, single_plan: ServingPlan, frame: pd.DataFrame
) -> None:
    server = server_factory(single_plan, max_body_bytes=LIMIT)
    failures: list[str] = []
    with httpx.Client(base_url=server.url) as client:
        for case, path, kwargs, status, needle in _cases(frame):
            response = client.post(path, **kwargs)  # type: ignore[arg-type]
            if response.status_code != status or needle not in response.text:
                failures.append(f"{case}: {response.status_code} {response.text[:200]}")
            ok = client.post("/v1/deployments/churn/predict", json=rows(frame, 1))
            assert ok.status_code == 200, f"server stopped serving after {case}"
    assert not failures, "\n".join(failures)


def test_nan_is_accepted_where_the_signature_allows_it(server_factory: ServerFactory, model_dir: object) -> None:
    frame = pd.DataFrame({"a": [1.0, math.nan, 3.0, 4.0] * 5, "b": [1.0, 2.0, 3.0, 4.0] * 5})
    model = HistGradientBoostingClassifier(max_iter=5).fit(frame, [0, 1, 0, 1] * 5)
    predictor = model_dir("hgb-nan", model, frame)  # type: ignore[operator]
    server = server_factory(ServingPlan([DeploymentPlan(name="d", variants=(primary(predictor),))]))
    body = b'[{"a": NaN, "b": 2.0}]'
    allowed = httpx.post(f"{server.url}/v1/deployments/d/predict", content=body)
    refused = httpx.post(f"{server.url}/v1/deployments/d/predict", content=b'[{"a": 1.0, "b": NaN}]')

    assert allowed.status_code == 200, allowed.text
    assert refused.status_code == 422
    assert "'b'" in refused.json()["message"]


def test_chunked_body_over_the_limit_is_413(server_factory: ServerFactory, single_plan: ServingPlan) -> None:
    server = server_factory(single_plan, max_body_bytes=LIMIT)

    def body() -> object:
        for _ in range(10):
            yield b" " * 1_000

    response = httpx.post(f"{server.url}/v1/deployments/churn/predict", content=body())

    assert response.status_code == 413
