"""Joining the staff through a staff invite link: /staff-invite/<token> -> /join/staff.

The link's token moves into the session and the browser goes on to /join/staff; a newcomer
registers there (or an existing account accepts), becomes staff with the invite's position and
waits for the administrator to verify them.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from sferum_lite.extensions import db
from sferum_lite.models import (
    AuditLog,
    Chat,
    ChatMember,
    Consent,
    ConsentText,
    GroupEducator,
    ParentChild,
    StaffInvite,
    User,
    UserSession,
    utcnow,
)

from . import factories as f

SESSION_KEY = "staff_invite"
NEW_PASSWORD = "тихий вечер у реки"
NEW_PHONE = "+79123456789"
SYSTEM = {"staff_group", "news", "staff"}


# --- helpers -------------------------------------------------------------------------------------


def open_link(client, invite_or_token):
    """Follow an invite link; returns the 303 answer (the token is now in the session)."""
    token = getattr(invite_or_token, "token", invite_or_token)
    response = client.get(f"/staff-invite/{token}")
    assert response.status_code == 303, response.status_code
    assert response.location == "/join/staff"
    assert_token_url_not_referred(response)
    return response


def form_data(**overrides):
    data = {
        "name": "Светлана Орлова",
        "login": "8 912 345-67-89",
        "password": NEW_PASSWORD,
        "consent": "y",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def register(client, **overrides):
    """Fill in the form, then sign in on the page it leads to, as it asks, and follow the link
    back (the form's own answer is the same for a new and a known login:
    test_registration_privacy)."""
    data = form_data(**overrides)
    response = client.post("/join/staff", data=data)
    if response.status_code != 303 or not response.location.startswith("/login"):
        return response
    signed = client.post(
        "/login",
        data={"login": data["login"], "password": data["password"], "next": "/join/staff"},
    )
    if signed.status_code != 303:
        return signed
    return client.get(signed.location)


def text(response) -> str:
    return response.get_data(as_text=True)


def snapshot() -> dict:
    """Counts of everything a registration writes."""
    db.session.commit()  # a fresh look at the database
    return {
        "users": db.session.scalar(select(func.count(User.id))),
        "consents": db.session.scalar(select(func.count(Consent.id))),
        "members": db.session.scalar(select(func.count()).select_from(ChatMember)),
        "sessions": db.session.scalar(select(func.count(UserSession.id))),
        "joined": db.session.scalar(
            select(func.count(AuditLog.id)).where(AuditLog.action == "staff.joined")
        ),
        "staff": db.session.scalar(select(func.count(User.id)).where(User.position.is_not(None))),
    }


def session_token(client):
    with client.session_transaction() as sess:
        return sess.get(SESSION_KEY)


def system_chats_of(user) -> set[str]:
    return set(
        db.session.scalars(
            select(Chat.system)
            .join(ChatMember, ChatMember.chat_id == Chat.id)
            .where(ChatMember.user_id == user.id, Chat.system.is_not(None))
        )
    )


def user_by_phone(phone):
    return db.session.scalar(select(User).where(User.phone == phone))


def staff_row(html: str, user) -> str:
    match = re.search(rf'<li id="staff-{user.id}">(.*?)</li>', html, re.S)
    assert match, f"no row for {user.name} on the staff list"
    return match.group(1)


def has_badge(html: str, name: str) -> bool:
    """Whether `name` is rendered by the person() macro with the verified badge."""
    with_badge = f'<span class="person">{name}<span class="badge"'
    without = f'<span class="person">{name}</span>'
    assert with_badge in html or without in html, f"{name} is not on the page"
    return with_badge in html


def assert_token_url_not_referred(response):
    """The link's answer sends no Referer at all: its URL carries the token."""
    assert response.headers["Referrer-Policy"] == "no-referrer"


def assert_no_referer_off_site(response):
    """Pages after the link have no token in their URL; they never send a Referer to another
    site (same-origin is allowed: over https the CSRF check needs a same-origin Referer)."""
    assert response.headers["Referrer-Policy"] in ("no-referrer", "same-origin")


def normalised(html: str) -> str:
    """The page without the per-session CSRF token."""
    return re.sub(r"hx-headers:inherited='[^']*'", "", html)


@pytest.fixture
def invite(world):
    return f.make_staff_invite(world.kindergarten, world.admin, position="logoped")


# --- the link ------------------------------------------------------------------------------------


def test_link_moves_token_into_session_and_redirects_to_a_url_without_it(world, invite, client):
    response = client.get(f"/staff-invite/{invite.token}")

    assert response.status_code == 303
    assert response.location == "/join/staff"
    assert invite.token not in response.location
    assert_token_url_not_referred(response)
    assert session_token(client) == invite.token

    page = client.get("/join/staff")
    assert page.status_code == 200
    assert_no_referer_off_site(page)
    body = text(page)
    assert "Регистрация сотрудника" in body
    assert "Учитель-логопед" in body
    assert invite.token not in body


# --- registration --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed,kind,stored",
    [
        ("8 912 345-67-89", "phone", NEW_PHONE),
        ("+7 (912) 345 67 89", "phone", NEW_PHONE),
        ("89123456789", "phone", NEW_PHONE),
        ("Svetlana.Orlova@Example.RU", "email", "svetlana.orlova@example.ru"),
    ],
)
def test_registration_makes_an_unverified_staff_member(world, client, typed, kind, stored):
    invite = f.make_staff_invite(world.kindergarten, world.admin, position="logoped")
    newer = ConsentText(kindergarten_id=world.kindergarten.id, version=2, text="Согласие, ред. 2")
    db.session.add(newer)
    db.session.commit()
    open_link(client, invite)

    response = register(client, login=typed)

    assert response.status_code == 303, text(response)[:2000]
    assert response.location == "/"
    user = db.session.scalar(select(User).where(getattr(User, kind) == stored))
    assert user is not None
    assert user.name == "Светлана Орлова"
    assert user.kindergarten_id == world.kindergarten.id
    assert user.position == "logoped"
    assert user.verified_at is None
    assert user.is_admin is False
    assert user.is_director is False
    assert user.dismissed_at is None
    assert user.password_hash != NEW_PASSWORD
    consents = db.session.scalars(select(Consent).where(Consent.user_id == user.id)).all()
    assert [c.consent_text_id for c in consents] == [newer.id]
    assert invite.uses == 1
    assert invite.last_used_at is not None
    assert system_chats_of(user) == set()  # the staff chats wait for the verification
    log = db.session.scalars(select(AuditLog).where(AuditLog.action == "staff.joined")).all()
    assert len(log) == 1
    assert log[0].actor_id == user.id and log[0].target_id == user.id
    assert log[0].details["invite_id"] == invite.id
    assert invite.token not in str(log[0].details) and NEW_PASSWORD not in str(log[0].details)
    assert session_token(client) is None

    home = client.get("/")
    assert home.status_code == 200
    body = text(home)
    assert "Добро пожаловать!" in body
    assert "Здравствуйте, Светлана!" in body
    assert "Ждём подтверждения администратора" in body

    # the same browser can't use the link a second time: the token is gone from its session
    assert client.get("/join/staff").status_code == 404


def test_newcomer_is_listed_as_waiting_for_confirmation(world, invite, client, admin_client):
    open_link(client, invite)
    assert register(client).status_code == 303
    user = user_by_phone(NEW_PHONE)

    row = staff_row(text(admin_client.get("/admin/staff")), user)
    assert "Светлана Орлова" in row
    assert "Учитель-логопед" in row
    assert "Подтвердить" in row
    assert 'class="badge"' not in row


def test_registration_with_a_grants_admin_invite_makes_an_admin(world, client):
    invite = f.make_staff_invite(
        world.kindergarten, world.director, grants_admin=True, position="zamestitel"
    )
    open_link(client, invite)

    assert register(client).status_code == 303

    user = user_by_phone(NEW_PHONE)
    assert user.is_admin is True
    assert user.position == "zamestitel"
    assert user.verified_at is None


def test_a_multi_use_invite_counts_each_use(world, as_user):
    invite = f.make_staff_invite(world.kindergarten, world.admin, max_uses=5)
    for n, phone in enumerate(["8 912 345-67-81", "8 912 345-67-82"], start=1):
        client = as_user(None)
        open_link(client, invite)
        assert register(client, login=phone, name=f"Сотрудник Номер{n}").status_code == 303
        assert invite.uses == n
    assert invite.state() == "live"


def test_a_100_character_password_is_accepted_as_is(world, invite, client, as_user):
    password = ("Синий трактор едет по полю, " * 5)[:100]
    assert len(password) == 100
    open_link(client, invite)

    assert register(client, password=password).status_code == 303

    fresh = as_user(None)
    response = fresh.post("/login", data={"login": "8 912 345 67 89", "password": password[:99]})
    assert response.status_code == 422
    assert "Неверный логин или пароль." in text(response)
    response = fresh.post("/login", data={"login": "8 912 345 67 89", "password": password})
    assert response.status_code == 303
    assert fresh.get("/").status_code == 200


# --- bad input -----------------------------------------------------------------------------------

BAD_INPUT = [
    pytest.param({"name": ""}, "Заполните это поле.", id="empty-name"),
    pytest.param({"name": "Я" * 300}, "Не длиннее 100 символов.", id="300-char-name"),
    pytest.param({"name": "\u200b\u200c\u200d\ufeff"}, "Заполните это поле.", id="zero-width-name"),
    pytest.param({"login": ""}, "Заполните это поле.", id="empty-login"),
    pytest.param({"login": "12345"}, "Это не похоже на номер телефона", id="phone-12345"),
    pytest.param({"login": "+7 000"}, "Это не похоже на номер телефона", id="phone-+7-000"),
    pytest.param(
        {"login": "8 912 345-67"}, "Это не похоже на номер телефона", id="phone-too-short"
    ),
    pytest.param({"login": "anna@"}, "Это не похоже на адрес e-mail.", id="email-no-domain"),
    pytest.param({"login": "anna@mail"}, "Это не похоже на адрес e-mail.", id="email-no-tld"),
    pytest.param({"password": ""}, "Заполните это поле.", id="empty-password"),
    pytest.param({"password": "Кот7Лис"}, "нужно не меньше 8 символов", id="password-7-chars"),
    pytest.param({"password": "qwerty123"}, "слишком распространён", id="common-qwerty123"),
    pytest.param({"password": "password1"}, "слишком распространён", id="common-password1"),
    pytest.param({"password": "1q2w3e4r"}, "слишком распространён", id="common-1q2w3e4r"),
    pytest.param({"password": "QWERTY123"}, "слишком распространён", id="common-upper-case"),
    pytest.param({"consent": None}, "Без согласия зарегистрироваться нельзя.", id="no-consent"),
]


@pytest.mark.parametrize("overrides,message", BAD_INPUT)
def test_bad_input_is_refused_and_nothing_is_created(world, invite, client, overrides, message):
    open_link(client, invite)
    before = snapshot()

    response = register(client, **overrides)

    assert response.status_code == 422
    body = text(response)
    assert message in body
    assert 'class="field-error"' in body
    assert "Регистрация сотрудника" in body  # the form again, not an error page
    assert snapshot() == before
    assert invite.uses == 0 and invite.last_used_at is None
    assert session_token(client) == invite.token  # the link still works for a second try
    # what was typed in the other fields is kept
    if "name" not in overrides:
        assert 'value="Светлана Орлова"' in body


@pytest.mark.parametrize("taken", ["login_of_parent", "phone_of_educator"])
def test_a_taken_login_changes_nothing_and_the_invite_is_not_counted(world, invite, client, taken):
    """The form answers as for a new account (test_registration_privacy), and nothing of the
    owner's, nor the invite, changes."""
    login = {
        "login_of_parent": "KATYA@example.ru",  # world.parent's e-mail, typed differently
        "phone_of_educator": "8" + world.educator.phone[2:],
    }[taken]
    open_link(client, invite)
    before = snapshot()

    response = client.post("/join/staff", data=form_data(login=login))

    assert response.status_code == 303 and response.location == "/login?next=/join/staff"
    assert "это ваш номер" in text(client.get(response.location))
    assert snapshot() == before
    assert invite.uses == 0 and invite.last_used_at is None
    assert invite.state() == "live"
    assert session_token(client) == invite.token


def test_signing_in_as_suggested_after_a_taken_login_leads_to_accepting(world, invite, client):
    """The page says «если это ваш номер — войдите с прежним паролем»: it has to be true."""
    open_link(client, invite)
    response = client.post("/join/staff", data=form_data(login=world.parent.email))
    assert response.location == "/login?next=/join/staff"

    response = client.post(
        "/login", data={"login": world.parent.email, "password": f.PASSWORD, "next": "/join/staff"}
    )
    assert response.status_code == 303
    assert response.location == "/join/staff"

    page = client.get("/join/staff")
    # Signing in keeps the invite opened before: the person lands on «Принять приглашение».
    assert page.status_code == 200, page.status_code
    assert "Принять приглашение" in text(page)


# --- dead links ----------------------------------------------------------------------------------

DEAD = [
    pytest.param({"max_uses": 1, "uses": 1}, "Ссылка уже использована", id="used"),
    pytest.param({"max_uses": 3, "uses": 3}, "Ссылка уже использована", id="used-up-multi"),
    pytest.param({"days": -1}, "Срок действия ссылки истёк", id="expired"),
    pytest.param({"revoked": True}, "Ссылка отозвана", id="revoked"),
]


@pytest.mark.parametrize("fields,heading", DEAD)
def test_a_dead_link_says_why_and_whom_to_ask(world, client, fields, heading):
    invite = f.make_staff_invite(world.kindergarten, world.admin, **fields)
    uses = invite.uses
    open_link(client, invite)
    before = snapshot()

    page = client.get("/join/staff")
    assert page.status_code == 410
    assert_no_referer_off_site(page)
    body = text(page)
    assert heading in body
    assert "Попросите новую ссылку у администратора: Елена Кузнецова" in body
    assert "недействительна" not in body
    assert 'name="password"' not in body

    response = register(client)
    assert response.status_code == 410
    assert heading in text(response)
    assert snapshot() == before
    assert invite.uses == uses
    assert user_by_phone(NEW_PHONE) is None


def test_a_link_expires_with_time(world, client):
    invite = f.make_staff_invite(world.kindergarten, world.admin, days=7)
    open_link(client, invite)
    assert client.get("/join/staff").status_code == 200

    with time_machine.travel(utcnow() + timedelta(days=7, minutes=1), tick=False):
        page = client.get("/join/staff")
        assert page.status_code == 410
        assert "Срок действия ссылки истёк" in text(page)
        assert "Елена Кузнецова" in text(page)
        # the form was open before it expired: sending it now creates nothing
        response = register(client)
        assert response.status_code == 410
    assert user_by_phone(NEW_PHONE) is None
    assert invite.uses == 0


def test_a_link_revoked_while_the_form_is_open_creates_nothing(world, invite, client, admin_client):
    open_link(client, invite)
    assert client.get("/join/staff").status_code == 200

    revoked = admin_client.post(f"/admin/staff/invites/{invite.id}/revoke")
    assert revoked.status_code == 303
    response = register(client)

    assert response.status_code == 410
    assert "Ссылка отозвана" in text(response)
    assert user_by_phone(NEW_PHONE) is None
    assert invite.uses == 0


def test_an_unknown_token_reveals_nothing(world, invite, as_user):
    existing = as_user(None)
    open_link(existing, invite)
    existing_page = existing.get("/join/staff")

    pages = []
    for token in ["x" * 43, invite.token[:-1], invite.token + "A", "z" * 200, "%00%27--"]:
        client = as_user(None)
        open_link(client, token)
        page = client.get("/join/staff")
        assert page.status_code == 404
        assert_no_referer_off_site(page)
        body = text(page)
        assert "Ссылка недействительна" in body
        for hint in (
            "Елена Кузнецова",
            "истёк",
            "отозвана",
            "использована",
            "Учитель-логопед",
            'name="password"',
        ):
            assert hint not in body
        pages.append(normalised(body))
        assert register(client).status_code == 404
    assert len(set(pages)) == 1  # every unknown token gets the very same page

    # and a browser that never opened a link gets the same page too
    no_token = as_user(None).get("/join/staff")
    assert no_token.status_code == 404
    assert normalised(text(no_token)) == pages[0]
    assert as_user(None).post("/join/staff", data=form_data()).status_code == 404

    assert existing_page.status_code == 200  # the real invite was fine all along
    assert user_by_phone(NEW_PHONE) is None
    assert invite.uses == 0


# --- two browsers, one single-use link -----------------------------------------------------------


def test_a_single_use_link_cannot_be_used_twice(world, invite, as_user):
    first, second = as_user(None), as_user(None)
    open_link(first, invite)
    open_link(second, invite)
    assert first.get("/join/staff").status_code == 200
    assert second.get("/join/staff").status_code == 200

    assert register(first).status_code == 303
    before = snapshot()
    response = register(second, name="Вера Зайцева", login="vera@example.ru")

    assert response.status_code == 410
    body = text(response)
    assert "Ссылка уже использована" in body
    assert "Елена Кузнецова" in body
    assert snapshot() == before
    assert db.session.scalar(select(User).where(User.email == "vera@example.ru")) is None
    assert invite.uses == 1


# --- existing accounts ---------------------------------------------------------------------------


def test_a_signed_in_parent_accepts_and_stays_a_parent(world, invite, as_user):
    parent = world.parent
    children = set(
        db.session.scalars(select(ParentChild.child_id).where(ParentChild.user_id == parent.id))
    )
    assert children == {world.child.id}
    client = as_user(parent)
    open_link(client, invite)

    page = client.get("/join/staff")
    assert page.status_code == 200
    body = text(page)
    assert "Принять приглашение" in body
    assert "Екатерина Петрова" in body
    assert 'name="password"' not in body
    users = snapshot()["users"]

    response = client.post("/join/staff")

    assert response.status_code == 303
    assert response.location == "/"
    assert snapshot()["users"] == users
    assert parent.position == "logoped"
    assert parent.verified_at is None
    assert parent.is_admin is False
    assert parent.email == "katya@example.ru"
    assert (
        set(
            db.session.scalars(select(ParentChild.child_id).where(ParentChild.user_id == parent.id))
        )
        == children
    )
    assert system_chats_of(parent) == set()  # until an administrator verifies them
    assert invite.uses == 1 and invite.last_used_at is not None
    log = db.session.scalar(select(AuditLog).where(AuditLog.action == "staff.joined"))
    assert log.actor_id == parent.id and log.details["new_account"] is False
    assert session_token(client) is None

    home = text(client.get("/"))
    assert "Мои дети" in home and "Артём Петров" in home
    assert "Ждём подтверждения администратора" in home


@pytest.mark.parametrize("persona", ["educator", "admin", "director"])
def test_a_signed_in_staff_member_is_told_they_already_are(world, invite, as_user, persona):
    member = world.persona(persona)
    position, verified, is_admin = member.position, member.verified_at, member.is_admin
    client = as_user(member)
    open_link(client, invite)
    before = snapshot()

    for response in (client.get("/join/staff"), client.post("/join/staff")):
        assert response.status_code == 200
        assert "Вы уже сотрудник" in text(response)
        assert "Принять приглашение" not in text(response)

    assert snapshot() == before
    assert invite.uses == 0 and invite.last_used_at is None
    assert (member.position, member.verified_at, member.is_admin) == (position, verified, is_admin)


def test_a_dismissed_staff_member_can_be_invited_again(world, invite, as_user, director_client):
    educator = world.educator
    old_session = as_user(educator)
    response = director_client.post(f"/admin/staff/{educator.id}/dismiss")
    assert response.status_code == 303
    assert educator.dismissed_at is not None
    assert system_chats_of(educator) == set()
    assert old_session.get("/").status_code == 302  # the old session has ended

    client = as_user(educator)
    open_link(client, invite)
    page = client.get("/join/staff")
    assert page.status_code == 200
    assert "Принять приглашение" in text(page)

    assert client.post("/join/staff").status_code == 303

    assert educator.dismissed_at is None
    assert educator.verified_at is None
    assert educator.position == "logoped"
    assert system_chats_of(educator) == set()  # back in them when verified again
    assert invite.uses == 1
    staff_page = text(director_client.get("/admin/staff"))
    row = staff_row(staff_page, educator)
    assert "Подтвердить" in row and 'class="badge"' not in row
    assert director_client.post(f"/admin/staff/{educator.id}/verify").status_code == 303
    assert system_chats_of(educator) == SYSTEM


# --- who may make an administrator ---------------------------------------------------------------


def test_the_director_makes_an_admin_granting_invite(world, director_client, client):
    page = director_client.get("/admin/staff/invites")
    assert "Сотрудник и администратор" in text(page)

    response = director_client.post(
        "/admin/staff/invites",
        data={"position": "zamestitel", "role": "admin", "expires": "7", "max_uses": "1"},
    )

    assert response.status_code == 303
    invite = db.session.scalar(select(StaffInvite).order_by(StaffInvite.id.desc()))
    assert invite.grants_admin is True
    assert invite.created_by_id == world.director.id
    assert response.location == f"/admin/staff/invites/{invite.id}"
    shown = text(director_client.get(response.location))
    assert "Роль: сотрудник и администратор" in shown
    url = f"https://sad7.example/staff-invite/{invite.token}"
    assert url in shown

    open_link(client, invite)
    assert register(client).status_code == 303
    newcomer = user_by_phone(NEW_PHONE)
    assert newcomer.is_admin is True
    assert newcomer.position == "zamestitel"
    # administrator's rights wait for the verification, like everything else
    assert client.get("/admin/").status_code == 403
    assert director_client.post(f"/admin/staff/{newcomer.id}/verify").status_code == 303
    assert client.get("/admin/").status_code == 200


def test_an_admin_cannot_make_an_admin_granting_invite(world, admin_client):
    page = admin_client.get("/admin/staff/invites")
    assert page.status_code == 200
    assert "Сотрудник и администратор" not in text(page)
    count = db.session.scalar(select(func.count(StaffInvite.id)))

    response = admin_client.post(
        "/admin/staff/invites",
        data={"position": "zamestitel", "role": "admin", "expires": "7", "max_uses": "1"},
    )

    assert response.status_code in (403, 422)
    assert db.session.scalar(select(func.count(StaffInvite.id))) == count
    assert (
        db.session.scalar(select(func.count(StaffInvite.id)).where(StaffInvite.grants_admin)) == 0
    )

    # an ordinary staff invite is still theirs to make
    response = admin_client.post(
        "/admin/staff/invites",
        data={"position": "vospitatel", "role": "educator", "expires": "7", "max_uses": "1"},
    )
    assert response.status_code == 303
    made = db.session.scalar(select(StaffInvite).order_by(StaffInvite.id.desc()))
    assert made.grants_admin is False and made.created_by_id == world.admin.id


def test_a_newcomer_admin_cannot_verify_themselves(world, client):
    invite = f.make_staff_invite(
        world.kindergarten, world.director, grants_admin=True, position="zamestitel"
    )
    open_link(client, invite)
    assert register(client).status_code == 303
    newcomer = user_by_phone(NEW_PHONE)
    assert newcomer.is_admin and newcomer.verified_at is None

    response = client.post(f"/admin/staff/{newcomer.id}/verify")

    # Nobody verifies themselves: the badge needs another administrator.
    assert response.status_code == 403
    assert newcomer.verified_at is None


# --- the verified badge --------------------------------------------------------------------------


def test_the_badge_appears_only_after_verification(world, invite, client, as_user, admin_client):
    invite.position = "vospitatel"
    db.session.commit()
    open_link(client, invite)
    assert register(client, name="Светлана Орлова").status_code == 303
    newcomer = user_by_phone(NEW_PHONE)
    attached = admin_client.post(
        f"/admin/groups/{world.group.id}/educators", data={"educator_id": newcomer.id}
    )
    assert attached.status_code == 303
    assert db.session.get(GroupEducator, (world.group.id, newcomer.id)) is not None
    parent = as_user(world.parent)
    name = "Светлана Орлова"

    def pages():
        return {
            "staff list": text(admin_client.get("/admin/staff")),
            "group page": text(admin_client.get(f"/admin/groups/{world.group.id}")),
            "parent's home": text(parent.get("/")),
        }

    staff_list = text(admin_client.get("/admin/staff"))
    assert 'class="badge"' not in staff_row(staff_list, newcomer)
    assert "Подтвердить" in staff_row(staff_list, newcomer)
    for where, html in pages().items():
        assert not has_badge(html, name), where
    # a verified colleague on the same pages does have it: the check can tell them apart
    assert has_badge(pages()["group page"], "Анна Павлова")

    response = admin_client.post(f"/admin/staff/{newcomer.id}/verify")
    assert response.status_code == 303
    assert newcomer.verified_at is not None
    assert newcomer.verified_by_id == world.admin.id

    staff_list = text(admin_client.get("/admin/staff"))
    row = staff_row(staff_list, newcomer)
    assert 'class="badge"' in row
    assert "ждёт подтверждения" not in row and "Подтвердить" not in row
    for where, html in pages().items():
        assert has_badge(html, name), where
    # verifying twice is refused
    assert admin_client.post(f"/admin/staff/{newcomer.id}/verify").status_code == 409
