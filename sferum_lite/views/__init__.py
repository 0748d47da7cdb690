"""Thin views: parse and validate input, one access_* check, one do_* action, render or redirect.

A view answers an htmx request with the fragment it swaps and a browser with the whole page;
every page works with JavaScript off through POST -> 303 -> GET.
"""

from __future__ import annotations

from flask import redirect, render_template, url_for

from ..actions import ActionError
from ..extensions import db


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
