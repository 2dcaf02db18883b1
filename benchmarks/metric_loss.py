"""Metric values lost when a training process logging at 1 kHz is stopped by SIGTERM or SIGKILL.

Not a ``run.py`` suite (there is no incumbent): ``python benchmarks/metric_loss.py [--postgres URL]``.

A child process logs ``x = 0, 1, 2, ...`` with ``my.log_metric`` at 1,000 calls a second (paced by
the clock, default settings: batches of 1,000 or every second) and prints each value after
``log_metric`` returned. After ``--seconds`` (plus 0.37 s per repeat, to hit a different point of
the flush cycle) the parent sends the signal, then counts:

* accepted: the values the child reported as returned before it died;
* in the store right after the death, read with SQL (no modelyard process has opened the store
  since, so nothing was replayed): what the store held without the spool;
* in the store after a fresh process opened it with ``Client`` (which replays the dead writer's
  spool);
* lost: accepted values missing from the store after that.

Each (engine, signal) pair runs ``--repeats`` times on a new store.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

WORKER = r"""
import sys, time
from pathlib import Path
import modelyard as my
home, store_uri, rate = sys.argv[1], sys.argv[2], float(sys.argv[3])
my.configure(home=Path(home), store_uri=store_uri, artifact_uri=str(Path(home) / "artifacts"), user="bench",
             capture_environment=False)
run_id = my.start_run().info.run_id
sys.stdout.write(run_id + "\n"); sys.stdout.flush()
period, value = 1.0 / rate, 0
start = time.perf_counter()
while True:
    my.log_metric("x", float(value), step=value)
    sys.stdout.write(f"{value}\n"); sys.stdout.flush()
    value += 1
    delay = start + value * period - time.perf_counter()
    if delay > 0:
        time.sleep(delay)
"""


def _stored(store_uri: str, run_id: str) -> set[int]:
    from sqlalchemy import create_engine, text

    from modelyard.config import Settings

    url = Settings(store_uri=store_uri, home=Path("/nonexistent")).store_uri
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT value FROM metrics WHERE run_id = :r AND key = 'x'"), {"r": run_id}
            ).scalars()
            return {int(v) for v in rows}
    finally:
        engine.dispose()


def _one(store_uri: str, home: Path, signum: int, seconds: float, rate: float) -> dict[str, object]:
    from modelyard.config import Settings
    from modelyard.sdk.client import Client

    settings = Settings(home=home, store_uri=store_uri, artifact_uri=str(home / "artifacts"), user="bench",
                        capture_environment=False)  # fmt: skip
    Client(settings)  # the schema exists before the child starts
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(home), store_uri, str(rate)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    assert len(run_id) == 32, proc.stderr.read() if proc.stderr else run_id
    deadline = time.monotonic() + seconds
    last = -1
    while time.monotonic() < deadline:
        last = int(proc.stdout.readline())
    proc.send_signal(signum)
    rest = [int(w) for w in proc.stdout.read().split() if w.isdigit()]
    proc.wait(timeout=120)
    accepted = max([last, *rest]) + 1
    before = _stored(store_uri, run_id)
    # The next process to open the store replays what the dead writer spooled (this process's
    # backend is already open: it replayed when it opened, before the child started).
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from modelyard.config import Settings; from modelyard.sdk.client import Client; "
            "Client(Settings.model_validate_json(sys.argv[1]))",
            settings.model_dump_json(),
        ],
        check=True,
    )
    after = _stored(store_uri, run_id)
    status = Client(settings).get_run(run_id).info.status.value
    want = set(range(accepted))
    return {
        "accepted": accepted,
        "stored_before_replay": len(before & want),
        "lost_without_spool": len(want - before),
        "lost": len(want - after),
        "duplicates": len(after) != len(set(after)),
        "status": status,
    }


def _postgres_db(admin_url: str) -> tuple[str, object]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from modelyard.config import Settings

    admin = Settings(store_uri=admin_url, home=Path("/nonexistent")).store_uri
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    name = f"modelyard_loss_{uuid.uuid4().hex[:10]}"
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()

    return make_url(admin).set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=os.environ.get("MODELYARD_TEST_POSTGRES_URL"))
    parser.add_argument("--seconds", type=float, default=2.5)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results = []
    engines = ["sqlite"] + (["postgresql"] if args.postgres else [])
    for engine in engines:
        for signum in (signal.SIGTERM, signal.SIGKILL):
            for repeat in range(args.repeats):
                with tempfile.TemporaryDirectory() as tmp:
                    home = Path(tmp)
                    drop = None
                    if engine == "sqlite":
                        store_uri = f"sqlite:///{home / 'store.db'}"
                    else:
                        store_uri, drop = _postgres_db(args.postgres)
                    try:
                        # a different point of the flush cycle each time (batches go every 1,000 values)
                        seconds = args.seconds + 0.37 * repeat
                        row = _one(store_uri, home, signum, seconds, args.rate)
                    finally:
                        if drop is not None:
                            drop()  # type: ignore[operator]
                row = {"engine": engine, "signal": signal.Signals(signum).name, **row}
                print(json.dumps(row), flush=True)
                results.append(row)
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
