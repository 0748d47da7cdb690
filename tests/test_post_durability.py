"""A busy or full server keeps what the person typed, leaves no orphan files, and a post sent
again is the same message.

- Storage trouble while posting (the disk full while a photo is written or at the commit, a
  read-only upload folder or database, a database that stays locked or can't be opened) answers
  503 with the composer as it was sent — text, reply, poll, token — and the issue's message on
  top, for htmx (the composer swapped in place) and for a page without JavaScript (the whole chat
  page; it asks to choose the photos again). It is logged at ERROR with its cause and without the
  message's text; nothing is saved and no file is left. Anything else stays a bug (500).
- Files are written inside the try that removes them: a failure at the Nth file leaves none.
- `media.store` flushes the folder after the rename (the file's name is on disk before its row).
- `client_token`: the same post sent again (in sequence, 20 at once, or slipping past the check
  into the unique index) is one message and stores nothing new; other tokens, other authors and
  another post under a reused token are messages of their own; a bad token is a 422.
"""

from __future__ import annotations

import errno
import html
import logging
import os
import re
import sqlite3
import threading
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import current_app, g, has_request_context
from markupsafe import escape
from sqlalchemy import event, exc, func, select
from sqlalchemy.orm import Session

from sferum_lite import database, media
from sferum_lite.actions import messages as actions
from sferum_lite.database import WriteLockTimeout
from sferum_lite.extensions import db
from sferum_lite.models import Attachment, ChatMember, Message, Poll

from . import factories as f
from .conftest import TEST_DATABASE_URL, sign_in
from .test_chats import jpeg_bytes, post_message

HTMX = {"HX-Request": "true"}
TYPED = 'Завтра <b>утренник</b> в 9:00 & «костюмы» — не забудьте "шапочки"'
FULL = "Сообщение не отправлено: на сервере закончилось место — попробуйте позже"
BUSY = "Сообщение не отправлено: сервер занят — попробуйте ещё раз через минуту"
READONLY = "Сообщение не отправлено: сервер сейчас не может сохранять — попробуйте позже"
CHOOSE_AGAIN = "Фото не отправлены — выберите их снова"
BAD_TOKEN = "Форма отправки устарела или повреждена"

sqlite_only = pytest.mark.skipif(
    TEST_DATABASE_URL.startswith("postgresql"), reason="SQLite's write lock"
)


@pytest.fixture(autouse=True)
def uploads(_apps, tmp_path, monkeypatch) -> Path:
    """An upload folder of the test's own: what is on disk is what this test wrote."""
    folder = tmp_path / "uploads"
    for each in _apps:
        monkeypatch.setitem(each.config, "UPLOAD_FOLDER", str(folder))
    return folder


@pytest.fixture
def chat(world):
    """«Солнышко»'s parents' chat: its educator and a parent of the group."""
    return f.make_chat(
        world.kindergarten, world.educator, group=world.group, members=[world.parent]
    )


# --- helpers ------------------------------------------------------------------------------------


def text_of(response) -> str:
    return response.get_data(as_text=True)


def message_count(chat) -> int:
    db.session.commit()
    return db.session.scalar(select(func.count()).where(Message.chat_id == chat.id))


def messages_of(chat) -> list[Message]:
    db.session.commit()
    return db.session.scalars(
        select(Message).where(Message.chat_id == chat.id).order_by(Message.id)
    ).all()


def files_on_disk() -> set[str]:
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    return set(os.listdir(folder)) if folder.exists() else set()


def files_in_rows() -> set[str]:
    db.session.commit()
    names = set()
    for stored, thumb in db.session.execute(select(Attachment.stored_name, Attachment.thumb_name)):
        names.add(stored)
        if thumb:
            names.add(thumb)
    return names


def assert_no_orphans() -> None:
    """Every file in the upload folder belongs to a row, and no temporary file is left."""
    on_disk = files_on_disk()
    assert not [n for n in on_disk if n.startswith(".upload-")], on_disk
    assert on_disk <= files_in_rows(), on_disk - files_in_rows()


def composer_html(response) -> str:
    found = re.search(r'<form id="composer".*?</form>', text_of(response), re.S)
    assert found, text_of(response)[:2000]
    return found.group(0)


def typed_text(response) -> str:
    found = re.search(r'<textarea name="text"[^>]*>(.*?)</textarea>', composer_html(response), re.S)
    return html.unescape(found.group(1)) if found else ""


def hidden_value(response, name: str) -> str:
    found = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', text_of(response))
    assert found, name
    return html.unescape(found.group(1))


def token_input(response) -> str:
    found = re.search(r'<input type="hidden" name="client_token"[^>]*>', text_of(response))
    assert found
    return found.group(0)


def composer_messages(response) -> list[str]:
    found = re.search(
        r'<div class="form-errors" role="alert">(.*?)</div>', composer_html(response), re.S
    )
    return (
        [html.unescape(m) for m in re.findall(r"<p>(.*?)</p>", found.group(1), re.S)]
        if found
        else []
    )


def photos(n: int) -> list[tuple[bytes, str]]:
    colours = ["red", "green", "blue", "yellow", "purple", "orange"]
    return [
        (jpeg_bytes((60 + i, 40), colours[i % len(colours)]), f"фото-{i + 1}.jpg") for i in range(n)
    ]


def store_failing(monkeypatch, error: OSError, *, on_call: int = 1):
    """media.store writes the first `on_call - 1` files, then raises `error` (a disk filling up)."""
    real = media.store
    calls = []

    def store(folder, data, suffix):
        calls.append(suffix)
        if len(calls) >= on_call:
            raise error
        return real(folder, data, suffix)

    monkeypatch.setattr(media, "store", store)
    return calls


@pytest.fixture
def failing_commit():
    """fail(error): the next action's commit (in a request, under the write lock) raises it."""
    armed: list[BaseException] = []

    def before_commit(_session):
        if armed and has_request_context() and g.get("_sferum_writing"):
            raise armed.pop()

    event.listen(Session, "before_commit", before_commit)
    try:
        yield armed.append
    finally:
        event.remove(Session, "before_commit", before_commit)


def driver_error(message: str) -> exc.OperationalError:
    return exc.OperationalError("INSERT INTO message …", {}, sqlite3.OperationalError(message))


def error_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


# --- 503 with the composer, nothing saved, no file left ------------------------------------------

TROUBLES = {
    # name: (how to make it, the message shown, what the log line names)
    "photo: disk full": ("store", OSError(errno.ENOSPC, "No space left on device"), FULL),
    "photo: read-only folder": ("store", OSError(errno.EROFS, "Read-only file system"), READONLY),
    "photo: folder not writable": (
        "store",
        PermissionError(errno.EACCES, "Permission denied"),
        READONLY,
    ),
    "commit: disk full": ("commit", driver_error("database or disk is full"), FULL),
    "commit: read-only database": (
        "commit",
        driver_error("attempt to write a readonly database"),
        READONLY,
    ),
    "commit: database locked": ("commit", driver_error("database is locked"), BUSY),
    "commit: database gone": ("commit", driver_error("unable to open database file"), BUSY),
    "no write turn": ("begin", WriteLockTimeout("no write turn within 30 s"), BUSY),
}


def make_trouble(how, error, monkeypatch, failing_commit):
    if how == "store":
        store_failing(
            monkeypatch, error, on_call=2
        )  # the first file is written, then the disk fills
    elif how == "commit":
        failing_commit(error)
    else:

        def begin_write(lock=None):
            raise error

        monkeypatch.setattr(actions, "begin_write", begin_write)


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "no-js"])
@pytest.mark.parametrize("trouble", list(TROUBLES))
def test_storage_trouble_answers_503_with_the_composer_and_keeps_the_text(
    world, chat, as_user, monkeypatch, failing_commit, caplog, trouble, htmx
):
    how, error, shown = TROUBLES[trouble]
    client = as_user(world.parent)
    earlier = f.make_message(chat, world.educator, "Кто придёт на утренник?")
    before = message_count(chat)
    token = str(uuid.uuid4())
    with monkeypatch.context() as patch, caplog.at_level(logging.ERROR):
        make_trouble(how, error, patch, failing_commit)
        response = post_message(
            client,
            chat,
            TYPED,
            files=photos(2),
            headers=HTMX if htmx else None,
            reply_to=earlier.id,
            client_token=token,
            poll_question="Во сколько удобнее?",
            poll_options="В 9:00\nВ 10:00",
        )
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    body = text_of(response)
    # what was typed comes back, escaped
    assert typed_text(response) == TYPED
    assert str(escape(TYPED)) in body and "<b>утренник</b>" not in body
    assert hidden_value(response, "reply_to") == str(earlier.id)
    assert "Кто придёт на утренник?" in composer_html(response)  # the quote above the text
    assert 'value="Во сколько удобнее?"' in body
    assert "В 9:00\nВ 10:00" in html.unescape(body)
    # the same token: sent again, it is still this message (nothing was saved)
    assert hidden_value(response, "client_token") == token
    assert "data-fresh" not in token_input(response)
    messages = composer_messages(response)
    assert messages[0] == shown
    if htmx:
        assert response.headers["HX-Retarget"] == "#composer"
        assert response.headers["HX-Reswap"] == "outerHTML"
        assert body.lstrip().startswith('<form id="composer"')
        assert CHOOSE_AGAIN not in messages  # the page keeps the files chosen (app.js)
    else:
        assert "<html" in body and "Родители группы «Солнышко»" in body  # the chat page
        assert CHOOSE_AGAIN in messages
    # nothing saved, no file left
    assert message_count(chat) == before
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Poll)) == 0
    assert files_on_disk() == set()
    # logged: at ERROR, with the cause, never the text
    lines = error_lines(caplog)
    assert any(
        type(error).__name__ in line and str(error).splitlines()[0] in line for line in lines
    ), lines
    assert "утренник" not in caplog.text and "Во сколько" not in caplog.text
    # the write turn was given back and the trouble is over: sent again, it goes, once
    again = post_message(
        client, chat, TYPED, files=photos(2), reply_to=earlier.id, client_token=token
    )
    assert again.status_code == 303
    assert message_count(chat) == before + 1
    assert_no_orphans()


def test_a_text_only_post_without_javascript_does_not_ask_for_photos(
    world, chat, as_user, failing_commit
):
    client = as_user(world.parent)
    failing_commit(driver_error("database or disk is full"))
    response = post_message(client, chat, TYPED)
    assert response.status_code == 503
    assert composer_messages(response) == [FULL]
    assert typed_text(response) == TYPED
    # without JavaScript the box can't grow: it comes back tall enough to show the text
    assert re.search(r'<textarea name="text" rows="3"', text_of(response))


@sqlite_only
def test_a_write_turn_that_never_comes_is_a_503_with_the_composer(make_app, world, chat, caplog):
    """The real thing on SQLite: another writer of the process keeps the turn."""
    app = make_app(WRITE_LOCK_SECONDS=0.2)
    client = sign_in(app.test_client(), world.parent)
    lock = database.process_write_lock()
    assert lock.acquire(timeout=5)
    try:
        with caplog.at_level(logging.ERROR):
            response = post_message(client, chat, TYPED, headers=HTMX)
    finally:
        lock.release()
    assert response.status_code == 503
    assert composer_messages(response) == [BUSY] and typed_text(response) == TYPED
    assert message_count(chat) == 0
    assert "утренник" not in caplog.text


@pytest.mark.parametrize(
    "error",
    [OSError(errno.EIO, "Input/output error"), RuntimeError("a bug")],
    ids=["EIO", "bug"],
)
def test_anything_else_is_still_a_bug(world, chat, as_user, monkeypatch, error):
    """Not the storage: no 503 dressed up as «try later» — it propagates (a 500), and still
    leaves nothing behind."""
    client = as_user(world.parent)
    store_failing(monkeypatch, error, on_call=3)
    with pytest.raises(type(error)):
        post_message(client, chat, TYPED, files=photos(2))
    assert message_count(chat) == 0
    assert files_on_disk() == set()


# --- no orphan files ------------------------------------------------------------------------------


@pytest.mark.parametrize("failing_call", [1, 2, 3, 4, 5, 6])
def test_the_disk_filling_up_at_any_file_of_three_photos_leaves_none(
    world, chat, as_user, monkeypatch, failing_call
):
    client = as_user(world.parent)
    assert post_message(client, chat, "Первое", files=photos(1)).status_code == 303
    kept = files_on_disk()
    assert len(kept) == 2  # the photo and its thumbnail
    calls = store_failing(
        monkeypatch, OSError(errno.ENOSPC, "No space left on device"), on_call=failing_call
    )
    response = post_message(client, chat, "Три фото", files=photos(3))
    assert response.status_code == 503
    assert len(calls) == failing_call
    assert files_on_disk() == kept
    assert_no_orphans()
    assert message_count(chat) == 1


def test_a_failed_transaction_removes_every_file_it_wrote(world, chat, as_user, failing_commit):
    client = as_user(world.parent)
    failing_commit(driver_error("database or disk is full"))
    response = post_message(client, chat, "Три фото", files=photos(3), headers=HTMX)
    assert response.status_code == 503
    assert files_on_disk() == set()
    assert message_count(chat) == 0


def test_a_commit_that_reached_the_database_keeps_its_photos(world, chat, as_user):
    """The connection drops after the server committed: the post answers 503, but the photos of
    the message that is in fact stored stay on disk, and the retry with the same token finds
    the message whole."""
    client = as_user(world.parent)
    real_commit = Session.commit
    state = {"armed": True}

    def commit_then_lose_the_answer(session):
        writing = has_request_context() and g.get("_sferum_writing")  # the action's commit
        real_commit(session)
        if state["armed"] and writing:
            state["armed"] = False
            raise exc.OperationalError("COMMIT", {}, sqlite3.OperationalError("disk I/O error"))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Session, "commit", commit_then_lose_the_answer)
        failed = post_message(
            client, chat, TYPED, files=photos(2), headers=HTMX, client_token="t-9"
        )
    assert failed.status_code == 503
    assert message_count(chat) == 1
    assert files_on_disk() == files_in_rows() and len(files_on_disk()) == 4
    again = post_message(client, chat, TYPED, files=photos(2), headers=HTMX, client_token="t-9")
    assert again.status_code == 200 and message_count(chat) == 1
    assert files_on_disk() == files_in_rows() and len(files_on_disk()) == 4
    assert_no_orphans()


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "no-js"])
def test_a_disk_too_full_to_take_the_upload_in_leaves_the_composer_alone(
    world, chat, as_user, monkeypatch, caplog, htmx
):
    """A large file is spooled to a temporary file while the body is read — before any of the
    form is. With the disk full there is no text to give back: with htmx the composer on the
    page is left as it is (text and files) and the reason shows in the chat's toast; without
    JavaScript the 503 page, from which the browser's back keeps the form."""
    from flask import Request

    def no_room(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Request, "_get_file_stream", no_room)
    client = as_user(world.parent)
    with caplog.at_level(logging.ERROR):
        response = post_message(
            client, chat, TYPED, files=photos(1), headers=HTMX if htmx else None
        )
    assert response.status_code == 503
    if htmx:
        assert FULL in text_of(response)
        assert response.headers["HX-Retarget"] == "#toast"
        assert 'id="composer"' not in response.get_data(as_text=True)
    else:
        assert "На сервере закончилось место" in text_of(response)
        assert "<html" in response.get_data(as_text=True)
    assert message_count(chat) == 0
    assert any("storage full" in line for line in error_lines(caplog))


def test_a_refused_post_removes_its_files(world, chat, as_user, monkeypatch):
    """An ActionError under the lock (a block placed a moment ago) is a 422, files gone."""
    client = as_user(world.parent)

    def blocked(chat_id, actor):
        raise actions.ActionError("Вы заблокированы в этом чате: писать в него пока нельзя.")

    monkeypatch.setattr(actions, "_not_blocked", blocked)
    response = post_message(client, chat, "Фото", files=photos(2))
    assert response.status_code == 422
    assert files_on_disk() == set()


def test_no_temporary_file_is_left_when_the_write_itself_fails(db_ctx, tmp_path, monkeypatch):
    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, fd, mode):
            self.file = real_fdopen(fd, mode)

        def __enter__(self):
            return self

        def __exit__(self, *exc_info):
            self.file.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(media.os, "fdopen", FullDisk)
    with pytest.raises(OSError):
        media.store(tmp_path, b"x" * 100, ".txt")
    assert os.listdir(tmp_path) == []


# --- a stored file is durable before its row commits --------------------------------------------


def test_store_flushes_the_file_and_then_the_folder(tmp_path, monkeypatch):
    done = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(
        media.os, "fsync", lambda fd: (done.append(("fsync", fd)), real_fsync(fd))[1]
    )
    monkeypatch.setattr(
        media.os,
        "replace",
        lambda a, b: (done.append(("replace", Path(b).name)), real_replace(a, b))[1],
    )
    real_fsync_dir = media.fsync_path
    monkeypatch.setattr(
        media,
        "fsync_path",
        lambda path: (done.append(("folder", Path(path))), real_fsync_dir(path))[1],
    )
    name = media.store(tmp_path, b"photo bytes", ".jpg")
    steps = [step for step, _ in done]
    assert steps == ["fsync", "replace", "folder", "fsync"]  # the file, its name, the folder
    assert done[1][1] == name and done[2][1] == tmp_path
    assert (tmp_path / name).read_bytes() == b"photo bytes"


def test_a_folder_that_cannot_be_flushed_keeps_no_file(tmp_path, monkeypatch):
    def fails(path):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(media, "fsync_path", fails)
    with pytest.raises(OSError):
        media.store(tmp_path, b"photo bytes", ".jpg")
    assert os.listdir(tmp_path) == []


# --- idempotent posts ---------------------------------------------------------------------------


def test_the_chat_page_gives_the_composer_a_fresh_token(world, chat, as_user):
    client = as_user(world.parent)
    first, second = (client.get(f"/chats/{chat.id}") for _ in range(2))
    tokens = [hidden_value(r, "client_token") for r in (first, second)]
    assert tokens[0] != tokens[1]
    for token, response in zip(tokens, (first, second), strict=True):
        assert re.fullmatch(r"[A-Za-z0-9_-]{16,64}", token)
        assert "data-fresh" in token_input(response) and 'autocomplete="off"' in token_input(
            response
        )


@pytest.mark.parametrize("htmx", [False, True], ids=["no-js", "htmx"])
def test_the_same_post_sent_twice_is_one_message(world, chat, as_user, htmx):
    client = as_user(world.parent)
    token = str(uuid.uuid4())
    headers = HTMX if htmx else None
    first = post_message(client, chat, "Будем к девяти", headers=headers, client_token=token)
    files = files_on_disk()
    again = post_message(client, chat, "Будем к девяти", headers=headers, client_token=token)
    messages = messages_of(chat)
    assert len(messages) == 1 and messages[0].client_token == token
    assert again.status_code == first.status_code == (200 if htmx else 303)
    if htmx:
        assert f'id="m-{messages[0].id}"' in text_of(again)
        # the fresh composer that comes back has a new token, for the next message
        assert hidden_value(again, "client_token") != token
    else:
        assert again.location == first.location == f"/chats/{chat.id}#m-{messages[0].id}"
    assert files_on_disk() == files


def test_the_same_post_with_photos_sent_again_stores_nothing_new(world, chat, as_user, monkeypatch):
    client = as_user(world.parent)
    token = uuid.uuid4().hex
    first = post_message(client, chat, "", files=photos(3), client_token=token)
    assert first.status_code == 303
    files = files_on_disk()
    assert len(files) == 6
    writes = []
    real = media.store
    monkeypatch.setattr(media, "store", lambda *a: (writes.append(a[2]), real(*a))[1])
    again = post_message(client, chat, "", files=photos(3), client_token=token)
    assert again.location == first.location
    assert writes == []  # found before anything was written
    assert files_on_disk() == files
    assert message_count(chat) == 1
    assert_no_orphans()


def test_a_retry_that_slips_past_the_checks_meets_the_unique_index(
    world, chat, as_user, monkeypatch
):
    """Both checks miss it (as two requests at once could, but for the locks): the insert hits
    the unique index on (author, token), the files are removed and the first message is the
    answer."""
    client = as_user(world.parent)
    token = str(uuid.uuid4())
    first = post_message(client, chat, "Фото с прогулки", files=photos(2), client_token=token)
    files = files_on_disk()
    real = actions._with_token
    misses = [None, None]  # the check before storing and the one under the lock

    def with_token(actor, client_token):
        return misses.pop() if misses else real(actor, client_token)

    monkeypatch.setattr(actions, "_with_token", with_token)
    again = post_message(client, chat, "Фото с прогулки", files=photos(2), client_token=token)
    assert not misses
    assert again.status_code == 303 and again.location == first.location
    assert message_count(chat) == 1
    assert files_on_disk() == files
    assert_no_orphans()


def test_different_tokens_are_different_messages(world, chat, as_user):
    client = as_user(world.parent)
    for _ in range(2):
        post_message(client, chat, "Спасибо!", client_token=str(uuid.uuid4()))
    post_message(client, chat, "Спасибо!")  # no token: an older page
    post_message(client, chat, "Спасибо!")
    assert message_count(chat) == 4


def test_another_authors_token_does_not_collide(world, chat, as_user):
    token = str(uuid.uuid4())
    for who in (world.parent, world.educator):
        assert post_message(as_user(who), chat, "Спасибо!", client_token=token).status_code == 303
    assert sorted(m.author_id for m in messages_of(chat)) == sorted(
        [world.parent.id, world.educator.id]
    )


def test_the_same_token_in_another_chat_is_a_message_of_its_own(world, chat, as_user):
    other = f.make_chat(
        world.kindergarten,
        world.educator,
        title="Все родители",
        group=world.group,
        members=[world.parent],
    )
    client = as_user(world.parent)
    token = str(uuid.uuid4())
    post_message(client, chat, "Спасибо!", client_token=token)
    assert post_message(client, other, "Спасибо!", client_token=token).status_code == 303
    assert message_count(chat) == 1 and message_count(other) == 1


def test_a_token_sent_again_with_another_post_posts_it(world, chat, as_user):
    """A form sent again from a page the back button brought back carries the last message's
    token: what it says is new, and it is posted (without the token), never dropped."""
    client = as_user(world.parent)
    token = str(uuid.uuid4())
    post_message(client, chat, "Первое", client_token=token)
    second = post_message(client, chat, "Второе", client_token=token)
    post_message(client, chat, "", files=photos(1), client_token=token)
    post_message(client, chat, "", files=photos(2), client_token=token)
    texts = [(m.text, m.client_token) for m in messages_of(chat)]
    assert texts == [("Первое", token), ("Второе", None), ("", None), ("", None)]
    assert second.status_code == 303
    assert_no_orphans()


@pytest.mark.parametrize(
    "token",
    ["a" * 65, "two words", "<script>", "токен", "a/b", "a.b", "x\n"],
)
def test_a_bad_token_is_refused_and_nothing_is_saved(world, chat, as_user, token):
    client = as_user(world.parent)
    for headers in (None, HTMX):
        response = post_message(
            client, chat, TYPED, files=photos(1), headers=headers, client_token=token
        )
        assert response.status_code == 422
        assert any(BAD_TOKEN in m for m in composer_messages(response))
        assert typed_text(response) == TYPED
        new = hidden_value(response, "client_token")  # a good one in its place
        assert new != token and re.fullmatch(r"[A-Za-z0-9_-]+", new)
    assert message_count(chat) == 0
    assert files_on_disk() == set()


@pytest.mark.parametrize("token", ["a" * 64, str(uuid.uuid4()), "A-z_0", "f" * 32])
def test_good_tokens_are_taken(world, chat, as_user, token):
    assert post_message(as_user(world.parent), chat, "Да", client_token=token).status_code == 303
    assert messages_of(chat)[0].client_token == token


PARALLEL = 20


@pytest.mark.parametrize("with_photo", [False, True], ids=["text", "photo"])
def test_twenty_copies_of_one_post_at_once_make_one_message(world, chat, app, with_photo):
    """Twenty requests with the same token at the same moment (a phone's network retrying):
    one message, every answer pointing at it, and only its files on disk. SQLite's write lock
    or PostgreSQL's advisory lock orders the checks; the unique index would catch the rest."""
    clients = [sign_in(app.test_client(), world.parent) for _ in range(PARALLEL)]
    token = str(uuid.uuid4())
    files = photos(1) if with_photo else None
    start = threading.Barrier(PARALLEL)
    answers = []
    chat_id = chat.id
    chat = SimpleNamespace(id=chat_id)  # no database in the threads: not even a lazy load

    def send(client):
        start.wait()
        answers.append(
            post_message(client, chat, "Забираем в 17:00", files=files, client_token=token)
        )

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    messages = messages_of(chat)
    assert len(messages) == 1
    assert [a.status_code for a in answers] == [303] * PARALLEL
    assert {a.location for a in answers} == {f"/chats/{chat.id}#m-{messages[0].id}"}
    assert len(files_on_disk()) == (2 if with_photo else 0)
    assert_no_orphans()
    member = db.session.get(ChatMember, (chat_id, world.parent.id))
    assert member.last_read_id == messages[0].id


def test_after_a_503_the_same_token_posts_once(world, chat, as_user, failing_commit):
    client = as_user(world.parent)
    failing_commit(driver_error("database or disk is full"))
    failed = post_message(client, chat, TYPED, headers=HTMX, client_token="tok-1")
    assert failed.status_code == 503
    token = hidden_value(failed, "client_token")
    assert token == "tok-1"
    for _ in range(2):  # sent, and sent again
        assert (
            post_message(client, chat, TYPED, headers=HTMX, client_token=token).status_code == 200
        )
    assert [m.text for m in messages_of(chat)] == [TYPED]
