"""First start: the kindergarten, its director, the staff group and the system channels."""

from __future__ import annotations

from datetime import time

from flask import has_request_context
from flask_babel import gettext as _
from flask_login import login_user
from sqlalchemy import select

from ..database import begin_write
from ..extensions import db
from ..models import Chat, ChatMember, Consent, ConsentText, Kindergarten, User
from ..security import hash_password
from ..texts import DEFAULT_CONSENT
from . import ActionError
from .accounts import start_session
from .audit import record
from .rules import accept, create_default_rules, default_rules

# system key -> (kind, title). Titles are Russian: they are the kindergarten's own names.
SYSTEM_CHATS = {
    "staff_group": ("group", "Педагоги"),
    "news": ("channel", "Новости детского сада"),
    "staff": ("channel", "Сотрудники"),
}


def create_system_chats(kindergarten: Kindergarten, director: User) -> None:
    """The staff group and the two channels every kindergarten has; the director moderates.
    They follow the kindergarten's default rules, which the director has accepted."""
    rules = default_rules(kindergarten.id) or create_default_rules(kindergarten, director)
    for system, (kind, title) in SYSTEM_CHATS.items():
        chat = Chat(
            kindergarten_id=kindergarten.id,
            kind=kind,
            title=title,
            system=system,
            created_by_id=director.id,
            rules_id=rules.id,
        )
        db.session.add(chat)
        db.session.flush()
        member = ChatMember(chat_id=chat.id, user_id=director.id, is_moderator=True)
        db.session.add(member)
        accept(member, rules.id)


def is_set_up() -> bool:
    return db.session.scalar(select(Kindergarten.id).limit(1)) is not None


def do_setup(
    *,
    kindergarten_name: str,
    timezone: str,
    work_start: time,
    work_end: time,
    work_days: str,
    director_name: str,
    login: tuple[str, str],
    password: str,
) -> User:
    password_hash = hash_password(password)  # before the write lock: it takes a while
    begin_write("setup")
    if is_set_up():
        raise ActionError(_("Детский сад уже настроен. Войдите со своим логином и паролем."))
    kindergarten = Kindergarten(
        name=kindergarten_name,
        timezone=timezone,
        work_start=work_start,
        work_end=work_end,
        work_days=work_days,
    )
    db.session.add(kindergarten)
    db.session.flush()
    kind, value = login
    director = User(
        kindergarten_id=kindergarten.id,
        name=director_name,
        password_hash=password_hash,
        is_director=True,
        **{kind: value},
    )
    consent_text = ConsentText(
        kindergarten_id=kindergarten.id,
        version=1,
        text=DEFAULT_CONSENT.format(kindergarten=kindergarten_name),
    )
    db.session.add_all([director, consent_text])
    db.session.flush()
    db.session.add(Consent(user_id=director.id, consent_text_id=consent_text.id))
    create_system_chats(kindergarten, director)
    record(director, "kindergarten.setup", kindergarten, name=kindergarten_name)
    if has_request_context():
        start_session(director)  # the director is signed in at once
    db.session.commit()
    if has_request_context():
        login_user(director)
    return director
