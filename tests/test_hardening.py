"""Holes a security review found, kept closed."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from sferum_lite.config import secret_key_from_instance
from sferum_lite.extensions import db
from sferum_lite.models import FailedLogin, StaffInvite, utcnow

from . import factories as f
from .conftest import sign_in


def test_an_admin_cannot_reach_the_directors_admin_making_invite(world, as_user):
    invite = f.make_staff_invite(world.kindergarten, world.director, grants_admin=True, max_uses=5)
    admin = as_user(world.admin)
    assert admin.get(f"/admin/staff/invites/{invite.id}").status_code == 404
    assert invite.token not in admin.get("/admin/staff/invites").get_data(as_text=True)
    assert admin.post(f"/admin/staff/invites/{invite.id}/revoke").status_code == 404
    director = as_user(world.director)
    assert invite.token in director.get(f"/admin/staff/invites/{invite.id}").get_data(as_text=True)


def test_only_the_director_verifies_someone_who_joins_as_an_administrator(world, as_user):
    newcomer = f.make_staff(
        world.kindergarten, "Новый Админ", position="zamestitel", admin=True, verified=False
    )
    admin = as_user(world.admin)
    assert admin.post(f"/admin/staff/{newcomer.id}/verify").status_code == 403
    assert (
        admin.post(f"/admin/staff/{newcomer.id}/position", data={"position": "drugoe"}).status_code
        == 403
    )
    assert newcomer.verified_at is None and newcomer.position == "zamestitel"
    assert as_user(world.director).post(f"/admin/staff/{newcomer.id}/verify").status_code == 303
    assert newcomer.verified_at is not None


def test_withdrawing_the_administrators_role_ends_their_invites(world, as_user):
    invite = f.make_staff_invite(world.kindergarten, world.admin, max_uses=None, days=30)
    director = as_user(world.director)
    assert director.post(f"/admin/staff/{world.admin.id}/admin").status_code == 303
    assert world.admin.is_admin is False
    assert invite.state() == "revoked"


def test_pages_are_never_cached(world, as_user):
    for path in ["/admin/staff", f"/admin/children/{world.child.id}", "/", "/profile"]:
        response = as_user(world.admin).get(path)
        assert response.headers["Cache-Control"] == "no-store", path


@pytest.mark.parametrize(
    "path",
    [
        "/admin/groups/99999999999999999999",
        "/admin/children/99999999999999999999",
        "/admin/staff/99999999999999999999",
        "/admin/staff/invites/99999999999999999999",
        "/admin/groups/0",
    ],
)
def test_ids_too_big_for_the_database_are_simply_not_found(world, as_user, path):
    assert as_user(world.admin).get(path).status_code == 404


def test_query_numbers_too_big_for_the_database_are_ignored(world, as_user):
    admin = as_user(world.admin)
    assert admin.get("/admin/children?page=100000000000000000000").status_code == 200
    assert admin.get("/admin/children?group=100000000000000000000").status_code == 200
    assert admin.get("/admin/children/new?group=100000000000000000000").status_code == 200


def test_guessing_the_current_password_locks_like_signing_in(app, world):
    client = sign_in(app.test_client(), world.parent)
    for attempt in range(5):
        response = client.post(
            "/profile/password",
            data={"current_password": f"угадываю {attempt}", "password": "новая весна 2027"},
        )
    assert response.status_code == 429
    assert "Попробуйте через 15 минут" in response.get_data(as_text=True)
    # even the right one waits now
    response = client.post(
        "/profile/password", data={"current_password": f.PASSWORD, "password": "новая весна 2027"}
    )
    assert response.status_code == 429


def test_failed_logins_keep_no_recoverable_phone_number(client, world):
    client.post("/login", data={"login": world.educator.login, "password": "не тот"})
    stored = db.session.scalar(select(FailedLogin.login_hash))
    assert stored != hashlib.sha256(world.educator.login.encode()).hexdigest()
    assert len(stored) == 64


def test_invite_tokens_stay_out_of_the_access_log(client, world, caplog):
    invite = f.make_staff_invite(world.kindergarten, world.admin)
    logger = logging.getLogger("werkzeug")
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        logger.info('127.0.0.1 - - "%s" %s -', f"GET /staff-invite/{invite.token} HTTP/1.1", 303)
    assert invite.token not in caplog.text
    assert "/staff-invite/…" in caplog.text


def test_a_sign_in_ends_after_180_days_however_often_it_is_used(app, world):
    client = sign_in(app.test_client(), world.parent)
    start = utcnow()
    for day in range(20, 180, 20):  # a visit every 20 days keeps the cookie fresh...
        with time_machine.travel(start + timedelta(days=day), tick=False):
            assert client.get("/").status_code == 200
    with time_machine.travel(start + timedelta(days=181), tick=False):  # ...but not for ever
        response = client.get("/")
        assert response.status_code == 302 and "/login" in response.location


def test_the_secret_key_is_written_whole_once(tmp_path):
    first = secret_key_from_instance(str(tmp_path))
    assert secret_key_from_instance(str(tmp_path)) == first
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temporary left


def test_conflict_page_speaks_russian(world, as_user):
    response = as_user(world.admin).post(f"/admin/staff/{world.educator.id}/verify")
    assert response.status_code == 409
    assert "Уже сделано" in response.get_data(as_text=True)


def test_the_invite_pages_name_the_invites_kindergarten(client, world):
    invite = f.make_staff_invite(world.kindergarten, world.admin)
    html = client.get(f"/staff-invite/{invite.token}", follow_redirects=True).get_data(as_text=True)
    assert "Берёзка" in html
    stored = db.session.scalar(select(StaffInvite).where(StaffInvite.id == invite.id))
    assert stored.kindergarten.name in html
