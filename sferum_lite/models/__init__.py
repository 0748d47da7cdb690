"""All tables. Times are stored in UTC and shown in the kindergarten's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, time

from flask import has_request_context
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
    case,
    exists,
    false,
    literal,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from ..extensions import db


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A point in time: stored as naive UTC on every database, always read back aware (UTC)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


# Staff positions: code -> label. The first seven are the pedagogical ones (educators).
POSITIONS: dict[str, object] = {
    "vospitatel": _l("Воспитатель"),
    "pomoshnik": _l("Помощник воспитателя"),
    "psiholog": _l("Педагог-психолог"),
    "logoped": _l("Учитель-логопед"),
    "muzruk": _l("Музыкальный руководитель"),
    "fizruk": _l("Инструктор по физической культуре"),
    "drugoe": _l("Другое"),
    "zamestitel": _l("Заместитель заведующего"),
}
EDUCATOR_POSITIONS = frozenset(
    {"vospitatel", "pomoshnik", "psiholog", "logoped", "muzruk", "fizruk", "drugoe"}
)
DIRECTOR_POSITION = "zaveduyushchiy"
POSITION_LABELS = {**POSITIONS, DIRECTOR_POSITION: _l("Заведующий")}

DELETED_NAME_RU = "Удалённый пользователь"
# the largest number an INTEGER column holds on PostgreSQL (SQLite's is larger): no id, count or
# revision is bigger, and a bigger one in a query is refused by the database, not just not found
DB_INT_MAX = 2**31 - 1
DELETED_NAME = _l(DELETED_NAME_RU)

STAFF_INVITE_ROLES = {"educator": _l("Сотрудник"), "admin": _l("Сотрудник и администратор")}


class Kindergarten(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Moscow")
    work_start: Mapped[time] = mapped_column(Time, default=time(7, 0))
    work_end: Mapped[time] = mapped_column(Time, default=time(19, 0))
    # ISO weekdays the kindergarten works, as digits: "12345" is Monday to Friday.
    work_days: Mapped[str] = mapped_column(String(7), default="12345")
    # how long members may object to an early unblock after an apology (reg 004 §25)
    apology_hours: Mapped[int] = mapped_column(Integer, default=24, server_default="24")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(UserMixin, db.Model):
    __table_args__ = (CheckConstraint("phone IS NOT NULL OR email IS NOT NULL", name="has_login"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kindergarten_id: Mapped[int] = mapped_column(ForeignKey("kindergarten.id"), index=True)
    # the name as typed; read `name`, which is «Удалённый пользователь» for a deleted account
    stored_name: Mapped[str] = mapped_column("name", String(100))
    phone: Mapped[str | None] = mapped_column(String(16), unique=True)  # E.164
    email: Mapped[str | None] = mapped_column(String(254), unique=True)  # lower case
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(5))  # None: follow the browser
    is_director: Mapped[bool] = mapped_column(Boolean, default=False)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[str | None] = mapped_column(String(32))  # staff position, None if not staff
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the person deleted their account (152-FZ): name, phone and children erased, messages kept
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    kindergarten: Mapped[Kindergarten] = relationship(lazy="joined", innerjoin=True)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @hybrid_property
    def name(self) -> str:
        """The name shown everywhere: «Удалённый пользователь» once the account is deleted
        (translated in a request, Russian elsewhere — a CLI command, a job)."""
        if self.deleted_at is None:
            return self.stored_name
        return str(DELETED_NAME) if has_request_context() else DELETED_NAME_RU

    @name.inplace.setter
    def _name_setter(self, value: str) -> None:
        self.stored_name = value

    @name.inplace.expression
    @classmethod
    def _name_expression(cls):
        # a name read in SQL: the stored one, or the deleted account's (not translated there)
        return case((cls.deleted_at.is_not(None), literal(DELETED_NAME_RU)), else_=cls.stored_name)

    @property
    def login(self) -> str:
        if self.deleted_at is not None:
            return ""
        return self.phone or self.email or ""

    @property
    def position_label(self):
        if self.is_director:
            return POSITION_LABELS[DIRECTOR_POSITION]
        return POSITION_LABELS.get(self.position or "", "")

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"<User {self.id}>"


class UserSession(db.Model):
    """One signed-in browser. Deleting the row ends that session on the server."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FailedLogin(db.Model):
    """A failed sign-in, keyed by a hash of the login typed (known account or not)."""

    __table_args__ = (Index("ix_failed_login_key_time", "login_hash", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    login_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Group(db.Model):
    __table_args__ = (UniqueConstraint("kindergarten_id", "name", name="uq_group_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kindergarten_id: Mapped[int] = mapped_column(ForeignKey("kindergarten.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    educators: Mapped[list[User]] = relationship(
        secondary="group_educator", order_by="User.name", viewonly=True
    )


class GroupEducator(db.Model):
    group_id: Mapped[int] = mapped_column(
        ForeignKey("group.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Child(db.Model):
    __table_args__ = (Index("ix_child_group_key", "group_id", "name_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kindergarten_id: Mapped[int] = mapped_column(ForeignKey("kindergarten.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("group.id"))
    last_name: Mapped[str] = mapped_column(String(60))
    first_name: Mapped[str] = mapped_column(String(60))
    # "фамилия имя" folded (case, ё/е, spaces) for matching and duplicate checks
    name_key: Mapped[str] = mapped_column(String(130))
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    group: Mapped[Group] = relationship()

    @property
    def full_name(self) -> str:
        return f"{self.last_name} {self.first_name}"


class ParentChild(db.Model):
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    child_id: Mapped[int] = mapped_column(
        ForeignKey("child.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InviteState:
    """What an invite link is now; shared by staff and chat invites."""

    revoked_at: datetime | None
    max_uses: int | None
    uses: int
    expires_at: datetime

    def state(self, now: datetime | None = None) -> str:
        """'live', 'revoked', 'used' or 'expired' — the first that applies, in that order."""
        now = now or utcnow()
        if self.revoked_at is not None:
            return "revoked"
        if self.max_uses is not None and self.uses >= self.max_uses:
            return "used"
        if self.expires_at <= now:
            return "expired"
        return "live"


class StaffInvite(InviteState, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    kindergarten_id: Mapped[int] = mapped_column(ForeignKey("kindergarten.id"), index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    position: Mapped[str] = mapped_column(String(32))
    grants_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    max_uses: Mapped[int | None] = mapped_column(Integer)  # None: no limit
    uses: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    created_by: Mapped[User] = relationship()
    kindergarten: Mapped[Kindergarten] = relationship()


class Chat(db.Model):
    __table_args__ = (
        UniqueConstraint("kindergarten_id", "system", name="uq_chat_system"),
        CheckConstraint("kind IN ('group', 'channel', 'direct')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kindergarten_id: Mapped[int] = mapped_column(ForeignKey("kindergarten.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(100))
    # 'staff_group', 'news', 'staff' for the chats every kindergarten has; None otherwise
    system: Mapped[str | None] = mapped_column(String(16))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("group.id"), index=True)
    # a direct chat: "<educator id>:<parent id>", so a pair has one chat
    direct_key: Mapped[str | None] = mapped_column(String(40), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Bumped by every change to the chat's messages (new, edit, delete, reaction, confirmation,
    # vote, pin): a message's `rev` tells a live page what changed since the revision it has.
    rev: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_message_id: Mapped[int | None] = mapped_column(Integer)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # The rules in force (a Rules row: the kindergarten's default or the chat's own); None for a
    # direct chat, which has no rules step.
    rules_id: Mapped[int | None] = mapped_column(Integer)

    group: Mapped[Group | None] = relationship()

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class ChatMember(db.Model):
    chat_id: Mapped[int] = mapped_column(
        ForeignKey("chat.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    is_moderator: Mapped[bool] = mapped_column(Boolean, default=False)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # the newest message this member has seen; unread are the others' messages after it
    last_read_id: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # the version of the chat's rules this member accepted (reg 004 §22); posting needs the
    # current one
    rules_accepted_id: Mapped[int | None] = mapped_column(Integer)


class Rules(db.Model):
    """A version of chat rules: the kindergarten's default (chat_id None) or a chat's own.
    Numbered clauses, one per line starting «1.», «2.» …: moderation names them."""

    __tablename__ = "rules"
    __table_args__ = (Index("ix_rules_kg_chat", "kindergarten_id", "chat_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kindergarten_id: Mapped[int] = mapped_column(ForeignKey("kindergarten.id"))
    chat_id: Mapped[int | None] = mapped_column(ForeignKey("chat.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(String(200), default="")  # what changed
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    created_by: Mapped[User | None] = relationship()

    @property
    def is_default(self) -> bool:
        return self.chat_id is None


class RulesAcceptance(db.Model):
    """Who accepted which version of a chat's rules, and when (reg 004 §22)."""

    __table_args__ = (Index("ix_rules_acceptance_chat", "chat_id", "rules_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chat.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    rules_id: Mapped[int] = mapped_column(ForeignKey("rules.id", ondelete="CASCADE"))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChatInvite(InviteState, db.Model):
    """A link (and QR code) into a chat, made by its moderator."""

    __table_args__ = (
        Index("ix_chat_invite_chat", "chat_id", "created_at"),
        Index("ix_chat_invite_kg_expires", "kindergarten_id", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kindergarten_id: Mapped[int] = mapped_column(ForeignKey("kindergarten.id"))
    chat_id: Mapped[int] = mapped_column(ForeignKey("chat.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    needs_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    max_uses: Mapped[int | None] = mapped_column(Integer)  # None: no limit
    uses: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # paused after too many names that matched nobody; misses before `misses_from` (the last
    # «Возобновить») don't count again
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    misses_from: Mapped[datetime | None] = mapped_column(UTCDateTime)

    chat: Mapped[Chat] = relationship()
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    kindergarten: Mapped[Kindergarten] = relationship()

    def state(self, now: datetime | None = None) -> str:
        """As any invite's, and 'paused' for a live link that lets nobody new in for now."""
        state = super().state(now)
        return "paused" if state == "live" and self.paused_at is not None else state


JOIN_STATUSES = ("waiting", "admitted", "declined")


class JoinRequest(db.Model):
    """Someone who came by a link and waits for the educator: the chat asks for approval, or
    the child's name they typed matched nobody on the group's roster."""

    __table_args__ = (
        Index("ix_join_request_chat", "chat_id", "status"),
        CheckConstraint("status IN ('waiting', 'admitted', 'declined')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chat.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    invite_id: Mapped[int | None] = mapped_column(ForeignKey("chat_invite.id", ondelete="SET NULL"))
    # what the person typed, and the roster's child it matched (None: no single match)
    child_last_name: Mapped[str] = mapped_column(String(60), default="")
    child_first_name: Mapped[str] = mapped_column(String(60), default="")
    child_id: Mapped[int | None] = mapped_column(ForeignKey("child.id", ondelete="SET NULL"))
    rules_id: Mapped[int | None] = mapped_column(Integer)  # the version they accepted
    status: Mapped[str] = mapped_column(String(10), default="waiting")
    reason: Mapped[str] = mapped_column(String(300), default="")  # of a decline
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    chat: Mapped[Chat] = relationship()

    @property
    def child_typed(self) -> str:
        return f"{self.child_last_name} {self.child_first_name}".strip()


class ChatRemoval(db.Model):
    """A person removed from a chat: an old invite link does not bring them back. The ground is
    never personal (reg 004 §26): a child's departure or a staff member's dismissal. The person
    is told on their next visit, until they press «Понятно» (`seen_at`)."""

    chat_id: Mapped[int] = mapped_column(
        ForeignKey("chat.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    reason: Mapped[str] = mapped_column(String(300), default="")
    ground: Mapped[str] = mapped_column(String(16), default="", server_default="")
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    chat: Mapped[Chat] = relationship()
    removed_by: Mapped[User | None] = relationship(foreign_keys=[removed_by_id])


REACTIONS = ("👍", "❤️", "😂", "😮", "🙏")


class Message(db.Model):
    __table_args__ = (
        Index("ix_message_chat_id", "chat_id", "id"),
        Index("ix_message_chat_rev", "chat_id", "rev"),
        Index("ix_message_chat_pinned", "chat_id", "pinned_at"),
        # the director's figures and charts count a chat's messages in a period, and who
        # wrote in one: covering indexes, the table itself is never read (bench/dashboard.py)
        Index("ix_message_chat_created", "chat_id", "created_at", "deleted_at", "author_id"),
        Index("ix_message_author_created", "author_id", "created_at", "deleted_at"),
        # a post sent again with its composer's token finds the first one (migration 0006)
        Index("ix_message_author_client_token", "author_id", "client_token", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chat.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    text: Mapped[str] = mapped_column(Text, default="")
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"))
    important: Mapped[bool] = mapped_column(Boolean, default=False)
    pinned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pinned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    # deleted by a moderator under this clause of the chat's rules (reg 004 §21, §26)
    deleted_clause: Mapped[int | None] = mapped_column(Integer)
    # a member's own words (""), a blocked member's apology (reg 004 §25), or a moderator's
    # reminder of the rules (§23)
    kind: Mapped[str] = mapped_column(String(16), default="", server_default="")
    # the member a reminder of the rules is addressed to
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    rev: Mapped[int] = mapped_column(Integer, default=0)  # the chat's rev at the last change
    created_rev: Mapped[int] = mapped_column(Integer, default=0)  # ... and at posting
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # the token the composer sent with it: the same post sent again is this message, not a
    # second one (NULL for messages posted otherwise)
    client_token: Mapped[str | None] = mapped_column(String(64))

    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    subject: Mapped[User | None] = relationship(foreign_keys=[subject_id])

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_moderated(self) -> bool:
        """Deleted by a moderator under a clause of the rules (not by its author)."""
        return self.deleted_clause is not None


class MessageEdit(db.Model):
    """An earlier version of an edited message: its text before the edit."""

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("message.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when this version was written
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reaction(db.Model):
    message_id: Mapped[int] = mapped_column(
        ForeignKey("message.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    emoji: Mapped[str] = mapped_column(String(16), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Confirmation(db.Model):
    """«Ознакомлен(а)» under an important message."""

    message_id: Mapped[int] = mapped_column(
        ForeignKey("message.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Attachment(db.Model):
    __table_args__ = (CheckConstraint("kind IN ('photo', 'file')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("message.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8))
    position: Mapped[int] = mapped_column(Integer, default=0)
    stored_name: Mapped[str] = mapped_column(String(80))
    thumb_name: Mapped[str | None] = mapped_column(String(80))
    filename: Mapped[str] = mapped_column(String(200))  # the name it had, Cyrillic kept
    mime: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Poll(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("message.id", ondelete="CASCADE"), unique=True
    )
    question: Mapped[str] = mapped_column(String(300))
    multiple: Mapped[bool] = mapped_column(Boolean, default=False)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def is_open(self, now: datetime | None = None) -> bool:
        return self.closes_at is None or (now or utcnow()) < self.closes_at


class PollOption(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("poll.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(100))


class PollVote(db.Model):
    """One chosen option. In a single-choice poll (`single`, copied from the poll) a person
    has one row at most: the database refuses a second, whatever two requests race."""

    __table_args__ = (
        Index(
            "uq_poll_vote_single",
            "poll_id",
            "user_id",
            unique=True,
            sqlite_where=text("single"),
            postgresql_where=text("single"),
        ),
    )

    poll_id: Mapped[int] = mapped_column(
        ForeignKey("poll.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    option_id: Mapped[int] = mapped_column(
        ForeignKey("poll_option.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    single: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsentText(db.Model):
    """A version of the kindergarten's consent to personal-data processing (152-FZ)."""

    __table_args__ = (UniqueConstraint("kindergarten_id", "version", name="uq_consent_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kindergarten_id: Mapped[int] = mapped_column(ForeignKey("kindergarten.id"))
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Consent(db.Model):
    """Who consented to which version of the consent text, and when."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    consent_text_id: Mapped[int] = mapped_column(ForeignKey("consent_text.id"))
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditLog(db.Model):
    """Append-only record of every administrative and moderation action.

    `details` holds ids, names and flags — never passwords, tokens or message text.
    """

    __table_args__ = (Index("ix_audit_log_kg_time", "kindergarten_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kindergarten_id: Mapped[int] = mapped_column(ForeignKey("kindergarten.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(String(40))
    target_type: Mapped[str | None] = mapped_column(String(20))
    target_id: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[User | None] = relationship()


# A person is a parent while linked to a child who still attends; loaded with the user.
User.has_children = column_property(
    exists()
    .where(
        ParentChild.user_id == User.id,
        ParentChild.child_id == Child.id,
        Child.left_at.is_(None),
    )
    .correlate_except(ParentChild, Child),
    deferred=False,
)

from .accounts import RESET_KINDS, PasswordReset  # noqa: E402
from .joining import ChatInviteMiss, ChildLinkNotice  # noqa: E402
from .moderation import (  # noqa: E402  (they use the names above)
    BLOCK_AFTER,
    MODERATION_ACTIONS,
    REPORT_RESOLUTIONS,
    Block,
    ModerationEntry,
    Objection,
    Report,
    Violation,
)

__all__ = [
    "BLOCK_AFTER",
    "MODERATION_ACTIONS",
    "REPORT_RESOLUTIONS",
    "RESET_KINDS",
    "Attachment",
    "AuditLog",
    "Block",
    "Chat",
    "ChatInvite",
    "ChatInviteMiss",
    "ChatMember",
    "ChatRemoval",
    "Child",
    "ChildLinkNotice",
    "Confirmation",
    "Consent",
    "ConsentText",
    "FailedLogin",
    "Group",
    "GroupEducator",
    "JoinRequest",
    "Kindergarten",
    "Message",
    "MessageEdit",
    "ModerationEntry",
    "Objection",
    "ParentChild",
    "PasswordReset",
    "Poll",
    "PollOption",
    "PollVote",
    "Reaction",
    "Report",
    "Rules",
    "RulesAcceptance",
    "StaffInvite",
    "User",
    "UserSession",
    "Violation",
]
