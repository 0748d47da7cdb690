"""The roster: children, each in exactly one group at a time."""

from __future__ import annotations

from collections import Counter

from flask_babel import gettext as _
from sqlalchemy import select, update

from ..database import begin_write
from ..extensions import db
from ..models import Child, ChildLinkNotice, Group, User, utcnow
from ..queries import roster_context
from ..roster import Row, check, name_key
from . import ActionError
from .audit import record
from .departures import child_left_group, child_returned


def _lock(actor: User) -> None:
    begin_write(f"roster-{actor.kindergarten_id}")


def _check_not_duplicate(group: Group, key: str, child: Child | None = None) -> None:
    clash = db.session.scalar(
        select(Child.id).where(
            Child.group_id == group.id,
            Child.name_key == key,
            Child.left_at.is_(None),
            Child.id != (child.id if child else -1),
        )
    )
    if clash is not None:
        raise ActionError(_("Ребёнок с таким именем уже есть в этой группе."), field="last_name")


def _check_group_open(group: Group) -> None:
    if group.archived_at is not None:
        raise ActionError(_("Группа в архиве — выберите другую."), field="group")


def do_add_child(actor: User, *, group: Group, last_name: str, first_name: str) -> Child:
    _lock(actor)
    _check_group_open(group)
    key = name_key(last_name, first_name)
    _check_not_duplicate(group, key)
    child = Child(
        kindergarten_id=actor.kindergarten_id,
        group_id=group.id,
        last_name=last_name,
        first_name=first_name,
        name_key=key,
    )
    db.session.add(child)
    record(actor, "child.added", child, group_id=group.id)
    db.session.commit()
    return child


def do_update_child(
    actor: User, child: Child, *, group: Group, last_name: str, first_name: str
) -> None:
    _lock(actor)
    key = name_key(last_name, first_name)
    moved = group.id != child.group_id
    if moved:
        _check_group_open(group)
    if child.left_at is None:
        _check_not_duplicate(group, key, child)
    if (last_name, first_name) != (child.last_name, child.first_name):
        record(actor, "child.renamed", child)
        child.last_name, child.first_name, child.name_key = last_name, first_name, key
    if moved:
        record(actor, "child.moved", child, from_group_id=child.group_id, to_group_id=group.id)
        old_group_id = child.group_id
        child.group_id = group.id
        if child.left_at is None:
            db.session.flush()
            child_left_group(actor, child, old_group_id, moved=True)
            child_returned(actor, child)  # into the new group: an old link there works again
    db.session.commit()


def do_mark_child_left(actor: User, child: Child) -> None:
    begin_write()
    if child.left_at is not None:
        return
    child.left_at = utcnow()
    record(actor, "child.left", child, group_id=child.group_id)
    db.session.flush()
    child_left_group(actor, child, child.group_id)
    db.session.commit()


def do_restore_child(actor: User, child: Child) -> None:
    _lock(actor)
    if child.left_at is None:
        return
    group = db.session.get(Group, child.group_id)
    _check_group_open(group)
    _check_not_duplicate(group, child.name_key, child)
    child.left_at = None
    record(actor, "child.returned", child, group_id=child.group_id)
    child_returned(actor, child)
    db.session.commit()


def do_import_children(actor: User, rows: list[Row]) -> int:
    """Check the rows again under the roster lock and add those that pass; the number added."""
    _lock(actor)
    check(rows, *roster_context(actor.kindergarten_id))
    good = [row for row in rows if row.ok]
    if not good:
        return 0
    for row in good:
        db.session.add(
            Child(
                kindergarten_id=actor.kindergarten_id,
                group_id=row.group_id,
                last_name=row.last_name,
                first_name=row.first_name,
                name_key=name_key(row.last_name, row.first_name),
            )
        )
    per_group = Counter(row.group_id for row in good)
    record(
        actor,
        "children.imported",
        None,
        kindergarten_id=actor.kindergarten_id,
        added=len(good),
        skipped=len(rows) - len(good),
        per_group={str(k): v for k, v in per_group.items()},
    )
    db.session.commit()
    return len(good)


def do_dismiss_child_links(user: User, upto: int) -> None:
    """«Понятно»: the person has read the notices of accounts linked to their children, up to
    the newest one their page showed."""
    begin_write()
    db.session.execute(
        update(ChildLinkNotice)
        .where(
            ChildLinkNotice.user_id == user.id,
            ChildLinkNotice.dismissed_at.is_(None),
            ChildLinkNotice.id <= upto,
        )
        .values(dismissed_at=utcnow())
    )
    db.session.commit()
