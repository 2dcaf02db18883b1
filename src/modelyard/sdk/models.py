"""Fluent model functions: ``log_model`` on the active run, ``load_model`` and ``register_model``.

``log_model`` starts a run when none is active, as the other fluent logging calls do. All three
take a folder saved by MLflow (``mlflow.<flavor>.save_model``) as well: it is logged as a
modelyard model of its library's flavor, with its signature and example.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from modelyard.domain.models import ModelSignature
from modelyard.domain.registry import LoggedModel, ModelVersion
from modelyard.models import InputExample, Predictor
from modelyard.sdk.fluent import active_run, client, start_run


def log_model(
    model: object,
    name: str = "model",
    input_example: InputExample | None = None,
    signature: ModelSignature | None = None,
    registered_model_name: str | None = None,
    *,
    flavor: str | None = None,
    requirements: Sequence[str] | None = None,
) -> LoggedModel:
    """Save ``model`` into the active run at ``runs:/<run_id>/<name>`` (and register it if asked)."""
    current = active_run()
    run_id = str(current.info.run_id) if current is not None else str(start_run().info.run_id)
    return client().registry.log_model(
        run_id,
        model,
        name,
        input_example=input_example,
        signature=signature,
        flavor=flavor,
        requirements=requirements,
        registered_model_name=registered_model_name,
    )


def load_model(model_uri: str | os.PathLike[str], *, trusted: bool = False) -> Predictor:
    """Load ``runs:/<run_id>/<path>``, ``models:/<name>/<N>``, ``models:/<name>@<alias>`` or a local path.

    Loading unpickles the model's files, which runs code: a directory this store never recorded is
    refused unless ``trusted=True``.
    """
    return client().registry.load_model(model_uri, trusted=trusted)


def register_model(
    model_uri: str | os.PathLike[str], name: str, tags: Mapping[str, Any] | None = None, description: str | None = None
) -> ModelVersion:
    """Register ``model_uri`` as the next version of ``name``, creating the registered model if needed.

    ``model_uri`` is ``runs:/…``, ``models:/…``, or the path of a folder MLflow saved: that one is
    first logged with ``log_model`` into the active run (a new run when none is active) under the
    registered model's name, then registered from there.
    """
    uri = os.fspath(model_uri)
    local = Path(uri.removeprefix("file://")).expanduser()
    if not uri.startswith(("runs:/", "models:/")) and local.is_dir():
        if active_run() is None:
            with start_run():
                uri = log_model(local, name).uri
        else:
            uri = log_model(local, name).uri
    return client().registry.register_model(uri, name, tags=tags, description=description)
