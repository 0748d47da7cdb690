"""Moderation by the kindergarten's regulation (reg 004 §20–27): violations, blocks, apologies
and objections, reports, and the append-only moderation log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    and_,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from . import Chat, Message, User, UTCDateTime, utcnow

# A member who broke the rules more than this many times in a chat may be blocked (§24).
BLOCK_AFTER = 3


class Violation(db.Model):
    """A recorded breach of a clause of a chat's rules by a member, usually in a message."""

    __table_args__ = (Index("ix_violation_chat_user", "chat_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chat.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    rules_id: Mapped[int] = mapped_column(ForeignKey("rules.id"))  # the version the clause is of
    clause: Mapped[int] = mapped_column(Integer)
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("message.id", ondelete="SET NULL"), index=True
    )
    note: Mapped[str] = mapped_column(String(300), default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    message: Mapped[Message | None] = relationship()


class Block(db.Model):
    """A member may read but not post, react or vote until `ends_at` (§24). It ends by itself:
    a block is active while `lifted_at` is empty and `ends_at` is in the future. An apology
    opens a window for objections; with none, a moderator may lift it early (§25)."""

    __table_args__ = (
        Index("ix_block_chat_user", "chat_id", "user_id", "ends_at"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chat.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    rules_id: Mapped[int] = mapped_column(ForeignKey("rules.id"))
    clause: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(300), default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    apology_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("message.id", ondelete="SET NULL"), unique=True
    )
    apology_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the window for objections, fixed when the apology is made (a kindergarten setting)
    objections_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    chat: Mapped[Chat] = relationship()

    def is_active(self, now: datetime | None = None) -> bool:
        return self.lifted_at is None and (now or utcnow()) < self.ends_at

    @classmethod
    def in_force(cls, now: datetime | None = None):
        """`is_active` in SQL."""
        return and_(cls.lifted_at.is_(None), cls.ends_at > (now or utcnow()))

    def window_open(self, now: datetime | None = None) -> bool:
        """Members may still object to an early unblock."""
        return self.objections_until is not None and (now or utcnow()) < self.objections_until


class Objection(db.Model):
    """«Против досрочной разблокировки»: a member objects to lifting a block early (§25)."""

    block_id: Mapped[int] = mapped_column(
        ForeignKey("block.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()


REPORT_RESOLUTIONS = ("deleted", "violation", "no_action")


class Report(db.Model):
    """A member draws the moderators' attention to a message."""

    __table_args__ = (
        UniqueConstraint("message_id", "reporter_id", name="uq_report_once"),
        Index("ix_report_chat_open", "chat_id", "resolved_at"),
        CheckConstraint(
            "resolution IS NULL OR resolution IN ('deleted', 'violation', 'no_action')",
            name="resolution",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chat.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    resolution: Mapped[str | None] = mapped_column(String(16))

    reporter: Mapped[User] = relationship(foreign_keys=[reporter_id])
    message: Mapped[Message] = relationship()


# action -> what the log calls it (labels live in moderation.py, translated)
MODERATION_ACTIONS = (
    "delete",  # a message deleted under a clause (§21)
    "violation",  # a violation recorded (§24)
    "reminder",  # the rules recalled in the chat (§23)
    "block",  # a member blocked (§24)
    "apology",  # the blocked member apologised (§25)
    "objection",  # a member objected to an early unblock (§25)
    "unblock",  # the block lifted early (§25)
    "report",  # a member reported a message
    "report_resolved",  # a moderator dealt with a report
    "removal",  # a member left the chat on a departure (§27)
    "handover",  # a dismissed moderator's chat passed to a colleague (§27)
    "moderator",  # a co-moderator named or withdrawn
    "archived",  # a direct chat closed on a departure (§27)
    "reopened",  # ... and open again when the child returns
)


class ModerationEntry(db.Model):
    """One line of the moderation log. Append-only: nothing updates or deletes a row (the
    database refuses an UPDATE and a DELETE), so the director reads what happened and why.

    `ground` is a clause of the chat's rules (`clause` of `rules_id`) or a departure; the
    content of a deleted message stays on the message row, which the log links to."""

    __tablename__ = "moderation_log"
    __table_args__ = (
        Index("ix_moderation_log_kg_time", "kindergarten_id", "created_at"),
        Index("ix_moderation_log_chat_time", "chat_id", "created_at"),
        Index("ix_moderation_log_member", "member_id"),
        Index("ix_moderation_log_actor", "actor_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kindergarten_id: Mapped[int] = mapped_column(ForeignKey("kindergarten.id"))
    chat_id: Mapped[int] = mapped_column(ForeignKey("chat.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(String(20))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"))
    rules_id: Mapped[int | None] = mapped_column(ForeignKey("rules.id"))
    clause: Mapped[int | None] = mapped_column(Integer)
    # «п. 2. Общаемся вежливо…» as the rules read then, or the departure, in words
    ground: Mapped[str] = mapped_column(String(400), default="")
    note: Mapped[str] = mapped_column(String(300), default="")
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    chat: Mapped[Chat] = relationship()
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    member: Mapped[User | None] = relationship(foreign_keys=[member_id])
    message: Mapped[Message | None] = relationship()
