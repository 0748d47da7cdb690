"""Chats: create (by template), rename, archive and restore, add members, direct chats."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from ..database import begin_write
from ..extensions import db
from ..live import kindergarten_topic, publish_after_commit
from ..models import Chat, ChatMember, User, utcnow
from ..permissions import ChatAccess
from . import ActionError
from .audit import record
from .rules import accept, give_rules


def _changed(chat: Chat) -> None:
    """Chat lists show the change (a new chat, a new title, archived)."""
    publish_after_commit(kindergarten_topic(chat.kindergarten_id), {"chat": chat.id})


def _add_members(chat: Chat, users, *, moderators=(), accepted=()) -> list[int]:
    """Add `users` not yet in the chat; those in `accepted` have accepted its rules (the
    person who set the chat up chose them); the others accept them before they post."""
    present = set(
        db.session.scalars(select(ChatMember.user_id).where(ChatMember.chat_id == chat.id))
    )
    added = []
    moderator_ids = {user.id for user in moderators}
    accepted_ids = {user.id for user in accepted}
    for user in users:
        if user.id in present:
            continue
        present.add(user.id)
        member = ChatMember(chat_id=chat.id, user_id=user.id, is_moderator=user.id in moderator_ids)
        db.session.add(member)
        if user.id in accepted_ids:
            accept(member, chat.rules_id)
        added.append(user.id)
    return added


def do_create_chat(actor: User, *, kind: str, title: str, group=None, members=()) -> Chat:
    """A new chat; its creator is its moderator. `members` are added with it."""
    begin_write()
    chat = Chat(
        kindergarten_id=actor.kindergarten_id,
        kind=kind,
        title=title,
        group_id=group.id if group is not None else None,
        created_by_id=actor.id,
        last_activity_at=utcnow(),
    )
    give_rules(chat)
    db.session.add(chat)
    db.session.flush()
    added = _add_members(chat, [actor, *members], moderators=[actor], accepted=[actor])
    record(actor, "chat.create", chat, kind=kind, title=title, members=len(added))
    _changed(chat)
    db.session.commit()
    return chat


def do_rename_chat(actor: User, access: ChatAccess, title: str) -> Chat:
    begin_write()
    chat = db.session.get(Chat, access.chat.id)
    old = chat.title
    chat.title = title
    record(actor, "chat.rename", chat, old=old, new=title)
    _changed(chat)
    db.session.commit()
    return chat


def do_archive_chat(actor: User, access: ChatAccess) -> Chat:
    begin_write()
    chat = db.session.get(Chat, access.chat.id)
    if chat.archived_at is not None:
        raise ActionError(_("Чат уже в архиве."))
    chat.archived_at = utcnow()
    record(actor, "chat.archive", chat)
    _changed(chat)
    db.session.commit()
    return chat


def do_restore_chat(actor: User, access: ChatAccess) -> Chat:
    begin_write()
    chat = db.session.get(Chat, access.chat.id)
    if chat.archived_at is None:
        raise ActionError(_("Чат не в архиве."))
    chat.archived_at = None
    record(actor, "chat.restore", chat)
    _changed(chat)
    db.session.commit()
    return chat


def do_add_members(actor: User, access: ChatAccess, users) -> int:
    """Add people the view has checked may join; returns how many were new."""
    begin_write()
    chat = db.session.get(Chat, access.chat.id)
    if chat.archived_at is not None:
        raise ActionError(_("Чат в архиве: в него нельзя добавлять участников."))
    added = _add_members(chat, users)
    if added:
        record(actor, "chat.add_members", chat, users=added)
        _changed(chat)
    db.session.commit()
    return len(added)


def direct_key(educator: User, parent: User) -> str:
    return f"{educator.id}:{parent.id}"


def do_start_direct_chat(actor: User, educator: User, parent: User) -> Chat:
    """The one direct chat of an educator and a parent: found, or made now."""
    key = direct_key(educator, parent)
    begin_write(f"direct:{key}")
    chat = db.session.scalar(select(Chat).where(Chat.direct_key == key))
    if chat is not None:
        db.session.commit()
        return chat
    chat = Chat(
        kindergarten_id=actor.kindergarten_id,
        kind="direct",
        title=f"{educator.name} — {parent.name}",
        direct_key=key,
        created_by_id=actor.id,
        last_activity_at=utcnow(),
    )
    db.session.add(chat)
    db.session.flush()
    _add_members(chat, [educator, parent], moderators=[educator])
    record(actor, "chat.direct", chat, educator=educator.id, parent=parent.id)
    _changed(chat)
    db.session.commit()
    return chat
