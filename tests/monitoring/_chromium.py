"""Open an HTML file in headless Chromium over the DevTools protocol: console errors and a screenshot."""

from __future__ import annotations

import base64
import itertools
import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

CHROMIUM = Path("/usr/bin/chromium")


def open_page(html_file: Path, screenshot: Path, *, timeout_s: float = 30.0) -> list[str]:
    """Load ``html_file``, wait for it, save a screenshot; returns the console errors and uncaught exceptions."""
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.Popen(
            [
                str(CHROMIUM),
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                "--window-size=1280,2000",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + timeout_s
            while not port_file.exists() or not port_file.read_text().strip():
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("chromium did not start its DevTools endpoint")
                time.sleep(0.05)
            port = port_file.read_text().split()[0]
            return _drive(int(port), html_file, screenshot, timeout_s)
        finally:
            proc.terminate()
            proc.wait(10)


def _drive(port: int, html_file: Path, screenshot: Path, timeout_s: float) -> list[str]:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as answer:
        target = next(t for t in json.load(answer) if t["type"] == "page")
    errors: list[str] = []
    ids = itertools.count(1)
    with connect(target["webSocketDebuggerUrl"], max_size=None, open_timeout=timeout_s) as ws:

        def call(method: str, **params: Any) -> dict[str, Any]:
            msg_id = next(ids)
            ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
            while True:
                event = json.loads(ws.recv(timeout=timeout_s))
                _collect(event, errors)
                if event.get("method") == "Page.loadEventFired":
                    loaded.append(True)
                if event.get("id") == msg_id:
                    return event.get("result", {})

        loaded: list[bool] = []
        for domain in ("Page", "Runtime", "Log"):
            call(f"{domain}.enable")
        call("Page.navigate", url=html_file.resolve().as_uri())
        deadline = time.monotonic() + timeout_s
        while not loaded and time.monotonic() < deadline:
            event = json.loads(ws.recv(timeout=timeout_s))
            _collect(event, errors)
            loaded.append(True) if event.get("method") == "Page.loadEventFired" else None
        plots = call("Runtime.evaluate", expression="document.querySelectorAll('.js-plotly-plot .main-svg').length")
        if not plots.get("result", {}).get("value"):
            errors.append("no plotly chart was drawn")
        shot = call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        screenshot.write_bytes(base64.b64decode(shot["data"]))
    return errors


def _collect(event: dict[str, Any], errors: list[str]) -> None:
    method = event.get("method")
    params = event.get("params", {})
    if method == "Runtime.exceptionThrown":
        errors.append(str(params["exceptionDetails"].get("exception", {}).get("description", params)))
    elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
        errors.append(" ".join(str(a.get("value", a.get("description"))) for a in params.get("args", [])))
    elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
        errors.append(params["entry"].get("text", ""))
