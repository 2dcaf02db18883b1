"""The modelyard demo: version the data, train several models, track everything, rank them with a
search, register the best as ``@champion`` and show where it came from.

Runs on the embedded defaults (a SQLite file and a folder under ``~/.modelyard``, or wherever
``MODELYARD_HOME`` points). Later parts of the lifecycle (pipelines, serving, monitoring,
governance) extend this script as they land.
"""

from __future__ import annotations

import time
from collections import Counter

import matplotlib

matplotlib.use("Agg")  # no display needed

import httpx
import matplotlib.pyplot as plt
import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import ConfusionMatrixDisplay, accuracy_score, f1_score, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import modelyard as my
from modelyard.cli.lineage import lineage_tree
from modelyard.domain.governance import ApprovalPolicy, FieldSource
from modelyard.domain.serving import VariantMode, VariantSpec
from modelyard.errors import Conflict
from modelyard.governance import ComplianceService, ModelCardService, render_html, render_markdown
from modelyard.sdk.serving import build_app
from modelyard.serving import start_in_thread

EXPERIMENT = "demo-breast-cancer"
DATASET = "breast-cancer"
DEPLOYMENT = "breast-cancer-api"
CARD_FIELDS_FILLED = {
    "intended_use": "Ranking fine-needle-aspirate samples for review by a pathologist; a teaching example.",
    "out_of_scope_use": "Diagnosis without a clinician; any population other than the Wisconsin study's.",
    "limitations": "569 samples from one hospital; no subgroup information to check fairness on.",
    "ethical_considerations": "A false negative delays care: the threshold must be set with clinicians.",
    "caveats": "Scores are not calibrated probabilities.",
}
MODEL_NAME = "breast-cancer"
CANDIDATES = [
    (
        "logreg-C0.1",
        lambda: make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000)),
        {"model": "logreg", "C": 0.1},
    ),
    (
        "logreg-C1",
        lambda: make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000)),
        {"model": "logreg", "C": 1.0},
    ),
    (
        "knn-5",
        lambda: make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=5)),
        {"model": "knn", "n_neighbors": 5},
    ),
    (
        "knn-15",
        lambda: make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=15)),
        {"model": "knn", "n_neighbors": 15},
    ),
    (
        "rf-100-d4",
        lambda: RandomForestClassifier(n_estimators=100, max_depth=4, random_state=0),
        {"model": "rf", "n_estimators": 100, "max_depth": 4},
    ),
    (
        "rf-300",
        lambda: RandomForestClassifier(n_estimators=300, random_state=0),
        {"model": "rf", "n_estimators": 300, "max_depth": None},
    ),
    (
        "gbm-0.1",
        lambda: GradientBoostingClassifier(learning_rate=0.1, random_state=0),
        {"model": "gbm", "learning_rate": 0.1},
    ),
    (
        "gbm-0.03",
        lambda: GradientBoostingClassifier(learning_rate=0.03, n_estimators=300, random_state=0),
        {"model": "gbm", "learning_rate": 0.03},
    ),
]


def train_and_log(name: str, build, params: dict, data: tuple) -> None:  # type: ignore[no-untyped-def]
    x_train, x_test, y_train, y_test = data
    with my.start_run(run_name=name, nested=True, tags={"family": params["model"]}):
        my.log_dataset(x_train.assign(target=y_train), DATASET, role="train")
        my.log_dataset(x_test.assign(target=y_test), DATASET, role="test")
        my.log_params(params)
        model = build()
        started = time.perf_counter()
        model.fit(x_train, y_train)
        my.log_metric("fit_seconds", time.perf_counter() - started)
        if hasattr(model, "staged_predict_proba"):  # a learning curve, one metric per boosting step
            for step, proba in enumerate(model.staged_predict_proba(x_test)):
                my.log_metric("val_log_loss", log_loss(y_test, proba), step=step)
        proba = model.predict_proba(x_test)[:, 1]
        predicted = (proba >= 0.5).astype(int)
        my.log_metrics(
            {
                "accuracy": accuracy_score(y_test, predicted),
                "f1": f1_score(y_test, predicted),
                "roc_auc": roc_auc_score(y_test, proba),
                "log_loss": log_loss(y_test, proba),
            }
        )
        figure, axis = plt.subplots(figsize=(4, 4))
        ConfusionMatrixDisplay.from_predictions(y_test, predicted, ax=axis, colorbar=False)
        axis.set_title(name)
        my.log_figure(figure, "plots/confusion_matrix.png")
        plt.close(figure)
        my.log_model(model, "model", input_example=x_test.head(5))
        if hasattr(model, "feature_importances_"):
            importances = dict(zip(data[0].columns, np.round(model.feature_importances_, 5).tolist(), strict=True))
            my.log_dict(dict(sorted(importances.items(), key=lambda kv: -kv[1])), "feature_importances.json")


def main() -> None:
    console = Console(width=max(Console().width, 120))
    dataset = load_breast_cancer(as_frame=True)
    data = train_test_split(dataset.data, dataset.target, test_size=0.25, random_state=42, stratify=dataset.target)
    my.set_experiment(EXPERIMENT)
    with my.start_run(run_name="model-selection") as parent:
        my.log_params({"dataset": "sklearn breast_cancer", "test_size": 0.25, "candidates": len(CANDIDATES)})
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("training candidates", total=len(CANDIDATES))
            for name, build, params in CANDIDATES:
                progress.update(task, description=f"training {name}")
                train_and_log(name, build, params, data)
                progress.advance(task)
    ranked = my.search_runs(
        experiment_names=[EXPERIMENT],
        filter_string=f"attributes.parent_run_id = '{parent.info.run_id}' and metrics.roc_auc > 0",
        order_by=["metrics.roc_auc DESC", "metrics.log_loss ASC"],
        output_format="list",
    )
    table = Table(title=f"{EXPERIMENT}: candidates ranked by ROC AUC on the holdout")
    for column in ("rank", "run", "model", "roc_auc", "accuracy", "f1", "log_loss", "fit s", "run id"):
        table.add_column(column, justify="left" if column in ("run", "model", "run id") else "right")
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
    best = ranked[0]
    champion = register_champion(best, data)
    promote_with_four_eyes(console, champion.version)
    canary_then_promote(console, ranked[1], data[1])
    lineage = my.client().backend.lineage
    console.print(f"\n[bold]lineage of models:/{MODEL_NAME}@champion[/]")
    console.print(lineage_tree(lineage.graph(lineage.resolve(f"models:/{MODEL_NAME}@champion"))))
    console.print(
        f"\nchampion: [bold]{MODEL_NAME} v{champion.version}[/] "
        f"from run {best.info.run_name} ({best.info.run_id[:8]}); store: {my.get_tracking_uri()}\n"
        f"see more with: [cyan]modelyard runs list -e {EXPERIMENT} -o 'metrics.roc_auc DESC'[/]  "
        f"[cyan]modelyard models show {MODEL_NAME}[/]  [cyan]modelyard datasets list[/]"
    )


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
    try:
        alice.stages.transition(MODEL_NAME, version, "Production", archive_existing_versions=True)
        raise SystemExit("promotion to Production was expected to wait for an approval")
    except Conflict as pending:
        request_id = pending.details["approval_request"]
    console.print(f"\nalice asked to move {MODEL_NAME} v{version} to Production: approval #{request_id} is pending")
    bob.approvals.approve(request_id, comment="holdout AUC and card reviewed")
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


def canary_then_promote(console: Console, runner_up: my.Run, x_test) -> None:  # type: ignore[no-untyped-def]
    """Serve @champion over HTTP, send the runner-up as a 20 % canary, then promote it: the server
    follows each change within a reload tick, without a restart."""
    backend = my.client().backend
    challenger = my.register_model(f"runs:/{runner_up.info.run_id}/model", MODEL_NAME)
    my.client().registry.set_registered_model_alias(MODEL_NAME, "challenger", challenger.version)
    champion_uri, challenger_uri = f"models:/{MODEL_NAME}@champion", f"models:/{MODEL_NAME}@challenger"
    backend.deployments.deploy(DEPLOYMENT, [VariantSpec(uri=champion_uri)])
    server = build_app(backend, [DEPLOYMENT], reload_interval_s=0.2)
    running = start_in_thread(server.app)
    records = x_test.to_dict(orient="records")
    table = Table(title=f"deployment {DEPLOYMENT}: who answered {len(records)} requests per phase (POST …/predict)")
    for column in ("phase", "answers by model version", "non-200"):
        table.add_column(column)
    try:
        with httpx.Client(base_url=running.url, timeout=10) as http:
            table.add_row("champion only", *_send(http, records))
            backend.deployments.deploy(
                DEPLOYMENT,
                [VariantSpec(uri=champion_uri), VariantSpec(uri=challenger_uri, mode=VariantMode.CANARY, weight=20)],
            )
            _wait_reloaded(server, 1)
            table.add_row("challenger as a 20 % canary", *_send(http, records))
            backend.deployments.promote(DEPLOYMENT)
            _wait_reloaded(server, 2)
            table.add_row("canary promoted", *_send(http, records))
    finally:
        running.stop()
    console.print()
    console.print(table)


def _send(http: httpx.Client, records: list[dict[str, float]]) -> tuple[str, str]:
    answered: Counter[str] = Counter()
    failed = 0
    for record in records:
        response = http.post(f"/v1/deployments/{DEPLOYMENT}/predict", json=[record])
        if response.status_code == 200:
            answered[response.headers["x-modelyard-model-version"]] += 1
        else:
            failed += 1
    return ", ".join(f"{version}: {count}" for version, count in sorted(answered.items())), str(failed)


def _wait_reloaded(server, reloads: int) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 30
    while server.reloader.reloads < reloads:
        if time.monotonic() > deadline:
            raise SystemExit("the server did not pick up the deployment change within 30 s")
        time.sleep(0.05)


def register_champion(best: my.Run, data: tuple):  # type: ignore[no-untyped-def]
    """Register the best run's model, check it answers like the model that was trained, point @champion at it."""
    registry = my.client().registry
    version = my.register_model(f"runs:/{best.info.run_id}/model", MODEL_NAME)
    loaded = my.load_model(f"models:/{MODEL_NAME}/{version.version}")
    x_test = data[1]
    proba = loaded.predict_proba(x_test)[:, 1]
    if abs(roc_auc_score(data[3], proba) - best.data.metrics["roc_auc"]) > 1e-12:
        raise SystemExit("the registered model does not reproduce the run's ROC AUC")
    registry.set_registered_model_alias(MODEL_NAME, "champion", version.version)
    return version


if __name__ == "__main__":
    main()
