"""A child is linked only when a person decides (issue 13 §2), on a phone (390×844): the link
form's default and its 48-hour rule, «Заявки» with the child pre-selected and «Впустить», the
paused joining page, and the notice on the other parent's home page.

With SFERUM_SCREENSHOTS=<folder> the pages are saved there as PNGs, to be looked at.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from sferum_lite.extensions import db
from sferum_lite.models import ChatInvite, JoinRequest, ParentChild, utcnow

from .. import factories as f
from .conftest import new_phone, sign_in

pytestmark = pytest.mark.browser


def shoot(page, name: str) -> None:
    folder = os.environ.get("SFERUM_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


@pytest.fixture
def chat(world):
    return f.make_chat(
        world.kindergarten,
        world.educator,
        title="Родители группы «Солнышко»",
        group=world.group,
        members=[world.parent],
    )


def test_a_name_match_waits_for_the_educators_decision(
    page, browser, live_server, problems, world, chat
):
    # the educator makes a link: approval is the default; a meeting link longer than 2 days is
    # refused with what was chosen kept
    sign_in(page, world.educator.login, then=f"/chats/{chat.id}/invites")
    expect(page.get_by_label("По одобрению воспитателя")).to_be_checked()
    shoot(page, "link-form")
    page.get_by_label("Без одобрения — для собрания в группе, не дольше 48 часов").check()
    page.get_by_label("30 дней").check()
    page.get_by_role("button", name="Создать ссылку и QR-код").click()
    expect(page.locator(".field-error").first).to_contain_text("не дольше 48 часов")
    expect(page.get_by_label("30 дней")).to_be_checked()
    shoot(page, "link-form-refused")
    page.get_by_label("По одобрению воспитателя").check()
    page.get_by_role("button", name="Создать ссылку и QR-код").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Родители группы")
    db.session.commit()
    token = db.session.scalar(select(ChatInvite.token))

    # a stranger with an account types a name from the roster: waiting, not linked
    login = f.make_parent(world.kindergarten, "Ольга Новикова", phone="+79123456789").login
    context = new_phone(browser, live_server, problems)
    stranger = context.new_page()
    sign_in(stranger, login)
    stranger.goto(f"/i/{token}")
    stranger.get_by_role("button", name="Продолжить").click()
    stranger.get_by_label("Фамилия ребёнка").fill("Петров")
    stranger.get_by_label("Имя ребёнка").fill("Артём")
    stranger.get_by_role("button", name="Дальше").click()
    stranger.get_by_role("button", name="Я прочитал(а) и принимаю правила").click()
    expect(stranger.locator("main")).to_contain_text("Ожидает одобрения воспитателя")
    db.session.commit()
    assert db.session.scalar(select(ParentChild).where(ParentChild.child_id == world.child.id))
    assert len(db.session.scalars(select(ParentChild)).all()) == 2  # the two world parents

    # «Заявки»: the child is pre-selected; «Впустить» links
    page.goto(f"/chats/{chat.id}/requests")
    expect(page.locator("select")).to_have_value(str(world.child.id))
    expect(page.locator("main")).to_contain_text("совпадает со списком группы")
    shoot(page, "requests")
    page.get_by_role("button", name="Впустить").click()
    expect(page.locator("main")).to_contain_text("Ольга Новикова теперь в чате.")
    db.session.commit()
    request = db.session.scalar(select(JoinRequest))
    assert request.status == "admitted"
    assert db.session.get(ParentChild, (request.user_id, world.child.id)) is not None

    # the child's other parent is told on the home page, and dismisses it
    context.close()
    parent = new_phone(browser, live_server, problems).new_page()
    sign_in(parent, world.parent.login)
    notice = parent.locator("#child-links")
    expect(notice).to_contain_text("Ольга Новикова")
    expect(notice).to_contain_text(f"впустил(а) {world.educator.name}")
    shoot(parent, "home-notice")
    notice.get_by_role("button", name="Понятно").click()
    expect(parent.locator("#child-links")).to_have_count(0)
    parent.context.close()
    problems.assert_none()


def test_a_paused_link_says_so_and_whom_to_ask(page, problems, world, chat):
    invite = f.make_chat_invite(chat, world.educator, needs_approval=True)
    invite.paused_at = utcnow()
    db.session.commit()
    token = invite.token
    page.goto(f"/i/{token}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ссылка временно приостановлена")
    expect(page.locator("main")).to_contain_text(world.educator.name)
    shoot(page, "paused-join")

    sign_in(page, world.educator.login, then=f"/chats/{chat.id}/invites")
    expect(page.locator("main")).to_contain_text(
        "Приостановлена: 10 имён не совпали со списком группы за час"
    )
    shoot(page, "paused-list")
    page.get_by_role("button", name="Возобновить").click()
    expect(page.locator("main")).to_contain_text("Ссылка снова действует")
    problems.assert_none()
