"""Chat rules (reg 004 §22): the kindergarten's default, a chat's own versions, acceptance."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from ..database import begin_write
from ..extensions import db
from ..live import chat_topic, publish_after_commit
from ..models import Chat, ChatMember, Kindergarten, Rules, RulesAcceptance, User, utcnow
from ..permissions import ChatAccess
from ..texts import DEFAULT_RULES
from . import ActionError
from .audit import record


def default_rules(kindergarten_id: int) -> Rules | None:
    """The current version of the kindergarten's default rules."""
    return db.session.scalar(
        select(Rules)
        .where(Rules.kindergarten_id == kindergarten_id, Rules.chat_id.is_(None))
        .order_by(Rules.version.desc())
        .limit(1)
    )


def create_default_rules(kindergarten: Kindergarten, author: User | None) -> Rules:
    """Version 1 of the default rules of a new kindergarten (adds, never commits)."""
    rules = Rules(
        kindergarten_id=kindergarten.id,
        version=1,
        text=DEFAULT_RULES,
        created_by_id=author.id if author is not None else None,
    )
    db.session.add(rules)
    db.session.flush()
    return rules


def give_rules(chat: Chat) -> None:
    """A new chat follows the kindergarten's default rules; a direct chat has none."""
    if chat.kind != "direct" and chat.rules_id is None:
        rules = default_rules(chat.kindergarten_id)
        chat.rules_id = rules.id if rules is not None else None


def accept(member: ChatMember, rules_id: int | None, *, at=None) -> None:
    """Record that `member` accepted version `rules_id` of their chat's rules (adds only)."""
    if rules_id is None or member.rules_accepted_id == rules_id:
        return
    member.rules_accepted_id = rules_id
    db.session.add(
        RulesAcceptance(
            chat_id=member.chat_id,
            user_id=member.user_id,
            rules_id=rules_id,
            accepted_at=at or utcnow(),
        )
    )


def _rules_changed(chat_ids) -> None:
    """Open chat pages learn that the rules changed: their composer turns into the banner."""
    for chat_id in chat_ids:
        publish_after_commit(chat_topic(chat_id), {"chat": chat_id, "rules": True})


def do_accept_rules(user: User, access: ChatAccess, rules_id: int) -> None:
    begin_write()
    chat = db.session.get(Chat, access.chat.id)
    member = db.session.get(ChatMember, (chat.id, user.id))
    if member is None:
        raise ActionError(_("Вы не участник этого чата."))
    if chat.rules_id != rules_id:
        raise ActionError(
            _("Правила чата только что изменились. Прочитайте новую редакцию и примите её.")
        )
    if member.rules_accepted_id != rules_id:
        accept(member, rules_id)
        record(user, "rules.accepted", chat, rules_id=rules_id)
    db.session.commit()


def do_change_rules(actor: User, access: ChatAccess, *, text: str, note: str) -> Rules:
    """A new version of the chat's own rules; members accept it before they post again."""
    begin_write(f"rules-chat-{access.chat.id}")
    chat = db.session.get(Chat, access.chat.id)
    if chat.archived_at is not None:
        raise ActionError(_("Чат в архиве: его правила не меняются."))
    if chat.kind == "direct":
        raise ActionError(_("У личной переписки нет правил."))
    current = db.session.get(Rules, chat.rules_id) if chat.rules_id else None
    if current is not None and current.text.strip() == text.strip():
        raise ActionError(_("Текст правил не изменился."), field="text")
    version = (
        db.session.scalar(select(func.max(Rules.version)).where(Rules.chat_id == chat.id)) or 0
    ) + 1
    rules = Rules(
        kindergarten_id=chat.kindergarten_id,
        chat_id=chat.id,
        version=version,
        text=text,
        note=note,
        created_by_id=actor.id,
    )
    db.session.add(rules)
    db.session.flush()
    chat.rules_id = rules.id
    member = db.session.get(ChatMember, (chat.id, actor.id))
    if member is not None:
        accept(member, rules.id)  # who wrote them has read them
    record(actor, "rules.changed", chat, rules_id=rules.id, version=version, note=note)
    _rules_changed([chat.id])
    db.session.commit()
    return rules


def do_change_default_rules(actor: User, *, text: str, note: str) -> Rules:
    """A new version of the kindergarten's default: the chats that follow it move to it."""
    kindergarten_id = actor.kindergarten_id
    begin_write(f"rules-kg-{kindergarten_id}")
    current = default_rules(kindergarten_id)
    if current is not None and current.text.strip() == text.strip():
        raise ActionError(_("Текст правил не изменился."), field="text")
    rules = Rules(
        kindergarten_id=kindergarten_id,
        version=(current.version if current else 0) + 1,
        text=text,
        note=note,
        created_by_id=actor.id,
    )
    db.session.add(rules)
    db.session.flush()
    following = select(Rules.id).where(
        Rules.kindergarten_id == kindergarten_id, Rules.chat_id.is_(None), Rules.id != rules.id
    )
    chat_ids = db.session.scalars(
        update(Chat)
        .where(Chat.kindergarten_id == kindergarten_id, Chat.rules_id.in_(following))
        .values(rules_id=rules.id)
        .returning(Chat.id)
    ).all()
    record(
        actor,
        "rules.default_changed",
        rules,
        version=rules.version,
        note=note,
        chats=len(chat_ids),
    )
    _rules_changed(chat_ids)
    db.session.commit()
    return rules
