"""The metadata database: one engine per process, transactions that behave the same on SQLite
and PostgreSQL.

SQLite is tuned for several processes logging into one file at once: WAL (readers never block the
writer), a busy timeout (writers queue instead of failing), and write transactions opened with
``BEGIN IMMEDIATE`` so a reader that later writes cannot deadlock into ``database is locked``.
The switch to WAL of a brand-new file is not covered by the busy timeout, so it is made under the
file lock the migrations take (``sqlite_file_lock``): several processes may open a new store at once.

PostgreSQL connections are checked before use only when they sat idle in the pool for a while
(``_ping_when_idle``): SQLAlchemy's ``pool_pre_ping`` pings on every checkout, one round trip more
per transaction, and a run's creation takes several transactions.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError, NoSuchModuleError, OperationalError

from modelyard.errors import BackendUnavailable, InvalidInput, NotFound

SQLITE_BUSY_TIMEOUT_S = 60.0
SQLITE_LOCK_TIMEOUT_S = 300.0
PING_AFTER_IDLE_S = 5.0  # a pooled PostgreSQL connection idle longer is pinged before reuse


def sqlite_file_lock(database: str) -> FileLock:
    """The lock beside a SQLite store, taken to create its schema and to switch it to WAL; one
    instance per file in a process, so a thread holding it (migrating) can open connections."""
    path = str(Path(database).expanduser()) + ".migrate.lock"
    return FileLock(path, timeout=SQLITE_LOCK_TIMEOUT_S, is_singleton=True)


_BEGIN_OPTION = "modelyard_sqlite_begin"
AFTER_COMMIT = "modelyard_after_commit"


def after_commit(conn: Connection, key: str, hook: Callable[[], None]) -> None:
    """Run ``hook`` once the ``Database.begin`` transaction of ``conn`` commits; a later hook
    registered under the same ``key`` in that transaction replaces the earlier one."""
    conn.info.setdefault(AFTER_COMMIT, {})[key] = hook


def missing_store(safe_url: str) -> NotFound:
    """The error for a store location that holds no modelyard store."""
    return NotFound(
        f"no modelyard store at {safe_url}: check MODELYARD_HOME / MODELYARD_STORE_URI (commands that "
        "write, such as `modelyard experiments create NAME` or `modelyard db upgrade`, create one)"
    )


class Database:
    """A SQLAlchemy engine plus the two kinds of transaction the services use."""

    def __init__(self, url: str, *, pool_size: int = 5, create: bool = True) -> None:
        """``create=False`` refuses a SQLite file that does not exist (``NotFound``) instead of
        making it and its folders: read-only commands must not turn a typo into a new store."""
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise InvalidInput(f"not a database URL: {url!r}") from exc
        self.url = url
        self.dialect = parsed.get_backend_name()
        kwargs: dict[str, Any] = {}
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                path = Path(parsed.database).expanduser()
                if not create and not path.is_file():
                    raise missing_store(parsed.render_as_string(hide_password=True))
                path.parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}
        elif self.dialect == "postgresql":
            kwargs.update(pool_size=pool_size, max_overflow=10)
        else:
            raise InvalidInput(f"unsupported store {self.dialect!r}: use sqlite:/// or postgresql+psycopg://")
        try:
            self.engine: Engine = create_engine(url, **kwargs)
        except NoSuchModuleError as exc:
            raise InvalidInput(f"no driver for {url!r}: {exc}") from exc
        except ModuleNotFoundError as exc:
            raise BackendUnavailable(
                f"the driver for {self.dialect} is not installed ({exc.name}); "
                "install modelyard[postgres] for PostgreSQL"
            ) from exc
        if self.dialect == "sqlite":
            _tune_sqlite(self.engine, parsed.database)
        else:
            _ping_when_idle(self.engine)
        # A forked child must not reuse the parent's sockets or file handles.
        os.register_at_fork(after_in_child=lambda: self.engine.dispose(close=False))

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A write transaction: committed on success, rolled back on any exception.

        Hooks the transaction registered with ``after_commit`` run once it has committed (never
        after a rollback): the audit trail checkpoints its new head that way.
        """
        with self.connect() as conn:
            try:
                with conn.begin():
                    yield conn
            finally:
                hooks: dict[str, Callable[[], None]] = conn.info.pop(AFTER_COMMIT, None) or {}
        for hook in hooks.values():
            hook()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction; on SQLite it takes no write lock, so it never waits for writers."""
        with self.connect() as conn:
            conn = conn.execution_options(**{_BEGIN_OPTION: "BEGIN"})
            with conn.begin():
                yield conn

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A bare connection (no transaction begun), for callers that manage their own, such as
        migrations; an unreachable store is ``BackendUnavailable``, never a driver traceback."""
        try:
            conn = self.engine.connect()
        except OperationalError as exc:
            raise BackendUnavailable(f"cannot connect to the store {self.safe_url}: {exc.orig}") from exc
        with conn:
            yield conn

    @property
    def safe_url(self) -> str:
        """The URL with any password hidden, for messages."""
        return make_url(self.url).render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()


def _tune_sqlite(engine: Engine, database: str | None) -> None:
    on_disk = bool(database) and database != ":memory:"

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own handling is broken).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        if on_disk and cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            # WAL is stored in the file: only its first opener switches it, one process at a time.
            with sqlite_file_lock(str(database)):
                cursor.execute("PRAGMA journal_mode = WAL")
        elif not on_disk:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get(_BEGIN_OPTION, "BEGIN IMMEDIATE"))


_CHECKED_IN = "modelyard_checked_in"


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use when it is closed or sat idle over ``PING_AFTER_IDLE_S``
    (a server restart or an idle timeout may have dropped it); a dead one is replaced, as
    ``pool_pre_ping`` would, without a round trip for the connections in steady use."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info[_CHECKED_IN] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if dbapi_conn.closed or dbapi_conn.broken:
            raise DisconnectionError("the connection was closed")
        checked_in = record.info.get(_CHECKED_IN)
        if checked_in is None or time.monotonic() - checked_in < PING_AFTER_IDLE_S:
            return  # new, or used moments ago
        try:
            dbapi_conn.execute("SELECT 1")
            dbapi_conn.rollback()
        except Exception as exc:  # any failure: let the pool open a fresh connection
            raise DisconnectionError(str(exc)) from exc
