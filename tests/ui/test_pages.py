"""Every page over a team-like store, without a browser: content, filters, forms with JavaScript off."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from modelyard.domain.registry import ModelStage
from tests.ui.conftest import ADMIN, APPROVER, REQUESTER, VIEWER, World

ClientAs = Callable[[str], TestClient]


def _crawl(client: TestClient, start: str = "/experiments", limit: int = 120) -> dict[str, str]:
    """Follow every same-site link from ``start``; fails on the first non-200 page."""
    pages: dict[str, str] = {}
    todo = [start]
    while todo and len(pages) < limit:
        url = todo.pop(0)
        if url in pages:
            continue
        answer = client.get(url)
        assert answer.status_code == 200, f"{url}: {answer.status_code} {answer.text[:500]}"
        pages[url] = answer.text
        for href in re.findall(r'href="(/[^"#]*)"', answer.text):
            href = href.replace("&amp;", "&")
            if not href.startswith("/ui/static") and "/artifact?" not in href and href not in pages:
                todo.append(href)
    return pages


def test_every_linked_page_renders(world: World, client_as: ClientAs) -> None:
    pages = _crawl(client_as(APPROVER))
    kinds = {re.sub(r"/[0-9a-f]{32}|\?.*|/\d+", "/*", url) for url in pages}
    for expected in ("/experiments", "/models", "/approvals", "/datasets", "/pipelines", "/deployments", "/monitors"):
        assert expected in kinds
    assert any(url.startswith("/runs/") for url in pages)
    assert any(url.startswith("/models/churn/versions/") for url in pages)
    assert "/deployments/churn-api" in pages
    assert "/audit" in pages


def test_runs_table_shows_chosen_columns_sorted(world: World, client_as: ClientAs) -> None:
    client = client_as(VIEWER)
    page = client.get("/experiments/1", params={"columns": "metrics.auc,params.C", "order_by": "metrics.auc DESC"})
    assert page.status_code == 200
    names = re.findall(r">(lr-C[0-9.]+)<", page.text)
    assert names == ["lr-C5.0", "lr-C0.5", "lr-C0.05"]
    assert "metrics.auc" in page.text and "params.C" in page.text


def test_a_bad_filter_is_shown_with_its_caret(world: World, client_as: ClientAs) -> None:
    page = client_as(VIEWER).get("/experiments/1", params={"filter": "metrics.auc >> 0.5"})
    assert page.status_code == 200
    error = re.search(r'<pre class="error"[^>]*>(.*?)</pre>', page.text, re.S)
    assert error is not None and "^" in error.group(1)


def test_run_page_charts_history_and_previews_artifacts(world: World, client_as: ClientAs) -> None:
    client = client_as(VIEWER)
    run_id = world.run_ids[0]
    page = client.get(f"/runs/{run_id}", params={"metrics": "loss", "log": "true", "smoothing": "0.5"})
    assert page.status_code == 200 and "plotly" in page.text.lower() and '"type":"log"' in page.text
    assert "churn-train@" in page.text  # the dataset input, in the lineage table
    as_json = client.get(f"/runs/{run_id}/artifacts", params={"path": "features.json"})
    assert "&#34;features&#34;: [" in as_json.text  # pretty-printed, HTML-escaped
    as_table = client.get(f"/runs/{run_id}/artifacts", params={"path": "data/sample.csv"})
    assert "20 rows" in as_table.text and '<th scope="col">segment</th>' in as_table.text
    binary = client.get(f"/runs/{run_id}/artifacts", params={"path": "model/model/model.pkl"})
    assert "A binary file" in binary.text


def test_compare_marks_differing_params(world: World, client_as: ClientAs) -> None:
    client = client_as(VIEWER)
    page = client.get("/compare", params=[("run", world.run_ids[0]), ("run", world.run_ids[1])])
    assert page.status_code == 200
    row = re.search(r'<tr class="diff"><th scope="row">C</th>', page.text)
    assert row is not None
    assert '<tr><th scope="row">model</th>' in page.text  # equal in both: not marked
    assert "parcoords" in page.text


def test_dataset_page_diffs_two_versions(world: World, client_as: ClientAs) -> None:
    client = client_as(VIEWER)
    page = client.get("/datasets/churn-train")
    digests = re.findall(r'name="a" value="([0-9a-f]+)"', page.text)
    assert len(digests) == 2
    diff = client.get("/datasets/churn-train", params={"a": digests[1], "b": digests[0]})
    shifted = re.search(r'<tr class="diff"><th scope="row">a</th>', diff.text)
    assert shifted is not None, "column a moved by one standard deviation must be marked"


def test_approve_with_javascript_off_applies_the_change(world: World, client_as: ClientAs) -> None:
    requester = client_as(REQUESTER).get("/approvals")
    assert f'action="/approvals/{world.request_id}/approve"' not in requester.text  # not their own request

    viewer = client_as(VIEWER)
    assert f'action="/approvals/{world.request_id}/approve"' not in viewer.get("/approvals").text
    refused = viewer.post(f"/approvals/{world.request_id}/approve", data={"comment": "me too"})
    assert refused.status_code == 403

    approver = client_as(APPROVER)
    assert f'action="/approvals/{world.request_id}/approve"' in approver.get("/approvals").text
    done = approver.post(f"/approvals/{world.request_id}/approve", data={"comment": "checked the card"})
    assert done.status_code == 200 and "is now applied" in done.text
    assert world.backend(APPROVER).model_versions.get("churn", 2).stage is ModelStage.PRODUCTION


def test_the_audit_log_is_searched_and_shows_the_chains_status(world: World, client_as: ClientAs) -> None:
    client = client_as(ADMIN)
    everything = client.get("/audit")
    assert everything.status_code == 200 and "chain verifies" in everything.text
    found = client.get("/audit", params={"actor": REQUESTER, "action": "deployment.deployed"})
    total = re.search(r"([\d,]+) matching event\(s\)", found.text)
    assert total is not None and total.group(1) == "1"
    rows = re.findall(r"<tr><td class=\"num\">\d+</td><td>[^<]*</td><td>([^<]*)</td><td>([^<]*)</td>", found.text)
    assert rows == [(REQUESTER, "deployment.deployed")]
