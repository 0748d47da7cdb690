"""Chats: kinds (group chat, channel, direct chat), creation from templates, settings (rename,
archive), membership, who sees which chat, and the chat list.

Each test goes through real requests and checks the answer (status, what the page shows) and
what the database holds afterwards.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from urllib.parse import quote

import pytest
import time_machine
from flask import current_app
from PIL import Image
from sqlalchemy import select

from sferum_lite.extensions import db
from sferum_lite.i18n import short_time
from sferum_lite.models import (
    Attachment,
    AuditLog,
    Chat,
    ChatMember,
    Confirmation,
    Message,
    Poll,
    PollOption,
    PollVote,
    Reaction,
    utcnow,
)
from sferum_lite.permissions import ChatAccess, access_chat, can_post

from . import factories as f
from .test_admin_groups import count, other_kindergarten, page_text, without_csrf

NO_SUCH_ID = 987654
OVERSIGHT = "Администрация видит этот чат"
AS_ADMINISTRATION = "вы смотрите как администрация"


# --- helpers (shared with test_messages.py) ------------------------------------------------------


def member(chat, user) -> ChatMember | None:
    return db.session.get(ChatMember, (chat.id, user.id))


def member_ids(chat) -> set[int]:
    return set(db.session.scalars(select(ChatMember.user_id).where(ChatMember.chat_id == chat.id)))


def moderator_ids(chat) -> set[int]:
    return set(
        db.session.scalars(
            select(ChatMember.user_id).where(ChatMember.chat_id == chat.id, ChatMember.is_moderator)
        )
    )


def messages_of(chat) -> list[Message]:
    return db.session.scalars(
        select(Message).where(Message.chat_id == chat.id).order_by(Message.id)
    ).all()


def reload(obj):
    db.session.refresh(obj)
    return obj


def multipart(fields: dict, files) -> tuple[bytes, str]:
    """A multipart/form-data body built in memory, as a browser sends it: (body, content type).

    `files` are (file-like or bytes, name) pairs. A name a header can't carry as it is (quotes,
    line breaks) goes as RFC 2231 `filename*`, which the server decodes back. (The test client's
    own encoder spools big bodies to temporary files it never closes.)"""
    boundary = "sferumTestBoundary7"
    parts = []
    for name, value in fields.items():
        for item in value if isinstance(value, list | tuple) else [value]:
            head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            parts.append(f"{head}{item}\r\n".encode())
    for content, filename in files:
        data = content if isinstance(content, bytes) else content.read()
        if any(c in filename for c in '"\r\n\\'):
            disposition = f"filename=\"file\"; filename*=UTF-8''{quote(filename, safe='')}"
        else:
            disposition = f'filename="{filename}"'
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; {disposition}\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        )
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def post_message(client, chat, text="Добрый день!", *, headers=None, files=None, **fields):
    """POST /chats/<id>/messages as a browser form (multipart when files are given)."""
    url = f"/chats/{chat.id}/messages"
    if files is None:
        return client.post(url, data={"text": text, **fields}, headers=headers)
    body, content_type = multipart({"text": text, **fields}, files)
    return client.post(url, data=body, content_type=content_type, headers=headers)


def jpeg_bytes(size=(40, 30), color="green") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


def chat_rows(response) -> dict[int, str]:
    """The chat list: chat id -> the row's HTML, in the order shown."""
    found = re.findall(
        r'<a href="/chats/(\d+)" class="chat-row[^"]*">(.*?)</a>', page_text(response), re.S
    )
    return {int(chat_id): row for chat_id, row in found}


def unread_in(row: str) -> int:
    found = re.search(r'<span class="unread-count"[^>]*>(\d+)</span>', row)
    return int(found.group(1)) if found else 0


def chat_of_system(kindergarten, system) -> Chat:
    return db.session.scalar(
        select(Chat).where(Chat.kindergarten_id == kindergarten.id, Chat.system == system)
    )


@pytest.fixture
def group_chat(world):
    """«Солнышко»'s parents' chat: its educator (moderator) and a parent of the group."""
    return f.make_chat(
        world.kindergarten, world.educator, group=world.group, members=[world.parent]
    )


@pytest.fixture
def channel(world):
    """A channel of the group: the educator writes, the parent reads."""
    return f.make_chat(
        world.kindergarten,
        world.educator,
        kind="channel",
        title="Объявления группы «Солнышко»",
        group=world.group,
        members=[world.parent],
    )


@pytest.fixture
def group_parent(world):
    """A second parent of «Солнышко», not in any chat yet."""
    child = f.make_child(world.group, "Сидоров", "Миша")
    return f.make_parent(world.kindergarten, "Ольга Сидорова", children=[child])


# --- kinds --------------------------------------------------------------------------------------


def test_setup_makes_the_news_channel_and_the_staff_chats(world, as_user):
    news = chat_of_system(world.kindergarten, "news")
    staff = chat_of_system(world.kindergarten, "staff")
    staff_group = chat_of_system(world.kindergarten, "staff_group")
    assert (news.kind, news.title) == ("channel", "Новости детского сада")
    assert (staff.kind, staff.title) == ("channel", "Сотрудники")
    assert (staff_group.kind, staff_group.title) == ("group", "Педагоги")
    for chat in (news, staff, staff_group):
        assert moderator_ids(chat) == {world.director.id}
        assert world.educator.id in member_ids(chat)  # staff join them
        assert world.parent.id not in member_ids(chat)

    rows = chat_rows(as_user(world.educator).get("/chats"))
    assert {news.id, staff.id, staff_group.id} <= set(rows)
    parent = as_user(world.parent)
    assert set(chat_rows(parent.get("/chats"))) == set()
    assert parent.get(f"/chats/{staff.id}").status_code == 404


def test_everyone_writes_in_a_group_chat(world, as_user, group_chat):
    assert post_message(as_user(world.parent), group_chat, "Здравствуйте!").status_code == 303
    assert post_message(as_user(world.educator), group_chat, "Добрый день!").status_code == 303
    assert [(m.author_id, m.text) for m in messages_of(group_chat)] == [
        (world.parent.id, "Здравствуйте!"),
        (world.educator.id, "Добрый день!"),
    ]


def test_in_a_channel_staff_write_and_parents_read_react_vote_and_confirm(world, as_user, channel):
    educator, parent = as_user(world.educator), as_user(world.parent)
    response = post_message(
        educator,
        channel,
        "Собрание в пятницу",
        important="y",
        poll_question="Придёте?",
        poll_options="Да\nНет",
    )
    assert response.status_code == 303
    (message,) = messages_of(channel)
    assert message.important
    poll = db.session.scalar(select(Poll).where(Poll.message_id == message.id))

    refused = post_message(parent, channel, "А можно спросить?")
    assert refused.status_code == 403
    assert len(messages_of(channel)) == 1

    page = parent.get(f"/chats/{channel.id}")
    assert page.status_code == 200
    body = page_text(page)
    assert "Собрание в пятницу" in body
    assert '<form id="composer"' not in body
    assert "Это канал: пишут сотрудники детского сада." in body

    assert parent.post(f"/messages/{message.id}/react", data={"emoji": "👍"}).status_code == 303
    assert parent.post(f"/messages/{message.id}/confirm").status_code == 303
    first_option = db.session.scalar(
        select(PollOption.id).where(PollOption.poll_id == poll.id).order_by(PollOption.position)
    )
    assert parent.post(f"/polls/{poll.id}/vote", data={"options": first_option}).status_code == 303
    assert count(Reaction, Reaction.user_id == world.parent.id) == 1
    assert count(Confirmation, Confirmation.user_id == world.parent.id) == 1
    assert count(PollVote, PollVote.user_id == world.parent.id) == 1


def test_news_channel_is_read_only_for_a_parent_in_it(world, as_user):
    news = chat_of_system(world.kindergarten, "news")
    db.session.add(ChatMember(chat_id=news.id, user_id=world.parent.id))
    db.session.commit()
    parent = as_user(world.parent)
    assert parent.get(f"/chats/{news.id}").status_code == 200
    assert post_message(parent, news, "Привет").status_code == 403
    assert post_message(as_user(world.director), news, "Новости").status_code == 303
    assert [m.text for m in messages_of(news)] == ["Новости"]


# --- direct chats -------------------------------------------------------------------------------


def direct_chats() -> list[Chat]:
    return db.session.scalars(select(Chat).where(Chat.kind == "direct")).all()


def test_a_parent_starts_a_direct_chat_with_the_educator_of_their_group(world, as_user):
    parent = as_user(world.parent)
    response = parent.post(f"/chats/direct/{world.educator.id}")
    assert response.status_code == 303
    (chat,) = direct_chats()
    assert response.location.endswith(f"/chats/{chat.id}")
    assert chat.direct_key == f"{world.educator.id}:{world.parent.id}"
    assert member_ids(chat) == {world.educator.id, world.parent.id}
    assert moderator_ids(chat) == {world.educator.id}

    page = parent.get(f"/chats/{chat.id}")
    assert page.status_code == 200
    assert "Личный чат" in page_text(page)
    assert world.educator.name in page_text(page)

    again = parent.post(f"/chats/direct/{world.educator.id}")
    assert again.status_code == 303
    assert again.location == response.location
    from_educator = as_user(world.educator).post(f"/chats/direct/{world.parent.id}")
    assert from_educator.location == response.location
    assert len(direct_chats()) == 1


def test_an_educator_starts_a_direct_chat_with_a_parent_of_their_group(world, as_user):
    response = as_user(world.educator).post(f"/chats/direct/{world.parent.id}")
    assert response.status_code == 303
    (chat,) = direct_chats()
    assert member_ids(chat) == {world.educator.id, world.parent.id}
    assert moderator_ids(chat) == {world.educator.id}
    assert post_message(as_user(world.parent), chat, "Вопрос про Артёма").status_code == 303


@pytest.mark.parametrize(
    "starter,other",
    [
        ("other_group_parent", "educator"),
        ("educator", "other_group_parent"),
        ("parent", "other_educator"),
        ("other_educator", "parent"),
        ("parent", "other_group_parent"),
        ("educator", "other_educator"),
        ("parent", "parent"),
        ("director", "parent"),
        ("parent", "no-such-user"),
    ],
)
def test_no_direct_chat_outside_the_pairs_of_a_group(world, as_user, starter, other):
    other_id = NO_SUCH_ID if other == "no-such-user" else world.persona(other).id
    response = as_user(world.persona(starter)).post(f"/chats/direct/{other_id}")
    assert response.status_code == 404
    assert direct_chats() == []


def test_no_direct_chat_once_the_child_has_left(world, as_user):
    world.child.left_at = utcnow()
    db.session.commit()
    assert as_user(world.parent).post(f"/chats/direct/{world.educator.id}").status_code == 404
    assert direct_chats() == []


def test_a_direct_chat_is_private_to_the_pair_and_the_administration(world, as_user):
    as_user(world.parent).post(f"/chats/direct/{world.educator.id}")
    (chat,) = direct_chats()
    assert as_user(world.other_educator).get(f"/chats/{chat.id}").status_code == 404
    assert as_user(world.other_group_parent).get(f"/chats/{chat.id}").status_code == 404
    assert as_user(world.director).get(f"/chats/{chat.id}").status_code == 200
    # a direct chat has no settings to change
    assert (
        as_user(world.educator).post(f"/chats/{chat.id}/settings", data={"title": "X"}).status_code
        == 403
    )


# --- creating from templates --------------------------------------------------------------------


def test_an_educator_is_offered_templates_of_their_own_group_only(world, as_user):
    page = as_user(world.educator).get("/chats/new")
    assert page.status_code == 200
    body = page_text(page)
    assert "Родители группы «Солнышко»" in body
    assert f'value="parents:{world.group.id}"' in body
    assert "Капелька" not in body
    assert f"parents:{world.other_group.id}" not in body
    assert "Родительский комитет" not in body
    assert "Заведующий и заместители" not in body


def test_an_educator_creates_the_parents_chat_of_their_group(world, as_user):
    educator = as_user(world.educator)
    response = educator.post("/chats/new", data={"template": f"parents:{world.group.id}"})
    assert response.status_code == 303
    chat = db.session.scalar(select(Chat).where(Chat.system.is_(None)))
    assert response.location.endswith(f"/chats/{chat.id}")
    assert (chat.kind, chat.title, chat.group_id) == (
        "group",
        "Родители группы «Солнышко»",
        world.group.id,
    )
    assert chat.created_by_id == world.educator.id
    assert member_ids(chat) == {world.educator.id}
    assert moderator_ids(chat) == {world.educator.id}
    page = educator.get(response.location)
    assert "Чат «Родители группы «Солнышко»» создан." in page_text(page)
    assert chat.id in chat_rows(educator.get("/chats")), "listed before its first message"
    (row,) = db.session.scalars(select(AuditLog).where(AuditLog.action == "chat.create")).all()
    assert row.actor_id == world.educator.id


def test_the_group_template_brings_the_group_s_educators(world, as_user):
    helper = f.make_staff(
        world.kindergarten, "Вера Помощникова", position="pomoshnik", groups=[world.group]
    )
    response = as_user(world.educator).post(
        "/chats/new", data={"template": f"channel:{world.group.id}", "title": "Наш канал"}
    )
    assert response.status_code == 303
    chat = db.session.scalar(select(Chat).where(Chat.system.is_(None)))
    assert (chat.kind, chat.title) == ("channel", "Наш канал")
    assert member_ids(chat) == {world.educator.id, helper.id}
    assert moderator_ids(chat) == {world.educator.id}


@pytest.mark.parametrize("template", ["parents:{other}", "deputies", "committee", "nonsense"])
def test_an_educator_cannot_forge_a_template(world, as_user, template):
    value = template.format(other=world.other_group.id)
    response = as_user(world.educator).post("/chats/new", data={"template": value})
    assert response.status_code == 422
    assert count(Chat, Chat.system.is_(None)) == 0


def test_a_parent_cannot_create_chats(world, as_user):
    parent = as_user(world.parent)
    assert parent.get("/chats/new").status_code == 403
    assert parent.post("/chats/new", data={"template": "committee"}).status_code == 403
    assert count(Chat, Chat.system.is_(None)) == 0


def test_the_administration_has_the_kindergarten_templates(world, as_user):
    for persona in (world.director, world.admin):
        body = page_text(as_user(persona).get("/chats/new"))
        for label in (
            "Заведующий и заместители",
            "Заведующий и педагоги",
            "Родительский комитет",
            "Родители группы «Солнышко»",
            "Родители группы «Капелька»",
        ):
            assert label in body, (persona.name, label)


def test_templates_of_the_administration_bring_their_members(world, as_user):
    director = as_user(world.director)
    made = {}
    for template in ("deputies", "educators", "committee"):
        response = director.post("/chats/new", data={"template": template})
        assert response.status_code == 303
        made[template] = db.session.get(Chat, int(response.location.rsplit("/", 1)[1]))
    assert made["deputies"].title == "Заведующий и заместители"
    assert member_ids(made["deputies"]) == {world.director.id, world.admin.id}
    assert member_ids(made["educators"]) == {
        world.director.id,
        world.admin.id,
        world.educator.id,
        world.other_educator.id,
    }
    assert member_ids(made["committee"]) == {world.director.id}
    for chat in made.values():
        assert moderator_ids(chat) == {world.director.id}


# --- settings: rename, archive ------------------------------------------------------------------


def test_the_moderator_renames_the_chat(world, as_user, group_chat):
    response = as_user(world.educator).post(
        f"/chats/{group_chat.id}/settings", data={"title": "  Солнышко — родители "}
    )
    assert response.status_code == 303
    assert reload(group_chat).title == "Солнышко — родители"
    assert "Солнышко — родители" in page_text(as_user(world.parent).get(f"/chats/{group_chat.id}"))


def test_a_chat_title_is_shown_as_text(world, as_user, group_chat):
    title = '<img src=x onerror=alert(1)> "Солнышко"'
    as_user(world.educator).post(f"/chats/{group_chat.id}/settings", data={"title": title})
    assert reload(group_chat).title == title
    for url in (f"/chats/{group_chat.id}", "/chats", f"/chats/{group_chat.id}/settings"):
        body = page_text(as_user(world.parent).get(url))
        assert "<img src=x" not in body
        assert "&lt;img src=x onerror=alert(1)&gt;" in body


def test_rename_refusals(world, as_user, group_chat):
    old = group_chat.title
    assert (
        as_user(world.parent).post(f"/chats/{group_chat.id}/settings", data={"title": "X"})
    ).status_code == 403
    assert (
        as_user(world.other_educator).post(f"/chats/{group_chat.id}/settings", data={"title": "X"})
    ).status_code == 404
    empty = as_user(world.educator).post(f"/chats/{group_chat.id}/settings", data={"title": " "})
    assert empty.status_code == 422
    long = as_user(world.educator).post(
        f"/chats/{group_chat.id}/settings", data={"title": "Ж" * 101}
    )
    assert long.status_code == 422
    assert reload(group_chat).title == old


def test_an_archived_chat_is_read_only_and_kept(world, as_user, group_chat):
    message = f.make_message(group_chat, world.parent, "До архива")
    educator, parent = as_user(world.educator), as_user(world.parent)
    response = educator.post(f"/chats/{group_chat.id}/archive")
    assert response.status_code == 303
    assert reload(group_chat).archived_at is not None

    for client in (educator, parent):
        assert post_message(client, group_chat, "После архива").status_code == 403
        page = client.get(f"/chats/{group_chat.id}")
        assert page.status_code == 200
        assert "До архива" in page_text(page)
        assert "Чат в архиве: его можно читать, писать в него нельзя." in page_text(page)
        assert '<form id="composer"' not in page_text(page)
        assert group_chat.id in chat_rows(client.get("/chats?archived=1"))
        assert group_chat.id not in chat_rows(client.get("/chats"))
    assert parent.post(f"/messages/{message.id}/react", data={"emoji": "👍"}).status_code == 403
    assert parent.post(f"/messages/{message.id}/edit", data={"text": "новое"}).status_code == 403
    assert [m.text for m in messages_of(group_chat)] == ["До архива"]
    added = educator.post(f"/chats/{group_chat.id}/members", data={"users": [world.admin.id]})
    assert added.status_code == 403
    assert world.admin.id not in member_ids(group_chat)

    assert educator.post(f"/chats/{group_chat.id}/archive").status_code == 409
    assert educator.post(f"/chats/{group_chat.id}/restore").status_code == 303
    assert reload(group_chat).archived_at is None
    assert post_message(parent, group_chat, "Снова пишем").status_code == 303


def test_archive_refusals(world, as_user, group_chat):
    assert as_user(world.parent).post(f"/chats/{group_chat.id}/archive").status_code == 403
    assert as_user(world.other_educator).post(f"/chats/{group_chat.id}/archive").status_code == 404
    news = chat_of_system(world.kindergarten, "news")
    assert as_user(world.director).post(f"/chats/{news.id}/archive").status_code == 403
    assert reload(group_chat).archived_at is None
    assert reload(news).archived_at is None


# --- membership ---------------------------------------------------------------------------------


def test_the_admin_adds_staff_without_joining(world, as_user, group_chat):
    admin = as_user(world.admin)
    page = admin.get(f"/chats/{group_chat.id}/members")
    assert page.status_code == 200
    assert world.other_educator.name in page_text(page)
    response = admin.post(
        f"/chats/{group_chat.id}/members", data={"users": [world.other_educator.id]}
    )
    assert response.status_code == 303
    assert member_ids(group_chat) == {world.educator.id, world.parent.id, world.other_educator.id}
    assert not member(group_chat, world.other_educator).is_moderator
    assert member(group_chat, world.admin) is None


def test_the_moderator_adds_staff_and_parents_of_the_group(
    world, as_user, group_chat, group_parent
):
    educator = as_user(world.educator)
    page = page_text(educator.get(f"/chats/{group_chat.id}/members"))
    assert group_parent.name in page
    assert world.other_group_parent.name not in page, "another group's parent is not offered"
    assert world.parent.name not in page, "already a member"
    response = educator.post(
        f"/chats/{group_chat.id}/members",
        data={"users": [group_parent.id, world.other_educator.id]},
    )
    assert response.status_code == 303
    assert {group_parent.id, world.other_educator.id} <= member_ids(group_chat)
    assert "Добавлено участников: 2." in page_text(educator.get(response.location))
    # added by hand, they read at once and accept the chat's rules before writing (reg 004 §22)
    newcomer = as_user(group_parent)
    chat_page = page_text(newcomer.get(f"/chats/{group_chat.id}"))
    assert "Примите правила чата, чтобы писать" in chat_page
    assert post_message(newcomer, group_chat, "Спасибо!").status_code == 403
    accepted = newcomer.post(
        f"/chats/{group_chat.id}/rules/accept", data={"rules_id": group_chat.rules_id}
    )
    assert accepted.status_code == 303
    assert post_message(newcomer, group_chat, "Спасибо!").status_code == 303


def test_a_forged_parent_of_another_group_is_not_added(world, as_user, group_chat):
    for forged in ([world.other_group_parent.id], [NO_SUCH_ID]):
        response = as_user(world.educator).post(
            f"/chats/{group_chat.id}/members", data={"users": forged}
        )
        assert response.status_code == 422
    assert member_ids(group_chat) == {world.educator.id, world.parent.id}


def test_the_administration_adds_any_parent_to_the_committee_chat(world, as_user, group_parent):
    """A chat of the whole kindergarten (the parents' committee): parents of every group are
    offered to the administration; an unknown id is not added."""
    chat = f.make_chat(world.kindergarten, world.director, title="Родительский комитет")
    page = page_text(as_user(world.director).get(f"/chats/{chat.id}/members"))
    assert world.educator.name in page
    assert group_parent.name in page and world.other_group_parent.name in page
    chosen = [group_parent.id, world.other_group_parent.id]
    response = as_user(world.director).post(f"/chats/{chat.id}/members", data={"users": chosen})
    assert response.status_code == 303
    assert member_ids(chat) == {world.director.id, *chosen}
    response = as_user(world.director).post(
        f"/chats/{chat.id}/members", data={"users": [NO_SUCH_ID]}
    )
    assert response.status_code == 422


def test_an_educator_moderating_a_kindergarten_chat_adds_no_parents(world, as_user, group_parent):
    chat = f.make_chat(world.kindergarten, world.educator, title="Педагоги и родители")
    page = page_text(as_user(world.educator).get(f"/chats/{chat.id}/members"))
    assert group_parent.name not in page
    response = as_user(world.educator).post(
        f"/chats/{chat.id}/members", data={"users": [group_parent.id]}
    )
    assert response.status_code == 422
    assert member_ids(chat) == {world.educator.id}


def test_only_moderators_and_the_administration_add_members(world, as_user, group_chat):
    plain_staff = f.make_staff(world.kindergarten, "Игорь Музыкин", position="muzruk")
    db.session.add(ChatMember(chat_id=group_chat.id, user_id=plain_staff.id))
    db.session.commit()
    for persona, status in (
        (world.parent, 403),
        (plain_staff, 403),
        (world.other_educator, 404),
        (world.other_group_parent, 404),
    ):
        client = as_user(persona)
        assert client.get(f"/chats/{group_chat.id}/members").status_code == status
        response = client.post(f"/chats/{group_chat.id}/members", data={"users": [world.admin.id]})
        assert response.status_code == status
    assert world.admin.id not in member_ids(group_chat)


# --- who sees which chat ------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["director", "admin"])
def test_the_administration_sees_every_chat_without_being_a_member(
    world, as_user, group_chat, persona
):
    f.make_message(group_chat, world.parent, "Вопрос про прогулку")
    client = as_user(world.persona(persona))
    page = client.get(f"/chats/{group_chat.id}")
    assert page.status_code == 200
    body = page_text(page)
    assert OVERSIGHT in body
    assert AS_ADMINISTRATION in body
    assert "Вопрос про прогулку" in body
    assert '<form id="composer"' not in body
    assert group_chat.id in chat_rows(client.get("/chats"))
    assert member(group_chat, world.persona(persona)) is None


def test_members_are_told_the_administration_sees_the_chat(world, as_user, group_chat):
    body = page_text(as_user(world.parent).get(f"/chats/{group_chat.id}"))
    assert OVERSIGHT in body
    assert AS_ADMINISTRATION not in body


@pytest.fixture
def chat_things(world, as_user, group_chat):
    """The group chat with the educator's message carrying a photo and a poll."""
    response = post_message(
        as_user(world.educator),
        group_chat,
        "Фото с прогулки",
        important="y",
        poll_question="Кто придёт?",
        poll_options="Мама\nПапа",
        files=[(io.BytesIO(jpeg_bytes()), "прогулка.jpg")],
    )
    assert response.status_code == 303
    (message,) = messages_of(group_chat)
    attachment = db.session.scalar(select(Attachment).where(Attachment.message_id == message.id))
    poll = db.session.scalar(select(Poll).where(Poll.message_id == message.id))
    return group_chat, message, attachment, poll


HIDDEN_REQUESTS = [
    ("GET", "/chats/{chat}"),
    ("POST", "/chats/{chat}/messages"),
    ("GET", "/chats/{chat}/settings"),
    ("GET", "/chats/{chat}/members"),
    ("POST", "/chats/{chat}/archive"),
    ("GET", "/chats/{chat}/earlier?before=1000"),
    ("POST", "/chats/{chat}/read"),
    ("GET", "/chats/{chat}/updates?after=0"),
    ("GET", "/chats/{chat}/stream?after=0"),
    ("POST", "/messages/{message}/react"),
    ("POST", "/messages/{message}/edit"),
    ("POST", "/messages/{message}/delete"),
    ("POST", "/messages/{message}/pin"),
    ("POST", "/messages/{message}/confirm"),
    ("GET", "/messages/{message}/confirmations"),
    ("GET", "/messages/{message}/history"),
    ("POST", "/polls/{poll}/vote"),
    ("GET", "/files/{attachment}"),
    ("GET", "/files/{attachment}/thumb"),
]


@pytest.mark.parametrize("method,path", HIDDEN_REQUESTS)
@pytest.mark.parametrize("persona", ["other_educator", "other_group_parent"])
def test_a_chat_one_may_not_see_is_404_like_a_missing_one(
    world, as_user, chat_things, method, path, persona
):
    chat, message, attachment, poll = chat_things
    data = {"text": "Чужой", "emoji": "👍", "options": "1", "last": "1", "pinned": "1"}
    client = as_user(world.persona(persona))
    real = path.format(chat=chat.id, message=message.id, poll=poll.id, attachment=attachment.id)
    missing = path.format(
        chat=NO_SUCH_ID, message=NO_SUCH_ID, poll=NO_SUCH_ID, attachment=NO_SUCH_ID
    )
    answers = []
    for url in (real, missing):
        response = client.open(url, method=method, data=data if method == "POST" else None)
        answers.append((response.status_code, without_csrf(page_text(response))))
        response.close()
    assert answers[0][0] == 404
    assert answers[0] == answers[1]
    assert len(messages_of(chat)) == 1
    assert count(Reaction) == 0
    assert count(PollVote) == 0
    assert reload(message).pinned_at is None


def test_a_chat_of_another_kindergarten_is_404_even_for_the_director(world, as_user):
    elsewhere = other_kindergarten()
    their_director = f.director_of(elsewhere)
    chat = f.make_chat(elsewhere, their_director, title="Их чат")
    assert as_user(world.director).get(f"/chats/{chat.id}").status_code == 404
    assert chat.id not in chat_rows(as_user(world.director).get("/chats"))


def test_an_attachment_of_a_deleted_message_is_gone(world, as_user, chat_things):
    chat, message, attachment, poll = chat_things
    parent = as_user(world.parent)
    served = parent.get(f"/files/{attachment.id}")
    served.close()
    assert served.status_code == 200
    assert as_user(world.educator).post(f"/messages/{message.id}/delete").status_code == 303
    assert parent.get(f"/files/{attachment.id}").status_code == 404
    assert parent.get(f"/files/{attachment.id}/thumb").status_code == 404


# --- the chat list ------------------------------------------------------------------------------


def test_the_list_shows_the_last_message_and_the_unread_count(world, as_user, group_chat):
    f.make_message(group_chat, world.educator, "Первое")
    f.make_message(group_chat, world.educator, "Завтра выходим на прогулку в 10:00")
    rows = chat_rows(as_user(world.parent).get("/chats"))
    row = rows[group_chat.id]
    assert "Родители группы «Солнышко»" in row
    assert f"{world.educator.name}</bdi>: Завтра выходим на прогулку в 10:00" in row
    assert unread_in(row) == 2

    own = chat_rows(as_user(world.educator).get("/chats"))[group_chat.id]
    assert "Вы: Завтра выходим" in own
    assert unread_in(own) == 0


def test_the_list_preview_of_a_long_message_is_cut(world, as_user, group_chat):
    f.make_message(group_chat, world.educator, "Слово " * 40)
    row = chat_rows(as_user(world.parent).get("/chats"))[group_chat.id]
    assert "…" in row
    assert "Слово " * 40 not in row


def test_the_list_is_ordered_by_last_activity(world, as_user):
    with time_machine.travel(datetime(2026, 11, 20, 9, 0, tzinfo=UTC), tick=False):
        older = f.make_chat(
            world.kindergarten, world.educator, title="Старый чат", members=[world.parent]
        )
        f.make_message(older, world.educator, "давно")
    with time_machine.travel(datetime(2026, 11, 21, 9, 0, tzinfo=UTC), tick=False):
        newer = f.make_chat(
            world.kindergarten, world.educator, title="Новый чат", members=[world.parent]
        )
        f.make_message(newer, world.educator, "вчера")
    parent = as_user(world.parent)
    assert list(chat_rows(parent.get("/chats"))) == [newer.id, older.id]

    assert post_message(parent, older, "Оживим старый чат").status_code == 303
    assert list(chat_rows(parent.get("/chats"))) == [older.id, newer.id]
    assert "Вы: Оживим старый чат" in chat_rows(parent.get("/chats"))[older.id]


def test_the_list_shows_a_deleted_last_message_as_deleted(world, as_user, group_chat):
    message = f.make_message(group_chat, world.parent, "Секрет")
    assert as_user(world.parent).post(f"/messages/{message.id}/delete").status_code == 303
    row = chat_rows(as_user(world.educator).get("/chats"))[group_chat.id]
    assert "Сообщение удалено" in row
    assert "Секрет" not in row


def test_a_direct_chat_is_listed_under_the_other_person_s_name(world, as_user):
    as_user(world.parent).post(f"/chats/direct/{world.educator.id}")
    (chat,) = direct_chats()
    assert world.educator.name in chat_rows(as_user(world.parent).get("/chats"))[chat.id]
    assert world.parent.name in chat_rows(as_user(world.educator).get("/chats"))[chat.id]


def test_the_list_answers_htmx_with_the_fragment(world, as_user, group_chat):
    response = as_user(world.parent).get("/chats", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in page_text(response)
    assert group_chat.id in chat_rows(response)


NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # Wednesday, 15:00 in Moscow


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(
    "moment,shown",
    [
        (datetime(2026, 11, 25, 9, 8, tzinfo=UTC), "12:08"),  # today, Moscow time
        (datetime(2026, 11, 24, 22, 30, tzinfo=UTC), "01:30"),  # already today in Moscow
        (datetime(2026, 11, 24, 20, 30, tzinfo=UTC), "вт"),  # yesterday 23:30 in Moscow
        (datetime(2026, 11, 19, 10, 0, tzinfo=UTC), "чт"),  # six days ago
        (datetime(2026, 11, 18, 10, 0, tzinfo=UTC), "18 нояб."),  # a week ago
        (datetime(2026, 1, 2, 10, 0, tzinfo=UTC), "2 янв."),
        (datetime(2025, 11, 3, 10, 0, tzinfo=UTC), "03.11.2025"),
        (None, ""),
    ],
)
def test_short_time(world, moment, shown):
    with current_app.test_request_context():
        assert short_time(moment) == shown


# --- can_post: the one predicate for writing ----------------------------------------------------


def test_can_post(world, group_chat, channel):
    def access(user, chat):
        return access_chat(user, chat.id)

    assert can_post(access(world.parent, group_chat))
    assert can_post(access(world.educator, group_chat))
    assert can_post(access(world.educator, channel))
    assert not can_post(access(world.parent, channel)), "a parent in a channel"
    assert not can_post(access(world.director, group_chat)), "an overseer who is not a member"
    assert not can_post(access(world.admin, channel))
    group_chat.archived_at = utcnow()
    db.session.commit()
    assert not can_post(access(world.parent, group_chat)), "an archived chat"
    assert not can_post(access(world.educator, group_chat))
    fake = ChatAccess(world.parent, group_chat, None)
    assert not can_post(fake)


def test_the_chat_list_offers_direct_chats_with_the_group(world, as_user):
    """A parent finds the child's educator, an educator the group's parents, each with a
    button that opens the direct chat; nobody from another group is offered."""
    parent_page = page_text(as_user(world.parent).get("/chats"))
    assert "Написать лично" in parent_page
    assert world.educator.name in parent_page
    assert f'action="/chats/direct/{world.educator.id}"' in parent_page
    assert world.other_educator.name not in parent_page

    educator_page = page_text(as_user(world.educator).get("/chats"))
    assert f'action="/chats/direct/{world.parent.id}"' in educator_page
    assert f'action="/chats/direct/{world.other_group_parent.id}"' not in educator_page

    opened = as_user(world.parent).post(f"/chats/direct/{world.educator.id}")
    assert opened.status_code == 303
    assert world.educator.name in page_text(as_user(world.parent).get(opened.location))
