"""The setup page: the first visit on an empty database creates the kindergarten and director."""

from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy import func, select

from sferum_lite.extensions import db
from sferum_lite.models import AuditLog, Chat, ChatMember, Consent, Kindergarten, User

GOOD = {
    "kindergarten_name": "Детский сад № 5 «Ромашка»",
    "timezone": "Asia/Yekaterinburg",
    "work_start": "07:30",
    "work_end": "18:30",
    "work_days": ["1", "2", "3", "4", "5", "6"],
    "director_name": "Ольга Николаевна Смирнова",
    "login": "8 912 345-67-89",
    "password": "тёплый снег 2026",
    "consent": "y",
}


def setup_data(**changes):
    data = dict(GOOD)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("path", ["/", "/login", "/admin/", "/profile"])
def test_every_page_leads_to_setup_on_an_empty_database(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.location.endswith("/setup")


def test_setup_page_offers_russian_defaults(client):
    html = client.get("/setup").get_data(as_text=True)
    assert "Добро пожаловать" in html
    assert '<option selected value="Europe/Moscow">' in html
    assert 'value="07:00"' in html and 'value="19:00"' in html
    for day in "12345":
        assert (
            f'checked id="work_days-{int(day) - 1}" name="work_days" type="checkbox" value="{day}"'
            in html
        )
    assert 'id="work_days-5" name="work_days" type="checkbox" value="6"' in html  # Saturday off


def test_setup_creates_kindergarten_director_and_system_chats(client, db_ctx):
    response = client.post("/setup", data=GOOD)
    assert response.status_code == 303
    assert response.location.endswith("/admin/")

    kindergarten = db.session.scalar(select(Kindergarten))
    assert kindergarten.name == "Детский сад № 5 «Ромашка»"
    assert kindergarten.timezone == "Asia/Yekaterinburg"
    assert (kindergarten.work_start, kindergarten.work_end) == (time(7, 30), time(18, 30))
    assert kindergarten.work_days == "123456"

    director = db.session.scalar(select(User))
    assert director.is_director and director.phone == "+79123456789"
    assert director.name == "Ольга Николаевна Смирнова"
    assert director.password_hash.startswith("$argon2id$")
    assert "тёплый" not in director.password_hash
    assert count(Consent) == 1

    chats = {chat.system: chat for chat in db.session.scalars(select(Chat))}
    assert chats["staff_group"].title == "Педагоги" and chats["staff_group"].kind == "group"
    assert chats["news"].title == "Новости детского сада" and chats["news"].kind == "channel"
    assert chats["staff"].title == "Сотрудники" and chats["staff"].kind == "channel"
    members = db.session.scalars(select(ChatMember).where(ChatMember.user_id == director.id))
    assert {m.chat_id for m in members} == {chat.id for chat in chats.values()}
    assert db.session.scalar(select(AuditLog.action)) == "kindergarten.setup"

    # signed in as the director straight away
    assert client.get("/admin/").status_code == 200


def test_setup_is_gone_afterwards_and_a_second_submit_changes_nothing(client, db_ctx):
    assert client.post("/setup", data=GOOD).status_code == 303
    assert client.get("/setup").status_code == 404

    other = client.application.test_client()
    response = other.post(
        "/setup", data=setup_data(kindergarten_name="Другой сад", login="+7 999 111-22-33")
    )
    assert response.status_code == 409
    assert "уже настроен" in response.get_data(as_text=True)
    assert count(Kindergarten) == 1 and count(User) == 1
    assert db.session.scalar(select(Kindergarten.name)) == "Детский сад № 5 «Ромашка»"


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"kindergarten_name": ""}, "Заполните это поле."),
        ({"kindergarten_name": "С" * 300}, "Не длиннее 200 символов."),
        ({"kindergarten_name": "\u200b\u200d\ufeff"}, "Заполните это поле."),
        ({"kindergarten_name": "=HYPERLINK(1)"}, "Не начинайте с символов"),
        ({"director_name": ""}, "Заполните это поле."),
        ({"director_name": "О" * 300}, "Не длиннее 100 символов."),
        ({"director_name": "\u200b \u200b"}, "Заполните это поле."),
        ({"login": "12345"}, "Это не похоже на номер телефона"),
        ({"login": "+7 000 000"}, "Это не похоже на номер телефона"),
        ({"login": "olga@"}, "Это не похоже на адрес e-mail"),
        ({"password": "1234567"}, "Пароль слишком короткий"),
        ({"password": "qwerty123"}, "слишком распространён"),
        ({"password": "Password1"}, "слишком распространён"),
        ({"password": "89123456789x"}, "не должен совпадать с телефоном"),
        ({"password": "п" * 129}, "Пароль слишком длинный"),
        ({"work_end": "06:00"}, "Конец рабочего дня должен быть позже начала."),
        ({"work_days": None}, "Отметьте хотя бы один рабочий день."),
        ({"timezone": "Europe/London"}, "Выберите вариант из списка."),
        ({"work_days": ["8"]}, "Выберите вариант из списка."),
        ({"consent": None}, "Без согласия зарегистрироваться нельзя."),
    ],
)
def test_bad_setup_input_is_refused_and_nothing_is_created(client, db_ctx, changes, message):
    response = client.post("/setup", data=setup_data(**changes))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    assert count(Kindergarten) == 0 and count(User) == 0
    # what the person typed is still in the form
    if "director_name" not in changes:
        assert "Ольга Николаевна Смирнова" in html


def test_a_100_character_password_is_accepted_as_is(client, db_ctx):
    password = "длинная фраза " * 7 + "и ещё"
    password = password[:100]
    assert len(password) == 100
    assert client.post("/setup", data=setup_data(password=password)).status_code == 303
    fresh = client.application.test_client()
    response = fresh.post("/login", data={"login": "89123456789", "password": password})
    assert response.status_code == 303
    response = fresh.post("/login", data={"login": "89123456789", "password": password[:99]})
    assert response.status_code in (302, 303)  # already signed in: a redirect either way
    other = client.application.test_client()
    response = other.post("/login", data={"login": "89123456789", "password": password[:99]})
    assert response.status_code == 422


def test_setup_with_an_email_login(client, db_ctx):
    response = client.post("/setup", data=setup_data(login="  Olga.Smirnova@Example.RU "))
    assert response.status_code == 303
    assert db.session.scalar(select(User.email)) == "olga.smirnova@example.ru"
