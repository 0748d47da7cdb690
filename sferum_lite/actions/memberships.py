"""Membership helpers shared by actions; they add to the session and never commit."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import Chat, ChatMember

STAFF_SYSTEM_CHATS = ("staff_group", "staff", "news")


def join_system_chats(user, systems=STAFF_SYSTEM_CHATS) -> None:
    chats = db.session.scalars(
        select(Chat.id).where(
            Chat.kindergarten_id == user.kindergarten_id, Chat.system.in_(systems)
        )
    ).all()
    present = set(
        db.session.scalars(
            select(ChatMember.chat_id).where(
                ChatMember.user_id == user.id, ChatMember.chat_id.in_(chats)
            )
        )
    )
    for chat_id in chats:
        if chat_id not in present:
            db.session.add(ChatMember(chat_id=chat_id, user_id=user.id))
