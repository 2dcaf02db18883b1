"""The modelyard demo: the lifecycle of one model, from a dataset version to a retrained canary.

1. Version the breast-cancer data and train through a pipeline (``breast_cancer_pipeline.py``):
   validate the data, train six candidates (one step each), pick the best, register it and gate it
   against ``@champion``. A second ``make demo`` finds every step but the gate cached.
2. Rank the candidates with a search over the training steps' runs; the best becomes ``@champion``
   and reaches Production through a four-eyes approval, with its model card and Annex IV report.
3. Serve it over HTTP, send the runner-up as a 20 % canary and promote it.
4. The retraining loop: a monitor watches the deployment against the training data; a scanner
   recalibration shifts the traffic, the drift alert fires and runs the pipeline on the newest
   labelled data; the gate blesses the retrained model over the champion, the pipeline deploys it
   as a canary, and the canary watcher promotes it once its SLO held. The monitoring report (HTML)
   and the chain alert -> pipeline run -> model version -> deployment revision close the demo.

Runs on the embedded defaults (a SQLite file and a folder under ``~/.modelyard``, or wherever
``MODELYARD_HOME`` points); nothing leaves the machine (the server listens on 127.0.0.1). Running
it again on the same store works: the monitor is made afresh and the aliases move.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import roc_auc_score

import modelyard as my
from modelyard.domain.governance import ApprovalPolicy, FieldSource
from modelyard.domain.pipelines import StepRun, StepStatus
from modelyard.errors import Conflict
from modelyard.governance import ComplianceService, ModelCardService, render_html, render_markdown
from modelyard.pipelines import PipelineResult, list_step_runs
from modelyard.pipelines.actions import pipeline_action
from modelyard.pipelines.gates import read_verdict
from modelyard.pipelines.live import run_live, steps_table
from modelyard.pipelines.materializers import load_output
from modelyard.sdk.deployments import VariantMode, VariantSpec
from modelyard.sdk.monitoring import monitoring, write_monitor_report
from modelyard.sdk.serving import DeploymentServer, build_app
from modelyard.serving import start_in_thread

# The examples folder is on sys.path when this script runs, so the pipeline's module imports by
# name, as the alert rule's action will import it again.
from breast_cancer_pipeline import MODEL_NAME, TARGET, training  # isort: skip

DATASET = "breast-cancer"
DEPLOYMENT = "breast-cancer-api"
MONITOR = "breast-cancer-api-drift"
DRIFT_RULE = "share_drifted > 0.25"  # 12 of the 30 features shift: 0.4 at most
WINDOW_ROWS = 150  # the monitor judges every 150 logged requests
CARD_FIELDS_FILLED = {
    "intended_use": "Ranking fine-needle-aspirate samples for review by a pathologist; a teaching example.",
    "out_of_scope_use": "Diagnosis without a clinician; any population other than the Wisconsin study's.",
    "limitations": "569 samples from one hospital; no subgroup information to check fairness on.",
    "ethical_considerations": "A false negative delays care: the threshold must be set with clinicians.",
    "caveats": "Scores are not calibrated probabilities.",
}


def recalibrated(frame: pd.DataFrame) -> pd.DataFrame:
    """The same samples as a scanner whose pixel size was recalibrated 20 % too small and whose
    contrast was raised would measure them: lengths x1.2, areas x1.44, grey-level texture x1.3."""
    out = frame.copy()
    for column in out.columns:
        if "radius" in column or "perimeter" in column:
            out[column] = out[column] * 1.2
        elif "area" in column:
            out[column] = out[column] * 1.44
        elif "texture" in column:
            out[column] = out[column] * 1.3
    return out


def main() -> None:
    # The server writes its inference log every half second (default 10 s), so the monitor sees
    # the traffic the demo sends a moment later.
    os.environ.setdefault("MODELYARD_INFERENCE_LOG_FLUSH_INTERVAL", "0.5")
    console = Console(width=max(Console().width, 120))
    frame = load_breast_cancer(as_frame=True).frame
    backend = my.client().backend
    original = backend.datasets.log(
        frame, DATASET, source="sklearn.datasets.load_breast_cancer", user=backend.settings.user
    )
    result = run_live(
        console, "training pipeline", lambda on_step: training.run({"dataset": original.uri}, on_step=on_step)
    ).check()
    console.print()
    cached = sum(s.status is StepStatus.CACHED for s in result.steps)
    console.print(
        f"pipeline run {result.run.run_id[:8]}: {len(result.steps)} steps, [blue]{cached} cached[/]"
        + (" (same code, parameters and inputs as an earlier run; the gate is never cached)" if cached else "")
    )
    ranked = rank_candidates(console, result)
    registered = result.output("register")
    version = int(registered["version"])
    check_reproduces(version, ranked[0], result)
    blessed, verdict = _verdict_text(f"models:/{MODEL_NAME}/{version}")
    my.client().registry.set_registered_model_alias(MODEL_NAME, "champion", version)
    console.print(
        f"gate: {MODEL_NAME} v{version} {verdict}; now @champion"
        + ("" if blessed else " all the same: the demo starts its story from this model")
    )
    promote_with_four_eyes(console, version)
    my.deployments.deploy(DEPLOYMENT, f"models:/{MODEL_NAME}@champion")
    server = build_app(backend, [DEPLOYMENT], reload_interval_s=0.2, watch_interval_s=0.25)
    running = start_in_thread(server.app)
    try:
        with httpx.Client(base_url=running.url, timeout=10) as http:
            traffic = Traffic(http)
            canary_then_promote(console, server, traffic, ranked[1], frame)
            retraining_loop(console, server, traffic, frame, original.uri)
    finally:
        running.stop()
    console.print(f"\n[bold]lineage of models:/{MODEL_NAME}@champion[/]")
    console.print(my.lineage.tree(f"models:/{MODEL_NAME}@champion", depth=4))
    cli = _cli_command()
    console.print(
        f"\nstore: {my.get_tracking_uri()}\n"
        f"see more with: [cyan]{cli} pipelines runs[/]  [cyan]{cli} models show {MODEL_NAME}[/]  "
        f"[cyan]{cli} alerts list[/]  [cyan]{cli} deployments history {DEPLOYMENT}[/]  "
        f"[cyan]{cli} datasets list[/]"
    )
    console.print(
        f"look at all of it in a browser: [cyan]{cli} ui[/] then open [bold]http://127.0.0.1:5080[/] "
        "(experiments, the registry and its approvals, datasets, pipelines, deployments, monitoring, audit)"
    )


def _cli_command() -> str:
    """How to type the ``modelyard`` command here: ``.venv/bin/modelyard`` unless the venv is active."""
    script = Path(sys.executable).with_name("modelyard")
    if shutil.which("modelyard") == str(script):
        return "modelyard"
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)


# -- the training pipeline ---------------------------------------------------------------------------


def rank_candidates(console: Console, result: PipelineResult) -> list[my.Run]:
    """The training steps' runs ranked by a search: the runs that trained the models this pipeline
    run used (this run's own steps, or the earlier runs whose outputs the cache reused)."""
    ids = [
        s.output.location.split("/")[1] for s in result.steps if s.step_id.startswith("train-") and s.output is not None
    ]
    ranked = my.search_runs(
        experiment_names=[f"pipelines/{training.name}"],
        filter_string=f"attributes.run_id IN ({', '.join(repr(i) for i in ids)}) and metrics.roc_auc > 0",
        order_by=["metrics.roc_auc DESC", "metrics.log_loss ASC"],
        output_format="list",
    )
    table = Table(title=f"{training.name}: candidates ranked by ROC AUC on the holdout")
    for column in ("rank", "step run", "model", "roc_auc", "accuracy", "f1", "log_loss", "fit s", "run id"):
        table.add_column(column, justify="left" if column in ("step run", "model", "run id") else "right")
    for rank, run in enumerate(ranked, start=1):
        m = run.data.metrics
        table.add_row(
            str(rank),
            run.info.run_name,
            run.data.params["model"],
            f"{m['roc_auc']:.4f}",
            f"{m['accuracy']:.4f}",
            f"{m['f1']:.4f}",
            f"{m['log_loss']:.4f}",
            f"{m['fit_seconds']:.2f}",
            run.info.run_id[:8],
        )
    console.print(table)
    return ranked


def check_reproduces(version: int, best: my.Run, result: PipelineResult) -> None:
    """The registered version is the best candidate's own model and answers as it did in training."""
    registered = my.client().registry.get_model_version(MODEL_NAME, version)
    if registered.source != f"runs:/{best.info.run_id}/output":
        raise SystemExit(f"v{version} came from {registered.source}, not from the best run {best.info.run_id}")
    holdout = result.output("holdout_split")
    proba = my.load_model(f"models:/{MODEL_NAME}/{version}").predict_proba(holdout.drop(columns=[TARGET]))[:, 1]
    auc = roc_auc_score(holdout[TARGET].to_numpy(), proba)
    if abs(auc - best.data.metrics["roc_auc"]) > 1e-12:
        raise SystemExit("the registered model does not reproduce the run's ROC AUC")


def _verdict_text(model_uri: str) -> tuple[bool, str]:
    verdict = read_verdict(my.client(), model_uri)
    against = f"vs {verdict.champion}" if verdict.champion else "no champion yet: thresholds only"
    word = "[green]blessed[/]" if verdict.blessed else "[red]not blessed[/]"
    passed = f"{sum(c.passed for c in verdict.checks)}/{len(verdict.checks)} checks passed"
    return verdict.blessed, f"{word} ({against}; {passed})"


# -- governance --------------------------------------------------------------------------------------


def promote_with_four_eyes(console: Console, version: int) -> None:
    """Production needs an approver who is not the requester: alice asks, bob approves."""
    admin = my.client().backend
    for user, role in (("alice", "contributor"), ("bob", "approver")):
        if user not in {u.name for u, _ in admin.identity.list_users()}:
            admin.identity.create_user(user, role=role)
    admin.approvals.set_policy(
        ApprovalPolicy(model_name=MODEL_NAME, stages=("Production",), protected_aliases=(), require_model_card=True)
    )
    alice, bob = my.Client(user="alice").backend, my.Client(user="bob").backend
    alice_cards = ModelCardService(alice.db, actor="alice")
    alice_cards.set_fields(MODEL_NAME, version, CARD_FIELDS_FILLED)
    if admin.model_versions.get(MODEL_NAME, version).stage.value == "Production":
        console.print(f"\n{MODEL_NAME} v{version} is in Production already (approved on an earlier run)")
    else:
        try:
            alice.stages.transition(MODEL_NAME, version, "Production", archive_existing_versions=True)
            raise SystemExit("promotion to Production was expected to wait for an approval")
        except Conflict as pending:
            request_id = pending.details["approval_request"]
        console.print(f"\nalice asked to move {MODEL_NAME} v{version} to Production: approval #{request_id} is pending")
        bob.approvals.approve(request_id, comment="holdout AUC, gate verdict and card reviewed")
        stage = admin.model_versions.get(MODEL_NAME, version).stage.value
        console.print(f"bob approved #{request_id}: {MODEL_NAME} v{version} is now [bold]{stage}[/]")
    out = admin.settings.home / "reports" / f"{MODEL_NAME}-v{version}"
    out.mkdir(parents=True, exist_ok=True)
    card = ModelCardService(admin.db, actor=admin.settings.user).card(MODEL_NAME, version)
    (out / "model-card.md").write_text(render_markdown(card), encoding="utf-8")
    (out / "model-card.html").write_text(render_html(card), encoding="utf-8")
    ComplianceService(admin.db, actor=admin.settings.user).write(MODEL_NAME, version, out)
    empty = [f.label for f in card.fields() if f.source is FieldSource.RECORDS and not f.value.strip()]
    if empty:
        raise SystemExit(f"the model card left auto-filled fields empty: {', '.join(empty)}")
    chain = admin.audit.verify()
    if not chain.ok:
        raise SystemExit(f"the audit trail is broken: {chain.first_break}")
    console.print(f"model card and EU AI Act Annex IV report in {out}")
    console.print(
        f"audit trail: {chain.events} events, hash chain intact (head #{chain.head_seq} {chain.head_hash[:12]})"
    )


# -- serving -----------------------------------------------------------------------------------------


def canary_then_promote(
    console: Console, server: DeploymentServer, traffic: Traffic, runner_up: my.Run, frame: pd.DataFrame
) -> None:
    """Serve @champion, send the runner-up as a 20 % canary, then promote it by hand: the server
    follows each change within a reload tick, without a restart."""
    challenger = my.register_model(f"runs:/{runner_up.info.run_id}/output", MODEL_NAME)
    my.client().registry.set_registered_model_alias(MODEL_NAME, "challenger", challenger.version)
    champion_uri, challenger_uri = f"models:/{MODEL_NAME}@champion", f"models:/{MODEL_NAME}@challenger"
    records = _records(frame, 143, seed=1)
    table = Table(title=f"deployment {DEPLOYMENT}: who answered {len(records)} requests per phase (POST …/predict)")
    for column in ("phase", "answers by model version", "non-200"):
        table.add_column(column)
    table.add_row("champion only", *_describe(traffic.send(records)))
    before = server.reloader.reloads
    my.deployments.deploy(
        DEPLOYMENT,
        [VariantSpec(uri=champion_uri), VariantSpec(uri=challenger_uri, mode=VariantMode.CANARY, weight=20)],
    )
    _wait_for(lambda: server.reloader.reloads > before, "the server to pick up the canary")
    table.add_row("runner-up as a 20 % canary", *_describe(traffic.send(records)))
    before = server.reloader.reloads
    _, moved = my.deployments.promote(DEPLOYMENT)
    _wait_for(lambda: server.reloader.reloads > before, "the server to pick up the promotion")
    table.add_row("canary promoted", *_describe(traffic.send(records)))
    console.print()
    console.print(table)
    if moved is not None:
        console.print(f"@champion follows what serves: {moved.describe()}")


# -- the retraining loop -----------------------------------------------------------------------------


def retraining_loop(
    console: Console, server: DeploymentServer, traffic: Traffic, frame: pd.DataFrame, reference: str
) -> None:
    """Drift in the traffic -> alert -> retraining pipeline -> gate -> canary -> automatic promotion."""
    backend = my.client().backend
    service = monitoring(backend, action_runner=pipeline_action)
    for alert in service.alerts.list(monitor=MONITOR, active=True):  # left open by an earlier run
        service.alerts.resolve(alert.id)
    if any(m.name == MONITOR for m in service.list(DEPLOYMENT)):
        service.delete(MONITOR)
    service.create(
        MONITOR, DEPLOYMENT, reference, every_rows=WINDOW_ROWS, target=TARGET, start_ms=int(time.time() * 1000)
    )
    service.alerts.add_rule(
        MONITOR,
        "data-drift",
        DRIFT_RULE,
        action={
            "run_pipeline": training.target,
            "params": {"dataset": f"datasets:/{DATASET}@latest", "deployment": DEPLOYMENT},
        },
    )
    console.print(
        f"\n[bold]the retraining loop[/]: monitor {MONITOR} compares every {WINDOW_ROWS} requests with "
        f"{reference[:40]}…; rule [cyan]{DRIFT_RULE}[/] runs {training.target} on datasets:/{DATASET}@latest"
    )
    shifted = recalibrated(frame)
    traffic.send(_records(frame, WINDOW_ROWS, seed=2))
    console.print(f"sent {WINDOW_ROWS} requests that look like the training data")
    traffic.send(_records(shifted, 2 * WINDOW_ROWS, seed=3))
    console.print(
        f"a scanner recalibration (lengths x1.2, areas x1.44, texture x1.3): sent {2 * WINDOW_ROWS} shifted requests"
    )
    newest = backend.datasets.log(
        shifted, DATASET, source="scanner-recalibrated re-read of the study, labelled", user=backend.settings.user
    )
    console.print(
        f"the pathologists labelled the re-read samples: newest data {newest.uri[:40]}… ({newest.row_count} rows)"
    )
    log = server.inference_log
    if log is None:
        raise SystemExit("the inference log is off (MODELYARD_INFERENCE_LOG_SAMPLE=0): the monitor would see nothing")
    log.flush(timeout=30)  # a request is queued before its answer is sent: write them all now

    with console.status("running the monitor: drift per window; a fired alert runs the retraining pipeline…"):
        results = service.run(MONITOR)
    windows = Table(title=f"monitor {MONITOR}: drift per window of {WINDOW_ROWS} requests")
    for column in ("window", "rows", "share drifted", "drifted features (highest PSI first)"):
        windows.add_column(column)
    for n, r in enumerate(results, start=1):
        drifted = [
            k.split(":", 1)[1]
            for k, v in r.metrics.items()
            if k.startswith("drifted:") and v and k != "drifted:prediction"
        ]
        drifted.sort(key=lambda f: -r.metrics.get(f"psi:{f}", 0.0))
        share = r.metrics.get("share_drifted", 0.0)
        style = "red" if share > 0.25 else "green"
        shown = ", ".join(drifted[:4]) + (f" +{len(drifted) - 4} more" if len(drifted) > 4 else "")
        windows.add_row(str(n), str(r.rows), f"[{style}]{share:.2f}[/]", shown or "-")
    console.print(windows)

    alerts = service.alerts.list(monitor=MONITOR, active=True)
    if not alerts:
        raise SystemExit("the drift did not fire the alert")
    alert = alerts[0]
    action = alert.action_result or {}
    if action.get("status") != "done" or action.get("pipeline_status") != "FINISHED":
        raise SystemExit(f"the alert's retraining did not finish: {action}")
    run_id = str(action["pipeline_run_id"])
    console.print(
        f"[red]alert[/] {alert.id[:8]} fired: {alert.message}; its action ran pipeline {run_id[:8]} "
        f"on {action['params']['dataset'][:40]}…"
    )
    client = my.client()
    steps = list_step_runs(client, run_id)
    console.print(steps_table(f"retraining run {run_id[:8]}", steps))
    by_id = {s.step_id: s for s in steps}
    registered = load_output(_output(by_id["register"]), client)
    candidate = f"models:/{MODEL_NAME}/{registered['version']}"
    verdict = read_verdict(client, candidate)
    checks = Table(title=f"gate verdict of {candidate}", caption=f"vs {verdict.champion} on the newest holdout")
    for column in ("check", "metric", "candidate", "reference", "passed"):
        checks.add_column(column)
    for c in verdict.checks:
        checks.add_row(
            c.name,
            c.metric,
            "-" if c.candidate is None else f"{c.candidate:.4f}",
            "-" if c.reference is None else f"{c.reference:.4f}",
            "[green]yes[/]" if c.passed else "[red]no[/]",
        )
    console.print(checks)
    deployed = load_output(_output(by_id["deploy_canary"]), client)
    if not deployed["deployed"]:
        raise SystemExit(f"the retrained model was not deployed: {deployed['reason']}")
    console.print(
        f"deploy_canary: {candidate} is the canary of {DEPLOYMENT} at revision {deployed['revision']}; "
        "the canary watcher beside the server judges it on its SLO"
    )

    answered = Counter[str]()
    failed = 0
    records = _records(shifted, 4 * WINDOW_ROWS, seed=4)
    deadline = time.monotonic() + 60
    with console.status("sending traffic until the canary watcher decides…"):
        while (decision := _canary_decision(candidate)) is None:
            if time.monotonic() > deadline:
                raise SystemExit("the canary watcher did not promote the retrained model within 60 s")
            got, bad = traffic.send(records[:25])
            answered.update(got)
            failed += bad
            records = records[25:] + records[:25]
    event = my.deployments.history(DEPLOYMENT, limit=1)[0]
    reasons = "; ".join(event.details.reasons) or event.kind.value
    if decision != "promoted":
        raise SystemExit(f"the canary watcher {decision} {candidate}: {reasons}")
    console.print(
        f"canary watcher: [bold green]{event.kind.value}[/] {candidate} at revision {event.revision} ({reasons}); "
        f"answers meanwhile: {_describe((answered, failed))[0]}, {failed} failed"
    )
    _wait_for(  # the server moves @champion right after the watcher's promotion (sdk.champion)
        lambda: backend.aliases.get_version(MODEL_NAME, "champion").version == int(registered["version"]),
        "@champion to follow the promotion",
    )
    out = backend.settings.home / "reports" / f"{DEPLOYMENT}-monitoring.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    write_monitor_report(backend, DEPLOYMENT, out)

    chain = Table(title="the retraining loop, as recorded")
    for column in ("alert", "pipeline run", "model version", "gate", "deployment revision"):
        chain.add_column(column)
    chain.add_row(
        f"{alert.id[:8]} {alert.rule} (share drifted {alert.value:.2f})",
        f"{run_id[:8]} {training.name}",
        f"{MODEL_NAME} v{registered['version']} (now @champion)",
        "blessed" if verdict.blessed else "not blessed",
        f"{deployed['revision']} canary -> {event.revision} {event.kind.value}",
    )
    console.print(chain)
    console.print(f"monitoring report: {out}")
    console.print("next, the feature store: `make demo-features` (examples/fraud_features.py) trains a fraud model")
    console.print("on point-in-time features and serves it enriched from transactions streamed into the online store")


def _output(s: StepRun) -> Any:
    if s.output is None:
        raise SystemExit(f"step {s.step_id} has no output ({s.status.value}: {s.error})")
    return s.output


def _canary_decision(model_uri: str) -> str | None:
    """``promoted`` or ``rolled back`` once the watcher acted on the canary ``model_uri``, else None."""
    deployment = my.deployments.get(DEPLOYMENT)
    if deployment.primary is not None and deployment.primary.uri == model_uri:
        return "promoted"
    return None if any(v.uri == model_uri for v in deployment.canaries) else "rolled back"


# -- helpers -----------------------------------------------------------------------------------------


def _records(frame: pd.DataFrame, n: int, *, seed: int) -> list[dict[str, float]]:
    """``n`` rows drawn from ``frame`` (with replacement when needed), features only."""
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(frame), size=n, replace=n > len(frame))
    return frame.drop(columns=[TARGET]).iloc[rows].to_dict(orient="records")


class Traffic:
    """Sends records to the deployment one request each, counting the answers since the server started
    (what its inference log holds once written)."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.answered = 0

    def send(self, records: list[dict[str, float]]) -> tuple[Counter[str], int]:
        """Answers per model version, and the number of requests that failed."""
        answered: Counter[str] = Counter()
        failed = 0
        for record in records:
            response = self.http.post(f"/v1/deployments/{DEPLOYMENT}/predict", json=[record])
            if response.status_code == 200:
                answered[response.headers["x-modelyard-model-version"]] += 1
            else:
                failed += 1
        self.answered += sum(answered.values())
        return answered, failed


def _describe(outcome: tuple[Counter[str], int]) -> tuple[str, str]:
    answered, failed = outcome
    return ", ".join(f"{version}: {count}" for version, count in sorted(answered.items())), str(failed)


def _wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what} after {timeout_s:g} s")
        time.sleep(0.05)


if __name__ == "__main__":
    main()
