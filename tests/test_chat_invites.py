"""A chat's invite links for its moderators: make one, list, show the QR code, the PNG, the
printable poster, revoke — and the staff invite's QR code.

QR codes are checked by decoding them (zxing-cpp): what the phone's camera reads is exactly the
link on the configured BASE_URL, whatever Host the request came with.
"""

from __future__ import annotations

import html
import io
import re
import string
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import func, select

from sferum_lite.extensions import db
from sferum_lite.models import Chat, ChatInvite, utcnow

from . import factories as f
from .test_admin_groups import audit_rows, field_errors, flashes, page_text

BASE = "https://sad7.example"
MOSCOW = ZoneInfo("Europe/Moscow")
TOKEN_CHARS = set(string.ascii_letters + string.digits + "-_")
STEPS = (
    "Наведите камеру телефона на QR-код.",
    "Зарегистрируйтесь и укажите фамилию и имя ребёнка.",
    "Прочитайте правила чата и нажмите «Принимаю».",
)


@pytest.fixture
def chat(world):
    return f.make_chat(
        world.kindergarten,
        world.educator,
        title="Родители группы «Солнышко»",
        group=world.group,
        members=[world.parent],
    )


@pytest.fixture
def educator_client(world, as_user):
    return as_user(world.educator)


def text(response) -> str:
    return html.unescape(page_text(response))


def invites() -> list[ChatInvite]:
    return db.session.scalars(select(ChatInvite).order_by(ChatInvite.id)).all()


def invite_count() -> int:
    return db.session.scalar(select(func.count()).select_from(ChatInvite))


def local_today():
    return datetime.now(MOSCOW).date()


def decode(png: bytes) -> list[str]:
    image = Image.open(io.BytesIO(png))
    return [result.text for result in zxingcpp.read_barcodes(image)]


def qr_svg(response) -> str | None:
    match = re.search(r"<svg[^>]*class=\"qr\".*?</svg>", page_text(response), re.S)
    return match.group(0) if match else None


def signed_in_on(app, user, base_url="https://evil.example"):
    """A client signed in on another host name, as a forged Host header would make it."""
    client = app.test_client()
    response = client.post(
        "/login", data={"login": user.login, "password": f.PASSWORD}, base_url=base_url
    )
    assert response.status_code == 303
    return client


def create(client, chat, **data):
    return client.post(f"/chats/{chat.id}/invites", data=data)


# --- making a link --------------------------------------------------------------------------------


@pytest.mark.parametrize("days", ["1", "7", "30"])
def test_create_with_each_expiry_choice(world, chat, educator_client, days):
    before = utcnow()
    response = create(educator_client, chat, expires=days, max_uses="0")
    after = utcnow()

    (invite,) = invites()
    assert response.status_code == 303
    assert response.location.endswith(f"/invites/{invite.id}")
    assert invite.chat_id == chat.id
    assert invite.created_by_id == world.educator.id
    assert invite.max_uses is None, "no limit is the default for a chat"
    assert invite.needs_approval is True, "approval is the default (issue 13 §2)"
    assert invite.uses == 0
    assert before + timedelta(days=int(days)) <= invite.expires_at
    assert invite.expires_at <= after + timedelta(days=int(days))
    assert invite.state() == "live"

    page = educator_client.get(response.location)
    assert page.status_code == 200
    assert "Ссылка готова. Покажите QR-код родителям или распечатайте плакат." in flashes(page)
    (row,) = audit_rows("chat_invite.created")
    assert row.actor_id == world.educator.id


def test_the_defaults_make_a_seven_day_link_without_limit(chat, educator_client):
    form = text(educator_client.get(f"/chats/{chat.id}/invites"))
    assert re.search(r'<input checked[^>]*value="7"|value="7"[^>]*checked', form)
    assert "По одобрению воспитателя" in form
    assert re.search(r'<input[^>]*checked[^>]*value="needed"', form)

    response = create(educator_client, chat)

    (invite,) = invites()
    assert response.status_code == 303
    assert invite.max_uses is None
    assert invite.needs_approval is True
    assert timedelta(days=6, hours=23) < invite.expires_at - utcnow() <= timedelta(days=7)


def test_create_until_a_date_with_limit_and_approval(chat, educator_client):
    day = local_today() + timedelta(days=10)
    response = create(
        educator_client,
        chat,
        expires="date",
        until=day.isoformat(),
        max_uses="20",
        approval="needed",
    )

    (invite,) = invites()
    assert response.status_code == 303
    end_of_day = datetime.combine(day, time(23, 59, 59), tzinfo=MOSCOW).astimezone(UTC)
    assert invite.expires_at == end_of_day, "the link lasts to the end of that day in Moscow"
    assert invite.max_uses == 20
    assert invite.needs_approval is True

    page = text(educator_client.get(response.location))
    assert f"Действует до {day.day} " in page
    assert "23:59" in page
    assert "Вступление по одобрению воспитателя" in page


def test_a_date_typed_the_russian_way_and_today_are_accepted(chat, educator_client):
    today = local_today()
    response = create(educator_client, chat, expires="date", until=today.strftime("%d.%m.%Y"))

    (invite,) = invites()
    assert response.status_code == 303
    assert invite.state() == "live", "«до сегодня» lasts until tonight"


def test_a_date_is_ignored_unless_until_a_date_is_chosen(chat, educator_client):
    response = create(educator_client, chat, expires="1", until="not a date")

    (invite,) = invites()
    assert response.status_code == 303
    assert invite.expires_at - utcnow() <= timedelta(days=1)


@pytest.mark.parametrize(
    "data,message",
    [
        (
            {"expires": "date", "until": "yesterday"},
            "Эта дата уже прошла. Выберите сегодняшний день или позже.",
        ),
        ({"expires": "date", "until": "2026-13-45"}, "Укажите дату, например 31.05.2026."),
        ({"expires": "date", "until": "garbage"}, "Укажите дату, например 31.05.2026."),
        ({"expires": "date", "until": "too far"}, "Не дальше чем на год вперёд"),
        ({"expires": "date", "until": ""}, "Укажите последний день, когда ссылка действует."),
        ({"expires": "forever"}, "Выберите вариант из списка."),
        ({"expires": "7", "max_uses": "7"}, "Выберите вариант из списка."),
        ({"expires": "7", "max_uses": "много"}, "Выберите вариант из списка."),
    ],
)
def test_bad_input_is_refused_and_nothing_is_saved(chat, educator_client, data, message):
    if data.get("until") == "yesterday":
        data["until"] = (local_today() - timedelta(days=1)).isoformat()
    if data.get("until") == "too far":
        data["until"] = (local_today() + timedelta(days=400)).isoformat()

    response = create(educator_client, chat, **data)

    assert response.status_code == 422
    assert any(error.startswith(message) for error in field_errors(response)), field_errors(
        response
    )
    assert invite_count() == 0
    assert audit_rows("chat_invite.created") == []
    assert '<details class="new-invite" open' in page_text(response), "the form stays open"


def test_the_date_field_knows_its_bounds(chat, educator_client):
    body = page_text(educator_client.get(f"/chats/{chat.id}/invites"))
    today = local_today()
    assert f'min="{today.isoformat()}"' in body
    assert f'max="{(today + timedelta(days=365)).isoformat()}"' in body


def test_a_year_ahead_is_the_last_day_allowed(chat, educator_client):
    last = local_today() + timedelta(days=365)
    assert create(educator_client, chat, expires="date", until=last.isoformat()).status_code == 303
    too_far = last + timedelta(days=1)
    response = create(educator_client, chat, expires="date", until=too_far.isoformat())
    assert response.status_code == 422
    assert invite_count() == 1


def test_tokens_are_long_random_and_differ(chat, educator_client):
    for _ in range(3):
        assert create(educator_client, chat).status_code == 303

    tokens = [invite.token for invite in invites()]
    assert len(set(tokens)) == 3
    for token in tokens:
        assert set(token) <= TOKEN_CHARS, "URL-safe base64"
        assert len(token) * 6 >= 128, "at least 128 bits"


# --- who may ----------------------------------------------------------------------------------


def test_a_parent_of_the_chat_may_not_invite(world, chat, as_user):
    client = as_user(world.parent)
    assert client.get(f"/chats/{chat.id}/invites").status_code == 403
    assert create(client, chat).status_code == 403
    assert invite_count() == 0


@pytest.mark.parametrize("persona", ["other_educator", "other_group_parent"])
def test_people_outside_the_chat_get_not_found(world, chat, as_user, persona):
    invite = f.make_chat_invite(chat, world.educator)
    client = as_user(world.persona(persona))
    assert client.get(f"/chats/{chat.id}/invites").status_code == 404
    assert create(client, chat).status_code == 404
    for path in ("", "/qr.png", "/poster"):
        assert client.get(f"/invites/{invite.id}{path}").status_code == 404
    assert client.post(f"/invites/{invite.id}/revoke").status_code == 404
    assert invite_count() == 1
    db.session.refresh(invite)
    assert invite.revoked_at is None


def test_a_parent_cannot_open_an_invite_page_of_their_chat(world, chat, as_user):
    invite = f.make_chat_invite(chat, world.educator)
    client = as_user(world.parent)
    for path in ("", "/qr.png", "/poster"):
        assert client.get(f"/invites/{invite.id}{path}").status_code == 404
    assert client.post(f"/invites/{invite.id}/revoke").status_code == 404


def test_visitors_are_sent_to_sign_in(world, chat, client):
    invite = f.make_chat_invite(chat, world.educator)
    assert client.get(f"/chats/{chat.id}/invites").status_code == 302
    assert client.get(f"/invites/{invite.id}/qr.png").status_code == 302


def test_the_administration_invites_into_any_chat(world, chat, admin_client):
    response = create(admin_client, chat)
    assert response.status_code == 303
    (invite,) = invites()
    assert invite.created_by_id == world.admin.id
    assert admin_client.get(response.location).status_code == 200


def test_no_links_into_the_staff_chats(world, director_client):
    staff_chat = db.session.scalar(
        select(Chat).where(Chat.kindergarten_id == world.kindergarten.id, Chat.system == "staff")
    )
    assert staff_chat is not None
    assert director_client.get(f"/chats/{staff_chat.id}/invites").status_code == 403
    assert create(director_client, staff_chat).status_code == 403
    assert invite_count() == 0


def test_an_archived_chat_gets_no_new_links(world, educator_client):
    archived = f.make_chat(world.kindergarten, world.educator, group=world.group, archived=True)
    invite = f.make_chat_invite(archived, world.educator)

    response = create(educator_client, archived)
    assert response.status_code == 403
    assert invite_count() == 1

    listing = educator_client.get(f"/chats/{archived.id}/invites")
    assert listing.status_code == 200, "its moderator still sees the links it had"
    body = text(listing)
    assert "Чат в архиве: новые ссылки в него создать нельзя." in body
    assert 'class="new-invite"' not in body

    shown = educator_client.get(f"/invites/{invite.id}")
    assert shown.status_code == 200
    assert qr_svg(shown) is None, "nobody gets in while the chat is archived"
    assert "Чат в архиве: пока он там, по этой ссылке никто не вступит." in text(shown)
    assert educator_client.get(f"/invites/{invite.id}/qr.png").status_code == 410

    revoked = educator_client.post(f"/invites/{invite.id}/revoke")
    assert revoked.status_code == 303, "and may still revoke them"
    db.session.refresh(invite)
    assert invite.state() == "revoked"


def test_the_settings_page_links_to_the_invites(world, chat, as_user):
    link = "Пригласить по ссылке / QR-код"
    educator_page = text(as_user(world.educator).get(f"/chats/{chat.id}/settings"))
    assert link in educator_page
    assert f'href="/chats/{chat.id}/invites"' in educator_page
    assert link not in text(as_user(world.parent).get(f"/chats/{chat.id}/settings"))
    archived = f.make_chat(world.kindergarten, world.educator, group=world.group, archived=True)
    assert link not in text(as_user(world.educator).get(f"/chats/{archived.id}/settings"))


# --- the list ---------------------------------------------------------------------------------


def test_the_list_shows_uses_last_use_and_dead_links(world, chat, educator_client):
    used_at = datetime(2026, 5, 12, 9, 30, tzinfo=UTC)  # 12:30 in Moscow
    busy = f.make_chat_invite(
        chat, world.educator, max_uses=20, uses=3, last_used_at=used_at, needs_approval=True
    )
    fresh = f.make_chat_invite(chat, world.admin)
    revoked = f.make_chat_invite(chat, world.educator, revoked=True)
    expired = f.make_chat_invite(chat, world.educator, days=-1)
    other_chat = f.make_chat(world.kindergarten, world.educator, title="Другой чат")
    elsewhere = f.make_chat_invite(other_chat, world.educator)

    body = text(educator_client.get(f"/chats/{chat.id}/invites"))

    live_part, _, dead_part = body.partition("Недействующие")
    assert f"/invites/{busy.id}" in live_part
    assert f"/invites/{fresh.id}" in live_part
    assert "использовано 3 из 20" in live_part
    assert "последний раз 12 мая, 12:30" in live_part
    assert "по одобрению" in live_part
    assert "использовано 0" in live_part
    assert world.admin.name in live_part, "who made it"
    assert f"/invites/{revoked.id}" in dead_part
    assert f"/invites/{expired.id}" in dead_part
    assert "отозвано" in dead_part
    assert "истекло" in dead_part
    assert f"/invites/{elsewhere.id}" not in body


# --- the invite page, the PNG, the poster ------------------------------------------------------


def test_the_invite_page_shows_a_big_qr_code_and_the_link(world, chat, app):
    invite = f.make_chat_invite(chat, world.educator, max_uses=5, uses=2)
    url = f"{BASE}/i/{invite.token}"
    client = signed_in_on(app, world.educator)

    response = client.get(f"/invites/{invite.id}", base_url="https://evil.example")

    assert response.status_code == 200
    svg = qr_svg(response)
    assert svg is not None
    assert 'role="img"' in svg
    assert 'aria-label="' in svg
    assert 'viewBox="0 0 ' in svg, "scalable: CSS gives it its size"
    assert not re.search(r"<svg[^>]*\swidth=", svg)
    assert "style=" not in svg, "the CSP allows no inline styles"
    assert 'fill="#fff"' in svg and 'stroke="#000"' in svg, "black on white"
    body = text(response)
    assert f'value="{url}"' in body
    assert 'data-copy="#invite-url"' in body
    assert "evil.example" not in body
    assert f'href="/invites/{invite.id}/qr.png"' in body
    assert f'href="/invites/{invite.id}/poster"' in body
    assert f'action="/invites/{invite.id}/revoke"' in body
    assert "data-confirm=" in body
    assert "Использовано 2 из 5" in body
    assert "invites.css" in body


def test_the_svg_on_the_page_holds_the_link(world, chat, educator_client):
    """The inline SVG is the same code as the PNG: render it and read it back."""
    from sferum_lite import qr

    invite = f.make_chat_invite(chat, world.educator)
    svg = qr_svg(educator_client.get(f"/invites/{invite.id}"))
    url = f"{BASE}/i/{invite.token}"
    with educator_client.application.test_request_context():
        assert qr.svg(url, "QR-код приглашения в чат") == svg
        assert decode(qr.png(url)) == [url]


def test_the_png_decodes_to_the_configured_address(world, chat, educator_client):
    invite = f.make_chat_invite(chat, world.educator)

    response = educator_client.get(f"/invites/{invite.id}/qr.png")

    assert response.status_code == 200
    assert response.mimetype == "image/png"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f'filename="priglashenie-{chat.id}.png"' in disposition
    assert "no-store" in response.headers["Cache-Control"]
    assert "private" in response.headers["Cache-Control"]
    image = Image.open(io.BytesIO(response.data))
    assert image.width >= 600 and image.width == image.height
    assert decode(response.data) == [f"{BASE}/i/{invite.token}"]


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1:5000"])
def test_the_png_ignores_the_host_of_the_request(world, chat, app, host):
    invite = f.make_chat_invite(chat, world.educator)
    client = signed_in_on(app, world.educator, f"http://{host}")
    response = client.get(f"/invites/{invite.id}/qr.png", base_url=f"http://{host}")
    assert response.status_code == 200
    assert decode(response.data) == [f"{BASE}/i/{invite.token}"]


@pytest.mark.parametrize(
    "fields,reason",
    [
        ({"revoked": True}, "Ссылка отозвана: по ней больше нельзя вступить в чат."),
        ({"days": -1}, "Срок действия ссылки закончился."),
        (
            {"max_uses": 1, "uses": 1},
            "Ссылкой уже воспользовались столько раз, сколько было разрешено.",
        ),
    ],
)
def test_a_dead_link_says_why_and_has_no_qr_code(world, chat, educator_client, fields, reason):
    invite = f.make_chat_invite(chat, world.educator, **fields)

    shown = educator_client.get(f"/invites/{invite.id}")
    assert shown.status_code == 200
    assert reason in text(shown)
    assert qr_svg(shown) is None
    assert "/qr.png" not in page_text(shown)
    assert f"/invites/{invite.id}/revoke" not in page_text(shown)

    assert educator_client.get(f"/invites/{invite.id}/qr.png").status_code == 410
    poster = educator_client.get(f"/invites/{invite.id}/poster")
    assert poster.status_code == 410
    assert qr_svg(poster) is None
    assert invite.token not in page_text(poster)


def test_the_poster(world, chat, educator_client):
    invite = f.make_chat_invite(chat, world.educator)

    response = educator_client.get(f"/invites/{invite.id}/poster")

    assert response.status_code == 200
    body = text(response)
    assert world.kindergarten.name in body
    assert "Группа «Солнышко»" in body
    assert chat.title in body
    assert world.educator.name in body
    assert "воспитатель" in body, "the educator's position"
    assert 'aria-label="подтверждён"' in body, "the verified badge"
    for step in STEPS:
        assert step in body
    assert f"{BASE}/i/{invite.token}" in body
    assert qr_svg(response) is not None
    assert "data-print" in body
    assert 'class="poster-page"' in body
    assert "onclick" not in body and "<script>" not in body


def test_a_poster_of_a_chat_without_a_group(world, admin_client, as_user):
    chat = f.make_chat(world.kindergarten, world.admin, title="Родительский комитет")
    invite = f.make_chat_invite(chat, world.admin)
    assert as_user(world.educator).get(f"/invites/{invite.id}/poster").status_code == 404
    response = admin_client.get(f"/invites/{invite.id}/poster")
    assert response.status_code == 200
    body = text(response)
    assert "Родительский комитет" in body
    assert "Группа «" not in body
    assert world.admin.name in body
    assert "заместитель заведующего" in body


# --- revoking ---------------------------------------------------------------------------------


def test_revoke(world, chat, educator_client):
    invite = f.make_chat_invite(chat, world.educator)

    response = educator_client.post(f"/invites/{invite.id}/revoke")

    assert response.status_code == 303
    assert response.location.endswith(f"/chats/{chat.id}/invites")
    db.session.refresh(invite)
    assert invite.state() == "revoked"
    assert invite.revoked_by_id == world.educator.id
    page = educator_client.get(response.location)
    assert "Ссылка отозвана: по ней больше нельзя вступить в чат." in flashes(page)
    (row,) = audit_rows("chat_invite.revoked")
    assert row.actor_id == world.educator.id
    assert educator_client.get(f"/invites/{invite.id}/qr.png").status_code == 410

    again = educator_client.post(f"/invites/{invite.id}/revoke")
    assert again.status_code == 303
    assert len(audit_rows("chat_invite.revoked")) == 1, "revoking twice changes nothing"


def test_revoke_is_a_post(world, chat, educator_client):
    invite = f.make_chat_invite(chat, world.educator)
    assert educator_client.get(f"/invites/{invite.id}/revoke").status_code == 405
    db.session.refresh(invite)
    assert invite.state() == "live"


# --- staff invites get QR codes too ----------------------------------------------------------


def test_the_staff_invite_page_shows_its_qr_code(world, admin_client):
    invite = f.make_staff_invite(world.kindergarten, world.admin)
    response = admin_client.get(f"/admin/staff/invites/{invite.id}")
    assert response.status_code == 200
    assert qr_svg(response) is not None
    assert f'href="/admin/staff/invites/{invite.id}/qr.png"' in page_text(response)


def test_the_staff_invite_png_decodes_to_its_link(world, app):
    invite = f.make_staff_invite(world.kindergarten, world.admin)
    client = signed_in_on(app, world.admin)

    response = client.get(
        f"/admin/staff/invites/{invite.id}/qr.png", base_url="https://evil.example"
    )

    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response.headers["Cache-Control"]
    assert decode(response.data) == [f"{BASE}/staff-invite/{invite.token}"]


def test_a_dead_staff_invite_has_no_qr_code(world, admin_client):
    invite = f.make_staff_invite(world.kindergarten, world.admin, revoked=True)
    page = admin_client.get(f"/admin/staff/invites/{invite.id}")
    assert qr_svg(page) is None
    assert admin_client.get(f"/admin/staff/invites/{invite.id}/qr.png").status_code == 410


def test_the_staff_invite_qr_is_the_administrations(world, as_user):
    invite = f.make_staff_invite(world.kindergarten, world.admin)
    assert as_user(world.educator).get(f"/admin/staff/invites/{invite.id}/qr.png").status_code == (
        403
    )
    director_only = f.make_staff_invite(world.kindergarten, world.director, grants_admin=True)
    response = as_user(world.admin).get(f"/admin/staff/invites/{director_only.id}/qr.png")
    assert response.status_code == 404
