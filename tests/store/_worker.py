"""A child process for the multi-process store tests (run as a script, never imported by pytest).

Modes (first argument); each prints the id of the run it started, then works until killed:
  hold <store_uri> <artifacts>            start a run, log a param, sleep
  artifacts <store_uri> <artifacts> <src> start a run, log a metric and a copy of <src>, forever
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from modelyard.config import Settings
from modelyard.sdk.client import Client


def _client(store_uri: str, artifacts: str, **extra: object) -> Client:
    home = Path(artifacts).parent / "home"
    extra.setdefault("user", "tester")  # the tests' own user: the store's creator, whom the checks read as
    settings = Settings(home=home, store_uri=store_uri, artifact_uri=artifacts, capture_environment=False, **extra)
    return Client(settings)


def main(mode: str, *args: str) -> None:
    if mode == "hold":
        store_uri, artifacts = args
        client = _client(store_uri, artifacts)
        run = client.create_run(None)
        client.log_param(run.info.run_id, "held", "yes")
        print(json.dumps({"run_id": run.info.run_id}), flush=True)
        time.sleep(600)
    elif mode == "artifacts":
        store_uri, artifacts, src = args
        client = _client(store_uri, artifacts)
        run = client.create_run(None)
        print(json.dumps({"run_id": run.info.run_id}), flush=True)
        index = 0
        while True:
            client.log_metric(run.info.run_id, "written", float(index), step=index)
            client.log_artifact(run.info.run_id, src, f"copy{index}")
            index += 1
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(*sys.argv[1:])
