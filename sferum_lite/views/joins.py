"""People waiting to join a chat, for its moderators: admit (linking the child) or decline; and
the notices a parent dismisses when another account was linked to their child."""

from __future__ import annotations

from flask import Blueprint, abort, flash
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import queries
from ..actions import ActionError
from ..actions.children import do_dismiss_child_links
from ..actions.invites import do_admit, do_decline
from ..forms import AdmitForm, DeclineForm, SeenUptoForm, options
from ..permissions import access_chat, access_join_request, can_admit, can_moderate
from . import action_failed, page, see_other

bp = Blueprint("joins", __name__)


@bp.before_request
@login_required
def require_sign_in():
    return None


def _admit_form(chat, join_request, formdata=None, children=None):
    children = queries.group_children(chat) if children is None else children
    form = AdmitForm(formdata=formdata) if formdata is not None else AdmitForm()
    form.child_id.choices = options(
        [(0, _("— не привязывать —"))] + [(child.id, child.full_name) for child in children]
    )
    if not form.is_submitted():
        form.child_id.data = join_request.child_id or 0  # the name's match, pre-selected
    return form


@bp.route("/chats/<int:chat_id>/requests")
def index(chat_id):
    access = access_chat(current_user, chat_id)
    if not can_moderate(access):
        abort(403)
    return _page(access, DeclineForm(formdata=None))


def _page(access, decline_form, declining=None, status=None, admitting=None):
    """The page; `admitting` is the submitted admit form of one request, shown with its error."""
    waiting = queries.waiting_requests(access.chat)
    children = queries.group_children(access.chat)
    forms = {r.id: _admit_form(access.chat, r, formdata=None, children=children) for r in waiting}
    if admitting is not None:
        forms[admitting[0]] = admitting[1]
    return page(
        "joins/index.html",
        access=access,
        chat=access.chat,
        waiting=waiting,
        forms=forms,
        decline_form=decline_form,
        declining=declining,
        decided=queries.decided_requests(access.chat),
        status=status,
    )


def _back(chat_id):
    return see_other("joins.index", chat_id=chat_id)


@bp.route("/requests/<int:request_id>/admit", methods=["POST"])
def admit(request_id):
    """«Впустить»: the person joins, and the child the moderator chose becomes theirs."""
    access, join_request = access_join_request(current_user, request_id)
    if not can_admit(access):
        abort(403)
    form = _admit_form(access.chat, join_request)
    if not form.validate_on_submit():
        form.child_id.errors = [_("Выберите ребёнка из списка группы.")]
        return _page(
            access, DeclineForm(formdata=None), status=422, admitting=(join_request.id, form)
        )
    child = queries.child_in_chat(access.chat, form.child_id.data)
    try:
        do_admit(current_user, access, join_request, child)
    except ActionError as error:
        if error.field != "child_id":
            flash(error.message, "error")
            return _back(access.chat.id)
        action_failed(form, error)
        return _page(
            access, DeclineForm(formdata=None), status=422, admitting=(join_request.id, form)
        )
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


@bp.route("/child-links/seen", methods=["POST"])
def child_links_seen():
    """«Понятно» under the notices of accounts linked to one's children: those shown (up to the
    newest on the page; one that came after stays)."""
    form = SeenUptoForm()
    if not form.validate_on_submit():
        abort(400)
    do_dismiss_child_links(current_user, form.upto.data)
    return see_other("main.home")
