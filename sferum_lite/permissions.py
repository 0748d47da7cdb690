"""Who may do what.

Two kinds of functions live here:
- pure predicates on roles (`is_staff`, `can_administer`, ...): no queries, no side effects;
  views and templates call the same ones to decide what to do and which buttons to show;
- `access_*` functions, one per object: they load the object for a user or raise one and the
  same 404 for "missing" and "not yours", so nobody can probe ids that aren't theirs.
"""

from __future__ import annotations

from flask import abort
from sqlalchemy import select

from .extensions import db
from .models import EDUCATOR_POSITIONS, Child, Group, GroupEducator, StaffInvite, User

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


def is_educator(user) -> bool:
    return is_staff(user) and user.position in EDUCATOR_POSITIONS


def is_verified(user) -> bool:
    """A verified staff member: shows the badge next to their name everywhere."""
    return is_staff(user) and (user.is_director or user.verified_at is not None)


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


def staff_invite_by_token(token: str) -> StaffInvite | None:
    """The invite a link carries, in whatever state; None for an unknown token."""
    if not token or len(token) > 64:
        return None
    return db.session.scalar(select(StaffInvite).where(StaffInvite.token == token))
