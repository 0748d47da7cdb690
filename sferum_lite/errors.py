"""Error pages in the user's language, for browsers and for htmx alike."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask.globals import request_ctx
from flask_babel import lazy_gettext as _l
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .extensions import db

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


def error_page(code: int, message=None):
    if request_ctx.url_adapter is None:
        # refused before routing (an untrusted Host): no page can be built, say it plainly
        return f"{code} {PAGES.get(code, PAGES[500])[0]}", code, {"Content-Type": "text/plain"}
    title, default_message = PAGES.get(code, PAGES[500])
    html = render_template(
        "errors/error.html", code=code, title=title, message=message or default_message
    )
    headers = {}
    if request.headers.get("HX-Request"):
        # htmx 4 swaps error answers into the request's target: show the page whole instead
        headers = {"HX-Retarget": "body", "HX-Reswap": "outerHTML"}
    return html, code, headers


def register_error_handlers(app: Flask) -> None:
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
