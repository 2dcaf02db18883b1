"""Lineage records: a graph of what came from what, recorded as edges while things happen.

Nodes are named by kind and id (``run`` + run id, ``dataset_version`` + digest, ...), so an edge
can point at any entity of any context without the store knowing its tables. Edges are directed
from upstream (what was used or came first) to downstream (what was made from it).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class NodeKind(enum.StrEnum):
    """What a lineage node is."""

    DATASET_VERSION = "dataset_version"
    RUN = "run"
    LOGGED_MODEL = "logged_model"
    MODEL_VERSION = "model_version"
    DEPLOYMENT = "deployment"
    FEATURE_VIEW = "feature_view"  # id: name/version
    FEATURE_SOURCE = "feature_source"  # id: a file path or URL, push:<name>, sql:<query>


class Relation(enum.StrEnum):
    """How the upstream node relates to the downstream one."""

    INPUT = "input"  # dataset version -> run (properties: role)
    PARENT = "parent"  # parent run -> child run
    PRODUCED = "produced"  # run -> logged model
    REGISTERED = "registered"  # logged model -> model version
    DEPLOYED = "deployed"  # model version -> deployment
    SOURCE = "source"  # feature source or dataset version -> feature view
    FEATURES = "features"  # feature view -> dataset version (training data built from it)


@dataclass(frozen=True, kw_only=True)
class NodeRef:
    """One node: its kind and its id within that kind."""

    kind: NodeKind
    id: str

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.id}"


@dataclass(frozen=True, kw_only=True)
class LineageEdge:
    """``source`` was used by, or produced, ``target``; ``properties`` add detail (a dataset's role)."""

    source: NodeRef
    target: NodeRef
    relation: Relation
    created_at: int
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class LineageNode:
    """A node with what a person needs to recognise it: a label and a few attributes."""

    ref: NodeRef
    label: str
    attributes: dict[str, Any] = field(default_factory=dict)
    found: bool = True  # False when an edge names a node whose record is gone


@dataclass(frozen=True, kw_only=True)
class LineageGraph:
    """The part of the graph reachable from ``root``: upstream edges lead to it, downstream from it."""

    root: NodeRef
    nodes: dict[NodeRef, LineageNode]
    upstream: tuple[LineageEdge, ...]
    downstream: tuple[LineageEdge, ...]

    def parents(self, ref: NodeRef) -> list[LineageEdge]:
        """Upstream edges into ``ref``, oldest first."""
        return [e for e in self.upstream if e.target == ref]

    def children(self, ref: NodeRef) -> list[LineageEdge]:
        """Downstream edges out of ``ref``, oldest first."""
        return [e for e in self.downstream if e.source == ref]

    @property
    def edges(self) -> tuple[LineageEdge, ...]:
        return self.upstream + self.downstream
