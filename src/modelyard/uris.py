"""The URIs users write: ``runs:/``, ``models:/`` and ``datasets:/``.

Parsing lives here, once, so every interface accepts exactly the same spellings and rejects the
same mistakes with the same message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from modelyard.errors import InvalidInput

_NAME = r"[A-Za-z0-9][A-Za-z0-9_.\-]*"
_RUNS = re.compile(r"^runs:/(?P<run_id>[0-9a-fA-F]{4,32})(?=/|$)(?:/(?P<path>.*))?$")
_MODEL_VERSION = re.compile(rf"^models:/(?P<name>{_NAME})/(?P<version>[0-9]+)(?:/(?P<path>.*))?$")
_MODEL_ALIAS = re.compile(rf"^models:/(?P<name>{_NAME})@(?P<alias>{_NAME})(?:/(?P<path>.*))?$")
_DATASET = re.compile(rf"^datasets:/(?P<name>{_NAME})@(?P<digest>[0-9a-f]{{4,64}})$")


@dataclass(frozen=True, kw_only=True)
class RunUri:
    """``runs:/<run_id>/<path>``: a file or folder among a run's artifacts."""

    run_id: str
    path: str = ""


@dataclass(frozen=True, kw_only=True)
class ModelUri:
    """``models:/<name>/<version>`` or ``models:/<name>@<alias>``: exactly one of the two is set."""

    name: str
    version: int | None = None
    alias: str | None = None
    path: str = ""


@dataclass(frozen=True, kw_only=True)
class DatasetUri:
    """``datasets:/<name>@<digest-prefix>``: a dataset version by a prefix of its content digest."""

    name: str
    digest_prefix: str


def parse_run_uri(uri: str) -> RunUri:
    """Parse ``runs:/<run_id>[/<path>]``; the id may be a prefix of 4+ hex digits, which the store
    turns into the full id (``modelyard.store.repos.runs.resolve_uri``)."""
    match = _RUNS.match(uri)
    if match is None:
        raise InvalidInput(f"not a run URI: {uri!r}; expected runs:/<run id, or a prefix of 4+ hex digits>/<path>")
    return RunUri(run_id=match["run_id"].lower(), path=(match["path"] or "").strip("/"))


def parse_model_uri(uri: str) -> ModelUri:
    """Parse ``models:/<name>/<version>`` or ``models:/<name>@<alias>``."""
    if (match := _MODEL_VERSION.match(uri)) is not None:
        return ModelUri(name=match["name"], version=int(match["version"]), path=match["path"] or "")
    if (match := _MODEL_ALIAS.match(uri)) is not None:
        return ModelUri(name=match["name"], alias=match["alias"], path=match["path"] or "")
    raise InvalidInput(f"not a model URI: {uri!r}; expected models:/<name>/<version> or models:/<name>@<alias>")


def parse_dataset_uri(uri: str) -> DatasetUri:
    """Parse ``datasets:/<name>@<digest-prefix>`` (at least 4 hex digits of the digest)."""
    match = _DATASET.match(uri)
    if match is None:
        raise InvalidInput(
            f"not a dataset URI: {uri!r}; expected datasets:/<name>@<at least 4 hex digits of the digest>"
        )
    return DatasetUri(name=match["name"], digest_prefix=match["digest"])
