"""What one request may cost, decided before anything reads its body.

Body limits: every route accepts at most `DEFAULT_BODY` (64 KB); the few that need more are in
`BODY_LIMITS`. The limit is set on the request in the first `before_request` hook of all, so it
holds when the CSRF check parses the form: a bigger body is refused with 413 (the error page, in
Russian) as soon as its Content-Length is seen, or when the limit is read (a chunked body).

Rate limits: Flask-Limiter checks a view's `@limiter.limit` in the view's wrapper, after every
`before_request` hook, so a request the CSRF check refused (400) was never counted. The second
hook, still before the CSRF check, counts the view's limits itself (429 when over) and marks the
request, so that the wrapper's check that follows is skipped: each request counts once.
"""

from __future__ import annotations

from flask import Flask, current_app, g, request
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_qualified_name
from werkzeug.exceptions import RequestEntityTooLarge

from .extensions import limiter

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


def count_rate_limits() -> None:
    """The view's own rate limits, counted now: before the CSRF check (or anything) reads the
    body. RateLimitExceeded (429) when one is over."""
    view = current_app.view_functions.get(request.endpoint or "")
    # (the wrapper holds a weak proxy to the limiter: equal to it, not the same object)
    if view is None or getattr(view, "__wrapper-limiter-instance", None) != limiter:
        return  # no @limiter.limit on this view
    # the check the wrapper would make (Flask-Limiter has no public call for a view's limits)
    limiter._check_request_limit(in_middleware=False, callable_name=get_qualified_name(view))
    g.rate_limits_counted = True


@limiter.request_filter
def _counted_already() -> bool:
    """The view's wrapper skips the limits `count_rate_limits` has counted for this request."""
    return bool(g.get("rate_limits_counted"))


def init_app(app: Flask) -> None:
    """`limit_body`, then the limiter's own hook (app-wide limits, if any), then
    `count_rate_limits`: all before every other `before_request` hook, the CSRF check among
    them."""
    hooks = app.before_request_funcs.setdefault(None, [])
    limiter_hooks = [hook for hook in hooks if getattr(hook, "__self__", None) is limiter]
    for hook in limiter_hooks:
        hooks.remove(hook)
    hooks[:0] = [limit_body, *limiter_hooks, count_rate_limits]

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_error):
        from .errors import error_page

        return error_page(413, body_limit(request.endpoint).message)
