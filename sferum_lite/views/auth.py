"""Signing in and out, the profile and the interface language."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Response, flash, make_response, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, logout_user

from .. import personal_data
from ..actions import ActionError
from ..actions.accounts import (
    do_change_password,
    do_end_other_sessions,
    do_release_attempt,
    do_reserve_attempt,
    do_set_locale,
    do_sign_in,
    do_sign_out,
    do_update_profile,
)
from ..actions.privacy import deletion_refusal, do_delete_account
from ..extensions import db, limiter, login_manager
from ..forms import (
    DeleteAccountForm,
    LanguageForm,
    LoginForm,
    PasswordChangeForm,
    ProfileForm,
    local_today,
)
from ..security import (
    LOGIN_HINT_KEY,
    find_user_by_login,
    known_device,
    lockout_minutes,
    login_key,
    parse_login,
    remember_device,
    safe_next,
    verify_password,
    warn_if_limits_are_per_worker,
)
from ..uploads import content_disposition
from . import page, see_other

bp = Blueprint("auth", __name__)
# the sign-in limits are this blueprint's: say at start when the workers can't share them
bp.record_once(lambda state: warn_if_limits_are_per_worker(state.app))


def _return_path() -> str | None:
    """Where to come back after signing in: this page for a GET; for a POST (a form or an htmx
    click whose session ended) the page it was sent from — never the POST-only address."""
    if request.method in ("GET", "HEAD"):
        return request.full_path.rstrip("?")
    came_from = request.headers.get("HX-Current-URL") or request.referrer or ""
    parts = urlsplit(came_from)
    if parts.netloc and parts.netloc != request.host:
        return None
    return safe_next(parts.path + (f"?{parts.query}" if parts.query else ""))


@login_manager.unauthorized_handler
def unauthorized():
    target = url_for("auth.login", next=_return_path())
    if request.headers.get("HX-Request"):
        response = make_response("", 204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


def locked_out_message(minutes: int) -> str:
    return ngettext(
        "Слишком много неудачных попыток входа. Попробуйте через %(num)d минуту.",
        "Слишком много неудачных попыток входа. Попробуйте через %(num)d минут.",
        minutes,
    )


def _locked_out(form, minutes: int):
    form.form_errors.append(locked_out_message(minutes))
    return page("auth/login.html", form=form, status=429)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
def login():
    target = safe_next(request.values.get("next"))
    if current_user.is_authenticated:
        return redirect(target or url_for("main.home"))
    form = LoginForm(next=target)
    if request.method == "GET" and LOGIN_HINT_KEY in session:  # just registered, or tried to
        form.login.data = session.pop(LOGIN_HINT_KEY)
    if form.validate_on_submit():
        parsed = parse_login(form.login.data)
        user = find_user_by_login(*parsed) if parsed else None
        # on a browser where this person signed in before, their tries count apart: a
        # stranger's failures don't lock them out here
        key = login_key(form.login.data, device=known_device(user))
        minutes, _attempt = do_reserve_attempt(key)
        if minutes:
            return _locked_out(form, minutes)
        if verify_password(user.password_hash if user else None, form.password.data):
            do_sign_in(user, password=form.password.data, login_hash=key)
            return remember_device(redirect(target or url_for("main.home"), code=303), user)
        minutes = lockout_minutes(key)
        if minutes:
            return _locked_out(form, minutes)
        form.form_errors.append(_("Неверный логин или пароль."))
    return page("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    do_sign_out()
    flash(_("Вы вышли из системы."), "info")
    return see_other("auth.login")


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        do_update_profile(current_user, name=form.name.data)
        flash(_("Имя сохранено."), "success")
        return see_other("auth.profile")
    return _profile_page(profile_form=form)


def _profile_page(*, profile_form=None, password_form=None, status=None):
    profile_form = profile_form or ProfileForm(obj=current_user, formdata=None)
    password_form = password_form or PasswordChangeForm(formdata=None)
    language_form = LanguageForm(locale=current_user.locale or "ru", formdata=None)
    status = status or max(
        (422 if f.is_submitted() and f.errors else 200) for f in (profile_form, password_form)
    )
    return page(
        "auth/profile.html",
        form=profile_form,
        password_form=password_form,
        language_form=language_form,
        status=status,
    )


@bp.route("/profile/password", methods=["POST"])
@limiter.limit("10 per minute")
@login_required
def change_password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        status = _password_again(form, form.current_password, _("Текущий пароль введён неверно."))
        if status is None:
            do_change_password(current_user, form.password.data)
            flash(_("Пароль изменён. На других устройствах нужно войти заново."), "success")
            return see_other("auth.profile")
        return _profile_page(password_form=form, status=status)
    return _profile_page(password_form=form)


def _password_again(form, field, wrong: str) -> int | None:
    """The signed-in person's password typed again: None when right, else the status to answer
    (422 with `wrong` on the field, 429 when locked). Wrong passwords count like failed
    sign-ins, so a stolen session can't guess on; the try that locks says so at once. On a
    browser where the person signed in before, their tries count apart from strangers'."""
    key = login_key(current_user.login, device=known_device(current_user))
    minutes, attempt = do_reserve_attempt(key)
    if not minutes:
        if verify_password(current_user.password_hash, field.data):
            do_release_attempt(attempt)
            return None
        minutes = lockout_minutes(key)
    if minutes:
        form.form_errors.append(locked_out_message(minutes))
        return 429
    field.errors = [wrong]
    return 422


@bp.route("/profile/sessions/end", methods=["POST"])
@login_required
def end_other_sessions():
    do_end_other_sessions(current_user)
    flash(_("Вы вышли на всех других устройствах."), "success")
    return see_other("auth.profile")


@bp.route("/profile/data")
@login_required
def my_data():
    """The person's own data as a file (152-FZ, art. 14). Only the signed-in person's: there
    is no id to change."""
    response = Response(
        personal_data.as_json(current_user),
        mimetype="application/json",
        headers={
            "Content-Disposition": content_disposition(
                f"sferum-data-{local_today():%Y-%m-%d}.json", inline=False
            )
        },
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/profile/delete", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
@login_required
def delete_account():
    """Delete one's own account: personal data erased, messages kept and signed «Удалённый
    пользователь»."""
    form = DeleteAccountForm()
    refusal = deletion_refusal(current_user)
    if request.method == "GET" or refusal:
        status = 409 if refusal and request.method == "POST" else None
        return page("auth/delete.html", form=form, refusal=refusal, status=status)
    if not form.validate_on_submit():
        return page("auth/delete.html", form=form, refusal=None)
    status = _password_again(form, form.password, _("Пароль введён неверно."))
    if status is not None:
        return page("auth/delete.html", form=form, refusal=None, status=status)
    try:
        do_delete_account(current_user)
    except ActionError as error:
        db.session.rollback()
        return page("auth/delete.html", form=form, refusal=error.message, status=409)
    logout_user()
    session.clear()
    flash(
        _(
            "Учётная запись удалена: имя, телефон, e-mail и связи с детьми стёрты. "
            "Ваши сообщения остались в чатах с подписью «Удалённый пользователь»."
        ),
        "success",
    )
    return see_other("auth.login")


@bp.route("/language", methods=["POST"])
def language():
    form = LanguageForm()
    if form.validate_on_submit():
        do_set_locale(current_user if current_user.is_authenticated else None, form.locale.data)
    return redirect(safe_next(form.next.data) or url_for("main.home"), code=303)
