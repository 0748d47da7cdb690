"""The database as an embedded store: SQLite pragmas, explicit transactions, write locks.

SQLite (the default) runs in WAL mode with synchronous=FULL, so an acknowledged write survives a
power cut; busy_timeout lets concurrent writers wait instead of failing; foreign keys are on.
pysqlite's own transaction handling is switched off and we emit BEGIN ourselves. Every do_*
action starts with `begin_write()`: it ends the read transaction the view had open, and the
action's own transaction starts with BEGIN IMMEDIATE — the write lock is taken before the action
reads what it will change, so a read-then-write never fails half-way with SQLITE_BUSY, and
nothing slow (a password hash, an access check) runs while the lock is held. Reads use a plain
(deferred) BEGIN and never block writers in WAL mode.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import fcntl
import sqlite3
import threading
import zlib
from pathlib import Path

from flask import Flask, g, has_app_context
from sqlalchemy import event, exc, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from .extensions import db

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA busy_timeout=5000",
    "PRAGMA foreign_keys=ON",
    # what is deleted or overwritten is zeroed in the file, not left in free space: an erased
    # account's name, phone and e-mail are gone from the disk, not just from the tables
    "PRAGMA secure_delete=ON",
)
_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=False)


class WriteLockTimeout(Exception):
    """This process's writers queued longer than WRITE_LOCK_SECONDS: the server is too busy."""


# --- what went wrong with the storage -------------------------------------------------------------

_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG}
_READONLY_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM}


def storage_trouble(error: BaseException) -> str | None:
    """Why a write failed when it is the server's storage and not the request.

    "full" (the disk or a quota), "readonly" (a read-only or unwritable file system or
    database), "busy" (the database stayed locked), "unavailable" (the database can't be
    reached: PostgreSQL restarting, a file that can't be opened); None for anything else —
    that is a bug and stays a 500.
    """
    if isinstance(error, WriteLockTimeout | exc.TimeoutError):  # our queue, or the pool's
        return "busy"
    if isinstance(error, exc.DBAPIError):
        if error.connection_invalidated:
            return "unavailable"
        error = error.orig if error.orig is not None else error
    if isinstance(error, OSError):
        if error.errno in _FULL_ERRNOS:
            return "full"
        if error.errno in _READONLY_ERRNOS:
            return "readonly"
        return None
    sqlstate = getattr(error, "sqlstate", None)  # psycopg
    if sqlstate:
        if sqlstate.startswith("53"):  # insufficient resources: disk full, out of memory…
            return "full"
        if sqlstate == "25006":  # read-only transaction (a standby)
            return "readonly"
        if sqlstate.startswith(("08", "57P")):  # connection lost, server shutting down
            return "unavailable"
        if sqlstate == "55P03":  # lock not available
            return "busy"
        return None
    if type(error).__module__.startswith("psycopg") and type(error).__name__ in {
        "OperationalError",
        "InterfaceError",
    }:
        return "unavailable"  # no connection at all: no SQLSTATE to go by
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        if code is not None:  # SQLite said what it was: trust that alone
            return _SQLITE_CODES.get(code & 0xFF)
        return _SQLITE_MESSAGES.get(str(error).strip().lower())  # an error made by hand
    return None


_SQLITE_CODES = {
    sqlite3.SQLITE_FULL: "full",
    sqlite3.SQLITE_BUSY: "busy",
    sqlite3.SQLITE_LOCKED: "busy",
    sqlite3.SQLITE_READONLY: "readonly",
    sqlite3.SQLITE_CANTOPEN: "unavailable",
    sqlite3.SQLITE_IOERR: "unavailable",
}
_SQLITE_MESSAGES = {
    "database or disk is full": "full",
    "database is locked": "busy",
    "database table is locked": "busy",
    "attempt to write a readonly database": "readonly",
    "unable to open database file": "unavailable",
    "disk i/o error": "unavailable",
}


# --- one writer at a time in this process ---------------------------------------------------------
#
# SQLite lets one writer in at a time, and its busy handler polls: under eight writers some of
# them wait past busy_timeout and fail with "database is locked". Writers of one process therefore
# queue on a lock of their own, taken just before BEGIN IMMEDIATE and given back when the
# connection returns to the pool (for a session: right after its COMMIT or ROLLBACK).
# busy_timeout is left to settle the rare contention with another process (the CLI, a backup).
# Reads never take it. A connection used directly (`engine.connect()`, the migrations) keeps the
# turn until it is closed, across its commits. A waiting writer holds a pool connection, so the
# SQLite pool may overflow well past the number of threads (config.finish).

_process_write_lock = threading.Lock()
_turn_owner: int | None = None  # the thread holding the turn, to refuse waiting for itself
_LOCK_HELD = "sferum_write_lock"


def process_write_lock() -> threading.Lock:
    """The lock this process's SQLite writers queue on (live updates share it)."""
    return _process_write_lock


def _take_process_lock(connection) -> bool:
    """Queue for this process's write turn; False when this connection holds it already."""
    global _turn_owner
    if connection.info.get(_LOCK_HELD):
        return False
    if _turn_owner == threading.get_ident():
        # waiting would be waiting for ourselves: a second write connection in one thread
        raise RuntimeError("this thread already holds the write turn on another connection")
    seconds = 30.0
    if has_app_context():
        from flask import current_app

        seconds = float(current_app.config.get("WRITE_LOCK_SECONDS", seconds))
    if not _process_write_lock.acquire(timeout=seconds):
        raise WriteLockTimeout(f"no write turn within {seconds:.0f} s")
    _turn_owner = threading.get_ident()
    connection.info[_LOCK_HELD] = True
    return True


def _give_back_process_lock(info: dict) -> None:
    global _turn_owner
    if info.pop(_LOCK_HELD, False):
        _turn_owner = None
        _process_write_lock.release()


def wants_write() -> bool:
    return _write_intent.get() or (has_app_context() and g.get("_sferum_writing", False))


def begin_write(lock: str | None = None) -> None:
    """Start an action's write transaction (see the module's doc).

    What the view loaded is reloaded under the lock when the action touches it, so the action
    sees the current state. `lock` names a PostgreSQL advisory lock to take as well, for
    check-then-insert sequences (SQLite's write lock already serialises them).
    """
    if not wants_write():
        if db.session().in_transaction():
            db.session.commit()  # the view's reads; views never write
        g._sferum_writing = True
    if lock:
        lock_for_write(lock)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _end_write(_session) -> None:
    """The action's transaction is over: what follows reads again, without the lock."""
    if has_app_context():
        g.pop("_sferum_writing", None)


@contextlib.contextmanager
def writing():
    """Outside a request (CLI): make the next transactions BEGIN IMMEDIATE."""
    token = _write_intent.set(True)
    try:
        yield
    finally:
        _write_intent.reset(token)


def is_sqlite(engine: Engine | None = None) -> bool:
    engine = engine or db.engine
    return engine.dialect.name == "sqlite"


def configure_engine(engine: Engine, busy_timeout_ms: int = 5000) -> None:
    if engine.dialect.name != "sqlite":
        return
    pragmas = [
        f"PRAGMA busy_timeout={int(busy_timeout_ms)}" if p.startswith("PRAGMA busy_timeout") else p
        for p in SQLITE_PRAGMAS
    ]

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, see module doc
        cursor = dbapi_connection.cursor()
        for pragma in pragmas:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        if not wants_write():
            connection.exec_driver_sql("BEGIN")
            return
        took = _take_process_lock(connection)
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if took:
                _give_back_process_lock(connection.info)
            raise

    @event.listens_for(engine.pool, "checkin")
    def _on_checkin(_dbapi_connection, record):
        # The turn is given back when the connection goes back to the pool: a session does so
        # right after its COMMIT or ROLLBACK, and so does a connection whose transaction was
        # ended by an error or an invalidation — the turn is never leaked.
        if record is not None:
            _give_back_process_lock(record.info)


def lock_for_write(name: str) -> None:
    """Serialise writers on `name` until the end of the current transaction.

    SQLite needs nothing: a writing transaction already holds the database's write lock.
    PostgreSQL takes a transaction-scoped advisory lock.
    """
    if is_sqlite():
        return
    key = zlib.crc32(name.encode())
    db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def render_item(type_, obj, autogen_context):
    """Migrations spell our column types in plain SQLAlchemy, so they never import app code."""
    from .models import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False


def upgrade_database(app: Flask) -> None:
    """Create or upgrade the schema to the newest migration, once, whatever the workers."""
    from flask_migrate import upgrade

    lock_path = Path(app.instance_path) / ".migrate.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with app.app_context(), open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if is_sqlite():
                upgrade()
            else:
                with db.engine.connect() as conn:
                    conn.execute(text("SELECT pg_advisory_lock(815)"))
                    try:
                        upgrade()
                    finally:
                        conn.execute(text("SELECT pg_advisory_unlock(815)"))
                        conn.commit()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
        db.session.remove()
