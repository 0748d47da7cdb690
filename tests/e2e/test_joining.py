"""From a scanned QR code to a first message, on a phone (390×844): a parent opens the invite
link, registers, names the child, accepts the rules, lands in the chat and posts; the educator
changes the rules; the parent is asked to accept again before the next post."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from sferum_lite.actions.invites import new_chat_token
from sferum_lite.extensions import db
from sferum_lite.models import ChatInvite, ChatMember, Message, User, utcnow

from .. import factories as f
from .conftest import new_phone, sign_in

pytestmark = pytest.mark.browser

LIVE_MS = 3_000


@pytest.fixture
def chat_and_invite(world):
    chat = f.make_chat(
        world.kindergarten, world.educator, title="Родители группы «Солнышко»", group=world.group
    )
    invite = ChatInvite(
        kindergarten_id=chat.kindergarten_id,
        chat_id=chat.id,
        token=new_chat_token(),
        created_by_id=world.educator.id,
        expires_at=utcnow() + timedelta(days=7),
    )
    db.session.add(invite)
    db.session.commit()
    return chat.id, invite.token


def wait_for_scripts(page):
    page.wait_for_load_state("load")
    page.wait_for_function(
        "() => Boolean(window.htmx) && document.readyState === 'complete'", polling=100
    )


def test_a_parent_joins_from_the_qr_link_and_accepts_changed_rules_again(
    page, browser, live_server, problems, world, chat_and_invite
):
    chat_id, token = chat_and_invite
    page.goto(f"/i/{token}")
    assert page.url.endswith("/join"), "the token leaves the address bar"
    expect(page.get_by_role("heading", level=1)).to_contain_text("Родители группы «Солнышко»")
    expect(page.locator("main")).to_contain_text(world.educator.name)

    page.get_by_role("button", name="Зарегистрироваться").click()
    page.get_by_label("Имя и фамилия").fill("Ольга Новикова")
    page.get_by_label("Телефон или e-mail").fill("8 912 345-67-89")
    page.get_by_label("Пароль", exact=True).fill("тихий вечер у реки")
    page.get_by_label("Я даю согласие на обработку персональных данных").check()
    page.get_by_role("button", name="Зарегистрироваться").click()

    # the same page whether or not the phone had an account (issue 13 §3): sign in to go on
    page.wait_for_url(re.compile(r"/login\?next="))
    expect(page.locator(".flash")).to_contain_text("это ваш номер")
    expect(page.get_by_label("Телефон или e-mail")).to_have_value("8 912 345-67-89")
    page.get_by_label("Пароль", exact=True).fill("тихий вечер у реки")
    page.get_by_role("button", name="Войти").click()

    page.wait_for_url("**/join/child")
    page.get_by_label("Фамилия ребёнка").fill("петров")
    page.get_by_label("Имя ребёнка").fill("Артем")
    page.get_by_role("button", name="Дальше").click()

    page.wait_for_url("**/join/rules")
    expect(page.locator(".rules-text")).to_contain_text("Общаемся вежливо")
    page.get_by_role("button", name="Я прочитал(а) и принимаю правила").click()

    page.wait_for_url(f"**/chats/{chat_id}")
    wait_for_scripts(page)
    expect(page.locator(".flash")).to_contain_text("Добро пожаловать")
    page.get_by_label("Сообщение", exact=True).fill("Здравствуйте! Я мама Артёма.")
    page.get_by_role("button", name="Отправить").click()
    expect(page.locator("#messages > li.msg")).to_have_count(1)
    expect(page.locator("#messages > li.msg").first).to_contain_text("Я мама Артёма")

    db.session.commit()
    parent = db.session.scalar(db.select(User).where(User.phone == "+79123456789"))
    assert db.session.get(ChatMember, (chat_id, parent.id)) is not None
    db.session.commit()

    # the educator, on another phone, changes the rules
    educator_context = new_phone(browser, live_server, problems)
    try:
        educator = educator_context.new_page()
        sign_in(educator, world.educator.login, then=f"/chats/{chat_id}/rules/edit")
        educator.get_by_label("Правила").fill(
            "1. Пишем только по делу.\n2. Фотографии детей — только с согласия родителей."
        )
        educator.get_by_label("Что изменилось").fill("Добавлен пункт о фотографиях")
        educator.get_by_role("button", name="Сохранить новую редакцию").click()
        expect(educator.locator(".flash").first).to_contain_text("Правила обновлены")
    finally:
        educator_context.close()

    # the parent's open chat: the composer gives way to the rules banner; posting waits
    page.bring_to_front()
    banner = page.locator(".rules-banner")
    if not banner.is_visible():  # the stream may be between reconnects: the post is refused
        page.get_by_label("Сообщение", exact=True).fill("А можно вопрос?")
        page.get_by_role("button", name="Отправить").click()
    expect(banner).to_be_visible(timeout=LIVE_MS)
    expect(banner).to_contain_text("Примите правила чата, чтобы писать")
    db.session.commit()
    assert (
        db.session.scalar(db.select(db.func.count(Message.id)).where(Message.chat_id == chat_id))
        == 1
    )
    db.session.commit()

    banner.get_by_role("button", name="Прочитать и принять").click()
    expect(page.locator(".rules-text")).to_contain_text("Фотографии детей")
    page.get_by_role("button", name="Я прочитал(а) и принимаю правила").click()
    page.wait_for_url(f"**/chats/{chat_id}*")
    wait_for_scripts(page)
    page.get_by_label("Сообщение", exact=True).fill("А можно вопрос?")
    page.get_by_role("button", name="Отправить").click()
    expect(page.locator("#messages > li.msg")).to_have_count(2)
    expect(page.locator("#messages > li.msg").last).to_contain_text("А можно вопрос?")
    problems.assert_none()
