"""Experiment tracking records: experiments, runs and what is logged to them.

Names follow MLflow's entities (``Run.info``, ``Run.data.metrics``) so code moving over reads the
same; the values are plain Python, never ORM rows.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


class RunStatus(enum.StrEnum):
    """Where a run is in its life. Only RUNNING may change; the others are final."""

    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @property
    def is_terminal(self) -> bool:
        return self is not RunStatus.RUNNING


class LifecycleStage(enum.StrEnum):
    """Soft deletion: deleted things are hidden from listings and can be restored."""

    ACTIVE = "active"
    DELETED = "deleted"


@dataclass(frozen=True, kw_only=True)
class Experiment:
    """A named group of runs."""

    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: LifecycleStage
    creation_time: int
    last_update_time: int
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class SourceInfo:
    """The code a run came from: the entry point and, inside a git checkout, the commit."""

    name: str | None = None
    git_commit: str | None = None
    git_dirty: bool | None = None


@dataclass(frozen=True, kw_only=True)
class RunInfo:
    """A run's attributes: everything about it that is not logged data."""

    run_id: str
    experiment_id: str
    run_name: str
    user: str
    status: RunStatus
    start_time: int
    end_time: int | None
    lifecycle_stage: LifecycleStage
    artifact_uri: str
    parent_run_id: str | None = None
    source: SourceInfo = field(default_factory=SourceInfo)
    environment_digest: str | None = None
    heartbeat_time: int | None = None

    @property
    def run_uuid(self) -> str:
        """MLflow's older name for ``run_id``."""
        return self.run_id


@dataclass(frozen=True, kw_only=True)
class Metric:
    """One measurement: a value at a step and a time. ``value`` may be NaN or infinite."""

    key: str
    value: float
    timestamp: int
    step: int = 0


@dataclass(frozen=True, kw_only=True)
class Param:
    """A hyper-parameter; written once per run, never changed."""

    key: str
    value: str


@dataclass(frozen=True, kw_only=True)
class RunTag:
    """A mutable label on a run."""

    key: str
    value: str


@dataclass(frozen=True, kw_only=True)
class RunData:
    """What was logged: the latest value of each metric, all params, all tags."""

    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Run:
    """A run: its attributes and what was logged to it."""

    info: RunInfo
    data: RunData = field(default_factory=RunData)


@dataclass(frozen=True, kw_only=True)
class RunColumns:
    """Runs as columns, what a DataFrame of tens of thousands of runs is built from: each run's own
    fields in ``infos`` (row order), and for each ``metrics.``/``params.``/``tags.`` column the rows
    holding a value and those values, as two sequences (numpy arrays when read in bulk): no object
    per value, where a ``Run`` per row cost more than the database's work."""

    infos: list[RunInfo]
    columns: dict[str, tuple[Any, Any]]  # column name -> (0-based rows, values)

    @classmethod
    def from_runs(cls, runs: Sequence[Run]) -> RunColumns:
        columns: dict[str, tuple[list[int], list[Any]]] = {}
        for row, run in enumerate(runs):
            data = run.data
            for prefix, logged in (("metrics.", data.metrics), ("params.", data.params), ("tags.", data.tags)):
                for key, value in logged.items():
                    rows, values = columns.setdefault(prefix + key, ([], []))
                    rows.append(row)
                    values.append(value)
        return cls(infos=[r.info for r in runs], columns=dict(columns))


@dataclass(frozen=True, kw_only=True)
class FileInfo:
    """An entry among a run's artifacts; ``path`` is relative to the run's artifact root."""

    path: str
    is_dir: bool
    file_size: int | None = None


class PagedList(Sequence[T], Generic[T]):
    """A page of results and the token that fetches the next one (``None`` on the last page)."""

    def __init__(self, items: Sequence[T], token: str | None) -> None:
        self._items = list(items)
        self.token = token

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[T]:
        return iter(self._items)

    def __repr__(self) -> str:
        return f"PagedList({self._items!r}, token={self.token!r})"


@dataclass(frozen=True, kw_only=True)
class Environment:
    """The software a run ran on; ``digest`` is the SHA-256 of the rest, so equal ones are stored once."""

    digest: str
    python_version: str
    platform: str
    packages: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class KeptRun:
    """A deleted run a purge left in place, and why (a model version came from it, ...)."""

    run_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class PurgeReport:
    """What purging deleted runs removed (or, dry, would remove).

    ``rows_removed`` counts rows per table; ``artifact_bytes`` the size of the run folders removed;
    ``artifact_errors`` names runs whose rows are gone but whose folder could not be removed
    (their files are orphans a later look can clear by hand).
    """

    purged: list[str] = field(default_factory=list)
    kept: list[KeptRun] = field(default_factory=list)
    rows_removed: dict[str, int] = field(default_factory=dict)
    artifact_bytes: int = 0
    artifact_errors: list[str] = field(default_factory=list)
    dry_run: bool = False
