"""Database engine and sessions: SQLite (WAL, real transactions) by default, or PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

# Execution option of a connection that only reads: on SQLite its transaction is a plain
# (deferred) BEGIN, which takes no lock, instead of BEGIN IMMEDIATE (see `make_engine`).
READ_ONLY = {"bayescale_read_only": True}

# Seconds a request waits for a pooled connection before the API answers 503 (+ Retry-After).
POOL_TIMEOUT_S = 10.0


def make_engine(url: str, *, pool_size: int = 5) -> Engine:
    """Create an engine with ``pool_size`` connections (no overflow) and liveness checks.

    The API sizes the pool to the requests it lets run at once (`Settings.max_concurrent_requests`)
    so a burst queues in front of the pool instead of exhausting it; a connection the server
    dropped (PostgreSQL restart, idle timeout) is replaced by the pre-ping rather than failing.
    """
    pool = {"pool_size": pool_size, "max_overflow": 0, "pool_timeout": POOL_TIMEOUT_S}
    if url.startswith("sqlite"):
        return _sqlite_engine(url, pool)
    return create_engine(url, pool_pre_ping=True, **pool)


def _sqlite_engine(url: str, pool: dict[str, Any]) -> Engine:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, connect_args={"timeout": 30, "check_same_thread": False}, pool_pre_ping=True, **pool
    )

    # Real transactions, by SQLAlchemy's documented pysqlite recipe: sqlite3's legacy mode emits
    # no BEGIN before a SELECT or a SAVEPOINT, so `session.begin_nested()` opened the transaction
    # itself and its RELEASE committed everything so far (an idempotency batch without its rows
    # after a crash). Of the two documented fixes this one, not Python 3.12's `autocommit=False`,
    # because we choose the BEGIN: IMMEDIATE takes the write lock up front, so concurrent writers
    # queue on the busy timeout. A deferred transaction that read first and writes later fails at
    # once with SQLITE_BUSY when another writer committed in between (WAL snapshot), whatever the
    # timeout. Connections marked READ_ONLY keep a plain BEGIN and never wait for writers.
    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.isolation_level = None  # sqlite3 emits no BEGIN of its own
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: WAL is synced at every commit, so an acknowledged append survives a power cut as
        # well as a killed process (NORMAL, WAL's usual choice, may lose the last commits to it)
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(connection: Connection) -> None:
        read_only = connection.get_execution_options().get("bayescale_read_only", False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session
