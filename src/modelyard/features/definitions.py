"""Collecting definitions from a user's Python module, and checking that they fit together.

``modelyard features apply MODULE`` imports ``MODULE`` (a dotted module name, or a path to a
``.py`` file) and takes every ``Entity``, ``FeatureView`` and ``OnDemandFeatureView`` bound at
its top level. A module that fails to import is the user's code failing: ``UserCodeError`` with
the original as the cause.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

from modelyard.domain.features import Definition, Entity, FeatureView, OnDemandFeatureView, PushSource
from modelyard.errors import InvalidInput, NotFound, UserCodeError

DEFINITION_TYPES = (Entity, FeatureView, OnDemandFeatureView)


def spec_digest(spec: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a spec: equal specs, equal digests."""
    return hashlib.sha256(json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def import_module(target: str) -> ModuleType:
    """The module ``target`` names: ``package.module`` or ``path/to/file.py``."""
    try:
        if target.endswith(".py") or "/" in target:
            path = Path(target).expanduser().absolute()
            if not path.is_file():
                raise NotFound(f"no such definitions file: {path}")
            name = f"modelyard_features_{path.stem}"
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                raise InvalidInput(f"cannot import {path} as a Python module")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
            return module
        return importlib.import_module(target)
    except (NotFound, InvalidInput):
        raise
    except ModuleNotFoundError as exc:
        if exc.name == target:
            raise NotFound(f"no module named {target!r} (give a dotted module name or a .py path)") from exc
        raise UserCodeError(f"importing {target} failed: {exc}") from exc
    except Exception as exc:
        raise UserCodeError(f"importing {target} failed: {type(exc).__name__}: {exc}") from exc


def collect(module: ModuleType) -> list[Definition]:
    """Every definition bound at the top level of ``module``, in the order they appear."""
    found: list[Definition] = []
    seen: set[int] = set()
    for value in vars(module).values():
        if isinstance(value, DEFINITION_TYPES) and id(value) not in seen:
            seen.add(id(value))
            found.append(value)
    if not found:
        raise InvalidInput(f"{module.__name__} defines no Entity, FeatureView or OnDemandFeatureView at its top level")
    return found


def check_consistent(definitions: Iterable[Definition]) -> None:
    """Names are unique per kind, views name known entities, on-demand views known views, and a
    push source's name means one source."""
    by_kind: dict[str, dict[str, Definition]] = {}
    for d in definitions:
        names = by_kind.setdefault(d.kind.value, {})
        if d.name in names and names[d.name] != d:
            raise InvalidInput(f"two different {d.kind.value.replace('_', ' ')}s are named {d.name!r}")
        names[d.name] = d
    entities = by_kind.get("entity", {})
    views = by_kind.get("feature_view", {})
    pushes: dict[str, PushSource] = {}
    for view in views.values():
        assert isinstance(view, FeatureView)
        if view.entity not in entities:
            raise InvalidInput(f"feature view {view.name!r} names entity {view.entity!r}, which is not defined")
        if isinstance(view.source, PushSource):
            other = pushes.setdefault(view.source.name, view.source)
            if other != view.source:
                raise InvalidInput(f"push source {view.source.name!r} is defined twice, differently")
    on_demand = by_kind.get("on_demand_view", {})
    for odv in on_demand.values():
        assert isinstance(odv, OnDemandFeatureView)
        for source in odv.sources:
            if source not in views:
                raise InvalidInput(f"on-demand view {odv.name!r} reads feature view {source!r}, which is not defined")
        if odv.name in views:
            raise InvalidInput(f"{odv.name!r} names both a feature view and an on-demand view")
