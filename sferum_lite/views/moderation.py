"""Moderation by the regulation (reg 004 §20–27): from a message (delete under a clause,
record a violation, report), from a member's card (violations, block, early unblock, remove on
a departure, co-moderators), the blocked member's apology and the others' objections, the
reports queue, and the moderation log with its CSV.

A refused attempt (a crafted POST past what the page offers) answers with the reason in words,
changes nothing, and is written to the application log without any message text.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, redirect, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import chat_view, moderation_view
from ..actions import ActionError
from ..actions.moderation import (
    do_apologize,
    do_block,
    do_delete_by_moderator,
    do_lift_block_early,
    do_mark_removals_seen,
    do_object,
    do_record_violation,
    do_remind_rules,
    do_remove_member,
    do_report,
    do_resolve_report,
    do_set_moderator,
)
from ..extensions import db
from ..forms import (
    ApologyForm,
    BlockForm,
    DeleteMessageForm,
    EmptyForm,
    LogFilterForm,
    ModeratorForm,
    RemindForm,
    ReportForm,
    ResolveReportForm,
    ViolationForm,
    db_int,
    options,
)
from ..i18n import local_datetime
from ..models import MODERATION_ACTIONS
from ..permissions import (
    access_block,
    access_chat,
    access_member,
    access_message,
    access_report,
    can_act_on,
    can_apologize,
    can_block,
    can_moderate,
    can_moderate_message,
    can_remind,
    can_remove_member,
    can_report,
    can_resolve_report,
    can_see_chat_log,
    can_set_moderator,
    sees_moderation_log,
)
from ..regulation import ACTION_LABELS
from ..security import safe_next
from ..uploads import content_disposition
from . import page, see_other
from .messages import chat_page

bp = Blueprint("moderation", __name__)


@bp.before_request
@login_required
def require_sign_in():
    return None


def refused(what: str, message: str):
    """Write down a refused attempt (who, what, why; never message text) and undo."""
    db.session.rollback()
    current_app.logger.warning(
        "moderation refused: %s by user %s: %s", what, current_user.id, message
    )


def _chat_refusal(chat_id, status):
    """The chat again, with the flash that says why, and the refusal's status — a browser
    shows a 4xx page rather than follow its redirect."""
    return chat_page(access_chat(current_user, chat_id), status=status)


def _to_message(message):
    return see_other("messages.chat", chat_id=message.chat_id, _anchor=f"m-{message.id}")


# --- from a message: delete under a clause, record a violation, report ---------------------------


def _message_action(message_id, form_class, kind):
    """The message, if this moderator may act on it, and the form with the chat's clauses."""
    access, message = access_message(current_user, message_id)
    if not can_moderate(access):
        refused(kind, "not a moderator of this chat")
        abort(403)
    if message.is_deleted:
        refused(kind, "message already deleted")
        flash(_("Сообщение уже удалено."), "error")
        abort(current_app.make_response(_action_page(access, message, None, kind, 409)))
    if not can_moderate_message(access, message):
        refused(kind, "may not moderate this message")
        abort(403)
    form = form_class().with_clauses(moderation_view.clause_choices(access.chat))
    return access, message, form


def _on_message(message_id, form_class, kind, act):
    """The form for one action on a message, and the action: `act(access, message, form)`
    does it and returns what to tell the moderator."""
    access, message, form = _message_action(message_id, form_class, kind)
    if form.validate_on_submit():
        try:
            done = act(access, message, form)
        except ActionError as error:
            refused(kind, error.message)
            form.form_errors.append(error.message)
            return _action_page(access, message, form, kind, 409)
        flash(done, "success")
        return _to_message(message)
    if form.is_submitted():
        refused(kind, "invalid form")
    return _action_page(access, message, form, kind)


@bp.route("/messages/<int:message_id>/remove", methods=["GET", "POST"])
def remove_message(message_id):
    """Delete a message under a clause of the rules (§21), usually recording a violation."""

    def act(access, message, form):
        do_delete_by_moderator(
            current_user,
            access,
            message,
            clause=form.clause.data,
            note=form.note.data,
            record_violation=form.violation.data,
        )
        return _("Сообщение удалено по п. %(num)d правил.", num=form.clause.data)

    return _on_message(message_id, DeleteMessageForm, "delete", act)


@bp.route("/messages/<int:message_id>/violation", methods=["GET", "POST"])
def message_violation(message_id):
    """Record a violation of a clause by the message's author."""

    def act(access, message, form):
        count = do_record_violation(
            current_user,
            access,
            message.author,
            clause=form.clause.data,
            message=message,
            note=form.note.data,
        )
        return _violation_done(message.author, count)

    return _on_message(message_id, ViolationForm, "violation", act)


def _violation_done(user, count) -> str:
    return _(
        "Нарушение записано. У %(name)s нарушений в этом чате: %(count)d.",
        name=user.name,
        count=count,
    )


def _action_page(access, message, form, kind, status=None):
    view = chat_view.message_views(current_user, [message])[0]
    return page(
        "moderation/message_action.html",
        access=access,
        message=message,
        view=view,
        kind=kind,
        form=form,
        status=status,
    )


@bp.route("/messages/<int:message_id>/report", methods=["GET", "POST"])
def report(message_id):
    """Any member draws the moderators' attention to someone else's message."""
    access, message = access_message(current_user, message_id)
    if not can_report(access, message):
        refused("report", "may not report this message")
        abort(409 if message.is_deleted else 403)
    form = ReportForm()
    status = None
    if form.validate_on_submit():
        try:
            do_report(current_user, access, message, form.reason.data)
        except ActionError as error:
            refused("report", error.message)
            form.form_errors.append(error.message)
            status = 409
        else:
            flash(
                _("Жалоба отправлена модераторам чата. Вы увидите, когда её рассмотрят."), "success"
            )
            return _to_message(message)
    view = chat_view.message_views(current_user, [message])[0]
    return page(
        "moderation/report.html",
        access=access,
        message=message,
        view=view,
        form=form,
        status=status,
    )


@bp.route("/chats/<int:chat_id>/remind", methods=["POST"])
def remind(chat_id):
    """«Напомнить правила» (§23): one tap; from a message it is addressed to its author."""
    access = access_chat(current_user, chat_id)
    if not can_remind(access):
        refused("reminder", "may not remind")
        abort(403)
    form = RemindForm()
    if not form.validate_on_submit():
        abort(400)
    to = None
    if form.member.data:
        _access, _member, to = access_member(current_user, chat_id, form.member.data)
    try:
        message = do_remind_rules(current_user, access, to=to)
    except ActionError as error:
        refused("reminder", error.message)
        flash(error.message, "error")
        return _chat_refusal(chat_id, 409)
    flash(_("Напоминание о правилах отправлено в чат."), "success")
    back = safe_next(form.next.data)
    if back:
        return redirect(back, code=303)
    return _to_message(message)


# --- a member's card: violations, blocks, early unblock, removal, co-moderators ------------------


def _card_page(access, member, user, *, status=None, violation_form=None, block_form=None):
    card = moderation_view.member_card(access.chat.id, user.id)
    choices = moderation_view.clause_choices(access.chat)
    active = card.active()
    return page(
        "moderation/member.html",
        access=access,
        chat=access.chat,
        member=member,
        person=user,
        card=card,
        active=active,
        objections=len(card.objectors.get(active.id, [])) if active else 0,
        violation_form=violation_form or ViolationForm(formdata=None).with_clauses(choices),
        block_form=block_form or BlockForm(formdata=None, duration="1w").with_clauses(choices),
        may_block=can_block(access, user, card.toward_block, active is not None),
        may_remove=can_remove_member(access, user)
        and not moderation_view.still_belongs(user, access.chat),
        status=status,
    )


@bp.route("/chats/<int:chat_id>/people/<int:member_id>")
def member(chat_id, member_id):
    access, member, user = access_member(current_user, chat_id, member_id)
    return _card_page(access, member, user)


def _card(chat_id, member_id, what):
    access, member, user = access_member(current_user, chat_id, member_id)
    if not can_act_on(access, user):
        refused(what, "may not act on this member")
        abort(403)
    return access, member, user


def _back_to_card(chat_id, member_id):
    return see_other("moderation.member", chat_id=chat_id, member_id=member_id)


@bp.route("/chats/<int:chat_id>/people/<int:member_id>/violation", methods=["POST"])
def member_violation(chat_id, member_id):
    access, member, user = _card(chat_id, member_id, "violation")
    form = ViolationForm().with_clauses(moderation_view.clause_choices(access.chat))
    if not form.validate_on_submit():
        refused("violation", "invalid form")
        return _card_page(access, member, user, status=422, violation_form=form)
    try:
        count = do_record_violation(
            current_user, access, user, clause=form.clause.data, note=form.note.data
        )
    except ActionError as error:
        refused("violation", error.message)
        form.form_errors.append(error.message)
        return _card_page(access, member, user, status=409, violation_form=form)
    flash(_violation_done(user, count), "success")
    return _back_to_card(chat_id, member_id)


@bp.route("/chats/<int:chat_id>/people/<int:member_id>/block", methods=["POST"])
def block(chat_id, member_id):
    """Block a member with more than three violations, for at most a month (§24)."""
    access, member, user = _card(chat_id, member_id, "block")
    form = BlockForm().with_clauses(moderation_view.clause_choices(access.chat))
    if not form.validate_on_submit():
        refused("block", "invalid form")
        return _card_page(access, member, user, status=422, block_form=form)
    try:
        made = do_block(
            current_user,
            access,
            user,
            duration=form.duration.data,
            clause=form.clause.data,
            note=form.note.data,
        )
    except ActionError as error:
        refused("block", error.message)
        form.form_errors.append(error.message)
        return _card_page(access, member, user, status=409, block_form=form)
    flash(
        _(
            "%(name)s заблокирован(а) до %(until)s. Читать чат можно, писать — нет.",
            name=user.name,
            until=local_datetime(made.ends_at),
        ),
        "success",
    )
    return _back_to_card(chat_id, member_id)


@bp.route("/blocks/<int:block_id>/lift", methods=["POST"])
def lift(block_id):
    """Lift a block early: after an apology nobody objected to (§25)."""
    access, block = access_block(current_user, block_id)
    if not can_act_on(access, block.user):
        refused("unblock", "may not act on this member")
        abort(403)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        do_lift_block_early(current_user, access, block)
    except ActionError as error:
        refused("unblock", error.message)
        flash(error.message, "error")
        access, member, user = access_member(current_user, block.chat_id, block.user_id)
        return _card_page(access, member, user, status=409)
    flash(
        _("Блокировка снята досрочно: %(name)s снова может писать.", name=block.user.name),
        "success",
    )
    return _back_to_card(block.chat_id, block.user_id)


@bp.route("/chats/<int:chat_id>/people/<int:member_id>/remove", methods=["POST"])
def remove_member(chat_id, member_id):
    """Take a member out on a departure only — never for personal reasons (§26)."""
    access, member, user = _card(chat_id, member_id, "removal")
    if not can_remove_member(access, user):
        refused("removal", "may not remove")
        abort(403)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        do_remove_member(current_user, access, user)
    except ActionError as error:
        refused("removal", error.message)
        flash(error.message, "error")
        return _card_page(access, member, user, status=409)
    flash(_("%(name)s больше не участник чата.", name=user.name), "success")
    return see_other("chats.settings", chat_id=chat_id)


@bp.route("/chats/<int:chat_id>/people/<int:member_id>/moderator", methods=["POST"])
def set_moderator(chat_id, member_id):
    access, member, user = access_member(current_user, chat_id, member_id)
    form = ModeratorForm()
    if not form.validate_on_submit() or form.value.data not in ("0", "1"):
        abort(400)
    if not can_set_moderator(access, user, form.value.data == "1"):
        refused("moderator", "may not name or withdraw this moderator")
        abort(403)
    try:
        do_set_moderator(current_user, access, user, form.value.data == "1")
    except ActionError as error:
        refused("moderator", error.message)
        flash(error.message, "error")
        return _card_page(access, member, user, status=409)
    if form.value.data == "1":
        flash(_("%(name)s теперь модератор чата.", name=user.name), "success")
    else:
        flash(_("%(name)s больше не модератор чата.", name=user.name), "success")
    return _back_to_card(chat_id, member_id)


# --- the blocked member's apology, the others' objections (§25) ----------------------------------


@bp.route("/chats/<int:chat_id>/apology", methods=["POST"])
def apology(chat_id):
    access = access_chat(current_user, chat_id)
    form = ApologyForm()
    # an empty apology is a 422 for the one who may apologise; for anyone else the action
    # says why not
    if not form.validate_on_submit() and can_apologize(access):
        flash(_("Напишите извинение участникам чата."), "error")
        return _chat_refusal(chat_id, 422)
    try:
        message = do_apologize(current_user, access, form.text.data or "")
    except ActionError as error:
        refused("apology", error.message)
        flash(error.message, "error")
        return _chat_refusal(chat_id, 409)
    flash(
        _(
            "Извинение опубликовано. Если за сутки никто из участников не возразит, модератор "
            "сможет снять блокировку досрочно."
        ),
        "success",
    )
    return _to_message(message)


@bp.route("/blocks/<int:block_id>/object", methods=["POST"])
def object_(block_id):
    """«Против досрочной разблокировки»."""
    access, block = access_block(current_user, block_id)
    if access.member is None or can_moderate(access):
        refused("objection", "not a member, or a moderator (who decides instead)")
        abort(403)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        do_object(current_user, access, block)
    except ActionError as error:
        refused("objection", error.message)
        flash(error.message, "error")
        return _chat_refusal(block.chat_id, 409)
    flash(_("Ваше возражение учтено. Кто возразил, видят только модераторы."), "success")
    return _back_to_apology(block)


def _back_to_apology(block):
    anchor = f"m-{block.apology_message_id}" if block.apology_message_id else None
    return see_other("messages.chat", chat_id=block.chat_id, _anchor=anchor)


# --- a member's own violations -------------------------------------------------------------------


@bp.route("/chats/<int:chat_id>/my-violations")
def my_violations(chat_id):
    access = access_chat(current_user, chat_id)
    if access.member is None:
        abort(404)
    card = moderation_view.member_card(access.chat.id, current_user.id)
    return page("moderation/my_violations.html", access=access, chat=access.chat, card=card)


# --- reports -------------------------------------------------------------------------------------


@bp.route("/chats/<int:chat_id>/reports")
def reports(chat_id):
    access = access_chat(current_user, chat_id)
    if not can_moderate(access):
        abort(403)
    return _reports_page(access)


def _reports_page(access, form=None, report_id=None, status=None):
    choices = moderation_view.clause_choices(access.chat)
    waiting = moderation_view.reports(access.chat.id, open_=True)
    forms = {r.id: ResolveReportForm(formdata=None).with_clauses(choices) for r in waiting}
    if form is not None and report_id in forms:
        forms[report_id] = form
    for found in waiting:  # on a colleague's message a moderator can only close the report
        if not can_act_on(access, found.message.author):
            forms[found.id].resolution.choices = [
                c for c in forms[found.id].resolution.choices if c.value == "no_action"
            ]
            forms[found.id].clause.choices = []
    return page(
        "moderation/reports.html",
        access=access,
        chat=access.chat,
        waiting=waiting,
        forms=forms,
        resolved=moderation_view.reports(access.chat.id, open_=False),
        status=status,
    )


@bp.route("/reports/<int:report_id>/resolve", methods=["POST"])
def resolve(report_id):
    access, found = access_report(current_user, report_id)
    if not can_resolve_report(access, found):
        refused("report_resolved", "a report about one's own message")
        abort(403)
    form = ResolveReportForm().with_clauses(moderation_view.clause_choices(access.chat))
    if not form.validate_on_submit():
        refused("report_resolved", "invalid form")
        return _reports_page(access, form, found.id, status=422)
    message = found.message
    if form.resolution.data != "no_action" and not can_act_on(access, message.author):
        refused("report_resolved", "may not act on the author")
        abort(403)
    try:
        do_resolve_report(
            current_user,
            access,
            found,
            resolution=form.resolution.data,
            clause=form.clause.data,
            note=form.note.data,
        )
    except ActionError as error:
        refused("report_resolved", error.message)
        form.form_errors.append(error.message)
        return _reports_page(access, form, found.id, status=409)
    flash(_("Жалоба рассмотрена. Пожаловавшийся увидит «Рассмотрено»."), "success")
    return see_other("moderation.reports", chat_id=access.chat.id)


# --- the moderation log --------------------------------------------------------------------------


def _log_filter(kindergarten_id, chat=None):
    form = LogFilterForm(request.args)
    actors, members = moderation_view.log_people(kindergarten_id, chat.id if chat else None)
    everyone = [(0, _("Все"))]
    form.chat.choices = options(everyone + moderation_view.kindergarten_chats(kindergarten_id))
    form.actor.choices = options(everyone + actors)
    form.member.choices = options(everyone + members)
    form.action.choices = options(
        [("", _("Все"))] + [(a, ACTION_LABELS[a]) for a in MODERATION_ACTIONS]
    )
    if not form.validate():
        return form, None
    wanted = moderation_view.LogFilter(
        chat_id=chat.id if chat else (form.chat.data or None),
        actor_id=form.actor.data or None,
        member_id=form.member.data or None,
        action=form.action.data or None,
        since=form.since.data,
        until=form.until.data,
        before=request.args.get("before", type=db_int),
    )
    return form, wanted


def _log_response(kindergarten_id, access=None, *, csv=False):
    chat = access.chat if access else None
    form, wanted = _log_filter(kindergarten_id, chat)
    if wanted is None:  # a bad filter, for the page or the CSV alike: say which field and why
        return page(
            "moderation/log.html",
            access=access,
            chat=chat,
            form=form,
            entries=[],
            args=_args(),
            status=422,
        )
    if csv:
        wanted.before = None
        entries = db.session.scalars(moderation_view.log_query(kindergarten_id, wanted)).all()
        name = _("Журнал модерации") + (f" — {chat.title}" if chat else "") + ".csv"
        return Response(
            moderation_view.log_csv(entries),
            mimetype="text/csv",
            headers={"Content-Disposition": content_disposition(name, inline=False)},
        )
    entries, more = moderation_view.log_page(kindergarten_id, wanted)
    return page(
        "moderation/log.html",
        access=access,
        chat=chat,
        form=form,
        entries=entries,
        more=more,
        files=moderation_view.deleted_attachments(entries),
        successors=moderation_view.handover_successors(entries),
        args=_args(),
    )


def _args() -> dict:
    """The filters as they came, to carry into the CSV link and the next page."""
    return {k: v for k, v in request.args.to_dict().items() if k != "before" and v}


@bp.route("/moderation/log")
def log():
    """The whole kindergarten's moderation log: the director and the administrators."""
    if not sees_moderation_log(current_user):
        abort(403)
    return _log_response(current_user.kindergarten_id)


@bp.route("/moderation/log.csv")
def log_csv():
    if not sees_moderation_log(current_user):
        abort(403)
    return _log_response(current_user.kindergarten_id, csv=True)


@bp.route("/chats/<int:chat_id>/log")
def chat_log(chat_id):
    """One chat's log, for its moderators."""
    access = access_chat(current_user, chat_id)
    if not can_see_chat_log(access):
        abort(403)
    return _log_response(access.chat.kindergarten_id, access)


@bp.route("/chats/<int:chat_id>/log.csv")
def chat_log_csv(chat_id):
    access = access_chat(current_user, chat_id)
    if not can_see_chat_log(access):
        abort(403)
    return _log_response(access.chat.kindergarten_id, access, csv=True)


# --- removals: told on the next visit ------------------------------------------------------------


@bp.route("/removals/seen", methods=["POST"])
def removals_seen():
    if not EmptyForm().validate_on_submit():
        abort(400)
    do_mark_removals_seen(current_user)
    return see_other("main.home")
