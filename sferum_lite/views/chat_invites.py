"""A chat's invite links for its moderators: make, list, show as a QR code, print, revoke."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import qr, queries
from ..actions import ActionError
from ..actions.invites import (
    do_create_chat_invite,
    do_resume_chat_invite,
    do_revoke_chat_invite,
)
from ..extensions import db
from ..forms import ChatInviteForm
from ..permissions import access_chat, access_chat_invite, can_invite, can_moderate
from ..uploads import content_disposition
from . import action_failed, page, see_other

bp = Blueprint("chat_invites", __name__)

DEAD_SHOWN = 10  # dead invites listed under the live ones


@bp.before_request
@login_required
def require_sign_in():
    return None


# --- who sees what ----------------------------------------------------------------------------


def sees_invites(access) -> bool:
    """The chat's invite links: those who may invite into it, and its moderators once it is in
    the archive (they still see and revoke the links it had)."""
    return can_invite(access) or (can_moderate(access) and access.chat.is_archived)


def usable(access, invite) -> bool:
    """The link lets people in now: live, into a chat that is not archived."""
    return invite.state() == "live" and not access.chat.is_archived


def _access_invite(invite_id: int):
    access, invite = access_chat_invite(current_user, invite_id)
    if not sees_invites(access):
        abort(403)
    return access, invite


def invite_url(invite) -> str:
    """The link inside the QR code, on the configured public address."""
    return qr.public_url("invites.chat_invite", token=invite.token)


# --- pages --------------------------------------------------------------------------------------


def _index_page(access, form, status=None):
    chat_id = access.chat.id
    return page(
        "chat_invites/index.html",
        form=form,
        status=status,
        access=access,
        live=db.session.scalars(queries.chat_invites(chat_id)).all(),
        dead=db.session.scalars(queries.chat_invites(chat_id, live=False).limit(DEAD_SHOWN)).all(),
        date_bounds=form.date_bounds(),
    )


@bp.route("/chats/<int:chat_id>/invites", methods=["GET", "POST"])
def index(chat_id):
    access = access_chat(current_user, chat_id)
    if not sees_invites(access):
        abort(403)
    form = ChatInviteForm()
    if request.method == "GET":
        return _index_page(access, form)
    if not can_invite(access):
        abort(403)
    if not form.validate_on_submit():
        return _index_page(access, form, status=422)
    try:
        invite = do_create_chat_invite(
            current_user,
            access,
            expires_at=form.expires_at(),
            max_uses=form.uses(),
            needs_approval=form.needs_approval,
        )
    except ActionError as error:
        action_failed(form, error)
        return _index_page(access, form, status=422)
    flash(_("Ссылка готова. Покажите QR-код родителям или распечатайте плакат."), "success")
    return see_other("chat_invites.show", invite_id=invite.id)


@bp.route("/invites/<int:invite_id>")
def show(invite_id):
    access, invite = _access_invite(invite_id)
    url = invite_url(invite)
    live = usable(access, invite)
    return page(
        "chat_invites/show.html",
        access=access,
        invite=invite,
        url=url,
        usable=live,
        qr_svg=qr.svg(url, _("QR-код приглашения в чат")) if live else None,
    )


@bp.route("/invites/<int:invite_id>/qr.png")
def qr_png(invite_id):
    access, invite = _access_invite(invite_id)
    if not usable(access, invite):
        abort(410)  # a revoked, used-up or expired link is not handed out again
    return Response(
        qr.png(invite_url(invite)),
        mimetype="image/png",
        headers={
            "Content-Disposition": content_disposition(f"priglashenie-{invite.chat_id}.png"),
            "Cache-Control": "private, no-store",
        },
    )


@bp.route("/invites/<int:invite_id>/poster")
def poster(invite_id):
    access, invite = _access_invite(invite_id)
    url = invite_url(invite)
    live = usable(access, invite)
    return page(
        "chat_invites/poster.html",
        status=200 if live else 410,
        access=access,
        invite=invite,
        url=url,
        usable=live,
        qr_svg=qr.svg(url, _("QR-код приглашения в чат")) if live else None,
    )


@bp.route("/invites/<int:invite_id>/resume", methods=["POST"])
def resume(invite_id):
    """«Возобновить» a link paused after too many names that matched nobody."""
    access, invite = _access_invite(invite_id)
    if invite.state() != "paused" or access.chat.is_archived:
        flash(_("Эта ссылка не приостановлена: возобновлять нечего."), "info")
        return see_other("chat_invites.show", invite_id=invite.id)
    do_resume_chat_invite(current_user, invite)
    flash(_("Ссылка снова действует: по ней можно вступить в чат."), "success")
    return see_other("chat_invites.show", invite_id=invite.id)


@bp.route("/invites/<int:invite_id>/revoke", methods=["POST"])
def revoke(invite_id):
    access, invite = _access_invite(invite_id)
    do_revoke_chat_invite(current_user, invite)
    flash(_("Ссылка отозвана: по ней больше нельзя вступить в чат."), "success")
    return see_other("chat_invites.index", chat_id=access.chat.id)
