"""How much one request may send, decided in one place, before anything reads its body.

Every route accepts at most `DEFAULT_BODY` (64 KB); the few that need more are in `BODY_LIMITS`.
The limit is set on the request in the first `before_request` hook of all, so it holds when the
CSRF check parses the form: a bigger body is refused with 413 (the error page, in Russian) as
soon as its Content-Length is seen, or when the limit is read (a chunked body), never parsed.
"""

from __future__ import annotations

from flask import Flask, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import RequestEntityTooLarge

KB = 1024
MB = 1024 * KB

# The longest text any form takes is 20 000 characters (the consent text); Cyrillic sent
# urlencoded is 6 bytes a character (%D0%BF), so 64 KB holds every other form many times over.
DEFAULT_BODY = 64 * KB
LONG_TEXT_BODY = 256 * KB  # ≤ 20 000 Cyrillic characters urlencoded (120 KB), with room


class BodyLimit:
    """A route's limit: `size` in bytes (None: MAX_CONTENT_LENGTH, i.e. MAX_UPLOAD_MB) and what
    the 413 page says when it is passed (None: the page's usual text)."""

    def __init__(self, size: int | None, message=None):
        self.size = size
        self.message = message


ROSTER_TOO_BIG = _l(
    "Файл больше 2 МБ. Список детей в CSV занимает меньше 1 МБ — проверьте, что выбран нужный файл."
)

BODY_LIMITS: dict[str, BodyLimit] = {
    # a message with up to ten photos and files: MAX_UPLOAD_MB, the app's MAX_CONTENT_LENGTH
    "messages.post": BodyLimit(None),
    # a CSV of ≤ 1 MB (roster.CSV_MAX_BYTES) with room for the friendly "too big: 1,4 МБ" message
    "admin.roster_import": BodyLimit(2 * MB, ROSTER_TOO_BIG),
    # the same CSV sent back as text, urlencoded: up to 3 bytes for each of its bytes
    "admin.roster_confirm": BodyLimit(4 * MB, ROSTER_TOO_BIG),
    # long texts: the chat's rules (10 000 characters), the default rules, the consent text
    "rules.edit": BodyLimit(LONG_TEXT_BODY),
    "admin.rules": BodyLimit(LONG_TEXT_BODY),
    "admin.consent": BodyLimit(LONG_TEXT_BODY),
}


def body_limit(endpoint: str | None) -> BodyLimit:
    return BODY_LIMITS.get(endpoint or "", BodyLimit(DEFAULT_BODY))


def limit_body() -> None:
    """The request's own limit, before anything (the CSRF check first) reads the body."""
    size = body_limit(request.endpoint).size
    if size is not None:
        request.max_content_length = size


def init_app(app: Flask) -> None:
    """Run `limit_body` before every other `before_request` hook (the CSRF check among them)."""
    app.before_request_funcs.setdefault(None, []).insert(0, limit_body)

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_error):
        from .errors import error_page

        return error_page(413, body_limit(request.endpoint).message)
