"""The first run in a real browser: set-up, sign out, sign in, the first group."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PASSWORD = "тёплый снег 2026"


def test_setup_sign_in_and_create_group(page, problems, tmp_path):
    # An empty database: every address leads to the set-up page, in Russian.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/setup$"))
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_role("heading", level=1)).to_have_text("Добро пожаловать!")

    page.get_by_label("Название детского сада").fill("Детский сад № 12 «Теремок»")
    # time zone and hours keep their defaults
    expect(page.get_by_label("Часовой пояс")).to_have_value("Europe/Moscow")
    expect(page.get_by_label("Начало рабочего дня")).to_have_value("07:00")
    expect(page.get_by_label("Конец рабочего дня")).to_have_value("19:00")
    page.get_by_label("Ваше имя и фамилия").fill("Ольга Смирнова")
    page.get_by_label("Телефон или e-mail").fill("8 912 345-67-89")
    page.get_by_label("Пароль", exact=True).fill(PASSWORD)
    page.get_by_label("Я даю согласие на обработку персональных данных").check()
    page.get_by_role("button", name="Создать детский сад").click()

    # The director is signed in and lands on the admin overview.
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Управление")
    expect(page.get_by_role("status")).to_contain_text("Детский сад создан")
    expect(page.locator("header")).to_contain_text("Детский сад № 12 «Теремок»")
    expect(page.locator("header")).to_contain_text("Ольга Смирнова")

    # Sign out from the profile page; the login is shown as a normalised phone number.
    page.get_by_role("navigation", name="Основная навигация").get_by_role(
        "link", name="Профиль"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Профиль")
    expect(page.locator("main article")).to_contain_text("+7 912 345-67-89")
    page.get_by_role("button", name="Выйти", exact=True).click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("status")).to_have_text("Вы вышли из системы.")
    expect(page.get_by_role("navigation", name="Основная навигация")).to_have_count(0)

    # Sign in again, the phone typed another way.
    page.get_by_label("Телефон или e-mail").fill("+7 (912) 345 67 89")
    page.get_by_label("Пароль", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Войти", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Здравствуйте, Ольга!")

    # Управление → Группы → a new group.
    page.get_by_role("navigation", name="Основная навигация").get_by_role(
        "link", name="Управление"
    ).click()
    page.get_by_role("navigation", name="Разделы управления").get_by_role(
        "link", name="Группы"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Группы")
    page.get_by_label("Новая группа").fill("Солнышко")
    page.get_by_role("button", name="Создать", exact=True).click()

    expect(page).to_have_url(re.compile(r"/admin/groups/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Группа «Солнышко»")
    expect(page.get_by_role("status")).to_have_text("Группа «Солнышко» создана.")
    expect(page.locator("#educators")).to_contain_text("К группе пока никто не прикреплён.")

    # The page really rendered for a phone: styles applied (the tab bar sits at the bottom of
    # the screen), nothing wider than the screen, and a screenshot to look at.
    tabbar = page.get_by_role("navigation", name="Основная навигация").bounding_box()
    assert tabbar is not None and tabbar["y"] + tabbar["height"] == pytest.approx(844, abs=1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot = tmp_path / "group.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    problems.assert_none()
