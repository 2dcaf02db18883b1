"""The fluent dataset API: ``my.log_dataset(df, "churn-train")`` inside (or outside) a run.

Datasets go through the same client (and so the same settings and store) as the rest of the
fluent API. A version logged while a run is active becomes that run's input in the given role.
"""

from __future__ import annotations

import os

import pandas as pd
import pyarrow as pa

from modelyard.domain.data import Dataset, DatasetRole, DatasetVersion, RunInput
from modelyard.sdk.fluent import active_run, client


def log_dataset(
    data: pd.DataFrame | pa.Table | str | os.PathLike[str],
    name: str,
    role: DatasetRole | str = DatasetRole.TRAIN,
    source: str | None = None,
    *,
    run_id: str | None = None,
) -> DatasetVersion:
    """Store ``data`` (a frame, an Arrow table, or a CSV/Parquet path) as a version of ``name``.

    The version is named by its content's digest, so logging the same content again returns the
    same version. It is recorded as an input (``role``: train, validation, test or reference) of
    ``run_id``, else of the active run; with neither, it is stored without a run.
    """
    c = client()
    if run_id is None:
        current = active_run()
        run_id = str(current.info.run_id) if current is not None else None
    return c.backend.datasets.log(data, name, role=role, source=source, run_id=run_id, user=c.settings.user)


def load_dataset(uri: str, columns: list[str] | None = None) -> pd.DataFrame:
    """The content of ``datasets:/<name>@<digest-prefix>`` as a DataFrame, checked against its digest."""
    return client().backend.datasets.load(uri, columns)


def get_dataset_version(uri: str) -> DatasetVersion:
    """The version ``datasets:/<name>@<digest-prefix>`` names: schema, row count, profile, source."""
    return client().backend.datasets.resolve(uri)


def list_datasets() -> list[Dataset]:
    """Every dataset, by name, with its version count and latest version."""
    return client().backend.datasets.list_datasets()


def list_dataset_versions(name: str) -> list[DatasetVersion]:
    """The versions of dataset ``name``, newest first."""
    return client().backend.datasets.list_versions(name)


def get_run_inputs(run_id: str | None = None) -> list[RunInput]:
    """The dataset versions a run (default: the active one) used, with their roles."""
    if run_id is None:
        current = active_run()
        if current is None:
            return []
        run_id = str(current.info.run_id)
    return client().backend.datasets.inputs_of_run(run_id)
