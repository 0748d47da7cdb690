"""Signing in and out, passwords, profile, and joining the staff through an invite."""

from __future__ import annotations

from datetime import timedelta

from flask import session
from flask_babel import gettext as _
from flask_login import login_user, logout_user
from sqlalchemy import delete, select, update

from ..database import begin_write
from ..extensions import db
from ..models import Consent, ConsentText, FailedLogin, StaffInvite, User, UserSession, utcnow
from ..security import (
    SESSION_MAX_AGE,
    current_session_row,
    hash_password,
    lockout_minutes,
    needs_rehash,
    new_session_row,
)
from . import ActionError
from .audit import record

# What a visitor's session carries over into the signed-in one: the language they chose and an
# invite they opened before signing in.
KEPT_ON_SIGN_IN = ("locale", "staff_invite", "chat_invite", "join_child")


def start_session(user: User) -> None:
    """Make a server-side session row and put its token in a fresh cookie session."""
    row, token = new_session_row(user)
    db.session.add(row)
    kept = {key: session[key] for key in KEPT_ON_SIGN_IN if key in session}
    session.clear()
    session.update(kept)
    session["sid"] = token
    session.permanent = True


def do_sign_in(user: User, *, password: str | None = None, login_hash: str | None = None) -> None:
    rehashed = None
    if password is not None and needs_rehash(user.password_hash):
        rehashed = hash_password(password)  # before the write lock: it takes a while
    begin_write()
    if rehashed:
        user.password_hash = rehashed
    if login_hash:
        db.session.execute(delete(FailedLogin).where(FailedLogin.login_hash == login_hash))
    # housekeeping: this person's sign-ins that have run out
    db.session.execute(
        delete(UserSession).where(
            UserSession.user_id == user.id, UserSession.created_at < utcnow() - SESSION_MAX_AGE
        )
    )
    start_session(user)
    db.session.commit()
    login_user(user)


def do_reserve_attempt(login_hash: str) -> tuple[int, int | None]:
    """Take one of the login's attempts before its password is checked: (0, the attempt's id),
    or (minutes to wait, None) when the attempts are used up.

    The attempt is written as a failure at once, under a lock on this login (SQLite's write
    lock; a PostgreSQL advisory lock keyed by the login's hash), so parallel tries can't all
    pass the check before any of them is counted. A right password then gives it back
    (`do_sign_in`, `do_release_attempt`). The password is checked after the commit: the lock
    is never held while hashing."""
    begin_write(f"sign-in-{login_hash}")
    minutes = lockout_minutes(login_hash)
    attempt = None
    if not minutes:
        now = utcnow()
        attempt = FailedLogin(login_hash=login_hash, created_at=now)
        db.session.add(attempt)
        # housekeeping: nothing older than a day is ever needed
        db.session.execute(
            delete(FailedLogin).where(FailedLogin.created_at < now - timedelta(days=1))
        )
        db.session.flush()
    attempt_id = attempt.id if attempt is not None else None
    db.session.commit()
    return minutes, attempt_id


def do_release_attempt(attempt_id: int) -> None:
    """The password was right: the attempt taken for it is not a failure."""
    begin_write()
    db.session.execute(delete(FailedLogin).where(FailedLogin.id == attempt_id))
    db.session.commit()


def do_sign_out() -> None:
    begin_write()
    row = current_session_row()
    if row is not None:
        db.session.delete(row)
        db.session.commit()
    logout_user()
    session.clear()


def end_sessions(user: User, *, keep: UserSession | None = None) -> None:
    """Delete the user's session rows (all, or all but `keep`) — without committing."""
    query = delete(UserSession).where(UserSession.user_id == user.id)
    if keep is not None:
        query = query.where(UserSession.id != keep.id)
    db.session.execute(query)


def do_change_password(user: User, new_password: str) -> None:
    password_hash = hash_password(new_password)  # before the write lock: it takes a while
    begin_write()
    user.password_hash = password_hash
    end_sessions(user, keep=current_session_row())
    record(user, "account.password_changed", user)
    db.session.commit()


def do_end_other_sessions(user: User) -> None:
    begin_write()
    end_sessions(user, keep=current_session_row())
    record(user, "account.other_sessions_ended", user)
    db.session.commit()


def do_update_profile(user: User, *, name: str) -> None:
    begin_write()
    if name != user.name:
        record(user, "account.renamed", user, old=user.name, new=name)
        user.name = name
    db.session.commit()


def do_set_locale(user: User | None, locale: str) -> None:
    if user is not None:
        begin_write()
        user.locale = locale
        db.session.commit()
    session["locale"] = locale


def current_consent_text(kindergarten_id: int) -> ConsentText:
    return db.session.scalar(
        select(ConsentText)
        .where(ConsentText.kindergarten_id == kindergarten_id)
        .order_by(ConsentText.version.desc())
        .limit(1)
    )


def _use_invite(invite: StaffInvite) -> None:
    """Count one use, refusing if the invite died meanwhile (another tab, another person)."""
    begin_write(f"staff-invite-{invite.id}")
    db.session.refresh(invite)
    if invite.state() != "live":
        raise ActionError(_("Эта ссылка-приглашение больше не действует."))
    now = utcnow()
    db.session.execute(
        update(StaffInvite)
        .where(StaffInvite.id == invite.id)
        .values(uses=StaffInvite.uses + 1, last_used_at=now)
    )


def _make_staff(user: User, invite: StaffInvite, *, new_account: bool) -> None:
    """The invite's position and role, unverified; logged. The staff chats wait for the
    verification (`do_verify_staff`): until then the person is nobody yet."""
    user.position = invite.position
    user.is_admin = invite.grants_admin
    user.verified_at = None
    user.verified_by_id = None
    user.dismissed_at = None
    record(
        user,
        "staff.joined",
        user,
        invite_id=invite.id,
        position=invite.position,
        admin=invite.grants_admin,
        new_account=new_account,
    )


def do_register_staff(
    invite: StaffInvite,
    *,
    name: str,
    login: tuple[str, str],
    password: str,
    consent_text_id: int,
) -> User | None:
    """A new staff account through an invite, not signed in: the person signs in next. A login
    that already has an account changes nothing and returns None — the view answers exactly
    as for a new account, so the form tells nobody whose phone is registered (issue 13 §3)."""
    password_hash = hash_password(password)  # before the write lock: it takes a while
    _use_invite(invite)
    taken = find_taken_login(login)
    if taken is not None:
        db.session.rollback()  # the invite's use is not counted
        note_taken_login(taken, invite=f"staff:{invite.id}")
        return None
    kind, value = login
    user = User(
        kindergarten_id=invite.kindergarten_id,
        name=name,
        password_hash=password_hash,
        **{kind: value},
    )
    db.session.add(user)
    db.session.flush()
    _make_staff(user, invite, new_account=True)
    db.session.add(Consent(user_id=user.id, consent_text_id=consent_text_id))
    db.session.commit()
    return user


def find_taken_login(login: tuple[str, str]) -> User | None:
    """The account that already has this phone or e-mail, if any."""
    kind, value = login
    column = User.phone if kind == "phone" else User.email
    return db.session.scalar(select(User).where(column == value))


def note_taken_login(user: User, *, invite: str) -> None:
    """Someone registered with this person's login: nothing of theirs changes; the audit log
    keeps the attempt (a write and a commit, as a registration makes)."""
    begin_write()
    record(None, "account.registration_with_taken_login", user, invite=invite)
    db.session.commit()


def do_join_staff(invite: StaffInvite, user: User) -> None:
    """An existing account (a parent, a former employee) accepts a staff invite."""
    if user.kindergarten_id != invite.kindergarten_id:
        raise ActionError(_("Эта ссылка-приглашение больше не действует."))
    _use_invite(invite)
    _make_staff(user, invite, new_account=False)
    db.session.commit()
