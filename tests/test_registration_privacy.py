"""Registration through an invite tells nobody whether a phone or an e-mail has an account
(issue 13 §3).

Two strangers fill in the same form, one with a new phone, one with the phone of a parent who
is registered already. Both get the same answer: the same status and address, the same cookie
contents (Flask's session cookie is signed, not encrypted: anybody can read it), the same
sign-in page with one sentence for both cases. Only the password decides what happens next:
the newcomer signs in with the one just made up, the owner with their own. The owner's account
is untouched, and the audit log keeps the attempt. Timing: both paths hash the password and
commit one write; `bench/registration.py` measures the two side by side.
"""

from __future__ import annotations

import difflib
import re

import pytest
from sqlalchemy import func, select

from sferum_lite.extensions import db
from sferum_lite.models import AuditLog, ChatMember, StaffInvite, User

from . import factories as f
from .test_joining import make_invite, open_link
from .test_staff_join import open_link as open_staff_link

NEW_PHONE = "+79125551234"
NEW_PASSWORD = "тихий вечер у реки"


def session_of(app, client) -> dict:
    """What the browser holds in its session cookie, decoded as anybody could."""
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    if cookie is None:
        return {}
    return dict(app.session_interface.get_signing_serializer(app).loads(cookie.value))


def without_secrets(html: str, typed: str) -> str:
    """A page with its CSRF token and the login the person typed taken out."""
    html = re.sub(r'name="csrf_token"[^>]*value="[^"]*"', "csrf", html)
    html = re.sub(r'"X-CSRFToken": "[^"]*"', "csrf", html)
    return html.replace(typed, "TYPED")


def national(phone: str) -> str:
    """How a person types a phone: 8 912 345-67-89."""
    digits = phone[2:]
    return f"8 {digits[:3]} {digits[3:6]}-{digits[6:8]}-{digits[8:]}"


def answers(app, client, response, typed) -> tuple:
    """Everything a stranger sees of the answer and of the page it leads to."""
    assert response.status_code == 303
    cookie = session_of(app, client)
    followed = client.get(response.location)
    return (
        response.status_code,
        response.location,
        sorted(key for key in response.headers.keys() if key != "Set-Cookie"),
        {key: value for key, value in cookie.items() if key not in ("csrf_token", "login_hint")},
        cookie.get("login_hint") == typed,
        followed.status_code,
        without_secrets(followed.get_data(as_text=True), typed),
    )


def assert_same(seen: dict) -> None:
    new, known = seen["new"], seen["known"]
    page_diff = "".join(
        difflib.unified_diff(new[-1].splitlines(True), known[-1].splitlines(True), n=1)
    )
    assert new[:-1] == known[:-1]
    assert new[-1] == known[-1], page_diff


def sign_in(client, login, password, next_url):
    return client.post("/login", data={"login": login, "password": password, "next": next_url})


@pytest.fixture
def taken(world):
    """The world's parent, registered already, with a phone a stranger could know."""
    world.parent.phone = "+79161213558"
    db.session.commit()
    return world.parent


@pytest.mark.parametrize("by", ["phone", "email"])
def test_a_parents_registration_answers_the_same_for_a_known_login(world, app, as_user, taken, by):
    chat = f.make_chat(world.kindergarten, world.educator, group=world.group)
    invite = make_invite(chat, world.educator)
    known = national(taken.phone) if by == "phone" else taken.email
    new = national(NEW_PHONE) if by == "phone" else "olga.novikova@example.ru"
    before = (taken.name, taken.password_hash)
    seen = {}
    for key, login in (("new", new), ("known", known)):
        client = as_user(None)
        open_link(client, invite)
        form = {"name": "Ольга Новикова", "login": login, "password": NEW_PASSWORD, "consent": "y"}
        response = client.post("/join/register", data=form)
        seen[key] = answers(app, client, response, login)

    assert_same(seen)
    status, location, *_rest, page = seen["new"]
    assert location == "/login?next=/join/child"
    assert "если это ваш номер" in page.lower() or "это ваш номер" in page
    assert 'value="TYPED"' in page  # the login is filled in
    db.session.expire_all()
    assert (taken.name, taken.password_hash) == before
    assert db.session.scalar(select(func.count(User.id)).where(User.name == "Ольга Новикова")) == 1
    attempt = db.session.scalar(
        select(AuditLog).where(AuditLog.action == "account.registration_with_taken_login")
    )
    assert attempt.target_id == taken.id and attempt.actor_id is None
    assert NEW_PASSWORD not in str(attempt.details)


def test_then_the_password_decides(world, as_user, taken):
    """The newcomer goes on with the new password, the owner with their own, and a stranger who
    typed somebody else's phone gets in nowhere."""
    chat = f.make_chat(world.kindergarten, world.educator, group=world.group)
    invite = make_invite(chat, world.educator)
    form = {"name": "Ольга Новикова", "password": NEW_PASSWORD, "consent": "y"}

    newcomer = as_user(None)
    open_link(newcomer, invite)
    newcomer.post("/join/register", data={**form, "login": national(NEW_PHONE)})
    signed = sign_in(newcomer, national(NEW_PHONE), NEW_PASSWORD, "/join/child")
    assert signed.status_code == 303 and signed.location == "/join/child"
    assert newcomer.get("/join/child").status_code == 200  # the join goes on: name the child

    stranger = as_user(None)
    open_link(stranger, invite)
    stranger.post("/join/register", data={**form, "login": national(taken.phone)})
    refused = sign_in(stranger, national(taken.phone), NEW_PASSWORD, "/join/child")
    assert refused.status_code == 422 and "Неверный логин или пароль" in refused.get_data(
        as_text=True
    )

    owner = as_user(None)
    open_link(owner, invite)
    owner.post("/join/register", data={**form, "login": national(taken.phone)})
    signed = sign_in(owner, national(taken.phone), f.PASSWORD, "/join/child")
    assert signed.status_code == 303
    owner.get("/join/child")
    accepted = owner.post("/join/rules", data={"rules_id": chat.rules_id})
    assert accepted.status_code == 303
    assert db.session.get(ChatMember, (chat.id, taken.id)) is not None  # own child, own group


def test_a_staff_registration_answers_the_same_for_a_known_login(world, app, as_user, taken):
    invite = f.make_staff_invite(world.kindergarten, world.admin, position="logoped", max_uses=5)
    seen = {}
    for key, login in (("new", national(NEW_PHONE)), ("known", national(taken.phone))):
        client = as_user(None)
        open_staff_link(client, invite)
        form = {"name": "Светлана Орлова", "login": login, "password": NEW_PASSWORD, "consent": "y"}
        seen[key] = answers(app, client, client.post("/join/staff", data=form), login)

    assert_same(seen)
    assert seen["new"][1] == "/login?next=/join/staff"
    db.session.expire_all()
    assert taken.position is None  # the parent did not become staff
    assert db.session.get(StaffInvite, invite.id).uses == 1  # only the new account used it


def test_the_new_staff_member_signs_in_and_is_welcomed(world, as_user):
    invite = f.make_staff_invite(world.kindergarten, world.admin, position="logoped")
    client = as_user(None)
    open_staff_link(client, invite)
    form = {"name": "Светлана Орлова", "login": national(NEW_PHONE), "password": NEW_PASSWORD}
    client.post("/join/staff", data={**form, "consent": "y"})

    signed = sign_in(client, national(NEW_PHONE), NEW_PASSWORD, "/join/staff")
    assert signed.location == "/join/staff"
    welcome = client.get("/join/staff")  # the single-use link is used up: by this very person
    assert welcome.status_code == 303 and welcome.location == "/"
    home = client.get("/").get_data(as_text=True)
    assert "Добро пожаловать!" in home and "Ждём подтверждения администратора" in home


def test_the_owner_of_a_known_login_signs_in_and_accepts_the_invite(world, as_user, taken):
    invite = f.make_staff_invite(world.kindergarten, world.admin, position="logoped")
    client = as_user(None)
    open_staff_link(client, invite)
    form = {"name": "Екатерина Петрова", "login": national(taken.phone), "password": "x" * 12}
    client.post("/join/staff", data={**form, "consent": "y"})

    sign_in(client, national(taken.phone), f.PASSWORD, "/join/staff")
    page = client.get("/join/staff")
    assert page.status_code == 200 and "Принять приглашение" in page.get_data(as_text=True)
    assert client.post("/join/staff").status_code == 303
    db.session.expire_all()
    assert taken.position == "logoped" and taken.verified_at is None
