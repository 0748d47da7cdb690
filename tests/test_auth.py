"""Signing in and out, lock-out after failed attempts, sessions that end on the server, profile."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from sferum_lite.extensions import db
from sferum_lite.models import FailedLogin, User, UserSession, utcnow

from . import factories as f
from .conftest import sign_in

PHONE = "+79123456789"


@pytest.fixture
def olga(world):
    return f.make_staff(world.kindergarten, "Ольга Смирнова", phone=PHONE)


def login(client, login, password=f.PASSWORD, **extra):
    return client.post("/login", data={"login": login, "password": password, **extra})


def sessions_of(user) -> int:
    return db.session.scalar(
        select(func.count()).select_from(UserSession).where(UserSession.user_id == user.id)
    )


@pytest.mark.parametrize(
    "typed",
    [
        "8 912 345-67-89",
        "+7 (912) 345 67 89",
        "89123456789",
        "+79123456789",
        "8(912)3456789",
        "7 912 345 67 89",
    ],
)
def test_sign_in_with_a_phone_in_any_common_form(client, olga, typed):
    response = login(client, typed)
    assert response.status_code == 303
    assert client.get("/").status_code == 200


def test_sign_in_with_an_email_in_any_case(client, world):
    assert login(client, "  KATYA@Example.RU ").status_code == 303
    assert "Екатерина Петрова" in client.get("/").get_data(as_text=True)


def test_unknown_login_and_wrong_password_get_the_same_answer(client, olga):
    wrong_password = login(client, PHONE, "не тот пароль")
    unknown = login(client, "+7 999 000-00-00")
    assert wrong_password.status_code == unknown.status_code == 422
    message = "Неверный логин или пароль."
    assert message in wrong_password.get_data(as_text=True)
    assert message in unknown.get_data(as_text=True)


def test_five_failures_lock_the_account_for_fifteen_minutes(app, olga):
    client = app.test_client()
    with time_machine.travel(utcnow(), tick=False) as traveller:
        for attempt in range(4):
            assert login(client, PHONE, f"неверно {attempt}").status_code == 422
        fifth = login(client, PHONE, "неверно 5")
        assert fifth.status_code == 429
        assert "Попробуйте через 15 минут." in fifth.get_data(as_text=True)

        # even the right password waits, typed in another form of the same number
        locked = login(client, "8 912 345-67-89")
        assert locked.status_code == 429
        traveller.shift(timedelta(minutes=14))
        almost = login(client, PHONE)
        assert almost.status_code == 429
        assert "Попробуйте через 1 минуту." in almost.get_data(as_text=True)

        # another account is not affected
        other = app.test_client()
        assert login(other, "katya@example.ru").status_code == 303

        traveller.shift(timedelta(minutes=1, seconds=1))
        assert login(client, PHONE).status_code == 303
    assert db.session.scalar(select(func.count()).select_from(FailedLogin)) == 0


def test_unknown_logins_lock_the_same_way(client, world):
    for attempt in range(5):
        response = login(client, "nobody@example.ru", f"неверно {attempt}")
    assert response.status_code == 429
    assert "неудачных попыток" in response.get_data(as_text=True)
    # the table holds a hash of the login, never the login itself
    stored = db.session.scalar(select(FailedLogin.login_hash))
    assert "nobody" not in stored and len(stored) == 64


def test_a_login_that_is_neither_phone_nor_email(client, world):
    response = login(client, "просто текст")
    assert response.status_code == 422
    assert "Неверный логин или пароль." in response.get_data(as_text=True)


def test_logout_is_a_post_and_ends_the_session_on_the_server(app, olga):
    client = sign_in(app.test_client(), olga)
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    assert client.get("/logout").status_code == 405
    assert sessions_of(olga) == 1

    response = client.post("/logout")
    assert response.status_code == 303
    assert sessions_of(olga) == 0

    # the old cookie, replayed by someone who copied it, opens nothing
    thief = app.test_client()
    thief.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
    response = thief.get("/")
    assert response.status_code == 302 and "/login" in response.location


def test_password_change_ends_other_sessions_but_not_this_one(app, olga):
    phone = sign_in(app.test_client(), olga)
    laptop = sign_in(app.test_client(), olga)
    assert sessions_of(olga) == 2

    response = laptop.post(
        "/profile/password", data={"current_password": f.PASSWORD, "password": "новая весна 2027"}
    )
    assert response.status_code == 303
    assert laptop.get("/").status_code == 200
    assert phone.get("/").status_code == 302
    assert sessions_of(olga) == 1
    assert login(app.test_client(), PHONE, f.PASSWORD).status_code == 422
    assert login(app.test_client(), PHONE, "новая весна 2027").status_code == 303


@pytest.mark.parametrize(
    "current,new,message",
    [
        ("не тот", "новая весна 2027", "Текущий пароль введён неверно."),
        (f.PASSWORD, "1234567", "Пароль слишком короткий"),
        (f.PASSWORD, "1q2w3e4r", "слишком распространён"),
        (f.PASSWORD, "", "Заполните это поле."),
    ],
)
def test_bad_password_change_keeps_the_old_password(app, olga, current, new, message):
    client = sign_in(app.test_client(), olga)
    before = olga.password_hash
    response = client.post("/profile/password", data={"current_password": current, "password": new})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.get(User, olga.id).password_hash == before


def test_end_other_sessions(app, olga):
    phone = sign_in(app.test_client(), olga)
    laptop = sign_in(app.test_client(), olga)
    assert laptop.post("/profile/sessions/end").status_code == 303
    assert phone.get("/").status_code == 302
    assert laptop.get("/").status_code == 200


@pytest.mark.parametrize(
    "name,status,message",
    [
        ("Ольга Петровна Смирнова", 303, None),
        ("", 422, "Заполните это поле."),
        ("О" * 300, 422, "Не длиннее 100 символов."),
        ("\u200b\u200b", 422, "Заполните это поле."),
        ("=cmd|' /C calc'!A0", 422, "Имя должно начинаться с буквы."),
    ],
)
def test_profile_name(app, olga, name, status, message):
    client = sign_in(app.test_client(), olga)
    response = client.post("/profile", data={"name": name})
    assert response.status_code == status
    db.session.refresh(olga)
    if message:
        assert message in response.get_data(as_text=True)
        assert olga.name == "Ольга Смирнова"
    else:
        assert olga.name == name


def test_the_interface_language_is_kept_per_person(app, olga):
    client = sign_in(app.test_client(), olga)
    response = client.post("/language", data={"locale": "en", "next": "/profile"})
    assert response.status_code == 303 and response.location == "/profile"
    assert "Password" in client.get("/profile").get_data(as_text=True)
    assert db.session.get(User, olga.id).locale == "en"
    # a new sign-in on another device speaks English too
    other = sign_in(app.test_client(), olga)
    assert "Password" in other.get("/profile").get_data(as_text=True)
    # an unknown language is ignored
    client.post("/language", data={"locale": "de"})
    assert db.session.get(User, olga.id).locale == "en"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https:evil.example",
        "javascript:alert(1)",
        "http://evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "/\r\nLocation: http://evil.example",
        " //evil.example",
        "",
    ],
)
def test_next_only_leads_to_local_paths(client, olga, target):
    response = login(client, PHONE, next=target)
    assert response.status_code == 303
    assert response.location == "/"


def test_next_to_a_local_path_is_followed(client, olga):
    assert client.get("/profile").location == "/login?next=/profile"
    response = login(client, PHONE, next="/profile")
    assert response.location == "/profile"


def test_dismissed_staff_members_old_cookie_opens_nothing(app, world):
    educator = sign_in(app.test_client(), world.educator)
    director = sign_in(app.test_client(), world.director)
    assert director.post(f"/admin/staff/{world.educator.id}/dismiss").status_code == 303
    response = educator.get("/")
    assert response.status_code == 302 and "/login" in response.location


def test_many_sign_in_attempts_from_one_address_are_slowed_down(make_app, world):
    """Besides the per-account lock-out, one address may try at most 30 sign-ins a minute."""
    app = make_app(RATELIMIT_ENABLED=True)
    client = app.test_client()
    for attempt in range(30):
        login(client, f"someone{attempt}@example.ru", "неверно")
    response = login(client, "someone-else@example.ru", "неверно")
    assert response.status_code == 429
    assert "Слишком много попыток" in response.get_data(as_text=True)
