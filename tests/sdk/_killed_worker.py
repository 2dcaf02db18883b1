"""A training process for the SIGTERM / SIGKILL tests (run as a script, never imported by pytest).

``python _killed_worker.py MODE HOME STORE_URI``; MODE is ``fluent`` (``my.start_run`` and
``my.log_metric``), ``fluent-chained`` (the same after installing its own SIGTERM handler, which
prints ``user handler`` and exits 3) or ``client`` (``Client.log_metric(synchronous=False)``).
It prints the run id, then, after each ``log_metric`` call has returned, the value it logged, and
logs until it is killed. Values are 0, 1, 2, ...; nothing is flushed by hand.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from types import FrameType


def main(mode: str, home: str, store_uri: str) -> None:
    import modelyard as my
    from modelyard.config import Settings
    from modelyard.sdk.client import Client

    settings = Settings(
        home=Path(home),
        store_uri=store_uri,
        artifact_uri=str(Path(home) / "artifacts"),
        user="tester",  # the test's own user: the store's creator (admin), who replays the spool later
        capture_environment=False,
        metric_flush_interval_s=3600.0,  # nothing reaches the store before the signal but by size
        metric_batch_size=100_000,
    )
    if mode == "fluent-chained":

        def user_handler(signum: int, frame: FrameType | None) -> None:
            print("user handler", flush=True)
            sys.exit(3)

        signal.signal(signal.SIGTERM, user_handler)
    if mode.startswith("fluent"):
        my.configure(**settings.model_dump())
        run_id = my.start_run().info.run_id

        def log(value: int) -> None:
            my.log_metric("x", float(value), step=value)

    else:
        client = Client(settings)
        run_id = client.create_run(None).info.run_id

        def log(value: int) -> None:
            client.log_metric(run_id, "x", float(value), step=value, synchronous=False)

    print(run_id, flush=True)
    value = 0
    while True:
        log(value)
        # one write: print() writes the value and the newline separately, and a signal handler
        # that prints can run between the two ("3004user handler")
        sys.stdout.write(f"{value}\n")
        sys.stdout.flush()
        value += 1
        if value % 50 == 0:
            time.sleep(0.001)


if __name__ == "__main__":
    main(*sys.argv[1:])
