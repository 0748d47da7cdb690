"""A way back in for whoever forgot the password (issue 13 §6).

- In person: on a person's card, whoever may (see `permissions.can_reset_password`) presses
  «Сбросить пароль»; the answer is a page with a one-time QR code and link, valid 15 minutes,
  which the person opens on their own phone. The token exists only in that answer (the database
  keeps its hash), so the page is the POST's own answer, never cached; pressing again makes a
  new link and ends the old one.
- By e-mail (when SMTP_URL is set): «Забыли пароль?» on the sign-in page. The request hands what
  was typed to the mail worker and answers the same page at once, whatever was typed.
- The link: `/password-reset/<token>` sets a new password, once.
"""

from __future__ import annotations

from flask import Blueprint, flash, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..actions import ActionError
from ..actions.recovery import (
    LIFETIME,
    do_make_reset_link,
    do_reset_password,
    send_reset_letter,
)
from ..errors import error_page
from ..extensions import db, limiter
from ..forms import ForgotPasswordForm, PasswordResetForm, ResetLinkForm
from ..mail import jobs, mail_configured
from ..permissions import access_reset_target, password_reset_by_token
from ..qr import public_url, svg
from ..security import known_device, safe_next
from . import page, see_other

bp = Blueprint("recovery", __name__)


def _private(answer: tuple[str, int]):
    """A page holding a live token: kept by no cache, sent to no other site as a referrer."""
    body, status = answer
    return body, status, {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@bp.route("/people/<int:user_id>/password-reset", methods=["POST"])
@limiter.limit("30 per minute")
@login_required
def make_link(user_id):
    target = access_reset_target(current_user, user_id)
    form = ResetLinkForm()
    if not form.validate_on_submit():
        return error_page(400)
    reset, token = do_make_reset_link(current_user, target)
    url = public_url("recovery.reset", token=token)
    return _private(
        page(
            "recovery/qr.html",
            person=target,
            reset=reset,
            url=url,
            qr_svg=svg(url, label=_("QR-код для смены пароля")),
            minutes=int(LIFETIME["in_person"].total_seconds() // 60),
            back=safe_next(form.next.data),
        )
    )


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit("5 per minute;30 per hour", methods=["POST"])
def forgot():
    form = ForgotPasswordForm()
    email_way = mail_configured()
    if email_way and form.validate_on_submit():
        # the same answer, as fast, whatever was typed: the look-up and the letter are the
        # worker's (see mail.Jobs)
        jobs().submit(send_reset_letter, *form.login.parsed)
        return page("recovery/forgot.html", form=None, email_way=True, sent=True)
    return page("recovery/forgot.html", form=form, email_way=email_way, sent=False)


def _dead(reset, status: int | None = None):
    """The friendly page of a link that doesn't work: 404 for an unknown one, 410 for a used,
    ended or expired one."""
    if status is None:
        status = 404 if reset is None else 410
    return _private(page("recovery/dead.html", reset=reset, status=status))


@bp.route("/password-reset/<token>", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def reset(token):
    reset = password_reset_by_token(token)
    if reset is None or reset.state() != "live":
        return _dead(reset)
    person = reset.user
    form = PasswordResetForm(login=person.phone or person.email or "")
    if form.validate_on_submit():
        try:
            do_reset_password(reset, form.password.data, device=known_device(person))
        except ActionError:
            db.session.rollback()
            return _dead(reset, 410)
        flash(_("Пароль изменён. Войдите с новым паролем."), "success")
        return see_other("auth.login")
    return _private(page("recovery/reset.html", form=form, person=person, reset=reset))


@bp.app_context_processor
def _recovery_helpers():
    return {"reset_link_form": lambda: ResetLinkForm(next=request.full_path.rstrip("?"))}
