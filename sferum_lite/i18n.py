"""Languages (Russian first, English second), time zones and display formats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import g, request, session
from flask_babel import format_datetime, gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user

LANGUAGES = {"ru": "Русский", "en": "English"}
DEFAULT_LOCALE = "ru"

# Russia's time zones, west to east, with the city people know them by.
TIMEZONES: list[tuple[str, object]] = [
    ("Europe/Kaliningrad", _l("Калининград (UTC+2)")),
    ("Europe/Moscow", _l("Москва (UTC+3)")),
    ("Europe/Volgograd", _l("Волгоград (UTC+3)")),
    ("Europe/Kirov", _l("Киров (UTC+3)")),
    ("Europe/Samara", _l("Самара (UTC+4)")),
    ("Europe/Astrakhan", _l("Астрахань (UTC+4)")),
    ("Europe/Saratov", _l("Саратов (UTC+4)")),
    ("Europe/Ulyanovsk", _l("Ульяновск (UTC+4)")),
    ("Asia/Yekaterinburg", _l("Екатеринбург (UTC+5)")),
    ("Asia/Omsk", _l("Омск (UTC+6)")),
    ("Asia/Novosibirsk", _l("Новосибирск (UTC+7)")),
    ("Asia/Barnaul", _l("Барнаул (UTC+7)")),
    ("Asia/Tomsk", _l("Томск (UTC+7)")),
    ("Asia/Novokuznetsk", _l("Новокузнецк (UTC+7)")),
    ("Asia/Krasnoyarsk", _l("Красноярск (UTC+7)")),
    ("Asia/Irkutsk", _l("Иркутск (UTC+8)")),
    ("Asia/Chita", _l("Чита (UTC+9)")),
    ("Asia/Yakutsk", _l("Якутск (UTC+9)")),
    ("Asia/Khandyga", _l("Хандыга (UTC+9)")),
    ("Asia/Vladivostok", _l("Владивосток (UTC+10)")),
    ("Asia/Ust-Nera", _l("Усть-Нера (UTC+10)")),
    ("Asia/Magadan", _l("Магадан (UTC+11)")),
    ("Asia/Sakhalin", _l("Сахалин (UTC+11)")),
    ("Asia/Srednekolymsk", _l("Среднеколымск (UTC+11)")),
    ("Asia/Kamchatka", _l("Камчатка (UTC+12)")),
    ("Asia/Anadyr", _l("Анадырь (UTC+12)")),
]

WEEKDAYS = [
    ("1", _l("Пн")),
    ("2", _l("Вт")),
    ("3", _l("Ср")),
    ("4", _l("Чт")),
    ("5", _l("Пт")),
    ("6", _l("Сб")),
    ("7", _l("Вс")),
]


def select_locale() -> str:
    """The signed-in person's choice; a visitor's switch; the browser's; Russian."""
    if current_user and current_user.is_authenticated and current_user.locale in LANGUAGES:
        return current_user.locale
    chosen = session.get("locale")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(list(LANGUAGES), default=DEFAULT_LOCALE)


def select_timezone() -> str:
    kindergarten = current_kindergarten()
    return kindergarten.timezone if kindergarten is not None else "Europe/Moscow"


def current_kindergarten():
    """The signed-in person's kindergarten; for a visitor, the installation's (first) one."""
    if "kindergarten" not in g:
        from .queries import first_kindergarten

        if current_user and current_user.is_authenticated:
            g.kindergarten = current_user.kindergarten
        else:
            g.kindergarten = first_kindergarten()
    return g.kindergarten


def local_datetime(value: datetime | None, fmt: str = "d MMMM y, HH:mm") -> str:
    """A UTC time in the kindergarten's zone, e.g. «23 ноября 2026, 15:08»."""
    if value is None:
        return ""
    return format_datetime(value, fmt)


def _zone() -> ZoneInfo:
    return ZoneInfo(select_timezone())


def from_local(value: datetime) -> datetime:
    """A time typed in the kindergarten's zone (naive), as an aware UTC time."""
    return value.replace(tzinfo=_zone()).astimezone(UTC)


def short_time(value: datetime | None, now: datetime | None = None) -> str:
    """For the chat list: today «15:08», this week «пн», earlier «3 нояб.», other years
    «03.11.2025» — in the kindergarten's time zone."""
    if value is None:
        return ""
    zone = _zone()
    local = value.astimezone(zone)
    today = (now or datetime.now(UTC)).astimezone(zone).date()
    if local.date() == today:
        return format_datetime(value, "HH:mm")
    if today - local.date() < timedelta(days=7):
        return format_datetime(value, "EEE")
    if local.year == today.year:
        return format_datetime(value, "d MMM")
    return format_datetime(value, "dd.MM.yyyy")


def working_hours(kindergarten) -> str:
    """«пн–пт 7:00–19:00»."""
    days = kindergarten.work_days or ""
    names = dict(WEEKDAYS)
    labels = [str(names[d]).lower() for d in days if d in names]
    digits = [int(d) for d in days if d.isdigit()]
    if len(labels) > 2 and digits == list(range(digits[0], digits[-1] + 1)):
        span = f"{labels[0]}–{labels[-1]}"
    else:
        span = ", ".join(labels)
    hours = f"{kindergarten.work_start.hour}:{kindergarten.work_start.minute:02d}–"
    hours += f"{kindergarten.work_end.hour}:{kindergarten.work_end.minute:02d}"
    return f"{span} {hours}"


def is_working_time(kindergarten, now: datetime | None = None) -> bool:
    local = (now or datetime.now(UTC)).astimezone(ZoneInfo(kindergarten.timezone))
    if str(local.isoweekday()) not in (kindergarten.work_days or ""):
        return False
    return kindergarten.work_start <= local.time().replace(tzinfo=None) < kindergarten.work_end


def quiet_hours_note(kindergarten_id=None, now: datetime | None = None) -> str | None:
    """What a parent's composer says outside working hours; None during them."""
    kindergarten = current_kindergarten()
    if kindergarten is None or is_working_time(kindergarten, now):
        return None
    return gettext(
        "Сейчас нерабочее время. Воспитатель ответит в рабочие часы (%(hours)s).",
        hours=working_hours(kindergarten),
    )
