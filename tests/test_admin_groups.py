"""Admin area, groups: create, rename, archive and restore, attach and detach educators.

Each test checks the answer (status, what the person reads) and what is stored, and for bad input
that nothing already saved changed.
"""

from __future__ import annotations

import html
import re
from datetime import time

import pytest
from sqlalchemy import func, select

from sferum_lite.extensions import db
from sferum_lite.models import AuditLog, Group, GroupEducator, Kindergarten, utcnow

from . import factories as f

HTMX_EDUCATORS = {"HX-Request": "true", "HX-Target": "section#educators"}
NO_SUCH_ID = 987654


# --- helpers (shared with the other admin test files) -------------------------------------------


def page_text(response) -> str:
    return response.get_data(as_text=True)


def field_errors(response) -> list[str]:
    """The messages shown under the form fields."""
    return [
        html.unescape(m)
        for m in re.findall(r'class="field-error"[^>]*>([^<]*)<', page_text(response))
    ]


def without_csrf(body: str) -> str:
    """The page with its CSRF tokens blanked: they are signed with a timestamp."""
    body = re.sub(r'("X-CSRFToken": ")[^"]*', r"\1", body)
    return re.sub(
        r'(name="csrf_token" type="hidden" value="|name="csrf_token" value=")[^"]*', r"\1", body
    )


def same_page(first, second) -> bool:
    return without_csrf(page_text(first)) == without_csrf(page_text(second))


def flashes(response) -> list[str]:
    return [
        html.unescape(m)
        for m in re.findall(
            r'<div class="flash [^"]*" role="status">([^<]*)</div>', page_text(response)
        )
    ]


def audit_rows(action: str) -> list[AuditLog]:
    return db.session.scalars(
        select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)
    ).all()


def count(model, *conditions) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions))


def other_kindergarten(name="Детский сад № 9 «Ромашка»"):
    """A second kindergarten with its own director.

    `factories.make_kindergarten` goes through the real setup action, which refuses once a
    kindergarten exists, so the second one is written through the models.
    """
    kindergarten = Kindergarten(
        name=name,
        timezone="Europe/Moscow",
        work_start=time(7, 0),
        work_end=time(19, 0),
        work_days="12345",
    )
    db.session.add(kindergarten)
    db.session.commit()
    f.make_user(kindergarten, "Зоя Директорова", is_director=True)
    return kindergarten


def educators_section(body: str) -> str:
    """The list part of the educators block (not the <select> of people one may attach)."""
    start = body.index('<section id="educators">')
    end = body.index("</ul>", start)
    return body[start:end]


# --- create ------------------------------------------------------------------------------------


def test_create_group(world, admin_client):
    response = admin_client.post("/admin/groups", data={"name": "  Весёлые   ребята "})

    group = db.session.scalar(select(Group).where(Group.name == "Весёлые ребята"))
    assert group is not None, "the name is stored cleaned of extra spaces"
    assert group.kindergarten_id == world.kindergarten.id
    assert group.archived_at is None
    assert response.status_code == 303
    assert response.location.endswith(f"/admin/groups/{group.id}")

    page = admin_client.get(response.location)
    assert page.status_code == 200
    assert "Группа «Весёлые ребята» создана." in flashes(page)
    assert "Группа «Весёлые ребята»" in page_text(page)

    listing = page_text(admin_client.get("/admin/groups"))
    assert "Весёлые ребята" in listing

    (row,) = audit_rows("group.created")
    assert row.actor_id == world.admin.id
    assert row.kindergarten_id == world.kindergarten.id
    assert (row.target_type, row.target_id) == ("group", group.id)
    assert row.details["name"] == "Весёлые ребята"


def test_group_name_of_60_characters_is_accepted(world, admin_client):
    name = "Г" * 60
    response = admin_client.post("/admin/groups", data={"name": name})
    assert response.status_code == 303
    assert count(Group, Group.name == name) == 1


BAD_NAMES = [
    pytest.param("", "Заполните это поле.", id="empty"),
    pytest.param("   ", "Заполните это поле.", id="spaces"),
    pytest.param("Ж" * 300, "Не длиннее 60 символов.", id="300-characters"),
    pytest.param("Ж" * 61, "Не длиннее 60 символов.", id="61-characters"),
    pytest.param("\u200b\u200b", "Заполните это поле.", id="zero-width-only"),
    pytest.param("\u200b \u2060\ufeff", "Заполните это поле.", id="invisible-mix"),
    pytest.param(
        '=HYPERLINK("http://x","Ромашка")', "Не начинайте с символов = + - @.", id="formula"
    ),
    pytest.param("=1+1", "Не начинайте с символов = + - @.", id="equals"),
    pytest.param(" +7 гномов", "Не начинайте с символов = + - @.", id="plus-after-space"),
    pytest.param("@SUM(A1)", "Не начинайте с символов = + - @.", id="at"),
    pytest.param("Солнышко", "Группа с таким названием уже есть.", id="duplicate"),
    pytest.param("солнышко", "Группа с таким названием уже есть.", id="duplicate-case"),
    pytest.param(" СОЛНЫШКО ", "Группа с таким названием уже есть.", id="duplicate-upper"),
    pytest.param("Березка", "Группа с таким названием уже есть.", id="duplicate-yo"),
    pytest.param("БЕРЁЗКА", "Группа с таким названием уже есть.", id="duplicate-yo-upper"),
    pytest.param("Звёздочка", "Группа с таким названием уже есть.", id="duplicate-archived"),
]


@pytest.mark.parametrize("name,message", BAD_NAMES)
def test_create_group_refuses_bad_name(world, admin_client, name, message):
    f.make_group(world.kindergarten, "Берёзка")
    f.make_group(world.kindergarten, "Звездочка", archived=True)
    before = db.session.execute(select(Group.id, Group.name).order_by(Group.id)).all()

    response = admin_client.post("/admin/groups", data={"name": name})

    assert response.status_code == 422
    assert message in field_errors(response)
    assert "Группы" in page_text(response)  # the groups page again, with the form
    after = db.session.execute(select(Group.id, Group.name).order_by(Group.id)).all()
    assert after == before
    assert audit_rows("group.created") == []


def test_same_group_name_in_another_kindergarten_is_allowed(world, admin_client):
    other = other_kindergarten()
    f.make_group(other, "Радуга")
    response = admin_client.post("/admin/groups", data={"name": "Радуга"})
    assert response.status_code == 303
    assert count(Group, Group.name == "Радуга") == 2


# --- rename ------------------------------------------------------------------------------------


def test_rename_group(world, admin_client):
    response = admin_client.post(
        f"/admin/groups/{world.group.id}/rename", data={"name": "Солнечные зайчики"}
    )
    assert response.status_code == 303
    assert response.location.endswith(f"/admin/groups/{world.group.id}")
    assert world.group.name == "Солнечные зайчики"

    page = admin_client.get(response.location)
    assert "Название сохранено." in flashes(page)
    assert "Группа «Солнечные зайчики»" in page_text(page)

    (row,) = audit_rows("group.renamed")
    assert row.actor_id == world.admin.id
    assert row.target_id == world.group.id
    assert row.details == {"old": "Солнышко", "new": "Солнечные зайчики"}


def test_rename_group_to_its_own_name_in_other_case_is_allowed(world, admin_client):
    response = admin_client.post(
        f"/admin/groups/{world.group.id}/rename", data={"name": "СОЛНЫШКО"}
    )
    assert response.status_code == 303
    assert world.group.name == "СОЛНЫШКО"


@pytest.mark.parametrize(
    "name,message",
    [
        *[p for p in BAD_NAMES if p.id not in {"duplicate", "duplicate-case", "duplicate-upper"}],
        pytest.param("Капелька", "Группа с таким названием уже есть.", id="duplicate-other-group"),
        pytest.param("капелька", "Группа с таким названием уже есть.", id="duplicate-other-case"),
    ],
)
def test_rename_group_refuses_bad_name_and_keeps_the_old_one(world, admin_client, name, message):
    f.make_group(world.kindergarten, "Берёзка")
    f.make_group(world.kindergarten, "Звездочка", archived=True)

    response = admin_client.post(f"/admin/groups/{world.group.id}/rename", data={"name": name})

    assert response.status_code == 422
    assert message in field_errors(response)
    assert "Группа «Солнышко»" in page_text(response)  # the page still shows the stored name
    assert world.group.name == "Солнышко"
    assert world.other_group.name == "Капелька"
    assert audit_rows("group.renamed") == []


# --- archive and restore -----------------------------------------------------------------------


def test_archive_refused_while_children_attend(world, admin_client):
    response = admin_client.post(f"/admin/groups/{world.group.id}/archive")

    assert response.status_code == 409
    body = page_text(response)
    assert any(
        message.startswith("В группе ещё есть дети (1).") for message in flashes(response)
    ), flashes(response)
    assert "Группа «Солнышко»" in body
    assert world.group.archived_at is None
    assert world.child.group_id == world.group.id and world.child.left_at is None
    assert audit_rows("group.archived") == []
    assert "Солнышко" in page_text(admin_client.get("/admin/groups"))


def test_archive_allowed_when_every_child_has_left(world, admin_client):
    f.make_child(world.group, "Иванова", "Мария", left=True)
    world.child.left_at = utcnow()
    db.session.commit()

    response = admin_client.post(f"/admin/groups/{world.group.id}/archive")

    assert response.status_code == 303
    assert response.location.endswith("/admin/groups")
    assert world.group.archived_at is not None
    page = admin_client.get(response.location)
    assert "Группа «Солнышко» отправлена в архив." in flashes(page)
    assert f'/admin/groups/{world.group.id}"' not in page_text(page)  # not among open groups
    archive = page_text(admin_client.get("/admin/groups?archived=1"))
    assert f'/admin/groups/{world.group.id}"' in archive

    (row,) = audit_rows("group.archived")
    assert (row.actor_id, row.target_id) == (world.admin.id, world.group.id)


def test_archived_group_is_not_offered_for_new_children(world, admin_client):
    archived = f.make_group(world.kindergarten, "Ласточка", archived=True)
    body = page_text(admin_client.get("/admin/children/new"))
    assert "Капелька" in body
    assert f'value="{archived.id}"' not in body


def test_restore_group(world, admin_client):
    archived = f.make_group(world.kindergarten, "Ласточка", archived=True)

    response = admin_client.post(f"/admin/groups/{archived.id}/restore")

    assert response.status_code == 303
    assert response.location.endswith(f"/admin/groups/{archived.id}")
    assert archived.archived_at is None
    assert "Группа «Ласточка» снова открыта." in flashes(admin_client.get(response.location))
    assert f'/admin/groups/{archived.id}"' in page_text(admin_client.get("/admin/groups"))
    (row,) = audit_rows("group.restored")
    assert (row.actor_id, row.target_id) == (world.admin.id, archived.id)


def test_director_can_archive_and_restore_too(world, director_client):
    empty = f.make_group(world.kindergarten, "Ласточка")
    assert director_client.post(f"/admin/groups/{empty.id}/archive").status_code == 303
    assert empty.archived_at is not None
    assert director_client.post(f"/admin/groups/{empty.id}/restore").status_code == 303
    assert empty.archived_at is None
    assert [row.actor_id for row in audit_rows("group.archived")] == [world.director.id]
    assert [row.actor_id for row in audit_rows("group.restored")] == [world.director.id]


# --- educators ---------------------------------------------------------------------------------


def is_attached(group, user) -> bool:
    return db.session.get(GroupEducator, (group.id, user.id)) is not None


def test_group_page_offers_only_educators_who_may_be_attached(world, admin_client):
    newcomer = f.make_staff(world.kindergarten, "Ольга Новикова", position="logoped")
    dismissed = f.make_staff(world.kindergarten, "Пётр Ушедший", dismissed_at=utcnow())
    body = page_text(admin_client.get(f"/admin/groups/{world.group.id}"))
    assert f'value="{newcomer.id}"' in body
    assert f'value="{world.other_educator.id}"' in body
    for person in (world.educator, world.parent, world.admin, world.director, dismissed):
        assert f'value="{person.id}"' not in body, person.name


def test_attach_educator(world, admin_client):
    newcomer = f.make_staff(world.kindergarten, "Ольга Новикова", position="logoped")

    response = admin_client.post(
        f"/admin/groups/{world.group.id}/educators", data={"educator_id": newcomer.id}
    )

    assert response.status_code == 303
    assert response.location.endswith(f"/admin/groups/{world.group.id}")
    assert is_attached(world.group, newcomer)
    section = educators_section(page_text(admin_client.get(response.location)))
    assert "Ольга Новикова" in section and "Анна Павлова" in section

    (row,) = audit_rows("group.educator_attached")
    assert (row.actor_id, row.target_type, row.target_id) == (
        world.admin.id,
        "group",
        world.group.id,
    )
    assert row.details["educator_id"] == newcomer.id
    # the same person shows up on the staff list with the group
    assert "Солнышко" in page_text(admin_client.get(f"/admin/staff/{newcomer.id}"))


def test_attach_educator_with_htmx_answers_with_the_fragment(world, admin_client):
    newcomer = f.make_staff(world.kindergarten, "Ольга Новикова")

    response = admin_client.post(
        f"/admin/groups/{world.group.id}/educators",
        data={"educator_id": newcomer.id},
        headers=HTMX_EDUCATORS,
    )

    assert response.status_code == 200
    body = page_text(response).strip()
    assert body.startswith('<section id="educators">')
    assert body.endswith("</section>")
    assert "<html" not in body and "<body" not in body
    assert "Ольга Новикова" in educators_section(body)
    assert "HX-Request" in response.headers.get("Vary", "")
    assert is_attached(world.group, newcomer)
    assert len(audit_rows("group.educator_attached")) == 1


def test_attach_an_educator_of_another_group_too(world, admin_client):
    """One educator may work in several groups."""
    response = admin_client.post(
        f"/admin/groups/{world.group.id}/educators", data={"educator_id": world.other_educator.id}
    )
    assert response.status_code == 303
    assert is_attached(world.group, world.other_educator)
    assert is_attached(world.other_group, world.other_educator)


def test_detach_educator(world, admin_client):
    response = admin_client.post(
        f"/admin/groups/{world.group.id}/educators/{world.educator.id}/remove"
    )
    assert response.status_code == 303
    assert not is_attached(world.group, world.educator)
    section = educators_section(page_text(admin_client.get(response.location)))
    assert "Анна Павлова" not in section
    assert "К группе пока никто не прикреплён." in section

    (row,) = audit_rows("group.educator_detached")
    assert (row.actor_id, row.target_id) == (world.admin.id, world.group.id)
    assert row.details["educator_id"] == world.educator.id
    # the educator is still staff, only not in this group
    assert world.educator.dismissed_at is None


def test_detach_educator_with_htmx_answers_with_the_fragment(world, admin_client):
    response = admin_client.post(
        f"/admin/groups/{world.group.id}/educators/{world.educator.id}/remove",
        headers=HTMX_EDUCATORS,
    )
    assert response.status_code == 200
    body = page_text(response).strip()
    assert body.startswith('<section id="educators">') and "<html" not in body
    assert "Анна Павлова" not in educators_section(body)
    assert f'value="{world.educator.id}"' in body  # may be attached again
    assert not is_attached(world.group, world.educator)


def test_detach_someone_not_attached_changes_nothing(world, admin_client):
    response = admin_client.post(
        f"/admin/groups/{world.group.id}/educators/{world.other_educator.id}/remove"
    )
    assert response.status_code == 303
    assert is_attached(world.other_group, world.other_educator)
    assert is_attached(world.group, world.educator)
    assert audit_rows("group.educator_detached") == []


@pytest.mark.parametrize(
    "who",
    ["parent", "dismissed", "deputy", "attached", "other_kindergarten", "missing", "not-a-number"],
)
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_attach_refuses_who_is_not_an_educator_here(world, admin_client, who, htmx):
    if who == "parent":
        value = world.parent.id
    elif who == "dismissed":
        value = f.make_staff(world.kindergarten, "Пётр Ушедший", dismissed_at=utcnow()).id
    elif who == "deputy":
        value = world.admin.id  # «Заместитель заведующего» is staff but not an educator
    elif who == "attached":
        value = world.educator.id
    elif who == "other_kindergarten":
        value = f.make_staff(other_kindergarten(), "Чужая Воспитательница").id
    elif who == "missing":
        value = NO_SUCH_ID
    else:
        value = "анна"
    before = db.session.execute(select(GroupEducator.group_id, GroupEducator.user_id)).all()

    response = admin_client.post(
        f"/admin/groups/{world.group.id}/educators",
        data={"educator_id": value},
        headers=HTMX_EDUCATORS if htmx else {},
    )

    assert response.status_code == 422
    assert field_errors(response), "the person sees why"
    assert all(re.search("[а-яё]", message) for message in field_errors(response)), field_errors(
        response
    )
    if htmx:
        assert page_text(response).strip().startswith('<section id="educators">')
    else:
        assert "Группа «Солнышко»" in page_text(response)
    after = db.session.execute(select(GroupEducator.group_id, GroupEducator.user_id)).all()
    assert sorted(after) == sorted(before)
    assert audit_rows("group.educator_attached") == []


# --- another kindergarten's groups -------------------------------------------------------------


@pytest.mark.parametrize(
    "method,path,data",
    [
        ("GET", "/admin/groups/{id}", None),
        ("POST", "/admin/groups/{id}/rename", {"name": "Захвачено"}),
        ("POST", "/admin/groups/{id}/archive", None),
        ("POST", "/admin/groups/{id}/restore", None),
        ("POST", "/admin/groups/{id}/educators", {"educator_id": "{educator}"}),
        ("POST", "/admin/groups/{id}/educators/{educator}/remove", None),
        ("GET", "/admin/children/new?group={id}", None),
    ],
)
def test_another_kindergartens_group_is_not_found(world, admin_client, method, path, data):
    other = other_kindergarten()
    foreign_educator = f.make_staff(other, "Чужая Воспитательница")
    foreign = f.make_group(other, "Чужая группа", educators=[foreign_educator])
    f.make_child(foreign, "Чужой", "Ребёнок")
    empty_foreign = f.make_group(other, "Пустая чужая", archived=True)
    target = empty_foreign if "restore" in path else foreign

    def send(group_id):
        url = path.format(id=group_id, educator=foreign_educator.id)
        form = {k: v.format(educator=foreign_educator.id) for k, v in (data or {}).items()}
        return admin_client.open(url, method=method, data=form if method == "POST" else None)

    response = send(target.id)
    missing = send(NO_SUCH_ID)

    if path.startswith("/admin/children/new"):
        # the page opens, but the foreign group is not offered
        assert response.status_code == 200
        assert f'value="{foreign.id}"' not in page_text(response)
        assert "Чужая группа" not in page_text(response)
        return
    assert response.status_code == 404
    assert missing.status_code == 404
    assert same_page(response, missing), "no way to tell «not yours» from «missing»"
    assert "Страница не найдена" in page_text(response)
    assert "Чужая группа" not in page_text(response)
    assert foreign.name == "Чужая группа" and foreign.archived_at is None
    assert empty_foreign.archived_at is not None
    assert is_attached(foreign, foreign_educator)
    assert (
        db.session.scalars(select(AuditLog.action).where(AuditLog.actor_id == world.admin.id)).all()
        == []
    )


def test_another_kindergartens_groups_are_not_listed(world, admin_client):
    other = other_kindergarten()
    f.make_group(other, "Чужая группа")
    f.make_group(other, "Чужой архив", archived=True)
    assert "Чужая группа" not in page_text(admin_client.get("/admin/groups"))
    assert "Чужой архив" not in page_text(admin_client.get("/admin/groups?archived=1"))


def test_educator_of_the_group_cannot_change_it(world, as_user):
    client = as_user(world.educator)
    assert (
        client.post(
            f"/admin/groups/{world.group.id}/rename", data={"name": "Моя группа"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/admin/groups/{world.group.id}/educators/{world.educator.id}/remove"
        ).status_code
        == 403
    )
    assert world.group.name == "Солнышко"
    assert is_attached(world.group, world.educator)


def test_group_name_is_shown_as_text(world, admin_client):
    name = '<img src=x onerror="alert(1)"> Жуки'
    response = admin_client.post("/admin/groups", data={"name": name})
    assert response.status_code == 303
    assert count(Group, Group.name == name) == 1
    for url in (response.location, "/admin/groups"):
        body = page_text(admin_client.get(url))
        assert "<img src=x" not in body
        assert "&lt;img src=x onerror=" in body
