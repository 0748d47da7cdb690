"""Chat invites and joining by them: the link, the account, the child, the rules, approval."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import delete, select, update

from .. import queries
from ..child_links import recent_misses, roster_matches
from ..database import begin_write
from ..extensions import db
from ..live import kindergarten_topic, publish_after_commit
from ..models import (
    Chat,
    ChatInvite,
    ChatInviteMiss,
    ChatMember,
    ChatRemoval,
    Child,
    ChildLinkNotice,
    Consent,
    JoinRequest,
    ParentChild,
    StaffInvite,
    User,
    utcnow,
)
from ..models.joining import MEETING_LINK_LONGEST, MISS_WINDOW, MISSES_TO_PAUSE
from ..permissions import ChatAccess, is_trusted_staff
from ..security import hash_password
from . import ActionError
from .accounts import find_taken_login, note_taken_login
from .audit import record
from .memberships import join_system_chats
from .rules import accept


class DeadInvite(ActionError):
    """The link died (expired, revoked, used up) while the person was on their way."""

    def __init__(self, state: str):
        super().__init__(_("Эта ссылка-приглашение больше не действует."))
        self.state = state


def new_chat_token() -> str:
    """144 random bits in 24 characters: unguessable, and a small, easily scanned QR code."""
    return secrets.token_urlsafe(18)


def do_create_chat_invite(
    actor: User,
    access: ChatAccess,
    *,
    expires_at: datetime,
    max_uses: int | None,
    needs_approval: bool,
) -> ChatInvite:
    begin_write()
    chat = db.session.get(Chat, access.chat.id)
    if chat.archived_at is not None:
        raise ActionError(_("Чат в архиве: в него нельзя приглашать."))
    if not needs_approval and expires_at > utcnow() + MEETING_LINK_LONGEST:
        # a link that lets people in by a child's name alone is for a meeting in the room
        raise ActionError(
            _(
                "Ссылка без одобрения — для собрания в группе — действует не дольше 48 часов. "
                "Выберите «1 день» или «2 дня» либо впускайте новичков сами."
            ),
            field="expires",
        )
    invite = ChatInvite(
        kindergarten_id=chat.kindergarten_id,
        chat_id=chat.id,
        token=new_chat_token(),
        expires_at=expires_at,
        max_uses=max_uses,
        needs_approval=needs_approval,
        created_by_id=actor.id,
    )
    db.session.add(invite)
    record(
        actor,
        "chat_invite.created",
        invite,
        chat_id=chat.id,
        max_uses=max_uses,
        approval=needs_approval,
        expires_at=expires_at.isoformat(),
    )
    db.session.commit()
    return invite


def do_resume_chat_invite(actor: User, invite: ChatInvite) -> None:
    """«Возобновить»: a link paused after too many names that matched nobody lets people in
    again; the misses before now don't count again."""
    begin_write(f"chat-invite-{invite.id}")
    db.session.refresh(invite)
    if invite.paused_at is None:
        return
    paused_at = invite.paused_at
    invite.paused_at = None
    invite.misses_from = utcnow()
    record(
        actor,
        "chat_invite.resumed",
        invite,
        chat_id=invite.chat_id,
        paused_at=paused_at.isoformat(),
    )
    db.session.commit()


def do_revoke_chat_invite(actor: User, invite: ChatInvite) -> None:
    begin_write()
    if invite.revoked_at is not None:
        return
    invite.revoked_at = utcnow()
    invite.revoked_by_id = actor.id
    record(actor, "chat_invite.revoked", invite, chat_id=invite.chat_id)
    db.session.commit()


def do_annul_invites(
    actor: User, *, chat_invite_ids=(), staff_invite_ids=(), all_unused: bool = False
) -> int:
    """Revoke the chosen live invites of the actor's kindergarten, or every live one nobody has
    used yet (reg 000 §2.2, 003 §2.2); returns how many were annulled. One log row."""
    begin_write()
    now = utcnow()
    kindergarten_id = actor.kindergarten_id
    annulled = {"chat": [], "staff": []}
    for kind, model, ids in (
        ("chat", ChatInvite, chat_invite_ids),
        ("staff", StaffInvite, staff_invite_ids),
    ):
        query = select(model).where(
            model.kindergarten_id == kindergarten_id, queries._live_invite(now, model)
        )
        if all_unused:
            query = query.where(model.uses == 0)
        else:
            ids = [int(i) for i in ids]
            if not ids:
                continue
            query = query.where(model.id.in_(ids))
        for invite in db.session.scalars(query):
            invite.revoked_at = now
            if kind == "chat":
                invite.revoked_by_id = actor.id
            annulled[kind].append(invite.id)
    total = len(annulled["chat"]) + len(annulled["staff"])
    if total:
        record(
            actor,
            "invites.annulled",
            None,
            all_unused=all_unused,
            chat_invites=annulled["chat"],
            staff_invites=annulled["staff"],
        )
    db.session.commit()
    return total


def _live_or_die(invite: ChatInvite) -> Chat:
    """Under the invite's lock: the invite as it is now, refused if it died; its chat."""
    begin_write(f"chat-invite-{invite.id}")
    db.session.refresh(invite)
    state = invite.state()
    if state != "live":
        raise DeadInvite(state)
    chat = db.session.get(Chat, invite.chat_id)
    db.session.refresh(chat)
    return chat


def do_register_parent(
    invite: ChatInvite,
    *,
    name: str,
    login: tuple[str, str],
    password: str,
    consent_text_id: int,
) -> User | None:
    """An account made on the way into a chat, not signed in: the person signs in next and the
    join goes on after the rules step. A login that already has an account changes nothing and
    returns None — the view answers exactly as for a new account, so the form tells nobody
    whose phone is registered (issue 13 §3)."""
    password_hash = hash_password(password)  # before the write lock: it takes a while
    _live_or_die(invite)
    taken = find_taken_login(login)
    if taken is not None:
        db.session.rollback()
        note_taken_login(taken, invite=f"chat:{invite.id}")
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
    db.session.add(Consent(user_id=user.id, consent_text_id=consent_text_id))
    record(user, "account.registered", user, chat_invite_id=invite.id)
    db.session.commit()
    return user


@dataclass
class JoinOutcome:
    chat_id: int
    request: JoinRequest | None = None  # set when the person waits for the educator
    already: bool = False  # they were a member before

    @property
    def waiting(self) -> bool:
        return self.request is not None


def _link_child(
    user: User, child: Child | None, *, decided_by_id: int | None, by_link: bool = False
) -> None:
    """The parent–child link a person decided on: the educator who let them in, or the one
    who made a link without approval for a meeting. The child's other parents are told."""
    if child is None:
        return
    linked = db.session.get(ParentChild, (user.id, child.id))
    if linked is None:
        others = db.session.scalars(
            select(ParentChild.user_id).where(
                ParentChild.child_id == child.id, ParentChild.user_id != user.id
            )
        ).all()
        db.session.add(ParentChild(user_id=user.id, child_id=child.id))
        for other_id in others:
            db.session.add(
                ChildLinkNotice(
                    user_id=other_id,
                    child_id=child.id,
                    parent_id=user.id,
                    decided_by_id=decided_by_id,
                    by_link=by_link,
                )
            )
    join_system_chats(user, ("news",))  # a parent reads the kindergarten's news


def _count_miss(invite: ChatInvite, user: User) -> None:
    """A child's name typed through the link matched nobody: one row (under the link's lock,
    so no count is lost); the link pauses at MISSES_TO_PAUSE of them within MISS_WINDOW."""
    now = utcnow()
    db.session.execute(  # what no longer counts is not kept: the table stays small
        delete(ChatInviteMiss).where(
            ChatInviteMiss.invite_id == invite.id, ChatInviteMiss.at < now - MISS_WINDOW
        )
    )
    db.session.add(ChatInviteMiss(invite_id=invite.id, at=now))
    db.session.flush()
    misses = recent_misses(invite)
    if misses >= MISSES_TO_PAUSE and invite.paused_at is None:
        invite.paused_at = utcnow()
        record(
            user,
            "chat_invite.paused",
            invite,
            chat_id=invite.chat_id,
            misses=misses,
            minutes=int(MISS_WINDOW / timedelta(minutes=1)),
        )


def _admit(chat: Chat, user: User, rules_id: int | None, *, at=None) -> ChatMember:
    member = db.session.get(ChatMember, (chat.id, user.id))
    if member is None:
        member = ChatMember(chat_id=chat.id, user_id=user.id)
        db.session.add(member)
    if rules_id is not None and rules_id == chat.rules_id:
        accept(member, rules_id, at=at)
    publish_after_commit(kindergarten_topic(chat.kindergarten_id), {"chat": chat.id})
    return member


def refusal(user: User, chat: Chat) -> str | None:
    """Why this person can't come into the chat by a link, whatever the link's state."""
    if user.kindergarten_id != chat.kindergarten_id:
        return _(
            "Эта ссылка ведёт в чат другого детского сада, а ваша учётная запись — "
            "в «%(name)s». Попросите у воспитателя приглашение для вашей учётной записи.",
            name=user.kindergarten.name,
        )
    removed = db.session.get(ChatRemoval, (chat.id, user.id))
    if removed is not None:
        return _(
            "Вас исключили из этого чата, и ссылка-приглашение не возвращает в него. "
            "Если это ошибка, обратитесь к воспитателю или заведующему."
        )
    if chat.archived_at is not None:
        return _("Этот чат в архиве: в него больше нельзя вступить.")
    return None


def do_join_chat(
    invite: ChatInvite,
    user: User,
    *,
    child_name: tuple[str, str] | None,
    rules_id: int | None,
) -> JoinOutcome:
    """Redeem one use of the link: into the chat, or a request the educator decides.

    A member opening the link again stays as they are (a block is not lifted); a waiting
    request is not made twice; the rules accepted must be the chat's current ones."""
    begin_write(f"chat-invite-{invite.id}")
    chat = db.session.get(Chat, invite.chat_id)
    db.session.refresh(chat)
    member = db.session.get(ChatMember, (chat.id, user.id))
    if member is not None and user.kindergarten_id == chat.kindergarten_id:
        db.session.commit()
        return JoinOutcome(chat.id, already=True)
    problem = refusal(user, chat)
    if problem:
        raise ActionError(problem)
    waiting = db.session.scalar(
        select(JoinRequest).where(
            JoinRequest.chat_id == chat.id,
            JoinRequest.user_id == user.id,
            JoinRequest.status == "waiting",
        )
    )
    if waiting is not None:
        db.session.commit()
        return JoinOutcome(chat.id, request=waiting)
    chat = _live_or_die(invite)
    if rules_id != chat.rules_id:
        raise ActionError(
            _("Правила чата только что изменились. Прочитайте новую редакцию и примите её.")
        )
    staff = is_trusted_staff(user)  # unverified staff name a child and wait like anybody
    own = queries.own_children_in(user, chat)
    matched = None
    if not staff and not own and child_name is not None:
        found = roster_matches(chat, *child_name)
        matched = found[0] if len(found) == 1 else None
        if not found:
            _count_miss(invite, user)
    db.session.execute(
        update(ChatInvite)
        .where(ChatInvite.id == invite.id)
        .values(uses=ChatInvite.uses + 1, last_used_at=utcnow())
    )
    last, first = child_name or ("", "")
    # In without a request: a parent whose child in the group a person linked before; staff
    # and a matched name only by a link without approval (a meeting in the room, ≤ 48 hours).
    # Otherwise a matched name only pre-selects the child for the educator's «Впустить».
    if not own and (invite.needs_approval or not (staff or matched)):
        request = JoinRequest(
            chat_id=chat.id,
            user_id=user.id,
            invite_id=invite.id,
            child_last_name=last,
            child_first_name=first,
            child_id=matched.id if matched else (own[0].id if own else None),
            rules_id=rules_id,
        )
        db.session.add(request)
        record(
            user,
            "chat.join_requested",
            chat,
            invite_id=invite.id,
            matched=matched is not None or bool(own),
        )
        db.session.commit()
        return JoinOutcome(chat.id, request=request)
    _link_child(user, matched, decided_by_id=invite.created_by_id, by_link=True)
    _admit(chat, user, rules_id)
    record(
        user,
        "chat.joined",
        chat,
        invite_id=invite.id,
        child_id=matched.id if matched else None,
    )
    db.session.commit()
    return JoinOutcome(chat.id)


def do_admit(actor: User, access: ChatAccess, request: JoinRequest, child: Child | None) -> None:
    """Let a waiting person in, linking the child the moderator chose."""
    begin_write(f"join-request-{request.id}")
    db.session.refresh(request)
    if request.status != "waiting":
        raise ActionError(_("Эту заявку уже рассмотрели."))
    chat = db.session.get(Chat, access.chat.id)
    db.session.refresh(chat)
    if chat.archived_at is not None:
        raise ActionError(_("Чат в архиве: в него нельзя принимать участников."))
    user = request.user
    problem = refusal(user, chat)
    if problem:
        raise ActionError(_("Этого человека нельзя принять в чат: он был из него исключён."))
    if child is None and not is_trusted_staff(user) and not queries.own_children_in(user, chat):
        raise ActionError(_("Выберите ребёнка из списка группы."), field="child_id")
    _link_child(user, child, decided_by_id=actor.id)
    _admit(chat, user, request.rules_id, at=request.created_at)
    request.status = "admitted"
    request.child_id = child.id if child else request.child_id
    request.decided_by_id = actor.id
    request.decided_at = utcnow()
    record(
        actor,
        "chat.join_admitted",
        chat,
        request_id=request.id,
        user_id=user.id,
        child_id=child.id if child else None,
    )
    db.session.commit()


def do_decline(actor: User, access: ChatAccess, request: JoinRequest, reason: str) -> None:
    begin_write(f"join-request-{request.id}")
    db.session.refresh(request)
    if request.status != "waiting":
        raise ActionError(_("Эту заявку уже рассмотрели."))
    request.status = "declined"
    request.reason = reason
    request.decided_by_id = actor.id
    request.decided_at = utcnow()
    record(
        actor,
        "chat.join_declined",
        access.chat,
        request_id=request.id,
        user_id=request.user_id,
    )
    db.session.commit()
