"""A person deletes their account (152-FZ, art. 21): their personal data is erased, their
messages stay in the chats signed «Удалённый пользователь», and the director sees it logged."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import delete, func, select

from ..database import begin_write
from ..extensions import db
from ..models import (
    DELETED_NAME_RU,
    Chat,
    ChatMember,
    ChatRemoval,
    Child,
    Group,
    JoinRequest,
    Message,
    ParentChild,
    User,
    UserSession,
    utcnow,
)
from ..permissions import can_delete_account, is_staff
from . import ActionError
from .audit import record

UNUSABLE_PASSWORD = "!deleted"  # no argon2 hash: no password ever matches


def deletion_refusal(user: User) -> str | None:
    """Why this account may not be deleted now, with what to do first; None if it may."""
    if user.deleted_at is not None:
        return _("Эта учётная запись уже удалена.")
    if user.is_director:
        return _(
            "Учётную запись заведующего нельзя удалить, пока вы руководите детским садом: "
            "сначала передайте руководство другому сотруднику («Управление» → «Сотрудники» → "
            "сотрудник → «Передать руководство»). После этого новый заведующий оформит ваше "
            "увольнение, и учётную запись можно будет удалить."
        )
    if is_staff(user):
        return _(
            "Сотрудник удаляет учётную запись после увольнения: попросите администратора "
            "оформить увольнение — ваши чаты перейдут коллеге. Затем удалите учётную запись "
            "здесь."
        )
    if not can_delete_account(user):  # pragma: no cover - the cases above are all there is
        return _("Эту учётную запись сейчас нельзя удалить.")
    return None


def do_delete_account(user: User) -> None:
    """Erase the person's data and end every session; the messages stay, anonymous."""
    begin_write()
    db.session.refresh(user)
    refusal = deletion_refusal(user)
    if refusal:
        raise ActionError(refusal)
    now = utcnow()
    groups = db.session.scalars(
        select(Group.name)
        .join(Child, Child.group_id == Group.id)
        .join(ParentChild, ParentChild.child_id == Child.id)
        .where(ParentChild.user_id == user.id)
        .distinct()
        .order_by(Group.name)
    ).all()
    messages = db.session.scalar(
        select(func.count()).select_from(Message).where(Message.author_id == user.id)
    )
    chats = db.session.scalar(
        select(func.count()).select_from(ChatMember).where(ChatMember.user_id == user.id)
    )
    # a direct chat is titled «educator — parent»: the other person's name stays, theirs goes;
    # the chat closes, there is nobody left to answer
    for chat in db.session.scalars(
        select(Chat).where(
            Chat.kind == "direct",
            Chat.direct_key.like(f"%:{user.id}") | Chat.direct_key.like(f"{user.id}:%"),
        )
    ):
        educator, _sep, parent = chat.title.partition(" — ")
        if chat.direct_key.startswith(f"{user.id}:"):
            chat.title = f"{DELETED_NAME_RU} — {parent}"
        else:
            chat.title = f"{educator} — {DELETED_NAME_RU}"
        chat.archived_at = chat.archived_at or now
    for model in (ParentChild, ChatMember, JoinRequest, ChatRemoval, UserSession):
        db.session.execute(delete(model).where(model.user_id == user.id))
    # a parent who once worked here is logged as the parent they are now
    role = "parent" if groups else "former staff"
    user.stored_name = ""
    user.phone = None
    user.email = f"deleted-{user.id}@deleted.invalid"  # the table wants a login; this is none
    user.password_hash = UNUSABLE_PASSWORD
    user.locale = None
    user.is_admin = False
    user.position = None
    user.deleted_at = now
    record(
        user,
        "account.deleted",
        user,
        role=role,
        groups=list(groups),
        messages=messages,
        chats=chats,
    )
    db.session.commit()
