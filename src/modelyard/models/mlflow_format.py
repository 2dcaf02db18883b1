"""What modelyard reads of MLflow's model format: the ``MLmodel`` file of a folder MLflow saved.

MLflow models (uploaded by the mlflow client, imported from an MLflow store, or passed as a folder
to ``log_model``/``load_model``) are recognised by their ``MLmodel`` file. ``mlflow_flavor`` names
the library that loads one (``mlflow.sklearn``; ``python_function`` is every MLflow model's
generic loader, so a more specific flavor wins), which is what the registry records for them.
``load_mlflow_dir`` loads one as a modelyard model, after its files are checked against the
digest recorded for it: converted to the modelyard flavor of its library when modelyard has one
(``modelyard.models.mlflow_convert``), with its signature and example, else through mlflow.

The other direction, an ``MLmodel`` beside ``modelyard.json``, is ``modelyard.models.mlflow_write``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from modelyard.domain.models import ModelManifest
from modelyard.errors import Conflict, InvalidInput
from modelyard.models.digest import directory_digest
from modelyard.models.flavors.base import LoadedModel
from modelyard.models.flavors.mlflow import MLMODEL_FILE, MlflowFlavor, MlflowModel
from modelyard.models.mlflow_convert import GENERIC_FLAVOR, plan_import
from modelyard.models.predictor import Predictor

__all__ = ["MLMODEL_FILE", "is_mlflow_dir", "load_mlflow_dir", "mlflow_flavor", "read_mlmodel"]

MLFLOW_FLAVOR_PREFIX = "mlflow."


def mlflow_flavor(mlmodel_text: bytes | str | None) -> str:
    """``mlflow.<flavor>`` from an ``MLmodel`` file's text (``mlflow.pyfunc`` when unreadable)."""
    flavors: object = None
    if mlmodel_text:
        try:
            loaded = yaml.safe_load(mlmodel_text)
        except yaml.YAMLError:
            loaded = None
        flavors = loaded.get("flavors") if isinstance(loaded, dict) else None
    named = [str(f) for f in flavors if f != GENERIC_FLAVOR] if isinstance(flavors, dict) else []
    return f"{MLFLOW_FLAVOR_PREFIX}{named[0] if named else 'pyfunc'}"[:64]


def is_mlflow_dir(root: Path) -> bool:
    """A model folder MLflow saved (an ``MLmodel`` file)."""
    return (root / MLMODEL_FILE).is_file()


def read_mlmodel(root: Path) -> dict[str, Any]:
    """The parsed ``MLmodel`` of the folder ``root``; ``InvalidInput`` saying what is wrong with it
    (not YAML, not a mapping, no ``flavors`` mapping)."""
    file = root / MLMODEL_FILE
    try:
        loaded = yaml.safe_load(file.read_bytes())
    except yaml.YAMLError as exc:
        raise InvalidInput(f"the {MLMODEL_FILE} file in {str(root)!r} is not valid YAML: {exc}") from exc
    except OSError as exc:
        raise InvalidInput(f"cannot read the {MLMODEL_FILE} file in {str(root)!r}: {exc}") from exc
    if not isinstance(loaded, dict):
        raise InvalidInput(f"the {MLMODEL_FILE} file in {str(root)!r} is not a mapping of MLflow model fields")
    flavors = loaded.get("flavors")
    if not isinstance(flavors, Mapping) or not flavors:
        raise InvalidInput(f"the {MLMODEL_FILE} file in {str(root)!r} lists no flavors: it does not say how to load it")
    return loaded


def mlflow_dir_digest(root: Path) -> str:
    """The digest of an MLflow model folder: every file it holds (see ``directory_digest``)."""
    return directory_digest(root)


def load_mlflow_dir(root: Path, *, expected_digest: str | None = None) -> Predictor:
    """Load a model MLflow saved, after checking its files against ``expected_digest`` (the
    digest recorded when it was logged: every file of the folder).

    A model of a library modelyard supports loads with that flavor and enforces the signature
    converted from MLflow's; any other loads through ``mlflow.pyfunc`` (inputs checked by mlflow).
    """
    digest = mlflow_dir_digest(root)
    if expected_digest is not None and digest != expected_digest:
        raise Conflict(
            f"the files of the MLflow model at {str(root)!r} do not match the digest recorded when it was "
            "logged: they were modified, added or removed; refusing to load them",
            expected=expected_digest,
            actual=digest,
        )
    plan = plan_import(root, read_mlmodel(root))
    model: LoadedModel
    if plan.flavor.name == MlflowFlavor.name:
        model = MlflowModel(root)
    else:
        with tempfile.TemporaryDirectory(prefix="modelyard-mlflow-") as tmp:
            folder = Path(tmp)
            plan.write(folder)
            model = plan.flavor.load(folder)  # read into memory: the copy is not needed after
    manifest = ModelManifest(
        flavor=plan.flavor.name,
        digest=digest,
        created_time=0,
        python_version=plan.python_version,
        requirements=plan.requirements,
        signature=plan.signature,
        input_example_path=plan.example_file,
        model_path=".",
    )
    return Predictor(model=model, manifest=manifest, path=root)
