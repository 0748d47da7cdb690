"""Languages (Russian first, English second), time zones and display formats."""

from __future__ import annotations

from datetime import datetime

from flask import g, request, session
from flask_babel import format_datetime
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
