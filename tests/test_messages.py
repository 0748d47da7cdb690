"""Messages: text and its safety, replies, edits and their history, deletion, reactions, pins,
«Важное» and its confirmations, photos and files, polls, read state, long histories, quiet
hours, and live updates (polling and the SSE stream).

Each test goes through real requests and checks the answer and what the database holds.
"""

from __future__ import annotations

import html
import io
import os
import re
import struct
import threading
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from flask import current_app
from PIL import Image
from sqlalchemy import select

from sferum_lite import media
from sferum_lite.extensions import db
from sferum_lite.models import (
    Attachment,
    ChatMember,
    Confirmation,
    Message,
    MessageEdit,
    Poll,
    PollOption,
    PollVote,
    Reaction,
    utcnow,
)

from . import factories as f
from .test_admin_groups import count, page_text
from .test_chats import chat_rows, jpeg_bytes, member, messages_of, post_message, reload, unread_in
from .test_query_counts import counting

NO_SUCH_ID = 987654
HTMX = {"HX-Request": "true"}


@pytest.fixture
def group_chat(world):
    """«Солнышко»'s parents' chat: its educator (moderator) and a parent of the group."""
    return f.make_chat(
        world.kindergarten, world.educator, group=world.group, members=[world.parent]
    )


@pytest.fixture
def group_parent(world, group_chat):
    """A second parent of «Солнышко», a member of the group's chat."""
    child = f.make_child(world.group, "Сидоров", "Миша")
    parent = f.make_parent(world.kindergarten, "Ольга Сидорова", children=[child])
    db.session.add(ChatMember(chat_id=group_chat.id, user_id=parent.id))
    db.session.commit()
    return parent


# --- helpers ------------------------------------------------------------------------------------


def message_block(body: str, message_id: int) -> str:
    """The HTML of one message on a page."""
    start = body.index(f'<li id="m-{message_id}"')
    ends = [i for i in (body.find('<li id="m-', start + 1), body.find("</ol>", start)) if i > 0]
    return body[start : min(ends)] if ends else body[start:]


def block_of(client, chat, message) -> str:
    """One message as `client` sees it on the chat page."""
    return message_block(page_text(client.get(f"/chats/{chat.id}")), message.id)


def form_errors(response) -> list[str]:
    body = page_text(response)
    found = re.findall(r'<div class="form-errors" role="alert">(.*?)</div>', body, re.S)
    messages = re.findall(r"<p>(.*?)</p>", "".join(found), re.S)
    messages += re.findall(r'class="field-error"[^>]*>([^<]*)<', body)
    return [html.unescape(m) for m in messages]


def typed_text(response) -> str:
    """What the composer's textarea holds."""
    found = re.search(r'<textarea name="text"[^>]*>(.*?)</textarea>', page_text(response), re.S)
    return html.unescape(found.group(1)) if found else ""


def last_message(chat) -> Message:
    return messages_of(chat)[-1]


def upload_folder() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


def stored_files() -> set[str]:
    folder = upload_folder()
    return set(os.listdir(folder)) if folder.exists() else set()


def fetch(client, url):
    """GET a file, read it and close the response (send_file keeps the file open)."""
    response = client.get(url)
    response.get_data()
    response.close()
    return response


def cookies_set(response) -> list[str]:
    return [cookie.split("=", 1)[0] for cookie in response.headers.getlist("Set-Cookie")]


def encode(img: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **params)
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (55.0, 45.0, 21.0)
    gps[3], gps[4] = "E", (37.0, 37.0, 4.0)
    return encode(Image.new("RGB", (120, 90), "orange"), "JPEG", exif=exif.tobytes())


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header says width×height; its pixels never need to exist."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\0" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def pdf_bytes(extra: bytes = b"") -> bytes:
    return b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n" + extra


# --- text ---------------------------------------------------------------------------------------


def test_a_message_of_4000_characters_keeps_its_line_breaks(world, as_user, group_chat):
    head = "Добрый день!\nЗавтра:\n\n— прогулка\n— обед\n"
    text = head + "ж" * (4000 - len(head))
    assert len(text) == 4000
    response = post_message(as_user(world.parent), group_chat, text)
    assert response.status_code == 303
    (message,) = messages_of(group_chat)
    assert response.location.endswith(f"/chats/{group_chat.id}#m-{message.id}")
    assert message.text == text
    assert (message.author_id, message.important, message.reply_to_id) == (
        world.parent.id,
        False,
        None,
    )
    body = page_text(as_user(world.educator).get(f"/chats/{group_chat.id}"))
    assert "Добрый день!\nЗавтра:\n\n— прогулка\n— обед\n" in message_block(body, message.id)


def test_windows_line_breaks_are_stored_as_newlines(world, as_user, group_chat):
    post_message(as_user(world.parent), group_chat, "первая\r\nвторая\rтретья")
    assert last_message(group_chat).text == "первая\nвторая\nтретья"


def test_a_message_of_4001_characters_is_refused(world, as_user, group_chat):
    text = "ж" * 4001
    response = post_message(as_user(world.parent), group_chat, text)
    assert response.status_code == 422
    assert "Не длиннее 4000 символов." in form_errors(response)
    assert typed_text(response) == text
    assert messages_of(group_chat) == []
    assert reload(group_chat).rev == 0


@pytest.mark.parametrize("text", ["", "   ", "\n\n \t\n", "\u200b\u2060\ufeff", "\x00"])
def test_an_empty_message_is_refused(world, as_user, group_chat, text):
    response = post_message(as_user(world.parent), group_chat, text)
    assert response.status_code == 422
    assert "Напишите сообщение, приложите фото или файл." in form_errors(response)
    assert messages_of(group_chat) == []


def test_control_bidi_and_zero_width_characters_are_removed(world, as_user, group_chat):
    raw = (
        "При\x00вет,\u202e txt.exe\u202c пап\u200bа и ма\u2060ма\ufeff!\u2066 \u2069"
        "👨\u200d👩\u200d👧"
    )
    assert post_message(as_user(world.parent), group_chat, raw).status_code == 303
    stored = last_message(group_chat).text
    for invisible in ("\x00", "\u202e", "\u202c", "\u200b", "\u2060", "\ufeff", "\u2066"):
        assert invisible not in stored
    assert stored.startswith("Привет, txt.exe папа и мама!")
    assert stored.endswith("👨\u200d👩\u200d👧"), "the joiners of a family emoji stay"


MARKUP = [
    ("<script>alert(1)</script>", "<script>alert(1)", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("<img src=x onerror=alert(1)>", "<img src=x", "&lt;img src=x onerror=alert(1)&gt;"),
    (
        '<div hx-get="/logout" hx-trigger="load">',
        "<div hx-get",
        "&lt;div hx-get=&#34;/logout&#34; hx-trigger=&#34;load&#34;&gt;",
    ),
    ("javascript:alert(1)", 'href="javascript:', "javascript:alert(1)"),
]


@pytest.mark.parametrize("text,raw,escaped", MARKUP)
def test_markup_in_a_message_is_shown_as_text(world, as_user, group_chat, text, raw, escaped):
    post_message(as_user(world.parent), group_chat, f"Смотрите: {text}")
    message = last_message(group_chat)
    assert message.text == f"Смотрите: {text}", "stored as typed"
    for client in (as_user(world.educator), as_user(world.parent)):
        body = page_text(client.get(f"/chats/{group_chat.id}"))
        assert raw not in body
        block = message_block(body, message.id)
        assert f'<div class="text" dir="auto" hx-ignore>Смотрите: {escaped}</div>' in block
    partial = page_text(as_user(world.educator).get(f"/chats/{group_chat.id}/updates?after=0"))
    assert raw not in partial
    assert escaped in partial


def test_links_are_clickable(world, as_user, group_chat):
    text = "Меню: https://sad7.example/menu?week=2&day=1. И http://example.org/a(b)"
    post_message(as_user(world.educator), group_chat, text)
    message = last_message(group_chat)
    block = message_block(
        page_text(as_user(world.parent).get(f"/chats/{group_chat.id}")), message.id
    )
    assert '<a href="https://sad7.example/menu?week=2&amp;day=1" rel="noopener' in block
    assert 'target="_blank">https://sad7.example/menu?week=2&amp;day=1</a>. И' in block
    assert '<a href="http://example.org/a(b" rel=' in block


def test_a_link_cannot_break_out_of_its_attribute(world, as_user, group_chat):
    post_message(as_user(world.parent), group_chat, 'https://sad7.example/x"onmouseover="alert(1)')
    block = message_block(
        page_text(as_user(world.educator).get(f"/chats/{group_chat.id}")),
        last_message(group_chat).id,
    )
    assert '<a href="https://sad7.example/x" rel=' in block
    assert 'onmouseover="' not in block
    assert "&#34;onmouseover=&#34;alert(1)" in block


def test_htmx_posting_answers_with_the_message_and_a_fresh_composer(world, as_user, group_chat):
    response = post_message(as_user(world.parent), group_chat, "Через htmx", headers=HTMX)
    assert response.status_code == 200
    body = page_text(response)
    message = last_message(group_chat)
    assert body.lstrip().startswith(f'<li id="m-{message.id}"')
    assert "Через htmx" in body
    assert '<hx-partial hx-target="#composer" hx-swap="outerHTML">' in body
    assert "<html" not in body


def test_htmx_posting_a_bad_message_retargets_the_composer(world, as_user, group_chat):
    response = post_message(as_user(world.parent), group_chat, "ж" * 4001, headers=HTMX)
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#composer"
    assert response.headers["HX-Reswap"] == "outerHTML"
    assert page_text(response).lstrip().startswith('<form id="composer"')
    assert "Не длиннее 4000 символов." in form_errors(response)
    assert messages_of(group_chat) == []


def test_someone_outside_the_chat_cannot_post(world, as_user, group_chat):
    outsider = as_user(world.other_group_parent)
    assert post_message(outsider, group_chat, "Чужой").status_code == 404
    assert messages_of(group_chat) == []


# --- replies ------------------------------------------------------------------------------------


def test_a_reply_quotes_a_message_of_the_same_chat(world, as_user, group_chat):
    question = f.make_message(group_chat, world.parent, "Во сколько утренник?")
    response = post_message(
        as_user(world.educator), group_chat, "В 10:00", reply_to=str(question.id)
    )
    assert response.status_code == 303
    answer = last_message(group_chat)
    assert answer.reply_to_id == question.id
    block = message_block(
        page_text(as_user(world.parent).get(f"/chats/{group_chat.id}")), answer.id
    )
    assert f'<a class="quote" href="#m-{question.id}" hx-ignore>' in block
    assert "Во сколько утренник?" in block


def test_the_reply_link_fills_the_composer(world, as_user, group_chat):
    question = f.make_message(group_chat, world.parent, "Во сколько утренник?")
    body = page_text(as_user(world.educator).get(f"/chats/{group_chat.id}?reply={question.id}"))
    assert f'<input type="hidden" name="reply_to" value="{question.id}">' in body


def test_a_reply_to_a_message_of_another_chat_is_not_linked(world, as_user, group_chat):
    other = f.make_chat(
        world.kindergarten,
        world.other_educator,
        group=world.other_group,
        members=[world.other_group_parent],
    )
    secret = f.make_message(other, world.other_group_parent, "Тайна другой группы")
    parent = as_user(world.parent)

    page = page_text(parent.get(f"/chats/{group_chat.id}?reply={secret.id}"))
    assert "Тайна другой группы" not in page
    assert f'name="reply_to" value="{secret.id}"' not in page

    for reply_to in (secret.id, NO_SUCH_ID):
        response = post_message(parent, group_chat, "Ответ", reply_to=str(reply_to))
        assert response.status_code == 303
        assert last_message(group_chat).reply_to_id is None
    body = page_text(parent.get(f"/chats/{group_chat.id}"))
    assert "Тайна другой группы" not in body
    assert 'class="quote"' not in body


def test_a_reply_to_a_deleted_message_is_not_linked(world, as_user, group_chat):
    gone = f.make_message(group_chat, world.parent, "Удалю", deleted_at=utcnow())
    post_message(as_user(world.educator), group_chat, "Ответ", reply_to=str(gone.id))
    assert last_message(group_chat).reply_to_id is None


def test_a_quote_of_a_message_deleted_later_does_not_show_its_text(world, as_user, group_chat):
    question = f.make_message(group_chat, world.parent, "Неловкий вопрос")
    post_message(as_user(world.educator), group_chat, "Ответ", reply_to=str(question.id))
    answer = last_message(group_chat)
    assert as_user(world.parent).post(f"/messages/{question.id}/delete").status_code == 303
    body = page_text(as_user(world.educator).get(f"/chats/{group_chat.id}"))
    assert "Неловкий вопрос" not in body
    assert "Сообщение удалено" in message_block(body, answer.id)


# --- edits and their history --------------------------------------------------------------------


def test_the_author_edits_and_the_history_is_kept(world, as_user, group_chat):
    message = f.make_message(group_chat, world.parent, "Завтра не придём")
    rev = reload(group_chat).rev
    parent = as_user(world.parent)
    form = parent.get(f"/messages/{message.id}/edit")
    assert form.status_code == 200
    assert "Завтра не придём</textarea>" in page_text(form)

    response = parent.post(f"/messages/{message.id}/edit", data={"text": "Завтра придём к 9"})
    assert response.status_code == 303
    reload(message)
    assert message.text == "Завтра придём к 9"
    assert message.edited_at is not None
    assert message.rev == rev + 1 == reload(group_chat).rev
    (edit,) = db.session.scalars(select(MessageEdit)).all()
    assert (edit.message_id, edit.text) == (message.id, "Завтра не придём")

    block = message_block(
        page_text(as_user(world.educator).get(f"/chats/{group_chat.id}")), message.id
    )
    assert "Завтра придём к 9" in block
    assert "Завтра не придём" not in block
    assert "изменено" in block

    parent.post(f"/messages/{message.id}/edit", data={"text": "Завтра придём к 10"})
    versions = db.session.scalars(select(MessageEdit).order_by(MessageEdit.id)).all()
    assert [v.text for v in versions] == ["Завтра не придём", "Завтра придём к 9"]


def test_saving_the_same_text_is_not_an_edit(world, as_user, group_chat):
    message = f.make_message(group_chat, world.parent, "Как было")
    response = as_user(world.parent).post(f"/messages/{message.id}/edit", data={"text": "Как было"})
    assert response.status_code == 303
    assert reload(message).edited_at is None
    assert count(MessageEdit) == 0


def test_htmx_edit_answers_with_the_message(world, as_user, group_chat):
    message = f.make_message(group_chat, world.parent, "Было")
    parent = as_user(world.parent)
    form = parent.get(f"/messages/{message.id}/edit", headers=HTMX)
    assert page_text(form).lstrip().startswith('<form class="bubble edit"')
    response = parent.post(f"/messages/{message.id}/edit", data={"text": "Стало"}, headers=HTMX)
    assert response.status_code == 200
    assert page_text(response).lstrip().startswith(f'<li id="m-{message.id}"')
    assert "Стало" in page_text(response)


@pytest.mark.parametrize(
    "text,error",
    [("", "Заполните это поле."), ("  \n ", "Заполните это поле."), ("ж" * 4001, None)],
)
def test_a_bad_edit_is_refused(world, as_user, group_chat, text, error):
    message = f.make_message(group_chat, world.parent, "Как было")
    response = as_user(world.parent).post(f"/messages/{message.id}/edit", data={"text": text})
    assert response.status_code == 422
    assert (error or "Не длиннее 4000 символов.") in form_errors(response)
    assert reload(message).text == "Как было"
    assert count(MessageEdit) == 0


@pytest.mark.parametrize("editor", ["educator", "director", "group_parent"])
def test_nobody_edits_someone_else_s_message(world, as_user, group_chat, group_parent, editor):
    message = f.make_message(group_chat, world.parent, "Моё")
    person = group_parent if editor == "group_parent" else world.persona(editor)
    client = as_user(person)
    assert client.get(f"/messages/{message.id}/edit").status_code == 403
    assert client.post(f"/messages/{message.id}/edit", data={"text": "Чужое"}).status_code == 403
    assert reload(message).text == "Моё"
    assert count(MessageEdit) == 0


def test_the_history_is_for_the_author_moderators_and_the_director(
    world, as_user, group_chat, group_parent
):
    message = f.make_message(group_chat, world.parent, "Первый вариант")
    as_user(world.parent).post(f"/messages/{message.id}/edit", data={"text": "Второй вариант"})
    for person in (world.parent, world.educator, world.director, world.admin):
        page = as_user(person).get(f"/messages/{message.id}/history")
        assert page.status_code == 200, person.name
        assert "Первый вариант" in page_text(page)
        assert "Второй вариант" in page_text(page)
    assert as_user(group_parent).get(f"/messages/{message.id}/history").status_code == 403
    assert (
        as_user(world.other_group_parent).get(f"/messages/{message.id}/history").status_code == 404
    )


def test_only_the_author_and_moderators_get_the_history_link(
    world, as_user, group_chat, group_parent
):
    message = f.make_message(group_chat, world.parent, "Первый вариант")
    as_user(world.parent).post(f"/messages/{message.id}/edit", data={"text": "Второй"})
    link = f'href="/messages/{message.id}/history"'
    assert link in page_text(as_user(world.educator).get(f"/chats/{group_chat.id}"))
    other = page_text(as_user(group_parent).get(f"/chats/{group_chat.id}"))
    assert link not in other
    assert "изменено" in message_block(other, message.id)


# --- deleting -----------------------------------------------------------------------------------


def test_the_author_deletes_their_message(world, as_user, group_chat):
    message = f.make_message(group_chat, world.parent, "Случайно отправила")
    response = as_user(world.parent).post(f"/messages/{message.id}/delete")
    assert response.status_code == 303
    reload(message)
    assert message.deleted_at is not None
    assert message.deleted_by_id == world.parent.id
    for person in (world.educator, world.parent, world.director):
        body = page_text(as_user(person).get(f"/chats/{group_chat.id}"))
        block = message_block(body, message.id)
        assert "Сообщение удалено" in block
        assert "Случайно отправила" not in body
    assert "Случайно отправила" not in page_text(
        as_user(world.educator).get(f"/chats/{group_chat.id}/updates?after=0")
    )


def test_htmx_delete_answers_with_the_deleted_message(world, as_user, group_chat):
    message = f.make_message(group_chat, world.parent, "Случайно")
    response = as_user(world.parent).post(f"/messages/{message.id}/delete", headers=HTMX)
    assert response.status_code == 200
    assert "Сообщение удалено" in page_text(response)
    assert "Случайно" not in page_text(response)


@pytest.mark.parametrize("deleter", ["educator", "director", "admin", "group_parent"])
def test_nobody_deletes_someone_else_s_message(world, as_user, group_chat, group_parent, deleter):
    message = f.make_message(group_chat, world.parent, "Моё")
    person = group_parent if deleter == "group_parent" else world.persona(deleter)
    assert as_user(person).post(f"/messages/{message.id}/delete").status_code == 403
    assert reload(message).deleted_at is None


def test_a_deleted_message_cannot_be_deleted_or_edited_again(world, as_user, group_chat):
    message = f.make_message(group_chat, world.parent, "Было")
    parent = as_user(world.parent)
    assert parent.post(f"/messages/{message.id}/delete").status_code == 303
    assert parent.post(f"/messages/{message.id}/delete").status_code == 403
    assert parent.post(f"/messages/{message.id}/edit", data={"text": "Вернём"}).status_code == 403
    assert reload(message).text == ""  # the author's deletion erased it; no edit brings it back


# --- reactions ----------------------------------------------------------------------------------


def reactions_of(message) -> list[tuple[int, str]]:
    return db.session.execute(
        select(Reaction.user_id, Reaction.emoji)
        .where(Reaction.message_id == message.id)
        .order_by(Reaction.user_id, Reaction.emoji)
    ).all()


def test_a_reaction_toggles(world, as_user, group_chat, group_parent):
    message = f.make_message(group_chat, world.educator, "Завтра утренник")
    parent = as_user(world.parent)
    assert parent.post(f"/messages/{message.id}/react", data={"emoji": "👍"}).status_code == 303
    assert reactions_of(message) == [(world.parent.id, "👍")]
    as_user(group_parent).post(f"/messages/{message.id}/react", data={"emoji": "👍"})
    parent.post(f"/messages/{message.id}/react", data={"emoji": "❤️"})
    block = message_block(page_text(parent.get(f"/chats/{group_chat.id}")), message.id)
    assert '<span class="reaction mine">👍 2</span>' in block
    assert '<span class="reaction mine">❤️ 1</span>' in block

    assert parent.post(f"/messages/{message.id}/react", data={"emoji": "👍"}).status_code == 303
    assert reactions_of(message) == [(world.parent.id, "❤️"), (group_parent.id, "👍")]
    block = message_block(page_text(parent.get(f"/chats/{group_chat.id}")), message.id)
    assert '<span class="reaction">👍 1</span>' in block


@pytest.mark.parametrize("emoji", ["👎", "💩", "👍👍", "<b>", "👍 ", "x"])
def test_only_the_five_reactions_are_accepted(world, as_user, group_chat, emoji):
    message = f.make_message(group_chat, world.educator, "Завтра утренник")
    rev = reload(group_chat).rev
    response = as_user(world.parent).post(f"/messages/{message.id}/react", data={"emoji": emoji})
    assert response.status_code == 422
    assert "Такой реакции нет." in page_text(response)
    assert reactions_of(message) == []
    assert reload(group_chat).rev == rev


def test_htmx_refused_reaction_goes_to_the_toast(world, as_user, group_chat):
    message = f.make_message(group_chat, world.educator, "Завтра утренник")
    response = as_user(world.parent).post(
        f"/messages/{message.id}/react", data={"emoji": "💩"}, headers=HTMX
    )
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#toast"
    assert (
        page_text(response).strip()
        == '<div class="flash error" role="alert">Такой реакции нет.</div>'
    )
    assert reactions_of(message) == []


def test_a_reaction_without_an_emoji_is_a_bad_request(world, as_user, group_chat):
    message = f.make_message(group_chat, world.educator, "Завтра утренник")
    assert as_user(world.parent).post(f"/messages/{message.id}/react").status_code == 400
    assert reactions_of(message) == []


def test_htmx_reaction_answers_with_the_message(world, as_user, group_chat):
    message = f.make_message(group_chat, world.educator, "Завтра утренник")
    response = as_user(world.parent).post(
        f"/messages/{message.id}/react", data={"emoji": "🙏"}, headers=HTMX
    )
    assert response.status_code == 200
    assert '<span class="reaction mine">🙏 1</span>' in page_text(response)


def test_a_deleted_message_takes_no_reactions(world, as_user, group_chat):
    message = f.make_message(group_chat, world.educator, "Было", deleted_at=utcnow())
    response = as_user(world.parent).post(f"/messages/{message.id}/react", data={"emoji": "👍"})
    assert response.status_code == 422
    assert reactions_of(message) == []


# --- pins ---------------------------------------------------------------------------------------


def pinned_block(body: str) -> str:
    start = body.index('<div id="pinned">')
    return body[start : body.index('<div id="toast"', start)]


def test_the_moderator_pins_and_unpins(world, as_user, group_chat):
    first = f.make_message(group_chat, world.educator, "Расписание на неделю")
    f.make_message(group_chat, world.parent, "Спасибо!")
    educator = as_user(world.educator)
    response = educator.post(f"/messages/{first.id}/pin", data={"pinned": "1"})
    assert response.status_code == 303
    reload(first)
    assert first.pinned_at is not None
    assert first.pinned_by_id == world.educator.id

    body = page_text(as_user(world.parent).get(f"/chats/{group_chat.id}"))
    pinned = pinned_block(body)
    assert f'href="#m-{first.id}"' in pinned
    assert "Расписание на неделю" in pinned
    assert "Спасибо!" not in pinned
    assert body.index('<div id="pinned">') < body.index('<ol id="messages"'), "on top"

    assert educator.post(f"/messages/{first.id}/pin", data={"pinned": "0"}).status_code == 303
    assert reload(first).pinned_at is None
    body = page_text(as_user(world.parent).get(f"/chats/{group_chat.id}"))
    assert "Расписание на неделю" not in pinned_block(body)


def test_a_parent_cannot_pin(world, as_user, group_chat):
    message = f.make_message(group_chat, world.parent, "Моё важное")
    response = as_user(world.parent).post(f"/messages/{message.id}/pin", data={"pinned": "1"})
    assert response.status_code == 403
    assert reload(message).pinned_at is None
    assert "/pin" not in page_text(as_user(world.parent).get(f"/chats/{group_chat.id}"))


def test_the_director_pins_in_any_chat(world, as_user, group_chat):
    message = f.make_message(group_chat, world.parent, "Вопрос")
    response = as_user(world.director).post(f"/messages/{message.id}/pin", data={"pinned": "1"})
    assert response.status_code == 303
    assert reload(message).pinned_by_id == world.director.id


def test_deleting_a_pinned_message_unpins_it(world, as_user, group_chat):
    message = f.make_message(group_chat, world.educator, "Закреплённое")
    educator = as_user(world.educator)
    educator.post(f"/messages/{message.id}/pin", data={"pinned": "1"})
    educator.post(f"/messages/{message.id}/delete")
    assert reload(message).pinned_at is None
    body = page_text(as_user(world.parent).get(f"/chats/{group_chat.id}"))
    assert "Закреплённое" not in body


# --- «Важное» and confirmations -----------------------------------------------------------------


def test_staff_post_important_messages(world, as_user, group_chat):
    post_message(as_user(world.educator), group_chat, "Карантин до пятницы", important="y")
    message = last_message(group_chat)
    assert message.important
    body = page_text(as_user(world.parent).get(f"/chats/{group_chat.id}"))
    block = message_block(body, message.id)
    assert "Важное" in block
    assert "Ознакомлен(а)" in block


def test_a_parent_s_important_flag_is_ignored(world, as_user, group_chat):
    response = post_message(as_user(world.parent), group_chat, "Срочно!", important="y")
    assert response.status_code == 303
    assert last_message(group_chat).important is False
    assert 'name="important"' not in page_text(as_user(world.parent).get(f"/chats/{group_chat.id}"))


def test_the_author_marks_and_unmarks_important(world, as_user, group_chat):
    message = f.make_message(group_chat, world.educator, "Собрание")
    educator = as_user(world.educator)
    assert (
        educator.post(f"/messages/{message.id}/important", data={"important": "1"}).status_code
        == 303
    )
    assert reload(message).important
    assert (
        educator.post(f"/messages/{message.id}/important", data={"important": "0"}).status_code
        == 303
    )
    assert not reload(message).important
    parents = f.make_message(group_chat, world.parent, "Моё")
    parent = as_user(world.parent)
    assert (
        parent.post(f"/messages/{parents.id}/important", data={"important": "1"}).status_code == 403
    )
    assert not reload(parents).important


def test_members_confirm_once(world, as_user, group_chat, group_parent):
    message = f.make_message(group_chat, world.educator, "Карантин", important=True)
    parent = as_user(world.parent)
    assert parent.post(f"/messages/{message.id}/confirm").status_code == 303
    assert parent.post(f"/messages/{message.id}/confirm").status_code == 303
    assert db.session.scalars(select(Confirmation.user_id)).all() == [world.parent.id]
    block = message_block(page_text(parent.get(f"/chats/{group_chat.id}")), message.id)
    assert "Вы ознакомились" in block
    assert "/confirm" not in block.replace("/confirmations", "")


def test_a_message_that_is_not_important_cannot_be_confirmed(world, as_user, group_chat):
    message = f.make_message(group_chat, world.educator, "Просто так")
    response = as_user(world.parent).post(f"/messages/{message.id}/confirm")
    assert response.status_code == 409
    assert "Это сообщение не требует подтверждения." in page_text(response)
    assert count(Confirmation) == 0


def test_the_author_does_not_confirm_their_own_message(world, as_user, group_chat):
    message = f.make_message(group_chat, world.educator, "Карантин", important=True)
    response = as_user(world.educator).post(f"/messages/{message.id}/confirm")
    assert response.status_code == 409
    assert "Своё сообщение подтверждать не нужно." in page_text(response)
    assert count(Confirmation) == 0


def test_who_confirmed_and_who_not(world, as_user, group_chat, group_parent):
    helper = f.make_staff(world.kindergarten, "Вера Помощникова", position="pomoshnik")
    db.session.add(ChatMember(chat_id=group_chat.id, user_id=helper.id, is_moderator=True))
    db.session.commit()
    message = f.make_message(group_chat, world.educator, "Карантин", important=True)
    as_user(world.parent).post(f"/messages/{message.id}/confirm")

    for person in (world.educator, helper, world.director, world.admin):
        page = as_user(person).get(f"/messages/{message.id}/confirmations")
        assert page.status_code == 200, person.name
        body = page_text(page)
        assert "Ознакомились: 1 из 3" in body
        done, waiting = body.split("Ещё не ознакомились")
        assert world.parent.name in done.split("<h2>Ознакомились</h2>")[1]
        assert group_parent.name in waiting
        assert helper.name in waiting
        assert world.parent.name not in waiting
    block = message_block(
        page_text(as_user(world.educator).get(f"/chats/{group_chat.id}")), message.id
    )
    assert "Ознакомился 1 человек" in block

    for person in (world.parent, group_parent):
        assert as_user(person).get(f"/messages/{message.id}/confirmations").status_code == 403
    plain = f.make_message(group_chat, world.educator, "Не важное")
    assert as_user(world.educator).get(f"/messages/{plain.id}/confirmations").status_code == 404


# --- photos and files ---------------------------------------------------------------------------


def attachments_of(message) -> list[Attachment]:
    return db.session.scalars(
        select(Attachment).where(Attachment.message_id == message.id).order_by(Attachment.position)
    ).all()


def test_a_photo_is_served_without_exif_or_gps(world, as_user, group_chat):
    original = jpeg_with_gps()
    assert b"GPS" in original or Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)
    response = post_message(
        as_user(world.parent),
        group_chat,
        "С прогулки",
        files=[(io.BytesIO(original), "IMG_0001.JPG")],
    )
    assert response.status_code == 303
    message = last_message(group_chat)
    (photo,) = attachments_of(message)
    assert (photo.kind, photo.mime, photo.filename) == ("photo", "image/jpeg", "IMG_0001.jpg")
    assert (photo.width, photo.height) == (120, 90)

    educator = as_user(world.educator)
    served = fetch(educator, f"/files/{photo.id}")
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "image/jpeg"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Cache-Control"].startswith("private")
    assert served.headers["Content-Disposition"].startswith("inline;")
    data = served.get_data()
    assert b"GPS" not in data
    assert b"SecretCam" not in data
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    assert dict(image.getexif()) == {}
    assert image.size == (120, 90)

    thumb = fetch(educator, f"/files/{photo.id}/thumb")
    assert thumb.status_code == 200
    assert thumb.headers["Content-Type"] == "image/jpeg"
    assert thumb.headers["X-Content-Type-Options"] == "nosniff"
    assert b"GPS" not in thumb.get_data()
    assert Image.open(io.BytesIO(thumb.get_data())).format == "JPEG"

    block = message_block(page_text(educator.get(f"/chats/{group_chat.id}")), message.id)
    assert f'<img src="/files/{photo.id}/thumb"' in block
    assert f'href="/files/{photo.id}"' in block


def test_several_photos_and_files_in_one_message(world, as_user, group_chat):
    before = stored_files()
    response = post_message(
        as_user(world.educator),
        group_chat,
        "",
        files=[
            (io.BytesIO(jpeg_bytes(color="red")), "1.jpg"),
            (io.BytesIO(encode(Image.new("RGBA", (30, 20), (0, 0, 255, 128)), "PNG")), "2.png"),
            (io.BytesIO(pdf_bytes()), "Меню на неделю.pdf"),
        ],
    )
    assert response.status_code == 303
    message = last_message(group_chat)
    assert message.text == ""
    found = attachments_of(message)
    assert [(a.kind, a.filename, a.position) for a in found] == [
        ("photo", "1.jpg", 0),
        ("photo", "2.jpg", 1),
        ("file", "Меню на неделю.pdf", 2),
    ]
    made = stored_files() - before
    expected = {a.stored_name for a in found} | {a.thumb_name for a in found if a.thumb_name}
    assert made == expected
    pdf = found[2]
    served = fetch(as_user(world.parent), f"/files/{pdf.id}")
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "application/pdf"
    assert served.headers["Content-Disposition"].startswith("attachment;")
    assert served.get_data() == pdf_bytes()
    assert fetch(as_user(world.parent), f"/files/{pdf.id}/thumb").status_code == 404
    assert "Вы: Вложение" in chat_rows(as_user(world.educator).get("/chats"))[group_chat.id]


def test_a_file_name_cannot_inject_headers(world, as_user, group_chat):
    response = post_message(
        as_user(world.educator),
        group_chat,
        "Отчёт",
        files=[(pdf_bytes(), 'отчёт"\r\nSet-Cookie: x.pdf')],
    )
    assert response.status_code == 303
    (document,) = attachments_of(last_message(group_chat))
    assert "\r" not in document.filename and "\n" not in document.filename
    assert '"' not in document.filename
    assert document.filename.startswith("отчёт")

    served = fetch(as_user(world.parent), f"/files/{document.id}")
    assert served.status_code == 200
    disposition = served.headers["Content-Disposition"]
    assert "filename*=UTF-8''" in disposition
    assert "\r" not in disposition and "\n" not in disposition
    assert cookies_set(served) in ([], ["__Host-sferum_session"]), "only the session's own cookie"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Cache-Control"].startswith("private")
    assert "sandbox" in served.headers["Content-Security-Policy"]


def test_a_stored_name_with_line_breaks_is_still_served_safely(world, as_user, group_chat):
    """Content-Disposition is built safely even from a name that was never cleaned."""
    message = f.make_message(group_chat, world.educator, "Отчёт")
    stored = media.store(upload_folder(), pdf_bytes(), ".pdf")
    db.session.add(
        Attachment(
            message_id=message.id,
            kind="file",
            stored_name=stored,
            filename='отчёт"\r\nSet-Cookie: x=1\r\n\r\n<b>.pdf',
            mime="application/pdf",
            size=len(pdf_bytes()),
        )
    )
    db.session.commit()
    (document,) = attachments_of(message)
    served = fetch(as_user(world.parent), f"/files/{document.id}")
    assert served.status_code == 200
    disposition = served.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=")
    assert "filename*=UTF-8''" in disposition
    assert "\r" not in disposition and "\n" not in disposition
    assert disposition.count('"') == 2
    assert cookies_set(served) in ([], ["__Host-sferum_session"]), "only the session's own cookie"


def test_a_file_name_with_a_path_is_stored_under_a_random_name(world, as_user, group_chat):
    before = stored_files()
    outside = (upload_folder() / "../../sferum.sqlite3").resolve()
    existed = outside.exists()
    response = post_message(
        as_user(world.educator),
        group_chat,
        "Файл",
        files=[(io.BytesIO(pdf_bytes()), "../../sferum.sqlite3")],
    )
    assert response.status_code == 303
    (document,) = attachments_of(last_message(group_chat))
    assert document.filename == "sferum.sqlite3"
    assert re.fullmatch(r"[A-Za-z0-9_-]{20,64}\.pdf", document.stored_name)
    assert stored_files() - before == {document.stored_name}
    assert (upload_folder() / document.stored_name).read_bytes() == pdf_bytes()
    assert outside.exists() == existed


def test_html_appended_to_a_jpeg_is_not_served(world, as_user, group_chat):
    payload = b"<html><script>alert(document.cookie)</script></html>"
    response = post_message(
        as_user(world.parent),
        group_chat,
        "",
        files=[(io.BytesIO(jpeg_bytes() + payload), "polyglot.jpg")],
    )
    assert response.status_code == 303
    (photo,) = attachments_of(last_message(group_chat))
    for url in (f"/files/{photo.id}", f"/files/{photo.id}/thumb"):
        data = fetch(as_user(world.educator), url).get_data()
        assert b"<script" not in data
        assert b"<html" not in data
        assert Image.open(io.BytesIO(data)).format == "JPEG"


def svg() -> bytes:
    return b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def exe() -> bytes:
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


REFUSED_UPLOADS = [
    pytest.param(
        lambda: [(svg(), "рисунок.svg")],
        "Такой тип файла не принимается: «рисунок.svg»",
        id="svg",
    ),
    pytest.param(
        lambda: [(exe(), "photo.jpg")],
        "Такой тип файла не принимается: «photo.jpg»",
        id="exe-renamed-jpg",
    ),
    pytest.param(
        lambda: [(png_claiming(20000, 20000), "огромное.png")],
        "Фото «огромное.png» слишком большое",
        id="20000x20000-png",
    ),
    pytest.param(
        lambda: [(jpeg_bytes() + b"\0" * (media.PHOTO_MAX_BYTES + 1), "большое.jpg")],
        "Файл «большое.jpg» больше 15 МБ",
        id="photo-over-15-mb",
    ),
    pytest.param(
        lambda: [(pdf_bytes(b"\0" * (media.FILE_MAX_BYTES + 1)), "толстый.pdf")],
        "Файл «толстый.pdf» больше 20 МБ",
        id="file-over-20-mb",
    ),
    pytest.param(
        lambda: [(jpeg_bytes(), f"{i}.jpg") for i in range(11)],
        "Не больше 10 фото в одном сообщении.",
        id="11-photos",
    ),
    pytest.param(
        lambda: [(jpeg_bytes(), "ok.jpg"), (b"\xff\xd8\xff\xe0 broken", "битое.jpg")],
        "Фото «битое.jpg» не открывается",
        id="broken-photo-after-a-good-one",
    ),
    pytest.param(lambda: [(b"   ", "пусто.txt")], "Файл «пусто.txt» пустой.", id="empty-file"),
]


@pytest.mark.parametrize("files,problem", REFUSED_UPLOADS)
def test_a_refused_upload_saves_nothing_and_keeps_the_text(
    world, as_user, group_chat, files, problem
):
    before = stored_files()
    text = "Посмотрите, пожалуйста\nвложение"
    response = post_message(
        as_user(world.educator),
        group_chat,
        text,
        files=[(io.BytesIO(data), name) for data, name in files()],
    )
    assert response.status_code == 422
    errors = form_errors(response)
    assert any(problem in error for error in errors), errors
    assert typed_text(response) == text
    assert messages_of(group_chat) == []
    assert count(Attachment) == 0
    assert stored_files() == before
    assert reload(group_chat).rev == 0


def test_ten_photos_are_accepted(world, as_user, group_chat):
    response = post_message(
        as_user(world.educator),
        group_chat,
        "Десять",
        files=[(io.BytesIO(jpeg_bytes()), f"{i}.jpg") for i in range(10)],
    )
    assert response.status_code == 303
    assert len(attachments_of(last_message(group_chat))) == 10


def test_a_refused_upload_over_htmx_keeps_the_text_in_the_composer(world, as_user, group_chat):
    response = post_message(
        as_user(world.educator),
        group_chat,
        "Текст остаётся",
        files=[(io.BytesIO(svg()), "x.svg")],
        headers=HTMX,
    )
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#composer"
    assert typed_text(response) == "Текст остаётся"
    assert messages_of(group_chat) == []


# --- polls --------------------------------------------------------------------------------------


def poll_of(message) -> Poll:
    return db.session.scalar(select(Poll).where(Poll.message_id == message.id))


def options_of(poll) -> list[PollOption]:
    return db.session.scalars(
        select(PollOption).where(PollOption.poll_id == poll.id).order_by(PollOption.position)
    ).all()


def votes_of(poll) -> list[tuple[int, int]]:
    return db.session.execute(
        select(PollVote.user_id, PollVote.option_id)
        .where(PollVote.poll_id == poll.id)
        .order_by(PollVote.user_id, PollVote.option_id)
    ).all()


def make_poll(client, chat, options="Мама\nПапа\nОба", **fields):
    response = post_message(
        client, chat, "", poll_question="Кто придёт на утренник?", poll_options=options, **fields
    )
    assert response.status_code == 303, form_errors(response)
    poll = poll_of(last_message(chat))
    return poll, options_of(poll)


def test_a_poll_is_made_with_its_options(world, as_user, group_chat):
    poll, options = make_poll(
        as_user(world.educator),
        group_chat,
        options=" Мама \n\nПапа\n  Оба  родителя\n",
        poll_multiple="y",
        poll_anonymous="y",
        poll_closes="2030-05-20T18:30",
    )
    assert poll.question == "Кто придёт на утренник?"
    assert [o.text for o in options] == ["Мама", "Папа", "Оба родителя"]
    assert poll.multiple and poll.anonymous
    assert poll.closes_at == datetime(2030, 5, 20, 15, 30, tzinfo=UTC), "Moscow time, UTC+3"
    body = page_text(as_user(world.parent).get(f"/chats/{group_chat.id}"))
    assert "Кто придёт на утренник?" in body
    assert "до 20 мая, 18:30" in body
    assert "Несколько ответов · анонимный" in body


def test_a_parent_votes_and_changes_the_vote(world, as_user, group_chat):
    poll, (mum, dad, both) = make_poll(as_user(world.educator), group_chat)
    parent = as_user(world.parent)
    assert parent.post(f"/polls/{poll.id}/vote", data={"options": mum.id}).status_code == 303
    assert votes_of(poll) == [(world.parent.id, mum.id)]
    assert parent.post(f"/polls/{poll.id}/vote", data={"options": mum.id}).status_code == 303
    assert votes_of(poll) == [(world.parent.id, mum.id)], "voting twice keeps one vote"
    assert parent.post(f"/polls/{poll.id}/vote", data={"options": dad.id}).status_code == 303
    assert votes_of(poll) == [(world.parent.id, dad.id)]
    body = page_text(parent.get(f"/chats/{group_chat.id}"))
    assert "Изменить голос" in body
    assert "Проголосовал 1 человек" in body


def test_results_and_voters_of_an_open_poll(world, as_user, group_chat, group_parent):
    poll, (mum, dad, both) = make_poll(as_user(world.educator), group_chat)
    as_user(world.parent).post(f"/polls/{poll.id}/vote", data={"options": mum.id})
    as_user(group_parent).post(f"/polls/{poll.id}/vote", data={"options": dad.id})
    as_user(world.educator).post(f"/polls/{poll.id}/vote", data={"options": dad.id})
    message = last_message(group_chat)
    block = message_block(
        page_text(as_user(world.parent).get(f"/chats/{group_chat.id}")), message.id
    )
    rows = re.findall(r'<div class="poll-option[^"]*">(.*?)</div>', block, re.S)
    assert len(rows) == 3
    assert "1 · 33%" in rows[0] and world.parent.name in rows[0]
    assert "2 · 67%" in rows[1]
    assert group_parent.name in rows[1] and world.educator.name in rows[1]
    assert "0 · 0%" in rows[2]
    assert "Проголосовали 3 человек" in block


def test_an_anonymous_poll_shows_counts_but_no_names(world, as_user, group_chat, group_parent):
    poll, (mum, dad, both) = make_poll(as_user(world.educator), group_chat, poll_anonymous="y")
    as_user(world.parent).post(f"/polls/{poll.id}/vote", data={"options": mum.id})
    as_user(group_parent).post(f"/polls/{poll.id}/vote", data={"options": mum.id})
    message = last_message(group_chat)
    for viewer in (world.educator, world.director, world.parent):
        block = block_of(as_user(viewer), group_chat, message)
        assert "2 · 100%" in block
        assert 'class="muted voters"' not in block
        assert group_parent.name not in block
        if viewer != world.parent:
            assert world.parent.name not in block
    htmx = as_user(world.educator).post(
        f"/polls/{poll.id}/vote", data={"options": dad.id}, headers=HTMX
    )
    assert group_parent.name not in page_text(htmx)


def test_a_multiple_choice_poll_takes_several_options(world, as_user, group_chat):
    poll, (mum, dad, both) = make_poll(as_user(world.educator), group_chat, poll_multiple="y")
    parent = as_user(world.parent)
    response = parent.post(f"/polls/{poll.id}/vote", data={"options": [mum.id, dad.id, mum.id]})
    assert response.status_code == 303
    assert votes_of(poll) == [(world.parent.id, mum.id), (world.parent.id, dad.id)]
    parent.post(f"/polls/{poll.id}/vote", data={"options": [both.id]})
    assert votes_of(poll) == [(world.parent.id, both.id)]


def test_bad_votes_are_refused(world, as_user, group_chat):
    poll, (mum, dad, both) = make_poll(as_user(world.educator), group_chat)
    other, (other_option, *_rest) = make_poll(as_user(world.educator), group_chat)
    parent = as_user(world.parent)
    parent.post(f"/polls/{poll.id}/vote", data={"options": mum.id})
    for options, problem in (
        ([other_option.id], "Такого варианта в этом опросе нет."),
        ([NO_SUCH_ID], "Такого варианта в этом опросе нет."),
        ([mum.id, dad.id], "В этом опросе можно выбрать только один вариант."),
        ([], "Выберите вариант ответа."),
    ):
        response = parent.post(f"/polls/{poll.id}/vote", data={"options": options})
        assert response.status_code == 422, options
        assert problem in page_text(response)
    assert parent.post(f"/polls/{poll.id}/vote", data={"options": "мама"}).status_code == 400
    assert votes_of(poll) == [(world.parent.id, mum.id)]
    assert votes_of(other) == []


def test_no_votes_after_the_deadline(world, as_user, group_chat):
    with time_machine.travel(datetime(2026, 11, 24, 7, 0, tzinfo=UTC), tick=False) as traveller:
        poll, (mum, dad, both) = make_poll(
            as_user(world.educator), group_chat, poll_closes="2026-11-24T12:00"
        )
        assert poll.closes_at == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
        parent = as_user(world.parent)
        assert parent.post(f"/polls/{poll.id}/vote", data={"options": mum.id}).status_code == 303

        traveller.move_to(datetime(2026, 11, 24, 9, 0, 1, tzinfo=UTC))
        response = parent.post(f"/polls/{poll.id}/vote", data={"options": dad.id})
        assert response.status_code == 422
        assert "Опрос закрыт: голосовать уже нельзя." in page_text(response)
        assert votes_of(poll) == [(world.parent.id, mum.id)]
        block = message_block(
            page_text(parent.get(f"/chats/{group_chat.id}")), last_message(group_chat).id
        )
        assert "закрыт" in block
        assert 'name="options"' not in block


def test_a_poll_closing_in_the_past_is_refused(world, as_user, group_chat):
    with time_machine.travel(datetime(2026, 11, 24, 7, 0, tzinfo=UTC), tick=False):
        response = post_message(
            as_user(world.educator),
            group_chat,
            "",
            poll_question="Кто придёт?",
            poll_options="Да\nНет",
            poll_closes="2026-11-24T09:59",  # 06:59 UTC
        )
    assert response.status_code == 422
    assert "Срок опроса уже прошёл: выберите время в будущем." in form_errors(response)
    assert count(Poll) == 0
    assert messages_of(group_chat) == []


@pytest.mark.parametrize(
    "question,options,problem",
    [
        ("Кто придёт?", "Да", "В опросе нужно хотя бы два варианта ответа."),
        ("Кто придёт?", "", "В опросе нужно хотя бы два варианта ответа."),
        ("Кто придёт?", " \n \n", "В опросе нужно хотя бы два варианта ответа."),
        ("Кто придёт?", "\n".join(f"Вариант {i}" for i in range(11)), "не больше 10 вариантов"),
        ("Кто придёт?", "Да\nДа", "Варианты ответа повторяются."),
        ("Кто придёт?", "Да\n" + "ж" * 101, "Вариант ответа — не длиннее 100 символов."),
        ("", "Да\nНет", "Напишите вопрос опроса."),
        ("Ж" * 301, "Да\nНет", "Не длиннее 300 символов."),
    ],
)
def test_a_bad_poll_is_refused(world, as_user, group_chat, question, options, problem):
    response = post_message(
        as_user(world.educator),
        group_chat,
        "Опрос",
        poll_question=question,
        poll_options=options,
    )
    assert response.status_code == 422
    assert any(problem in error for error in form_errors(response)), form_errors(response)
    assert count(Poll) == 0
    assert messages_of(group_chat) == []


def test_ten_options_are_accepted(world, as_user, group_chat):
    poll, options = make_poll(
        as_user(world.educator), group_chat, options="\n".join(f"Вариант {i}" for i in range(10))
    )
    assert len(options) == 10


def test_a_parent_may_ask_a_poll_in_a_group_chat(world, as_user, group_chat):
    poll, options = make_poll(as_user(world.parent), group_chat, options="Да\nНет")
    assert [o.text for o in options] == ["Да", "Нет"]


def test_no_votes_on_a_deleted_poll(world, as_user, group_chat):
    poll, (mum, *_rest) = make_poll(as_user(world.educator), group_chat)
    message = last_message(group_chat)
    assert as_user(world.educator).post(f"/messages/{message.id}/delete").status_code == 303
    response = as_user(world.parent).post(f"/polls/{poll.id}/vote", data={"options": mum.id})
    assert response.status_code == 422
    assert "Сообщение удалено." in page_text(response)
    assert votes_of(poll) == []


def test_a_poll_deadline_that_is_not_a_date_is_refused(world, as_user, group_chat):
    response = post_message(
        as_user(world.educator),
        group_chat,
        "",
        poll_question="Кто придёт?",
        poll_options="Да\nНет",
        poll_closes="завтра",
    )
    assert response.status_code == 422
    assert count(Poll) == 0
    assert messages_of(group_chat) == []


def test_no_votes_in_an_archived_chat(world, as_user, group_chat):
    poll, (mum, *_rest) = make_poll(as_user(world.educator), group_chat)
    group_chat.archived_at = utcnow()
    db.session.commit()
    assert (
        as_user(world.parent).post(f"/polls/{poll.id}/vote", data={"options": mum.id}).status_code
        == 403
    )
    assert votes_of(poll) == []


# --- read state ---------------------------------------------------------------------------------


def test_reading_moves_the_position_forward_never_back(world, as_user, group_chat):
    first, second, third = (
        f.make_message(group_chat, world.educator, text) for text in ("Раз", "Два", "Три")
    )
    parent = as_user(world.parent)
    assert unread_in(chat_rows(parent.get("/chats"))[group_chat.id]) == 3

    assert parent.post(f"/chats/{group_chat.id}/read", data={"last": second.id}).status_code == 204
    assert member(group_chat, world.parent).last_read_id == second.id
    assert unread_in(chat_rows(parent.get("/chats"))[group_chat.id]) == 1

    assert parent.post(f"/chats/{group_chat.id}/read", data={"last": first.id}).status_code == 204
    assert reload(member(group_chat, world.parent)).last_read_id == second.id, "never back"

    parent.post(f"/chats/{group_chat.id}/read", data={"last": NO_SUCH_ID})
    assert reload(member(group_chat, world.parent)).last_read_id == third.id
    assert unread_in(chat_rows(parent.get("/chats"))[group_chat.id]) == 0


@pytest.mark.parametrize("last", ["", "abc", "1.5"])
def test_a_bad_read_position_is_a_bad_request(world, as_user, group_chat, last):
    f.make_message(group_chat, world.educator, "Раз")
    response = as_user(world.parent).post(f"/chats/{group_chat.id}/read", data={"last": last})
    assert response.status_code == 400
    assert member(group_chat, world.parent).last_read_id == 0


def test_an_overseer_reading_changes_nothing(world, as_user, group_chat):
    message = f.make_message(group_chat, world.educator, "Раз")
    response = as_user(world.director).post(
        f"/chats/{group_chat.id}/read", data={"last": message.id}
    )
    assert response.status_code == 204
    assert member(group_chat, world.director) is None


def test_unread_counts_the_others_messages_only(world, as_user, group_chat):
    f.make_message(group_chat, world.educator, "Раз")
    post_message(as_user(world.parent), group_chat, "Мой ответ")
    f.make_message(group_chat, world.educator, "Два")
    f.make_message(group_chat, world.educator, "Удалённое", deleted_at=utcnow())
    assert unread_in(chat_rows(as_user(world.parent).get("/chats"))[group_chat.id]) == 1
    assert unread_in(chat_rows(as_user(world.educator).get("/chats"))[group_chat.id]) == 0


def test_the_new_messages_divider_is_before_the_first_unread(world, as_user, group_chat):
    read = f.make_message(group_chat, world.educator, "Прочитано")
    f.make_message(group_chat, world.parent, "Мой вопрос")  # moves the parent's position
    first_new = f.make_message(group_chat, world.educator, "Новое")
    f.make_message(group_chat, world.educator, "Ещё новое")
    body = page_text(as_user(world.parent).get(f"/chats/{group_chat.id}"))
    assert body.count('id="unread"') == 1
    assert "Новые сообщения" in body
    divider = body.index('id="unread"')
    assert body.index(f'id="m-{read.id}"') < divider < body.index(f'id="m-{first_new.id}"')
    assert not body[divider : body.index(f'id="m-{first_new.id}"')].count('<li id="m-')

    as_user(world.parent).post(f"/chats/{group_chat.id}/read", data={"last": first_new.id + 1})
    assert 'id="unread"' not in page_text(as_user(world.parent).get(f"/chats/{group_chat.id}"))
    assert 'id="unread"' not in page_text(as_user(world.educator).get(f"/chats/{group_chat.id}"))


# --- long history -------------------------------------------------------------------------------


def test_a_long_history_comes_in_pages_of_50(world, as_user, group_chat):
    ids = [f.make_message(group_chat, world.educator, f"Сообщение №{i}").id for i in range(120)]
    parent = as_user(world.parent)
    body = page_text(parent.get(f"/chats/{group_chat.id}"))
    shown = [int(i) for i in re.findall(r'<li id="m-(\d+)"', body)]
    assert shown == ids[-50:]
    assert "Показать ранее" in body
    assert f'href="/chats/{group_chat.id}/earlier?before={ids[70]}"' in body

    earlier = parent.get(f"/chats/{group_chat.id}/earlier?before={ids[70]}")
    assert earlier.status_code == 200
    page = page_text(earlier)
    assert [int(i) for i in re.findall(r'<li id="m-(\d+)"', page)] == ids[20:70]
    assert f"before={ids[20]}" in page

    htmx = parent.get(f"/chats/{group_chat.id}/earlier?before={ids[20]}", headers=HTMX)
    fragment = page_text(htmx)
    assert [int(i) for i in re.findall(r'<li id="m-(\d+)"', fragment)] == ids[:20]
    assert "Показать ранее" not in fragment
    assert '<hx-partial hx-target="#messages" hx-swap="afterbegin">' in fragment


@pytest.mark.parametrize("before", ["", "abc", "0", "-5"])
def test_earlier_needs_a_message_id(world, as_user, group_chat, before):
    response = as_user(world.parent).get(f"/chats/{group_chat.id}/earlier?before={before}")
    assert response.status_code == 400


def fill(world, chat, n):
    """n messages of every kind a page shows, by n/2 + 2 different authors: text, replies,
    reactions, important with confirmations, photos and files, polls with votes, deleted and
    edited ones."""
    previous = None
    authors = [world.educator, world.parent] + [
        f.make_user(world.kindergarten, f"Автор {n}-{i}") for i in range(n // 2)
    ]
    for i in range(n):
        kind = i % 5
        message = f.make_message(
            chat,
            authors[i % len(authors)],
            f"Сообщение {i}",
            important=kind == 1,
            reply_to_id=previous.id if kind == 2 and previous else None,
            deleted_at=utcnow() if kind == 4 and i % 10 == 4 else None,
            edited_at=utcnow() if kind == 3 else None,
        )
        db.session.add(Reaction(message_id=message.id, user_id=world.parent.id, emoji="👍"))
        if kind == 1:
            db.session.add(Confirmation(message_id=message.id, user_id=world.parent.id))
        if kind == 2:
            db.session.add(
                Attachment(
                    message_id=message.id,
                    kind="photo",
                    stored_name=f"photo{i:020d}.jpg",
                    thumb_name=f"thumb{i:020d}.jpg",
                    filename="фото.jpg",
                    mime="image/jpeg",
                    size=1000,
                    width=40,
                    height=30,
                )
            )
            db.session.add(
                Attachment(
                    message_id=message.id,
                    kind="file",
                    position=1,
                    stored_name=f"file{i:021d}.pdf",
                    filename="меню.pdf",
                    mime="application/pdf",
                    size=2000,
                )
            )
        if kind == 3:
            poll = Poll(message_id=message.id, question=f"Вопрос {i}")
            db.session.add(poll)
            db.session.flush()
            option = PollOption(poll_id=poll.id, position=0, text="Да")
            db.session.add_all([option, PollOption(poll_id=poll.id, position=1, text="Нет")])
            db.session.flush()
            db.session.add(PollVote(poll_id=poll.id, user_id=world.parent.id, option_id=option.id))
        if kind == 0 and i % 20 == 0:
            message.pinned_at = utcnow()
        db.session.commit()
        previous = message


@pytest.mark.parametrize("persona", ["parent", "educator", "director"])
def test_the_chat_page_costs_the_same_queries_for_10_or_60_messages(app, world, as_user, persona):
    def queries_for(n):
        chat = f.make_chat(
            world.kindergarten, world.educator, group=world.group, members=[world.parent]
        )
        fill(world, chat, n)
        client = as_user(world.persona(persona))
        with counting(app) as statements:
            response = client.get(f"/chats/{chat.id}")
            assert response.status_code == 200
        assert response.get_data(as_text=True).count('<li id="m-') == min(n, 50)
        return len(statements)

    few = queries_for(10)
    many = queries_for(60)
    assert many == few, f"{few} queries for 10 messages, {many} for 60"


# --- quiet hours --------------------------------------------------------------------------------

QUIET = "Сейчас нерабочее время. Воспитатель ответит в рабочие часы (пн–пт 7:00–19:00)"
SATURDAY_NOON = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)  # 12:00 in Moscow
TUESDAY_TEN = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)  # 10:00 in Moscow
TUESDAY_EVENING = datetime(2026, 11, 24, 16, 30, tzinfo=UTC)  # 19:30 in Moscow


@pytest.mark.parametrize("moment", [SATURDAY_NOON, TUESDAY_EVENING])
def test_a_parent_is_told_about_quiet_hours_and_still_posts(world, as_user, group_chat, moment):
    with time_machine.travel(moment, tick=False):
        parent = as_user(world.parent)
        assert QUIET in page_text(parent.get(f"/chats/{group_chat.id}"))
        assert post_message(parent, group_chat, "Вопрос в субботу").status_code == 303
        assert last_message(group_chat).text == "Вопрос в субботу"
        assert QUIET not in page_text(as_user(world.educator).get(f"/chats/{group_chat.id}"))


def test_no_quiet_hours_note_in_working_hours(world, as_user, group_chat):
    with time_machine.travel(TUESDAY_TEN, tick=False):
        assert "нерабочее время" not in page_text(
            as_user(world.parent).get(f"/chats/{group_chat.id}")
        )


@pytest.mark.parametrize("moment", [SATURDAY_NOON, TUESDAY_TEN])
def test_staff_never_see_the_quiet_hours_note(world, as_user, group_chat, moment):
    db.session.add(ChatMember(chat_id=group_chat.id, user_id=world.admin.id))
    db.session.commit()
    with time_machine.travel(moment, tick=False):
        for person in (world.educator, world.admin):
            assert "нерабочее время" not in page_text(
                as_user(person).get(f"/chats/{group_chat.id}")
            )


# --- live updates: polling ----------------------------------------------------------------------


def test_updates_answer_204_until_something_changes(world, as_user, group_chat):
    f.make_message(group_chat, world.parent, "Старое")
    rev = reload(group_chat).rev
    parent = as_user(world.parent)
    nothing = parent.get(f"/chats/{group_chat.id}/updates?after={rev}")
    assert nothing.status_code == 204
    assert nothing.get_data() == b""

    post_message(as_user(world.educator), group_chat, "Новое сообщение")
    message = last_message(group_chat)
    response = parent.get(f"/chats/{group_chat.id}/updates?after={rev}")
    assert response.status_code == 200
    body = page_text(response)
    assert '<hx-partial hx-target="#messages" hx-swap="beforeend">' in body
    assert f'<li id="m-{message.id}"' in body
    assert "Новое сообщение" in body
    assert "Старое" not in body
    new_rev = reload(group_chat).rev
    assert f"/chats/{group_chat.id}/updates?after={new_rev}" in body, "the poller moves on"
    assert parent.get(f"/chats/{group_chat.id}/updates?after={new_rev}").status_code == 204


def test_updates_replace_a_changed_message_in_place(world, as_user, group_chat):
    message = f.make_message(group_chat, world.educator, "Утренник")
    rev = reload(group_chat).rev
    as_user(world.parent).post(f"/messages/{message.id}/react", data={"emoji": "😂"})
    body = page_text(as_user(world.educator).get(f"/chats/{group_chat.id}/updates?after={rev}"))
    assert f'<hx-partial hx-target="#m-{message.id}" hx-swap="outerHTML">' in body
    assert '<hx-partial hx-target="#messages"' not in body
    assert "😂 1" in body


@pytest.mark.parametrize("after", ["", "abc", "-1", "1.5", str(2**63), None])
def test_updates_need_a_revision(world, as_user, group_chat, after):
    url = f"/chats/{group_chat.id}/updates"
    if after is not None:
        url += f"?after={after}"
    assert as_user(world.parent).get(url).status_code == 400


# --- live updates: the SSE stream ---------------------------------------------------------------


def parse_sse(block: str) -> dict:
    event = {"data": [], "comment": False}
    for line in block.split("\n"):
        if line.startswith(":"):
            event["comment"] = True
        elif ": " in line:
            name, value = line.split(": ", 1)
            if name == "data":
                event["data"].append(value)
            else:
                event[name] = value
    event["data"] = "\n".join(event["data"])
    return event


def read_events(chunks, until) -> list[dict]:
    """Read the stream until `until(events)` holds or the stream ends."""
    buffer, events = "", []
    for chunk in chunks:
        buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            events.append(parse_sse(block))
        if until(events):
            break
    return events


def with_id(events) -> list[dict]:
    return [e for e in events if "id" in e]


def elsewhere(request, *args, **kwargs):
    """Make a request from another thread, as the server would: in this one an open stream's
    app context (and its signed-in person) would be the request's too."""
    answers = []
    thread = threading.Thread(target=lambda: answers.append(request(*args, **kwargs)))
    thread.start()
    thread.join()
    return answers[0]


def open_stream(client, chat, after=None, headers=None):
    url = f"/chats/{chat.id}/stream"
    if after is not None:
        url += f"?after={after}"
    return client.get(url, headers=headers)


def test_the_stream_sends_what_changed_since_the_revision(world, as_user, group_chat):
    first = f.make_message(group_chat, world.educator, "Первое")
    second = f.make_message(group_chat, world.parent, "Второе")
    rev = reload(group_chat).rev
    response = open_stream(as_user(world.parent), group_chat, after=0)
    try:
        assert response.status_code == 200
        assert response.mimetype == "text/event-stream"
        assert response.headers["Cache-Control"] == "no-store"
        events = read_events(response.response, lambda events: with_id(events))
    finally:
        response.close()
    assert events[0].get("retry") == "1000"
    (event,) = with_id(events)
    assert event["id"] == str(rev)
    assert f'<li id="m-{first.id}"' in event["data"]
    assert f'<li id="m-{second.id}"' in event["data"]
    assert "<hx-partial" in event["data"]
    assert "Второе" in event["data"]


def test_the_stream_honours_last_event_id(world, as_user, group_chat):
    first = f.make_message(group_chat, world.educator, "Первое")
    seen = reload(group_chat).rev
    second = f.make_message(group_chat, world.educator, "Второе")
    response = open_stream(
        as_user(world.parent), group_chat, after=0, headers={"Last-Event-ID": str(seen)}
    )
    try:
        events = read_events(response.response, lambda events: with_id(events))
    finally:
        response.close()
    (event,) = with_id(events)
    assert event["id"] == str(reload(group_chat).rev)
    assert f'<li id="m-{second.id}"' in event["data"]
    assert f'<li id="m-{first.id}"' not in event["data"]


def test_a_new_message_reaches_an_open_stream(world, as_user, group_chat, app):
    f.make_message(group_chat, world.educator, "Старое")
    rev = reload(group_chat).rev
    group_chat_id = group_chat.id
    educator = as_user(world.educator)
    response = open_stream(as_user(world.parent), group_chat, after=rev)
    # While the stream is open its request context is the current one in this thread (the test
    # client reads the first chunk): only HTTP requests happen until it is closed.
    try:
        chunks = iter(response.response)
        waiting = read_events(chunks, lambda events: any(e["comment"] for e in events))
        assert with_id(waiting) == [], "nothing new yet: heartbeats only"
        assert db.engine.pool.checkedout() == 0, "no connection is held while waiting"
        posted = elsewhere(
            educator.post, f"/chats/{group_chat_id}/messages", data={"text": "Живое"}
        )
        assert posted.status_code == 303
        events = read_events(chunks, lambda events: with_id(events))
    finally:
        response.close()
    (event,) = with_id(events)
    message = last_message(group_chat)
    assert message.text == "Живое"
    assert event["id"] == str(reload(group_chat).rev) == str(rev + 1)
    assert f'<li id="m-{message.id}"' in event["data"]
    assert "Живое" in event["data"]


def test_the_stream_ends_by_itself(make_app, world, group_chat):
    from .conftest import sign_in

    short = make_app(LIVE_STREAM_SECONDS=0.5, LIVE_HEARTBEAT_SECONDS=0.1)
    client = sign_in(short.test_client(), world.parent)
    started = datetime.now()
    response = open_stream(client, group_chat, after=reload(group_chat).rev)
    try:
        events = read_events(response.response, lambda events: False)
    finally:
        response.close()
    assert datetime.now() - started < timedelta(seconds=5)
    assert events[0].get("retry") == "1000"
    assert all(e["comment"] for e in events[1:])


@pytest.mark.parametrize("after", [None, "abc", "-1"])
def test_the_stream_needs_a_revision(world, as_user, group_chat, after):
    response = open_stream(as_user(world.parent), group_chat, after=after)
    response.close()
    assert response.status_code == 400


def test_a_stream_for_a_hidden_chat_is_404(world, as_user, group_chat):
    for chat_id in (group_chat.id, NO_SUCH_ID):
        response = as_user(world.other_group_parent).get(f"/chats/{chat_id}/stream?after=0")
        response.close()
        assert response.status_code == 404


def test_the_chat_list_updates_live(world, as_user, group_chat):
    """The list's stream sends the list again when a chat of the person changes; reading
    moves no list."""
    group_chat_id = group_chat.id
    educator = as_user(world.educator)
    parent = as_user(world.parent)
    response = parent.get("/chats/stream")
    try:
        assert response.mimetype == "text/event-stream"
        chunks = iter(response.response)
        read_events(chunks, lambda events: any(e["comment"] for e in events))
        elsewhere(educator.post, f"/chats/{group_chat_id}/read", data={"last": 1})
        quiet = read_events(chunks, lambda events: sum(e["comment"] for e in events) >= 2)
        assert [e for e in quiet if e["data"]] == [], "reading sends no list"
        elsewhere(educator.post, f"/chats/{group_chat_id}/messages", data={"text": "Завтра"})
        events = read_events(chunks, lambda events: any(e["data"] for e in events))
    finally:
        response.close()
    (event,) = [e for e in events if e["data"]]
    assert "Завтра" in event["data"]
    assert 'class="unread-count"' in event["data"]
