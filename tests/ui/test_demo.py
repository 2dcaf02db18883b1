"""``make demo`` ends by printing the UI's address, and the UI over the demo's data, in real headless
chromium: every kind of page the demo's store links to loads with no console error and no failed
request and shows the demo's content (the pipeline's step graph, the monitor's windows, the canary's
live figures, the verified audit chain); an alert the drift fired is acknowledged and resolved by
clicks. One screenshot per kind of page lands in test-artifacts/ui/demo/."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from modelyard.config import Settings
from modelyard.domain.pipelines import StepStatus
from modelyard.sdk.backends.local import LocalBackend
from modelyard.sdk.monitoring import monitoring
from modelyard.ui.pages.operations import STEP_COLOURS
from tests._subprocess import child_env, stop_group
from tests.server._running import running_server
from tests.ui._browser import BROWSER_MARKS, Watched, accessibility_problems, launched_browser, start_ui
from tests.ui.conftest import SCREENSHOTS

pytestmark = BROWSER_MARKS

REPO = Path(__file__).resolve().parents[2]
USER = "erin"  # the person who runs the demo (the store's first user: its admin)
DEMO_SHOTS = SCREENSHOTS / "demo"
MAX_PAGES = 80


@dataclass
class Demo:
    settings: Settings
    output: str
    base: str


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """``make demo`` on a fresh store (its install step taken as done: this test's venv has the
    extras), then ``modelyard ui`` over that store."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    settings = Settings(home=tmp_path_factory.mktemp("demo-home"), user=USER, capture_environment=False)
    venv = Path(sys.executable).parent.parent
    done = subprocess.run(
        ["make", "--no-print-directory", "-o", f"{venv}/.installed-demo", "demo", f"VENV={venv}"],
        cwd=REPO,
        env=child_env(settings, user=USER, COLUMNS="120"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    started: list[subprocess.Popen[str]] = []
    try:
        yield Demo(settings=settings, output=done.stdout, base=start_ui(settings, USER, started))
    finally:
        for proc in started:
            stop_group(proc)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from launched_browser()


def test_make_demo_ends_by_printing_the_ui_address(demo: Demo) -> None:
    last = " ".join(line.strip() for line in demo.output.strip().splitlines()[-3:])
    assert "modelyard ui" in last and "http://127.0.0.1:5080" in last, last


def _kind(url: str) -> str:
    """The page's route with ids and names folded, plus the previewed file's extension."""
    path, _, query = url.partition("?")
    path = re.sub(r"/[0-9a-f]{32}", "/RUN", path)
    path = re.sub(r"/\d+(?=/|$)", "/N", path)
    parts = path.strip("/").split("/")
    if len(parts) >= 2 and parts[0] in ("models", "datasets", "deployments", "monitors") and parts[1] != "N":
        parts[1] = "NAME"
    kind = "/".join(parts)
    if kind.endswith("artifacts"):
        found = re.search(r"path=[^&]*?(\.[a-z]+)?(?:&|$)", query)
        kind += (found.group(1) or "-folder") if found else ""
    return kind


def test_every_kind_of_page_over_the_demos_data_loads_cleanly(demo: Demo, browser: object) -> None:
    """A crawl of the demo store's links in the browser, up to two pages of each kind: no console
    error or failed request, a heading, labelled controls and readable contrast on each."""
    watched = Watched(browser)
    DEMO_SHOTS.mkdir(parents=True, exist_ok=True)
    seen_kinds: dict[str, int] = {}
    visited: set[str] = set()
    todo = ["/experiments"]
    inaccessible: list[str] = []
    while todo and len(visited) < MAX_PAGES:
        url = todo.pop(0)
        kind = _kind(url)
        if url in visited or seen_kinds.get(kind, 0) >= 2:
            continue
        visited.add(url)
        seen_kinds[kind] = seen_kinds.get(kind, 0) + 1
        answer = watched.page.goto(demo.base + url)
        assert answer is not None and answer.ok, url
        watched.page.wait_for_load_state("networkidle")
        assert watched.page.locator("h1").count() >= 1, url
        inaccessible.extend(f"{url}: {problem}" for problem in accessibility_problems(watched.page))
        if seen_kinds[kind] == 1:
            name = re.sub(r"[^a-z0-9.]+", "-", kind.lower()).strip("-") or "home"
            watched.page.screenshot(path=str(DEMO_SHOTS / f"{name}.png"), full_page=True)
        for href in watched.page.eval_on_selector_all(
            "a[href^='/']", "links => links.map(a => a.getAttribute('href'))"
        ):
            if not href.startswith(("/ui/static", "/login", "/logout")) and "/artifact?" not in href:
                todo.append(href.split("#")[0])
    assert watched.problems == []
    assert inaccessible == []  # labelled controls, WCAG AA contrast
    expected = {
        "experiments", "experiments/N", "runs/RUN", "models", "models/NAME", "models/NAME/versions/N",
        "approvals", "datasets", "datasets/NAME", "pipelines", "pipelines/RUN", "deployments",
        "deployments/NAME", "monitors", "monitors/NAME", "audit",
    }  # fmt: skip
    assert expected <= set(seen_kinds), sorted(expected - set(seen_kinds))
    assert any(k.startswith("runs/RUN/artifacts") for k in seen_kinds), sorted(seen_kinds)


def test_the_demos_pipeline_monitor_deployment_and_audit_show_their_content(demo: Demo, browser: object) -> None:
    backend = LocalBackend.open(demo.settings)
    watched = Watched(browser)
    page = watched.page

    page.goto(demo.base + "/pipelines")
    page.locator("main a[href^='/pipelines/']").first.click()
    page.wait_for_selector(".plotly .main-svg")  # the step graph drew
    statuses = page.locator("tbody .badge").all_inner_texts()
    assert statuses and set(statuses) <= {"COMPLETED", "CACHED"}, statuses
    nodes = page.evaluate(
        "() => { const d = document.querySelector('.plotly-graph-div').data; return d[d.length - 1]; }"
    )
    assert nodes["text"] == page.locator("tbody tr td:first-child").all_inner_texts()
    assert nodes["marker"]["color"] == [
        STEP_COLOURS[StepStatus(s)] for s in statuses
    ]  # each node in its status's colour

    deployment = backend.deployments.list()[0]
    page.goto(demo.base + f"/deployments/{deployment.name}")
    live = page.locator("table", has=page.locator("th", has_text="p99 ms"))
    assert live.locator("tbody tr").count() >= 1  # the demo's requests, read back from the inference log
    page.wait_for_selector(".plotly .main-svg")

    name = monitoring(backend).list()[0].name
    page.goto(demo.base + f"/monitors/{name}")
    page.wait_for_selector(".plotly .main-svg")  # drift per feature over the windows
    windows = page.locator("table").first.locator("tbody tr")
    assert windows.count() >= 2 and "No window" not in windows.first.inner_text()

    page.goto(demo.base + "/audit")
    assert "chain verifies" in page.locator("[role=status]").inner_text()
    assert watched.problems == []


def test_an_alert_is_acknowledged_then_resolved_by_clicks(demo: Demo, browser: object) -> None:
    alerts = monitoring(LocalBackend.open(demo.settings)).alerts
    fired = alerts.list(status="open") or alerts.list(status="acknowledged")
    assert fired, "the demo's drift fires an alert"
    alert = fired[0]
    watched = Watched(browser)
    watched.page.goto(demo.base + "/monitors?status=all")
    row = watched.page.locator("tr", has=watched.page.locator("td.mono", has_text=alert.id[:8]))
    if alert.status.value == "open":
        row.get_by_role("button", name="Acknowledge").click()
        watched.page.wait_for_load_state("networkidle")
        assert f"alert {alert.id[:8]} is acknowledged" in watched.page.locator(".flash").inner_text()
        assert alerts.get(alert.id).status.value == "acknowledged"
        watched.page.goto(demo.base + "/monitors?status=all")
    row.get_by_role("button", name="Resolve").click()
    watched.page.wait_for_load_state("networkidle")
    assert f"alert {alert.id[:8]} is resolved" in watched.page.locator(".flash").inner_text()
    assert alerts.get(alert.id).status.value == "resolved"
    assert watched.problems == []


def test_the_team_server_logs_in_and_shows_each_role_its_actions(demo: Demo, browser: object) -> None:
    """``modelyard server`` over the demo's store serves the same pages at ``/`` behind its login: a
    viewer logs in through the form and sees the deployment without its actions, and a rollback
    posted from the page anyway is refused and changes nothing; the admin sees the actions."""
    admin = LocalBackend.open(demo.settings)
    if "dave" not in {u.name for u, _ in admin.identity.list_users()}:
        admin.identity.create_user("dave", role="viewer")
    for user in ("dave", USER):
        admin.identity.set_password("correct horse battery", user=user)
    deployment = admin.deployments.list()[0]
    with running_server(demo.settings) as server:
        viewer = Watched(browser)
        page = viewer.page
        page.goto(server.url + f"/deployments/{deployment.name}")
        assert page.url.startswith(server.url + "/login?next=")  # no session: the login form first
        DEMO_SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DEMO_SHOTS / "login.png"), full_page=True)
        page.get_by_label("User name").fill("dave")
        page.get_by_label("Password").fill("correct horse battery")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state("networkidle")
        assert page.url == server.url + f"/deployments/{deployment.name}"
        assert "dave · viewer" in page.locator("header").inner_text()
        assert page.get_by_role("button", name="Roll back").count() == 0
        refused = page.request.post(
            server.url + f"/deployments/{deployment.name}/rollback", headers={"origin": server.url}
        )  # the session cookie and this server's origin: only the role is missing
        assert refused.status == 403
        assert admin.deployments.get(deployment.name).revision == deployment.revision
        assert viewer.problems == []

        owner = Watched(browser)
        owner.page.goto(server.url + "/login")
        owner.page.get_by_label("User name").fill(USER)
        owner.page.get_by_label("Password").fill("correct horse battery")
        owner.page.get_by_role("button", name="Log in").click()
        owner.page.goto(server.url + f"/deployments/{deployment.name}")
        assert owner.page.get_by_role("button", name="Roll back").count() == 1
        assert owner.problems == []
