"""First visit on an empty database: the kindergarten and its director. Gone afterwards."""

from __future__ import annotations

from flask import Blueprint, abort, flash, request
from flask_babel import gettext as _

from ..actions import ActionError
from ..actions.setup import do_setup, is_set_up
from ..extensions import limiter
from ..forms import SetupForm
from ..texts import DEFAULT_CONSENT
from . import action_failed, page, see_other

bp = Blueprint("setup", __name__)


@bp.route("/setup", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def setup():
    if is_set_up():
        if request.method == "POST":
            return page("setup/done.html", status=409)
        abort(404)
    form = SetupForm()
    if form.validate_on_submit():
        try:
            do_setup(
                kindergarten_name=form.kindergarten_name.data,
                timezone=form.timezone.data,
                work_start=form.work_start.data,
                work_end=form.work_end.data,
                work_days="".join(sorted(form.work_days.data)),
                director_name=form.director_name.data,
                login=form.login.parsed,
                password=form.password.data,
            )
        except ActionError as error:
            action_failed(form, error)
        else:
            flash(
                _("Детский сад создан. Теперь добавьте группы и пригласите сотрудников."), "success"
            )
            return see_other("admin.index")
    name = form.kindergarten_name.data or _("детский сад")
    return page(
        "setup/setup.html", form=form, consent_text=DEFAULT_CONSENT.format(kindergarten=name)
    )
