"""Lineage: from any node (a dataset version, a run, a logged model, a model version) to everything
it came from and everything made from it.

The graph is stored as edges written by the service that made each thing (tracking writes run ->
child run, the registry run -> logged model -> model version, data dataset version -> run). This
service only walks and describes it; the walk is breadth-first, one query per level and direction,
and stops at ``max_depth`` or at a node already seen, so a cycle can never loop it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from modelyard.domain.lineage import LineageEdge, LineageGraph, LineageNode, NodeKind, NodeRef
from modelyard.errors import InvalidInput, NotFound
from modelyard.store.db import Database
from modelyard.store.repos import experiments as experiment_rows
from modelyard.store.repos import lineage as lineage_rows
from modelyard.store.repos import runs as run_rows
from modelyard.uris import parse_run_uri

DEFAULT_MAX_DEPTH = 25

Describer = Callable[[Connection, str], LineageNode | None]
Resolver = Callable[[str], NodeRef]


class LineageService:
    """Walks the lineage graph and describes its nodes."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._describers: dict[NodeKind, Describer] = {NodeKind.RUN: _describe_run}
        self._resolvers: dict[str, Resolver] = {"runs:/": self._resolve_run}

    def register_kind(
        self, kind: NodeKind, describe: Describer, *, uri_prefix: str | None = None, resolve: Resolver | None = None
    ) -> None:
        """Teach the service to describe ``kind`` nodes (and to resolve the URIs users write for them).

        Each context that records edges registers its own kinds here, so this module never reaches
        into another context's tables.
        """
        self._describers[kind] = describe
        if uri_prefix is not None and resolve is not None:
            self._resolvers[uri_prefix] = resolve

    def resolve(self, uri: str) -> NodeRef:
        """The node a URI names: ``runs:/<id>``, ``models:/<name>/<version>``, ``models:/<name>@<alias>``,
        ``datasets:/<name>@<digest>``, or ``<kind>:<id>`` as lineage itself prints nodes."""
        text = uri.strip()
        for prefix, resolve in self._resolvers.items():
            if text.startswith(prefix):
                return resolve(text)
        kind, sep, node_id = text.partition(":")
        if sep and node_id and kind in {k.value for k in NodeKind}:
            return NodeRef(kind=NodeKind(kind), id=node_id)
        known = ", ".join(sorted(self._resolvers))
        raise InvalidInput(f"cannot tell what {uri!r} names; give a URI starting with one of: {known}")

    def _resolve_run(self, uri: str) -> NodeRef:
        with self._db.read() as conn:
            run_id = run_rows.resolve_id(conn, parse_run_uri(uri.rstrip("/")).run_id)
        return NodeRef(kind=NodeKind.RUN, id=run_id)

    def graph(self, root: NodeRef, *, max_depth: int = DEFAULT_MAX_DEPTH) -> LineageGraph:
        """Everything upstream and downstream of ``root``, up to ``max_depth`` edges away."""
        if max_depth < 1:
            raise InvalidInput(f"max_depth must be at least 1, got {max_depth}")
        with self._db.read() as conn:
            root_node = self._describe(conn, root)
            if not root_node.found:
                raise NotFound(f"no {root.kind.value.replace('_', ' ')} {root.id!r}")
            upstream = _walk(conn, root, lineage_rows.upstream, lambda e: e.source, max_depth)
            downstream = _walk(conn, root, lineage_rows.downstream, lambda e: e.target, max_depth)
            refs = {root} | {e.source for e in upstream + downstream} | {e.target for e in upstream + downstream}
            nodes = {ref: root_node if ref == root else self._describe(conn, ref) for ref in refs}
        return LineageGraph(root=root, nodes=nodes, upstream=tuple(upstream), downstream=tuple(downstream))

    def _describe(self, conn: Connection, ref: NodeRef) -> LineageNode:
        describe = self._describers.get(ref.kind)
        node = describe(conn, ref.id) if describe is not None else None
        if node is None:
            return LineageNode(ref=ref, label=ref.id, found=describe is None)
        return node


def _walk(
    conn: Connection,
    root: NodeRef,
    step: Callable[[Connection, list[NodeRef]], list[LineageEdge]],
    next_of: Callable[[LineageEdge], NodeRef],
    max_depth: int,
) -> list[LineageEdge]:
    seen = {root}
    frontier = [root]
    edges: list[LineageEdge] = []
    for _ in range(max_depth):
        if not frontier:
            break
        found = step(conn, frontier)
        edges.extend(found)
        frontier = []
        for edge in found:
            node = next_of(edge)
            if node not in seen:
                seen.add(node)
                frontier.append(node)
    return edges


def _describe_run(conn: Connection, run_id: str) -> LineageNode | None:
    info = run_rows.get_info(conn, run_id)
    if info is None:
        return None
    experiment = experiment_rows.get(conn, info.experiment_id)
    attributes: dict[str, Any] = {
        "run_id": info.run_id,
        "experiment": experiment.name if experiment else info.experiment_id,
        "status": info.status.value,
        "user": info.user,
        "start_time": info.start_time,
        "end_time": info.end_time,
        "source": info.source.name,
        "git_commit": info.source.git_commit,
        "git_dirty": info.source.git_dirty,
    }
    return LineageNode(ref=NodeRef(kind=NodeKind.RUN, id=run_id), label=info.run_name, attributes=attributes)
