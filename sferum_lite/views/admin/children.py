"""The children's roster: list and search, add, edit and move, mark as left, import from CSV."""

from __future__ import annotations

from flask import Response, flash, render_template, request
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from ... import queries, roster
from ...actions import ActionError
from ...actions.children import (
    do_add_child,
    do_import_children,
    do_mark_child_left,
    do_restore_child,
    do_update_child,
)
from ...extensions import db
from ...forms import ChildForm, RosterConfirmForm, RosterUploadForm, options
from ...models import DB_INT_MAX
from ...permissions import access_child, access_group
from ...security import clean_text
from ...templating import htmx_target
from ...uploads import content_disposition
from .. import action_failed, page, see_other
from . import bp


def _group_choices(form: ChildForm, current_group=None) -> None:
    groups = db.session.scalars(queries.open_groups(current_user.kindergarten_id)).all()
    choices = [(group.id, group.name) for group in groups]
    if current_group is not None and current_group.id not in {g.id for g in groups}:
        choices.append((current_group.id, _("%(name)s (в архиве)", name=current_group.name)))
    form.group_id.choices = options(choices)


PAGE_SIZE = 100


def bounded(number: int | None, top: int = DB_INT_MAX) -> int | None:
    """A number from the query string, if it is one a database can hold and compare."""
    return number if number is not None and 0 < number <= top else None


@bp.route("/children")
def children():
    kindergarten_id = current_user.kindergarten_id
    group_id = bounded(request.args.get("group", type=int))
    search = clean_text(request.args.get("q", ""))[:100]
    left = request.args.get("left") == "1"
    page_number = bounded(request.args.get("page", type=int), top=10_000) or 1
    query = queries.children_list(kindergarten_id, group_id=group_id, search=search, left=left)
    rows = db.session.execute(
        query.limit(PAGE_SIZE + 1).offset((page_number - 1) * PAGE_SIZE)
    ).all()
    context = dict(
        rows=rows[:PAGE_SIZE],
        more=len(rows) > PAGE_SIZE,
        page_number=page_number,
        group_id=group_id,
        search=search,
        left=left,
    )
    target = htmx_target()
    if target == "children-more":
        return render_template("admin/_children_rows.html", **context)
    context["total"] = queries.count(query)
    if target == "children-list":
        return render_template("admin/_children_list.html", **context)
    groups = db.session.scalars(queries.open_groups(kindergarten_id)).all()
    return page("admin/children.html", groups=groups, **context)


@bp.route("/children/new", methods=["GET", "POST"])
def child_new():
    form = ChildForm(group_id=bounded(request.args.get("group", type=int)))
    _group_choices(form)
    if form.validate_on_submit():
        try:
            child = do_add_child(
                current_user,
                group=access_group(current_user, form.group_id.data),
                last_name=form.last_name.data,
                first_name=form.first_name.data,
            )
        except ActionError as error:
            action_failed(form, error)
        else:
            flash(
                _(
                    "%(name)s добавлен(а) в группу «%(group)s».",
                    name=child.full_name,
                    group=child.group.name,
                ),
                "success",
            )
            if request.form.get("another"):
                return see_other("admin.child_new", group=child.group_id)
            return see_other("admin.children", group=child.group_id)
    if not form.group_id.choices:
        flash(_("Сначала создайте хотя бы одну группу."), "info")
        return see_other("admin.groups")
    return page("admin/child_form.html", form=form, child=None)


@bp.route("/children/<int:child_id>", methods=["GET", "POST"])
def child(child_id):
    child = access_child(current_user, child_id)
    form = ChildForm(obj=child)
    _group_choices(form, child.group)
    if form.validate_on_submit():
        try:
            do_update_child(
                current_user,
                child,
                group=access_group(current_user, form.group_id.data),
                last_name=form.last_name.data,
                first_name=form.first_name.data,
            )
        except ActionError as error:
            action_failed(form, error)
        else:
            flash(_("Изменения сохранены."), "success")
            return see_other("admin.child", child_id=child.id)
    parents = db.session.scalars(queries.child_parents(child)).all()
    return page("admin/child_form.html", form=form, child=child, parents=parents)


@bp.route("/children/<int:child_id>/leave", methods=["POST"])
def child_leave(child_id):
    child = access_child(current_user, child_id)
    do_mark_child_left(current_user, child)
    flash(_("%(name)s: отмечено выбытие из детского сада.", name=child.full_name), "success")
    return see_other("admin.children", group=child.group_id)


@bp.route("/children/<int:child_id>/restore", methods=["POST"])
def child_restore(child_id):
    child = access_child(current_user, child_id)
    try:
        do_restore_child(current_user, child)
    except ActionError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        flash(_("%(name)s снова в списке группы.", name=child.full_name), "success")
    return see_other("admin.child", child_id=child.id)


def _preview(text: str, form, status: int = 200):
    rows = roster.check(roster.parse(text), *queries.roster_context(current_user.kindergarten_id))
    good = sum(row.ok for row in rows)
    confirm = RosterConfirmForm(content=text, formdata=None)
    return page(
        "admin/roster_preview.html",
        form=form,
        confirm=confirm,
        rows=rows,
        good=good,
        bad=len(rows) - good,
        status=status,
    )


@bp.route("/children/import", methods=["GET", "POST"])
def roster_import():
    form = RosterUploadForm()
    if form.validate_on_submit():
        try:
            text = roster.read_upload(form.file.data.stream)
            return _preview(text, form)
        except roster.RosterFileError as error:
            form.file.errors = [str(error)]
    return page("admin/roster_import.html", form=form)


@bp.route("/children/import/confirm", methods=["POST"])
def roster_confirm():
    form = RosterConfirmForm()
    upload = RosterUploadForm(formdata=None)
    if not form.validate_on_submit():
        upload.file.errors = [_("Загрузите файл ещё раз.")]
        return page("admin/roster_import.html", form=upload, status=422)
    try:
        rows = roster.parse(form.content.data)
    except roster.RosterFileError as error:
        upload.file.errors = [str(error)]
        return page("admin/roster_import.html", form=upload, status=422)
    added = do_import_children(current_user, rows)
    if added == 0:
        return _preview(form.content.data, upload, status=422)
    flash(ngettext("Добавлен %(num)d ребёнок.", "Добавлено %(num)d детей.", added), "success")
    return see_other("admin.children")


@bp.route("/children/import/sample.csv")
def roster_sample():
    return Response(
        roster.template_csv(),
        mimetype="text/csv",
        headers={"Content-Disposition": content_disposition("список детей.csv")},
    )
