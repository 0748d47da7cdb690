"""Who may do what.

Two kinds of functions live here:
- pure predicates on roles (`is_staff`, `can_administer`, ...): no queries, no side effects;
  views and templates call the same ones to decide what to do and which buttons to show;
- `access_*` functions, one per object: they load the object for a user or raise one and the
  same 404 for "missing" and "not yours", so nobody can probe ids that aren't theirs.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from flask import abort
from sqlalchemy import and_, or_, select

from .extensions import db
from .models import (
    BLOCK_AFTER,
    EDUCATOR_POSITIONS,
    Attachment,
    Block,
    Chat,
    ChatInvite,
    ChatMember,
    Child,
    Group,
    GroupEducator,
    JoinRequest,
    Message,
    ParentChild,
    PasswordReset,
    Poll,
    Report,
    StaffInvite,
    User,
    utcnow,
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


def is_trusted_staff(user) -> bool:
    """Staff whose staff powers count: the director, and a staff member the administration has
    verified (reg 000 §2.2, reg 002 §2.6). Whoever opened a staff invite link is nobody yet
    until then: no staff chats, nobody's phone or e-mail, no posting in channels, no «Важное»,
    no skipping the child step or the approval on a chat link. The badge ✓ shows this too.
    Its SQL twin is `TRUSTED_STAFF`, just below: change both together."""
    return is_staff(user) and (user.is_director or user.verified_at is not None)


# `is_trusted_staff` in SQL, for lists and figures
TRUSTED_STAFF = or_(
    User.is_director,
    and_(User.position.is_not(None), User.dismissed_at.is_(None), User.verified_at.is_not(None)),
)

# `is_staff` in SQL: present staff, verified or not (the director's figures count them all)
STAFF = or_(User.is_director, and_(User.position.is_not(None), User.dismissed_at.is_(None)))

# the badge ✓ next to a name is the same rule, under the name templates know it by
is_verified = is_trusted_staff


def is_educator(user) -> bool:
    """An educator whose work counts: trusted staff in an educator's position."""
    return is_trusted_staff(user) and user.position in EDUCATOR_POSITIONS


def sees_contacts(user) -> bool:
    """Phone numbers and e-mails of the people in a chat: trusted staff only, never a parent
    and never a staff member nobody has verified yet."""
    return is_trusted_staff(user)


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


def can_hand_over_direction(actor, target) -> bool:
    """The director hands the kindergarten over to a verified colleague, who becomes the
    director; the former one stays on as a deputy and administrator."""
    return (
        is_director(actor)
        and is_staff(target)
        and is_verified(target)
        and not target.is_director
        and target.id != actor.id
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
    """What `access_chat` found: the person, the chat, their membership (None when they see
    the chat as the administration without being a member) and the block they are under now."""

    user: User
    chat: Chat
    member: ChatMember | None
    block: Block | None = None

    @property
    def is_member(self) -> bool:
        return self.member is not None


def sees_every_chat(user) -> bool:
    """The director and the administrators are present in every chat (reg 000, variant 2)."""
    return is_admin(user)


def can_create_chat(user) -> bool:
    """Educators open chats for their groups; the administration opens any chat."""
    return is_admin(user) or is_educator(user)


def can_moderate(access: ChatAccess) -> bool:
    """The chat's moderators — not while blocked there themselves; the director and the
    administrators moderate every chat."""
    if is_admin(access.user):
        return True
    return (
        access.member is not None
        and access.member.is_moderator
        and is_trusted_staff(access.user)
        and access.block is None
    )


def may_write(access: ChatAccess) -> bool:
    """The chat lets this member write, rules aside: a member of a chat that is not archived,
    and trusted staff in a channel."""
    chat = access.chat
    if access.member is None or chat.is_archived:
        return False
    return chat.kind != "channel" or is_trusted_staff(access.user)


def has_accepted_rules(access: ChatAccess) -> bool:
    """The member accepted the chat's current rules (a direct chat has none)."""
    return access.chat.rules_id is None or (
        access.member is not None and access.member.rules_accepted_id == access.chat.rules_id
    )


def must_accept_rules(access: ChatAccess) -> bool:
    """Show the rules banner with «Принимаю» in place of the composer (reg 004 §22)."""
    return may_write(access) and not has_accepted_rules(access)


def is_blocked(access: ChatAccess) -> bool:
    """Under a block in this chat now (reg 004 §24): reads, but does not post, react or vote."""
    return access.block is not None


def can_post(access: ChatAccess) -> bool:
    """Write into the chat: nobody posts before accepting its current rules (reg 004 §22), and a
    blocked member not at all (§24)."""
    return may_write(access) and has_accepted_rules(access) and not is_blocked(access)


def can_take_part(access: ChatAccess) -> bool:
    """React, vote: every member of a chat that is not archived, channels included, unless
    blocked."""
    return access.member is not None and not access.chat.is_archived and not is_blocked(access)


def can_confirm(access: ChatAccess) -> bool:
    """«Ознакомлен(а)» under an important message: a blocked member too — the kindergarten's
    news keeps reaching the family."""
    return access.member is not None and not access.chat.is_archived


def can_mark_important(access: ChatAccess) -> bool:
    return can_post(access) and is_trusted_staff(access.user)


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
        and message.kind != "apology"  # the apology stands while members may object to it
    )


# --- moderation (reg 004 §20–27) ----------------------------------------------------------------


def has_rules(access: ChatAccess) -> bool:
    """Moderation names a clause of the chat's rules (§26): a direct chat has none."""
    return access.chat.rules_id is not None


def can_act_on(access: ChatAccess, target: User | None) -> bool:
    """Moderate this person in this chat: a moderator acts on parents; on staff only the
    director and the administrators, and on the director nobody; never on oneself. Staff not
    yet verified are moderated like anybody else."""
    if target is None or not can_moderate(access) or not has_rules(access):
        return False
    if target.id == access.user.id:
        return False
    if is_trusted_staff(target):
        return is_admin(access.user) and not target.is_director
    return True


def can_moderate_message(access: ChatAccess, message: Message) -> bool:
    """Delete it under a clause, or record a violation for it: a member's own words — an
    apology stands for the members to weigh (§25), a reminder is the moderators' own."""
    return not message.is_deleted and message.kind == "" and can_act_on(access, message.author)


def can_remind(access: ChatAccess) -> bool:
    """«Напомнить правила» (§23): one tap posts the rules' reminder into the chat."""
    return can_moderate(access) and has_rules(access) and not access.chat.is_archived


def can_block(access: ChatAccess, target: User, violations: int, blocked: bool) -> bool:
    """Only a member who broke the rules more than three times in this chat, and who is not
    blocked already (§24)."""
    return (
        can_act_on(access, target)
        and not access.chat.is_archived
        and violations > BLOCK_AFTER
        and not blocked
    )


def can_apologize(access: ChatAccess) -> bool:
    """The blocked member apologises to the chat, once per block (§25)."""
    return is_blocked(access) and access.block.apology_at is None and not access.chat.is_archived


def can_object(
    access: ChatAccess, block: Block, *, objected: bool, now: datetime | None = None
) -> bool:
    """«Против досрочной разблокировки»: any other member, once, while the window is open; the
    moderators decide on the unblock rather than object to it."""
    now = now or utcnow()
    return (
        access.member is not None
        and not can_moderate(access)
        and block.user_id != access.user.id
        and block.chat_id == access.chat.id
        and block.is_active(now)
        and block.window_open(now)
        and not objected
        and not access.chat.is_archived
    )


def can_report(access: ChatAccess, message: Message) -> bool:
    """Any member reports someone else's message to the moderators (who act on it instead)."""
    return (
        access.member is not None
        and not can_moderate(access)
        and message.author_id != access.user.id
        and message.chat_id == access.chat.id
        and not message.is_deleted
        and not access.chat.is_archived
    )


def can_see_chat_log(access: ChatAccess) -> bool:
    """The chat's moderation log: its moderators and the administration."""
    return can_moderate(access) and access.chat.kind != "direct"


def sees_dashboard(user) -> bool:
    """The director's view — figures, all chats, exports, the monthly report: the director,
    and the administrators who help run the kindergarten."""
    return is_admin(user)


def sees_moderation_log(user) -> bool:
    """The whole kindergarten's moderation log: the director and the administrators."""
    return is_admin(user)


def can_set_moderator(access: ChatAccess, target: User, value: bool) -> bool:
    """Name a verified staff member of the chat its co-moderator; withdraw one — oneself, or
    anyone for the chat's creator and the administration."""
    if not can_manage_chat(access) or access.chat.is_archived or not is_staff(target):
        return False
    if value:
        return is_verified(target)
    return (
        target.id == access.user.id
        or is_admin(access.user)
        or access.chat.created_by_id == access.user.id
    )


def can_resolve_report(access: ChatAccess, report: Report) -> bool:
    """Deal with a report — not one about one's own message: that is for the other
    moderators and the administration."""
    return can_moderate(access) and report.message.author_id != access.user.id


def can_remove_member(access: ChatAccess, target: User) -> bool:
    """Take someone out of a chat — only on a ground (a departure), never «just remove» (§26)."""
    return can_act_on(access, target) and access.chat.kind != "direct"


def can_pin(access: ChatAccess) -> bool:
    return can_moderate(access) and not access.chat.is_archived


def can_see_edits(access: ChatAccess, message: Message) -> bool:
    """Earlier versions of an edited message: its author, the moderators and the
    administration. Not of a message its author deleted: that is gone for everyone."""
    if message.is_deleted and message.deleted_clause is None:
        return False
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
    return ChatAccess(user, chat, member, active_block(chat.id, user.id) if member else None)


def chat_accesses(user, chats: list[Chat]) -> dict[int, ChatAccess]:
    """`access_chat` for several chats at once (a group's chats on its page): those of `chats`
    the person may open — as a member, or as the administration — with their memberships and
    blocks, in two queries. The others are left out, as `access_chat` would answer 404."""
    ids = [chat.id for chat in chats]
    members = {
        m.chat_id: m
        for m in db.session.scalars(
            select(ChatMember).where(ChatMember.user_id == user.id, ChatMember.chat_id.in_(ids))
        )
    }
    now = utcnow()
    blocks = {
        b.chat_id: b
        for b in db.session.scalars(
            select(Block).where(
                Block.user_id == user.id,
                Block.chat_id.in_(ids),
                Block.in_force(now),
            )
        )
    }
    return {
        chat.id: ChatAccess(
            user, chat, members.get(chat.id), blocks.get(chat.id) if chat.id in members else None
        )
        for chat in chats
        if chat.kindergarten_id == user.kindergarten_id
        and (chat.id in members or sees_every_chat(user))
    }


def active_block(chat_id: int, user_id: int) -> Block | None:
    """The block a member is under in a chat now; it ends by itself at its time."""
    return db.session.scalar(
        select(Block)
        .where(
            Block.chat_id == chat_id,
            Block.user_id == user_id,
            Block.in_force(),
        )
        .order_by(Block.ends_at.desc())
        .limit(1)
    )


def access_member(user, chat_id: int, member_id: int) -> tuple[ChatAccess, ChatMember, User]:
    """A member of a chat, for its moderators: their violations, blocks and what may be done."""
    access = access_chat(user, chat_id)
    member = db.session.get(ChatMember, (access.chat.id, member_id))
    if member is None or not can_see_chat_log(access):
        _not_found()
    return access, member, db.session.get(User, member_id)


def access_block(user, block_id: int) -> tuple[ChatAccess, Block]:
    """A block, for those who see its chat."""
    block = db.session.get(Block, block_id)
    if block is None:
        _not_found()
    return access_chat(user, block.chat_id), block


def access_report(user, report_id: int) -> tuple[ChatAccess, Report]:
    """A report, for the moderators of its chat."""
    report = db.session.get(Report, report_id)
    if report is None:
        _not_found()
    access = access_chat(user, report.chat_id)
    if not can_moderate(access):
        _not_found()
    return access, report


def access_message(user, message_id: int) -> tuple[ChatAccess, Message]:
    message = db.session.get(Message, message_id)
    if message is None:
        _not_found()
    return access_chat(user, message.chat_id), message


def access_attachment(user, attachment_id: int) -> tuple[ChatAccess, Attachment]:
    """A photo or file, for those who see its chat, while its message is not deleted; the
    files of a message a moderator deleted stay for the moderators, who read them in the
    moderation log (what an author deleted is gone for everyone)."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None:
        _not_found()
    access, message = access_message(user, attachment.message_id)
    if message.is_deleted and not (message.is_moderated and can_see_chat_log(access)):
        _not_found()
    return access, attachment


def access_poll(user, poll_id: int) -> tuple[ChatAccess, Message, Poll]:
    """A poll, for those who see its chat."""
    poll = db.session.get(Poll, poll_id)
    if poll is None:
        _not_found()
    access, message = access_message(user, poll.message_id)
    return access, message, poll


# --- password recovery (issue 13 §6) -------------------------------------------------------------


def can_reset_password(actor, target, *, teaches: bool) -> bool:
    """Make a one-time password-reset link (a QR code) for `target`, who is standing in front of
    `actor`: the administration for anyone, except that an administrator's is the director's
    alone and the director's nobody's (the director uses e-mail or the CLI); an educator for a
    parent of a group they teach (`teaches`: one of `target`'s children attends such a group).
    Never for oneself (that is «Изменить пароль») nor a deleted account."""
    if not is_signed_in(actor) or target is None or target.is_deleted or target.id == actor.id:
        return False
    if target.kindergarten_id != actor.kindergarten_id or target.is_director:
        return False
    if target.is_admin and is_staff(target):
        return is_director(actor)
    if can_administer(actor):
        return True
    return is_educator(actor) and is_verified(actor) and not is_staff(target) and teaches


def teaches_child_of(actor, target) -> bool:
    """`actor` is attached to a group that a child of `target` attends now."""
    if not is_signed_in(actor) or target is None:
        return False
    return (
        db.session.scalar(
            select(GroupEducator.user_id)
            .join(Child, Child.group_id == GroupEducator.group_id)
            .join(ParentChild, ParentChild.child_id == Child.id)
            .where(
                GroupEducator.user_id == actor.id,
                ParentChild.user_id == target.id,
                Child.left_at.is_(None),
            )
            .limit(1)
        )
        is not None
    )


def may_reset_password(actor, target) -> bool:
    """`can_reset_password` with the one query it needs (only when it matters), for a page's
    button and the action alike."""
    if not is_signed_in(actor) or target is None:
        return False
    teaches = not can_administer(actor) and is_educator(actor) and teaches_child_of(actor, target)
    return can_reset_password(actor, target, teaches=teaches)


def access_reset_target(user, user_id: int) -> User:
    """A person `user` may make a password-reset link for; one and the same 404 otherwise."""
    target = db.session.get(User, user_id)
    if not _same_kindergarten(user, target) or not may_reset_password(user, target):
        _not_found()
    return target


def reset_token_hash(token: str) -> str:
    """What is stored of a reset link's token: its SHA-256 (the token has 256 random bits, so
    no salt or slow hash is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def password_reset_by_token(token: str) -> PasswordReset | None:
    """The reset link a token belongs to, in whatever state; None for an unknown token or one
    whose person is gone."""
    if not _is_token(token):
        return None
    reset = db.session.scalar(
        select(PasswordReset).where(PasswordReset.token_hash == reset_token_hash(token))
    )
    if reset is None or reset.user.is_deleted:
        return None
    return reset
