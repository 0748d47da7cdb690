"""Russian first, English second; correct Russian plurals; times in the kindergarten's zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask_babel import force_locale, ngettext

from sferum_lite.extensions import db

from . import factories as f


@pytest.mark.parametrize(
    "n,word",
    [
        (1, "ребёнок"),
        (2, "ребёнка"),
        (4, "ребёнка"),
        (5, "детей"),
        (11, "детей"),
        (12, "детей"),
        (21, "ребёнок"),
        (22, "ребёнка"),
        (25, "детей"),
        (101, "ребёнок"),
        (111, "детей"),
    ],
)
def test_russian_plural_forms(app, n, word):
    with app.test_request_context(), force_locale("ru"):
        assert ngettext("%(num)s ребёнок", "%(num)s детей", n) == f"{n} {word}"


@pytest.mark.parametrize("n,text", [(1, "1 child"), (2, "2 children"), (5, "5 children")])
def test_english_plural_forms(app, n, text):
    with app.test_request_context(), force_locale("en"):
        assert ngettext("%(num)s ребёнок", "%(num)s детей", n) == text


def test_plurals_on_a_real_page(world, as_user):
    for i in range(20):  # 21 children in «Солнышко»
        f.make_child(world.group, "Иванов", f"Ребёнок{chr(ord('а') + i)}")
    f.make_child(world.other_group, "Сидорова", "Мария")  # 2 in «Капелька»
    html = as_user(world.admin).get("/admin/groups").get_data(as_text=True)
    assert "21 ребёнок" in html
    assert "2 ребёнка" in html
    assert "3 группы" not in html and "2 группы" not in html


def test_visitors_get_russian_by_default_and_english_when_their_browser_asks(client, world):
    assert "Вход" in client.get("/login").get_data(as_text=True)
    assert 'lang="ru"' in client.get("/login").get_data(as_text=True)
    html = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(
        as_text=True
    )
    assert "Sign in" in html and 'lang="en"' in html
    html = client.get("/login", headers={"Accept-Language": "de-DE,de;q=0.9"}).get_data(
        as_text=True
    )
    assert "Вход" in html  # neither language asked for: Russian


def test_a_visitor_switches_the_language(client, world):
    response = client.post("/language", data={"locale": "en", "next": "/login"})
    assert response.status_code == 303
    assert "Sign in" in client.get("/login").get_data(as_text=True)
    client.post("/language", data={"locale": "ru", "next": "/login"})
    assert "Вход" in client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_a_visitors_choice_survives_signing_in(client, world):
    client.post("/language", data={"locale": "en", "next": "/login"})
    client.post("/login", data={"login": world.parent.login, "password": f.PASSWORD})
    assert "My children" in client.get("/").get_data(as_text=True)


def test_times_are_shown_in_the_kindergartens_zone(world, as_user):
    world.kindergarten.timezone = "Asia/Vladivostok"  # UTC+10
    invite = f.make_staff_invite(world.kindergarten, world.admin)
    invite.expires_at = datetime(2026, 12, 1, 20, 30, tzinfo=UTC)
    db.session.commit()
    html = as_user(world.admin).get(f"/admin/staff/invites/{invite.id}").get_data(as_text=True)
    assert re.search(r"2 декабря 2026.{0,3}06:30", html)  # 20:30 UTC is 06:30 next day there
