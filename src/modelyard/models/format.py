"""The model directory: how a model is written to and read from a local folder.

Layout (``format_version`` 2)::

    <path>/
      modelyard.json          the manifest (ModelManifest): flavor, signature, digest, versions
      model/                  the flavor's files (model.pkl, model.json, model.onnx, ...)
      input_example.parquet   optional (input_example.json when Parquet cannot hold it)
      requirements.txt        pip requirements, pinned to the versions that saved the model
      MLmodel                 the same model described to MLflow (modelyard.models.mlflow_write),
                              with input_example.json, MLflow's copy of a Parquet example

A directory is built in a hidden sibling folder and renamed into place, so readers never see a
half-written model and a failed save leaves nothing behind. The manifest's ``digest`` covers
every other file and, from format 2 on, the manifest's own content: every field but the digest,
as canonical JSON (sorted keys, no spaces), hashed as the entry ``modelyard.json``. Loading
recomputes it and refuses a directory whose files or manifest changed (making a column optional
in ``modelyard.json`` included). Someone who rewrites the digest too makes a directory that is
consistent but new: callers that keep the digest elsewhere (the registry) pass it as
``expected_digest``, and ``modelyard.registry`` loads an unrecorded directory only when asked to
trust it. Format 1 directories (digest over the files only) still load, and so do directories
saved before ``MLmodel`` was written (the digest covers whatever files a directory has).

Loading a model unpickles its files (pickle, cloudpickle), which runs whatever code they hold:
load only models from a store or a person you trust.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import re
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pandas as pd

from modelyard.clock import SYSTEM_CLOCK, Clock
from modelyard.domain.models import MANIFEST_FORMAT_VERSION, ModelManifest, ModelSignature
from modelyard.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from modelyard.models.digest import directory_digest
from modelyard.models.examples import InputExample, as_frame, read_input_example, write_input_example
from modelyard.models.flavors.base import Flavor, installed_version, pinned
from modelyard.models.flavors.mlflow import MlflowFlavor
from modelyard.models.flavors.registry import detect_flavor, get_flavor
from modelyard.models.mlflow_convert import MlflowImport, plan_import
from modelyard.models.mlflow_format import is_mlflow_dir, load_mlflow_dir, mlflow_dir_digest, read_mlmodel
from modelyard.models.mlflow_write import write_mlmodel
from modelyard.models.predictor import Predictor
from modelyard.models.signature import enforce_signature, infer_signature

MANIFEST_NAME = "modelyard.json"
MODEL_FOLDER = "model"
REQUIREMENTS_NAME = "requirements.txt"
_BASE_LIBRARIES = ("modelyard", "numpy", "pandas")

logger = logging.getLogger(__name__)


def save_model(
    model: object,
    path: str | Path,
    *,
    input_example: InputExample | None = None,
    signature: ModelSignature | None = None,
    flavor: str | Flavor | None = None,
    requirements: Sequence[str] | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> ModelManifest:
    """Write ``model`` as a new model directory at ``path`` and return its manifest.

    ``flavor`` defaults to the first that detects the model (``detect_flavor``). The signature is
    inferred from ``input_example`` when not given, its outputs from the saved model's prediction
    on the example; with neither, the model is saved without one
    and its predictor does not check inputs (the manifest says ``signature_enforced: false``).
    An example given with a signature must satisfy it. ``requirements`` replaces the inferred
    pins (modelyard, numpy, pandas and the flavor's libraries) rather than adding to them.

    ``model`` may be the path of a folder saved by MLflow: it is imported with the modelyard
    flavor of its library (``modelyard.models.mlflow_convert``; ``flavor="mlflow"`` keeps it as
    MLflow saved it), its signature, example and requirements unless given here. The directory
    also gets an ``MLmodel`` file, so MLflow's loaders open it (``modelyard.models.mlflow_write``).

    ``AlreadyExists`` if ``path`` is a file or a non-empty folder.
    """
    target = Path(path)
    _check_free(target)
    imported = _mlflow_import(model, flavor)
    extra_requirements: tuple[str, ...] = ()
    if imported is not None:
        chosen, write = imported.flavor, imported.write
        signature = signature if signature is not None else imported.signature
        if input_example is None:
            input_example = imported.example
        extra_requirements = imported.requirements
    else:
        chosen = _choose_flavor(model, flavor)

        def write(folder: Path) -> None:
            chosen.save(model, folder)

    frame = as_frame(input_example) if input_example is not None else None
    infer_outputs = frame is not None and signature is None and imported is None  # an import never runs its model
    if frame is not None:
        if signature is None:
            signature = infer_signature(frame)
        else:
            enforce_signature(frame, signature)
    lines = _requirement_lines(chosen, requirements, extra_requirements)

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        (staging / MODEL_FOLDER).mkdir()
        write(staging / MODEL_FOLDER)
        if infer_outputs and frame is not None and signature is not None:
            signature = _with_outputs(chosen, staging / MODEL_FOLDER, frame, signature)
        example_path = write_input_example(frame, staging) if frame is not None else None
        (staging / REQUIREMENTS_NAME).write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
        manifest = ModelManifest(
            flavor=chosen.name,
            digest="",
            created_time=clock.now_ms(),
            python_version=platform.python_version(),
            library_versions=_library_versions(chosen),
            requirements=tuple(lines),
            signature=signature,
            input_example_path=example_path,
            model_path=MODEL_FOLDER,
        )
        write_mlmodel(staging, manifest, frame)
        manifest = replace(manifest, digest=manifest_digest(staging, manifest))
        _write_manifest(staging, manifest)
        _move_into_place(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _mlflow_import(model: object, flavor: str | Flavor | None) -> MlflowImport | None:
    """How to import ``model`` when it is the path of a folder MLflow saved (and not one of ours)."""
    if not isinstance(model, str | os.PathLike):
        return None
    root = Path(model)
    if not is_mlflow_dir(root) or (root / MANIFEST_NAME).is_file():
        return None
    name = flavor if isinstance(flavor, str) or flavor is None else flavor.name
    if name not in (None, MlflowFlavor.name):
        raise InvalidInput(
            f"{str(root)!r} is a model saved by MLflow: it is imported with the flavor of its library, "
            f"or kept as is with flavor='mlflow'; it cannot be saved with the {name} flavor"
        )
    return plan_import(root, read_mlmodel(root), keep_as_is=name == MlflowFlavor.name)


def read_manifest(path: str | Path, *, verify: bool = True) -> ModelManifest:
    """The manifest of the model directory at ``path``; with ``verify``, also checks the digest.

    ``NotFound`` if there is no model directory there, ``InvalidInput`` for an unreadable manifest
    or one from a newer format, ``Conflict`` when the files no longer match the digest.
    """
    root = Path(path)
    file = root / MANIFEST_NAME
    if not root.is_dir():
        raise NotFound(f"no model directory at {str(root)!r}", path=str(root))
    if not file.is_file():
        raise NotFound(f"{str(root)!r} is not a model directory: it has no {MANIFEST_NAME}", path=str(root))
    try:
        manifest = ModelManifest.from_dict(json.loads(file.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, UnicodeDecodeError, TypeError, ValueError) as exc:
        raise InvalidInput(f"{MANIFEST_NAME} in {str(root)!r} is not a valid manifest: {exc}") from exc
    if manifest.format_version > MANIFEST_FORMAT_VERSION:
        raise InvalidInput(
            f"the model at {str(root)!r} uses model format {manifest.format_version}; this modelyard "
            f"reads up to {MANIFEST_FORMAT_VERSION}: upgrade modelyard",
        )
    _inside(root, manifest.model_path)
    if manifest.input_example_path is not None:
        _inside(root, manifest.input_example_path)
    if verify:
        actual = manifest_digest(root, manifest)
        if actual != manifest.digest:
            raise Conflict(
                f"the files of the model at {str(root)!r} do not match its digest: they or its "
                f"{MANIFEST_NAME} were modified, added or removed after saving; refusing to load them",
                expected=manifest.digest,
                actual=actual,
            )
    return manifest


def manifest_digest(root: Path, manifest: ModelManifest) -> str:
    """The digest ``manifest`` must carry for the directory ``root`` (see the module docstring)."""
    if manifest.format_version < 2:
        return directory_digest(root, exclude=[MANIFEST_NAME])
    fields = {k: v for k, v in manifest.to_dict().items() if k != "digest"}
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return directory_digest(root, exclude=[MANIFEST_NAME], extra={MANIFEST_NAME: canonical})


def load_model_dir(path: str | Path, *, expected_digest: str | None = None) -> Predictor:
    """Load the model directory at ``path`` after checking it is intact.

    ``expected_digest`` (as recorded elsewhere, e.g. by the registry) must equal the manifest's,
    else ``Conflict``. ``BackendUnavailable`` names the pip extra when the flavor's library is
    missing. Library versions that differ from those that saved the model are logged as warnings.
    """
    root = Path(path)
    if not (root / MANIFEST_NAME).is_file() and is_mlflow_dir(root):
        return load_mlflow_dir(root, expected_digest=expected_digest)
    manifest = read_manifest(root)
    if expected_digest is not None and manifest.digest != expected_digest:
        raise Conflict(
            f"the model at {str(root)!r} has digest {manifest.digest}, expected {expected_digest}",
            expected=expected_digest,
            actual=manifest.digest,
        )
    flavor = get_flavor(manifest.flavor)
    _log_version_drift(root, manifest)
    return Predictor(model=flavor.load(root / manifest.model_path), manifest=manifest, path=root)


def folder_digest(path: str | Path) -> str:
    """The digest a model folder is recorded and loaded with: a modelyard directory's verified
    manifest digest, or every file of a folder MLflow saved. ``NotFound``/``Conflict`` as
    ``read_manifest``, ``InvalidInput`` for an unreadable ``MLmodel``."""
    root = Path(path)
    if not (root / MANIFEST_NAME).is_file() and is_mlflow_dir(root):
        read_mlmodel(root)
        return mlflow_dir_digest(root)
    return read_manifest(root).digest


def folder_requirements(path: str | Path) -> tuple[str, ...]:
    """The pip requirements of a model folder: its manifest's, or the lines of the
    ``requirements.txt`` of a folder MLflow saved (with ``mlflow``, which loads it)."""
    root = Path(path)
    if not (root / MANIFEST_NAME).is_file() and is_mlflow_dir(root):
        return plan_import(root, read_mlmodel(root), keep_as_is=True).requirements
    return read_manifest(root, verify=False).requirements


def load_input_example(path: str | Path) -> pd.DataFrame | None:
    """The input example saved with the model at ``path``, or ``None`` if it has none."""
    root = Path(path)
    manifest = read_manifest(root, verify=False)
    if manifest.input_example_path is None:
        return None
    return read_input_example(_inside(root, manifest.input_example_path))


def _with_outputs(flavor: Flavor, folder: Path, frame: pd.DataFrame, signature: ModelSignature) -> ModelSignature:
    """``signature`` with the outputs of the saved model on its own example.

    Predicting with what was written (not the object in memory) also proves the files load and
    run. A model that fails on its example is still saved, without outputs, and the failure is
    logged: the example may be illustrative rather than runnable, and outputs are descriptive only.
    """
    try:
        output = flavor.load(folder).predict(enforce_signature(frame, signature))
        return infer_signature(frame, output)
    except Exception as exc:
        logger.warning(
            "the %s model could not predict its input example (%s: %s); saving it without output types",
            flavor.name,
            type(exc).__name__,
            exc,
        )
        return signature


def _choose_flavor(model: object, flavor: str | Flavor | None) -> Flavor:
    if flavor is None:
        return detect_flavor(model)
    chosen = get_flavor(flavor) if isinstance(flavor, str) else flavor
    if not chosen.detect(model):
        raise InvalidInput(
            f"a {type(model).__name__} cannot be saved with the {chosen.name} flavor", flavor=chosen.name
        )
    return chosen


def _requirement_lines(flavor: Flavor, requirements: Sequence[str] | None, extra: Sequence[str] = ()) -> list[str]:
    """The given lines, or the inferred pins plus the ``extra`` lines (an imported model's) whose
    distributions they do not pin already."""
    if requirements is None:
        lines = list(dict.fromkeys([*pinned(*_BASE_LIBRARIES), *flavor.requirements()]))
        known = {_distribution(line) for line in lines}
        return lines + [line for line in extra if _distribution(line) not in known]
    if isinstance(requirements, str):
        raise InvalidInput("requirements must be a list of requirement lines, not one string")
    lines = [line.strip() for line in requirements]
    if any(not line or "\n" in line for line in lines):
        raise InvalidInput("requirements must be non-empty, single-line pip requirement strings")
    return lines


def _distribution(line: str) -> str:
    """The normalised distribution name a requirement line starts with (``scikit_learn``)."""
    name = re.split(r"[\s<>=!~;\[@]", line.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def _library_versions(flavor: Flavor) -> dict[str, str]:
    versions: dict[str, str] = {}
    for line in [*pinned(*_BASE_LIBRARIES), *flavor.requirements()]:
        name, sep, version = line.partition("==")
        if sep:
            versions[name] = version
    return versions


def _check_free(target: Path) -> None:
    if target.is_file() or (target.is_dir() and any(target.iterdir())):
        raise AlreadyExists(f"{str(target)!r} already exists and is not an empty folder", path=str(target))


def _move_into_place(staging: Path, target: Path) -> None:
    try:
        if target.is_dir():
            target.rmdir()  # empty (checked before); fails if someone wrote into it meanwhile
        os.rename(staging, target)
    except OSError as exc:
        if target.exists():
            raise AlreadyExists(f"{str(target)!r} was created by someone else while saving", path=str(target)) from exc
        raise


def _write_manifest(root: Path, manifest: ModelManifest) -> None:
    text = json.dumps(manifest.to_dict(), indent=2) + "\n"
    (root / MANIFEST_NAME).write_text(text, encoding="utf-8")


def _inside(root: Path, relative: str) -> Path:
    """``root / relative``, refusing paths that leave the directory (the digest only covers it)."""
    candidate = (root / relative).resolve()
    if not candidate.is_relative_to(root.resolve()):
        raise InvalidInput(f"the manifest path {relative!r} points outside the model directory")
    return candidate


def _log_version_drift(root: Path, manifest: ModelManifest) -> None:
    for name, saved in manifest.library_versions.items():
        installed = installed_version(name)
        if installed is not None and installed != saved:
            logger.warning("model at %s was saved with %s %s; %s is installed", root, name, saved, installed)
