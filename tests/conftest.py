"""The app, its database, the personas and a signed-in client for each.

The tests run on SQLite by default. Set SFERUM_TEST_DATABASE_URL to a PostgreSQL URL
(postgresql+psycopg://user@127.0.0.1:5432/db) to run the same suite on PostgreSQL — `.ci/run`
does both. The schema is built once per session by the real migrations; every test starts
from empty tables.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

import pytest
from flask import has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import select

from sferum_lite import create_app
from sferum_lite.extensions import db, limiter

from . import factories as f

TEST_DATABASE_URL = os.environ.get("SFERUM_TEST_DATABASE_URL", "")
PERSONAS = (
    "anonymous",
    "parent",
    "other_group_parent",
    "educator",
    "other_educator",
    "admin",
    "director",
)


def app_config(database_url: str, **overrides) -> dict:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "AUTO_MIGRATE": False,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "BASE_URL": "https://sad7.example",
        "UPLOAD_FOLDER": os.path.join(tempfile.gettempdir(), f"sferum-test-uploads-{os.getpid()}"),
        "LIVE_STREAM_SECONDS": 5,
        "LIVE_HEARTBEAT_SECONDS": 0.2,
        "ARGON2_PARAMS": {"time_cost": 1, "memory_cost": 1024, "parallelism": 1},
    }
    config.update(overrides)
    return config


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if TEST_DATABASE_URL:
        return TEST_DATABASE_URL
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3")


@pytest.fixture(scope="session")
def schema(database_url):
    app = create_app(app_config(database_url))
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            tables = conn.dialect.get_table_names(conn)
            for table in tables:
                quoted = conn.dialect.identifier_preparer.quote(table)
                suffix = " CASCADE" if conn.dialect.name == "postgresql" else ""
                if conn.dialect.name == "sqlite":
                    conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {quoted}{suffix}")
        upgrade()
        db.engine.dispose()
    return database_url


# tables whose rows the database itself refuses to DELETE (migration 0007)
APPEND_ONLY = ("moderation_log",)


def empty_tables() -> None:
    """DELETE, child tables first: on tables this small it is much faster than TRUNCATE."""
    db.session.remove()
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            if table.name in APPEND_ONLY:
                _empty_append_only(conn, table)
            else:
                conn.execute(table.delete())


def _empty_append_only(conn, table) -> None:
    """Between tests only: its DELETE triggers are set aside and put back in the same
    transaction, so no other connection ever sees the log without them."""
    if conn.execute(select(table.c.id).limit(1)).first() is None:
        return
    name = conn.dialect.identifier_preparer.quote(table.name)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"ALTER TABLE {name} DISABLE TRIGGER USER")
        conn.execute(table.delete())
        conn.exec_driver_sql(f"ALTER TABLE {name} ENABLE TRIGGER USER")
        return
    triggers = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? "
        "AND upper(sql) LIKE '%BEFORE DELETE%'",
        (table.name,),
    ).all()
    for trigger, _sql in triggers:
        conn.exec_driver_sql(f"DROP TRIGGER {conn.dialect.identifier_preparer.quote(trigger)}")
    conn.execute(table.delete())
    for _trigger, sql in triggers:
        conn.exec_driver_sql(sql)


class Client(FlaskClient):
    """A test client that keeps the test's own database session in step with the app's.

    The test body runs in an app context of a second app object on the same database, so the
    requests get app contexts (and `g`, and Flask-Login's user) of their own, as in production.
    Before and after each request the test side commits, ending its transaction: it then sees
    what the request wrote, and the request sees what the test wrote.
    """

    def open(self, *args, **kwargs):
        _sync_test_session()
        response = super().open(*args, **kwargs)
        _sync_test_session()
        return response


def _sync_test_session() -> None:
    if has_app_context():
        db.session.commit()


@pytest.fixture(scope="session")
def _apps(schema):
    """Two long-lived apps on the test database: one serves requests, one runs test bodies.

    Building an app compiles its URL map and templates, which is most of a test's time; the
    apps carry no state between tests but the set-up flag, reset by the `app` fixture.
    """
    apps = []
    for _ in range(2):
        app = create_app(app_config(schema))
        app.test_client_class = Client
        apps.append(app)
    yield apps
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def make_app(schema, _apps):
    """A factory for apps with their own settings, on the test database."""
    made = []

    def make(**overrides):
        app = create_app(app_config(schema, **overrides))
        app.test_client_class = Client
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(autouse=True)
def _empty_database(_apps):
    """Every test starts from empty tables, with rate limits off.

    The limiter is one object shared by every app in the process, and each app's set-up sets its
    on/off switch: a test that wants limits makes its app with RATELIMIT_ENABLED=True.
    """
    limiter.enabled = False
    yield
    with _apps[1].app_context():
        empty_tables()


@pytest.fixture
def app(_apps):
    """The app under test: it serves the requests."""
    web = _apps[0]
    web.extensions["sferum"]["set_up"] = False
    return web


@pytest.fixture
def db_ctx(_apps):
    """An app context for the test body (factories, queries, assertions) — see Client."""
    with _apps[1].app_context():
        yield
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


def sign_in(client, user, password: str = f.PASSWORD):
    response = client.post("/login", data={"login": user.login, "password": password})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return client


@dataclass
class World:
    """One kindergarten with two groups and a person for every persona."""

    kindergarten: object
    director: object
    admin: object
    educator: object
    other_educator: object
    parent: object
    other_group_parent: object
    group: object
    other_group: object
    child: object
    other_child: object

    def persona(self, name):
        return None if name == "anonymous" else getattr(self, name)


@pytest.fixture
def world(db_ctx) -> World:
    kindergarten = f.make_kindergarten()
    director = f.director_of(kindergarten)
    admin = f.make_staff(kindergarten, "Елена Кузнецова", position="zamestitel", admin=True)
    group = f.make_group(kindergarten, "Солнышко")
    other_group = f.make_group(kindergarten, "Капелька")
    educator = f.make_staff(kindergarten, "Анна Павлова", groups=[group])
    other_educator = f.make_staff(kindergarten, "Марина Волкова", groups=[other_group])
    child = f.make_child(group, "Петров", "Артём")
    other_child = f.make_child(other_group, "Соколова", "Ева")
    parent = f.make_parent(
        kindergarten, "Екатерина Петрова", children=[child], email="katya@example.ru"
    )
    other_group_parent = f.make_parent(kindergarten, "Ирина Соколова", children=[other_child])
    return World(
        kindergarten,
        director,
        admin,
        educator,
        other_educator,
        parent,
        other_group_parent,
        group,
        other_group,
        child,
        other_child,
    )


@pytest.fixture
def as_user(app):
    """as_user(user) -> a test client signed in as that user (a new client each call)."""

    def make(user):
        client = app.test_client()
        return sign_in(client, user) if user is not None else client

    return make


@pytest.fixture
def director_client(world, as_user):
    return as_user(world.director)


@pytest.fixture
def admin_client(world, as_user):
    return as_user(world.admin)
