"""Departures (reg 004 §27): a child leaves a group, a staff member is dismissed. The people
concerned leave the chats they were in for that reason, each removal logged with its ground;
they are told on their next visit. These add to the action's session and never commit."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..live import kindergarten_topic, publish_after_commit
from ..models import (
    Chat,
    ChatMember,
    ChatRemoval,
    Child,
    Group,
    GroupEducator,
    ParentChild,
    User,
    utcnow,
)
from ..moderation_view import has_child_in
from ..permissions import is_trusted_staff
from .memberships import join_system_chats
from .moderation import log, remove_from_chat


def _close_direct(actor: User | None, chat: Chat, reason: str, member: User) -> None:
    """A direct chat whose reason ended stays readable for both, and takes no new messages."""
    if chat.archived_at is not None:
        return
    chat.archived_at = utcnow()
    log(actor, chat, "archived", member=member, ground=reason[:400])
    publish_after_commit(kindergarten_topic(chat.kindergarten_id), {"chat": chat.id})


def child_left_group(actor: User, child: Child, group_id: int, *, moved: bool = False) -> None:
    """The child no longer attends `group_id` (left the kindergarten, or moved to another
    group): each parent with no other child there leaves that group's chats, and their direct
    chats with its educators close — unless that educator teaches another of their children."""
    group = db.session.get(Group, group_id)
    reason = (
        _(
            "Ребёнок (%(child)s) переведён из группы «%(group)s»",
            child=child.full_name,
            group=group.name,
        )
        if moved
        else _(
            "Ребёнок (%(child)s) выбыл из группы «%(group)s»",
            child=child.full_name,
            group=group.name,
        )
    )
    parents = db.session.scalars(
        select(User)
        .join(ParentChild, ParentChild.user_id == User.id)
        .where(ParentChild.child_id == child.id)
    ).all()
    educators = set(
        db.session.scalars(select(GroupEducator.user_id).where(GroupEducator.group_id == group_id))
    )
    for parent in parents:
        if has_child_in(parent, group_id, besides=child.id):
            continue
        # no child attends at all now: the kindergarten-wide chats (the news, the committee) go
        # too — unless the person works here
        anywhere = not is_trusted_staff(parent) and not has_child_in(parent, None, besides=child.id)
        of_chat = Chat.group_id == group_id
        if anywhere:
            of_chat = of_chat | Chat.group_id.is_(None)
        chats = db.session.scalars(
            select(Chat)
            .join(ChatMember, ChatMember.chat_id == Chat.id)
            .where(ChatMember.user_id == parent.id, Chat.kind != "direct", of_chat)
        ).all()
        own_group = is_trusted_staff(parent) and parent.id in educators
        for chat in chats:
            if not own_group:  # an educator whose child left stays in their group's chats
                remove_from_chat(
                    actor, chat, parent, ground="departure", reason=reason, child=child.id
                )
        for educator_id in educators:
            direct = db.session.scalar(
                select(Chat).where(Chat.direct_key == f"{educator_id}:{parent.id}")
            )
            # a moved child now attends a group of its own: the educator may teach it there too
            besides = None if moved else child.id
            if direct is None or _teaches_child_of(educator_id, parent, besides=besides):
                continue
            _close_direct(actor, direct, reason, parent)


def _teaches_child_of(educator_id: int, parent: User, *, besides: int | None) -> bool:
    query = (
        select(Child.id)
        .join(ParentChild, ParentChild.child_id == Child.id)
        .join(GroupEducator, GroupEducator.group_id == Child.group_id)
        .where(
            ParentChild.user_id == parent.id,
            Child.left_at.is_(None),
            GroupEducator.user_id == educator_id,
        )
    )
    if besides is not None:
        query = query.where(Child.id != besides)
    return db.session.scalar(query.limit(1)) is not None


def child_returned(actor: User, child: Child) -> None:
    """A child back on the roster: an old invite link brings the parents back into the group's
    chats (their removal on the departure no longer stands), and their direct chats with the
    group's educators open again."""
    parent_ids = select(ParentChild.user_id).where(ParentChild.child_id == child.id)
    chat_ids = select(Chat.id).where(Chat.group_id == child.group_id)
    for removal in db.session.scalars(
        select(ChatRemoval).where(
            ChatRemoval.user_id.in_(parent_ids),
            ChatRemoval.chat_id.in_(chat_ids),
            ChatRemoval.ground == "departure",
        )
    ):
        db.session.delete(removal)
    for parent in db.session.scalars(select(User).where(User.id.in_(parent_ids))):
        join_system_chats(parent, ("news",))  # a parent reads the kindergarten's news
    keys = [
        f"{educator_id}:{parent_id}"
        for educator_id in db.session.scalars(
            select(GroupEducator.user_id).where(GroupEducator.group_id == child.group_id)
        )
        for parent_id in db.session.scalars(parent_ids)
    ]
    if not keys:
        return
    for direct in db.session.scalars(
        select(Chat).where(Chat.direct_key.in_(keys), Chat.archived_at.is_not(None))
    ):
        direct.archived_at = None
        log(
            actor,
            direct,
            "reopened",
            ground=_("Ребёнок (%(child)s) снова в группе", child=child.full_name)[:400],
        )
        publish_after_commit(kindergarten_topic(direct.kindergarten_id), {"chat": direct.id})


def staff_dismissed(actor: User, member: User, successor: User | None) -> None:
    """A dismissed staff member leaves every chat they were in for their work — a parent keeps
    the chats of their own children's groups and the news. Chats they moderated pass to
    `successor`; their direct chats close."""
    reason = _("Сотрудник уволен")
    own_groups = set(
        db.session.scalars(
            select(Child.group_id)
            .join(ParentChild, ParentChild.child_id == Child.id)
            .where(ParentChild.user_id == member.id, Child.left_at.is_(None))
        )
    )
    rows = db.session.execute(
        select(Chat, ChatMember)
        .join(ChatMember, ChatMember.chat_id == Chat.id)
        .where(ChatMember.user_id == member.id)
    ).all()
    for chat, membership in rows:
        if chat.kind == "direct":
            _close_direct(actor, chat, reason, member)
            continue
        as_parent = (chat.system == "news" and own_groups) or (
            chat.system is None and chat.group_id in own_groups
        )
        if membership.is_moderator:
            hand_over(actor, chat, member, successor)
            membership.is_moderator = False
        if not as_parent:
            remove_from_chat(actor, chat, member, ground="dismissal", reason=reason)


def hand_over(actor: User, chat: Chat, member: User, successor: User | None) -> None:
    if successor is None:
        return
    successor_member = db.session.get(ChatMember, (chat.id, successor.id))
    if successor_member is None:
        successor_member = ChatMember(chat_id=chat.id, user_id=successor.id)
        db.session.add(successor_member)
    successor_member.is_moderator = True
    log(
        actor,
        chat,
        "handover",
        member=member,
        successor=successor.id,  # an id: the log shows the name as it is now
    )
