"""People waiting to join a chat, for its moderators: admit (linking the child) or decline."""

from __future__ import annotations

from flask import Blueprint, abort, flash
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import queries
from ..actions import ActionError
from ..actions.invites import do_admit, do_decline
from ..forms import AdmitForm, DeclineForm, options
from ..permissions import access_chat, access_join_request, can_admit, can_moderate
from . import page, see_other

bp = Blueprint("joins", __name__)


@bp.before_request
@login_required
def require_sign_in():
    return None


def _admit_form(chat, join_request, formdata=None):
    children = queries.group_children(chat)
    form = AdmitForm(formdata=formdata) if formdata is not None else AdmitForm()
    form.child_id.choices = options(
        [(0, _("— не привязывать —"))] + [(child.id, child.full_name) for child in children]
    )
    if not form.is_submitted():
        form.child_id.data = join_request.child_id or 0
    return form


@bp.route("/chats/<int:chat_id>/requests")
def index(chat_id):
    access = access_chat(current_user, chat_id)
    if not can_moderate(access):
        abort(403)
    return _page(access, DeclineForm(formdata=None))


def _page(access, decline_form, declining=None, status=None):
    waiting = queries.waiting_requests(access.chat)
    return page(
        "joins/index.html",
        access=access,
        chat=access.chat,
        waiting=waiting,
        forms={r.id: _admit_form(access.chat, r) for r in waiting},
        decline_form=decline_form,
        declining=declining,
        decided=queries.decided_requests(access.chat),
        status=status,
    )


def _back(chat_id):
    return see_other("joins.index", chat_id=chat_id)


@bp.route("/requests/<int:request_id>/admit", methods=["POST"])
def admit(request_id):
    access, join_request = access_join_request(current_user, request_id)
    if not can_admit(access):
        abort(403)
    form = _admit_form(access.chat, join_request)
    if not form.validate_on_submit():
        flash(_("Выберите ребёнка из списка группы."), "error")
        return _back(access.chat.id)
    child = queries.child_in_chat(access.chat, form.child_id.data)
    try:
        do_admit(current_user, access, join_request, child)
    except ActionError as error:
        flash(error.message, "error")
        return _back(access.chat.id)
    flash(_("%(name)s теперь в чате.", name=join_request.user.name), "success")
    return _back(access.chat.id)


@bp.route("/requests/<int:request_id>/decline", methods=["POST"])
def decline(request_id):
    access, join_request = access_join_request(current_user, request_id)
    if not can_admit(access):
        abort(403)
    form = DeclineForm()
    if not form.validate_on_submit():
        return _page(access, form, declining=join_request.id, status=422)
    try:
        do_decline(current_user, access, join_request, form.reason.data)
    except ActionError as error:
        flash(error.message, "error")
        return _back(access.chat.id)
    flash(_("Заявка отклонена. Человек увидит причину."), "success")
    return _back(access.chat.id)
