"""Passwords, logins, sessions that the server can end, safe redirects and response headers."""

from __future__ import annotations

import gzip
import hashlib
import hmac
import logging
import math
import os
import re
import secrets
import threading
import unicodedata
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import phonenumbers
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from flask import current_app, request, session
from flask_babel import gettext as _
from sqlalchemy import func, select

from .extensions import db
from .models import FailedLogin, User, UserSession, utcnow

PASSWORD_MIN = 8
PASSWORD_MAX = 128
LOCKOUT_FAILURES = 5
LOCKOUT_WINDOW = timedelta(minutes=15)
SESSION_MAX_AGE = timedelta(days=180)  # a sign-in ends after this however often it is used

# --- text clean-up ---------------------------------------------------------------------------

_INVISIBLE = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e"}

# the login typed into a registration form, filled into the sign-in page that follows it
LOGIN_HINT_KEY = "login_hint"


def clean_text(value: str | None) -> str:
    """NFC, no zero-width or control characters, inner runs of white space made one space."""
    if value is None:
        return ""
    value = unicodedata.normalize("NFC", str(value))
    value = "".join(
        " " if ch.isspace() else ch
        for ch in value
        if ch not in _INVISIBLE and (ch.isspace() or unicodedata.category(ch)[0] != "C")
    )
    return " ".join(value.split())


# Bidi embeddings/overrides/isolates and invisible spaces: removed from messages so nobody can
# reverse the page or hide text; the zero-width joiners stay (family emoji, some scripts).
_MESSAGE_DROP = _INVISIBLE - {"\u200c", "\u200d"}


def clean_message(value: str | None) -> str:
    """A message's text: NFC, line breaks kept (at most one empty line in a row), no control,
    bidi-control or zero-width characters, no trailing spaces."""
    if value is None:
        return ""
    value = unicodedata.normalize("NFC", str(value)).replace("\r\n", "\n").replace("\r", "\n")
    kept = []
    for ch in value:
        if ch == "\n":
            kept.append(ch)
        elif ch in _MESSAGE_DROP:
            continue
        elif ch.isspace():
            kept.append(" ")
        elif unicodedata.category(ch)[0] != "C" or ch in "\u200c\u200d":
            kept.append(ch)
    lines = [line.rstrip() for line in "".join(kept).split("\n")]
    text = "\n".join(lines).strip()
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text


# --- logins: phone number or e-mail ------------------------------------------------------------


def parse_phone(raw: str) -> str | None:
    """A Russian phone number in any common form, as E.164 ('+79123456789'); None if not one."""
    raw = clean_text(raw)
    if not raw or len(raw) > 32 or "@" in raw:
        return None
    try:
        number = phonenumbers.parse(raw, "RU")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_email(raw: str) -> str | None:
    raw = clean_text(raw)
    if not raw or len(raw) > 254 or "@" not in raw:
        return None
    try:
        result = validate_email(raw, check_deliverability=False)
    except EmailNotValidError:
        return None
    return result.normalized.lower()


def parse_login(raw: str) -> tuple[str, str] | None:
    """('phone', '+7…') or ('email', 'a@b.ru'), or None when it is neither."""
    if "@" in (raw or ""):
        email = parse_email(raw)
        return ("email", email) if email else None
    phone = parse_phone(raw)
    return ("phone", phone) if phone else None


def format_phone(e164: str | None) -> str:
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def find_user_by_login(kind: str, value: str) -> User | None:
    column = User.phone if kind == "phone" else User.email
    return db.session.scalar(select(User).where(column == value))


# --- passwords ---------------------------------------------------------------------------------


def _hasher() -> PasswordHasher:
    params = current_app.config.get("ARGON2_PARAMS") or {}
    return PasswordHasher(**params)  # argon2id, RFC 9106 low-memory profile by default


# Each argon2 call takes its memory_cost (64 MiB by default) for as long as it runs: twenty
# sign-ins at once took one worker from 127 MB to 1.07 GB. Hashes and checks therefore queue for
# one of ARGON2_CONCURRENCY turns per process (they wait, they don't fail), so a process never
# holds more than that many times memory_cost for passwords.
ARGON2_CONCURRENCY = 2
_argon2_turns: dict[int, threading.BoundedSemaphore] = {}
_argon2_turns_guard = threading.Lock()


def argon2_turn() -> threading.BoundedSemaphore:
    """The semaphore every argon2 hash and check of this process takes a turn of."""
    cap = max(1, int(current_app.config.get("ARGON2_CONCURRENCY") or ARGON2_CONCURRENCY))
    with _argon2_turns_guard:
        if cap not in _argon2_turns:
            _argon2_turns[cap] = threading.BoundedSemaphore(cap)
        return _argon2_turns[cap]


def hash_password(password: str) -> str:
    hasher = _hasher()
    with argon2_turn():
        return hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not the account exists: pass None to burn a dummy hash."""
    hasher = _hasher()
    dummy = None if password_hash else _dummy_hash(hasher)
    try:
        with argon2_turn():
            return hasher.verify(password_hash or dummy, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)


_DUMMY: dict[tuple, str] = {}


def _dummy_hash(hasher: PasswordHasher) -> str:
    key = (hasher.time_cost, hasher.memory_cost, hasher.parallelism)
    if key not in _DUMMY:
        with argon2_turn():
            _DUMMY[key] = hasher.hash(secrets.token_urlsafe(16))
    return _DUMMY[key]


@cache
def common_passwords() -> frozenset[str]:
    path = Path(__file__).parent / "data" / "common-passwords.txt.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return frozenset(line.strip() for line in fh if line.strip())


def password_problem(password: str, *, login: str = "") -> str | None:
    """The reason a new password is refused, in the user's language; None if it is fine."""
    if len(password) < PASSWORD_MIN:
        return _("Пароль слишком короткий: нужно не меньше %(num)d символов.", num=PASSWORD_MIN)
    if len(password) > PASSWORD_MAX:
        return _("Пароль слишком длинный: можно до %(num)d символов.", num=PASSWORD_MAX)
    lowered = password.lower()
    if lowered in common_passwords():
        return _("Этот пароль слишком распространён, его легко подобрать. Придумайте другой.")
    digits = "".join(ch for ch in login if ch.isdigit())
    if login and (lowered == login.lower() or (len(digits) >= 7 and digits in password)):
        return _("Пароль не должен совпадать с телефоном или e-mail.")
    return None


# --- failed sign-ins ---------------------------------------------------------------------------


def login_key(raw: str, device: str | None = None) -> str:
    """A keyed hash (HMAC with the secret key) of the login as typed, normalised when it is a
    phone or e-mail: the table holds no phone number anyone could recover by trying them all,
    and known and unknown logins are treated the same.

    `device` (see `known_device`) gives the login's failures on that one browser a count of
    their own: strangers' failures, counted under the plain key, don't lock it."""
    parsed = parse_login(raw)
    key = parsed[1] if parsed else clean_text(raw).lower()
    message = b"failed-login:" + key.encode()
    if device:
        message += b"\x00device:" + device.encode()
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


# --- devices where a person signed in before ---------------------------------------------------
#
# The director's phone number is printed on every poster: five wrong passwords from anywhere
# would lock her out. A browser where a person signed in successfully gets a long-lived cookie
# naming them and a random device id, signed with the secret key; on that browser their
# attempts are counted apart from everybody else's, so a stranger's failures lock only the
# browsers the person never signed in on. The cookie holds a few people (a family's shared
# phone); an entry is good for DEVICE_DAYS after the last successful sign-in on it.

DEVICE_DAYS = 365
DEVICE_PEOPLE = 4
_DEVICE_ENTRY = re.compile(r"^(\d{1,12})\.([A-Za-z0-9_-]{16,32})\.(\d{1,12})\.([0-9a-f]{32})$")


def device_cookie_name() -> str:
    secure = current_app.config.get("SESSION_COOKIE_SECURE")
    return "__Host-sferum_device" if secure else "sferum_device"


def _device_mac(user_id: int, device: str, issued: int) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    message = f"known-device:{user_id}:{device}:{issued}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def _device_entries() -> dict[int, tuple[str, int]]:
    """user id -> (device id, issued at) for each valid, unexpired entry of this browser's
    device cookie; forged, altered and expired entries are left out."""
    raw = request.cookies.get(device_cookie_name(), "")[:1000]
    now = int(utcnow().timestamp())
    entries: dict[int, tuple[str, int]] = {}
    for part in raw.split("~")[:DEVICE_PEOPLE]:
        match = _DEVICE_ENTRY.match(part)
        if not match:
            continue
        user_id, device, issued = int(match[1]), match[2], int(match[3])
        expected = _device_mac(user_id, device, issued)
        if not hmac.compare_digest(expected, match[4]):
            continue
        if not now - DEVICE_DAYS * 86400 <= issued <= now + 60:
            continue
        entries.setdefault(user_id, (device, issued))
    return entries


def known_device(user: User | None) -> str | None:
    """This browser's device id for `user` if they signed in successfully on it before."""
    if user is None or user.id is None:
        return None
    entry = _device_entries().get(user.id)
    return entry[0] if entry else None


def remember_device(response, user: User):
    """After a successful sign-in: this browser is one `user` signed in on (kept a year)."""
    entries = _device_entries()
    device = entries.pop(user.id, (secrets.token_urlsafe(16), 0))[0]
    issued = int(utcnow().timestamp())
    kept = [(user.id, device, issued)] + [(uid, dev, at) for uid, (dev, at) in entries.items()]
    value = "~".join(
        f"{uid}.{dev}.{at}.{_device_mac(uid, dev, at)}" for uid, dev, at in kept[:DEVICE_PEOPLE]
    )
    response.set_cookie(
        device_cookie_name(),
        value,
        max_age=DEVICE_DAYS * 86400,
        path="/",
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        httponly=True,
        samesite="Lax",
    )
    return response


def lockout_minutes(key: str, now: datetime | None = None) -> int:
    """Minutes until this login may be tried again; 0 if it is not locked."""
    now = now or utcnow()
    count, oldest = db.session.execute(
        select(func.count(FailedLogin.id), func.min(FailedLogin.created_at)).where(
            FailedLogin.login_hash == key, FailedLogin.created_at > now - LOCKOUT_WINDOW
        )
    ).one()
    if count < LOCKOUT_FAILURES or oldest is None:
        return 0
    oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=now.tzinfo)
    seconds = (oldest + LOCKOUT_WINDOW - now).total_seconds()
    return max(1, math.ceil(seconds / 60))


# --- server-side sessions ------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_session_row(user: User) -> tuple[UserSession, str]:
    token = secrets.token_urlsafe(32)
    agent = clean_text(request.headers.get("User-Agent"))[:200] if request else ""
    return UserSession(user_id=user.id, token_hash=_token_hash(token), user_agent=agent), token


def current_session_row() -> UserSession | None:
    token = session.get("sid")
    if not token:
        return None
    return db.session.scalar(
        select(UserSession).where(UserSession.token_hash == _token_hash(token))
    )


def load_user(user_id: str) -> User | None:
    """Flask-Login's user_loader: the user only while this browser's session row exists."""
    token = session.get("sid")
    if not token or not str(user_id).isdigit():
        return None
    return db.session.scalar(
        select(User)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            UserSession.token_hash == _token_hash(token),
            User.id == int(user_id),
            User.deleted_at.is_(None),
            UserSession.created_at > utcnow() - SESSION_MAX_AGE,
        )
    )


# --- logs ----------------------------------------------------------------------------------------

_TOKEN_IN_PATH = re.compile(r"(/staff-invite/|/i/|/password-reset/)[^/\s?\"]+")


class RedactInviteTokens(logging.Filter):
    """Access logs keep the path of an invite or password-reset link but not its token."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "-invite/" in message or "/i/" in message or "/password-reset/" in message:
            record.msg, record.args = _TOKEN_IN_PATH.sub(r"\1…", message), ()
        return True


def redact_tokens_in_logs() -> None:
    for name in ("werkzeug", "gunicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactInviteTokens) for f in logger.filters):
            logger.addFilter(RedactInviteTokens())


# --- rate limits shared by the workers ---------------------------------------------------------

_warned_memory_limits = False


def gunicorn_workers(environ=None) -> int:
    """How many workers the gunicorn this process runs under has: gunicorn.conf.py's
    `on_starting` hook puts it in SFERUM_GUNICORN_WORKERS (WEB_CONCURRENCY, gunicorn's own
    default, otherwise); 1 outside gunicorn."""
    environ = os.environ if environ is None else environ
    if not environ.get("SERVER_SOFTWARE", "").startswith("gunicorn"):
        return 1
    for name in ("SFERUM_GUNICORN_WORKERS", "WEB_CONCURRENCY"):
        raw = environ.get(name, "")
        if raw.strip().isdigit():
            return int(raw)
    return 1


def warn_if_limits_are_per_worker(app, environ=None) -> bool:
    """Log once, at WARNING, when several gunicorn workers count rate limits in their own
    memory: each then allows the whole limit (four workers: 120 sign-ins a minute from one
    address, not 30), and a restart forgets them. The first worker gunicorn forks says it
    (gunicorn.conf.py's hooks tell the app the number and the turn; with --preload the app is
    made before them, and nothing is said). True when it warned."""
    global _warned_memory_limits
    storage = str(app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
    workers = gunicorn_workers(environ)
    if _warned_memory_limits or workers < 2 or not storage.startswith("memory://"):
        return False
    environ = os.environ if environ is None else environ
    if environ.get("SFERUM_GUNICORN_WORKER_AGE", "1") != "1":
        return False  # the first worker has said it for all of them
    _warned_memory_limits = True
    logging.getLogger("sferum_lite").warning(
        "%d gunicorn workers count rate limits (sign-in attempts per address) each in its own "
        "memory: together they allow %d times the limit, and a restart forgets them. Set "
        "SFERUM_RATELIMIT_STORAGE_URI=redis://… (see README).",
        workers,
        workers,
    )
    return True


# --- redirects and headers -------------------------------------------------------------------


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None (no //host, no scheme, no backslash)."""
    if not target or len(target) > 500:
        return None
    if any(ord(ch) < 32 or ch == "\\" for ch in target):
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def apply_security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.endpoint != "static" and "Cache-Control" not in headers:
        # pages carry names, phones, children: never kept in a shared computer's cache or
        # shown again from the back-forward cache after signing out
        headers["Cache-Control"] = "no-store"
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response
