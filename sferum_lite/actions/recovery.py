"""A way back in for whoever forgot the password (issue 13 §6): one-time reset links, shown in
person as a QR code by a staff member or sent to the person's e-mail.

A link's token (256 random bits) is given out once and only its SHA-256 is stored. A link works
once, for 15 minutes (in person) or 30 (by e-mail), and only while it is the person's newest:
making a new one ends the older ones. Setting the password ends every session of the person and
forgets the failed sign-ins counted against their login, so a lock-out ends with it.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update

from ..database import begin_write
from ..extensions import db
from ..mail import make_letter, send
from ..models import FailedLogin, PasswordReset, User, utcnow
from ..permissions import reset_token_hash
from ..qr import public_url
from ..security import find_user_by_login, hash_password, login_key
from . import ActionError
from .accounts import end_sessions
from .audit import record

log = logging.getLogger(__name__)

LIFETIME = {"in_person": timedelta(minutes=15), "email": timedelta(minutes=30)}
# e-mailed links a person may be sent in an hour: a stranger typing their address can't flood
# their mailbox
EMAILS_PER_HOUR = 3


def _lock(user: User) -> None:
    begin_write(f"password-reset-{user.id}")


def _new_reset(user: User, kind: str, created_by: User | None) -> tuple[PasswordReset, str]:
    """Under the write lock: end the person's live links and make a new one."""
    now = utcnow()
    db.session.execute(
        update(PasswordReset)
        .where(
            PasswordReset.user_id == user.id,
            PasswordReset.used_at.is_(None),
            PasswordReset.expires_at > now,
        )
        .values(used_at=now)
    )
    token = secrets.token_urlsafe(32)
    reset = PasswordReset(
        user_id=user.id,
        token_hash=reset_token_hash(token),
        kind=kind,
        created_by_id=created_by.id if created_by is not None else None,
        created_at=now,
        expires_at=now + LIFETIME[kind],
    )
    db.session.add(reset)
    db.session.flush()
    return reset, token


def do_make_reset_link(actor: User | None, target: User) -> tuple[PasswordReset, str]:
    """A staff member makes a link for the person in front of them (or, `actor` None, the
    server's operator with `flask password-reset-link`); (the link, its token)."""
    _lock(target)
    reset, token = _new_reset(target, "in_person", actor)
    record(
        actor,
        "account.reset_link_made",
        target,
        reset_id=reset.id,
        kind="in_person",
        via="card" if actor is not None else "cli",
    )
    db.session.commit()
    return reset, token


def do_email_reset_link(user: User) -> tuple[PasswordReset, str] | None:
    """A link for the person's e-mail; None when they were sent EMAILS_PER_HOUR this hour."""
    _lock(user)
    sent = db.session.scalar(
        select(func.count())
        .select_from(PasswordReset)
        .where(
            PasswordReset.user_id == user.id,
            PasswordReset.kind == "email",
            PasswordReset.created_at > utcnow() - timedelta(hours=1),
        )
    )
    if sent >= EMAILS_PER_HOUR:
        db.session.commit()
        return None
    reset, token = _new_reset(user, "email", None)
    record(None, "account.reset_link_sent", user, reset_id=reset.id, kind="email")
    db.session.commit()
    return reset, token


def do_reset_password(reset: PasswordReset, password: str, *, device: str | None = None) -> User:
    """Set the new password through a live link, once. Ends every session of the person and
    clears the failed sign-ins on their phone and e-mail (and on this browser, `device`).
    ActionError when the link died meanwhile (used in another tab, a newer one made)."""
    password_hash = hash_password(password)  # before the write lock: it takes a while
    user = reset.user
    _lock(user)
    db.session.refresh(reset)
    db.session.refresh(user)
    if reset.state() != "live" or user.is_deleted:
        raise ActionError(_("Эта ссылка уже не действует."))
    now = utcnow()
    reset.used_at = now
    user.password_hash = password_hash
    end_sessions(user)
    keys = set()
    for login in filter(None, (user.phone, user.email)):
        keys.add(login_key(login))
        if device:
            keys.add(login_key(login, device=device))
    if keys:
        db.session.execute(delete(FailedLogin).where(FailedLogin.login_hash.in_(keys)))
    record(
        user,
        "account.password_reset",
        user,
        reset_id=reset.id,
        kind=reset.kind,
        made_by=reset.created_by_id,
    )
    db.session.commit()
    return user


def send_reset_letter(kind: str, value: str) -> None:
    """The job behind «Забыли пароль?», run off the request (see `mail.Jobs`): find the account
    by the phone or e-mail typed; when it has an e-mail, make a link and send it there. Nothing
    is told back, and nothing typed is logged."""
    user = find_user_by_login(kind, value)
    if user is None or user.is_deleted or not user.email:
        return
    made = do_email_reset_link(user)
    if made is None:
        log.info("password reset letter not sent: %d this hour already", EMAILS_PER_HOUR)
        return
    _reset, token = made
    url = public_url("recovery.reset", token=token)
    with force_locale(user.locale or "ru"):
        letter = make_letter(
            to=user.email,
            subject=_("Новый пароль для входа в чаты детского сада"),
            body=render_template(
                "recovery/letter.txt",
                user=user,
                url=url,
                minutes=int(LIFETIME["email"].total_seconds() // 60),
            ),
            sender_name=user.kindergarten.name,
        )
    send(letter)
