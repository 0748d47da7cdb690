"""Admin area, the children's roster: add, edit, move, mark as left and back, search, filter."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from sferum_lite.extensions import db
from sferum_lite.models import AuditLog, Child, utcnow
from sferum_lite.roster import name_key

from . import factories as f
from .test_admin_groups import (
    NO_SUCH_ID,
    audit_rows,
    field_errors,
    flashes,
    other_kindergarten,
    page_text,
    same_page,
)

HTMX_LIST = {"HX-Request": "true", "HX-Target": "section#children-list"}
ONLY_LETTERS = "Только буквы, пробел, дефис и апостроф — например, «Анна-Мария»."


def roster_snapshot():
    return db.session.execute(
        select(
            Child.id,
            Child.group_id,
            Child.last_name,
            Child.first_name,
            Child.name_key,
            Child.left_at,
        ).order_by(Child.id)
    ).all()


def listed_names(response) -> list[str]:
    """The children's names in the list section, as shown."""
    body = page_text(response)
    start = body.index('<section id="children-list">')
    section = body[start : body.index("</section>", start)]
    return re.findall(r'<a href="/admin/children/\d+">([^<]*)</a>', section)


# --- add ---------------------------------------------------------------------------------------


def test_new_child_form_lists_open_groups(world, admin_client):
    response = admin_client.get(f"/admin/children/new?group={world.other_group.id}")
    assert response.status_code == 200
    body = page_text(response)
    assert "Новый ребёнок" in body
    assert re.search(
        rf'<option selected value="{world.other_group.id}">Капелька</option>'
        rf'|<option value="{world.other_group.id}" selected>Капелька</option>',
        body,
    )


def test_add_child(world, admin_client):
    response = admin_client.post(
        "/admin/children/new",
        data={
            "last_name": "  Иванова ",
            "first_name": "Анна - Мария",
            "group_id": world.group.id,
        },
    )

    child = db.session.scalar(select(Child).where(Child.last_name == "Иванова"))
    assert child is not None
    assert (child.first_name, child.group_id) == ("Анна-Мария", world.group.id)
    assert child.kindergarten_id == world.kindergarten.id and child.left_at is None
    assert child.name_key == name_key("Иванова", "Анна-Мария")
    assert response.status_code == 303
    assert response.location.endswith(f"/admin/children?group={world.group.id}")
    page = admin_client.get(response.location)
    assert "Иванова Анна-Мария добавлен(а) в группу «Солнышко»." in flashes(page)
    assert "Иванова Анна-Мария" in listed_names(page)

    (row,) = audit_rows("child.added")
    assert (row.actor_id, row.target_type, row.target_id) == (world.admin.id, "child", child.id)
    assert row.details["group_id"] == world.group.id


def test_add_child_and_another_returns_to_an_empty_form(world, admin_client):
    response = admin_client.post(
        "/admin/children/new",
        data={
            "last_name": "Иванова",
            "first_name": "Мария",
            "group_id": world.other_group.id,
            "another": "1",
        },
    )
    assert response.status_code == 303
    assert response.location.endswith(f"/admin/children/new?group={world.other_group.id}")
    assert db.session.scalar(select(Child.group_id).where(Child.last_name == "Иванова")) == (
        world.other_group.id
    )


BAD_CHILD_NAMES = [
    pytest.param("", "Заполните это поле.", id="empty"),
    pytest.param("Ж" * 300, "Не длиннее 60 символов.", id="300-characters"),
    pytest.param("\u200b\u200b", "Заполните это поле.", id="zero-width-only"),
    pytest.param("Маша2", ONLY_LETTERS, id="digit"),
    pytest.param("12345", ONLY_LETTERS, id="digits"),
    pytest.param('=HYPERLINK("http://x","Маша")', ONLY_LETTERS, id="formula"),
    pytest.param("+Маша", ONLY_LETTERS, id="plus"),
    pytest.param("<b>Маша</b>", ONLY_LETTERS, id="markup"),
]


@pytest.mark.parametrize("field", ["last_name", "first_name"])
@pytest.mark.parametrize("value,message", BAD_CHILD_NAMES)
def test_add_child_refuses_bad_name(world, admin_client, field, value, message):
    before = roster_snapshot()
    data = {"last_name": "Иванова", "first_name": "Мария", "group_id": world.group.id, field: value}

    response = admin_client.post("/admin/children/new", data=data)

    assert response.status_code == 422
    assert message in field_errors(response)
    body = page_text(response)
    keep = "Мария" if field == "last_name" else "Иванова"
    assert f'value="{keep}"' in body, "what was typed correctly is still in the form"
    assert roster_snapshot() == before
    assert audit_rows("child.added") == []


# One message for a name that is too long (the length is checked once).
def test_too_long_child_name_gets_one_message(world, admin_client):
    response = admin_client.post(
        "/admin/children/new",
        data={
            "last_name": "Ж" * 300,
            "first_name": "Мария",
            "group_id": world.group.id,
        },
    )
    assert response.status_code == 422
    assert field_errors(response) == ["Не длиннее 60 символов."]


def test_add_child_name_of_60_letters_is_accepted(world, admin_client):
    response = admin_client.post(
        "/admin/children/new",
        data={
            "last_name": "Ж" * 60,
            "first_name": "Мария",
            "group_id": world.group.id,
        },
    )
    assert response.status_code == 303


@pytest.mark.parametrize(
    "last_name,first_name",
    [
        ("Петров", "Артём"),
        ("петров", "артем"),
        ("ПЕТРОВ", " Артем\u200b "),
    ],
)
def test_add_duplicate_child_in_the_same_group_is_refused(
    world, admin_client, last_name, first_name
):
    before = roster_snapshot()
    response = admin_client.post(
        "/admin/children/new",
        data={
            "last_name": last_name,
            "first_name": first_name,
            "group_id": world.group.id,
        },
    )
    assert response.status_code == 422
    assert "Ребёнок с таким именем уже есть в этой группе." in field_errors(response)
    assert roster_snapshot() == before
    assert audit_rows("child.added") == []


def test_same_name_in_another_group_is_allowed(world, admin_client):
    response = admin_client.post(
        "/admin/children/new",
        data={
            "last_name": "Петров",
            "first_name": "Артём",
            "group_id": world.other_group.id,
        },
    )
    assert response.status_code == 303
    groups = db.session.scalars(
        select(Child.group_id).where(Child.name_key == name_key("Петров", "Артём"))
    ).all()
    assert sorted(groups) == sorted([world.group.id, world.other_group.id])


def test_same_name_as_a_child_who_left_is_allowed(world, admin_client):
    world.child.left_at = utcnow()
    db.session.commit()
    response = admin_client.post(
        "/admin/children/new",
        data={
            "last_name": "Петров",
            "first_name": "Артём",
            "group_id": world.group.id,
        },
    )
    assert response.status_code == 303


@pytest.mark.parametrize("group", ["archived", "other_kindergarten", "missing", "none"])
def test_add_child_to_a_group_not_offered_is_refused(world, admin_client, group):
    if group == "archived":
        group_id = f.make_group(world.kindergarten, "Ласточка", archived=True).id
    elif group == "other_kindergarten":
        group_id = f.make_group(other_kindergarten(), "Чужая группа").id
    elif group == "missing":
        group_id = NO_SUCH_ID
    else:
        group_id = ""
    before = roster_snapshot()

    response = admin_client.post(
        "/admin/children/new",
        data={
            "last_name": "Иванова",
            "first_name": "Мария",
            "group_id": group_id,
        },
    )

    assert response.status_code == 422
    assert field_errors(response)
    assert all(re.search("[а-яё]", m) for m in field_errors(response)), field_errors(response)
    assert roster_snapshot() == before


# --- edit and move -----------------------------------------------------------------------------


def test_child_page_shows_the_child_and_their_parents(world, admin_client):
    response = admin_client.get(f"/admin/children/{world.child.id}")
    assert response.status_code == 200
    body = page_text(response)
    assert "Петров Артём" in body
    assert "Екатерина Петрова" in body and "katya@example.ru" in body


def test_edit_child_names(world, admin_client):
    response = admin_client.post(
        f"/admin/children/{world.child.id}",
        data={
            "last_name": "Петров-Водкин",
            "first_name": "Артемий",
            "group_id": world.group.id,
        },
    )
    assert response.status_code == 303
    assert response.location.endswith(f"/admin/children/{world.child.id}")
    assert (world.child.last_name, world.child.first_name) == ("Петров-Водкин", "Артемий")
    assert world.child.name_key == name_key("Петров-Водкин", "Артемий")
    assert world.child.group_id == world.group.id
    assert "Изменения сохранены." in flashes(admin_client.get(response.location))
    assert listed_names(admin_client.get("/admin/children?q=водкин")) == ["Петров-Водкин Артемий"]

    (row,) = audit_rows("child.renamed")
    assert (row.actor_id, row.target_id) == (world.admin.id, world.child.id)
    assert audit_rows("child.moved") == []


@pytest.mark.parametrize("value,message", BAD_CHILD_NAMES)
def test_edit_child_refuses_bad_name_and_keeps_the_stored_one(world, admin_client, value, message):
    before = roster_snapshot()
    response = admin_client.post(
        f"/admin/children/{world.child.id}",
        data={
            "last_name": value,
            "first_name": "Артём",
            "group_id": world.other_group.id,
        },
    )
    assert response.status_code == 422
    assert message in field_errors(response)
    assert roster_snapshot() == before  # not renamed and not moved either
    assert audit_rows("child.renamed") == [] and audit_rows("child.moved") == []


def test_edit_into_a_duplicate_is_refused(world, admin_client):
    twin = f.make_child(world.group, "Петрова", "Алёна")
    before = roster_snapshot()
    response = admin_client.post(
        f"/admin/children/{twin.id}",
        data={
            "last_name": "Петров",
            "first_name": "Артем",
            "group_id": world.group.id,
        },
    )
    assert response.status_code == 422
    assert "Ребёнок с таким именем уже есть в этой группе." in field_errors(response)
    assert roster_snapshot() == before


def test_move_child_to_another_group(world, admin_client):
    response = admin_client.post(
        f"/admin/children/{world.child.id}",
        data={
            "last_name": "Петров",
            "first_name": "Артём",
            "group_id": world.other_group.id,
        },
    )
    assert response.status_code == 303
    assert world.child.group_id == world.other_group.id
    assert db.session.scalars(
        select(Child.id).where(Child.name_key == name_key("Петров", "Артём"))
    ).all() == [world.child.id]

    old = page_text(admin_client.get(f"/admin/groups/{world.group.id}"))
    new = page_text(admin_client.get(f"/admin/groups/{world.other_group.id}"))
    assert "Петров Артём" not in old
    assert "Петров Артём" in new
    assert listed_names(admin_client.get(f"/admin/children?group={world.group.id}")) == []
    assert "Петров Артём" in listed_names(
        admin_client.get(f"/admin/children?group={world.other_group.id}")
    )

    (row,) = audit_rows("child.moved")
    assert (row.actor_id, row.target_id) == (world.admin.id, world.child.id)
    assert row.details == {"from_group_id": world.group.id, "to_group_id": world.other_group.id}
    assert audit_rows("child.renamed") == []


def test_move_into_a_group_with_the_same_name_is_refused(world, admin_client):
    f.make_child(world.other_group, "Петров", "Артём")
    before = roster_snapshot()
    response = admin_client.post(
        f"/admin/children/{world.child.id}",
        data={
            "last_name": "Петров",
            "first_name": "Артём",
            "group_id": world.other_group.id,
        },
    )
    assert response.status_code == 422
    assert "Ребёнок с таким именем уже есть в этой группе." in field_errors(response)
    assert roster_snapshot() == before


def test_move_into_an_archived_group_is_refused(world, admin_client):
    archived = f.make_group(world.kindergarten, "Ласточка", archived=True)
    before = roster_snapshot()
    response = admin_client.post(
        f"/admin/children/{world.child.id}",
        data={
            "last_name": "Петров",
            "first_name": "Артём",
            "group_id": archived.id,
        },
    )
    assert response.status_code == 422
    assert field_errors(response)
    assert roster_snapshot() == before
    assert world.child.group_id == world.group.id
    assert audit_rows("child.moved") == []


def test_child_of_an_archived_group_can_still_be_renamed(world, admin_client):
    archived = f.make_group(world.kindergarten, "Ласточка", archived=True)
    child = f.make_child(archived, "Орлова", "Вера")
    page = page_text(admin_client.get(f"/admin/children/{child.id}"))
    assert "Ласточка (в архиве)" in page
    response = admin_client.post(
        f"/admin/children/{child.id}",
        data={
            "last_name": "Орлова",
            "first_name": "Вероника",
            "group_id": archived.id,
        },
    )
    assert response.status_code == 303
    assert (child.first_name, child.group_id) == ("Вероника", archived.id)


def test_edit_form_without_fields_keeps_everything(world, admin_client):
    before = roster_snapshot()
    response = admin_client.post(f"/admin/children/{world.child.id}", data={"x": "1"})
    assert response.status_code == 303
    assert roster_snapshot() == before


# --- left and back -----------------------------------------------------------------------------


def test_mark_child_left_and_restore(world, admin_client):
    response = admin_client.post(f"/admin/children/{world.child.id}/leave")
    assert response.status_code == 303
    assert response.location.endswith(f"/admin/children?group={world.group.id}")
    assert world.child.left_at is not None
    assert world.child.group_id == world.group.id  # the record stays, with its group
    page = admin_client.get(response.location)
    assert "Петров Артём: отмечено выбытие из детского сада." in flashes(page)
    assert "Петров Артём" not in listed_names(page)
    assert "Петров Артём" not in listed_names(admin_client.get("/admin/children"))
    assert listed_names(admin_client.get("/admin/children?left=1")) == ["Петров Артём"]
    assert "выбыл(а)" in page_text(admin_client.get(f"/admin/children/{world.child.id}"))
    (row,) = audit_rows("child.left")
    assert (row.actor_id, row.target_id) == (world.admin.id, world.child.id)

    response = admin_client.post(f"/admin/children/{world.child.id}/restore")
    assert response.status_code == 303
    assert response.location.endswith(f"/admin/children/{world.child.id}")
    assert world.child.left_at is None
    assert "Петров Артём снова в списке группы." in flashes(admin_client.get(response.location))
    assert "Петров Артём" in listed_names(admin_client.get("/admin/children"))
    assert listed_names(admin_client.get("/admin/children?left=1")) == []
    (row,) = audit_rows("child.returned")
    assert (row.actor_id, row.target_id) == (world.admin.id, world.child.id)


def test_marking_left_twice_writes_one_audit_row(world, admin_client):
    admin_client.post(f"/admin/children/{world.child.id}/leave")
    left_at = world.child.left_at
    assert admin_client.post(f"/admin/children/{world.child.id}/leave").status_code == 303
    assert world.child.left_at == left_at
    assert len(audit_rows("child.left")) == 1


def test_restore_refused_when_a_namesake_took_the_place(world, admin_client):
    admin_client.post(f"/admin/children/{world.child.id}/leave")
    f.make_child(world.group, "Петров", "Артем")

    response = admin_client.post(f"/admin/children/{world.child.id}/restore")

    assert response.status_code == 303
    page = admin_client.get(response.location)
    assert "Ребёнок с таким именем уже есть в этой группе." in flashes(page)
    assert world.child.left_at is not None
    assert audit_rows("child.returned") == []


def test_restore_refused_when_the_group_is_archived(world, admin_client):
    admin_client.post(f"/admin/children/{world.child.id}/leave")
    assert admin_client.post(f"/admin/groups/{world.group.id}/archive").status_code == 303

    response = admin_client.post(f"/admin/children/{world.child.id}/restore")

    assert response.status_code == 303
    assert "Группа в архиве — выберите другую." in flashes(admin_client.get(response.location))
    assert world.child.left_at is not None
    assert audit_rows("child.returned") == []


# --- list, search, filter ----------------------------------------------------------------------


@pytest.fixture
def roster(world):
    f.make_child(world.group, "Иванова", "Мария")
    f.make_child(world.other_group, "Семёнов", "Фёдор")
    f.make_child(world.group, "Петрова", "Алёна", left=True)
    return world


def test_children_list(roster, admin_client):
    response = admin_client.get("/admin/children")
    assert response.status_code == 200
    assert listed_names(response) == [
        "Семёнов Фёдор",
        "Соколова Ева",
        "Иванова Мария",
        "Петров Артём",
    ]  # by group name, then surname
    assert "4 ребёнка" in page_text(response)
    assert "1 родитель" in page_text(response)


@pytest.mark.parametrize(
    "query,expected",
    [
        ("петров", ["Петров Артём"]),
        ("ПЕТРОВ", ["Петров Артём"]),
        ("Петров", ["Петров Артём"]),
        ("артем", ["Петров Артём"]),
        ("Артём", ["Петров Артём"]),
        ("семенов", ["Семёнов Фёдор"]),
        ("федор", ["Семёнов Фёдор"]),
        ("петров артем", ["Петров Артём"]),
        ("  мария ", ["Иванова Мария"]),
        ("ова", ["Соколова Ева", "Иванова Мария"]),
        ("алёна", []),  # left: not in the default list
        ("%", []),
        ("_", []),
        ("пет\x00ров", ["Петров Артём"]),  # a NUL byte, which PostgreSQL refuses in text
    ],
)
def test_search(roster, admin_client, query, expected):
    response = admin_client.get("/admin/children", query_string={"q": query})
    assert response.status_code == 200
    assert listed_names(response) == expected
    if not expected:
        assert "Никого не нашлось." in page_text(response)


def test_search_among_children_who_left(roster, admin_client):
    response = admin_client.get("/admin/children", query_string={"q": "алена", "left": "1"})
    assert listed_names(response) == ["Петрова Алёна"]


def test_group_filter(roster, admin_client):
    response = admin_client.get("/admin/children", query_string={"group": roster.group.id})
    assert listed_names(response) == ["Иванова Мария", "Петров Артём"]
    response = admin_client.get(
        "/admin/children", query_string={"group": roster.other_group.id, "q": "ева"}
    )
    assert listed_names(response) == ["Соколова Ева"]
    response = admin_client.get(
        "/admin/children", query_string={"group": roster.other_group.id, "q": "петров"}
    )
    assert listed_names(response) == []


def test_htmx_search_answers_with_the_list_fragment(roster, admin_client):
    response = admin_client.get("/admin/children", query_string={"q": "петров"}, headers=HTMX_LIST)
    assert response.status_code == 200
    body = page_text(response).strip()
    assert body.startswith('<section id="children-list">') and body.endswith("</section>")
    assert "<html" not in body and "<form" not in body
    assert listed_names(response) == ["Петров Артём"]
    assert "HX-Request" in response.headers.get("Vary", "")

    whole = admin_client.get("/admin/children", query_string={"q": "петров"})
    assert "<html" in page_text(whole)
    assert listed_names(whole) == ["Петров Артём"]


def test_htmx_request_for_another_target_gets_the_whole_page(roster, admin_client):
    response = admin_client.get(
        "/admin/children", headers={"HX-Request": "true", "HX-Target": "main#content"}
    )
    assert response.status_code == 200
    assert "<html" in page_text(response)


# --- another kindergarten's children -----------------------------------------------------------


@pytest.mark.parametrize(
    "method,path,data",
    [
        ("GET", "/admin/children/{id}", None),
        ("POST", "/admin/children/{id}", {"last_name": "Захват", "first_name": "Имя"}),
        ("POST", "/admin/children/{id}/leave", None),
        ("POST", "/admin/children/{id}/restore", None),
    ],
)
def test_another_kindergartens_child_is_not_found(world, admin_client, method, path, data):
    other = other_kindergarten()
    foreign_group = f.make_group(other, "Чужая группа")
    foreign = f.make_child(foreign_group, "Чужой", "Ребёнок", left="restore" in path)
    before = roster_snapshot()
    form = dict(data or {}, group_id=world.group.id) if data else None

    response = admin_client.open(path.format(id=foreign.id), method=method, data=form)
    missing = admin_client.open(path.format(id=NO_SUCH_ID), method=method, data=form)

    assert response.status_code == 404 and missing.status_code == 404
    assert same_page(response, missing)
    assert "Чужой" not in page_text(response)
    assert roster_snapshot() == before
    assert (
        db.session.scalars(select(AuditLog.action).where(AuditLog.actor_id == world.admin.id)).all()
        == []
    )


def test_another_kindergartens_children_are_not_listed(world, admin_client):
    other = other_kindergarten()
    f.make_child(f.make_group(other, "Чужая группа"), "Петров", "Артём")
    f.make_child(f.make_group(other, "Ещё чужая"), "Чужой", "Ребёнок", left=True)
    assert listed_names(admin_client.get("/admin/children?q=петров")) == ["Петров Артём"]
    assert listed_names(admin_client.get("/admin/children?left=1")) == []


def test_moving_a_child_into_another_kindergartens_group_is_refused(world, admin_client):
    foreign_group = f.make_group(other_kindergarten(), "Чужая группа")
    before = roster_snapshot()
    response = admin_client.post(
        f"/admin/children/{world.child.id}",
        data={
            "last_name": "Петров",
            "first_name": "Артём",
            "group_id": foreign_group.id,
        },
    )
    assert response.status_code == 422
    assert roster_snapshot() == before
