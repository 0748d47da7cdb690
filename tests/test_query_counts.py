"""Lists cost a fixed number of queries, whatever the number of rows (no N+1)."""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import event

from sferum_lite.extensions import db

from . import factories as f


@contextlib.contextmanager
def counting(app):
    statements = []

    def count(*_args, **_kwargs):
        statements.append(1)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def grow(world, n):
    for i in range(n):
        group = f.make_group(world.kindergarten, f"Группа {n}-{i}")
        educator = f.make_staff(world.kindergarten, f"Педагог {n}-{i}", groups=[group])
        child = f.make_child(group, "Иванов", f"Ребёнок{chr(ord('а') + i)}")
        f.make_parent(world.kindergarten, f"Родитель {n}-{i}", children=[child])
        f.make_staff_invite(world.kindergarten, educator)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/admin/",
        "/admin/groups",
        "/admin/children",
        "/admin/staff",
        "/admin/staff/invites",
        "/admin/groups/{group}",
    ],
)
def test_pages_cost_the_same_number_of_queries_for_more_rows(app, world, as_user, path):
    client = as_user(world.admin)
    url = path.format(group=world.group.id)

    def queries_for_page():
        with counting(app) as statements:
            assert client.get(url).status_code == 200
        return len(statements)

    grow(world, 2)
    few = queries_for_page()
    grow(world, 12)
    for i in range(10):
        f.make_child(world.group, "Смирнов", f"Сын{chr(ord('а') + i)}")
    many = queries_for_page()
    assert many == few, f"{url}: {few} queries with few rows, {many} with many"
    assert few <= 8


def _moderated_chat(world, n):
    """The group's chat with `n` parents who each broke the rules, reported a message and got
    a line in the moderation log; one deleted message with a photo-less text each."""
    from datetime import timedelta

    from sferum_lite.models import Block, ChatMember, ModerationEntry, Report, Violation, utcnow

    chat = f.make_chat(world.kindergarten, world.educator, group=world.group)
    now = utcnow()
    for i in range(n):
        child = f.make_child(world.group, "Иванов", f"Сын{chr(ord('а') + i)}")
        parent = f.make_parent(world.kindergarten, f"Родитель {i}", children=[child])
        db.session.add(
            ChatMember(chat_id=chat.id, user_id=parent.id, rules_accepted_id=chat.rules_id)
        )
        db.session.commit()
        message = f.make_message(chat, parent, f"Реклама {i}", deleted_at=now, deleted_clause=3)
        other = f.make_message(chat, parent, f"Грубость {i}")
        db.session.add_all(
            [
                Violation(
                    chat_id=chat.id,
                    user_id=parent.id,
                    rules_id=chat.rules_id,
                    clause=3,
                    message_id=message.id,
                    created_by_id=world.educator.id,
                ),
                Block(
                    chat_id=chat.id,
                    user_id=parent.id,
                    rules_id=chat.rules_id,
                    clause=3,
                    starts_at=now,
                    ends_at=now + timedelta(days=1),
                    created_by_id=world.educator.id,
                ),
                Report(chat_id=chat.id, message_id=other.id, reporter_id=world.parent.id),
                ModerationEntry(
                    kindergarten_id=world.kindergarten.id,
                    chat_id=chat.id,
                    actor_id=world.educator.id,
                    action="delete",
                    member_id=parent.id,
                    message_id=message.id,
                    clause=3,
                    ground="п. 3. Пишем по теме чата.",
                ),
            ]
        )
        db.session.commit()
    return chat


@pytest.mark.parametrize(
    "path",
    [
        "/moderation/log",
        "/moderation/log.csv",
        "/chats/{chat}/log",
        "/chats/{chat}/reports",
        "/chats/{chat}/settings",
    ],
)
def test_moderation_pages_cost_the_same_number_of_queries_for_more_rows(app, world, as_user, path):
    client = as_user(world.director)

    def queries_for(chat):
        url = path.format(chat=chat.id)
        with counting(app) as statements:
            assert client.get(url).status_code == 200
        return len(statements)

    few = queries_for(_moderated_chat(world, 2))
    many = queries_for(_moderated_chat(world, 12))
    assert many == few, f"{path}: {few} queries with few rows, {many} with many"


def _busy_groups(world, n, messages):
    """`n` more groups, each with an educator, a child whose parent is in the group's chat, a
    parent who has not accepted the rules, `messages` messages (one of them deleted), an open
    report, an active block, a waiting request and a live invite; and for each a second chat
    of «Солнышко» with a few messages, so that group's page grows too."""
    from datetime import timedelta

    from sferum_lite.models import Block, ChatMember, JoinRequest, Report, utcnow

    now = utcnow()
    for i in range(n):
        group = f.make_group(world.kindergarten, f"Группа {n}-{i}")
        educator = f.make_staff(world.kindergarten, f"Педагог {n}-{i}", groups=[group])
        child = f.make_child(group, "Иванов", f"Ребёнок{chr(ord('а') + i)}")
        parent = f.make_parent(world.kindergarten, f"Родитель {n}-{i}", children=[child])
        behind = f.make_parent(world.kindergarten, f"Отстающий {n}-{i}")
        waiting = f.make_parent(world.kindergarten, f"Ждущий {n}-{i}")
        chat = f.make_chat(
            world.kindergarten, educator, title=f"Чат {n}-{i}", group=group, members=[parent]
        )
        db.session.add(ChatMember(chat_id=chat.id, user_id=behind.id))
        db.session.commit()
        for j in range(messages):
            last = f.make_message(
                chat,
                parent if j % 2 else educator,
                f"Сообщение {j}",
                created_at=now - timedelta(days=j % 40, hours=j % 24),
            )
        f.make_message(chat, parent, "Удалённое", deleted_at=now)
        db.session.add_all(
            [
                Report(chat_id=chat.id, message_id=last.id, reporter_id=educator.id),
                Block(
                    chat_id=chat.id,
                    user_id=parent.id,
                    rules_id=chat.rules_id,
                    clause=2,
                    ends_at=now + timedelta(days=1),
                    created_by_id=educator.id,
                ),
                JoinRequest(chat_id=chat.id, user_id=waiting.id),
            ]
        )
        db.session.commit()
        f.make_chat_invite(chat, educator)
        f.make_child(world.group, "Смирнов", f"Сын{n}{chr(ord('а') + i)}")
        second = f.make_chat(
            world.kindergarten,
            world.educator,
            title=f"Ещё чат «Солнышко» {n}-{i}",
            group=world.group,
            members=[world.parent, behind],
            accepted=False,
        )
        for j in range(messages // 4 + 1):
            f.make_message(second, world.educator, f"Объявление {j}")


@pytest.mark.parametrize(
    "path",
    [
        "/director/",
        "/director/chats",
        "/director/chats?sort=messages&dir=asc",
        "/director/chats.csv",
        "/director/acceptances.csv",
        "/director/report",
        "/director/report.csv",
        "/groups/{group}",
    ],
)
def test_director_pages_cost_the_same_number_of_queries_for_more_rows(app, world, as_user, path):
    client = as_user(world.director)
    url = path.format(group=world.group.id)

    def queries_for_page():
        with counting(app) as statements:
            assert client.get(url).status_code == 200
        return len(statements)

    _busy_groups(world, 2, 3)
    few = queries_for_page()
    _busy_groups(world, 6, 40)  # 8 groups and 8 chats more in all, hundreds of messages
    many = queries_for_page()
    assert many == few, f"{url}: {few} queries with few rows, {many} with many"
