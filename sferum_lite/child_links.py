"""Reads for issue 13 §2 (a child is linked to an account only when a person decides): the
roster's children a typed name matches, a link's recent misses, and the notices a parent gets
when another account is linked to their child."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from .extensions import db
from .models import Chat, ChatInvite, ChatInviteMiss, Child, ChildLinkNotice, User, utcnow
from .models.joining import MISS_WINDOW
from .roster import same_child


def roster_matches(chat: Chat, last_name: str, first_name: str) -> list[Child]:
    """Every child attending the chat's group (the whole kindergarten for a chat without a
    group) whose name is the one typed: none (a miss), one (pre-selected), or several."""
    query = select(Child).where(
        Child.kindergarten_id == chat.kindergarten_id, Child.left_at.is_(None)
    )
    if chat.group_id is not None:
        query = query.where(Child.group_id == chat.group_id)
    return [
        child
        for child in db.session.scalars(query)
        if same_child(child.name_key, last_name, first_name)
    ]


def recent_misses(invite: ChatInvite) -> int:
    """Names typed through the link in the last hour (since «Возобновить») that matched nobody."""
    since = utcnow() - MISS_WINDOW
    if invite.misses_from is not None and invite.misses_from > since:
        since = invite.misses_from
    return db.session.scalar(
        select(func.count())
        .select_from(ChatInviteMiss)
        .where(ChatInviteMiss.invite_id == invite.id, ChatInviteMiss.at >= since)
    )


def unseen_child_links(user: User) -> list[ChildLinkNotice]:
    """Accounts linked to the person's children since they last pressed «Понятно»."""
    return list(
        db.session.scalars(
            select(ChildLinkNotice)
            .options(
                joinedload(ChildLinkNotice.child),
                joinedload(ChildLinkNotice.parent),
                joinedload(ChildLinkNotice.decided_by),
            )
            .where(ChildLinkNotice.user_id == user.id, ChildLinkNotice.dismissed_at.is_(None))
            .order_by(ChildLinkNotice.id.desc())
            .limit(20)
        )
    )
