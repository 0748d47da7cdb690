"""Who may do what.

Two kinds of functions live here:
- pure predicates on roles (`is_staff`, `can_administer`, ...): no queries, no side effects;
  views and templates call the same ones to decide what to do and which buttons to show;
- `access_*` functions, one per object: they load the object for a user or raise one and the
  same 404 for "missing" and "not yours", so nobody can probe ids that aren't theirs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import abort
from sqlalchemy import select

from .extensions import db
from .models import (
    EDUCATOR_POSITIONS,
    Attachment,
    Chat,
    ChatInvite,
    ChatMember,
    Child,
    Group,
    GroupEducator,
    JoinRequest,
    Message,
    Poll,
    StaffInvite,
    User,
)

# --- predicates -------------------------------------------------------------------------------


def is_signed_in(user) -> bool:
    return bool(user is not None and user.is_authenticated)


def is_director(user) -> bool:
    return is_signed_in(user) and user.is_director


def is_staff(user) -> bool:
    """Director, or a staff member who has not been dismissed."""
    if not is_signed_in(user):
        return False
    return user.is_director or (user.position is not None and user.dismissed_at is None)


def is_educator(user) -> bool:
    return is_staff(user) and user.position in EDUCATOR_POSITIONS


def is_verified(user) -> bool:
    """A verified staff member: shows the badge next to their name everywhere."""
    return is_staff(user) and (user.is_director or user.verified_at is not None)


def is_parent(user) -> bool:
    return is_signed_in(user) and bool(user.has_children)


def is_admin(user) -> bool:
    """Has the administrator role: the director always; other staff when granted the role and
    verified (someone who registered through an administrator's invite waits like everyone)."""
    return is_staff(user) and (user.is_director or (user.is_admin and user.verified_at is not None))


can_administer = is_admin


def can_grant_admin(actor, target) -> bool:
    return is_director(actor) and is_staff(target) and not target.is_director


def _may_manage(actor, target) -> bool:
    """An administrator acts on staff; on another administrator only the director does."""
    return (
        can_administer(actor)
        and is_staff(target)
        and not target.is_director
        and target.id != actor.id
        and (actor.is_director or not target.is_admin)
    )


def can_verify(actor, target) -> bool:
    return _may_manage(actor, target) and target.verified_at is None


can_dismiss = _may_manage
can_edit_staff = _may_manage


def can_invite_staff(actor, grants_admin: bool = False) -> bool:
    """Administrators invite staff; an invite that makes an administrator is the director's."""
    return can_administer(actor) and (not grants_admin or is_director(actor))


def can_join_as_staff(user) -> bool:
    """A signed-in person who is not staff now (a parent, or someone dismissed earlier)."""
    return is_signed_in(user) and not is_staff(user)


# --- chats: predicates on a ChatAccess (who, which chat, their membership) -----------------------


@dataclass(frozen=True)
class ChatAccess:
    """What `access_chat` found: the person, the chat, and their membership (None when they see
    the chat as the administration without being a member)."""

    user: User
    chat: Chat
    member: ChatMember | None

    @property
    def is_member(self) -> bool:
        return self.member is not None


def sees_every_chat(user) -> bool:
    """The director and the administrators are present in every chat (reg 000, variant 2)."""
    return is_admin(user)


def can_create_chat(user) -> bool:
    """Educators open chats for their groups; the administration opens any chat."""
    return is_admin(user) or (is_educator(user) and is_verified(user))


def can_moderate(access: ChatAccess) -> bool:
    """The chat's moderators; the director and the administrators moderate every chat."""
    if is_admin(access.user):
        return True
    return access.member is not None and access.member.is_moderator and is_staff(access.user)


def may_write(access: ChatAccess) -> bool:
    """The chat lets this member write, rules aside: a member of a chat that is not archived,
    and staff in a channel."""
    chat = access.chat
    if access.member is None or chat.is_archived:
        return False
    return chat.kind != "channel" or is_staff(access.user)


def has_accepted_rules(access: ChatAccess) -> bool:
    """The member accepted the chat's current rules (a direct chat has none)."""
    return access.chat.rules_id is None or (
        access.member is not None and access.member.rules_accepted_id == access.chat.rules_id
    )


def must_accept_rules(access: ChatAccess) -> bool:
    """Show the rules banner with «Принимаю» in place of the composer (reg 004 §22)."""
    return may_write(access) and not has_accepted_rules(access)


def can_post(access: ChatAccess) -> bool:
    """Write into the chat: nobody posts before accepting its current rules (reg 004 §22).
    Blocks (the moderation issue) plug in here."""
    return may_write(access) and has_accepted_rules(access)


def can_take_part(access: ChatAccess) -> bool:
    """React, vote: every member of a chat that is not archived, channels included."""
    return access.member is not None and not access.chat.is_archived


def can_confirm(access: ChatAccess) -> bool:
    """«Ознакомлен(а)» under an important message."""
    return can_take_part(access)


def can_mark_important(access: ChatAccess) -> bool:
    return can_post(access) and is_staff(access.user)


def can_edit_message(access: ChatAccess, message: Message) -> bool:
    return (
        message.author_id == access.user.id
        and not message.is_deleted
        and message.text != ""  # a poll or photos without a caption have nothing to edit
        and can_post(access)
    )


def can_delete_message(access: ChatAccess, message: Message) -> bool:
    return (
        message.author_id == access.user.id
        and not message.is_deleted
        and access.member is not None
        and not access.chat.is_archived
    )


def can_pin(access: ChatAccess) -> bool:
    return can_moderate(access) and not access.chat.is_archived


def can_see_edits(access: ChatAccess, message: Message) -> bool:
    """Earlier versions of an edited message: its author, the moderators and the
    administration."""
    return message.author_id == access.user.id or can_moderate(access)


def can_see_confirmations(access: ChatAccess, message: Message) -> bool:
    """Who confirmed an important message and who has not: its author and the moderators."""
    return message.author_id == access.user.id or can_moderate(access)


def can_manage_chat(access: ChatAccess) -> bool:
    """Rename, archive, restore: the moderators; system chats keep their place."""
    return can_moderate(access) and access.chat.kind != "direct"


def can_archive_chat(access: ChatAccess) -> bool:
    return can_manage_chat(access) and access.chat.system is None


def can_add_staff(access: ChatAccess) -> bool:
    return can_manage_chat(access) and not access.chat.is_archived


def can_add_parents(access: ChatAccess) -> bool:
    """Parents of the children of the chat's group, added by its moderators; into a chat of
    the whole kindergarten (the parents' committee), any parent, by the administration."""
    if access.chat.group_id is None:
        return can_add_staff(access) and is_admin(access.user) and access.chat.system is None
    return can_add_staff(access)


def can_edit_rules(access: ChatAccess) -> bool:
    """A new version of the chat's rules: its moderators."""
    return can_manage_chat(access) and not access.chat.is_archived


def can_see_acceptances(access: ChatAccess) -> bool:
    """Who accepted the current rules and who has not: moderators and the administration."""
    return can_moderate(access) and access.chat.kind != "direct"


STAFF_ONLY_SYSTEM_CHATS = ("staff_group", "staff")


def can_invite(access: ChatAccess) -> bool:
    """Invite links into a chat: its moderators, for chats parents may join (not a direct chat
    and not the staff's own chats, which staff join by a staff invite)."""
    chat = access.chat
    return (
        can_moderate(access)
        and not chat.is_archived
        and chat.kind != "direct"
        and chat.system not in STAFF_ONLY_SYSTEM_CHATS
    )


def can_admit(access: ChatAccess) -> bool:
    """Admit or decline people waiting to join: the moderators (a direct chat has no one
    waiting)."""
    return can_moderate(access) and not access.chat.is_archived and access.chat.kind != "direct"


# --- access functions --------------------------------------------------------------------------


def _not_found():
    abort(404)


def _same_kindergarten(user, obj) -> bool:
    return obj is not None and obj.kindergarten_id == user.kindergarten_id


def access_group(user, group_id: int) -> Group:
    """A group for the administration, or for an educator attached to it."""
    group = db.session.get(Group, group_id)
    if not _same_kindergarten(user, group):
        _not_found()
    if can_administer(user):
        return group
    attached = db.session.scalar(
        select(GroupEducator.user_id).where(
            GroupEducator.group_id == group.id, GroupEducator.user_id == user.id
        )
    )
    if attached is None or not is_educator(user):
        _not_found()
    return group


def access_child(user, child_id: int) -> Child:
    """A child of the roster, for the administration."""
    child = db.session.get(Child, child_id)
    if not _same_kindergarten(user, child) or not can_administer(user):
        _not_found()
    return child


def access_staff_member(user, user_id: int) -> User:
    """A present or former staff member, for the administration."""
    member = db.session.get(User, user_id)
    if (
        not _same_kindergarten(user, member)
        or not can_administer(user)
        or not (member.is_director or member.position is not None)
    ):
        _not_found()
    return member


def access_staff_invite(user, invite_id: int) -> StaffInvite:
    """An invite, for those who could have made it: one that makes an administrator (and its
    link) is the director's alone."""
    invite = db.session.get(StaffInvite, invite_id)
    if not _same_kindergarten(user, invite) or not can_invite_staff(user, invite.grants_admin):
        _not_found()
    return invite


# what secrets.token_urlsafe makes: anything else (a NUL byte, quotes) is no token of ours and
# never reaches the database (PostgreSQL refuses NUL in text outright)
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _is_token(token: str) -> bool:
    return bool(token) and _TOKEN.fullmatch(token) is not None


def staff_invite_by_token(token: str) -> StaffInvite | None:
    """The invite a link carries, in whatever state; None for an unknown token."""
    if not _is_token(token):
        return None
    return db.session.scalar(select(StaffInvite).where(StaffInvite.token == token))


def chat_invite_by_token(token: str) -> ChatInvite | None:
    """The chat invite a link carries, in whatever state; None for an unknown token."""
    if not _is_token(token):
        return None
    return db.session.scalar(select(ChatInvite).where(ChatInvite.token == token))


def access_chat_invite(user, invite_id: int) -> tuple[ChatAccess, ChatInvite]:
    """An invite, for those who may invite into its chat."""
    invite = db.session.get(ChatInvite, invite_id)
    if invite is None:
        _not_found()
    access = access_chat(user, invite.chat_id)
    if not can_moderate(access):
        _not_found()
    return access, invite


def access_join_request(user, request_id: int) -> tuple[ChatAccess, JoinRequest]:
    """A request to join, for the chat's moderators."""
    join_request = db.session.get(JoinRequest, request_id)
    if join_request is None:
        _not_found()
    access = access_chat(user, join_request.chat_id)
    if not can_moderate(access):
        _not_found()
    return access, join_request


def own_join_request(user, request_id: int) -> JoinRequest:
    """A request to join, for the person who made it."""
    join_request = db.session.get(JoinRequest, request_id)
    if join_request is None or not is_signed_in(user) or join_request.user_id != user.id:
        _not_found()
    return join_request


def access_chat(user, chat_id: int) -> ChatAccess:
    """A chat for one of its members, or for the administration, which sees every chat."""
    chat = db.session.get(Chat, chat_id)
    if not is_signed_in(user) or not _same_kindergarten(user, chat):
        _not_found()
    member = db.session.get(ChatMember, (chat.id, user.id))
    if member is None and not sees_every_chat(user):
        _not_found()
    return ChatAccess(user, chat, member)


def access_message(user, message_id: int) -> tuple[ChatAccess, Message]:
    message = db.session.get(Message, message_id)
    if message is None:
        _not_found()
    return access_chat(user, message.chat_id), message


def access_attachment(user, attachment_id: int) -> tuple[ChatAccess, Attachment]:
    """A photo or file, for those who see its chat, while its message is not deleted."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None:
        _not_found()
    access, message = access_message(user, attachment.message_id)
    if message.is_deleted:
        _not_found()
    return access, attachment


def access_poll(user, poll_id: int) -> tuple[ChatAccess, Message, Poll]:
    """A poll, for those who see its chat."""
    poll = db.session.get(Poll, poll_id)
    if poll is None:
        _not_found()
    access, message = access_message(user, poll.message_id)
    return access, message, poll
