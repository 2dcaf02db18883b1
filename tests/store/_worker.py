"""A child process for the multi-process store tests (run as a script, never imported by pytest).

Modes (first argument), each waiting for the file ``<go>`` before it starts so the processes
really start at once:
  schema <store_uri> <go>                 ensure_schema, print whether this process created it
  log <store_uri> <artifacts> <go> <n>    open a Client, start a run, log n metric values, end it
  hold <store_uri> <artifacts>            start a run, print its id, then sleep until killed
  artifacts <store_uri> <artifacts> <src> start a run, print its id, log <src> forever
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from modelyard.config import Settings
from modelyard.sdk.client import Client
from modelyard.store.db import Database
from modelyard.store.migration import ensure_schema


def _wait_for(go: str) -> None:
    deadline = time.monotonic() + 60
    while not Path(go).exists():
        if time.monotonic() > deadline:
            raise SystemExit("the go file never appeared")
        time.sleep(0.005)


def _client(store_uri: str, artifacts: str, **extra: object) -> Client:
    home = Path(artifacts).parent / "home"
    return Client(Settings(home=home, store_uri=store_uri, artifact_uri=artifacts, capture_environment=False, **extra))


def main(mode: str, *args: str) -> None:
    if mode == "schema":
        store_uri, go = args
        db = Database(store_uri)
        _wait_for(go)
        created = ensure_schema(db)
        client = _client(store_uri, str(Path(go).parent / "artifacts"))
        run = client.create_run(client.backend.experiments.get_or_create("race").experiment_id)
        client.log_metric(run.info.run_id, "alive", 1.0)
        client.set_terminated(run.info.run_id)
        print(json.dumps({"created": created}), flush=True)
    elif mode == "log":
        store_uri, artifacts, go, n = args
        client = _client(store_uri, artifacts, metric_batch_size=100, metric_flush_interval_s=0.05)
        experiment_id = client.backend.experiments.get_or_create("concurrent").experiment_id
        _wait_for(go)
        run = client.create_run(experiment_id)
        for step in range(int(n)):
            client.log_metric(run.info.run_id, "loss", 1.0 / (step + 1), step=step, synchronous=False)
        client.set_terminated(run.info.run_id)
        print(json.dumps({"run_id": run.info.run_id}), flush=True)
    elif mode == "hold":
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
