"""Joining the staff through an invite link.

The link's token moves into the session at once and the browser goes on to a URL without it, so
the token doesn't stay in the address bar, the history or a Referer header.
"""

from __future__ import annotations

from flask import Blueprint, flash, g, request, session
from flask_babel import gettext as _
from flask_login import current_user

from ..actions import ActionError
from ..actions.accounts import current_consent_text, do_join_staff, do_register_staff
from ..extensions import limiter
from ..forms import EmptyForm, StaffRegisterForm
from ..permissions import can_join_as_staff, is_staff, staff_invite_by_token
from . import action_failed, page, see_other

bp = Blueprint("invites", __name__)

SESSION_KEY = "staff_invite"


@bp.route("/staff-invite/<token>")
def staff_invite(token):
    session[SESSION_KEY] = token[:64]
    response = see_other("invites.join_staff")
    # The URL with the token is never sent on as a Referer. The page it leads to has no token
    # in its URL and keeps the site's same-origin policy: its form needs a same-origin Referer
    # for the CSRF check over https.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _invite_or_dead_page():
    """(invite, None) for a live invite, or (None, response) explaining why there is none."""
    invite = staff_invite_by_token(session.get(SESSION_KEY, ""))
    if invite is None:
        return None, page("invites/dead.html", state="unknown", invite=None, status=404)
    g.kindergarten = invite.kindergarten  # the header names the invite's kindergarten
    state = invite.state()
    if state != "live":
        return None, page("invites/dead.html", state=state, invite=invite, status=410)
    return invite, None


@bp.route("/join/staff", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def join_staff():
    invite, dead = _invite_or_dead_page()
    if dead is not None:
        return dead
    if current_user.is_authenticated:
        return _join_existing(invite)
    consent = current_consent_text(invite.kindergarten_id)
    form = StaffRegisterForm()
    if form.validate_on_submit():
        try:
            do_register_staff(
                invite,
                name=form.name.data,
                login=form.login.parsed,
                password=form.password.data,
                consent_text_id=consent.id,
            )
        except ActionError as error:
            action_failed(form, error)
        else:
            session.pop(SESSION_KEY, None)
            flash(
                _(
                    "Добро пожаловать! Администратор подтвердит вашу учётную запись, "
                    "и рядом с вашим именем появится значок."
                ),
                "success",
            )
            return see_other("main.home")
    return page("invites/join_staff.html", form=form, invite=invite, consent=consent)


def _join_existing(invite):
    if is_staff(current_user):
        return page("invites/already_staff.html", invite=invite)
    form = EmptyForm()
    if request.method == "POST" and can_join_as_staff(current_user):
        try:
            do_join_staff(invite, current_user)
        except ActionError as error:
            action_failed(form, error)
        else:
            session.pop(SESSION_KEY, None)
            flash(
                _("Вы в списке сотрудников. Администратор подтвердит вашу учётную запись."),
                "success",
            )
            return see_other("main.home")
    return page("invites/join_existing.html", form=form, invite=invite)
