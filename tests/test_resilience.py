"""A busy, restarting or half-broken server: writers wait their turn instead of failing, a
dropped database connection is found out before use, error pages are drawn without the database,
the rate limiter survives its storage going away, and a start on a read-only disk says so."""

from __future__ import annotations

import errno
import logging
import sqlite3
import threading
import time
from collections import Counter

import pytest
from sqlalchemy import exc, func, select, text

from sferum_lite import create_app, database
from sferum_lite.database import WriteLockTimeout, storage_trouble
from sferum_lite.extensions import db
from sferum_lite.models import Message

from . import factories as f
from .conftest import TEST_DATABASE_URL, app_config, sign_in

sqlite_only = pytest.mark.skipif(
    TEST_DATABASE_URL.startswith("postgresql"), reason="SQLite's write lock"
)
postgresql_only = pytest.mark.skipif(
    not TEST_DATABASE_URL.startswith("postgresql"), reason="PostgreSQL behaviour"
)


def message_count(chat_id: int) -> int:
    db.session.commit()
    return db.session.scalar(select(func.count()).where(Message.chat_id == chat_id))


# --- what counts as trouble with the storage -----------------------------------------------------


def _wrapped(orig: BaseException) -> exc.OperationalError:
    return exc.OperationalError("INSERT …", {}, orig)


@pytest.mark.parametrize(
    ("error", "trouble"),
    [
        (_wrapped(sqlite3.OperationalError("database or disk is full")), "full"),
        (_wrapped(sqlite3.OperationalError("database is locked")), "busy"),
        (_wrapped(sqlite3.OperationalError("attempt to write a readonly database")), "readonly"),
        (_wrapped(sqlite3.OperationalError("unable to open database file")), "unavailable"),
        (OSError(errno.ENOSPC, "No space left on device"), "full"),
        (OSError(errno.EDQUOT, "Disk quota exceeded"), "full"),
        (OSError(errno.EROFS, "Read-only file system"), "readonly"),
        (PermissionError(errno.EACCES, "Permission denied"), "readonly"),
        (WriteLockTimeout("no write turn"), "busy"),
        (exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached"), "busy"),
        (_wrapped(sqlite3.OperationalError("no such table: message")), None),
        (_wrapped(sqlite3.IntegrityError("UNIQUE constraint failed")), None),
        (OSError(errno.ENOENT, "No such file"), None),
        (ValueError("a bug"), None),
    ],
)
def test_storage_trouble_names_what_failed_and_leaves_bugs_alone(error, trouble):
    assert storage_trouble(error) == trouble


def test_storage_trouble_trusts_sqlites_own_error_codes(tmp_path):
    """Errors as SQLite raises them carry a code: only the code counts, so a table or column
    whose name says "locked" is a bug (500), not a busy server."""
    path = str(tmp_path / "codes.sqlite3")
    setup = sqlite3.connect(path, isolation_level=None)
    setup.execute("CREATE TABLE blocked_member (locked INTEGER)")
    with pytest.raises(sqlite3.OperationalError) as no_column:
        setup.execute("SELECT is_locked FROM blocked_member")
    assert "locked" in str(no_column.value) and storage_trouble(no_column.value) is None
    with pytest.raises(sqlite3.OperationalError) as no_table:
        setup.execute("SELECT * FROM locked_rows")
    assert storage_trouble(_wrapped(no_table.value)) is None
    setup.execute("BEGIN IMMEDIATE")
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    with pytest.raises(sqlite3.OperationalError) as locked:
        other.execute("BEGIN IMMEDIATE")
    assert storage_trouble(_wrapped(locked.value)) == "busy"
    setup.execute("ROLLBACK")
    read_only = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError) as readonly:
        read_only.execute("INSERT INTO blocked_member VALUES (1)")
    assert storage_trouble(_wrapped(readonly.value)) == "readonly"
    with pytest.raises(sqlite3.OperationalError) as cannot_open:
        sqlite3.connect(str(tmp_path / "no-such-folder" / "x.sqlite3")).execute("SELECT 1")
    assert storage_trouble(cannot_open.value) == "unavailable"
    for connection in (setup, other, read_only):
        connection.close()


def test_storage_trouble_reads_postgresql_states():
    psycopg = pytest.importorskip("psycopg")
    disk_full = psycopg.errors.DiskFull("could not extend file")
    assert storage_trouble(_wrapped(disk_full)) == "full"
    gone = psycopg.errors.AdminShutdown("terminating connection due to administrator command")
    assert storage_trouble(_wrapped(gone)) == "unavailable"
    refused = psycopg.OperationalError("connection failed: Connection refused")
    assert storage_trouble(_wrapped(refused)) == "unavailable"
    assert storage_trouble(_wrapped(psycopg.errors.UniqueViolation("dup"))) is None


# --- eight writers in one process -----------------------------------------------------------------

WRITERS = 8
POSTS = 100


def test_eight_writers_posting_at_once_all_get_through(make_app, world, db_ctx):
    """SQLite's busy handler polls and starves some writers past busy_timeout ("database is
    locked", a 500); writers of one process queue on a lock instead, so SQLite's own wait is
    never needed between them — even with it cut to 10 ms here. 8 × 100 posts, no error."""
    app = make_app(SQLITE_BUSY_TIMEOUT_MS=10)
    parents = [
        f.make_parent(world.kindergarten, f"Родитель {n}", children=[world.child])
        for n in range(WRITERS)
    ]
    chat = f.make_chat(world.kindergarten, world.educator, group=world.group, members=parents)
    clients = [sign_in(app.test_client(), parent) for parent in parents]
    url = f"/chats/{chat.id}/messages"
    statuses: Counter = Counter()
    start = threading.Barrier(WRITERS)

    def write(client, n):
        start.wait()
        for i in range(POSTS):
            response = client.post(url, data={"text": f"{n}-{i}"})
            statuses[response.status_code] += 1

    threads = [threading.Thread(target=write, args=(c, n)) for n, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == Counter({303: WRITERS * POSTS})
    assert message_count(chat.id) == WRITERS * POSTS


@sqlite_only
def test_a_write_waits_for_its_turn_and_a_long_wait_is_a_503_with_the_text_kept(
    make_app, world, db_ctx, caplog
):
    """While another writer of the process holds the turn longer than WRITE_LOCK_SECONDS, the
    post answers «сервер занят» (503) — not a 500 — and nothing is saved."""
    app = make_app(WRITE_LOCK_SECONDS=0.2)
    chat = f.make_chat(
        world.kindergarten, world.educator, group=world.group, members=[world.parent]
    )
    client = app.test_client()
    client.post("/login", data={"login": world.parent.login, "password": f.PASSWORD})
    lock = database.process_write_lock()
    assert lock.acquire(timeout=5)
    try:
        with caplog.at_level(logging.ERROR):
            response = client.post(f"/chats/{chat.id}/messages", data={"text": "Тихий час"})
    finally:
        lock.release()
    assert response.status_code == 503
    assert "занят" in response.get_data(as_text=True)
    assert message_count(chat.id) == 0
    assert any("busy" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)
    assert "Тихий час" not in caplog.text
    # the turn is free again: the next post goes through
    response = client.post(f"/chats/{chat.id}/messages", data={"text": "Тихий час"})
    assert response.status_code == 303 and message_count(chat.id) == 1


@sqlite_only
def test_the_write_turn_is_given_back_whatever_ends_the_transaction(
    app, world, as_user, monkeypatch
):
    """A committed action, one refused under the lock (rolled back), one whose commit fails
    (503) and one that meets a bug (500) each hand the turn back: the lock is free after every
    request, and the next post goes through."""
    from sferum_lite.actions import ActionError
    from sferum_lite.actions import messages as actions

    chat = f.make_chat(
        world.kindergarten, world.educator, group=world.group, members=[world.parent]
    )
    client = as_user(world.parent)
    url = f"/chats/{chat.id}/messages"
    lock = database.process_write_lock()

    assert client.post(url, data={"text": "Привет"}).status_code == 303
    assert not lock.locked()

    def refuse(*_args):
        raise ActionError("Вы заблокированы в этом чате: писать в него пока нельзя.")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(actions, "_not_blocked", refuse)
        assert client.post(url, data={"text": "Нельзя"}).status_code == 422
    assert not lock.locked()

    def full(*_args, **_kwargs):
        raise _wrapped(sqlite3.OperationalError("database or disk is full"))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(actions, "bump", full)
        assert client.post(url, data={"text": "Места нет"}).status_code == 503
    assert not lock.locked()

    def bug(*_args, **_kwargs):
        raise ZeroDivisionError("a bug after BEGIN IMMEDIATE")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(actions, "bump", bug)
        with pytest.raises(ZeroDivisionError):  # TESTING: the 500's exception reaches the test
            client.post(url, data={"text": "Ошибка"})
    assert not lock.locked()

    assert client.post(url, data={"text": "Снова можно"}).status_code == 303


@sqlite_only
def test_a_second_write_connection_in_the_thread_holding_the_turn_fails_at_once(db_ctx):
    """Waiting for the turn it holds itself would be a 30-second hang and a «сервер занят»:
    a thread that opens a second write transaction while it holds the turn is told at once."""
    with database.writing():
        with db.engine.connect() as first:
            first.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: the turn is this thread's
            with db.engine.connect() as second, pytest.raises(RuntimeError, match="already"):
                second.execute(text("SELECT 1"))
    assert not database.process_write_lock().locked()


# --- the database goes away and comes back --------------------------------------------------------


@postgresql_only
def test_connections_dropped_by_a_postgresql_restart_are_replaced_before_use(
    app, world, as_user, db_ctx
):
    """A restart closes every connection the pool holds; each is checked before use, so the
    first requests after it are answered as usual instead of with a 500 each."""
    client = as_user(world.parent)
    for _ in range(3):
        assert client.get("/").status_code == 200
    with db.engine.connect() as connection:  # the test side's own engine: a separate pool
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        connection.commit()
    db.session.remove()
    db.engine.dispose()  # the test side's pool lost its connections too
    time.sleep(0.5)  # the backends end a moment after they are told to
    answers = [client.get("/").status_code for _ in range(8)]
    assert answers == [200] * 8


@pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"}])
def test_with_the_database_away_the_error_page_is_drawn_without_it(tmp_path, headers, caplog):
    """No database to reach (PostgreSQL down, an SQLite file that can't be opened): a 503 page in
    Russian, with its frame, not a bare «Internal Server Error»."""
    if TEST_DATABASE_URL.startswith("postgresql"):
        url = "postgresql+psycopg://sferum@127.0.0.1:1/nowhere?connect_timeout=2"
    else:
        url = "sqlite:///" + str(tmp_path / "missing-folder" / "sferum.sqlite3")
    app = create_app(app_config(url), instance_path=str(tmp_path))
    client = app.test_client()
    with caplog.at_level(logging.ERROR):
        response = client.get("/login", headers=headers)
    body = response.get_data(as_text=True)
    assert response.status_code == 503
    assert (
        "<html" in body
        and "Сервер недоступен" in body
        and "попробуйте ещё раз через минуту" in body
    )
    assert response.headers["Retry-After"] == "30"
    assert any("storage unavailable" in r.getMessage() for r in caplog.records)
    with app.app_context():
        db.engine.dispose()


def test_a_storage_failure_logs_no_invite_token(tmp_path, caplog):
    """The log line names the endpoint, not the path: an invite link's path is its secret."""
    url = "sqlite:///" + str(tmp_path / "missing-folder" / "sferum.sqlite3")
    app = create_app(app_config(url), instance_path=str(tmp_path))
    token = "Zk3vQw8secretTOKENvalue0123456789abcdefABCD"
    with caplog.at_level(logging.INFO):
        response = app.test_client().get(f"/i/{token}")
    assert response.status_code == 503
    assert "storage unavailable" in caplog.text and token not in caplog.text
    with app.app_context():
        db.engine.dispose()


# --- the rate limiter's storage goes away ---------------------------------------------------------


def test_sign_in_works_with_the_rate_limit_storage_away_and_limits_still_count(
    make_app, world, caplog
):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    client = app.test_client()
    with caplog.at_level(logging.WARNING):
        response = client.post("/login", data={"login": world.parent.login, "password": f.PASSWORD})
    assert response.status_code == 303
    assert "falling back to in-memory storage" in caplog.text
    # the address limit (30 sign-ins a minute) is counted in memory meanwhile
    answers = [
        app.test_client().post("/login", data={"login": "x@example.ru", "password": "нет"})
        for _ in range(31)
    ]
    assert answers[-1].status_code == 429


# --- a start on a read-only disk ------------------------------------------------------------------


def test_a_start_on_a_read_only_disk_says_so_in_one_line(tmp_path, monkeypatch, capsys):
    from sferum_lite import StartupError, load_app

    def read_only(*_args, **_kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(tmp_path / "secret_key"))

    monkeypatch.setattr("sferum_lite.config.secret_key_from_instance", read_only)
    with pytest.raises(StartupError) as refused:
        create_app({"AUTO_MIGRATE": False}, instance_path=str(tmp_path))
    assert "\n" not in str(refused.value)
    assert "Read-only file system" in str(refused.value) and "secret_key" in str(refused.value)
    with pytest.raises(SystemExit) as stopped:
        load_app(test_config={"AUTO_MIGRATE": False}, instance_path=str(tmp_path))
    assert stopped.value.code == 4  # gunicorn stops instead of starting workers again
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
