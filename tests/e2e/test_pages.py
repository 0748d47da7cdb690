"""Plain forms with CSRF on, and the pages themselves: no console errors (the CSP forbids
inline scripts and styles — a violation shows up there), nothing wider than a phone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from sferum_lite.extensions import db
from sferum_lite.models import User

from .. import factories as f
from .conftest import PHONE, answer_to_post, marker_survived, set_marker, sign_in

pytestmark = pytest.mark.browser


def test_plain_form_post_carries_the_csrf_token(page, problems, world):
    educator_id, login = world.educator.id, world.educator.login
    db.session.commit()
    sign_in(page, login, then="/profile")
    set_marker(page)

    page.get_by_label("Имя и фамилия").fill("Анна Сергеевна Павлова")
    with page.expect_response(answer_to_post("/profile")) as answer:
        page.get_by_role("button", name="Сохранить имя").click()
    request_headers = answer.value.request.all_headers()
    assert "hx-request" not in request_headers  # an ordinary form submission
    assert "csrf_token=" in (answer.value.request.post_data or "")
    assert answer.value.status == 303
    expect(page.get_by_role("status")).to_have_text("Имя сохранено.")
    assert not marker_survived(page)  # POST -> 303 -> GET: a new page
    expect(page.get_by_label("Имя и фамилия")).to_have_value("Анна Сергеевна Павлова")
    expect(page.locator("header.topbar")).to_contain_text("Анна Сергеевна Павлова")
    db.session.rollback()
    assert db.session.get(User, educator_id).name == "Анна Сергеевна Павлова"

    # The control: the same form without its token is refused, with a page that says why.
    page.get_by_label("Имя и фамилия").fill("Кто-то Другой")
    page.locator("form[action='/profile'] input[name=csrf_token]").evaluate("i => i.remove()")
    with page.expect_response(answer_to_post("/profile")) as answer:
        page.get_by_role("button", name="Сохранить имя").click()
    assert answer.value.status == 400
    expect(page.get_by_role("heading", level=1)).to_have_text("Неверный запрос")
    expect(page.locator("main")).to_contain_text("Страница устарела")
    db.session.rollback()
    assert db.session.get(User, educator_id).name == "Анна Сергеевна Павлова"
    problems.assert_none()


def visit(page, problems, path: str, heading: str | re.Pattern) -> list[str]:
    """Open a page; what is wrong with it (console errors, sideways scrolling on a phone)."""
    page.goto(path)
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    wrong = [f"{path}: {problem}" for problem in problems.take()]
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > PHONE["width"]:
        wide = page.evaluate(WIDEST, PHONE["width"])
        wrong.append(f"{path}: {width}px wide, it scrolls sideways on a phone; too wide: {wide}")
    return wrong


WIDEST = """width => [...document.querySelectorAll("main *")]
    .filter(e => e.getBoundingClientRect().right > width + 0.5 && !e.closest("nav"))
    .slice(0, 3)
    .map(e => `<${e.tagName.toLowerCase()} class="${e.className}"> «${e.textContent.trim()
        .replace(/\\s+/g, " ").slice(0, 40)}»`)"""


def test_pages_have_no_console_errors_and_fit_a_phone(page, problems, world):
    """Every page a director, a parent and a newcomer with an invite see."""
    f.make_staff(world.kindergarten, "Дарья Лебедева", verified=False)
    f.make_group(world.kindergarten, "Ромашка", archived=True)
    f.make_child(world.group, "Смирнова", "Алиса", left=True)
    invite = f.make_staff_invite(world.kindergarten, world.director)
    ids = dict(
        group=world.group.id, child=world.child.id, member=world.educator.id, invite=invite.id
    )
    token, director, parent = invite.token, world.director.login, world.parent.login
    db.session.commit()
    wrong = []

    sign_in(page, director)
    for path, heading in [
        ("/", "Здравствуйте, Ольга!"),
        ("/admin/", "Управление"),
        ("/admin/groups", "Группы"),
        ("/admin/groups?archived=1", "Группы"),
        (f"/admin/groups/{ids['group']}", "Группа «Солнышко»"),
        ("/admin/children", "Список детей"),
        ("/admin/children?left=1", "Список детей"),
        ("/admin/children/new", re.compile(".")),
        (f"/admin/children/{ids['child']}", re.compile("Петров")),
        ("/admin/children/import", re.compile(".")),
        ("/admin/staff", "Сотрудники"),
        (f"/admin/staff/{ids['member']}", re.compile("Анна Павлова")),
        ("/admin/staff/invites", re.compile(".")),
        (f"/admin/staff/invites/{ids['invite']}", re.compile(".")),
        ("/profile", "Профиль"),
    ]:
        wrong += visit(page, problems, path, heading)
    page.get_by_role("button", name="Выйти", exact=True).click()
    expect(page).to_have_url(re.compile("/login$"))

    sign_in(page, parent)
    wrong += visit(page, problems, "/", "Здравствуйте, Екатерина!")
    wrong += visit(page, problems, "/profile", "Профиль")
    page.get_by_role("button", name="Выйти", exact=True).click()

    wrong += visit(page, problems, "/login", "Вход")
    page.goto(f"/staff-invite/{token}")
    expect(page).to_have_url(re.compile("/join/staff$"))
    wrong += visit(page, problems, "/join/staff", re.compile("."))
    wrong += visit(page, problems, "/admin/no-such-page", "Страница не найдена")
    assert not wrong, "\n".join(wrong)
    problems.assert_none()


def test_problems_catch_csp_violations(page, problems):
    """The check above can fail: an inline script and an inline style are refused by the
    CSP, and the refusals are reported."""
    page.goto("/login")
    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.__inline = 1";
            document.body.append(script);
            document.body.insertAdjacentHTML("beforeend", '<p style="color: red">x</p>');
        }"""
    )
    assert page.evaluate("window.__inline") is None  # it did not run
    expect(page.locator("p[style]")).to_have_css("color", re.compile(r"^(?!rgb\(255, 0, 0\))"))
    found = problems.take()
    assert any("Content Security Policy" in p and "script-src" in p for p in found), found
    assert any("Content Security Policy" in p and "style-src" in p for p in found), found


def test_versioned_static_files_come_from_the_browser_cache(page, live_server, problems, world):
    sign_in(page, world.admin.login)  # a page with all the styles and scripts was loaded
    live_server.requests.clear()
    page.get_by_role("navigation", name="Основная навигация").get_by_role(
        "link", name="Профиль"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Профиль")
    page.wait_for_load_state("load")  # styles and scripts are loaded (or came from the cache)
    again = [
        path for _method, path, _htmx in live_server.requests if path.endswith((".css", ".js"))
    ]
    assert again == [], f"loaded again instead of from the cache: {again}"
    problems.assert_none()
