"""The UI in real headless Chromium (Playwright driving Debian's chromium): every page loads with no
console error and no failed request, and two people's workflows click through to the store."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest

from modelyard.domain.serving import VariantMode
from tests.ui._browser import BROWSER_MARKS, Watched, accessibility_problems, launched_browser
from tests.ui.conftest import APPROVER, REQUESTER, SCREENSHOTS, World

pytestmark = BROWSER_MARKS

PAGES = (
    "/experiments",
    "/experiments/1",
    "/runs/{run}",
    "/runs/{run}/artifacts?path=data/sample.csv",
    "/compare?run={run}&run={run2}",
    "/models",
    "/models/churn",
    "/models/churn/versions/2",
    "/approvals",
    "/datasets",
    "/datasets/churn-train",
    "/pipelines",
    "/deployments",
    "/deployments/churn-api",
    "/monitors",
    "/audit",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    yield from launched_browser()


def test_every_page_loads_cleanly_and_is_screenshotted(
    world: World, ui_server: Callable[[str], str], browser: object
) -> None:
    base = ui_server(REQUESTER)
    watched = Watched(browser)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for path in PAGES:
        url = base + path.format(run=world.run_ids[0], run2=world.run_ids[1])
        watched.page.goto(url)
        watched.page.wait_for_load_state("networkidle")
        assert watched.page.locator("h1").count() >= 1, path
        assert accessibility_problems(watched.page) == [], path  # labelled controls, WCAG AA contrast
        name = re.sub(r"[^a-z0-9]+", "-", path.split("?")[0].format(run="run", run2="").lower()).strip("-")
        watched.page.screenshot(path=str(SCREENSHOTS / f"{name or 'home'}.png"), full_page=True)
    assert watched.problems == []
    charts = watched.page.goto(base + f"/runs/{world.run_ids[0]}")
    assert charts is not None and charts.ok
    watched.page.wait_for_selector(".plotly .main-svg")  # the metric chart actually drew


def test_keyboard_reaches_the_search_box(world: World, ui_server: Callable[[str], str], browser: object) -> None:
    watched = Watched(browser)
    watched.page.goto(ui_server(REQUESTER) + "/experiments/1")
    watched.page.keyboard.press("Tab")  # the skip link comes first
    assert watched.page.evaluate("document.activeElement.className") == "skip"
    watched.page.keyboard.press("Enter")
    watched.page.locator("#filter").focus()
    watched.page.keyboard.type("params.C = '0.5'")
    with watched.page.expect_navigation():  # the form submits: wait for the filtered page itself
        watched.page.keyboard.press("Enter")
    assert watched.page.locator("tbody a", has_text="lr-C").all_inner_texts() == ["lr-C0.5"]


def test_a_second_user_approves_in_the_browser(world: World, ui_server: Callable[[str], str], browser: object) -> None:
    backend = world.backend(APPROVER)
    pending = [r for r in backend.approvals.list(status="pending") if r.version == 2]
    if not pending:  # the no-JavaScript test may have approved it already: ask again for version 3
        try:
            world.backend(REQUESTER).stages.transition("churn", 3, "Production", reason="second opinion")
        except Exception:
            pass
        pending = backend.approvals.list(status="pending")
    request = pending[0]
    watched = Watched(browser)
    watched.page.goto(ui_server(APPROVER) + "/approvals")
    row = watched.page.locator(f"#request-{request.id}")
    row.get_by_label("Comment").fill("card and gate checked")
    row.get_by_role("button", name="Approve").click()
    watched.page.wait_for_load_state("networkidle")
    assert "is now" in watched.page.locator(".flash").inner_text()
    assert watched.problems == []
    decided = world.backend(APPROVER).approvals.get(request.id)
    assert decided.status.value in ("approved", "applied")
    assert [(d.approver, d.comment) for d in decided.decisions] == [(APPROVER, "card and gate checked")]


def test_canary_rollback_in_the_browser(world: World, ui_server: Callable[[str], str], browser: object) -> None:
    before = world.backend(REQUESTER).deployments.get(world.deployment)
    assert any(v.mode is VariantMode.CANARY for v in before.variants)
    watched = Watched(browser)
    watched.page.goto(ui_server(REQUESTER) + f"/deployments/{world.deployment}")
    watched.page.get_by_role("button", name="Roll back").click()  # confirm() is accepted by the page's handler
    watched.page.wait_for_load_state("networkidle")
    assert "rollback done" in watched.page.locator(".flash").inner_text()
    assert watched.problems == []
    after = world.backend(REQUESTER).deployments.get(world.deployment)
    assert after.revision == before.revision + 1
    assert [v.mode for v in after.variants] == [VariantMode.PRIMARY]
    assert world.backend(REQUESTER).deployments.history(world.deployment, limit=1)[0].actor == REQUESTER
