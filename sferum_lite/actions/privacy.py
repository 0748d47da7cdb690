"""A person deletes their account (152-FZ, art. 21): their personal data is erased, their
messages stay in the chats signed «Удалённый пользователь», and the director sees it logged."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update

from ..database import begin_write, is_sqlite
from ..extensions import db
from ..models import (
    DELETED_NAME_RU,
    AuditLog,
    Block,
    Chat,
    ChatMember,
    ChatRemoval,
    Child,
    Group,
    JoinRequest,
    Message,
    MessageEdit,
    ParentChild,
    PasswordReset,
    User,
    UserSession,
    utcnow,
)
from ..permissions import is_staff
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
    return None


NAME_KEYS = ("name", "old", "new", "educator")


def _scrub_names(user: User) -> None:
    """The administration's audit rows about the person keep what happened, not their name:
    renames, verification, roles, dismissal, hand-over, being attached to a group. (The
    moderation log is append-only and names people by id; it shows the placeholder now.)"""
    rows = db.session.scalars(
        select(AuditLog).where(
            AuditLog.kindergarten_id == user.kindergarten_id,
            (AuditLog.target_type == "user") & (AuditLog.target_id == user.id)
            | AuditLog.action.in_(("group.educator_attached", "group.educator_detached")),
        )
    )
    for row in rows:
        about = row.target_type == "user" or (row.details or {}).get("educator_id") == user.id
        if about and any(key in (row.details or {}) for key in NAME_KEYS):
            row.details = {k: v for k, v in row.details.items() if k not in NAME_KEYS}


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
    # a direct chat is titled «educator — parent»: rebuilt from who the two are, with the
    # placeholder for them; the chat closes, there is nobody left to answer
    for chat in db.session.scalars(
        select(Chat).where(
            Chat.kind == "direct",
            Chat.direct_key.like(f"%:{user.id}") | Chat.direct_key.like(f"{user.id}:%"),
        )
    ):
        educator_id, _sep, parent_id = chat.direct_key.partition(":")
        other = db.session.get(User, int(parent_id if educator_id == str(user.id) else educator_id))
        other_name = other.stored_name if other is not None else DELETED_NAME_RU
        if educator_id == str(user.id):
            chat.title = f"{DELETED_NAME_RU} — {other_name}"
        else:
            chat.title = f"{other_name} — {DELETED_NAME_RU}"
        chat.archived_at = chat.archived_at or now
    # a block ends with the membership: nobody is blocked in a chat they are not in
    db.session.execute(
        update(Block).where(Block.user_id == user.id, Block.in_force(now)).values(lifted_at=now)
    )
    # what they deleted themselves is gone for everyone: its words go now, with earlier
    # versions (a moderator's deletion stays whole in the moderation log, reg 004 §21)
    own_deleted = select(Message.id).where(
        Message.author_id == user.id,
        Message.deleted_at.is_not(None),
        Message.deleted_clause.is_(None),
    )
    db.session.execute(delete(MessageEdit).where(MessageEdit.message_id.in_(own_deleted)))
    db.session.execute(update(Message).where(Message.id.in_(own_deleted)).values(text=""))
    _scrub_names(user)
    for model in (ParentChild, ChatMember, JoinRequest, ChatRemoval, UserSession, PasswordReset):
        db.session.execute(delete(model).where(model.user_id == user.id))
    # a parent who once worked here is logged as the parent they are now
    role = "former staff" if not groups and (user.position or user.dismissed_at) else "parent"
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
    _out_of_the_wal()


def _out_of_the_wal() -> None:
    """SQLite: the write-ahead log still holds the pages as they were before the erasure.
    Copy the log into the file (whose freed space secure_delete has zeroed) and truncate it.
    Best effort: a reader holding an old snapshot past the busy timeout leaves the log for the
    next checkpoint, which SQLite runs by itself."""
    if not is_sqlite():
        return
    with db.engine.connect() as connection:
        # the raw connection, outside any transaction: a checkpoint can't run inside one
        connection.connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
