"""Every route × every persona against an explicit table of expected answers.

A route that is not in the table fails the suite: whoever adds a route decides here who may use
it. POSTs are sent with a form that has none of the route's fields (CSRF is checked separately
in test_security.py), so an allowed POST answers 422 when its form needs input, or 303 when it
is a one-click action or an edit form whose fields keep their current values.
"""

from __future__ import annotations

import pytest

from .conftest import PERSONAS

ANON, PARENT, OTHER_PARENT, EDUCATOR, OTHER_EDUCATOR, ADMIN, DIRECTOR = PERSONAS
SIGNED_IN = PERSONAS[1:]


def everyone(code):
    return dict.fromkeys(PERSONAS, code)


def signed_in(code, anonymous=302):
    return {ANON: anonymous, **dict.fromkeys(SIGNED_IN, code)}


def administration(code, director=None):
    """Admin area: visitors go to sign in, parents and educators get 403."""
    return {
        ANON: 302,
        PARENT: 403,
        OTHER_PARENT: 403,
        EDUCATOR: 403,
        OTHER_EDUCATOR: 403,
        ADMIN: code,
        DIRECTOR: code if director is None else director,
    }


# (endpoint, method) -> persona -> status
EXPECTED = {
    ("static", "GET"): everyone(200),
    ("main.home", "GET"): signed_in(200),
    ("main.manifest", "GET"): everyone(200),
    ("setup.setup", "GET"): everyone(404),  # gone once the kindergarten exists
    ("setup.setup", "POST"): everyone(409),
    ("auth.login", "GET"): {ANON: 200, **dict.fromkeys(SIGNED_IN, 302)},
    ("auth.login", "POST"): {ANON: 422, **dict.fromkeys(SIGNED_IN, 302)},
    ("auth.logout", "POST"): everyone(303),
    ("auth.profile", "GET"): signed_in(200),
    ("auth.profile", "POST"): signed_in(303),  # fields not sent keep their values
    ("auth.change_password", "POST"): signed_in(422),
    ("auth.end_other_sessions", "POST"): signed_in(303),
    ("auth.language", "POST"): everyone(303),
    ("admin.index", "GET"): administration(200),
    ("admin.groups", "GET"): administration(200),
    ("admin.groups", "POST"): administration(422),
    ("admin.group", "GET"): administration(200),
    ("admin.group_rename", "POST"): administration(422),
    ("admin.group_archive", "POST"): administration(409),  # the group still has a child
    ("admin.group_restore", "POST"): administration(303),
    ("admin.group_attach", "POST"): administration(422),
    ("admin.group_detach", "POST"): administration(303),
    ("admin.children", "GET"): administration(200),
    ("admin.child_new", "GET"): administration(200),
    ("admin.child_new", "POST"): administration(422),
    ("admin.child", "GET"): administration(200),
    ("admin.child", "POST"): administration(303),  # fields not sent keep their values
    ("admin.child_leave", "POST"): administration(303),
    ("admin.child_restore", "POST"): administration(303),
    ("admin.roster_import", "GET"): administration(200),
    ("admin.roster_import", "POST"): administration(422),
    ("admin.roster_confirm", "POST"): administration(422),
    ("admin.roster_sample", "GET"): administration(200),
    ("admin.staff", "GET"): administration(200),
    ("admin.staff_member", "GET"): administration(200),
    ("admin.staff_verify", "POST"): administration(409),  # already verified
    ("admin.staff_admin", "POST"): administration(403, director=303),
    ("admin.staff_position", "POST"): administration(422),
    ("admin.staff_dismiss", "POST"): administration(303),
    ("admin.staff_invites", "GET"): administration(200),
    ("admin.staff_invites", "POST"): administration(303),  # the defaults make a valid invite
    ("admin.staff_invite", "GET"): administration(200),
    ("admin.staff_invite_revoke", "POST"): administration(303),
    ("invites.staff_invite", "GET"): everyone(303),
    ("invites.join_staff", "GET"): everyone(404),  # no invite in this session
    ("invites.join_staff", "POST"): everyone(404),
}


def url_values(world, invite) -> dict:
    return {
        "filename": "app.css",
        "group_id": world.group.id,
        "child_id": world.child.id,
        "user_id": world.educator.id,
        "invite_id": invite.id,
        "token": invite.token,
    }


def routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_route_is_in_the_table(app):
    found = {(rule.endpoint, method) for rule, method in routes(app)}
    assert found - set(EXPECTED) == set(), "add these routes to EXPECTED"
    assert set(EXPECTED) - found == set(), "these routes are gone: remove them from EXPECTED"


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("endpoint,method", sorted(EXPECTED))
def test_route_answers_persona_as_expected(app, world, as_user, endpoint, method, persona):
    from .factories import make_staff_invite

    invite = make_staff_invite(world.kindergarten, world.admin)
    rule = next(rule for rule in app.url_map.iter_rules() if rule.endpoint == endpoint)
    values = {name: url_values(world, invite)[name] for name in rule.arguments}
    with app.test_request_context():
        from flask import url_for

        url = url_for(endpoint, **values)
    client = as_user(world.persona(persona))
    response = client.open(url, method=method, data={"matrix": "1"} if method == "POST" else None)
    response.close()
    assert response.status_code == EXPECTED[(endpoint, method)][persona], (
        f"{method} {url} as {persona}: {response.status_code}"
    )
