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
import fcntl
import zlib
from pathlib import Path

from flask import Flask, g, has_app_context
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from .extensions import db

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA busy_timeout=5000",
    "PRAGMA foreign_keys=ON",
)
_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=False)


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


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, see module doc
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if wants_write() else "BEGIN")


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
