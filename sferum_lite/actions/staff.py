"""Staff: invites, verification, the administrator role, positions, dismissal."""

from __future__ import annotations

import secrets
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import delete, update

from ..database import begin_write
from ..extensions import db
from ..models import EDUCATOR_POSITIONS, ChatInvite, GroupEducator, StaffInvite, User, utcnow
from ..moderation_view import moderated_chats
from ..permissions import can_hand_over_direction, is_staff, is_verified
from . import ActionError
from .accounts import end_sessions
from .audit import record
from .departures import staff_dismissed
from .memberships import join_system_chats


def new_token() -> str:
    return secrets.token_urlsafe(32)  # 256 bits


def do_create_staff_invite(
    actor: User,
    *,
    position: str,
    grants_admin: bool,
    expires_at: datetime,
    max_uses: int | None,
) -> StaffInvite:
    begin_write()
    invite = StaffInvite(
        kindergarten_id=actor.kindergarten_id,
        token=new_token(),
        position=position,
        grants_admin=grants_admin,
        expires_at=expires_at,
        max_uses=max_uses,
        created_by_id=actor.id,
    )
    db.session.add(invite)
    record(
        actor,
        "staff_invite.created",
        invite,
        position=position,
        admin=grants_admin,
        max_uses=max_uses,
        expires_at=expires_at.isoformat(),
    )
    db.session.commit()
    return invite


def do_revoke_staff_invite(actor: User, invite: StaffInvite) -> None:
    begin_write()
    if invite.revoked_at is not None:
        return
    invite.revoked_at = utcnow()
    record(actor, "staff_invite.revoked", invite)
    db.session.commit()


def do_verify_staff(actor: User, member: User) -> None:
    begin_write()
    if member.verified_at is not None:
        return
    member.verified_at = utcnow()
    member.verified_by_id = actor.id
    join_system_chats(member)  # the staff chats and the news, now that the person is trusted
    record(actor, "staff.verified", member, name=member.name)
    db.session.commit()


def _revoke_invites_of(member: User, *, chat_invites: bool = False) -> None:
    """The staff invites a person made stop working once they may no longer invite; on
    dismissal, their links into chats too."""
    db.session.execute(
        update(StaffInvite)
        .where(StaffInvite.created_by_id == member.id, StaffInvite.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    if chat_invites:
        db.session.execute(
            update(ChatInvite)
            .where(ChatInvite.created_by_id == member.id, ChatInvite.revoked_at.is_(None))
            .values(revoked_at=utcnow(), revoked_by_id=None)
        )


def do_set_admin(actor: User, member: User, value: bool) -> None:
    """Grant or withdraw the administrator's role; withdrawn, their invites stop working."""
    begin_write()
    if member.is_admin == value:
        return
    member.is_admin = value
    if not value:
        _revoke_invites_of(member)
    record(
        actor, "staff.admin_granted" if value else "staff.admin_withdrawn", member, name=member.name
    )
    db.session.commit()


def do_set_position(actor: User, member: User, position: str) -> None:
    """A new position; someone who is no longer an educator is detached from their groups."""
    begin_write()
    if member.position == position:
        return
    record(actor, "staff.position_changed", member, old=member.position, new=position)
    member.position = position
    if position not in EDUCATOR_POSITIONS:
        detached = db.session.execute(
            delete(GroupEducator).where(GroupEducator.user_id == member.id)
        ).rowcount
        if detached:
            record(actor, "staff.detached_from_groups", member, groups=detached)
    db.session.commit()


def can_succeed(member: User, successor: User | None) -> bool:
    """Who may take over a dismissed moderator's chats: verified staff of the kindergarten."""
    return (
        successor is not None
        and successor.id != member.id
        and successor.kindergarten_id == member.kindergarten_id
        and is_staff(successor)
        and is_verified(successor)
    )


def do_dismiss_staff(actor: User, member: User, successor: User | None = None) -> None:
    """Dismissal (reg 004 §27): sessions end, groups are detached, open invites die, and the
    person leaves every chat they were in for their work (a parent keeps their children's
    chats and the news); the chats they moderated pass to `successor`, whom the administrator
    picks in the same form."""
    begin_write()
    db.session.refresh(member)
    if member.dismissed_at is not None:
        db.session.commit()
        return
    moderated = moderated_chats(member)
    if moderated and not can_succeed(member, successor):
        raise ActionError(
            _("Выберите, кому передать чаты, которые вёл сотрудник."), field="successor"
        )
    staff_dismissed(actor, member, successor if moderated else None)
    member.dismissed_at = utcnow()
    member.is_admin = False
    end_sessions(member)
    db.session.execute(delete(GroupEducator).where(GroupEducator.user_id == member.id))
    _revoke_invites_of(member, chat_invites=True)
    record(
        actor,
        "staff.dismissed",
        member,
        name=member.name,
        chats_handed_over=len(moderated),
        successor=successor.id if moderated else None,
    )
    db.session.commit()


def do_hand_over_direction(actor: User, successor: User) -> None:
    """The director's role passes to `successor` (verified staff); the former director stays
    as a deputy head with the administrator's role, and may then be dismissed or leave. One
    hand-over at a time (two tabs must not make two directors)."""
    begin_write(f"direction-{actor.kindergarten_id}")
    db.session.refresh(actor)
    db.session.refresh(successor)
    if not can_hand_over_direction(actor, successor):
        raise ActionError(_("Руководство можно передать только подтверждённому сотруднику."))
    now = utcnow()
    successor.is_director = True
    successor.is_admin = True
    actor.is_director = False
    actor.is_admin = True
    actor.position = actor.position or "zamestitel"
    actor.verified_at = actor.verified_at or now
    actor.verified_by_id = actor.verified_by_id or successor.id
    record(actor, "staff.direction_handed_over", successor, name=successor.name)
    db.session.commit()
