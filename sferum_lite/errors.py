"""Error pages in the user's language, for browsers and for htmx alike."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask.globals import request_ctx
from flask_babel import lazy_gettext as _l
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from .database import WriteLockTimeout, storage_trouble
from .extensions import db

log = logging.getLogger(__name__)

# What a person is told when the server's storage, not their request, failed (503).
STORAGE_PAGES = {
    "full": (
        _l("На сервере закончилось место"),
        _l(
            "Ничего не сохранено — попробуйте позже, а если не получится, сообщите администрации "
            "детского сада."
        ),
    ),
    "readonly": (
        _l("Сервер не может сохранять"),
        _l(
            "Ничего не сохранено — попробуйте позже, а если не получится, сообщите администрации "
            "детского сада."
        ),
    ),
    "busy": (
        _l("Сервер занят"),
        _l("Ничего не сохранено — попробуйте ещё раз через минуту."),
    ),
    "unavailable": (
        _l("Сервер недоступен"),
        _l(
            "Сервер на минуту недоступен — например, перезапускается. Ничего не сохранено — "
            "попробуйте ещё раз через минуту."
        ),
    ),
}
PAGES = {
    400: (
        _l("Неверный запрос"),
        _l("Запрос не удалось понять. Вернитесь назад и попробуйте ещё раз."),
    ),
    403: (
        _l("Нет доступа"),
        _l(
            "У вас нет прав на это действие. Если это ошибка, обратитесь к администратору "
            "детского сада."
        ),
    ),
    404: (
        _l("Страница не найдена"),
        _l("Такой страницы нет или у вас нет к ней доступа. Проверьте ссылку."),
    ),
    405: (_l("Так нельзя"), _l("Это действие выполняется кнопкой на странице, а не по ссылке.")),
    409: (
        _l("Уже сделано"),
        _l(
            "Это уже сделано — возможно, в другой вкладке или другим человеком. Обновите "
            "страницу, чтобы увидеть, как всё сейчас."
        ),
    ),
    410: (_l("Ссылка больше не действует"), _l("Попросите новую ссылку у того, кто её прислал.")),
    413: (
        _l("Файл слишком большой"),
        _l("Отправленный файл больше допустимого размера. Уменьшите его и попробуйте снова."),
    ),
    422: (
        _l("Проверьте данные"),
        _l("Некоторые поля заполнены неверно. Вернитесь назад и исправьте их."),
    ),
    429: (_l("Слишком много попыток"), _l("Подождите минуту и попробуйте снова.")),
    503: STORAGE_PAGES["busy"],
    500: (
        _l("Что-то пошло не так"),
        _l(
            "На сервере произошла ошибка. Ничего из сохранённого не потеряно — попробуйте ещё раз "
            "через минуту."
        ),
    ),
}
CSRF_MESSAGE = _l(
    "Страница устарела — например, она была открыта до выхода из системы. Ничего не сохранено: "
    "вернитесь назад, обновите страницу и отправьте форму ещё раз."
)


def error_page(code: int, message=None, title=None):
    if request_ctx.url_adapter is None:
        # refused before routing (an untrusted Host): no page can be built, say it plainly
        return f"{code} {PAGES.get(code, PAGES[500])[0]}", code, {"Content-Type": "text/plain"}
    default_title, default_message = PAGES.get(code, PAGES[500])
    title = title or default_title
    context = {"code": code, "title": title, "message": message or default_message}
    try:
        html = render_template("errors/error.html", **context)
    except Exception as error:
        if storage_trouble(error) is None and code < 500:
            raise
        log.warning("the error page is drawn without the database: %s", type(error).__name__)
        # The page's frame asks the database (who is signed in, the kindergarten's name) and the
        # database is what failed: the page is drawn for a visitor, without it.
        _forget_the_database()
        try:
            html = render_template("errors/error.html", **context)
        except Exception:
            log.exception("the error page itself could not be drawn")
            text = f"{code} {title}\n\n{context['message']}\n"
            return text, code, {"Content-Type": "text/plain; charset=utf-8"}
    headers = {}
    if request.headers.get("HX-Request"):
        # htmx 4 swaps error answers into the request's target: show the page whole instead
        headers = {"HX-Retarget": "body", "HX-Reswap": "outerHTML"}
    return html, code, headers


def _forget_the_database() -> None:
    from flask import g
    from flask_login import AnonymousUserMixin

    try:
        db.session.rollback()
    except Exception:  # the connection itself is gone: nothing to roll back
        log.debug("rollback failed", exc_info=True)
    g._login_user = AnonymousUserMixin()
    g.kindergarten = None


def storage_failed(error: BaseException, trouble: str):
    """Log a storage failure at ERROR with its cause (never the request's text) and roll back."""
    # the endpoint, not the path: a path may carry an invite's token
    log.error(
        "storage %s on %s %s: %s: %s",
        trouble,
        request.method,
        request.endpoint or "?",
        type(error).__name__,
        str(error).splitlines()[0][:300] if str(error) else "",
    )
    try:
        db.session.rollback()
    except Exception:  # the connection itself is gone: nothing to roll back
        log.debug("rollback after a storage failure failed too", exc_info=True)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DBAPIError)
    @app.errorhandler(OSError)
    @app.errorhandler(WriteLockTimeout)
    def storage_error(error: Exception):
        trouble = storage_trouble(error)
        if trouble is None:
            raise error  # a bug, not the storage: Flask logs it and answers 500
        storage_failed(error, trouble)
        title, message = STORAGE_PAGES[trouble]
        html, code, headers = error_page(503, message, title)
        return html, code, {**headers, "Retry-After": "30"}

    @app.errorhandler(CSRFError)
    def csrf_error(_error):
        return error_page(400, CSRF_MESSAGE)

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(_error):
        return error_page(429)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        # Unhandled exceptions arrive here as InternalServerError; Flask has logged them.
        if error.code not in PAGES:
            return error
        if error.code >= 500:
            db.session.rollback()  # nothing half-written may stay in the session
        return error_page(error.code)
