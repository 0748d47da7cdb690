"""`flask seed-demo`: a lived-in demo kindergarten on an empty database, and the logins to try."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from sferum_lite.extensions import db
from sferum_lite.models import (
    EDUCATOR_POSITIONS,
    AuditLog,
    Chat,
    ChatMember,
    Child,
    Consent,
    Group,
    Kindergarten,
    ParentChild,
    StaffInvite,
    User,
)
from sferum_lite.security import common_passwords, parse_phone

from .conftest import empty_tables

KINDERGARTEN = "Детский сад № 5 «Ромашка»"
# «Имя Фамилия» or «Имя Отчество Фамилия», in Cyrillic, each word capitalised
RUSSIAN_NAME = re.compile(r"[А-ЯЁ][а-яё]+( [А-ЯЁ][а-яё]+){1,2}")
RUSSIAN_WORD = re.compile(r"[А-ЯЁ][а-яё]+")
PHONE = re.compile(r"\+7[\d ()-]{10,}\d")
PASSWORD_LINE = re.compile(r"(?:password|пароль)[^:\n]*:\s*(\S+)", re.I)


def seed_demo(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    return result


def printed(result) -> tuple[str, list[tuple[str, str]]]:
    """(password, [(line, login)]) from the command's output."""
    match = PASSWORD_LINE.search(result.output)
    assert match, result.output
    logins = [
        (line, PHONE.search(line).group(0))
        for line in result.output.splitlines()
        if PHONE.search(line)
    ]
    return match.group(1), logins


def counts() -> dict:
    db.session.rollback()  # a fresh look: no snapshot from before the command
    tables = (
        Kindergarten,
        User,
        Group,
        Child,
        ParentChild,
        Chat,
        ChatMember,
        Consent,
        StaffInvite,
        AuditLog,
    )
    return {
        table.__name__: db.session.scalar(select(func.count()).select_from(table))
        for table in tables
    }


def staff_members():
    return db.session.scalars(
        select(User).where((User.is_director) | (User.position.is_not(None)))
    ).all()


def parents():
    return db.session.scalars(
        select(User).where(User.id.in_(select(ParentChild.user_id))).order_by(User.id)
    ).all()


def groups_of(user) -> set[int]:
    return set(
        db.session.scalars(
            select(Child.group_id)
            .join(ParentChild, ParentChild.child_id == Child.id)
            .where(ParentChild.user_id == user.id)
        )
    )


@pytest.fixture
def seeded(app, db_ctx):
    result = seed_demo(app)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result


def test_output_names_the_kindergarten(seeded):
    assert KINDERGARTEN in seeded.output


def test_output_gives_the_password_and_the_logins(seeded):
    password, logins = printed(seeded)
    assert len(password) >= 8
    roles = " ".join(line for line, _ in logins).lower()
    assert "director" in roles or "заведующ" in roles
    assert len(logins) >= 5
    for line, login in logins:
        assert parse_phone(login) is not None, line
        assert password not in line  # the password is printed once, not next to each login


def test_the_database_holds_a_lived_in_kindergarten(seeded):
    kindergartens = db.session.scalars(select(Kindergarten)).all()
    assert [k.name for k in kindergartens] == [KINDERGARTEN]

    groups = db.session.scalars(select(Group)).all()
    assert len(groups) == 3
    assert all(group.archived_at is None for group in groups)
    assert all(RUSSIAN_WORD.fullmatch(group.name) for group in groups), [g.name for g in groups]

    staff = staff_members()
    assert len(staff) == 6
    assert sum(user.is_director for user in staff) == 1
    assert all(user.dismissed_at is None for user in staff)
    assert any(user.is_admin and not user.is_director for user in staff)
    for user in staff:
        assert RUSSIAN_NAME.fullmatch(user.name), user.name

    children = db.session.scalars(select(Child)).all()
    assert 35 <= len(children) <= 45
    group_ids = {group.id for group in groups}
    for child in children:
        assert child.group_id in group_ids  # each child in exactly one group
        assert child.left_at is None
        assert RUSSIAN_WORD.fullmatch(child.last_name), child.last_name
        assert RUSSIAN_WORD.fullmatch(child.first_name), child.first_name
    per_group = {group.id: 0 for group in groups}
    for child in children:
        per_group[child.group_id] += 1
    assert min(per_group.values()) >= 8, per_group  # spread over the groups, not piled in one
    # every child has at least one parent in the app
    assert (
        db.session.scalar(
            select(func.count(Child.id)).where(~Child.id.in_(select(ParentChild.child_id)))
        )
        == 0
    )

    people = parents()
    assert 45 <= len(people) <= 60
    for user in people:
        assert RUSSIAN_NAME.fullmatch(user.name), user.name
        assert user.phone and parse_phone(user.phone) == user.phone
    assert len({user.name for user in people}) >= 35  # not one name repeated
    assert len({user.name.split()[-1] for user in people}) >= 20  # many families
    assert len({user.phone for user in db.session.scalars(select(User))}) == counts()["User"]

    assert any(len(groups_of(user)) >= 2 for user in people), "a parent with children in two groups"
    assert any(
        user.position in EDUCATOR_POSITIONS and user.dismissed_at is None for user in people
    ), "an educator who is also a parent"

    # every group with an educator has its parents' chat; the first one has a conversation
    group_chats = db.session.scalars(select(Chat).where(Chat.group_id.is_not(None))).all()
    assert len(group_chats) >= 2
    first = min(group_chats, key=lambda chat: chat.id)
    assert first.last_message_id is not None and first.rev > 5

    # the system chats exist and the verified staff are in them; the unverified one waits
    systems = set(db.session.scalars(select(Chat.system).where(Chat.system.is_not(None))))
    assert systems == {"staff_group", "news", "staff"}
    for user in staff:
        expected = 3 if user.is_director or user.verified_at is not None else 0
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(ChatMember)
                .join(Chat, Chat.id == ChatMember.chat_id)
                .where(ChatMember.user_id == user.id, Chat.system.is_not(None))
            )
            == expected
        ), user.name


def test_every_printed_login_signs_in_with_the_printed_password(seeded, app):
    password, logins = printed(seeded)
    for line, login in logins:
        client = app.test_client()
        response = client.post("/login", data={"login": login, "password": password})
        assert response.status_code == 303, line
        assert client.get("/").status_code == 200, line

    director_line, director_login = next(
        (line, login)
        for line, login in logins
        if "director" in line.lower() or "заведующ" in line.lower()
    )
    director = db.session.scalar(select(User).where(User.is_director))
    assert parse_phone(director_login) == director.phone, director_line
    client = app.test_client()
    response = client.post("/login", data={"login": director_login, "password": password})
    assert response.status_code == 303
    admin_area = client.get("/admin/")
    assert admin_area.status_code == 200
    assert KINDERGARTEN in admin_area.get_data(as_text=True)
    assert client.get("/admin/staff").status_code == 200

    # a wrong password does not
    wrong = app.test_client().post(
        "/login", data={"login": director_login, "password": password + "x"}
    )
    assert wrong.status_code == 422


def test_the_password_is_not_a_weak_one(seeded):
    password, _ = printed(seeded)
    assert len(password) >= 12
    assert password.lower() not in common_passwords()


def test_a_second_run_refuses_and_changes_nothing(seeded, app):
    before = counts()
    first_password, _ = printed(seeded)

    result = seed_demo(app)

    assert result.exit_code != 0
    assert "already" in result.output.lower() or "уже" in result.output.lower()
    assert "empty" in result.output.lower() or "пуст" in result.output.lower()
    assert not PASSWORD_LINE.search(result.output)
    assert counts() == before
    # the accounts made by the first run still have the first run's password
    director = db.session.scalar(select(User).where(User.is_director))
    response = app.test_client().post(
        "/login", data={"login": director.phone, "password": first_password}
    )
    assert response.status_code == 303


def test_refuses_on_a_database_with_another_kindergarten(app, world):
    before = counts()

    result = seed_demo(app)

    assert result.exit_code != 0
    assert "already" in result.output.lower() or "уже" in result.output.lower()
    assert counts() == before
    assert db.session.scalar(select(func.count(Kindergarten.id))) == 1


def test_two_runs_on_empty_databases_print_different_passwords(app, db_ctx):
    passwords = []
    for _ in range(2):
        empty_tables()
        assert counts()["Kindergarten"] == 0
        result = seed_demo(app)
        assert result.exit_code == 0, result.output
        password, _ = printed(result)
        passwords.append(password)
    assert passwords[0] != passwords[1]
