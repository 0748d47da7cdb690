"""Audit rows, added to the session of the action that writes them."""

from __future__ import annotations

from ..extensions import db
from ..models import AuditLog


def record(actor, action: str, target=None, *, kindergarten_id: int | None = None, **details):
    """Log `action` by `actor` on `target` with small facts in `details`.

    Never pass passwords, tokens or message text: the log is read by people.
    """
    if hasattr(target, "_get_current_object"):  # current_user: log the person, not the proxy
        target = target._get_current_object()
    if target is not None and getattr(target, "id", 0) is None:
        db.session.flush()  # a new object gets its id
    if kindergarten_id is None:
        kindergarten_id = getattr(actor, "kindergarten_id", None) or target.kindergarten_id
    row = AuditLog(
        kindergarten_id=kindergarten_id,
        actor_id=getattr(actor, "id", None),
        action=action,
        target_type=type(target).__name__.lower() if target is not None else None,
        target_id=getattr(target, "id", None),
        details=details,
    )
    db.session.add(row)
    return row
