"""What templates can call: the role predicates, display helpers, cache-busted static URLs."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from functools import cache
from pathlib import Path

from flask import Flask, current_app, request, url_for
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from markupsafe import Markup, escape

from . import permissions
from .forms import EmptyForm
from .i18n import LANGUAGES, current_kindergarten, local_datetime, short_time
from .models import POSITION_LABELS, REACTIONS
from .models.joining import MISSES_TO_PAUSE
from .regulation import ACTION_LABELS, RESOLUTION_LABELS, early_unblock_refusal
from .security import PASSWORD_MIN, format_phone


@cache
def _file_version(folder: str, filename: str) -> str:
    data = (Path(folder) / filename).read_bytes()
    return hashlib.sha256(data).hexdigest()[:12]


def static_url(filename: str) -> str:
    """A static file's URL with a content hash, so it can be cached for a year."""
    version = _file_version(current_app.static_folder, filename)
    return url_for("static", filename=filename, v=version)


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def htmx_target() -> str | None:
    """The id of the element an htmx request will swap into (htmx 4 sends `tag#id`)."""
    if not is_htmx():
        return None
    _tag, _hash, element_id = request.headers.get("HX-Target", "").partition("#")
    return element_id or None


_LINK = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}»\"'…"


def linkify(text: str) -> Markup:
    """User text, escaped, with http(s) links made clickable — and nothing else. Line breaks
    are kept by CSS (white-space: pre-wrap)."""
    out = []
    position = 0
    for match in _LINK.finditer(text or ""):
        url = match.group(0).rstrip(_TRAILING)
        start, end = match.start(), match.start() + len(url)
        if len(url) <= len("https://"):
            continue
        out.append(escape(text[position:start]))
        out.append(
            Markup(
                '<a href="{0}" rel="noopener noreferrer nofollow ugc" target="_blank">{0}</a>'
            ).format(url)
        )
        position = end
    out.append(escape((text or "")[position:]))
    return Markup("").join(out)


def rules_label(rules) -> str:
    """«Правила детского сада, редакция 2 от 23.11.2026» — which text a person reads."""
    values = {"num": rules.version, "date": format_date(rules.created_at, format="short")}
    if rules.chat_id is None:
        return _("Правила детского сада, редакция %(num)d от %(date)s", **values)
    return _("Правила чата, редакция %(num)d от %(date)s", **values)


def register_template_helpers(app: Flask) -> None:
    predicates = {
        name: getattr(permissions, name)
        for name in dir(permissions)
        if name.startswith(("is_", "can_", "sees_", "must_", "has_", "may_"))
    }
    app.jinja_env.globals.update(
        predicates,
        static_url=static_url,
        current_kindergarten=current_kindergarten,
        get_locale=get_locale,
        LANGUAGES=LANGUAGES,
        POSITION_LABELS=POSITION_LABELS,
        REACTIONS=REACTIONS,
        EmptyForm=EmptyForm,
        is_htmx=is_htmx,
        PASSWORD_MIN=PASSWORD_MIN,
        rules_label=rules_label,
        early_unblock_refusal=early_unblock_refusal,
        ACTION_LABELS=ACTION_LABELS,
        RESOLUTION_LABELS=RESOLUTION_LABELS,
        MISSES_TO_PAUSE=MISSES_TO_PAUSE,
    )
    app.jinja_env.filters.update(
        local_datetime=local_datetime,
        phone=format_phone,
        linkify=linkify,
        short_time=short_time,
        from_iso=datetime.fromisoformat,
        format_date=lambda value, fmt="d MMMM y": format_date(value, fmt),
        percent=lambda share: "—" if share is None else f"{int(share * 100 + 0.5)}%",  # half up
    )
    app.jinja_env.add_extension("jinja2.ext.i18n")
    app.jinja_env.policies["ext.i18n.trimmed"] = True

    @app.after_request
    def long_cache_for_versioned_static(response):
        if request.endpoint == "static" and request.args.get("v"):
            response.cache_control.no_cache = None
            response.cache_control.public = True
            response.cache_control.max_age = 31536000
            response.cache_control.immutable = True
        return response
