"""A simulated deployment for monitoring tests: a reference dataset and traffic written to the real inference log.

Traffic goes through the inference log's own writer (``ParquetRequestLogger``), hour by hour, so
monitors read exactly what a server would have left; ``shift`` moves the inputs to inject drift.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from modelyard.clock import FixedClock
from modelyard.config import Settings
from modelyard.monitoring import MonitorService
from modelyard.sdk.backends.local import LocalBackend, local_backend
from modelyard.sdk.monitoring import monitoring
from modelyard.serving import ServedRequest
from modelyard.serving.inference_log import ParquetRequestLogger

HOUR_MS = 3_600_000
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
DEPLOYMENT = "churn-api"


def frame(n: int, rng: np.random.Generator, *, shift: float = 0.0, plan_share: float = 0.2) -> pd.DataFrame:
    """Inputs of the simulated model: two numeric features and one categorical."""
    return pd.DataFrame(
        {
            "age": rng.normal(40 + 10 * shift, 10, n),
            "income": rng.lognormal(10, 0.5, n),
            "plan": rng.choice(["basic", "pro"], n, p=[1 - plan_share, plan_share]),
        }
    )


def model(inputs: pd.DataFrame) -> np.ndarray:
    """The deployed 'model': a fixed rule, so predictions drift when the inputs do."""
    return (inputs["age"].to_numpy() > 45).astype(int)


@dataclass
class Traffic:
    """Writes served requests of ``DEPLOYMENT`` into the inference log, one request per row group."""

    backend: LocalBackend
    rng: np.random.Generator

    def hour(
        self, start_ms: int, rows: int, *, shift: float = 0.0, per_request: int = 10, prefix: str = ""
    ) -> list[str]:
        """Serve ``rows`` rows spread over the hour starting at ``start_ms``; returns the request ids."""
        writer = ParquetRequestLogger(self.backend.db, self.backend.artifact_store, batch_rows=100_000)
        ids = []
        requests = rows // per_request
        for i in range(requests):
            inputs = frame(per_request, self.rng, shift=shift)
            request_id = f"{prefix}{start_ms}-{i}"
            writer.record(
                ServedRequest(
                    request_id=request_id,
                    time_ms=start_ms + int(i * (HOUR_MS - 1) / requests),
                    deployment=DEPLOYMENT,
                    variant="primary",
                    model_version="churn/1",
                    inputs=inputs,
                    prediction=model(inputs),
                    latency_ms=float(self.rng.gamma(2.0, 5.0)),
                )
            )
            ids.append(request_id)
        writer.close()  # never started: writes everything queued, synchronously
        return ids


@dataclass
class Simulation:
    backend: LocalBackend
    clock: FixedClock
    traffic: Traffic
    reference_uri: str

    def service(self, **kwargs: object) -> MonitorService:
        return monitoring(self.backend, clock=self.clock, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def simulation(settings: Settings) -> Iterator[Simulation]:
    rng = np.random.default_rng(7)
    backend = local_backend(settings)
    train = frame(5_000, rng)
    train["label"] = model(train)
    version = backend.datasets.log(train, "churn-train")
    yield Simulation(
        backend=backend,
        clock=FixedClock(T0),
        traffic=Traffic(backend, rng),
        reference_uri=version.uri,
    )


SimulationFactory = Callable[[], Simulation]
