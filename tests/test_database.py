"""The database: SQLite pragmas and write locks, migrations that match the models, first start."""

from __future__ import annotations

import sqlite3
import stat

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, select, text

from sferum_lite import create_app
from sferum_lite.database import begin_write, render_item
from sferum_lite.extensions import db

from . import factories as f
from .conftest import TEST_DATABASE_URL, app_config

sqlite_only = pytest.mark.skipif(
    TEST_DATABASE_URL.startswith("postgresql"), reason="SQLite behaviour"
)


def schema_differences(connection) -> list:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "render_item": render_item}
    )
    return [
        diff
        for diff in compare_metadata(context, db.metadata)
        if not (
            isinstance(diff, tuple)
            and diff[0] == "remove_table"
            and diff[1].name == "alembic_version"
        )
    ]


def test_the_test_database_was_built_by_the_migrations_and_matches_the_models(db_ctx):
    with db.engine.connect() as connection:
        assert schema_differences(connection) == []
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def test_an_empty_database_upgrades_to_head_and_back(tmp_path):
    url = "sqlite:///" + str(tmp_path / "fresh.sqlite3")
    app = create_app(app_config(url), instance_path=str(tmp_path))
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            assert schema_differences(connection) == []
        downgrade(revision="base")
        assert inspect(db.engine).get_table_names() == ["alembic_version"]
        upgrade()
        assert "child" in inspect(db.engine).get_table_names()
        db.engine.dispose()


def test_0005_types_audit_rows_about_current_user_as_a_user(tmp_path):
    """Before `record` unwrapped current_user, a row about the signed-in person (a rename)
    was typed "localproxy"; the migration makes it a row about a user, so the person's
    deletion finds it."""
    url = "sqlite:///" + str(tmp_path / "old.sqlite3")
    app = create_app(app_config(url), instance_path=str(tmp_path))
    with app.app_context():
        upgrade(revision="0004")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO kindergarten (id, name, timezone, work_start, "
                    "work_end, work_days, apology_hours, created_at) VALUES "
                    "(1, 'Сад', 'Europe/Moscow', '07:00:00', '19:00:00', "
                    "'12345', 24, '2026-01-01 00:00:00')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO audit_log (kindergarten_id, action, "
                    "target_type, target_id, details, created_at) VALUES "
                    "(1, 'account.renamed', 'localproxy', 7, '{}', "
                    "'2026-01-01 00:00:00')"
                )
            )
        upgrade()
        with db.engine.connect() as connection:
            kind = connection.execute(text("SELECT target_type FROM audit_log")).scalar()
        assert kind == "user"
        db.engine.dispose()


@sqlite_only
def test_pragmas_on_a_fresh_connection(db_ctx):
    db.engine.dispose()  # the next connection is a new one
    with db.engine.connect() as connection:
        pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("synchronous") == 2  # FULL
        assert pragma("busy_timeout") == 5000
        assert pragma("foreign_keys") == 1


def _can_take_write_lock(path: str) -> bool:
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()


@sqlite_only
def test_an_actions_transaction_holds_the_write_lock_from_its_first_read(app, world):
    path = db.engine.url.database
    with app.test_request_context("/admin/groups", method="POST"):
        db.session.execute(select(1))  # the view's reads...
        assert _can_take_write_lock(path)  # ...never block writers
        begin_write()  # what every do_* action starts with
        db.session.execute(select(1))  # just a read...
        assert not _can_take_write_lock(path)  # ...yet BEGIN IMMEDIATE took the write lock
        db.session.rollback()


@sqlite_only
def test_a_password_is_checked_without_holding_the_write_lock(app, world, monkeypatch):
    """argon2 takes a while: other people's writes must not wait for it."""
    from sferum_lite.views import auth

    path = db.engine.url.database
    lock_free_while_checking = []
    real_verify = auth.verify_password

    def verify(password_hash, password):
        lock_free_while_checking.append(_can_take_write_lock(path))
        return real_verify(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", verify)
    client = app.test_client()
    client.post("/login", data={"login": world.parent.login, "password": "не тот пароль"})
    client.post("/login", data={"login": world.parent.login, "password": f.PASSWORD})
    assert lock_free_while_checking == [True, True]


@sqlite_only
def test_foreign_keys_are_enforced(db_ctx, world):
    from sferum_lite.models import Child

    db.session.add(
        Child(
            kindergarten_id=world.kindergarten.id,
            group_id=999999,
            last_name="Нет",
            first_name="Группы",
            name_key="нет группы",
        )
    )
    with pytest.raises(Exception, match="FOREIGN KEY"):
        db.session.commit()
    db.session.rollback()


def test_first_start_creates_the_database_and_a_secret_key(tmp_path):
    """`flask run` on a fresh clone: instance/ gets a migrated SQLite file and a random key."""
    config = {"TESTING": True}
    app = create_app(config, instance_path=str(tmp_path))
    key_file = tmp_path / "secret_key"
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(app.config["SECRET_KEY"]) >= 32
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///" + str(tmp_path / "sferum.sqlite3")
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    assert "user" in inspect(engine).get_table_names()
    engine.dispose()
    with app.app_context():
        db.engine.dispose()
    # the key stays the same across restarts, so sessions survive them
    again = create_app(config, instance_path=str(tmp_path))
    assert again.config["SECRET_KEY"] == app.config["SECRET_KEY"]
    with again.app_context():
        db.engine.dispose()
    # another installation gets another key
    other_dir = tmp_path / "other"
    other = create_app(config, instance_path=str(other_dir))
    assert other.config["SECRET_KEY"] != app.config["SECRET_KEY"]
    with other.app_context():
        db.engine.dispose()


def test_settings_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SFERUM_SECRET_KEY", "from-the-environment-" + "x" * 20)
    monkeypatch.setenv("SFERUM_DATABASE_URL", "sqlite:///" + str(tmp_path / "env.sqlite3"))
    monkeypatch.setenv("SFERUM_TRUSTED_HOSTS", "sad5.example, www.sad5.example")
    monkeypatch.setenv("SFERUM_AUTO_MIGRATE", "0")
    monkeypatch.setenv("SFERUM_BASE_URL", "https://sad5.example")
    monkeypatch.setenv("SFERUM_SESSION_DAYS", "7")
    app = create_app(instance_path=str(tmp_path))
    assert app.config["SECRET_KEY"].startswith("from-the-environment-")
    assert app.config["TRUSTED_HOSTS"] == ["sad5.example", "www.sad5.example"]
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["PERMANENT_SESSION_LIFETIME"].days == 7
    assert not (tmp_path / "secret_key").exists()
    assert not (tmp_path / "env.sqlite3").exists()  # AUTO_MIGRATE=0
