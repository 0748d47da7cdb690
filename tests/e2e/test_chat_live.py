"""Two phones in one chat: what one does appears on the other without a reload (SSE through
htmx 4's hx-sse, the poll as a fallback), a confirmation reaches the educator, a photo taken
from the phone shows its thumbnail."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from playwright.sync_api import expect

from sferum_lite.extensions import db
from sferum_lite.models import Attachment, Chat, ChatMember, Confirmation, Message

from .conftest import answer_to_post, marker_survived, new_phone, set_marker, sign_in

pytestmark = pytest.mark.browser

LIVE_MS = 2_000  # the bound: a change shows on the other phone within 2 s


def group_chat(world) -> int:
    chat = Chat(
        kindergarten_id=world.kindergarten.id,
        kind="group",
        title="Родители группы «Солнышко»",
        group_id=world.group.id,
        created_by_id=world.educator.id,
    )
    db.session.add(chat)
    db.session.flush()
    db.session.add_all(
        [
            ChatMember(chat_id=chat.id, user_id=world.educator.id, is_moderator=True),
            ChatMember(chat_id=chat.id, user_id=world.parent.id),
        ]
    )
    db.session.commit()
    return chat.id


@pytest.fixture
def parent_page(browser, live_server, problems):
    context = new_phone(browser, live_server, problems)
    try:
        yield context.new_page()
    finally:
        context.close()


STREAM_READING = """() => {
  const live = document.getElementById("live");
  const sse = live && live._htmx && live._htmx.sse;
  return Boolean(sse && sse.reader);
}"""


def open_chat(page, user, chat_id, *, stream=True):
    """Sign in into the chat and wait until its scripts run — and its live stream reads, unless
    the test cut it off."""
    page.bring_to_front()  # the phone in the person's hand: hx-sse pauses hidden pages
    sign_in(page, user.login, then=f"/chats/{chat_id}")
    page.wait_for_load_state("load")
    # polling by time: requestAnimationFrame (the default) stops in a page in the background
    page.wait_for_function(
        "() => Boolean(window.htmx) && document.readyState === 'complete'", polling=100
    )
    if stream:
        page.wait_for_function(STREAM_READING, polling=100)


def test_a_message_appears_on_the_parents_phone_without_reload(
    page, parent_page, problems, world, live_server
):
    chat_id = group_chat(world)
    # the poll is cut off: what reaches the other phone comes through the SSE stream
    for phone in (parent_page, page):
        phone.route("**/updates*", lambda route: route.abort())
    open_chat(parent_page, world.parent, chat_id)
    set_marker(parent_page)
    open_chat(page, world.educator, chat_id)

    page.get_by_label("Сообщение", exact=True).fill("Завтра берём сменную обувь.\nСпасибо!")
    with page.expect_response(answer_to_post(f"/chats/{chat_id}/messages")) as answer:
        page.get_by_role("button", name="Отправить").click()
    assert answer.value.status == 200
    mine = page.locator("#messages > li.msg")
    expect(mine).to_have_count(1)  # its own post and the live update make one message
    expect(mine.first).to_contain_text("Завтра берём сменную обувь.")
    expect(page.get_by_label("Сообщение", exact=True)).to_have_value("")

    parent_page.bring_to_front()
    theirs = parent_page.locator("#messages > li.msg")
    expect(theirs).to_have_count(1, timeout=LIVE_MS)
    expect(theirs.first).to_contain_text("Завтра берём сменную обувь.", timeout=LIVE_MS)
    assert marker_survived(parent_page), "the parent's page was reloaded"

    # the parent answers; the educator sees it, in one piece
    parent_page.get_by_label("Сообщение", exact=True).fill("Хорошо 👍")
    parent_page.get_by_role("button", name="Отправить").click()
    page.bring_to_front()
    expect(page.locator("#messages > li.msg")).to_have_count(2, timeout=LIVE_MS)
    expect(page.locator("#messages > li.msg").last).to_contain_text("Хорошо 👍")
    paths = [path for _method, path, _htmx in live_server.requests]
    assert f"/chats/{chat_id}/stream" in paths, paths
    # a poll in a stream's reconnect gap is refused by this test's routing, nothing else
    left = [p for p in problems.take() if "Failed to fetch" not in p]
    assert not left, left


def test_without_the_stream_the_poll_brings_news(page, parent_page, problems, world):
    """A network that breaks SSE (a proxy buffering it): the poll every 3 s takes over."""
    chat_id = group_chat(world)
    parent_page.route("**/stream*", lambda route: route.abort())
    open_chat(parent_page, world.parent, chat_id, stream=False)
    open_chat(page, world.educator, chat_id)
    page.get_by_label("Сообщение", exact=True).fill("Прогулка отменяется из-за дождя")
    page.get_by_role("button", name="Отправить").click()
    parent_page.bring_to_front()
    expect(parent_page.locator("#messages > li.msg")).to_contain_text(
        "Прогулка отменяется", timeout=5_000
    )
    # htmx reports the refused stream on the console; that is this test's doing
    left = [p for p in problems.take() if "Failed to fetch" not in p]
    assert not left, left


def test_a_confirmation_reaches_the_educator(page, parent_page, problems, world):
    chat_id = group_chat(world)
    open_chat(page, world.educator, chat_id)
    set_marker(page)
    page.get_by_label("Сообщение", exact=True).fill("Собрание в четверг в 18:00")
    page.get_by_text("Ещё: важное, опрос").click()
    page.get_by_label("Важное: попросить подтвердить «Ознакомлен(а)»").check()
    page.get_by_role("button", name="Отправить").click()
    message = page.locator("#messages > li.msg").first
    expect(message).to_contain_text("Ознакомились 0 человек")

    open_chat(parent_page, world.parent, chat_id)
    with parent_page.expect_response(answer_to_post("/confirm")):
        parent_page.get_by_role("button", name="Ознакомлен(а)").click()
    expect(parent_page.locator("#messages > li.msg").first).to_contain_text("Вы ознакомились")

    page.bring_to_front()
    expect(page.locator("#messages > li.msg").first).to_contain_text(
        "Ознакомился 1 человек", timeout=LIVE_MS
    )
    assert marker_survived(page)
    db.session.rollback()
    assert db.session.query(Confirmation).count() == 1
    problems.assert_none()


def test_a_photo_from_the_phone_shows_its_thumbnail(page, problems, world, tmp_path):
    chat_id = group_chat(world)
    open_chat(page, world.educator, chat_id)
    photo = tmp_path / "утренник.jpg"
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 900), (200, 120, 40)).save(buffer, "JPEG")
    photo.write_bytes(buffer.getvalue())

    chooser = page.locator("#composer input[type=file]")
    # the file is handed over as bytes: a Cyrillic path is lost on the way to the browser
    # when the test runs with LC_ALL=C
    chooser.set_input_files(
        {"name": photo.name, "mimeType": "image/jpeg", "buffer": photo.read_bytes()}
    )
    assert chooser.evaluate("input => input.files.length") == 1
    page.get_by_label("Сообщение", exact=True).fill("Фото с утренника")
    with page.expect_response(answer_to_post(f"/chats/{chat_id}/messages")) as answer:
        page.get_by_role("button", name="Отправить").click()
    assert answer.value.status == 200, answer.value.text()[:500]
    db.session.rollback()
    assert db.session.query(Attachment).count() == 1, "the photo was not sent"
    image = page.locator("#messages > li.msg .photos img").first
    expect(image).to_be_visible()
    page.wait_for_function(
        "() => { const i = document.querySelector('#messages .photos img');"
        " return i && i.complete && i.naturalWidth > 0; }",
        polling=100,
    )
    assert page.evaluate("document.querySelector('#messages .photos img').naturalWidth") <= 480
    db.session.rollback()
    assert db.session.query(Message).count() == 1
    problems.assert_none()
