"""Groups: create, rename, archive and restore, attach and detach educators."""

from __future__ import annotations

from flask import flash, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from ... import queries
from ...actions import ActionError
from ...actions.groups import (
    do_archive_group,
    do_attach_educator,
    do_create_group,
    do_detach_educator,
    do_rename_group,
    do_restore_group,
)
from ...extensions import db
from ...forms import AttachEducatorForm, GroupForm, options
from ...permissions import access_group, access_staff_member
from ...templating import is_htmx
from .. import action_failed, page, see_other
from . import bp


def _groups_page(form):
    kindergarten_id = current_user.kindergarten_id
    archived = request.args.get("archived") == "1"
    rows = db.session.execute(queries.groups_overview(kindergarten_id, archived=archived)).all()
    return page("admin/groups.html", form=form, rows=rows, archived=archived)


@bp.route("/groups", methods=["GET", "POST"])
def groups():
    form = GroupForm()
    if form.validate_on_submit():
        try:
            group = do_create_group(current_user, name=form.name.data)
        except ActionError as error:
            action_failed(form, error)
        else:
            flash(_("Группа «%(name)s» создана.", name=group.name), "success")
            return see_other("admin.group", group_id=group.id)
    return _groups_page(form)


def _attach_form(group):
    form = AttachEducatorForm()
    form.educator_id.choices = options(
        (user.id, f"{user.name} — {user.position_label}")
        for user in db.session.scalars(queries.attachable_educators(group))
    )
    return form


def _group_page(group, *, form=None, attach_form=None, status=None):
    children = db.session.execute(
        queries.children_list(group.kindergarten_id, group_id=group.id)
    ).all()
    return page(
        "admin/group.html",
        group=group,
        form=form or GroupForm(obj=group, formdata=None),
        attach_form=attach_form or _attach_form(group),
        children=children,
        status=status,
    )


@bp.route("/groups/<int:group_id>")
def group(group_id):
    return _group_page(access_group(current_user, group_id))


@bp.route("/groups/<int:group_id>/rename", methods=["POST"])
def group_rename(group_id):
    group = access_group(current_user, group_id)
    form = GroupForm()
    if form.validate_on_submit():
        try:
            do_rename_group(current_user, group, name=form.name.data)
        except ActionError as error:
            action_failed(form, error)
        else:
            flash(_("Название сохранено."), "success")
            return see_other("admin.group", group_id=group.id)
    return _group_page(group, form=form, status=422)


@bp.route("/groups/<int:group_id>/archive", methods=["POST"])
def group_archive(group_id):
    group = access_group(current_user, group_id)
    try:
        do_archive_group(current_user, group)
    except ActionError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _group_page(group, status=409)
    flash(_("Группа «%(name)s» отправлена в архив.", name=group.name), "success")
    return see_other("admin.groups")


@bp.route("/groups/<int:group_id>/restore", methods=["POST"])
def group_restore(group_id):
    group = access_group(current_user, group_id)
    do_restore_group(current_user, group)
    flash(_("Группа «%(name)s» снова открыта.", name=group.name), "success")
    return see_other("admin.group", group_id=group.id)


def _educators_answer(group, attach_form=None, status=200):
    """The educators block for htmx, the whole page otherwise."""
    if is_htmx():
        db.session.refresh(group)
        html = render_template(
            "admin/_group_educators.html",
            group=group,
            attach_form=attach_form or _attach_form(group),
        )
        return html, status
    if status != 200:
        return _group_page(group, attach_form=attach_form, status=status)
    return see_other("admin.group", group_id=group.id)


@bp.route("/groups/<int:group_id>/educators", methods=["POST"])
def group_attach(group_id):
    group = access_group(current_user, group_id)
    form = _attach_form(group)
    if not form.validate_on_submit():
        return _educators_answer(group, form, status=422)
    # the choices are this kindergarten's educators not yet attached: nobody else gets here
    educator = access_staff_member(current_user, form.educator_id.data)
    do_attach_educator(current_user, group, educator)
    return _educators_answer(group)


@bp.route("/groups/<int:group_id>/educators/<int:user_id>/remove", methods=["POST"])
def group_detach(group_id, user_id):
    group = access_group(current_user, group_id)
    educator = access_staff_member(current_user, user_id)
    do_detach_educator(current_user, group, educator)
    return _educators_answer(group)
