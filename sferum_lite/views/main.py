"""Home page for every role, and the web app manifest."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import child_links, moderation_view, queries
from ..extensions import db
from ..i18n import current_kindergarten
from ..permissions import (
    can_administer,
    can_invite_staff,
    is_educator,
    is_parent,
    is_staff,
    is_trusted_staff,
)
from ..templating import static_url
from . import page

bp = Blueprint("main", __name__)


@bp.route("/")
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    groups = children = counts = verifiers = None
    if is_staff(current_user) and not is_trusted_staff(current_user):
        verifiers = queries.verifiers(current_user.kindergarten_id)
    if is_educator(current_user):
        groups = db.session.execute(queries.educator_groups(current_user)).all()
    if is_parent(current_user):
        children = db.session.scalars(queries.parent_children(current_user)).all()
    if can_administer(current_user):
        counts = queries.admin_counts(
            with_admin=can_invite_staff(current_user, grants_admin=True),
            kindergarten_id=current_user.kindergarten_id,
        )
    return page(
        "main/home.html",
        groups=groups,
        children=children,
        counts=counts,
        verifiers=verifiers,
        requests=queries.own_requests(current_user),
        removals=moderation_view.unseen_removals(current_user),
        child_links=child_links.unseen_child_links(current_user),
    )


@bp.route("/manifest.webmanifest")
def manifest():
    kindergarten = current_kindergarten()
    response = jsonify(
        {
            "name": kindergarten.name if kindergarten else "sferum-lite",
            "short_name": _("Чаты сада"),
            "lang": "ru",
            "start_url": "/",
            "scope": "/",
            "display": "standalone",
            "background_color": "#ffffff",
            "theme_color": "#2f6f4f",
            "icons": [
                {"src": static_url("icon.svg"), "sizes": "any", "type": "image/svg+xml"},
                {"src": static_url("icon-192.png"), "sizes": "192x192", "type": "image/png"},
                {"src": static_url("icon-512.png"), "sizes": "512x512", "type": "image/png"},
            ],
        }
    )
    response.mimetype = "application/manifest+json"
    response.cache_control.max_age = 3600
    return response
