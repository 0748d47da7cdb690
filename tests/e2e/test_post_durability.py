"""A full server keeps what the person typed, and a post sent again is one message — in the
browser (Chromium at 390×844).

(a) The next post fails with «database or disk is full»: the composer says so, the text is still
    in the box and the chosen photo still chosen; once the disk has room, pressing «Отправить»
    again posts it, once.
(b) The composer sends a client_token (a UUID made by app.js), a new one for each message; the
    same request sent twice (its answer lost) makes one message.
"""

from __future__ import annotations

import io
import re
import sqlite3

import pytest
from flask import g, has_request_context
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import event, exc
from sqlalchemy.orm import Session

from sferum_lite.extensions import db
from sferum_lite.models import Attachment, Message

from .. import factories as f
from .conftest import answer_to_post, marker_survived, set_marker, sign_in

pytestmark = pytest.mark.browser

FULL = "Сообщение не отправлено: на сервере закончилось место — попробуйте позже"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


@pytest.fixture
def chat_id(world) -> int:
    chat = f.make_chat(
        world.kindergarten, world.educator, group=world.group, members=[world.parent]
    )
    return chat.id


@pytest.fixture
def disk_full():
    """disk_full(True): every post's commit in the server fails as SQLite's does on a full
    disk, until disk_full(False). The server runs in this process, in a thread."""
    state = {"full": False}

    def before_commit(_session):
        if state["full"] and has_request_context() and g.get("_sferum_writing"):
            raise exc.OperationalError(
                "INSERT INTO message …", {}, sqlite3.OperationalError("database or disk is full")
            )

    event.listen(Session, "before_commit", before_commit)
    try:
        yield lambda full: state.update(full=full)
    finally:
        event.remove(Session, "before_commit", before_commit)


def open_chat(page, user, chat_id):
    sign_in(page, user.login, then=f"/chats/{chat_id}")
    page.wait_for_function(
        "() => Boolean(window.htmx) && document.readyState === 'complete'", polling=100
    )


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), (60, 140, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


def token_in(page) -> str:
    return page.locator("#composer input[name=client_token]").input_value()


def sent_token(request) -> str:
    """The client_token a multipart POST carried."""
    found = re.search(rb'name="client_token"\r\n\r\n([^\r]*)\r\n', request.post_data_buffer)
    assert found, request.post_data_buffer[:2000]
    return found.group(1).decode()


def post_to(path: str):
    """A predicate for page.expect_request: a POST to `path`."""
    return lambda request: request.method == "POST" and request.url.split("?")[0].endswith(path)


def message_count() -> int:
    db.session.rollback()  # see what the server wrote
    return db.session.query(Message).count()


def test_a_full_disk_keeps_the_text_and_the_photo_and_sending_again_posts_once(
    page, problems, world, chat_id, disk_full
):
    open_chat(page, world.parent, chat_id)
    set_marker(page)
    box = page.get_by_label("Сообщение", exact=True)
    box.fill("Заберём Артёма в 16:00, <спасибо> & до завтра")
    chooser = page.locator("#composer input[type=file]")
    chooser.set_input_files({"name": "рисунок.jpg", "mimeType": "image/jpeg", "buffer": jpeg()})
    token = token_in(page)

    disk_full(True)
    with page.expect_response(answer_to_post(f"/chats/{chat_id}/messages")) as answer:
        page.get_by_role("button", name="Отправить").click()
    assert answer.value.status == 503
    composer = page.locator("#composer")
    expect(composer.locator(".form-errors")).to_have_text(FULL)
    expect(box).to_have_value("Заберём Артёма в 16:00, <спасибо> & до завтра")
    # the photo is still chosen, and said so; nothing went
    chooser = page.locator("#composer input[type=file]")
    assert chooser.evaluate("input => [...input.files].map(f => f.name)") == ["рисунок.jpg"]
    expect(composer.locator("[data-files-chosen]")).to_have_text("📎 рисунок.jpg")
    expect(composer).not_to_contain_text("выберите их снова")
    assert token_in(page) == token  # still this message's token
    expect(page.locator("#messages > li.msg")).to_have_count(0)
    assert message_count() == 0
    assert marker_survived(page), "the page was reloaded"
    assert problems.take() == [f"answer 503 to POST {page.url.split('#')[0]}/messages"]

    # room on the disk again: the same «Отправить» posts it, once, with its photo
    disk_full(False)
    with page.expect_response(answer_to_post(f"/chats/{chat_id}/messages")) as answer:
        page.get_by_role("button", name="Отправить").click()
    assert answer.value.status == 200, answer.value.text()[:500]
    sent = page.locator("#messages > li.msg")
    expect(sent).to_have_count(1)
    expect(sent.first).to_contain_text("Заберём Артёма в 16:00, <спасибо> & до завтра")
    expect(sent.first.locator(".photos img")).to_have_count(1)
    expect(page.get_by_label("Сообщение", exact=True)).to_have_value("")
    assert page.locator("#composer input[type=file]").evaluate("i => i.files.length") == 0
    assert message_count() == 1
    assert db.session.query(Attachment).count() == 1
    assert db.session.query(Message).one().client_token == token
    problems.assert_none()


def test_the_composer_sends_a_token_and_the_same_request_twice_is_one_message(
    page, problems, world, chat_id
):
    open_chat(page, world.parent, chat_id)
    first_token = token_in(page)
    assert UUID.fullmatch(first_token), first_token  # app.js's own, not the server's
    assert page.locator("#composer input[name=client_token][data-fresh]").count() == 0

    # the request goes out and its answer is lost: the network sends it again, and the page
    # gets the second answer
    answers = []

    def send_twice(route):
        answers.append(route.fetch())
        answers.append(route.fetch())
        route.fulfill(response=answers[-1])

    page.route(f"**/chats/{chat_id}/messages", send_twice)
    page.get_by_label("Сообщение", exact=True).fill("Спасибо за праздник!")
    with (
        page.expect_request(post_to(f"/chats/{chat_id}/messages")) as request,
        page.expect_response(answer_to_post(f"/chats/{chat_id}/messages")) as answer,
    ):
        page.get_by_role("button", name="Отправить").click()
    assert answer.value.status == 200
    assert [a.status for a in answers] == [200, 200]
    assert sent_token(request.value) == first_token
    # the second answer is the same message: one on the page (the live update merges into it)
    expect(page.locator("#messages > li.msg")).to_have_count(1)
    expect(page.get_by_label("Сообщение", exact=True)).to_have_value("")
    assert message_count() == 1
    page.unroute(f"**/chats/{chat_id}/messages")

    # a new message gets a new token: it is not taken for the first one sent again
    second_token = token_in(page)
    assert UUID.fullmatch(second_token) and second_token != first_token
    with page.expect_request(post_to(f"/chats/{chat_id}/messages")) as request:
        page.get_by_label("Сообщение", exact=True).fill("Спасибо за праздник!")
        page.get_by_role("button", name="Отправить").click()
    expect(page.locator("#messages > li.msg")).to_have_count(2)
    assert sent_token(request.value) == second_token
    assert message_count() == 2
    problems.assert_none()


@pytest.mark.live_config(RATELIMIT_ENABLED=True, POSTS_WITH_FILES_LIMIT="1 per 10 minutes")
def test_too_many_posts_with_files_keep_the_text_and_the_photo(page, problems, world, chat_id):
    """Over the per-person limit on posts with files (issue 13 §4): 429, the composer says when
    files may go again, and the text and the chosen photo are still there."""
    open_chat(page, world.parent, chat_id)
    box = page.get_by_label("Сообщение", exact=True)
    photo = {"name": "рисунок.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}
    box.fill("Первое фото")
    page.locator("#composer input[type=file]").set_input_files(photo)
    page.get_by_role("button", name="Отправить").click()
    expect(page.locator("#messages > li.msg")).to_have_count(1)

    box.fill("Второе фото")
    page.locator("#composer input[type=file]").set_input_files(photo)
    with page.expect_response(answer_to_post(f"/chats/{chat_id}/messages")) as answer:
        page.get_by_role("button", name="Отправить").click()
    assert answer.value.status == 429
    composer = page.locator("#composer")
    expect(composer.locator(".form-errors")).to_contain_text("без вложений — уже сейчас")
    expect(box).to_have_value("Второе фото")
    chooser = page.locator("#composer input[type=file]")
    assert chooser.evaluate("input => [...input.files].map(f => f.name)") == ["рисунок.jpg"]
    expect(composer.locator("[data-files-chosen]")).to_have_text("📎 рисунок.jpg")
    assert message_count() == 1
    problems.assert_none()
