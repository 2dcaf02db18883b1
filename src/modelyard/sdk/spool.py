"""The metric spool: every accepted metric is on local disk before ``log_metric`` returns.

The background writer keeps metrics in memory until a batch is stored, so a process killed by
SIGKILL (the OOM killer, a preempted node, ``kill -9``) would lose the last second of values, or
far more when the store is slow. Each call that accepts metrics therefore appends them to a
spool file with one plain ``write()``: the bytes sit in the kernel's page cache, which outlives
the process (only a power cut or a kernel crash loses them). When a batch is stored, a ``D`` line
marks its records done. A clean exit deletes the file.

One file per writer (per process and store), named ``<pid>-<random>.spool`` in a folder per
store under ``$MODELYARD_HOME/spool/``. The owner holds an exclusive ``flock`` on it for its whole
life, so a file whose lock can be taken belongs to a dead process: ``replay`` (run when a store is
opened and by ``modelyard runs gc``) stores its records that are not marked done and deletes it.

Records are text lines, tab-separated (metric keys cannot hold tabs or newlines)::

    M <seq> <run id> <key> <value repr> <step> <timestamp ms>
    D <first seq> <last seq>

A record stored just before the process died but not yet marked done is found in the store
(same key, step, timestamp and value) and not stored twice.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import secrets
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from modelyard.domain.tracking import Metric
from modelyard.errors import Conflict, NotFound

log = logging.getLogger(__name__)

StoreMetrics = Callable[[str, Sequence[Metric]], None]
StoredHistory = Callable[[str, str], Sequence[Metric]]


def spool_dir(home: Path, store_uri: str) -> Path:
    """The folder holding the spools of the writers logging to ``store_uri``."""
    digest = hashlib.sha256(store_uri.encode()).hexdigest()[:16]
    return home / "spool" / digest


class MetricSpool:
    """The append-only file one writer spools to; opened on first use, locked while open."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._fd: int | None = None
        self._path: Path | None = None
        self._seq = 0

    @property
    def path(self) -> Path | None:
        return self._path

    def append(self, run_id: str, metrics: Sequence[Metric]) -> int:
        """Write ``metrics`` with one ``write()``; returns their sequence number."""
        fd = self._fd if self._fd is not None else self._open()
        self._seq += 1
        seq = self._seq
        if len(metrics) == 1:  # log_metric: the common case, without a generator and a join
            m = metrics[0]
            os.write(fd, f"M\t{seq}\t{run_id}\t{m.key}\t{m.value!r}\t{m.step}\t{m.timestamp}\n".encode())
            return seq
        os.write(
            fd,
            "".join(f"M\t{seq}\t{run_id}\t{m.key}\t{m.value!r}\t{m.step}\t{m.timestamp}\n" for m in metrics).encode(),
        )
        return seq

    def mark_done(self, seqs: Iterable[int]) -> None:
        """Record that the records ``seqs`` are stored (written as ranges of consecutive numbers)."""
        if self._fd is None:
            return
        lines = [f"D\t{first}\t{last}\n" for first, last in _ranges(seqs)]
        if lines:
            os.write(self._fd, "".join(lines).encode())

    def close(self, *, remove: bool) -> None:
        """Close the file; ``remove`` deletes it (everything in it is stored)."""
        fd, path = self._fd, self._path
        self._fd = self._path = None
        if fd is None or path is None:
            return
        if remove:
            path.unlink(missing_ok=True)
        os.close(fd)  # releases the lock

    def forget(self) -> None:
        """After fork: the child drops its copy of the parent's file (the parent keeps the lock)."""
        if self._fd is not None:
            os.close(self._fd)
        self._fd = self._path = None
        self._seq = 0

    def _open(self) -> int:
        self._folder.mkdir(parents=True, exist_ok=True)
        path = self._folder / f"{os.getpid()}-{secrets.token_hex(4)}.spool"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._fd, self._path = fd, path
        return fd


@dataclass(frozen=True)
class ReplayResult:
    """What ``replay`` did: metrics stored, spool files finished, metrics it had to give up on."""

    stored: int = 0
    files: int = 0
    dropped: int = 0


def replay(folder: Path, store: StoreMetrics, history: StoredHistory) -> ReplayResult:
    """Store what dead writers spooled but did not store, then delete their files.

    A file still locked belongs to a live process and is left alone; a file that cannot be fully
    stored (the store is down) is kept for the next replay. Records of a run that was deleted or
    removed since are dropped with a warning: there is nothing left to add them to.
    """
    if not folder.is_dir():
        return ReplayResult()
    stored = files = dropped = 0
    for path in sorted(folder.glob("*.spool")):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue  # another process finished it first
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its writer is alive
            try:
                if os.fstat(fd).st_ino != path.stat().st_ino:
                    continue
            except FileNotFoundError:
                continue  # replayed and deleted by another process while we waited
            with os.fdopen(os.dup(fd), "r", encoding="utf-8", errors="replace") as handle:
                pending = _unfinished(handle)
            try:
                for run_id, metrics in pending.items():
                    fresh = _not_yet_stored(run_id, metrics, history)
                    try:
                        store(run_id, fresh)
                        stored += len(fresh)
                    except (NotFound, Conflict) as exc:
                        log.warning("modelyard dropped %d spooled metrics of run %s: %s", len(fresh), run_id, exc)
                        dropped += len(fresh)
            except Exception as exc:
                log.warning("modelyard could not replay the metric spool %s yet (kept): %s", path, exc)
                continue
            path.unlink(missing_ok=True)
            files += 1
        finally:
            os.close(fd)
    return ReplayResult(stored=stored, files=files, dropped=dropped)


def _unfinished(lines: Iterable[str]) -> dict[str, list[Metric]]:
    records: dict[int, list[tuple[str, Metric]]] = {}
    done: list[tuple[int, int]] = []
    for line in lines:
        if not line.endswith("\n"):
            break  # a torn last line: its write() never returned, so nobody was told it was taken
        fields = line[:-1].split("\t")
        try:
            if fields[0] == "M" and len(fields) == 7:
                metric = Metric(key=fields[3], value=float(fields[4]), step=int(fields[5]), timestamp=int(fields[6]))
                records.setdefault(int(fields[1]), []).append((fields[2], metric))
            elif fields[0] == "D" and len(fields) == 3:
                done.append((int(fields[1]), int(fields[2])))
        except ValueError:
            log.warning("modelyard skipped an unreadable metric spool line: %r", line[:200])
    for first, last in done:
        for seq in range(first, last + 1):
            records.pop(seq, None)
    by_run: dict[str, list[Metric]] = {}
    for seq in sorted(records):
        for run_id, metric in records[seq]:
            by_run.setdefault(run_id, []).append(metric)
    return by_run


def _not_yet_stored(run_id: str, metrics: list[Metric], history: StoredHistory) -> list[Metric]:
    """``metrics`` minus those already in the store: a batch committed just before its writer
    died, before it could mark the batch done, must not be stored twice."""
    try:
        stored: Counter[tuple[str, int, int, str]] = Counter()
        for key in {m.key for m in metrics}:
            stored.update((m.key, m.step, m.timestamp, repr(m.value)) for m in history(run_id, key))
    except NotFound:
        return metrics
    fresh = []
    for m in metrics:
        ident = (m.key, m.step, m.timestamp, repr(m.value))
        if stored[ident] > 0:
            stored[ident] -= 1
        else:
            fresh.append(m)
    return fresh


def _ranges(seqs: Iterable[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for seq in sorted(set(seqs)):
        if out and seq == out[-1][1] + 1:
            out[-1] = (out[-1][0], seq)
        else:
            out.append((seq, seq))
    return out
