"""The regulation's numbers and words, as pure functions: the clauses of a chat's rules, how
long a block may last (reg 004 §24: at most one month), and what the log calls each action."""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from .i18n import local_datetime
from .models import utcnow

_CLAUSE = re.compile(r"^\s*(\d{1,3})[.)]\s+(.*)$")


def clauses(text: str) -> dict[int, str]:
    """The numbered clauses of a rules text: «1. …» starts clause 1; the lines after it, up to
    the next number, belong to it."""
    found: dict[int, list[str]] = {}
    current = None
    for line in (text or "").splitlines():
        match = _CLAUSE.match(line)
        if match:
            current = int(match.group(1))
            found.setdefault(current, []).append(match.group(2).strip())
        elif current is not None and line.strip():
            found[current].append(line.strip())
    return {number: " ".join(lines) for number, lines in found.items()}


def clause_ground(number: int, text: str, limit: int = 400) -> str:
    """«п. 2. Общаемся вежливо…» — a clause as the log keeps it: in the words of the rules,
    which are the kindergarten's own (Russian), whatever the reader's language."""
    words = f"п. {number}. {text}"
    return words if len(words) <= limit else words[: limit - 1].rstrip() + "…"


def add_month(moment: datetime, zone: str) -> datetime:
    """The same time one calendar month later in the kindergarten's zone (31 January → the last
    day of February): «до одного месяца» means never past that."""
    local = moment.astimezone(ZoneInfo(zone))
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day).astimezone(moment.tzinfo)


# key -> label; a block is one of these and never anything else
BLOCK_DURATIONS = {
    "1d": _l("1 день"),
    "3d": _l("3 дня"),
    "1w": _l("1 неделя"),
    "2w": _l("2 недели"),
    "1m": _l("1 месяц"),
}
_DAYS = {"1d": 1, "3d": 3, "1w": 7, "2w": 14}


def block_end(start: datetime, duration: str, zone: str) -> datetime:
    """When a block of `duration` (a key of BLOCK_DURATIONS) that starts at `start` ends."""
    if duration == "1m":
        return add_month(start, zone)
    return start + timedelta(days=_DAYS[duration])


def early_unblock_refusal(block, objections: int, now: datetime | None = None) -> str | None:
    """Why a block can't be lifted early now (§25), in words for the moderator; None when it
    can."""
    now = now or utcnow()
    if not block.is_active(now):
        return _("Блокировка уже закончилась.")
    if block.apology_at is None:
        return _(
            "Досрочно разблокировать можно только после извинений участника (п. 25 положения)."
        )
    if block.window_open(now):
        return _(
            "До %(time)s участники могут возразить против досрочной разблокировки.",
            time=local_datetime(block.objections_until),
        )
    if objections:
        return ngettext(
            "Участник чата возразил против досрочной разблокировки: она невозможна "
            "(п. 25 положения). Блокировка закончится в свой срок.",
            "Участники чата возразили против досрочной разблокировки (%(num)d): она невозможна "
            "(п. 25 положения). Блокировка закончится в свой срок.",
            objections,
        )
    return None


ACTION_LABELS = {
    "delete": _l("Удаление сообщения"),
    "violation": _l("Нарушение"),
    "reminder": _l("Напоминание правил"),
    "block": _l("Блокировка"),
    "apology": _l("Извинение"),
    "objection": _l("Возражение"),
    "unblock": _l("Досрочная разблокировка"),
    "report": _l("Жалоба"),
    "report_resolved": _l("Жалоба рассмотрена"),
    "removal": _l("Исключение из чата"),
    "handover": _l("Передача чата"),
    "moderator": _l("Модераторы"),
    "archived": _l("Личный чат закрыт"),
    "reopened": _l("Личный чат открыт снова"),
}

RESOLUTION_LABELS = {
    "deleted": _l("Сообщение удалено"),
    "violation": _l("Записано нарушение"),
    "no_action": _l("Без мер"),
}
