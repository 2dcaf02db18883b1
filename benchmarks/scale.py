"""Scale: modelyard vs MLflow on PostgreSQL, each filled with the same large history.

Both stores are filled by ``scale_generate`` (PostgreSQL ``COPY`` into each tool's own tables) with
the same runs: at ``--scale 1`` of ``make bench`` that is 1/100 of the full size, 10,000 runs over
10 experiments (2,000 in the big one) with 20 params, 10 tags and 10 metrics each, plus 10 runs
holding 50 metrics x 2,000 steps: 1,100,000 metric points. Then, on the filled stores, each tool's
own client (``modelyard.Client``, ``MlflowClient``) is timed on:

* ``log_batch``: 10 calls of 1,000 metrics into a new run of the big experiment;
* run creation: fluent runs (start, 3 params, 2 metrics, end), one after the other;
* a search page: a metric and a param filter, ordered by a metric, 100 runs, in the big experiment
  and across every experiment but ``scale-wide``; for modelyard, ``EXPLAIN (ANALYZE, BUFFERS)`` of
  the statements the search sent (``_scale_explain``): index names and execution time in the note;
* fetching every run of the big experiment as a DataFrame (``search_runs``), and the 3,000 runs of
  100 metrics of ``scale-wide`` (30,000 from ``--size 0.1`` up: mlflow#2730's fetch);
* reading metric history: one metric of 2,000 points, and all 50 of a run (100,000 points);
* a metric history of 1,000,000 points (written by the fill with ``generate_series``): MLflow's
  ``get_metric_history``, modelyard's ``get_metric_history_frame`` (columns, a binary ``COPY``) and
  its ``get_metric_history`` (one ``Metric`` per point) in the note;
* ``search_registered_models`` with three tag filters among 10,000 registered models of 5 tags each
  (written by the fill; the registry's size does not scale).

Each tool gets a database of its own on the server ``MODELYARD_BENCH_POSTGRES_URL`` names (else
``MODELYARD_TEST_POSTGRES_URL``, else ``postgres@127.0.0.1:5432``), one per size, dropped and
created afresh by a fill and kept after it: the fill records itself in the database's comment, so
``--reuse`` measures it again without filling, ``--fill-only`` fills without measuring.
``python benchmarks/scale.py --size 1 --modelyard-only`` fills modelyard alone at full size
(1,000,000 runs, 100,000,000 points; tens of GB) and times the same reads and writes.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import random
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric as MlflowMetric
from sqlalchemy.engine import make_url

import modelyard as my
from benchmarks import _scale_explain, _scale_fill, scale_generate
from benchmarks._common import Case, Options, median_seconds, print_table, timed
from modelyard.domain.tracking import Metric

TITLE = "Scale: modelyard vs MLflow on PostgreSQL, the same large history in each"
INCUMBENT = f"MLflow {mlflow.__version__}"

SIZE = 0.01  # of the full 1,000,000 runs, at make bench's --scale 1
BATCHES, BATCH_SIZE = 10, 1_000
RUNS = 200
# One filter of each kind the issue names: a metric, a param, a tag and an attribute.
SEARCH_FILTER = "metrics.auc > 0.9 and params.model = 'rf' and tags.team = 'vision' and attributes.status = 'FINISHED'"
SEARCH_ORDER = ["metrics.auc DESC"]
PAGE = 100
REPEATS = 5
DATABASES = {"modelyard": "modelyard_bench_scale_my", "mlflow": "modelyard_bench_scale_mlflow"}

logging.getLogger("mlflow").setLevel(logging.WARNING)
logging.getLogger("alembic").setLevel(logging.WARNING)
warnings.filterwarnings("ignore", module=r"mlflow(\.|$)")


def versions() -> dict[str, Any]:
    return {"modelyard_version": my.__version__, "mlflow_version": mlflow.__version__}


def server_url() -> str:
    raw = (
        os.environ.get("MODELYARD_BENCH_POSTGRES_URL")
        or os.environ.get("MODELYARD_TEST_POSTGRES_URL")
        or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    return make_url(raw).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def database_name(tool: str, size: float) -> str:
    """The tool's database at ``size``: a name of its own for each size but ``SIZE``, so that
    ``make bench`` (1/100) never drops an hour's full-size fill."""
    return DATABASES[tool] if size == SIZE else f"{DATABASES[tool]}_{size:g}".replace(".", "_")


def database_url(tool: str, size: float = SIZE, *, synchronous_commit: bool = True) -> str:
    """The tool's database; ``synchronous_commit=False`` adds libpq's ``options`` so that commits
    return before their WAL reaches the disk (PostgreSQL's ``synchronous_commit = off``)."""
    url = make_url(server_url()).set(database=database_name(tool, size))
    if not synchronous_commit:
        url = url.update_query_dict({"options": "-c synchronous_commit=off"})
    return url.render_as_string(hide_password=False)


def _connect(tool: str, size: float, root: Path, *, synchronous_commit: bool = True) -> tuple[Any, Any, Any]:
    """(fluent module, client, metric type) of ``tool`` on its database at ``size``."""
    url = database_url(tool, size, synchronous_commit=synchronous_commit)
    if tool == "modelyard":
        my.configure(home=root / "my-home", store_uri=url, artifact_uri=str(root / "my-artifacts"))
        return my, my.client(), Metric
    mlflow.set_tracking_uri(url)
    return mlflow, MlflowClient(), MlflowMetric


# -- the workloads: ``client`` is a ``modelyard.Client`` or an ``MlflowClient``, ``api`` the module ---------


def _log_batches(client: Any, experiment_id: str, prepared: list[list[Any]], repeats: int) -> list[float]:
    """Seconds of logging ``prepared`` with ``log_batch``, each repeat into a new run."""
    times: list[float] = []
    for _ in range(repeats):
        run_id = client.create_run(experiment_id).info.run_id

        def go(run_id: str = run_id) -> None:
            for batch in prepared:
                client.log_batch(run_id, metrics=batch)

        times.append(timed(go))
        client.set_terminated(run_id)
    return times


def _create_runs(client: Any, experiment_id: str, n: int) -> float:
    """Seconds to create ``n`` runs with the client's ``create_run`` (ended afterwards, untimed)."""
    created: list[str] = []
    seconds = timed(lambda: created.extend(client.create_run(experiment_id).info.run_id for _ in range(n)))
    for run_id in created:
        client.set_terminated(run_id)
    return seconds


def _fluent_runs(api: Any, n: int) -> Callable[[], None]:
    rng = random.Random(1)

    def go() -> None:
        for i in range(n):
            with api.start_run():
                api.log_params({"model": ("rf", "gbm", "lr")[i % 3], "depth": i % 10, "lr": 0.1})
                api.log_metrics({"auc": rng.uniform(0.5, 1.0), "loss": rng.random()})

    return go


def _search(client: Any, experiment_ids: list[str]) -> tuple[float, list[float], int]:
    found: list[int] = []

    def go() -> None:
        found.append(len(client.search_runs(experiment_ids, SEARCH_FILTER, max_results=PAGE, order_by=SEARCH_ORDER)))

    median, times = median_seconds(go, REPEATS)
    return median, times, found[0]


EVERY_RUN = 10_000_000  # max_results above any experiment's size (both fluent APIs fetch page by page)


def _frame(
    api: Any, experiment_id: str, repeats: int, max_results: int = 100_000
) -> tuple[float, list[float], tuple[int, int]]:
    shape: list[tuple[int, int]] = []

    def go() -> None:
        frame = api.search_runs([experiment_id], max_results=max_results)
        shape.append(frame.shape)

    median, times = median_seconds(go, repeats)
    return median, times, shape[0]


def _history(client: Any, run_id: str, keys: list[str], repeats: int) -> tuple[float, list[float], int]:
    points: list[int] = []

    def go() -> None:
        points.append(sum(len(client.get_metric_history(run_id, key)) for key in keys))

    median, times = median_seconds(go, repeats)
    return median, times, points[0]


LONG_KEY, LONG_POINTS = _scale_fill.LONG_KEY, _scale_fill.LONG_POINTS


def _long_history(tool: str, client: Any, run_id: str) -> tuple[float, list[float], str]:
    """Seconds to read the long history: MLflow's list, modelyard's frame (its list in the note)."""
    if tool == "modelyard":
        frame_s, times = median_seconds(lambda: client.get_metric_history_frame(run_id, LONG_KEY), 3)
        listed: list[int] = []
        list_s = timed(lambda: listed.append(len(client.get_metric_history(run_id, LONG_KEY))))
        return frame_s, times, f"{LONG_POINTS:,} points as a frame ({listed[0]:,} as Metric records in {list_s:.2f} s)"
    got: list[int] = []
    seconds = timed(lambda: got.append(len(client.get_metric_history(run_id, LONG_KEY))))
    return seconds, [seconds], f"{got[0]:,} points"


REGISTERED_MODELS = _scale_fill.REGISTERED_MODELS
MODEL_FILTER = "tags.team = 'team-3' AND tags.stage = 'stage-1' AND tags.domain = 'domain-2'"


def _model_search(client: Any, repeats: int) -> tuple[float, list[float], int]:
    found: list[int] = []

    def go() -> None:
        found.append(len(client.search_registered_models(MODEL_FILTER, max_results=100)))

    median, times = median_seconds(go, max(repeats, REPEATS))
    return median, times, found[0]


def _batch(index: int) -> list[tuple[str, float, int]]:
    """The ``index``-th batch: 10 keys x 100 steps, as (key, value, step)."""
    return [(f"m{j % 10}", float(index * BATCH_SIZE + j), index * 100 + j // 10) for j in range(BATCH_SIZE)]


# -- one tool at a time ------------------------------------------------------------------------------


def _history_keys(plan: scale_generate.Plan) -> list[str]:
    return [f"train/metric_{k:02d}" for k in range(plan.history_keys)]


Measured = dict[str, tuple[float, list[float], Any]]  # case -> (figure seconds, all seconds, what it found)


def _explain(client: Any, experiment_ids: list[str], libpq: str, title: str) -> str:
    """Print the plans of one search page and return their one-line summary."""
    plans = _scale_explain.explain(
        lambda: client.search_runs(experiment_ids, SEARCH_FILTER, max_results=PAGE, order_by=SEARCH_ORDER), libpq
    )
    print(_scale_explain.report(title, plans), flush=True)
    return _scale_explain.summary(plans)


def measure(
    tool: str, filled: scale_generate.Filled, root: Path, repeats: int, n_runs: int, explains: dict[str, str]
) -> Measured:
    """Every case on one tool's filled store; for modelyard, the search plans into ``explains``."""
    size = filled.plan.scale
    api, client, metric_type = _connect(tool, size, root)
    ids = [str(e) for e in filled.experiment_ids[tool]]
    big = ids[0]
    api.set_experiment(experiment_id=big)
    out: Measured = {}
    prepared = [
        [metric_type(key=k, value=v, timestamp=1_700_000_000_000 + s, step=s) for k, v, s in _batch(b)]
        for b in range(BATCHES)
    ]
    times = _log_batches(client, big, prepared, repeats)
    out["log_batch"] = (statistics.median(times), times, None)
    seconds = _create_runs(client, big, n_runs)
    out["create_run"] = (seconds, [seconds], n_runs)
    seconds = timed(_fluent_runs(api, n_runs))
    out["runs"] = (seconds, [seconds], n_runs)
    # The same writes with commits that do not wait for the WAL flush (both tools, through the URL).
    async_api, async_client, _ = _connect(tool, size, root, synchronous_commit=False)
    async_api.set_experiment(experiment_id=big)
    times = _log_batches(async_client, big, prepared, repeats)
    out["log_batch_async"] = (statistics.median(times), times, None)
    seconds = timed(_fluent_runs(async_api, n_runs))
    out["runs_async"] = (seconds, [seconds], n_runs)
    api, client, _ = _connect(tool, size, root)
    api.set_experiment(experiment_id=big)
    out["search_big"] = _search(client, [big])
    out["search_all"] = _search(client, ids)
    if tool == "modelyard":
        libpq = _scale_fill.libpq_url(database_url(tool, size))
        explains["search_big"] = _explain(client, [big], libpq, "search page, big experiment")
        explains["search_all"] = _explain(client, ids, libpq, f"search page, all {len(ids):,} experiments")
    out["frame"] = _frame(api, big, repeats, EVERY_RUN)
    if tool in filled.wide_experiment_ids:
        out["frame_wide"] = _frame(api, str(filled.wide_experiment_ids[tool]), repeats)
    history_run = filled.history_run_ids[0]
    keys = _history_keys(filled.plan)
    out["history_one"] = _history(client, history_run, keys[:1], repeats)
    out["history_run"] = _history(client, history_run, keys, repeats)
    out["history_long"] = _long_history(tool, client, history_run)
    out["models"] = _model_search(client.registry if tool == "modelyard" else client, repeats)
    return out


def cases(
    filled: scale_generate.Filled,
    mine: Measured,
    theirs: Measured | None,
    n_runs: int,
    explains: dict[str, str] | None = None,
) -> list[Case]:
    """The side-by-side table: rates for the writes, seconds for the reads."""
    plan = filled.plan
    big_runs = int(plan.runs * scale_generate.BIG_EXPERIMENT_SHARE)
    history = plan.history_keys * plan.history_steps
    search = f"{SEARCH_FILTER!r} order by {SEARCH_ORDER[0]}, runs found"
    wide = f"{plan.wide_runs:,} runs x {scale_generate.WIDE_METRICS} metrics, 3 params, 2 tags"
    # key -> (case name, unit, work done (a rate) or None (seconds), what the note says was found)
    spec: dict[str, tuple[str, str, int | None, str]] = {
        "log_batch": (
            f"log_batch ({BATCHES} x {BATCH_SIZE:,} metrics) into a store of {plan.points:,} points",
            "metrics/s", BATCHES * BATCH_SIZE, "",
        ),
        "create_run": (f"create_run ({n_runs:,} runs, the client's call alone) among {plan.runs:,}", "runs/s",
                       n_runs, ""),
        "runs": (f"whole fluent runs ({n_runs:,}: start, 3 params, 2 metrics, end) among {plan.runs:,}", "runs/s",
                 n_runs, ""),
        "log_batch_async": (f"log_batch ({BATCHES} x {BATCH_SIZE:,} metrics), both with synchronous_commit=off",
                            "metrics/s", BATCHES * BATCH_SIZE, ""),
        "runs_async": (f"create runs ({n_runs:,}, fluent), both with synchronous_commit=off", "runs/s", n_runs, ""),
        "search_big": (f"search page of {PAGE} (metric, param, tag, attribute filter; order by a metric), "
                       f"big experiment ({big_runs:,} runs)",
                       "s", None, search),
        "search_all": (f"search page of {PAGE} (same filter and order), all {plan.experiments:,} "
                       f"experiments ({plan.runs:,} runs; not scale-wide)", "s", None, search),
        "frame": (f"search_runs as a DataFrame: every run of the big experiment ({big_runs:,})", "s", None,
                  "shape"),
        "frame_wide": (f"search_runs as a DataFrame: scale-wide ({wide})", "s", None, "shape"),
        "history_one": (f"get_metric_history: one metric ({plan.history_steps:,} points)", "s", None,
                        "points read"),
        "history_run": (f"get_metric_history: {plan.history_keys} metrics of a run ({history:,} points)", "s",
                        None, "points read"),
        "history_long": (f"one metric of {LONG_POINTS:,} points (modelyard: get_metric_history_frame)", "s", None,
                         "read"),
        "models": (f"search_registered_models, 3 tag filters, among {REGISTERED_MODELS:,} models", "s", None,
                   f"{MODEL_FILTER!r}, models found"),
    }  # fmt: skip
    out: list[Case] = []
    for key, (name, unit, work, found) in spec.items():
        if key not in mine:
            continue
        my_s, ml_s = mine[key][0], (theirs[key][0] if theirs else None)
        note = f"modelyard {mine[key][2]}" + (f", MLflow {theirs[key][2]}" if theirs else "")
        explained = (explains or {}).get(key)
        details: dict[str, Any] = {"modelyard_s": mine[key][1], "mlflow_s": theirs[key][1] if theirs else None}
        if explained:
            note, details["explain"] = f"{note}; {explained}", explained
        out.append(
            Case(
                name=name,
                unit=unit,
                modelyard=work / my_s if work else my_s,
                incumbent=(work / ml_s if work else ml_s) if ml_s else None,
                higher_is_better=work is not None,
                note=f"{found}: {note}" if found else "",
                details=details,
            )
        )
    return out


def fill(size: float, *, with_mlflow: bool, root: Path) -> scale_generate.Filled:
    """Fill modelyard's database (and MLflow's) at ``size`` afresh, reporting progress."""
    return scale_generate.fill(
        scale_generate.Plan.at(size),
        modelyard=database_url("modelyard", size),
        mlflow=database_url("mlflow", size) if with_mlflow else None,
        artifact_root=str(root / "artifacts"),
        log=lambda line: print(f"[fill {time.strftime('%H:%M:%S')}] {line}", flush=True),
    )


def reuse(size: float, *, with_mlflow: bool) -> scale_generate.Filled:
    """The fill of ``size`` the databases hold (``LookupError`` with one line when they hold none)."""
    tools = ("modelyard", "mlflow") if with_mlflow else ("modelyard",)
    return scale_generate.load(scale_generate.Plan.at(size), {t: database_url(t, size) for t in tools})


def fill_note(filled: scale_generate.Filled, *, reused: bool) -> str:
    phases = ", ".join(f"{k} {v:,.0f} s" for k, v in filled.seconds.items())
    sizes = ", ".join(
        f"{tool} database {_scale_fill.database_size(_scale_fill.libpq_url(database_url(tool, filled.plan.scale)))}"
        for tool in filled.experiment_ids
    )
    return f"bulk fill (COPY){' reused' if reused else ''}: {phases}; {sizes}"


def run(
    options: Options, *, size: float | None = None, with_mlflow: bool = True, reuse_fill: bool = False
) -> list[Case]:
    """Fill both stores at ``size`` (default ``SIZE`` x ``--scale``; or ``reuse_fill`` the fill they
    hold), then every case on each. The databases are kept: ``--reuse`` measures them again."""
    size = size if size is not None else SIZE * options.scale
    n_runs = options.n(RUNS, 20)
    with tempfile.TemporaryDirectory(prefix="modelyard-bench-scale-") as tmp:
        root = Path(tmp)
        filled = reuse(size, with_mlflow=with_mlflow) if reuse_fill else fill(size, with_mlflow=with_mlflow, root=root)
        explains: dict[str, str] = {}
        mine = measure("modelyard", filled, root, options.repeats, n_runs, explains)
        theirs = measure("mlflow", filled, root, options.repeats, n_runs, {}) if with_mlflow else None
    out = cases(filled, mine, theirs, n_runs, explains)
    out[0] = dataclasses.replace(out[0], note=fill_note(filled, reused=reuse_fill))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="modelyard at scale on PostgreSQL (alone, or against MLflow)")
    parser.add_argument("--size", type=float, default=SIZE, help="share of 1,000,000 runs / 100,000,000 points")
    parser.add_argument("--modelyard-only", action="store_true", help="fill and time modelyard alone")
    parser.add_argument("--fill-only", action="store_true", help="fill (and keep) the databases, time nothing")
    parser.add_argument("--reuse", action="store_true", help="measure the fill the databases hold, of --size")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if not 0 < args.size <= 1:
        parser.error(f"--size must be in (0, 1], got {args.size}")
    if args.fill_only and args.reuse:
        parser.error("--fill-only and --reuse exclude each other")
    with_mlflow = not args.modelyard_only
    if args.fill_only:
        with tempfile.TemporaryDirectory(prefix="modelyard-bench-scale-") as tmp:
            filled = fill(args.size, with_mlflow=with_mlflow, root=Path(tmp))
        print(fill_note(filled, reused=False))
        return 0
    options = Options(scale=1.0, repeats=args.repeats)
    try:
        found = run(options, size=args.size, with_mlflow=with_mlflow, reuse_fill=args.reuse)
    except LookupError as error:
        print(f"scale.py: {error}", file=sys.stderr)
        return 2
    print_table(f"{TITLE} (size {args.size:g})", INCUMBENT, found)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
