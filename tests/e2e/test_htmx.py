"""Every hx-* in the admin area, proved in a real browser: the part swaps, the page stays
(`window.__marker` survives), the request is an htmx one carrying the CSRF token in its
header, and the change is in the database after a reload."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from sferum_lite.database import writing
from sferum_lite.extensions import db
from sferum_lite.models import GroupEducator, User

from .. import factories as f
from .conftest import answer_to_post, marker_survived, set_marker, sign_in

pytestmark = pytest.mark.browser


def assert_htmx_with_csrf(response, status=200):
    headers = response.request.all_headers()
    assert headers.get("hx-request") == "true", headers
    assert headers.get("x-csrftoken"), f"htmx sent no X-CSRFToken header: {headers}"
    assert response.status == status, response.text()[:500]


def assert_one_page(page):
    """A fragment was swapped, not a whole page nested in the old one."""
    expect(page.locator("h1")).to_have_count(1)
    expect(page.locator("header.topbar")).to_have_count(1)
    expect(page.locator("nav.tabbar")).to_have_count(1)


def attached_ids(group_id):
    db.session.rollback()  # a fresh look: the browser's requests wrote in other sessions
    return set(
        db.session.scalars(select(GroupEducator.user_id).where(GroupEducator.group_id == group_id))
    )


def test_attach_and_detach_educator_without_reload(page, problems, world):
    group_id = world.group.id
    anna, marina = world.educator, world.other_educator  # Анна is in «Солнышко», Марина is not
    anna_id, marina_id = anna.id, marina.id
    db.session.commit()
    sign_in(page, world.admin.login, then=f"/admin/groups/{group_id}")
    section = page.locator("#educators")
    rows = section.locator("ul.rows > li")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Анна Павлова")
    set_marker(page)

    # Прикрепить: Марина joins the list, the form disappears (nobody else to attach).
    page.get_by_label("Прикрепить педагога").select_option(str(marina_id))
    with page.expect_response(answer_to_post(f"/admin/groups/{group_id}/educators")) as answer:
        page.get_by_role("button", name="Прикрепить", exact=True).click()
    assert_htmx_with_csrf(answer.value)
    expect(rows).to_have_count(2)
    expect(section).to_contain_text("Марина Волкова")
    expect(section).to_contain_text("Все педагоги уже прикреплены")
    expect(page.get_by_label("Прикрепить педагога")).to_have_count(0)
    assert marker_survived(page), "the page was reloaded instead of swapping the section"
    assert_one_page(page)
    assert attached_ids(group_id) == {anna_id, marina_id}

    # Открепить Анну: her row goes, and she is offered in the attach form again.
    with page.expect_response(
        answer_to_post(f"/admin/groups/{group_id}/educators/{anna_id}/remove")
    ) as answer:
        page.get_by_role("button", name="Открепить Анна Павлова").click()
    assert_htmx_with_csrf(answer.value)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Марина Волкова")
    expect(section).not_to_contain_text("Все педагоги уже прикреплены")
    expect(page.get_by_label("Прикрепить педагога").locator("option")).to_contain_text(
        ["Анна Павлова"]
    )
    assert marker_survived(page)
    assert_one_page(page)

    # Persisted: a real reload shows the same.
    page.reload()
    assert not marker_survived(page)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Марина Волкова")
    assert attached_ids(group_id) == {marina_id}
    problems.assert_none()


def test_htmx_request_passes_csrf_with_the_body_header_alone(page, problems, world):
    """The hidden csrf_token fields removed: only hx-headers:inherited on <body> carries the
    token, and the server accepts it. With the header removed too, the server refuses."""
    group_id, anna_id, marina_id = world.group.id, world.educator.id, world.other_educator.id
    db.session.commit()
    sign_in(page, world.admin.login, then=f"/admin/groups/{group_id}")
    page.evaluate("document.querySelectorAll('input[name=csrf_token]').forEach(i => i.remove())")
    set_marker(page)

    page.get_by_label("Прикрепить педагога").select_option(str(marina_id))
    with page.expect_response(answer_to_post(f"/admin/groups/{group_id}/educators")) as answer:
        page.get_by_role("button", name="Прикрепить", exact=True).click()
    assert_htmx_with_csrf(answer.value)
    expect(page.locator("#educators")).to_contain_text("Марина Волкова")
    assert attached_ids(group_id) == {anna_id, marina_id}

    # The control: no token anywhere -> 400, nothing changed.
    page.evaluate("document.querySelectorAll('input[name=csrf_token]').forEach(i => i.remove())")
    page.evaluate("document.body.removeAttribute('hx-headers:inherited')")
    with page.expect_response(
        answer_to_post(f"/admin/groups/{group_id}/educators/{anna_id}/remove")
    ) as answer:
        page.get_by_role("button", name="Открепить Анна Павлова").click()
    assert answer.value.status == 400
    assert "x-csrftoken" not in answer.value.request.all_headers()
    assert attached_ids(group_id) == {anna_id, marina_id}
    assert marker_survived(page)
    problems.assert_none()


def test_children_live_search(page, problems, world):
    f.make_child(world.group, "Петрова", "Мария")
    f.make_child(world.other_group, "Иванов", "Илья")
    f.make_child(world.group, "Смирнова", "Алиса")
    db.session.commit()
    sign_in(page, world.admin.login, then="/admin/children")
    items = page.locator("#children-list ul.rows > li")
    expect(items).to_have_count(5)
    expect(page.locator("#children-list .rows-head")).to_have_text("5 детей")
    set_marker(page)

    with page.expect_response(lambda r: "/admin/children?" in r.url) as answer:
        page.get_by_role("searchbox", name="Поиск по фамилии или имени").press_sequentially(
            "етро", delay=20
        )
    headers = answer.value.request.all_headers()
    assert headers.get("hx-request") == "true"
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text("Петров Артём")
    expect(items.nth(1)).to_contain_text("Петрова Мария")
    expect(page.locator("#children-list .rows-head")).to_have_text("2 ребёнка")
    assert marker_survived(page), "the list was reloaded instead of swapped"
    assert_one_page(page)
    expect(page).to_have_url(re.compile(r"/admin/children\?"))
    query = parse_qs(urlsplit(page.url).query)
    assert query["q"] == ["етро"]

    # Nobody: a friendly line.
    search = page.get_by_role("searchbox", name="Поиск по фамилии или имени")
    search.fill("Щукин")
    expect(items).to_have_count(1)
    expect(items.first).to_have_text("Никого не нашлось.")
    assert marker_survived(page)

    # The pushed URL is a real page: opened anew it shows the same list.
    page.goto("/admin/children?q=" + "етро")
    expect(items).to_have_count(2)
    expect(search).to_have_value("етро")

    # Back, back, back: the last two steps are htmx's own history restore (the entries were
    # pushed by htmx in one document) — the unfiltered list and an empty search box again.
    page.go_back()
    expect(page).to_have_url(re.compile(r"q=%D0%A9|q=Щукин"))
    expect(items.first).to_have_text("Никого не нашлось.")
    page.go_back()
    expect(items).to_have_count(2)
    page.go_back()
    expect(page).to_have_url(re.compile(r"/admin/children$"))
    expect(items).to_have_count(5)
    expect(search).to_have_value("")
    assert_one_page(page)
    problems.assert_none()


def test_staff_verify_swaps_the_row(page, problems, world):
    newcomer = f.make_staff(world.kindergarten, "Дарья Лебедева", verified=False)
    newcomer_id = newcomer.id
    db.session.commit()
    sign_in(page, world.admin.login, then="/admin/staff")
    row = page.locator(f"#staff-{newcomer_id}")
    button = row.get_by_role("button", name="Подтвердить: Дарья Лебедева")
    expect(button).to_be_visible()
    expect(row.locator(".badge")).to_have_count(0)
    verified_badges = page.locator("#staff-list .badge").count()
    set_marker(page)

    with page.expect_response(answer_to_post(f"/admin/staff/{newcomer_id}/verify")) as answer:
        button.click()
    assert_htmx_with_csrf(answer.value)
    expect(button).to_have_count(0)
    expect(row.locator(".badge")).to_be_visible()
    expect(row.locator(".badge")).to_have_attribute("aria-label", "подтверждён")
    expect(page.locator("#staff-list .badge")).to_have_count(verified_badges + 1)
    expect(page.locator(f"#staff-{newcomer_id}")).to_have_count(1)
    assert marker_survived(page)
    assert_one_page(page)

    page.reload()
    expect(row.locator(".badge")).to_be_visible()
    expect(row.get_by_role("button")).to_have_count(0)
    db.session.rollback()
    assert db.session.get(User, newcomer_id).verified_at is not None
    problems.assert_none()


def test_stale_attach_form_answers_422_in_place(page, problems, world):
    """htmx 4 swaps 4xx answers: a choice that went stale shows its error inside the section."""
    f.make_staff(world.kindergarten, "Ирина Белова")
    group_id, marina_id = world.group.id, world.other_educator.id
    db.session.commit()
    sign_in(page, world.admin.login, then=f"/admin/groups/{group_id}")
    page.get_by_label("Прикрепить педагога").select_option(str(marina_id))
    # meanwhile, on another phone, Марина got attached. (A new transaction: one begun before
    # the browser wrote could not become a writer on SQLite — SQLITE_BUSY_SNAPSHOT.)
    db.session.rollback()
    with writing():
        db.session.add(GroupEducator(group_id=group_id, user_id=marina_id))
        db.session.commit()
    set_marker(page)

    with page.expect_response(answer_to_post(f"/admin/groups/{group_id}/educators")) as answer:
        page.get_by_role("button", name="Прикрепить", exact=True).click()
    assert_htmx_with_csrf(answer.value, status=422)
    section = page.locator("#educators")
    expect(section.get_by_role("alert")).to_have_text("Выберите вариант из списка.")
    expect(section.locator("ul.rows > li")).to_have_count(2)  # the list is fresh too
    expect(page.get_by_label("Прикрепить педагога").locator("option")).to_have_text(
        ["Ирина Белова — Воспитатель"]
    )
    assert marker_survived(page)
    assert_one_page(page)
    problems.assert_none()
