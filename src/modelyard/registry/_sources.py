"""Which logged model a ``runs:/`` or ``models:/`` URI names, inside the caller's transaction."""

from __future__ import annotations

from sqlalchemy import Connection

from modelyard.domain.registry import LoggedModel, ModelVersion
from modelyard.errors import InvalidInput, NotFound
from modelyard.registry._lookup import require_version
from modelyard.store.repos import logged_models as logged_model_rows
from modelyard.store.repos import registered_models as model_rows
from modelyard.store.repos import runs as run_rows
from modelyard.uris import ModelUri, RunUri, parse_model_uri, parse_run_uri


def version_for(conn: Connection, uri: ModelUri) -> ModelVersion:
    """The version ``models:/name/N`` or ``models:/name@alias`` names."""
    if uri.path:
        raise InvalidInput(f"models:/{uri.name}: a model URI names a whole model, not the file {uri.path!r} in it")
    if uri.version is not None:
        return require_version(conn, uri.name, uri.version)
    assert uri.alias is not None
    version = model_rows.alias_version(conn, uri.name, uri.alias)
    if version is None:
        if model_rows.get(conn, uri.name) is None:
            raise NotFound(f"no registered model named {uri.name!r}")
        raise NotFound(f"registered model {uri.name!r} has no alias {uri.alias!r}")
    return require_version(conn, uri.name, version)


def logged_model_in_run(conn: Connection, uri: RunUri) -> LoggedModel | None:
    """The model recorded at ``runs:/<id>/<path>``; with no path, the run's only model."""
    uri = run_rows.resolve_uri(conn, uri)
    if uri.path:
        return logged_model_rows.get_by_path(conn, uri.run_id, uri.path)
    models = logged_model_rows.list_for_run(conn, uri.run_id)
    if len(models) > 1:
        paths = ", ".join(repr(m.artifact_path) for m in models)
        raise InvalidInput(f"run {uri.run_id} has several logged models ({paths}); add the path: runs:/<id>/<path>")
    return models[0] if models else None


def logged_model_for(conn: Connection, source: str) -> LoggedModel:
    """The logged model a registration source names: ``runs:/…`` or an existing version ``models:/…``."""
    if source.startswith("runs:/"):
        run_uri = parse_run_uri(source)
        found = logged_model_in_run(conn, run_uri)
        if found is None:
            raise NotFound(
                f"run {run_uri.run_id} has no logged model at {run_uri.path!r}; log it with log_model() first"
            )
        return found
    if source.startswith("models:/"):
        version = version_for(conn, parse_model_uri(source))
        model = logged_model_rows.get(conn, version.model_id)
        assert model is not None, "a version always points at a recorded logged model"
        return model
    raise InvalidInput(
        f"cannot register {source!r}: register a model logged in a run (runs:/<run_id>/<path>) "
        "or an existing version (models:/<name>/<version>)"
    )
