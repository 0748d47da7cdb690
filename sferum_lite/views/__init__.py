"""Thin views: parse and validate input, one access_* check, one do_* action, render or redirect.

A view answers an htmx request with the fragment it swaps and a browser with the whole page;
every page works with JavaScript off through POST -> 303 -> GET.
"""

from __future__ import annotations

import time

from flask import (
    Response,
    current_app,
    g,
    redirect,
    render_template,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from .. import live
from ..actions import ActionError
from ..extensions import db
from ..security import load_user


def status_of(form) -> int:
    """422 for a submitted form with errors, so htmx 4 swaps it and clients see the problem."""
    return 422 if form is not None and form.is_submitted() and form.errors else 200


def page(template: str, *, form=None, status: int | None = None, **context):
    return render_template(template, form=form, **context), status or status_of(form)


def see_other(endpoint: str, **values):
    return redirect(url_for(endpoint, **values), code=303)


def action_failed(form, error: ActionError) -> None:
    """Undo what the action began and show its message on the field or above the form."""
    db.session.rollback()
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


def event_stream(topics, render, *, at_once=False, retry=1000) -> Response:
    """Server-sent events on `topics`: `render(user)` runs at once (if `at_once`) and after
    each batch of events; it returns None to end the stream, or
    (html, event id) — nothing is sent for empty html. No database session is held while
    waiting; each batch loads the signed-in person again, so signing out, or losing the access
    `render` checks (a 404), ends the stream."""
    user_id = current_user.id
    config = current_app.config
    db.session.remove()
    subscription = live.broker().subscribe(topics)

    def batch():
        try:
            user = load_user(str(user_id))
            if user is None:
                return None
            g._login_user = user
            try:
                return render(user)
            except HTTPException:
                return None
        finally:
            db.session.remove()

    def events():
        try:
            deadline = time.monotonic() + config["LIVE_STREAM_SECONDS"]
            yield live.format_sse(retry=retry)
            due = at_once
            while time.monotonic() < deadline:
                if not due:
                    got = subscription.get(timeout=config["LIVE_HEARTBEAT_SECONDS"])
                    if not got:
                        yield live.comment()
                        continue
                due = False
                result = batch()
                if result is None:
                    return
                html, event_id = result
                if html:
                    yield live.format_sse(html, id=event_id)
        finally:
            subscription.close()

    response = Response(stream_with_context(events()), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass events on at once
    return response
