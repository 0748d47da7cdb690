"""No request can exhaust the server: body limits per route (checked before anything parses the
body), rate limits counted before the CSRF check, posts with files per person."""

from __future__ import annotations

import io
import os

from PIL import Image
from sqlalchemy import func, select

from sferum_lite import limits
from sferum_lite.extensions import db
from sferum_lite.models import Child, FailedLogin

from .test_admin_groups import page_text
from .test_chats import post_message
from .test_messages import attachments_of, group_chat, last_message  # noqa: F401
from .test_roster_import import GOOD_ROWS, csv_bytes, upload_big

KB = 1024
MB = 1024 * KB


class Unreadable(io.RawIOBase):
    """A request body of `size` bytes that fails the test if anything reads it."""

    def __init__(self, size: int):
        self.size, self.position = size, 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self.position

    def seek(self, offset, whence=0):
        self.position = self.size if whence == 2 else offset
        return self.position

    def readinto(self, _buffer):
        raise AssertionError("the body was read")


# --- (a) body limits per route -------------------------------------------------------------------


def test_a_100_kb_sign_in_is_refused_unread(client, world):
    response = client.post(
        "/login",
        input_stream=Unreadable(100 * KB),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 413
    assert "Файл слишком большой" in page_text(response)


def test_a_100_kb_sign_in_saves_nothing(client, world):
    body = f"login={world.parent.login}&password=wrong&pad=" + "x" * (100 * KB)
    response = client.post("/login", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert db.session.scalar(select(func.count()).select_from(FailedLogin)) == 0


def test_a_sign_in_under_64_kb_is_read_as_usual(client, world):
    body = f"login={world.parent.login}&password=wrong&pad=" + "x" * (60 * KB)
    response = client.post("/login", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 422


def test_a_3_mb_roster_file_gets_413_with_a_clear_message(world, admin_client):
    before = db.session.scalar(select(func.count()).select_from(Child))
    response = upload_big(admin_client, csv_bytes(GOOD_ROWS) + b"x" * (3 * MB))
    assert response.status_code == 413
    text = page_text(response)
    assert "Файл больше 2 МБ" in text
    assert "Список детей в CSV занимает меньше 1 МБ" in text
    assert db.session.scalar(select(func.count()).select_from(Child)) == before


def test_a_roster_file_under_2_mb_still_gets_its_size_told(world, admin_client):
    response = upload_big(admin_client, csv_bytes(GOOD_ROWS) + b"x" * (3 * MB // 2))
    assert response.status_code == 422
    assert "1,5 МБ" in page_text(response)


def test_the_longest_consent_text_still_fits(world, admin_client):
    text = "Согласие на обработку персональных данных. " + "ж" * (20_000 - 44)
    response = admin_client.post("/admin/consent", data={"text": text})
    assert response.status_code == 303, page_text(response)[:500]


def test_a_message_with_a_5_mb_photo_is_posted(world, as_user, group_chat):  # noqa: F811
    noise = Image.frombytes("RGB", (2600, 1800), os.urandom(2600 * 1800 * 3))
    out = io.BytesIO()
    noise.save(out, "JPEG", quality=95)
    photo = out.getvalue()
    assert len(photo) > 5 * MB
    response = post_message(
        as_user(world.parent), group_chat, "С прогулки", files=[(photo, "IMG_0002.JPG")]
    )
    assert response.status_code == 303
    (attachment,) = attachments_of(last_message(group_chat))
    assert attachment.kind == "photo"


def test_every_route_in_the_table_exists(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert set(limits.BODY_LIMITS) <= endpoints


# --- (b) rate limits before the CSRF check ----------------------------------------------------


def test_sign_ins_refused_by_csrf_count_against_the_address(make_app, world):
    app = make_app(RATELIMIT_ENABLED=True, WTF_CSRF_ENABLED=True)
    answers = [
        app.test_client().post("/login", data={"login": "x@example.ru", "password": "нет"})
        for _ in range(40)
    ]
    codes = [answer.status_code for answer in answers]
    assert codes[:30] == [400] * 30  # no token: the page is stale
    assert codes[30:] == [429] * 10
    assert "Слишком много попыток" in page_text(answers[30])


def test_a_limit_is_counted_once_per_request(make_app, world):
    app = make_app(RATELIMIT_ENABLED=True)
    codes = [
        app.test_client()
        .post("/login", data={"login": f"nobody{n}@example.ru", "password": "нет"})
        .status_code
        for n in range(31)
    ]
    assert 429 not in codes[:30]
    assert codes[30] == 429


def test_failed_invite_lookups_are_counted_once(make_app, world):
    app = make_app(RATELIMIT_ENABLED=True)
    codes = [app.test_client().get(f"/i/wrong-{n}").status_code for n in range(21)]
    assert codes == [404] * 20 + [429]
