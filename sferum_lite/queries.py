"""Read-only selects for pages. Lists are built with aggregates and eager loads: a page costs a
fixed number of queries whatever the number of rows."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Select, func, or_, select, true
from sqlalchemy.orm import selectinload

from .extensions import db
from .models import (
    EDUCATOR_POSITIONS,
    AuditLog,
    Chat,
    ChatInvite,
    ChatMember,
    Child,
    Group,
    GroupEducator,
    JoinRequest,
    Kindergarten,
    ParentChild,
    Rules,
    RulesAcceptance,
    StaffInvite,
    User,
    utcnow,
)
from .roster import fold, same_child


def count(query: Select) -> int:
    """How many rows `query` returns, counted by the database."""
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))


def first_kindergarten() -> Kindergarten | None:
    return db.session.scalar(select(Kindergarten).order_by(Kindergarten.id).limit(1))


def _children_count():
    return (
        select(func.count(Child.id))
        .where(Child.group_id == Group.id, Child.left_at.is_(None))
        .correlate(Group)
        .scalar_subquery()
    )


def _children_with_parent_count():
    return (
        select(func.count(func.distinct(Child.id)))
        .join(ParentChild, ParentChild.child_id == Child.id)
        .where(Child.group_id == Group.id, Child.left_at.is_(None))
        .correlate(Group)
        .scalar_subquery()
    )


def groups_overview(kindergarten_id: int, *, archived: bool = False) -> Select:
    """(Group, children, children with a parent account) rows, educators loaded."""
    condition = Group.archived_at.is_not(None) if archived else Group.archived_at.is_(None)
    return (
        select(
            Group,
            _children_count().label("children"),
            _children_with_parent_count().label("with_parents"),
        )
        .where(Group.kindergarten_id == kindergarten_id, condition)
        .options(selectinload(Group.educators))
        .order_by(Group.name)
    )


def open_groups(kindergarten_id: int) -> Select:
    return (
        select(Group)
        .where(Group.kindergarten_id == kindergarten_id, Group.archived_at.is_(None))
        .order_by(Group.name)
    )


def educator_groups(user: User) -> Select:
    return (
        groups_overview(user.kindergarten_id)
        .join(GroupEducator, GroupEducator.group_id == Group.id)
        .where(GroupEducator.user_id == user.id)
    )


def roster_context(
    kindergarten_id: int,
) -> tuple[dict[str, int | None], set[tuple[int, str]]]:
    """Groups by folded name (id, or None for an archived one), and (group id, name key) of
    every child attending now."""
    groups = {
        fold(name): (None if archived_at else group_id)
        for group_id, name, archived_at in db.session.execute(
            select(Group.id, Group.name, Group.archived_at).where(
                Group.kindergarten_id == kindergarten_id
            )
        )
    }
    existing = {
        (group_id, key)
        for group_id, key in db.session.execute(
            select(Child.group_id, Child.name_key).where(
                Child.kindergarten_id == kindergarten_id, Child.left_at.is_(None)
            )
        )
    }
    return groups, existing


def children_list(
    kindergarten_id: int,
    *,
    group_id: int | None = None,
    search: str = "",
    left: bool = False,
) -> Select:
    """(Child, number of parent accounts) rows, group loaded, in roster order."""
    parents = (
        select(func.count(ParentChild.user_id))
        .where(ParentChild.child_id == Child.id)
        .correlate(Child)
        .scalar_subquery()
    )
    query = (
        select(Child, parents.label("parents"))
        .join(Group, Group.id == Child.group_id)
        .where(Child.kindergarten_id == kindergarten_id)
        .where(Child.left_at.is_not(None) if left else Child.left_at.is_(None))
        .options(selectinload(Child.group))
        .order_by(Group.name, Child.last_name, Child.first_name)
    )
    if group_id:
        query = query.where(Child.group_id == group_id)
    folded = fold(search)
    if folded:
        query = query.where(Child.name_key.contains(folded, autoescape=True))
    return query


def child_parents(child: Child) -> Select:
    return (
        select(User)
        .join(ParentChild, ParentChild.user_id == User.id)
        .where(ParentChild.child_id == child.id)
        .order_by(User.name)
    )


def parent_children(user: User) -> Select:
    """The children a parent is linked to, with their groups and the groups' educators."""
    return (
        select(Child)
        .join(ParentChild, ParentChild.child_id == Child.id)
        .where(ParentChild.user_id == user.id, Child.left_at.is_(None))
        .options(selectinload(Child.group).selectinload(Group.educators))
        .order_by(Child.first_name)
    )


def staff_list(kindergarten_id: int, *, dismissed: bool = False) -> Select:
    query = select(User).where(User.kindergarten_id == kindergarten_id)
    if dismissed:
        return query.where(User.position.is_not(None), User.dismissed_at.is_not(None)).order_by(
            User.dismissed_at.desc()
        )
    return query.where(
        or_(User.is_director, User.position.is_not(None) & User.dismissed_at.is_(None))
    ).order_by(User.is_director.desc(), User.verified_at.is_not(None), User.name)


def staff_groups(kindergarten_id: int) -> dict[int, list[str]]:
    """user id -> names of the open groups they are attached to (one query for the staff page)."""
    rows = db.session.execute(
        select(GroupEducator.user_id, Group.name)
        .join(Group, Group.id == GroupEducator.group_id)
        .where(Group.kindergarten_id == kindergarten_id, Group.archived_at.is_(None))
        .order_by(Group.name)
    )
    result: dict[int, list[str]] = {}
    for user_id, name in rows:
        result.setdefault(user_id, []).append(name)
    return result


def attachable_educators(group: Group) -> Select:
    """Educators not yet attached to the group."""
    attached = select(GroupEducator.user_id).where(GroupEducator.group_id == group.id)
    return (
        select(User)
        .where(
            User.kindergarten_id == group.kindergarten_id,
            User.position.in_(EDUCATOR_POSITIONS),
            User.dismissed_at.is_(None),
            User.id.not_in(attached),
        )
        .order_by(User.name)
    )


def _live_invite(now, model=StaffInvite):
    return (
        model.revoked_at.is_(None)
        & (model.expires_at > now)
        & (model.max_uses.is_(None) | (model.uses < model.max_uses))
    )


def chat_invites(chat_id: int, *, live: bool = True) -> Select:
    """A chat's invites, newest first, with who made them."""
    is_live = _live_invite(utcnow(), ChatInvite)
    return (
        select(ChatInvite)
        .where(ChatInvite.chat_id == chat_id, is_live if live else ~is_live)
        .options(selectinload(ChatInvite.created_by))
        .order_by(ChatInvite.created_at.desc())
    )


def live_chat_invites(kindergarten_id: int) -> Select:
    """Every live chat invite of the kindergarten, with its chat and maker."""
    return (
        select(ChatInvite)
        .where(
            ChatInvite.kindergarten_id == kindergarten_id,
            _live_invite(utcnow(), ChatInvite),
        )
        .options(selectinload(ChatInvite.created_by), selectinload(ChatInvite.chat))
        .order_by(ChatInvite.created_at.desc())
    )


def match_child(chat: Chat, last_name: str, first_name: str) -> Child | None:
    """The one child attending the chat's group (the whole kindergarten for a chat without a
    group) whose name is the one typed; None when no child or several children match."""
    query = select(Child).where(
        Child.kindergarten_id == chat.kindergarten_id, Child.left_at.is_(None)
    )
    if chat.group_id is not None:
        query = query.where(Child.group_id == chat.group_id)
    found = [
        child
        for child in db.session.scalars(query)
        if same_child(child.name_key, last_name, first_name)
    ]
    return found[0] if len(found) == 1 else None


def group_children(chat: Chat) -> list[Child]:
    """The children a moderator may link a newcomer to: the chat's group (or kindergarten)."""
    query = select(Child).where(
        Child.kindergarten_id == chat.kindergarten_id, Child.left_at.is_(None)
    )
    if chat.group_id is not None:
        query = query.where(Child.group_id == chat.group_id)
    return db.session.scalars(query.order_by(Child.last_name, Child.first_name)).all()


def waiting_requests(chat: Chat) -> list[JoinRequest]:
    """People waiting to join, oldest first."""
    return db.session.scalars(
        select(JoinRequest)
        .where(JoinRequest.chat_id == chat.id, JoinRequest.status == "waiting")
        .options(selectinload(JoinRequest.user))
        .order_by(JoinRequest.created_at)
    ).all()


def decided_requests(chat: Chat, limit: int = 20) -> list[JoinRequest]:
    """The latest admitted and declined requests, newest first."""
    return db.session.scalars(
        select(JoinRequest)
        .where(JoinRequest.chat_id == chat.id, JoinRequest.status != "waiting")
        .options(selectinload(JoinRequest.user))
        .order_by(JoinRequest.decided_at.desc())
        .limit(limit)
    ).all()


def child_in_chat(chat: Chat, child_id: int) -> Child | None:
    """A child of the chat's group (or kindergarten) who still attends; None otherwise."""
    if not child_id:
        return None
    query = select(Child).where(
        Child.id == child_id,
        Child.kindergarten_id == chat.kindergarten_id,
        Child.left_at.is_(None),
    )
    if chat.group_id is not None:
        query = query.where(Child.group_id == chat.group_id)
    return db.session.scalar(query)


def waiting_count(chat_id: int) -> int:
    return count(
        select(JoinRequest.id).where(
            JoinRequest.chat_id == chat_id, JoinRequest.status == "waiting"
        )
    )


def own_children_in(user: User, chat: Chat) -> list[Child]:
    """The person's own children attending the chat's group (or kindergarten)."""
    query = (
        select(Child)
        .join(ParentChild, ParentChild.child_id == Child.id)
        .where(
            ParentChild.user_id == user.id,
            Child.kindergarten_id == chat.kindergarten_id,
            Child.left_at.is_(None),
        )
    )
    if chat.group_id is not None:
        query = query.where(Child.group_id == chat.group_id)
    return db.session.scalars(query).all()


def rules_acceptance(chat: Chat) -> tuple[list[tuple[User, object]], list[User]]:
    """The chat's members who accepted its current rules (with when) and who have not."""
    rows = db.session.execute(
        select(User, ChatMember.rules_accepted_id)
        .join(ChatMember, ChatMember.user_id == User.id)
        .where(ChatMember.chat_id == chat.id)
        .order_by(User.name)
    ).all()
    times = dict(
        db.session.execute(
            select(RulesAcceptance.user_id, func.max(RulesAcceptance.accepted_at))
            .where(RulesAcceptance.chat_id == chat.id, RulesAcceptance.rules_id == chat.rules_id)
            .group_by(RulesAcceptance.user_id)
        ).all()
    )
    accepted = [(user, times.get(user.id)) for user, rules_id in rows if rules_id == chat.rules_id]
    missing = [user for user, rules_id in rows if rules_id != chat.rules_id]
    return accepted, missing


def chat_rules_versions(chat: Chat) -> list[Rules]:
    """Earlier and current versions of the chat's own rules, newest first."""
    return db.session.scalars(
        select(Rules)
        .where(Rules.chat_id == chat.id)
        .options(selectinload(Rules.created_by))
        .order_by(Rules.version.desc())
    ).all()


def staff_invites(kindergarten_id: int, *, live: bool = True, with_admin: bool = False) -> Select:
    """Staff invites, newest first; those making administrators only `with_admin`."""
    is_live = _live_invite(utcnow())
    query = select(StaffInvite)
    if not with_admin:
        query = query.where(StaffInvite.grants_admin.is_(False))
    return (
        query.where(StaffInvite.kindergarten_id == kindergarten_id, is_live if live else ~is_live)
        .options(selectinload(StaffInvite.created_by))
        .order_by(StaffInvite.created_at.desc())
    )


def system_chats(kindergarten_id: int) -> Select:
    members = (
        select(func.count(ChatMember.user_id))
        .where(ChatMember.chat_id == Chat.id)
        .correlate(Chat)
        .scalar_subquery()
    )
    return (
        select(Chat, members.label("members"))
        .where(Chat.kindergarten_id == kindergarten_id, Chat.system.is_not(None))
        .order_by(Chat.id)
    )


def admin_counts(kindergarten_id: int, *, with_admin: bool = False) -> dict[str, int]:
    """The administration's overview figures in one round trip; live invites counted as
    staff_invites() lists them."""
    now = utcnow()

    def count(model, *conditions):
        return (
            select(func.count())
            .select_from(model)
            .where(model.kindergarten_id == kindergarten_id, *conditions)
            .scalar_subquery()
        )

    row = db.session.execute(
        select(
            count(Group, Group.archived_at.is_(None)).label("groups"),
            count(Child, Child.left_at.is_(None)).label("children"),
            count(User, User.position.is_not(None), User.dismissed_at.is_(None)).label("staff"),
            count(
                User,
                User.position.is_not(None),
                User.dismissed_at.is_(None),
                User.verified_at.is_(None),
            ).label("unverified"),
            count(
                StaffInvite,
                _live_invite(now),
                true() if with_admin else StaffInvite.grants_admin.is_(False),
            ).label("invites"),
            # the invites overview (admin.invites) lists every live invite, chat and staff
            count(ChatInvite, _live_invite(now, ChatInvite)).label("chat_invites"),
            count(StaffInvite, _live_invite(now)).label("all_staff_invites"),
        )
    ).one()
    return row._asdict()


# --- chats ------------------------------------------------------------------------------------


def _active_staff(kindergarten_id: int):
    """Staff one may put into a chat as staff: trusted staff only (`permissions.TRUSTED_STAFF`);
    whoever nobody has verified yet is nobody yet."""
    from .permissions import TRUSTED_STAFF

    return select(User).where(
        User.kindergarten_id == kindergarten_id,
        TRUSTED_STAFF,
        User.dismissed_at.is_(None),
    )


def joined_staff_through(user: User, invite: StaffInvite) -> bool:
    """Whether this invite made this person staff (the audit's «staff.joined» says so)."""
    details = db.session.scalar(
        select(AuditLog.details)
        .where(AuditLog.actor_id == user.id, AuditLog.action == "staff.joined")
        .order_by(AuditLog.id.desc())
        .limit(1)
    )
    return bool(details) and details.get("invite_id") == invite.id


def verifiers(kindergarten_id: int) -> list[User]:
    """Who may verify a staff member: the director and the verified administrators."""
    from .permissions import TRUSTED_STAFF

    return db.session.scalars(
        select(User)
        .where(
            User.kindergarten_id == kindergarten_id,
            TRUSTED_STAFF,
            or_(User.is_director, User.is_admin),
        )
        .order_by(User.is_director.desc(), User.name)
    ).all()


def group_educators(group_id: int) -> list[User]:
    return db.session.scalars(
        select(User)
        .join(GroupEducator, GroupEducator.user_id == User.id)
        .where(GroupEducator.group_id == group_id, User.dismissed_at.is_(None))
        .order_by(User.name)
    ).all()


def staff_with_positions(kindergarten_id: int, positions) -> list[User]:
    """Active staff with one of `positions` (all staff for None), and the director."""
    query = _active_staff(kindergarten_id)
    if positions is not None:
        query = query.where(or_(User.position.in_(positions), User.is_director))
    return db.session.scalars(query.order_by(User.name)).all()


def users_by_id(kindergarten_id: int, ids) -> list[User]:
    if not ids:
        return []
    return db.session.scalars(
        select(User).where(User.kindergarten_id == kindergarten_id, User.id.in_(ids))
    ).all()


def _parents_of_group(group_id: int):
    return (
        select(User)
        .join(ParentChild, ParentChild.user_id == User.id)
        .join(Child, Child.id == ParentChild.child_id)
        .where(Child.group_id == group_id, Child.left_at.is_(None))
        .distinct()
    )


def addable_people(chat: Chat) -> tuple[list[User], list[User]]:
    """Staff, and parents (of the chat's group, or of the kindergarten for a chat without a
    group), who are not in the chat yet; the view offers what the person may add."""
    present = select(ChatMember.user_id).where(ChatMember.chat_id == chat.id)
    staff = db.session.scalars(
        _active_staff(chat.kindergarten_id).where(User.id.not_in(present)).order_by(User.name)
    ).all()
    if chat.group_id is not None:
        parents = _parents_of_group(chat.group_id)
    else:  # a chat of the whole kindergarten: the parents' committee
        parents = (
            select(User)
            .join(ParentChild, ParentChild.user_id == User.id)
            .join(Child, Child.id == ParentChild.child_id)
            .where(Child.kindergarten_id == chat.kindergarten_id, Child.left_at.is_(None))
            .distinct()
        )
    parents = db.session.scalars(parents.where(User.id.not_in(present)).order_by(User.name)).all()
    return staff, parents


def direct_pair(user: User, other_id: int) -> tuple[User, User] | None:
    """(educator, parent) when one of the two is an educator of a group where the other has a
    child who attends; None otherwise (or when the other is not in this kindergarten)."""
    from .permissions import is_educator, is_parent

    other = db.session.get(User, other_id)
    if other is None or other.kindergarten_id != user.kindergarten_id or other.id == user.id:
        return None
    for educator, parent in ((user, other), (other, user)):
        if not (is_educator(educator) and is_parent(parent)):
            continue
        shared = db.session.scalar(
            select(GroupEducator.group_id)
            .join(Child, Child.group_id == GroupEducator.group_id)
            .join(ParentChild, ParentChild.child_id == Child.id)
            .where(
                GroupEducator.user_id == educator.id,
                ParentChild.user_id == parent.id,
                Child.left_at.is_(None),
            )
            .limit(1)
        )
        if shared is not None:
            return educator, parent
    return None


def group_contacts(user: User) -> list[tuple[User, str]]:
    """Whom a person may write to directly: a parent's educators, an educator's parents —
    (person, group name) pairs."""
    from .permissions import TRUSTED_STAFF, is_educator

    found = []
    if is_educator(user):
        found += db.session.execute(
            select(User, Group.name)
            .join(ParentChild, ParentChild.user_id == User.id)
            .join(Child, Child.id == ParentChild.child_id)
            .join(Group, Group.id == Child.group_id)
            .join(GroupEducator, GroupEducator.group_id == Group.id)
            .where(GroupEducator.user_id == user.id, Child.left_at.is_(None))
            .distinct()
            .order_by(Group.name, User.name)
        ).all()
    found += db.session.execute(
        select(User, Group.name)
        .join(GroupEducator, GroupEducator.user_id == User.id)
        .join(Group, Group.id == GroupEducator.group_id)
        .join(Child, Child.group_id == Group.id)
        .join(ParentChild, ParentChild.child_id == Child.id)
        .where(
            ParentChild.user_id == user.id,
            Child.left_at.is_(None),
            TRUSTED_STAFF,
            User.id != user.id,
        )
        .distinct()
        .order_by(Group.name, User.name)
    ).all()
    return found


def current_rules(chat: Chat) -> Rules | None:
    """The version of the rules the chat has now (None for a direct chat)."""
    if chat.rules_id is None:
        return None
    return db.session.scalar(
        select(Rules).where(Rules.id == chat.rules_id).options(selectinload(Rules.created_by))
    )


def join_request_of(user: User, chat: Chat) -> JoinRequest | None:
    """The person's request to join the chat that is still waiting."""
    return db.session.scalar(
        select(JoinRequest).where(
            JoinRequest.chat_id == chat.id,
            JoinRequest.user_id == user.id,
            JoinRequest.status == "waiting",
        )
    )


def is_member(user: User, chat: Chat) -> bool:
    return (
        db.session.scalar(
            select(ChatMember.user_id).where(
                ChatMember.chat_id == chat.id, ChatMember.user_id == user.id
            )
        )
        is not None
    )


def own_requests(user: User) -> list[JoinRequest]:
    """The person's requests to join that wait, or were declined in the last 30 days."""
    return db.session.scalars(
        select(JoinRequest)
        .where(
            JoinRequest.user_id == user.id,
            (JoinRequest.status == "waiting")
            | (
                (JoinRequest.status == "declined")
                & (JoinRequest.decided_at > utcnow() - timedelta(days=30))
            ),
        )
        .options(selectinload(JoinRequest.chat))
        .order_by(JoinRequest.created_at.desc())
    ).all()


def account_deletions(kindergarten_id: int, limit: int = 20) -> list[AuditLog]:
    """Accounts their owners deleted (152-FZ), newest first, for the director."""
    return db.session.scalars(
        select(AuditLog)
        .where(AuditLog.kindergarten_id == kindergarten_id, AuditLog.action == "account.deleted")
        .order_by(AuditLog.id.desc())
        .limit(limit)
    ).all()
