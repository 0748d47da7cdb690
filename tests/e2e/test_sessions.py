"""Sessions that end while a page is open: what a click on an htmx button does then."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from sferum_lite.extensions import db

from .. import factories as f
from .conftest import answer_to_post, sign_in
from .test_htmx import assert_one_page, attached_ids

pytestmark = pytest.mark.browser


def open_group_then_end_session_elsewhere(page, other_phone, world):
    """The admin has the group page open on this phone, then presses «Выйти на других
    устройствах» on another one."""
    group_id, login = world.group.id, world.admin.login
    db.session.commit()
    sign_in(page, login, then=f"/admin/groups/{group_id}")
    sign_in(other_phone, login, then="/profile")
    other_phone.get_by_role("button", name="Выйти на других устройствах").click()
    expect(other_phone.get_by_role("status")).to_have_text("Вы вышли на всех других устройствах.")
    return group_id


def test_ended_session_htmx_click_leads_to_sign_in(page, other_phone, problems, world):
    group_id = open_group_then_end_session_elsewhere(page, other_phone, world)
    anna_id = world.educator.id
    page.get_by_role("button", name="Открепить Анна Павлова").click()
    expect(page).to_have_url(re.compile(r"/login\?next="))
    expect(page.get_by_role("heading", level=1)).to_have_text("Вход")
    assert attached_ids(group_id) == {anna_id}  # nothing changed
    problems.assert_none()


def test_ended_session_htmx_click_returns_to_the_page_after_sign_in(
    page, other_phone, problems, world
):
    group_id = open_group_then_end_session_elsewhere(page, other_phone, world)
    page.get_by_role("button", name="Открепить Анна Павлова").click()
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("Телефон или e-mail").fill(world.admin.login)
    page.get_by_label("Пароль", exact=True).fill(f.PASSWORD)
    page.get_by_role("button", name="Войти", exact=True).click()
    page.wait_for_url(lambda url: "/login" not in url)  # the next page has loaded
    assert page.locator("h1").inner_text() == "Группа «Солнышко»"
    assert urlsplit(page.url).path == f"/admin/groups/{group_id}"
    problems.assert_none()


def test_stale_csrf_token_in_htmx_shows_the_error_page_whole(page, problems, world):
    """Signed out and in again in another tab: the old tab's CSRF token is stale. The click
    must show the friendly «Страница устарела» page — as the page, not inside the section."""
    group_id, anna_id = world.group.id, world.educator.id
    login = world.admin.login
    db.session.commit()
    sign_in(page, login, then=f"/admin/groups/{group_id}")

    second = page.context.new_page()  # another tab, same cookies
    second.goto("/profile")
    second.get_by_role("button", name="Выйти", exact=True).click()
    sign_in(second, login)
    second.close()

    with page.expect_response(
        answer_to_post(f"/admin/groups/{group_id}/educators/{anna_id}/remove")
    ) as answer:
        page.get_by_role("button", name="Открепить Анна Павлова").click()
    assert answer.value.status == 400
    assert attached_ids(group_id) == {anna_id}
    expect(page.get_by_text("Страница устарела")).to_be_visible()  # the answer is on screen
    assert page.locator("h1").all_inner_texts() == ["Неверный запрос"]
    assert page.locator("nav.tabbar").count() == 1
    assert_one_page(page)
    problems.assert_none()
