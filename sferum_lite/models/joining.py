"""A child linked to an account only when a person decides (issue 13 §2): the names a chat
link's holders typed that matched nobody (the link pauses after too many), and the notices a
child's parents get when another account is linked to that child."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from . import Child, User, UTCDateTime, utcnow

# A link pauses once this many child names typed through it matched nobody within MISS_WINDOW.
MISSES_TO_PAUSE = 10
MISS_WINDOW = timedelta(hours=1)
# A link that admits without the educator's approval is for a meeting in the room.
MEETING_LINK_LONGEST = timedelta(hours=48)


class ChatInviteMiss(db.Model):
    """One child's name typed through a chat link that matched nobody on the group's roster.
    A row per miss: concurrent misses each insert their own row, so none is lost."""

    __table_args__ = (Index("ix_chat_invite_miss_invite_at", "invite_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invite_id: Mapped[int] = mapped_column(ForeignKey("chat_invite.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChildLinkNotice(db.Model):
    """Told to a child's parent (`user`) on their home page until dismissed: another account
    (`parent`) was linked to their child, when, and who decided it (the educator who let them
    in; for a link without approval, the one who made the link)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("child.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    by_link: Mapped[bool] = mapped_column(default=False)  # a link without approval let them in
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    child: Mapped[Child] = relationship()
    parent: Mapped[User] = relationship(foreign_keys=[parent_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
