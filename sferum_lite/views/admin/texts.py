"""The kindergarten's versioned texts: the default chat rules (reg 004 §22) and the consent to
personal-data processing (152-FZ). Each change is a new version; earlier ones stay readable."""

from __future__ import annotations

from flask import flash
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import aliased, selectinload

from ...actions import ActionError
from ...actions.moderation import do_set_apology_hours
from ...actions.rules import default_rules, do_change_default_rules
from ...actions.texts import do_change_consent
from ...extensions import db
from ...forms import (
    CONSENT_MAX,
    RULES_MAX,
    ApologyWindowForm,
    ConsentTextForm,
    DefaultRulesForm,
)
from ...models import Chat, Consent, ConsentText, Rules, User
from ...security import clean_message
from .. import action_failed, page, see_other
from . import bp

# --- reads for the two pages (a fixed number of queries each) --------------------------------


def default_rules_versions(kindergarten_id: int) -> list[Rules]:
    """Every version of the kindergarten's default rules, newest first, with their authors."""
    return db.session.scalars(
        select(Rules)
        .where(Rules.kindergarten_id == kindergarten_id, Rules.chat_id.is_(None))
        .options(selectinload(Rules.created_by))
        .order_by(Rules.version.desc())
    ).all()


def chats_following(rules: Rules | None) -> tuple[int, int]:
    """(chats whose rules are this default version, chats with rules of their own) — open
    chats, direct ones (which have no rules) aside."""
    if rules is None:
        return 0, 0
    row = db.session.execute(
        select(
            func.count().filter(Chat.rules_id == rules.id),
            func.count().filter(Chat.rules_id != rules.id),
        ).where(
            Chat.kindergarten_id == rules.kindergarten_id,
            Chat.kind != "direct",
            Chat.archived_at.is_(None),
            Chat.rules_id.is_not(None),
        )
    ).one()
    return row[0], row[1]


def consent_versions(kindergarten_id: int) -> list[tuple[ConsentText, str | None, int]]:
    """(version, its author's name, how many people consented to it), newest first."""
    consents = (
        select(func.count(Consent.id))
        .where(Consent.consent_text_id == ConsentText.id)
        .correlate(ConsentText)
        .scalar_subquery()
    )
    author = aliased(User)
    return db.session.execute(
        select(ConsentText, author.name, consents.label("consents"))
        .outerjoin(author, author.id == ConsentText.created_by_id)
        .where(ConsentText.kindergarten_id == kindergarten_id)
        .order_by(ConsentText.version.desc())
    ).all()


# --- the default rules -------------------------------------------------------------------------


@bp.route("/rules", methods=["GET", "POST"])
def rules():
    kindergarten_id = current_user.kindergarten_id
    current = default_rules(kindergarten_id)
    form = DefaultRulesForm()
    if form.validate_on_submit():
        if current is not None and clean_message(current.text) == form.text.data:
            # the stored text may differ only by what the form cleans away (a final line
            # break, \r\n): that is no new version
            form.text.errors.append(_("Текст правил не изменился."))
        else:
            try:
                do_change_default_rules(current_user, text=form.text.data, note=form.note.data)
            except ActionError as error:
                action_failed(form, error)
            else:
                flash(
                    _(
                        "Новая редакция правил сохранена. Чаты, которые следуют правилам детского "
                        "сада, уже показывают её; их участники примут её, прежде чем снова "
                        "написать."
                    ),
                    "success",
                )
                return see_other("admin.rules")
    elif not form.is_submitted() and current is not None:
        form.text.data = current.text
    return _rules_page(current, form, status=422 if form.is_submitted() else None)


def _rules_page(current, form, *, window_form=None, status=None):
    versions = default_rules_versions(current_user.kindergarten_id)
    following, own = chats_following(current)
    return page(
        "admin/rules.html",
        form=form,
        window_form=window_form
        or ApologyWindowForm(formdata=None, hours=current_user.kindergarten.apology_hours),
        current=current,
        earlier=[version for version in versions if current is None or version.id != current.id],
        following=following,
        own=own,
        text_max=RULES_MAX,
        status=status,
    )


@bp.route("/moderation", methods=["POST"])
def apology_window():
    """How long members may object to an early unblock after an apology (reg 004 §25)."""
    form = ApologyWindowForm()
    if not form.validate_on_submit():
        current = default_rules(current_user.kindergarten_id)
        rules_form = DefaultRulesForm(formdata=None, text=current.text if current else "")
        return _rules_page(current, rules_form, window_form=form, status=422)
    do_set_apology_hours(current_user, form.hours.data)
    flash(_("Срок для возражений сохранён: %(hours)d ч.", hours=form.hours.data), "success")
    return see_other("admin.rules")


# --- the consent to personal-data processing ----------------------------------------------------


@bp.route("/consent", methods=["GET", "POST"])
def consent():
    kindergarten_id = current_user.kindergarten_id
    form = ConsentTextForm()
    if form.validate_on_submit():
        try:
            consent_text = do_change_consent(current_user, form.text.data)
        except ActionError as error:
            action_failed(form, error)
        else:
            flash(
                _(
                    "Версия %(version)d согласия сохранена. Её подписывают те, кто "
                    "регистрируется с этой минуты; согласия, данные раньше, остаются за "
                    "прежними версиями.",
                    version=consent_text.version,
                ),
                "success",
            )
            return see_other("admin.consent")
    versions = consent_versions(kindergarten_id)
    current = versions[0] if versions else None
    if not form.is_submitted() and current is not None:
        form.text.data = current[0].text
    return page(
        "admin/consent.html",
        form=form,
        current=current,
        earlier=versions[1:],
        text_max=CONSENT_MAX,
        status=422 if form.is_submitted() else None,
    )
