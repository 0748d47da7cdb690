"""The director's view: the figures at a glance, every chat in one table, a group's page, the
activity charts, CSV exports and the printable monthly report (reg 000 §2.1–2.2)."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, Response, abort, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import dashboard, queries
from ..forms import ChatInviteForm, RemindForm, ReportMonthForm, local_today
from ..i18n import local_datetime
from ..models import utcnow
from ..permissions import access_group, chat_accesses, sees_dashboard
from ..uploads import content_disposition
from . import page

bp = Blueprint("director", __name__)


def _require_dashboard():
    if not sees_dashboard(current_user):
        abort(403)


def _kindergarten_id() -> int:
    return current_user.kindergarten_id


@bp.route("/director/")
@login_required
def index():
    _require_dashboard()
    kindergarten_id = _kindergarten_id()
    rows = dashboard.chat_rows(kindergarten_id)
    groups = dashboard.group_rows(kindergarten_id)
    total, per_group, weeks = dashboard.recent_activity(
        kindergarten_id, local_today(), [g.group for g in groups]
    )
    return page(
        "director/index.html",
        figures=dashboard.figures(rows, groups),
        counts=queries.admin_counts(kindergarten_id, with_admin=True),
        groups=groups,
        daily=total,
        per_group=per_group,
        weekly=weeks,
        deletions=queries.account_deletions(kindergarten_id),
    )


def _sorted_rows():
    key = request.args.get("sort", "activity")
    if key not in dashboard.SORTS:
        key = "activity"
    order = request.args.get("dir")
    descending = None if order not in ("asc", "desc") else order == "desc"
    rows = dashboard.sort_rows(dashboard.chat_rows(_kindergarten_id()), key, descending)
    if descending is None:
        descending = dashboard.SORTS[key][1]
    return rows, key, descending


@bp.route("/director/chats")
@login_required
def chats():
    _require_dashboard()
    rows, key, descending = _sorted_rows()
    return page("director/chats.html", rows=rows, sort=key, descending=descending)


def _csv(name: str, text: str) -> Response:
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": content_disposition(name, inline=False)},
    )


@bp.route("/director/chats.csv")
@login_required
def chats_csv():
    _require_dashboard()
    rows, _key, _descending = _sorted_rows()
    return _csv(_("Чаты") + f" {local_today():%Y-%m-%d}.csv", dashboard.chats_csv(rows))


@bp.route("/director/acceptances.csv")
@login_required
def acceptances_csv():
    """Who accepted which version of each chat's rules (reg 004 §22), for the whole
    kindergarten."""
    _require_dashboard()
    return _csv(
        _("Принятие правил") + f" {local_today():%Y-%m-%d}.csv",
        dashboard.acceptances_csv(dashboard.acceptance_rows(_kindergarten_id())),
    )


# --- a group's page ---------------------------------------------------------------------------


@bp.route("/groups/<int:group_id>")
@login_required
def group(group_id):
    """Which children have no parent in the group's chats yet, and who has not accepted the
    current rules — for the administration and the group's educators."""
    group = access_group(current_user, group_id)
    chats = dashboard.group_chats(group)
    accesses = chat_accesses(current_user, [c.chat for c in chats])
    chats = [c for c in chats if c.chat.id in accesses]  # an educator: the chats they are in
    today = local_today()
    first = today - timedelta(dashboard.CHART_DAYS - 1)
    _total, per_group = dashboard.daily_messages(
        group.kindergarten_id, first, today, [group], only=True
    )
    return page(
        "director/group.html",
        group=group,
        chats=chats,
        accesses=accesses,
        daily=per_group[0],
        remind_form=RemindForm(formdata=None),
        invite_form=ChatInviteForm(formdata=None),
        roster=dashboard.group_children_counts(group.kindergarten_id).get(group.id, 0),
    )


# --- the monthly report -------------------------------------------------------------------------


def _months() -> list[date]:
    return dashboard.report_months(current_user.kindergarten.created_at.date(), local_today())


def _bad_month(form):
    """The report's page with the month's error (for the CSV too: a person reads it)."""
    return page("director/report.html", form=form, months=_months(), report=None, status=422)


def _report_month():
    form = ReportMonthForm(request.args, latest=local_today().replace(day=1))
    if not form.validate():
        return form, None
    return form, form.first


@bp.route("/director/report")
@login_required
def report():
    """«Отчёт об использовании» for a month, to print (a print stylesheet)."""
    _require_dashboard()
    form, first = _report_month()
    if first is None:
        return _bad_month(form)
    return page(
        "director/report.html",
        form=form,
        months=_months(),
        report=dashboard.month_report(_kindergarten_id(), first),
        partial=dashboard.month_bounds(first)[1] >= local_today(),
        generated=local_datetime(utcnow()),
    )


@bp.route("/director/report.csv")
@login_required
def report_csv():
    """The month's figures per chat, for Excel."""
    _require_dashboard()
    form, first = _report_month()
    if first is None:
        return _bad_month(form)
    first, last = dashboard.month_bounds(first)
    rows = dashboard.month_chats(_kindergarten_id(), first, last)
    return _csv(_("Отчёт об использовании") + f" {first:%Y-%m}.csv", dashboard.month_csv(rows))
