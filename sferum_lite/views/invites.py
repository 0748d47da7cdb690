"""Joining by an invite link: the staff, or a chat (landing, account, child, rules, approval).

The link's token moves into the session at once and the browser goes on to a URL without it, so
the token doesn't stay in the address bar, the history or a Referer header.
"""

from __future__ import annotations

from flask import Blueprint, flash, g, make_response, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import queries
from ..actions import ActionError
from ..actions.accounts import current_consent_text, do_join_staff, do_register_staff
from ..actions.invites import DeadInvite, do_join_chat, do_register_parent, refusal
from ..extensions import db, limiter
from ..forms import AcceptRulesForm, EmptyForm, JoinChildForm, RegisterForm, StaffRegisterForm
from ..permissions import (
    can_join_as_staff,
    chat_invite_by_token,
    is_staff,
    is_trusted_staff,
    own_join_request,
    staff_invite_by_token,
)
from ..security import LOGIN_HINT_KEY
from ..templating import is_htmx
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


def _sign_in_to_go_on(typed_login: str, endpoint: str):
    """After the registration form — a new account or a login that already had one — one and
    the same answer: the sign-in page with the login filled in and a sentence for both cases.
    Nothing in the answer, the cookie or the next page tells whether the phone was known."""
    session[LOGIN_HINT_KEY] = typed_login
    flash(
        _(
            "Осталось войти: введите пароль, который вы только что придумали. Если это ваш "
            "номер и учётная запись у вас уже была — войдите с прежним паролем (забыли его — "
            "«Забыли пароль?» ниже)."
        ),
        "info",
    )
    return see_other("auth.login", next=url_for(endpoint))


def _welcome_new_staff():
    """The account this very invite made, signed in for the first time: to the home page."""
    invite = staff_invite_by_token(session.get(SESSION_KEY, ""))
    if invite is None or not queries.joined_staff_through(current_user, invite):
        return None
    session.pop(SESSION_KEY, None)
    flash(
        _(
            "Добро пожаловать! Администратор подтвердит вашу учётную запись, "
            "и рядом с вашим именем появится значок."
        ),
        "success",
    )
    return see_other("main.home")


@bp.route("/join/staff", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def join_staff():
    if current_user.is_authenticated and (welcome := _welcome_new_staff()) is not None:
        return welcome
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
            return _sign_in_to_go_on(form.login.data, "invites.join_staff")
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


# --- chat invites: scan → landing → account → child → rules → in the chat (or waiting) --------

CHAT_KEY = "chat_invite"
CHILD_KEY = "join_child"


def _no_referrer(response):
    response = make_response(response)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _failed_lookup(response) -> bool:
    return response.status_code == 404


@bp.route("/i/<token>")
@limiter.limit("20 per 10 minutes", deduct_when=_failed_lookup)
def chat_invite(token):
    """A scanned link: an unknown token is a 404 that says nothing (and counts against the
    address's limit of failed look-ups); a known one moves into the session."""
    invite = chat_invite_by_token(token)
    if invite is None:
        return _no_referrer(page("invites/dead.html", state="unknown", invite=None, status=404))
    session[CHAT_KEY] = invite.token
    session.pop(CHILD_KEY, None)
    return _no_referrer(see_other("invites.join"))


def _forget_join() -> None:
    session.pop(CHAT_KEY, None)
    session.pop(CHILD_KEY, None)


def _dead(invite, state):
    """Why the link lets nobody in: 409 while it is paused (it may come back), 410 for good."""
    g.kindergarten = invite.kindergarten
    chat = invite.chat
    return page(
        "invites/chat_dead.html",
        state=state,
        invite=invite,
        chat=chat,
        educators=queries.group_educators(chat.group_id) if chat.group_id else [],
        status=409 if state == "paused" else 410,
    )


def _chat_step():
    """(invite, None) when the person may go on joining; otherwise (None, the page or redirect
    that says where they stand: in the chat already, waiting, refused, or a dead link)."""
    invite = chat_invite_by_token(session.get(CHAT_KEY, ""))
    if invite is None:
        return None, page("invites/dead.html", state="unknown", invite=None, status=404)
    chat = invite.chat
    g.kindergarten = invite.kindergarten  # the header names the invite's kindergarten
    if current_user.is_authenticated:
        problem = refusal(current_user, chat)
        if current_user.kindergarten_id == chat.kindergarten_id and queries.is_member(
            current_user, chat
        ):
            _forget_join()
            flash(_("Вы уже в этом чате."), "info")
            return None, see_other("messages.chat", chat_id=chat.id)
        if problem:
            g.kindergarten = current_user.kindergarten
            return None, page("invites/refused.html", message=problem, chat=chat, status=403)
        waiting = queries.join_request_of(current_user, chat)
        if waiting is not None:
            _forget_join()
            return None, see_other("invites.join_request", request_id=waiting.id)
    state = "archived" if chat.archived_at is not None else invite.state()
    if state != "live":
        return None, _dead(invite, state)
    return invite, None


def _needs_child(invite) -> bool:
    """Trusted staff, and parents who already have a child in the chat's group, skip naming
    one; a staff member nobody has verified yet names a child like anybody."""
    if is_trusted_staff(current_user):
        return False
    return not queries.own_children_in(current_user, invite.chat)


@bp.route("/join")
def join():
    invite, stop = _chat_step()
    if stop is not None:
        return stop
    chat = invite.chat
    return page(
        "invites/landing.html",
        invite=invite,
        chat=chat,
        educators=queries.group_educators(chat.group_id) if chat.group_id else [],
        asks_child=not current_user.is_authenticated or _needs_child(invite),
        next_step=(
            url_for("invites.join_child")
            if current_user.is_authenticated and _needs_child(invite)
            else url_for("invites.join_rules")
        ),
    )


@bp.route("/join/register", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def join_register():
    invite, stop = _chat_step()
    if stop is not None:
        return stop
    if current_user.is_authenticated:
        return see_other("invites.join")
    consent = current_consent_text(invite.kindergarten_id)
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            do_register_parent(
                invite,
                name=form.name.data,
                login=form.login.parsed,
                password=form.password.data,
                consent_text_id=consent.id,
            )
        except DeadInvite as dead:
            db.session.rollback()
            return _dead(invite, dead.state)
        except ActionError as error:
            action_failed(form, error)
        else:
            return _sign_in_to_go_on(form.login.data, "invites.join_child")
    return page(
        "invites/join_register.html", form=form, invite=invite, chat=invite.chat, consent=consent
    )


@bp.route("/join/child", methods=["GET", "POST"])
@login_required
def join_child():
    invite, stop = _chat_step()
    if stop is not None:
        return stop
    if not _needs_child(invite):
        return see_other("invites.join_rules")
    typed = session.get(CHILD_KEY) or ["", ""]
    form = JoinChildForm(
        data=None if request.method == "POST" else {"last_name": typed[0], "first_name": typed[1]}
    )
    if form.validate_on_submit():
        session[CHILD_KEY] = [form.last_name.data, form.first_name.data]
        return see_other("invites.join_rules")
    return page("invites/join_child.html", form=form, invite=invite, chat=invite.chat)


@bp.route("/join/rules", methods=["GET", "POST"])
@login_required
def join_rules():
    invite, stop = _chat_step()
    if stop is not None:
        return stop
    chat = invite.chat
    typed = session.get(CHILD_KEY)
    if _needs_child(invite) and not typed:
        return see_other("invites.join_child")
    rules = queries.current_rules(chat)
    form = AcceptRulesForm(data={"rules_id": rules.id if rules else 0})
    if form.validate_on_submit():
        try:
            outcome = do_join_chat(
                invite,
                current_user,
                child_name=tuple(typed) if typed else None,
                rules_id=form.rules_id.data or None,
            )
        except DeadInvite as dead:
            db.session.rollback()
            return _dead(invite, dead.state)
        except ActionError as error:
            action_failed(form, error)
            rules = queries.current_rules(chat)
            form.rules_id.data = rules.id if rules else 0
        else:
            _forget_join()
            if outcome.waiting:
                return see_other("invites.join_request", request_id=outcome.request.id)
            if not outcome.already:
                flash(_("Добро пожаловать в чат «%(title)s»!", title=chat.title), "success")
            return see_other("messages.chat", chat_id=outcome.chat_id)
    return page(
        "invites/join_rules.html",
        form=form,
        invite=invite,
        chat=chat,
        rules=rules,
        child=typed,
        status=409 if form.form_errors else None,
    )


@bp.route("/join/declined")
def join_declined():
    """«Не принимаю»: the person stays outside; the link still works while it lives."""
    invite = chat_invite_by_token(session.get(CHAT_KEY, ""))
    if invite is not None:
        g.kindergarten = invite.kindergarten
    return page("invites/declined.html", invite=invite)


@bp.route("/join/requests/<int:request_id>")
@login_required
def join_request(request_id):
    """The applicant's own page: waiting, declined (with the reason), or — once admitted —
    on to the chat. htmx polls it while it waits."""
    join_request = own_join_request(current_user, request_id)
    if join_request.status == "admitted":
        target = url_for("messages.chat", chat_id=join_request.chat_id)
        if is_htmx():
            response = make_response("", 200)
            response.headers["HX-Redirect"] = target
            return response
        return redirect(target, code=303)
    if is_htmx():
        if join_request.status == "waiting":
            return "", 204
        response = make_response("", 200)
        response.headers["HX-Refresh"] = "true"
        return response
    return page("invites/waiting.html", join_request=join_request, chat=join_request.chat)
