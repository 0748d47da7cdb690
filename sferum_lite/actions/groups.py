"""Kindergarten groups and the educators attached to them."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import delete, func, select

from ..database import begin_write
from ..extensions import db
from ..models import Child, Group, GroupEducator, User, utcnow
from ..roster import fold
from . import ActionError
from .audit import record


def _check_name_free(actor: User, name: str, group: Group | None = None) -> None:
    names = db.session.scalars(
        select(Group.name).where(
            Group.kindergarten_id == actor.kindergarten_id,
            Group.id != (group.id if group else -1),
        )
    )
    if fold(name) in {fold(existing) for existing in names}:
        raise ActionError(_("Группа с таким названием уже есть."), field="name")


def _lock(actor: User) -> None:
    begin_write(f"groups-{actor.kindergarten_id}")


def do_create_group(actor: User, *, name: str) -> Group:
    _lock(actor)
    _check_name_free(actor, name)
    group = Group(kindergarten_id=actor.kindergarten_id, name=name)
    db.session.add(group)
    record(actor, "group.created", group, name=name)
    db.session.commit()
    return group


def do_rename_group(actor: User, group: Group, *, name: str) -> None:
    _lock(actor)
    if name == group.name:
        return
    _check_name_free(actor, name, group)
    record(actor, "group.renamed", group, old=group.name, new=name)
    group.name = name
    db.session.commit()


def active_children_count(group: Group) -> int:
    return db.session.scalar(
        select(func.count(Child.id)).where(Child.group_id == group.id, Child.left_at.is_(None))
    )


def do_archive_group(actor: User, group: Group) -> None:
    begin_write(f"roster-{actor.kindergarten_id}")  # no child may join it meanwhile
    if group.archived_at is not None:
        return
    count = active_children_count(group)
    if count:
        raise ActionError(
            _(
                "В группе ещё есть дети (%(num)d). Переведите их в другую группу или отметьте "
                "выбывшими, затем отправьте группу в архив.",
                num=count,
            )
        )
    group.archived_at = utcnow()
    record(actor, "group.archived", group, name=group.name)
    db.session.commit()


def do_restore_group(actor: User, group: Group) -> None:
    begin_write()
    if group.archived_at is None:
        return
    group.archived_at = None
    record(actor, "group.restored", group, name=group.name)
    db.session.commit()


def do_attach_educator(actor: User, group: Group, educator: User) -> None:
    _lock(actor)
    exists = db.session.get(GroupEducator, (group.id, educator.id))
    if exists is None:
        db.session.add(GroupEducator(group_id=group.id, user_id=educator.id))
        record(
            actor, "group.educator_attached", group, educator_id=educator.id, educator=educator.name
        )
        db.session.commit()


def do_detach_educator(actor: User, group: Group, educator: User) -> None:
    _lock(actor)
    result = db.session.execute(
        delete(GroupEducator).where(
            GroupEducator.group_id == group.id, GroupEducator.user_id == educator.id
        )
    )
    if result.rowcount:
        record(
            actor, "group.educator_detached", group, educator_id=educator.id, educator=educator.name
        )
        db.session.commit()
