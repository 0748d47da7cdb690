"""A chat's rules: read them, accept the current version, change them, see who accepted."""

from __future__ import annotations

from flask import Blueprint, abort, flash
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import queries
from ..actions import ActionError
from ..actions.rules import do_accept_rules, do_change_rules
from ..forms import AcceptRulesForm, RulesForm
from ..permissions import (
    access_chat,
    can_edit_rules,
    can_moderate,
    can_see_acceptances,
)
from . import action_failed, page, see_other

bp = Blueprint("rules", __name__)


@bp.before_request
@login_required
def require_sign_in():
    return None


def _rules_or_404(access):
    rules = queries.current_rules(access.chat)
    if rules is None:
        abort(404)  # a direct chat has no rules
    return rules


@bp.route("/chats/<int:chat_id>/rules")
def show(chat_id):
    access = access_chat(current_user, chat_id)
    rules = _rules_or_404(access)
    return page(
        "rules/show.html",
        access=access,
        chat=access.chat,
        rules=rules,
        form=AcceptRulesForm(data={"rules_id": rules.id}),
        versions=queries.chat_rules_versions(access.chat) if can_moderate(access) else [],
    )


@bp.route("/chats/<int:chat_id>/rules/accept", methods=["POST"])
def accept(chat_id):
    """«Принимаю» on the banner that stands in for the composer after the rules changed."""
    access = access_chat(current_user, chat_id)
    rules = _rules_or_404(access)
    form = AcceptRulesForm()
    if not access.is_member:
        abort(403)
    if not form.validate_on_submit():
        form.form_errors.append(_("Прочитайте правила и нажмите «Принимаю» ещё раз."))
        return page(
            "rules/show.html",
            access=access,
            chat=access.chat,
            rules=rules,
            form=form,
            versions=[],
            status=422,
        )
    try:
        do_accept_rules(current_user, access, form.rules_id.data)
    except ActionError as error:
        action_failed(form, error)
        flash(error.message, "error")
        return see_other("rules.show", chat_id=chat_id)
    flash(_("Спасибо! Теперь вы можете писать в чат."), "success")
    return see_other("messages.chat", chat_id=chat_id, _anchor="composer")


@bp.route("/chats/<int:chat_id>/rules/edit", methods=["GET", "POST"])
def edit(chat_id):
    access = access_chat(current_user, chat_id)
    rules = _rules_or_404(access)
    if not can_edit_rules(access):
        abort(403)
    form = RulesForm()
    if not form.is_submitted():
        form.text.data = rules.text
    if form.validate_on_submit():
        try:
            new = do_change_rules(current_user, access, text=form.text.data, note=form.note.data)
        except ActionError as error:
            action_failed(form, error)
        else:
            flash(
                _(
                    "Правила обновлены (редакция %(num)d). Участники прочитают их и примут, "
                    "прежде чем снова писать.",
                    num=new.version,
                ),
                "success",
            )
            return see_other("rules.show", chat_id=chat_id)
    return page("rules/edit.html", form=form, access=access, chat=access.chat, rules=rules)


@bp.route("/chats/<int:chat_id>/rules/acceptances")
def acceptances(chat_id):
    access = access_chat(current_user, chat_id)
    rules = _rules_or_404(access)
    if not can_see_acceptances(access):
        abort(403)
    accepted, missing = queries.rules_acceptance(access.chat)
    return page(
        "rules/acceptances.html",
        access=access,
        chat=access.chat,
        rules=rules,
        accepted=accepted,
        missing=missing,
    )
