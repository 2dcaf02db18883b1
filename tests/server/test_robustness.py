"""What a hostile or careless client cannot do: climb out of a run's artifacts, inject into a
search filter, send an unbounded body or ask for a range past the end; and a server that is down
is one line for the SDK."""

from __future__ import annotations

import httpx
import pytest

from modelyard.config import Settings
from modelyard.errors import BackendUnavailable
from modelyard.sdk.client import Client
from tests.server._running import RunningServer, free_port


@pytest.fixture(scope="module")
def api(sqlite_server: RunningServer) -> httpx.Client:
    return httpx.Client(
        base_url=f"{sqlite_server.url}/api/v1", headers={"authorization": f"Bearer {sqlite_server.admin_token}"}
    )


@pytest.fixture(scope="module")
def run_id(api: httpx.Client) -> str:
    experiment = api.post("/experiments", json={"name": "robust"}).json()["experiment_id"]
    return str(api.post("/runs", json={"experiment_id": experiment}).json()["info"]["run_id"])


@pytest.mark.parametrize(
    "path", ["..%2F..%2Fescape.txt", "a/%2E%2E/%2E%2E/%2E%2E/escape.txt", "%2Fetc%2Fpasswd", ".x.partial"]
)
def test_artifact_paths_that_climb_out_are_refused(api: httpx.Client, run_id: str, path: str) -> None:
    put = api.put(f"/runs/{run_id}/artifacts/{path}", content=b"x")
    get = api.get(f"/runs/{run_id}/artifacts/{path}")
    assert put.status_code == 400 and get.status_code in (400, 404)
    assert put.json()["code"] == "InvalidInput"


def test_filters_are_parsed_never_spliced_into_sql(api: httpx.Client, run_id: str) -> None:
    experiment = api.get(f"/runs/{run_id}").json()["info"]["experiment_id"]
    api.post(f"/runs/{run_id}/params", json={"params": {"kind": "rf"}})
    injected = api.post(
        "/runs/search", json={"experiment_ids": [experiment], "filter": "params.kind = 'rf'; DROP TABLE runs"}
    )
    assert injected.status_code == 400 and injected.json()["code"] == "InvalidInput"
    literal = api.post(
        "/runs/search", json={"experiment_ids": [experiment], "filter": "params.kind = 'x'' OR ''1''=''1'"}
    )
    assert literal.status_code == 200 and literal.json()["items"] == []  # a string, matched as one
    assert api.post("/runs/search", json={"experiment_ids": [experiment], "filter": "params.kind = 'rf'"}).json()[
        "items"
    ]
    models = api.get("/registered-models", params={"filter": "name = 'a' OR 1=1; --"})
    assert models.status_code == 400


def test_bodies_over_the_limit_are_413_and_bad_ranges_416(api: httpx.Client, run_id: str) -> None:
    huge = {"metrics": [{"key": "k" * 200, "value": 1.0, "timestamp": 1, "step": i} for i in range(150_000)]}
    too_big = api.post(f"/runs/{run_id}/metrics", json=huge)
    assert too_big.status_code in (400, 413)  # 413 by length, or 400 by the batch's own limit
    api.put(f"/runs/{run_id}/artifacts/ten.bin", content=b"0123456789")
    assert api.get(f"/runs/{run_id}/artifacts/ten.bin", headers={"range": "bytes=20-30"}).status_code == 416
    tail = api.get(f"/runs/{run_id}/artifacts/ten.bin", headers={"range": "bytes=-3"})
    assert tail.status_code == 206 and tail.content == b"789" and tail.headers["content-range"] == "bytes 7-9/10"


def test_a_server_that_is_down_is_one_line(tmp_path: object) -> None:
    settings = Settings(home=str(tmp_path), tracking_uri=f"http://127.0.0.1:{free_port()}", token="myd_x_y")
    with pytest.raises(
        BackendUnavailable, match=r"^cannot reach the modelyard server at http://127\.0\.0\.1:\d+: "
    ) as caught:
        Client(settings).get_experiment("1")
    assert "\n" not in str(caught.value)


# Lists bounded by what one run holds by construction (a handful of inputs and models per run).
BOUNDED_LISTS = {"/api/v1/runs/{run_id}/inputs", "/api/v1/runs/{run_id}/logged-models"}


def test_every_list_that_can_grow_is_paged(sqlite_server: RunningServer) -> None:
    document = httpx.get(f"{sqlite_server.url}/openapi.json").json()
    unpaged = []
    for path, item in document["paths"].items():
        get = item.get("get")
        if get is None or path in BOUNDED_LISTS:
            continue
        schema = get["responses"]["200"].get("content", {}).get("application/json", {}).get("schema", {})
        if schema.get("type") == "array":
            unpaged.append(path)
        elif "$ref" in schema and schema["$ref"].endswith("Page"):
            names = {p["name"] for p in get.get("parameters", [])}
            assert {"max_results", "page_token"} <= names, path
    assert unpaged == []


def test_artifact_listings_and_children_page(api: httpx.Client, run_id: str) -> None:
    for name in ("a.txt", "b.txt", "c.txt"):
        api.put(f"/runs/{run_id}/artifacts/many/{name}", content=b"x")
    first = api.get(f"/runs/{run_id}/artifacts", params={"path": "many", "max_results": 2}).json()
    assert [f["path"] for f in first["items"]] == ["many/a.txt", "many/b.txt"] and first["next_page_token"]
    rest = api.get(
        f"/runs/{run_id}/artifacts", params={"path": "many", "max_results": 2, "page_token": first["next_page_token"]}
    ).json()
    assert [f["path"] for f in rest["items"]] == ["many/c.txt"] and rest["next_page_token"] is None
    experiment = api.get(f"/runs/{run_id}").json()["info"]["experiment_id"]
    children = [
        api.post("/runs", json={"experiment_id": experiment, "parent_run_id": run_id}).json()["info"]["run_id"]
        for _ in range(3)
    ]
    page = api.get(f"/runs/{run_id}/children", params={"max_results": 2}).json()
    again = api.get(f"/runs/{run_id}/children", params={"page_token": page["next_page_token"]}).json()
    assert sorted(c["run_id"] for c in [*page["items"], *again["items"]]) == sorted(children)
