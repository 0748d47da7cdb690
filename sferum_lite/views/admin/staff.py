"""Staff: the list, verification, the administrator role, positions, dismissal, invites."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import Response, abort, flash, render_template
from flask_babel import gettext as _
from flask_login import current_user

from ... import moderation_view, qr, queries
from ...actions import ActionError
from ...actions.staff import (
    do_create_staff_invite,
    do_dismiss_staff,
    do_hand_over_direction,
    do_revoke_staff_invite,
    do_set_admin,
    do_set_position,
    do_verify_staff,
)
from ...extensions import db
from ...forms import DismissForm, EmptyForm, PositionForm, StaffInviteForm, options
from ...models import utcnow
from ...permissions import (
    access_staff_invite,
    access_staff_member,
    can_dismiss,
    can_edit_staff,
    can_grant_admin,
    can_hand_over_direction,
    can_invite_staff,
    can_verify,
)
from ...templating import is_htmx
from ...uploads import content_disposition
from .. import action_failed, page, see_other
from . import bp


@bp.route("/staff")
def staff():
    kindergarten_id = current_user.kindergarten_id
    return page(
        "admin/staff.html",
        members=db.session.scalars(queries.staff_list(kindergarten_id)).all(),
        dismissed=db.session.scalars(queries.staff_list(kindergarten_id, dismissed=True)).all(),
        groups=queries.staff_groups(kindergarten_id),
    )


def _member_page(member, *, position_form=None, dismiss_form=None, status=None):
    return page(
        "admin/staff_member.html",
        member=member,
        groups=queries.staff_groups(current_user.kindergarten_id).get(member.id, []),
        position_form=position_form or PositionForm(obj=member, formdata=None),
        dismiss_form=dismiss_form or _dismiss_form(member, formdata=None),
        moderated=moderation_view.moderated_chats(member)
        if can_dismiss(current_user, member)
        else [],
        status=status,
    )


def _dismiss_form(member, **kwargs):
    form = DismissForm(**kwargs)
    form.successor.choices = options(
        [(0, _("— выберите сотрудника —"))]
        + [(u.id, f"{u.name} — {u.position_label}") for u in moderation_view.successors(member)]
    )
    return form


@bp.route("/staff/<int:user_id>")
def staff_member(user_id):
    return _member_page(access_staff_member(current_user, user_id))


@bp.route("/staff/<int:user_id>/verify", methods=["POST"])
def staff_verify(user_id):
    member = access_staff_member(current_user, user_id)
    if not can_verify(current_user, member):
        abort(409 if member.verified_at else 403)
    do_verify_staff(current_user, member)
    if is_htmx():
        return render_template(
            "admin/_staff_row.html",
            member=member,
            groups=queries.staff_groups(current_user.kindergarten_id),
        )
    flash(_("%(name)s подтверждён(а) — рядом с именем теперь значок.", name=member.name), "success")
    return see_other("admin.staff")


@bp.route("/staff/<int:user_id>/admin", methods=["POST"])
def staff_admin(user_id):
    member = access_staff_member(current_user, user_id)
    if not can_grant_admin(current_user, member):
        abort(403)
    do_set_admin(current_user, member, not member.is_admin)
    if member.is_admin:
        flash(_("%(name)s теперь администратор.", name=member.name), "success")
    else:
        flash(_("%(name)s больше не администратор.", name=member.name), "success")
    return see_other("admin.staff_member", user_id=member.id)


@bp.route("/staff/<int:user_id>/direction", methods=["POST"])
def staff_direction(user_id):
    """The director hands the kindergarten over to this colleague."""
    member = access_staff_member(current_user, user_id)
    if not can_hand_over_direction(current_user, member):
        abort(403)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        do_hand_over_direction(current_user, member)
    except ActionError as error:
        db.session.rollback()
        flash(error.message, "error")
        return see_other("admin.staff_member", user_id=member.id)
    flash(
        _(
            "%(name)s теперь заведующий. Вы остались заместителем и администратором.",
            name=member.name,
        ),
        "success",
    )
    return see_other("admin.staff_member", user_id=member.id)


@bp.route("/staff/<int:user_id>/position", methods=["POST"])
def staff_position(user_id):
    member = access_staff_member(current_user, user_id)
    if not can_edit_staff(current_user, member):
        abort(403)
    form = PositionForm()
    if not form.validate_on_submit():
        return _member_page(member, position_form=form, status=422)
    do_set_position(current_user, member, form.position.data)
    flash(_("Должность сохранена."), "success")
    return see_other("admin.staff_member", user_id=member.id)


@bp.route("/staff/<int:user_id>/dismiss", methods=["POST"])
def staff_dismiss(user_id):
    member = access_staff_member(current_user, user_id)
    if not can_dismiss(current_user, member):
        abort(403)
    form = _dismiss_form(member)
    if not form.validate_on_submit():
        return _member_page(member, dismiss_form=form, status=422)
    successor = (
        access_staff_member(current_user, form.successor.data) if form.successor.data else None
    )
    try:
        do_dismiss_staff(current_user, member, successor)
    except ActionError as error:
        action_failed(form, error)
        return _member_page(member, dismiss_form=form, status=422)
    flash(
        _(
            "%(name)s уволен(а): сеансы на всех устройствах завершены, из групп и рабочих "
            "чатов удалён(а); чаты, которые он(а) вёл(а), переданы.",
            name=member.name,
        ),
        "success",
    )
    return see_other("admin.staff")


# --- invites -----------------------------------------------------------------------------------


def invite_url(invite) -> str:
    """The link inside an invite, built from the configured base URL — never from Host."""
    return qr.public_url("invites.staff_invite", token=invite.token)


@bp.route("/staff/invites", methods=["GET", "POST"])
def staff_invites():
    form = StaffInviteForm()
    if form.validate_on_submit():
        grants_admin = form.role.data == "admin"
        if not can_invite_staff(current_user, grants_admin):
            abort(403)
        max_uses = int(form.max_uses.data) or None
        invite = do_create_staff_invite(
            current_user,
            position=form.position.data,
            grants_admin=grants_admin,
            expires_at=utcnow() + timedelta(days=int(form.expires.data)),
            max_uses=max_uses,
        )
        flash(_("Приглашение создано. Отправьте ссылку новому сотруднику."), "success")
        return see_other("admin.staff_invite", invite_id=invite.id)
    kindergarten_id = current_user.kindergarten_id
    with_admin = can_invite_staff(current_user, grants_admin=True)
    return page(
        "admin/staff_invites.html",
        form=form,
        live=db.session.scalars(
            queries.staff_invites(kindergarten_id, with_admin=with_admin)
        ).all(),
        dead=db.session.scalars(
            queries.staff_invites(kindergarten_id, live=False, with_admin=with_admin).limit(20)
        ).all(),
    )


@bp.route("/staff/invites/<int:invite_id>")
def staff_invite(invite_id):
    invite = access_staff_invite(current_user, invite_id)
    url = invite_url(invite)
    host = urlsplit(url).hostname or ""
    live = invite.state() == "live"
    return page(
        "admin/staff_invite.html",
        invite=invite,
        url=url,
        url_is_local=host in {"127.0.0.1", "localhost", "::1"},  # SFERUM_BASE_URL not set
        qr_svg=qr.svg(url, _("QR-код приглашения сотрудника")) if live else None,
    )


@bp.route("/staff/invites/<int:invite_id>/qr.png")
def staff_invite_qr(invite_id):
    invite = access_staff_invite(current_user, invite_id)
    if invite.state() != "live":
        abort(410)  # a revoked, used-up or expired link is not handed out again
    return Response(
        qr.png(invite_url(invite)),
        mimetype="image/png",
        headers={
            "Content-Disposition": content_disposition(f"priglashenie-sotrudnika-{invite.id}.png"),
            "Cache-Control": "private, no-store",
        },
    )


@bp.route("/staff/invites/<int:invite_id>/revoke", methods=["POST"])
def staff_invite_revoke(invite_id):
    invite = access_staff_invite(current_user, invite_id)
    do_revoke_staff_invite(current_user, invite)
    flash(_("Ссылка отозвана: по ней больше нельзя зарегистрироваться."), "success")
    return see_other("admin.staff_invites")
