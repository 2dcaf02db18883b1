"""``make bench``: run the benchmark suites, print their tables, write ``bench-results/*.json``.

A suite is a module of this folder exposing ``TITLE``, ``INCUMBENT`` and ``run(options) ->
list[Case]``; add it to ``SUITES`` to have ``make bench`` run it. ``--only NAME`` runs one suite.
Benchmarks are not part of ``make test``: they take minutes and their figures depend on the machine.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: `python benchmarks/run.py`

from benchmarks._common import Options, print_table, write_results

# name -> module (in this folder) holding the suite
SUITES: dict[str, str] = {
    "tracking": "benchmarks.tracking",
    "drift": "benchmarks.drift",
    "serving": "benchmarks.serving",
    "ui": "benchmarks.ui",
    "batch": "benchmarks.batch",
    "features": "benchmarks.features",
    "explain": "benchmarks.explain",
    "server": "benchmarks.server",
    "mlflow_api": "benchmarks.mlflow_api",
    "cli": "benchmarks.cli",
    "scale": "benchmarks.scale",
    "purge": "benchmarks.purge",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="modelyard benchmarks, side by side with the incumbent tools")
    parser.add_argument("--only", choices=sorted(SUITES), help="run this suite only")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply every workload by this (e.g. 0.1 for a quick look)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="repeats of the cheap cases (the median is reported)")
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 10:
        parser.error(f"--scale must be in (0, 10], got {args.scale}")
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    options = Options(scale=args.scale, repeats=args.repeats)
    names = [args.only] if args.only else list(SUITES)
    for name in names:
        suite = importlib.import_module(SUITES[name])
        started = time.perf_counter()
        cases = suite.run(options)
        elapsed = time.perf_counter() - started
        print_table(f"{suite.TITLE} (scale {options.scale:g}, {elapsed:.0f} s)", suite.INCUMBENT, cases)
        path = write_results(
            name, cases, {"scale": options.scale, "repeats": options.repeats, "elapsed_s": elapsed, **suite.versions()}
        )
        print(f"results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
