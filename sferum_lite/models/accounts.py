"""Ways back into an account: one-time password-reset links (issue 13 §6)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from . import User, UTCDateTime, utcnow

# how a reset link was made: shown by a staff member as a QR code, or sent to the e-mail
RESET_KINDS = ("in_person", "email")


class PasswordReset(db.Model):
    """A one-time link that sets a new password. Only the SHA-256 of its token is kept; the
    link works once, until `expires_at`, and only while it is the person's newest one (making
    a new one marks the older ones used)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # one of RESET_KINDS
    # the staff member who made an in-person link; None for an e-mailed one
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # used to set a password, or superseded by a newer link
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    def state(self, now: datetime | None = None) -> str:
        """'live', 'used' or 'expired'."""
        if self.used_at is not None:
            return "used"
        if self.expires_at <= (now or utcnow()):
            return "expired"
        return "live"
