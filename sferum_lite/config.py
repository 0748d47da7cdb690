"""Configuration: defaults -> instance/config.py -> SFERUM_* environment -> test config.

Every setting a person may change is listed in SETTINGS with its type, so the README, the
environment parser and the tests speak of the same list.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

PREFIX = "SFERUM_"

# name -> (config key, type, help). The README's settings table is written from this.
SETTINGS: dict[str, tuple[str, type, str]] = {
    "SECRET_KEY": (
        "SECRET_KEY",
        str,
        "signs session cookies; generated into instance/secret_key if unset",
    ),
    "DATABASE_URL": ("SQLALCHEMY_DATABASE_URI", str, "SQLAlchemy URL; default SQLite in instance/"),
    "BASE_URL": ("BASE_URL", str, "public address used in invite links and QR codes"),
    "TRUSTED_HOSTS": ("TRUSTED_HOSTS", list, "comma-separated host names the app answers to"),
    "AUTO_MIGRATE": ("AUTO_MIGRATE", bool, "create/upgrade the database on start (default 1)"),
    "RATELIMIT_STORAGE_URI": (
        "RATELIMIT_STORAGE_URI",
        str,
        "rate-limit storage; redis://… with several workers",
    ),
    "SESSION_DAYS": ("SESSION_DAYS", int, "how long a sign-in lasts without activity (days)"),
    "MAX_UPLOAD_MB": ("MAX_UPLOAD_MB", int, "largest request body in megabytes"),
    "UPLOAD_FOLDER": (
        "UPLOAD_FOLDER",
        str,
        "where photos and files are kept; default instance/uploads",
    ),
    "LIVE_STREAM_SECONDS": (
        "LIVE_STREAM_SECONDS",
        int,
        "how long one live-update connection lasts before the browser reconnects",
    ),
    "IMAGE_DECODE_CONCURRENCY": (
        "IMAGE_DECODE_CONCURRENCY",
        int,
        "photos decoded at once per process; the others wait their turn",
    ),
    "POSTS_WITH_FILES_LIMIT": (
        "POSTS_WITH_FILES_LIMIT",
        str,
        "posts with photos or files one person may send, e.g. '20 per 10 minutes'",
    ),
    "PROXY_FIX": ("PROXY_FIX", int, "number of trusted reverse proxies in front (X-Forwarded-*)"),
    "LOG_LEVEL": ("LOG_LEVEL", str, "logging level: INFO, WARNING…"),
    "SMTP_URL": (
        "SMTP_URL",
        str,
        "mail server for «Забыли пароль?» links: smtp://host:25, smtp+starttls://user:pw@host:587"
        " or smtps://user:pw@host:465; unset: recovery in person only",
    ),
    "MAIL_FROM": ("MAIL_FROM", str, "the From address of those letters; default no-reply@<host>"),
}


class Defaults:
    SQLALCHEMY_DATABASE_URI: str | None = None  # filled from the instance path
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    BASE_URL = "http://127.0.0.1:5000"
    TRUSTED_HOSTS: list[str] | None = None
    AUTO_MIGRATE = True
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = False
    RATELIMIT_ENABLED = True
    # Redis (or whatever holds the limits) away: count in this process's memory meanwhile and
    # log it, rather than refuse every sign-in
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    SQLITE_BUSY_TIMEOUT_MS = 5000  # another process writing (the CLI, a backup): wait this long
    WRITE_LOCK_SECONDS = 30  # how long a write waits for its turn before "сервер занят" (503)
    SESSION_DAYS = 30
    MAX_UPLOAD_MB = 160  # ten 15 MB photos in one message, with room to spare
    # photos decoded and re-encoded at once per process (the others wait for their turn): one
    # PNG, WebP or HEIC of 25 MP takes up to ~400 MB while it is decoded (bench/README.md)
    IMAGE_DECODE_CONCURRENCY = 2
    # messages with photos or files one person may post (Flask-Limiter's notation; counted by
    # the person, in RATELIMIT_STORAGE_URI); messages without files are not counted
    POSTS_WITH_FILES_LIMIT = "20 per 10 minutes"
    UPLOAD_FOLDER: str | None = None
    LIVE_STREAM_SECONDS = 300
    LIVE_HEARTBEAT_SECONDS = 15
    PROXY_FIX = 0
    LOG_LEVEL = "INFO"
    SMTP_URL = ""  # unset: a forgotten password is reset in person only
    MAIL_FROM = ""  # unset: no-reply@ the host of BASE_URL
    SMTP_TIMEOUT_SECONDS = 15
    # Flask / extensions
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_NAME = "sferum_session"
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the signed-in session
    WTF_CSRF_SSL_STRICT = True
    BABEL_DEFAULT_LOCALE = "ru"
    BABEL_DEFAULT_TIMEZONE = "Europe/Moscow"
    MAX_FORM_MEMORY_SIZE = 2 * 1024 * 1024
    TESTING = False


def _parse(kind: type, raw: str):
    if kind is bool:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if kind is int:
        return int(raw)
    if kind is list:
        return [part.strip() for part in raw.split(",") if part.strip()]
    return raw


def from_environment(environ: dict[str, str] | None = None) -> dict:
    environ = os.environ if environ is None else environ
    values = {}
    for name, (key, kind, _help) in SETTINGS.items():
        raw = environ.get(PREFIX + name)
        if raw is not None and raw != "":
            values[key] = _parse(kind, raw)
    return values


def secret_key_from_instance(instance_path: str) -> str:
    """Read instance/secret_key, creating it with 384 random bits on the first start.

    The key is written whole into a private temporary file and then linked into place, so
    several workers starting at once all read the same, complete key.
    """
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(temporary, path)  # fails if another worker was first: theirs is kept
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return path.read_text().strip()


def finish(config, instance_path: str) -> None:
    """Fill what depends on other settings."""
    if not config.get("SQLALCHEMY_DATABASE_URI"):
        config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + str(
            Path(instance_path) / "sferum.sqlite3"
        )
    if not config.get("UPLOAD_FOLDER"):
        config["UPLOAD_FOLDER"] = str(Path(instance_path) / "uploads")
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = secret_key_from_instance(instance_path)
    # a connection the database dropped (PostgreSQL restarted) is found out before it is used
    options = {"pool_pre_ping": True}
    uri = str(config["SQLALCHEMY_DATABASE_URI"])
    if uri.startswith("sqlite") and ":memory:" not in uri and "mode=memory" not in uri:
        # a writer waiting for its turn holds a connection meanwhile; SQLite's are cheap, so
        # there are always more than threads, and a reader never waits for one
        options["max_overflow"] = 64
    config["SQLALCHEMY_ENGINE_OPTIONS"] = {**options, **config["SQLALCHEMY_ENGINE_OPTIONS"]}
    config["PERMANENT_SESSION_LIFETIME"] = timedelta(days=int(config["SESSION_DAYS"]))
    config["MAX_CONTENT_LENGTH"] = int(config["MAX_UPLOAD_MB"]) * 1024 * 1024
    https = str(config.get("BASE_URL", "")).startswith("https://")
    if https:
        config["SESSION_COOKIE_SECURE"] = True
        # "__Host-": the browser keeps the cookie only when it is Secure, for Path=/ and with
        # no Domain, so a neighbouring site (another *.example host, a plain-http copy) can
        # neither set nor shadow the session
        name = str(config.get("SESSION_COOKIE_NAME") or "session")
        if not name.startswith("__Host-") and not config.get("SESSION_COOKIE_DOMAIN"):
            config["SESSION_COOKIE_NAME"] = "__Host-" + name
            config["SESSION_COOKIE_PATH"] = "/"
    config["PREFERRED_URL_SCHEME"] = "https" if https else "http"
