"""Attribution drift: a window whose inputs keep their distributions but meet each other differently
moves the model's attributions, and ``attribution_shift(a) > 0.1`` fires while input drift stays quiet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestRegressor

from modelyard.clock import FixedClock
from modelyard.config import Settings
from modelyard.domain.data import DatasetVersion
from modelyard.errors import InvalidInput
from modelyard.monitoring.rules import parse_rule
from modelyard.sdk.backends.local import local_backend
from modelyard.sdk.client import Client
from modelyard.sdk.monitoring import monitoring, write_monitor_report
from modelyard.serving import DeploymentPlan, PlanHolder, ServedRequest, ServingPlan, Variant
from modelyard.serving.explainers import ExplainerCache
from modelyard.serving.inference_log import ParquetRequestLogger
from tests.monitoring.conftest import HOUR_MS, T0

DEPLOYMENT = "gated-api"


def draw(rng: np.random.Generator, rows: int, *, coupled: bool = False) -> pd.DataFrame:
    """``a`` is zero half the time; ``coupled`` hands its zeros to the rows where ``g`` is high.

    Each column keeps its distribution exactly (``a``'s values are only re-paired with other rows),
    so no input drift test can see it, but ``a`` now carries its values where the model ignores it.
    """
    frame = pd.DataFrame(
        {
            "g": rng.normal(size=rows),
            "a": np.where(rng.random(rows) < 0.5, 0.0, rng.normal(0.0, 2.0, rows)),
            "d": rng.normal(size=rows),
        }
    )
    if coupled:
        by_g = np.argsort(-frame["g"].to_numpy())
        values = frame["a"].to_numpy()
        paired = np.empty(rows)
        paired[by_g] = values[np.argsort(np.abs(values), kind="stable")]
        frame["a"] = paired
    return frame


def target(frame: pd.DataFrame) -> np.ndarray:
    """The model uses ``a`` only where ``g > 0``."""
    return np.where(frame["g"] > 0, frame["a"], 0.0) + 0.3 * frame["d"].to_numpy()


def _registered_gated(settings: Settings, rng: np.random.Generator) -> tuple[RandomForestRegressor, DatasetVersion]:
    """A forest fitted on 3,000 drawn rows, registered as ``gated`` version 1, and those rows (with
    the target) logged as the reference dataset ``gated-train``."""
    client = Client(settings)
    train = draw(rng, 3_000)
    model = RandomForestRegressor(n_estimators=30, max_depth=6, random_state=0).fit(train, target(train))
    run = client.create_run()
    client.registry.log_model(
        run.info.run_id, model, "model", input_example=train.head(5), registered_model_name="gated"
    )
    client.set_terminated(run.info.run_id)
    return model, local_backend(settings).datasets.log(train.assign(y=target(train)), "gated-train")


def test_attribution_shift_fires_where_input_drift_stays_quiet(settings: Settings, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    backend = local_backend(settings)
    model, reference = _registered_gated(settings, rng)

    writer = ParquetRequestLogger(backend.db, backend.artifact_store, batch_rows=100_000)
    for hour in range(3):  # two calm hours, then an hour whose 600 rows are coupled as one population
        rows = draw(rng, 600, coupled=hour == 2)
        for i in range(60):
            inputs = rows.iloc[i * 10 : (i + 1) * 10].reset_index(drop=True)
            writer.record(
                ServedRequest(
                    request_id=f"{hour}-{i}",
                    time_ms=T0 + hour * HOUR_MS + i * 60_000,
                    deployment=DEPLOYMENT,
                    variant="primary",
                    model_version="gated/1",
                    inputs=inputs,
                    prediction=model.predict(inputs),
                    latency_ms=5.0,
                )
            )
    writer.close()  # never started: writes everything queued, synchronously

    clock = FixedClock(T0 + 3 * HOUR_MS)
    service = monitoring(backend, clock=clock)
    service.create("gated", DEPLOYMENT, reference.uri, window_ms=HOUR_MS, explain_model="models:/gated/1")
    service.alerts.add_rule("gated", "attention-moved", "attribution_shift(a) > 0.1")
    results = service.run("gated")

    assert [r.start_ms for r in results] == [T0, T0 + HOUR_MS, T0 + 2 * HOUR_MS]
    calm, also_calm, coupled = results
    for result in results:  # no input drift in any window
        assert result.metrics["share_drifted"] == 0.0
        assert result.metrics["psi:a"] < 0.1
    assert calm.metrics["attribution_shift:a"] < 0.05 and also_calm.metrics["attribution_shift:a"] < 0.05
    assert coupled.metrics["attribution_shift:a"] > 0.1
    assert sum(coupled.metrics[f"attribution_share:{f}"] for f in ("g", "a", "d")) == pytest.approx(1.0)
    assert coupled.drift["attribution"]["reference"].keys() == {"g", "a", "d"}
    [alert] = service.alerts.list()
    assert alert.rule == "attention-moved" and alert.window_start_ms == T0 + 2 * HOUR_MS
    assert alert.value == pytest.approx(coupled.metrics["attribution_shift:a"])

    report = write_monitor_report(backend, DEPLOYMENT, tmp_path / "report.html", clock=clock)
    page = report.read_text(encoding="utf-8")
    assert "Attribution shift over time" in page and "attribution_shift:a" in page


def test_attribution_rules_parse_and_a_monitor_without_a_registered_model_is_refused(settings: Settings) -> None:
    rule = parse_rule("attribution_shift(income) > 0.1 for 2 consecutive windows")
    assert rule.key == "attribution_shift:income" and rule.windows == 2
    with pytest.raises(InvalidInput, match="per feature"):
        parse_rule("attribution_shift > 0.1")
    backend = local_backend(settings)
    reference = backend.datasets.log(pd.DataFrame({"x": [1.0, 2.0, 3.0]}), "tiny")
    service = monitoring(backend)
    with pytest.raises(InvalidInput, match="models:/"):
        service.create("m", "d", reference.uri, window_ms=HOUR_MS, explain_model="runs:/abc/model")
    assert service.list() == []


def test_a_monitor_reads_the_attributions_the_server_logged_instead_of_explaining_again(settings: Settings) -> None:
    """The same traffic logged twice: plainly, and with every request's attributions (explain_sample
    1.0, the server's writer and explainer cache). The monitor of the second takes its shares from
    the log (all 600 rows of each window); they equal the shares the first monitor computes by
    explaining its window, and the rule fires on the same window."""
    rng = np.random.default_rng(0)
    backend = local_backend(settings)
    model, reference = _registered_gated(settings, rng)

    served = backend.model_resolver.load("models:/gated/1")
    holder = PlanHolder(
        ServingPlan(
            [DeploymentPlan(name="logged-api", variants=(Variant(name="primary", model_version="gated/1",
                                                                 predictor=served),), explain_sample=1.0)]
        )
    )  # fmt: skip
    plain = ParquetRequestLogger(backend.db, backend.artifact_store, batch_rows=100_000)
    explained = ParquetRequestLogger(backend.db, backend.artifact_store, batch_rows=100_000, holder=holder)
    sampler = explained.log_attributions(ExplainerCache(holder))
    for hour in range(3):
        rows = draw(rng, 600, coupled=hour == 2)
        for i in range(60):
            inputs = rows.iloc[i * 10 : (i + 1) * 10].reset_index(drop=True)
            for writer, deployment in ((plain, DEPLOYMENT), (explained, "logged-api")):
                writer.record(
                    ServedRequest(
                        request_id=f"{hour}-{i}", time_ms=T0 + hour * HOUR_MS + i * 60_000, deployment=deployment,
                        variant="primary", model_version="gated/1", inputs=inputs, prediction=model.predict(inputs),
                        latency_ms=5.0,
                    )
                )  # fmt: skip
    plain.close()
    explained.close()
    assert sampler.explained == 180 and sampler.dropped == 0

    clock = FixedClock(T0 + 3 * HOUR_MS)
    service = monitoring(backend, clock=clock)
    for name, deployment in (("gated", DEPLOYMENT), ("logged", "logged-api")):
        service.create(name, deployment, reference.uri, window_ms=HOUR_MS, explain_model="models:/gated/1")
        service.alerts.add_rule(name, "attention-moved", "attribution_shift(a) > 0.1")
    recomputed = service.run("gated")
    from_log = service.run("logged")

    assert len(recomputed) == len(from_log) == 3
    for again, logged in zip(recomputed, from_log, strict=True):
        assert again.drift["attribution"]["source"] == "explained"
        assert logged.drift["attribution"]["source"] == "logged" and logged.drift["attribution"]["rows"] == 600
        for f in ("g", "a", "d"):
            for kind in ("attribution_share", "attribution_shift"):
                assert logged.metrics[f"{kind}:{f}"] == pytest.approx(again.metrics[f"{kind}:{f}"], abs=1e-9)
    assert from_log[2].metrics["attribution_shift:a"] > 0.1
    alerts = {a.monitor: a.window_start_ms for a in service.alerts.list()}
    assert alerts == {"gated": T0 + 2 * HOUR_MS, "logged": T0 + 2 * HOUR_MS}
