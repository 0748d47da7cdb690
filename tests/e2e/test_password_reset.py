"""A forgotten password, reset in person (issue 13 §6), on phones (390×844).

The educator's phone opens the parent's card and presses «Сбросить пароль»; the QR code it
shows is read from the screen (a screenshot of the code, decoded by zxing-cpp) as the parent's
camera would; the parent's phone opens that link, sets a new password and signs in with it; a
third phone where the parent was signed in before is signed out.
"""

from __future__ import annotations

import io
import re

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import expect

from sferum_lite.extensions import db

from .. import factories as f
from .conftest import new_phone, sign_in

pytestmark = pytest.mark.browser

NEW_PASSWORD = "синий кит поёт 77"


def read_qr(locator) -> str:
    """What a camera pointed at this element reads."""
    image = Image.open(io.BytesIO(locator.screenshot()))
    (result,) = zxingcpp.read_barcodes(image)
    return result.text


def test_the_educator_shows_a_qr_and_the_parent_sets_a_new_password(
    page, other_phone, browser, live_server, problems, world
):
    # links in QR codes are built from BASE_URL: here, the address the phones reach
    live_server.app.config["BASE_URL"] = live_server.url
    chat = f.make_chat(
        world.kindergarten, world.educator, group=world.group, members=[world.parent]
    )
    card = f"/chats/{chat.id}/people/{world.parent.id}"
    parent_login, educator_login = world.parent.login, world.educator.login
    db.session.commit()

    # a phone where the parent was signed in before (the one she lost, say)
    sign_in(other_phone, parent_login)

    # the educator's phone: the parent's card, «Сбросить пароль»
    sign_in(page, educator_login, then=card)
    page.get_by_role("button", name="Сбросить пароль").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Новый пароль для: Екатерина Петрова")
    code = page.get_by_role("img", name="QR-код для смены пароля")
    expect(code).to_be_visible()
    box = code.bounding_box()
    assert box["width"] >= 300  # big enough to scan from another phone
    link = read_qr(code)
    assert re.fullmatch(re.escape(live_server.url) + r"/password-reset/[A-Za-z0-9_-]{43}", link)

    # the parent's own phone: the link the camera read
    context = new_phone(browser, live_server, problems)
    try:
        phone = context.new_page()
        phone.goto(link)
        expect(phone.get_by_role("heading", level=1)).to_have_text("Новый пароль")
        phone.get_by_label("Новый пароль", exact=True).fill(NEW_PASSWORD)
        phone.get_by_label("Новый пароль ещё раз").fill("синий кит поёт 78")
        phone.get_by_role("button", name="Сохранить пароль").click()
        expect(phone.get_by_text("Пароли не совпадают")).to_be_visible()
        phone.get_by_label("Новый пароль", exact=True).fill(NEW_PASSWORD)
        phone.get_by_label("Новый пароль ещё раз").fill(NEW_PASSWORD)
        phone.get_by_role("button", name="Сохранить пароль").click()
        phone.wait_for_url(re.compile(r"/login$"))
        expect(phone.get_by_role("status")).to_contain_text("Пароль изменён")
        sign_in(phone, parent_login, NEW_PASSWORD)
        expect(phone.get_by_role("link", name="Профиль")).to_be_visible()

        # the link was for once
        phone.goto(link)
        expect(phone.get_by_role("heading", level=1)).to_have_text("Ссылка уже не действует")
    finally:
        context.close()

    # the old phone's session is gone: its next page is the sign-in
    other_phone.goto("/")
    expect(other_phone).to_have_url(re.compile(r"/login"))
    expect(other_phone.get_by_role("heading", level=1)).to_have_text("Вход")
    problems.assert_none()
