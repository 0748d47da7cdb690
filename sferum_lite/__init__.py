"""sferum-lite: a kindergarten's chats with parents."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import sys
from pathlib import Path

from flask import Flask, redirect, request, url_for
from werkzeug.routing import IntegerConverter

from . import config as config_module
from .extensions import babel, csrf, db, limiter, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent


class StartupError(RuntimeError):
    """The app can't start for a reason its operator can mend; the message is one line."""


def load_app(**kwargs) -> Flask:
    """`create_app` for `app.py`: a start that can't happen is one line on stderr, exit 1."""
    try:
        return create_app(**kwargs)
    except StartupError as error:
        print(f"sferum-lite: {error}", file=sys.stderr)
        raise SystemExit(4) from None  # 4: gunicorn's "app failed to load", it stops, no respawn


class Id(IntegerConverter):
    """`<int:…>` in URLs: a positive id that fits a database integer, else the usual 404."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", 2**31 - 1)  # models.DB_INT_MAX: PostgreSQL's INTEGER
        super().__init__(url_map, *args, **kwargs)


def create_app(test_config: dict | None = None, *, instance_path: str | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=instance_path or str(ROOT / "instance"),
        instance_relative_config=True,
        static_folder=str(ROOT / "static"),
        template_folder=str(ROOT / "templates"),
    )
    # defaults -> instance/config.py -> SFERUM_* environment -> test config
    app.config.from_object(config_module.Defaults)
    app.config.from_pyfile("config.py", silent=True)
    app.config.update(config_module.from_environment())
    if test_config:
        app.config.update(test_config)
    with _storage_at_start(app):
        config_module.finish(app.config, app.instance_path)
    app.url_map.converters["int"] = Id
    logging.basicConfig(level=app.config["LOG_LEVEL"])
    from .security import redact_tokens_in_logs

    redact_tokens_in_logs()

    if app.config["PROXY_FIX"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = int(app.config["PROXY_FIX"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    _init_extensions(app)
    from . import limits

    limits.init_app(app)  # body and rate limits, checked before the CSRF check reads a body
    _register_blueprints(app)
    _register_hooks(app)

    from .errors import register_error_handlers
    from .templating import register_template_helpers

    register_error_handlers(app)
    register_template_helpers(app)

    from .cli import register_cli

    register_cli(app)

    if app.config["AUTO_MIGRATE"]:
        from .database import upgrade_database

        with _storage_at_start(app):
            upgrade_database(app)
    return app


@contextlib.contextmanager
def _storage_at_start(app: Flask):
    """A read-only, full or unwritable instance folder is told in one line, not a traceback."""
    from sqlalchemy.exc import DBAPIError

    from .database import storage_trouble

    try:
        yield
    except (OSError, DBAPIError, sqlite3.Error) as error:
        if storage_trouble(error) is None:
            raise
        cause = error.orig if isinstance(error, DBAPIError) else error
        where = getattr(cause, "filename", None) or app.instance_path
        what = getattr(cause, "strerror", None) or str(cause).splitlines()[0]
        raise StartupError(
            f"cannot start: {where}: {what}. The instance folder ({app.instance_path}) must be "
            "writable: it holds the database, the uploads and the keys."
        ) from error


def _init_extensions(app: Flask) -> None:
    from .database import configure_engine, render_item
    from .i18n import select_locale, select_timezone
    from .security import load_user

    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])
    migrate.init_app(
        app,
        db,
        directory=str(ROOT / "migrations"),
        render_as_batch=True,
        compare_type=True,
        render_item=render_item,
    )
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        timezone_selector=select_timezone,
        default_translation_directories=str(ROOT / "translations"),
    )
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.user_loader(load_user)
    login_manager.session_protection = None  # sessions are ended on the server instead


def _register_blueprints(app: Flask) -> None:
    from .views import (
        admin,
        auth,
        chat_invites,
        chats,
        director,
        invites,
        joins,
        main,
        messages,
        moderation,
        recovery,
        rules,
        setup,
    )

    for module in (
        setup,
        auth,
        main,
        admin,
        invites,
        chats,
        messages,
        chat_invites,
        rules,
        joins,
        moderation,
        director,
        recovery,
    ):
        app.register_blueprint(module.bp)


def _register_hooks(app: Flask) -> None:
    from .actions.setup import is_set_up
    from .security import apply_security_headers

    state = app.extensions.setdefault("sferum", {"set_up": False})
    open_before_setup = {"setup.setup", "static", "main.manifest", "auth.language"}

    @app.before_request
    def require_setup():
        if state["set_up"] or request.endpoint in open_before_setup:
            return None
        if is_set_up():
            state["set_up"] = True
            return None
        return redirect(url_for("setup.setup"))

    @app.after_request
    def headers(response):
        if request.headers.get("HX-Request"):
            response.vary.add("HX-Request")
        return apply_security_headers(response)
