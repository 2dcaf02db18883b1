"""Driving Debian's chromium with Playwright, and starting the real ``modelyard ui`` command: what the
browser tests over the team-like store (test_browser.py) and over the demo's data (test_demo.py) share."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from modelyard.config import Settings
from tests._subprocess import child_env, free_port

CHROMIUM = Path("/usr/bin/chromium")
BROWSER_MARKS = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (make test installs it)"),
]


def launched_browser() -> Iterator[object]:
    """A headless chromium for a module's tests (the body of each module's ``browser`` fixture)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (dev extra) drives the browser")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        yield launched
        launched.close()


class Watched:
    """A page that records console errors, failed requests and 4xx/5xx answers."""

    def __init__(self, browser: object) -> None:
        self.page = browser.new_page(viewport={"width": 1300, "height": 900})  # type: ignore[attr-defined]
        self.problems: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.problems.append(f"uncaught: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url}"))
        self.page.on("response", lambda r: r.status >= 400 and self.problems.append(f"{r.status}: {r.url}"))
        self.page.on("dialog", lambda d: d.accept())


def start_ui(settings: Settings, user: str, started: list[subprocess.Popen[str]]) -> str:
    """The real ``modelyard ui`` command over ``settings``' store as ``user``, on a free port; returns
    its base URL once it answers (the process is appended to ``started`` for the caller to stop)."""
    port = free_port()
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("modelyard")), "ui", "--port", str(port)],
        env=child_env(settings, user=user),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    started.append(proc)
    base = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        if proc.poll() is not None:
            raise RuntimeError(f"modelyard ui exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            if httpx.get(f"{base}/experiments", timeout=5).status_code == 200:
                return base
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("modelyard ui did not answer")


ACCESSIBILITY_JS = (Path(__file__).parent / "accessibility.js").read_text()


def accessibility_problems(page: object) -> list[str]:
    """Unlabelled controls and text under WCAG AA contrast on the page as it is now drawn."""
    found: list[str] = page.evaluate(ACCESSIBILITY_JS)  # type: ignore[attr-defined]
    return found
