"""Web UI: the runs page of an experiment of 100,000 runs, rendered on the server, and its weight.

The store is filled in bulk (plain inserts into the tracking tables: 100,000 runs with 3 params and
2 latest metrics each), then the page is requested through the UI app in this process (no network:
what is measured is the server's work): the first page, a filtered page sorted by a metric, a page
deep in the list, and a page sorted by a param (params have no (key, value) index: every run's
value is sorted, where a metric sort walks the latest-metric index and stops after the page). Page
weight is the HTML as sent, and gzip-compressed as the UI's middleware sends it.

Target (issue 14): under 300 ms per page at 100,000 runs. ``--scale 0.1`` fills 10,000 runs.
Standalone: ``python benchmarks/ui.py [--scale S]``.
"""

from __future__ import annotations

import gzip
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: `python benchmarks/ui.py`

from benchmarks._common import Case, Options, print_table

TITLE = "Web UI: the runs page of a large experiment, rendered on the server"
INCUMBENT = "target"

RUNS = 100_000
TARGET_MS = 300.0
BATCH = 5_000


def versions() -> dict[str, str]:
    import modelyard

    return {"modelyard": modelyard.__version__}


def fill(home: Path, n_runs: int) -> str:
    """``n_runs`` finished runs in one experiment, written with bulk inserts; returns its id."""
    from sqlalchemy import insert

    from modelyard.config import Settings
    from modelyard.sdk.backends.local import LocalBackend
    from modelyard.store.tables.tracking import latest_metrics, params, runs

    backend = LocalBackend.open(Settings(home=home, user="bench", capture_environment=False))
    experiment_id = backend.experiments.create("big")
    now = int(time.time() * 1000)
    with backend.db.begin() as conn:
        for start in range(0, n_runs, BATCH):
            ids = [uuid.uuid4().hex for _ in range(min(BATCH, n_runs - start))]
            conn.execute(
                insert(runs),
                [
                    {
                        "run_id": run_id,
                        "experiment_id": int(experiment_id),
                        "run_name": f"run-{start + i}",
                        "user": "bench",
                        "status": "FINISHED",
                        "start_time": now - (start + i) * 1000,
                        "end_time": now - (start + i) * 1000 + 500,
                        "lifecycle_stage": "active",
                        "artifact_uri": str(home / "artifacts" / run_id),
                    }
                    for i, run_id in enumerate(ids)
                ],
            )
            conn.execute(
                insert(params),
                [
                    {"run_id": r, "key": key, "value": str(value)}
                    for i, r in enumerate(ids)
                    for key, value in (("lr", 10 ** -(i % 4)), ("depth", i % 9), ("model", "rf" if i % 2 else "lr"))
                ],
            )
            conn.execute(
                insert(latest_metrics),
                [
                    {"run_id": r, "key": key, "value": value, "timestamp": now, "step": 0}
                    for i, r in enumerate(ids)
                    for key, value in (("auc", ((start + i) * 7919 % 1000) / 1000), ("loss", 1 / (1 + i)))
                ],
            )
    return experiment_id


def measure(home: Path, experiment_id: str, repeats: int) -> dict[str, dict[str, float]]:
    from fastapi.testclient import TestClient

    from modelyard.config import Settings
    from modelyard.tracking.search import encode_page_token
    from modelyard.ui import create_ui_app

    app = create_ui_app(Settings(home=home, user="bench", capture_environment=False))
    client = TestClient(app)
    pages: dict[str, dict[str, str]] = {
        "first page": {},
        "filtered + sorted": {"filter": "metrics.auc > 0.5 and params.model = 'rf'", "order_by": "metrics.auc DESC"},
        "page 100 (offset 4,950)": {"page_token": encode_page_token(4_950)},
        "sorted by a param": {"order_by": "params.depth ASC"},
    }
    results: dict[str, dict[str, float]] = {}
    for name, query in pages.items():
        client.get(f"/experiments/{experiment_id}", params=query)  # warm: templates compiled, caches filled
        times = []
        for _ in range(max(3, repeats)):
            started = time.perf_counter()
            answer = client.get(f"/experiments/{experiment_id}", params=query)
            times.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200, answer.text[:300]
        body = answer.content
        results[name] = {
            "ms": statistics.median(times),
            "html_kib": len(body) / 1024,
            "gzip_kib": len(gzip.compress(body)) / 1024,
        }
    return results


def run(options: Options) -> list[Case]:
    n_runs = options.n(RUNS, minimum=1_000)
    with tempfile.TemporaryDirectory(prefix="modelyard-ui-bench-") as tmp:
        home = Path(tmp)
        started = time.perf_counter()
        experiment_id = fill(home, n_runs)
        print(f"filled {n_runs:,} runs in {time.perf_counter() - started:.1f} s")
        results = measure(home, experiment_id, options.repeats)
    return [
        Case(
            name=f"runs page at {n_runs:,} runs: {name}",
            unit="ms",
            modelyard=figures["ms"],
            incumbent=TARGET_MS,
            higher_is_better=False,
            target=1.0,
            note=f"{figures['html_kib']:.0f} KiB of HTML, {figures['gzip_kib']:.0f} KiB gzipped "
            "(plotly.js, 4.6 MiB, is loaded only by pages with charts, and cached)",
        )
        for name, figures in results.items()
    ]


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=TITLE)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    print_table(TITLE, INCUMBENT, run(Options(scale=args.scale)))
