"""The administration: groups, the children's roster, staff and their invites."""

from __future__ import annotations

from flask import Blueprint, abort
from flask_login import current_user, login_required

from ... import queries
from ...extensions import db
from ...permissions import can_administer, can_invite_staff
from .. import page

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def require_administrator():
    if not can_administer(current_user):
        abort(403)


@bp.route("/")
def index():
    kindergarten_id = current_user.kindergarten_id
    return page(
        "admin/index.html",
        counts=queries.admin_counts(
            with_admin=can_invite_staff(current_user, grants_admin=True),
            kindergarten_id=kindergarten_id,
        ),
        system_chats=db.session.execute(queries.system_chats(kindergarten_id)).all(),
    )


from . import children, groups, invites, staff, texts  # noqa: E402,F401  (routes register on bp)
