"""MLflow's experiment calls: create, get, get-by-name, search, update, delete, restore, tags."""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from fastapi import APIRouter

from modelyard.domain.tracking import Experiment
from modelyard.errors import InvalidInput, NotFound
from modelyard.server.mlflow_compat import _wire as wire
from modelyard.server.mlflow_compat._bodies import Body, KeyValue, PageSize, as_dict
from modelyard.server.mlflow_compat._deps import Backend, artifact_uri_in, experiment_id_in
from modelyard.server.mlflow_compat._errors import MlflowRoute

router = APIRouter(prefix="/experiments", route_class=MlflowRoute, tags=["mlflow: experiments"])


class CreateExperiment(Body):
    name: str
    artifact_location: str | None = None
    tags: list[KeyValue] | None = None


class ExperimentRef(Body):
    experiment_id: str


class UpdateExperiment(Body):
    experiment_id: str
    new_name: str


class ExperimentTag(Body):
    experiment_id: str
    key: str
    value: str = ""


class SearchExperiments(Body):
    max_results: PageSize = 1000
    page_token: str | None = None
    filter: str | None = None
    order_by: list[str] | None = None
    view_type: str = "ACTIVE_ONLY"


@router.post("/create")
def create(body: CreateExperiment, backend: Backend) -> dict[str, Any]:
    location = artifact_uri_in(backend, body.artifact_location) if body.artifact_location else None
    experiment_id = backend.experiments.create(body.name, tags=as_dict(body.tags), artifact_location=location)
    return {"experiment_id": experiment_id}


@router.get("/get")
def get(experiment_id: str, backend: Backend) -> dict[str, Any]:
    found = backend.experiments.get(experiment_id_in(backend, experiment_id))
    return {"experiment": wire.experiment(backend, found)}


@router.get("/get-by-name")
def get_by_name(experiment_name: str, backend: Backend) -> dict[str, Any]:
    found = backend.experiments.get_by_name(experiment_name)
    if found is None:
        raise NotFound(f"no experiment named {experiment_name!r}")
    return {"experiment": wire.experiment(backend, found)}


@router.post("/search")
def search(body: SearchExperiments, backend: Backend) -> dict[str, Any]:
    view = body.view_type.upper()
    found = backend.experiments.list(include_deleted=view == "ALL", only_deleted=view == "DELETED_ONLY")
    matching = [e for e in found if _matches(e, body.filter)]
    matching.sort(key=lambda e: (-e.creation_time, -int(e.experiment_id)))
    for clause in reversed(body.order_by or []):
        field, _, direction = clause.strip().partition(" ")
        field = field.removeprefix("attributes.").removeprefix("attribute.")
        if field not in ("name", "experiment_id", "creation_time", "last_update_time"):
            raise InvalidInput(f"cannot order experiments by {field!r}")
        matching.sort(key=lambda e: _sort_key(e, field), reverse=direction.strip().upper() == "DESC")
    offset = int(body.page_token) if body.page_token and body.page_token.isdigit() else 0
    page = matching[offset : offset + body.max_results]
    answer: dict[str, Any] = {"experiments": [wire.experiment(backend, e) for e in page]}
    if offset + body.max_results < len(matching):
        answer["next_page_token"] = str(offset + body.max_results)
    return answer


@router.post("/update")
def update(body: UpdateExperiment, backend: Backend) -> dict[str, Any]:
    backend.experiments.rename(experiment_id_in(backend, body.experiment_id), body.new_name)
    return {}


@router.post("/delete")
def delete(body: ExperimentRef, backend: Backend) -> dict[str, Any]:
    backend.experiments.delete(experiment_id_in(backend, body.experiment_id))
    return {}


@router.post("/restore")
def restore(body: ExperimentRef, backend: Backend) -> dict[str, Any]:
    backend.experiments.restore(experiment_id_in(backend, body.experiment_id))
    return {}


@router.post("/set-experiment-tag")
def set_tag(body: ExperimentTag, backend: Backend) -> dict[str, Any]:
    backend.experiments.set_tag(experiment_id_in(backend, body.experiment_id), body.key, body.value)
    return {}


def _sort_key(found: Experiment, field: str) -> Any:
    if field == "experiment_id":
        return int(found.experiment_id)
    return getattr(found, field)


_CLAUSE = re.compile(
    r"""^\s*(?P<field>(?:attributes?\.)?name|tags?\.`[^`]+`|tags?\.[\w.\-]+)\s*"""
    r"""(?P<op>!=|=|NOT\s+ILIKE|NOT\s+LIKE|ILIKE|LIKE)\s*(?:'(?P<sq>[^']*)'|"(?P<dq>[^"]*)")\s*$""",
    re.IGNORECASE,
)


def _matches(found: Experiment, text: str | None) -> bool:
    """MLflow's experiment filter (``name`` and ``tags.<key>`` with =, !=, LIKE, ILIKE, joined by
    AND) applied to one experiment of the service's listing."""
    if not text or not text.strip():
        return True
    for part in re.split(r"\s+AND\s+", text.strip(), flags=re.IGNORECASE):
        clause = _CLAUSE.match(part)
        if clause is None:
            raise InvalidInput(f"cannot read the experiment filter clause {part.strip()!r}")
        field = clause["field"]
        wanted = clause["sq"] if clause["sq"] is not None else clause["dq"]
        if not field.lower().startswith("tag"):
            actual: str | None = found.name
        else:
            actual = found.tags.get(field.split(".", 1)[1].strip("`"))
        if not _compare(actual, " ".join(clause["op"].upper().split()), wanted):
            return False
    return True


def _compare(actual: str | None, op: str, wanted: str) -> bool:
    if actual is None:
        return op == "!="
    if op in ("=", "!="):
        return (actual == wanted) is (op == "=")
    pattern = wanted.replace("%", "*").replace("_", "?")
    if "ILIKE" in op:
        hit = fnmatch.fnmatchcase(actual.lower(), pattern.lower())
    else:
        hit = fnmatch.fnmatchcase(actual, pattern)
    return hit is not op.startswith("NOT")
