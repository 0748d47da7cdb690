"""Admin area, staff: the list, verification, the administrator role, positions, dismissal, and
staff invite links."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from sferum_lite.extensions import db
from sferum_lite.models import (
    POSITIONS,
    AuditLog,
    Chat,
    ChatMember,
    GroupEducator,
    ParentChild,
    StaffInvite,
    UserSession,
    utcnow,
)

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

HTMX = {"HX-Request": "true"}
BADGE = 'aria-label="подтверждён"'
INVITE_PREFIX = "https://sad7.example/staff-invite/"


def staff_row(response, user) -> str:
    """The <li> of one person on the staff list."""
    body = page_text(response)
    match = re.search(rf'<li id="staff-{user.id}">.*?</li>', body, re.S)
    assert match, f"{user.name} is not on the list"
    return match.group(0)


def system_chats_of(user) -> set[str]:
    return set(
        db.session.scalars(
            select(Chat.system)
            .join(ChatMember, ChatMember.chat_id == Chat.id)
            .where(ChatMember.user_id == user.id, Chat.system.is_not(None))
        )
    )


def sessions_of(user) -> int:
    return len(
        db.session.scalars(select(UserSession.id).where(UserSession.user_id == user.id)).all()
    )


def groups_of(user) -> list[int]:
    return db.session.scalars(
        select(GroupEducator.group_id).where(GroupEducator.user_id == user.id)
    ).all()


def all_audit_rows() -> list[tuple]:
    return db.session.execute(select(AuditLog.id, AuditLog.action)).all()


def invite_lists(response) -> tuple[str, str]:
    """(the «Действующие» list, the «Недействующие» list) of the invites page."""
    body = page_text(response)
    start = body.index("<h2>Действующие</h2>")
    live = body[start : body.index("</ul>", start)]
    dead_start = body.find("<summary>Недействующие</summary>")
    dead = body[dead_start : body.index("</ul>", dead_start)] if dead_start != -1 else ""
    return live, dead


@pytest.fixture
def newcomer(world):
    """A staff member who joined through an invite and waits for verification."""
    return f.make_staff(
        world.kindergarten,
        "Игорь Белов",
        position="psiholog",
        verified=False,
        email="igor@example.ru",
    )


# --- the list ----------------------------------------------------------------------------------


def test_staff_list(world, admin_client, newcomer):
    f.make_staff(world.kindergarten, "Пётр Ушедший", dismissed_at=utcnow())
    response = admin_client.get("/admin/staff")
    assert response.status_code == 200

    director = staff_row(response, world.director)
    assert "Ольга Смирнова" in director and "Заведующий" in director

    admin = staff_row(response, world.admin)
    assert "Заместитель заведующего" in admin
    assert "администратор" in admin
    assert BADGE in admin

    educator = staff_row(response, world.educator)
    assert "Воспитатель" in educator and "Солнышко" in educator
    assert "Капелька" not in educator
    assert BADGE in educator
    assert "администратор" not in educator
    assert "Подтвердить" not in educator

    waiting = staff_row(response, newcomer)
    assert "Педагог-психолог" in waiting and "igor@example.ru" in waiting
    assert BADGE not in waiting
    assert f'action="/admin/staff/{newcomer.id}/verify"' in waiting
    assert "Подтвердить" in waiting

    body = page_text(response)
    assert f'id="staff-{world.parent.id}"' not in body, "parents are not staff"
    assert "Екатерина Петрова" not in body
    assert "Уволен 1 сотрудник" in body and "Пётр Ушедший" in body
    assert "Пётр Ушедший" not in "".join(re.findall(r'<li id="staff-\d+">.*?</li>', body, re.S))


def test_staff_member_page(world, admin_client, newcomer):
    body = page_text(admin_client.get(f"/admin/staff/{world.educator.id}"))
    assert "Анна Павлова" in body and "Воспитатель" in body and "Солнышко" in body
    assert "подтверждён(а)" in body
    waiting = page_text(admin_client.get(f"/admin/staff/{newcomer.id}"))
    assert "ждёт подтверждения" in waiting
    assert "Подтвердить сотрудника" in waiting


def test_dismissed_plural(world, admin_client):
    for name in ("Пётр Ушедший", "Павел Ушедший"):
        f.make_staff(world.kindergarten, name, dismissed_at=utcnow())
    assert "Уволено 2 сотрудника" in page_text(admin_client.get("/admin/staff"))


# --- verify ------------------------------------------------------------------------------------


def test_verify(world, admin_client, newcomer):
    response = admin_client.post(f"/admin/staff/{newcomer.id}/verify")

    assert response.status_code == 303
    assert response.location.endswith("/admin/staff")
    assert newcomer.verified_at is not None
    assert newcomer.verified_by_id == world.admin.id
    page = admin_client.get(response.location)
    assert "Игорь Белов подтверждён(а) — рядом с именем теперь значок." in flashes(page)
    row = staff_row(page, newcomer)
    assert BADGE in row and "Подтвердить" not in row

    (entry,) = audit_rows("staff.verified")
    assert (entry.actor_id, entry.target_type, entry.target_id) == (
        world.admin.id,
        "user",
        newcomer.id,
    )


def test_verify_with_htmx_answers_with_the_row(world, admin_client, newcomer):
    response = admin_client.post(f"/admin/staff/{newcomer.id}/verify", headers=HTMX)

    assert response.status_code == 200
    body = page_text(response).strip()
    assert body.startswith(f'<li id="staff-{newcomer.id}">') and body.endswith("</li>")
    assert "<html" not in body
    assert "Игорь Белов" in body and BADGE in body
    assert "Подтвердить" not in body
    assert "HX-Request" in response.headers.get("Vary", "")
    assert newcomer.verified_at is not None
    assert len(audit_rows("staff.verified")) == 1


def test_verify_twice_is_a_conflict(world, admin_client, newcomer):
    assert admin_client.post(f"/admin/staff/{newcomer.id}/verify").status_code == 303
    verified_at = newcomer.verified_at

    response = admin_client.post(f"/admin/staff/{newcomer.id}/verify")

    assert response.status_code == 409
    assert newcomer.verified_at == verified_at
    assert newcomer.verified_by_id == world.admin.id
    assert len(audit_rows("staff.verified")) == 1
    htmx = admin_client.post(f"/admin/staff/{newcomer.id}/verify", headers=HTMX)
    assert htmx.status_code == 409


def test_the_badge_shows_on_the_group_page_once_verified(world, admin_client, newcomer):
    admin_client.post(
        f"/admin/groups/{world.group.id}/educators", data={"educator_id": newcomer.id}
    )
    group_page = page_text(admin_client.get(f"/admin/groups/{world.group.id}"))
    assert re.search(r"Игорь Белов</span>", group_page), "no badge before verification"
    admin_client.post(f"/admin/staff/{newcomer.id}/verify")
    group_page = page_text(admin_client.get(f"/admin/groups/{world.group.id}"))
    assert re.search(r"Игорь Белов<span class=\"badge\"", group_page)


# --- dismiss -----------------------------------------------------------------------------------


def test_dismiss(world, admin_client, as_user):
    educator_client = as_user(world.educator)
    assert educator_client.get("/").status_code == 200
    assert system_chats_of(world.educator) == {"staff_group", "news", "staff"}
    own_invite = f.make_staff_invite(world.kindergarten, world.educator)
    used_up = f.make_staff_invite(world.kindergarten, world.educator, uses=1)
    someone_elses = f.make_staff_invite(world.kindergarten, world.admin)

    response = admin_client.post(f"/admin/staff/{world.educator.id}/dismiss")

    assert response.status_code == 303
    assert response.location.endswith("/admin/staff")
    page = admin_client.get(response.location)
    assert any(m.startswith("Анна Павлова уволен(а)") for m in flashes(page)), flashes(page)
    assert f'id="staff-{world.educator.id}"' not in page_text(page)
    assert "Уволен 1 сотрудник" in page_text(page)

    assert world.educator.dismissed_at is not None
    assert sessions_of(world.educator) == 0
    old_session = educator_client.get("/")
    assert old_session.status_code == 302
    assert "/login" in old_session.location
    assert groups_of(world.educator) == []
    assert system_chats_of(world.educator) == set()
    assert own_invite.revoked_at is not None
    assert used_up.revoked_at is not None
    assert someone_elses.revoked_at is None
    # the others are untouched
    assert groups_of(world.other_educator) == [world.other_group.id]
    assert system_chats_of(world.admin) == {"staff_group", "news", "staff"}
    assert sessions_of(world.admin) == 1

    (entry,) = audit_rows("staff.dismissed")
    assert (entry.actor_id, entry.target_id) == (world.admin.id, world.educator.id)
    # no longer offered for groups
    assert f'value="{world.educator.id}"' not in page_text(
        admin_client.get(f"/admin/groups/{world.group.id}")
    )


def test_director_dismisses_an_admin_whose_invites_die(world, director_client, as_user):
    admin_client = as_user(world.admin)
    assert admin_client.post("/admin/staff/invites", data={}).status_code == 303
    (invite,) = db.session.scalars(select(StaffInvite)).all()

    response = director_client.post(f"/admin/staff/{world.admin.id}/dismiss")

    assert response.status_code == 303
    assert world.admin.dismissed_at is not None
    assert world.admin.is_admin is False
    assert invite.revoked_at is not None
    after = admin_client.get("/admin/")
    assert after.status_code == 302 and "/login" in after.location
    assert admin_client.post("/admin/groups", data={"name": "После увольнения"}).status_code == 302
    assert "После увольнения" not in page_text(director_client.get("/admin/groups"))


# A dismissed educator whose own child attends keeps reading the kindergarten news.
def test_dismissed_educator_who_is_a_parent_keeps_the_news(world, admin_client):
    db.session.add(ParentChild(user_id=world.educator.id, child_id=world.other_child.id))
    db.session.commit()

    assert admin_client.post(f"/admin/staff/{world.educator.id}/dismiss").status_code == 303

    assert system_chats_of(world.educator) == {"news"}


@pytest.mark.parametrize("target", ["director", "self"])
def test_admin_cannot_dismiss_the_director_or_themselves(world, admin_client, target):
    person = world.director if target == "director" else world.admin
    before = system_chats_of(person)

    response = admin_client.post(f"/admin/staff/{person.id}/dismiss")

    assert response.status_code == 403
    assert "Нет доступа" in page_text(response)
    assert person.dismissed_at is None
    assert sessions_of(person) >= (1 if target == "self" else 0)
    assert system_chats_of(person) == before
    assert admin_client.get("/admin/").status_code == 200
    assert audit_rows("staff.dismissed") == []


def test_director_cannot_dismiss_themselves(world, director_client):
    assert director_client.post(f"/admin/staff/{world.director.id}/dismiss").status_code == 403
    assert world.director.dismissed_at is None


def test_admin_cannot_dismiss_another_admin_but_the_director_can(
    world, admin_client, director_client
):
    second = f.make_staff(world.kindergarten, "Вера Админова", position="zamestitel", admin=True)

    refused = admin_client.post(f"/admin/staff/{second.id}/dismiss")
    assert refused.status_code == 403
    assert second.dismissed_at is None and second.is_admin is True

    allowed = director_client.post(f"/admin/staff/{second.id}/dismiss")
    assert allowed.status_code == 303
    assert second.dismissed_at is not None
    assert [(e.actor_id, e.target_id) for e in audit_rows("staff.dismissed")] == [
        (world.director.id, second.id)
    ]


def test_dismiss_twice_changes_nothing_more(world, admin_client):
    admin_client.post(f"/admin/staff/{world.educator.id}/dismiss")
    dismissed_at = world.educator.dismissed_at
    response = admin_client.post(f"/admin/staff/{world.educator.id}/dismiss")
    assert response.status_code == 403
    assert world.educator.dismissed_at == dismissed_at
    assert len(audit_rows("staff.dismissed")) == 1


def test_dismissed_member_cannot_be_verified(world, admin_client):
    member = f.make_staff(world.kindergarten, "Пётр Ушедший", verified=False, dismissed_at=utcnow())
    response = admin_client.post(f"/admin/staff/{member.id}/verify")
    assert response.status_code == 403
    assert member.verified_at is None


# --- the administrator role --------------------------------------------------------------------


def test_admin_cannot_grant_or_withdraw_admin(world, admin_client):
    second = f.make_staff(world.kindergarten, "Вера Админова", position="zamestitel", admin=True)
    for person, was in ((world.educator, False), (second, True), (world.admin, True)):
        response = admin_client.post(f"/admin/staff/{person.id}/admin")
        assert response.status_code == 403, person.name
        assert person.is_admin is was
    body = page_text(admin_client.get(f"/admin/staff/{world.educator.id}"))
    assert "Назначить администратором" not in body
    assert audit_rows("staff.admin_granted") == [] and audit_rows("staff.admin_withdrawn") == []


def test_director_grants_and_withdraws_admin(world, director_client, as_user):
    educator_client = as_user(world.educator)
    assert educator_client.get("/admin/").status_code == 403
    page = page_text(director_client.get(f"/admin/staff/{world.educator.id}"))
    assert "Назначить администратором" in page

    response = director_client.post(f"/admin/staff/{world.educator.id}/admin")
    assert response.status_code == 303
    assert response.location.endswith(f"/admin/staff/{world.educator.id}")
    assert world.educator.is_admin is True
    page = director_client.get(response.location)
    assert "Анна Павлова теперь администратор." in flashes(page)
    assert "Снять права администратора" in page_text(page)
    assert educator_client.get("/admin/").status_code == 200
    (entry,) = audit_rows("staff.admin_granted")
    assert (entry.actor_id, entry.target_id) == (world.director.id, world.educator.id)

    response = director_client.post(f"/admin/staff/{world.educator.id}/admin")
    assert response.status_code == 303
    assert world.educator.is_admin is False
    assert "Анна Павлова больше не администратор." in flashes(
        director_client.get(response.location)
    )
    assert educator_client.get("/admin/").status_code == 403
    (entry,) = audit_rows("staff.admin_withdrawn")
    assert (entry.actor_id, entry.target_id) == (world.director.id, world.educator.id)


def test_director_role_cannot_be_toggled(world, director_client):
    assert director_client.post(f"/admin/staff/{world.director.id}/admin").status_code == 403
    assert world.director.is_director is True


# --- position ----------------------------------------------------------------------------------


def test_change_position(world, admin_client):
    response = admin_client.post(
        f"/admin/staff/{world.educator.id}/position", data={"position": "logoped"}
    )
    assert response.status_code == 303
    assert response.location.endswith(f"/admin/staff/{world.educator.id}")
    assert world.educator.position == "logoped"
    page = admin_client.get(response.location)
    assert "Должность сохранена." in flashes(page)
    assert "Учитель-логопед" in page_text(page)
    (entry,) = audit_rows("staff.position_changed")
    assert entry.actor_id == world.admin.id
    assert entry.details == {"old": "vospitatel", "new": "logoped"}


@pytest.mark.parametrize("value", ["boss", "", "zaveduyushchiy", "Воспитатель", "x" * 300])
def test_change_position_refuses_bad_value(world, admin_client, value):
    response = admin_client.post(
        f"/admin/staff/{world.educator.id}/position", data={"position": value}
    )
    assert response.status_code == 422
    assert field_errors(response) == ["Выберите вариант из списка."]
    assert "Анна Павлова" in page_text(response)
    assert world.educator.position == "vospitatel"
    assert audit_rows("staff.position_changed") == []


def test_directors_position_cannot_be_changed(world, admin_client, director_client):
    for client in (admin_client, director_client):
        response = client.post(
            f"/admin/staff/{world.director.id}/position", data={"position": "vospitatel"}
        )
        assert response.status_code == 403
    assert world.director.position is None


# --- staff invites -----------------------------------------------------------------------------


def the_only_invite() -> StaffInvite:
    (invite,) = db.session.scalars(select(StaffInvite)).all()
    return invite


def invite_link(response) -> str:
    match = re.search(r'<input id="invite-url"[^>]*value="([^"]*)"', page_text(response))
    assert match, "the invite page shows the link"
    return html.unescape(match.group(1))


def assert_created(client, response, world, *, actor):
    assert response.status_code == 303
    invite = the_only_invite()
    assert response.location.endswith(f"/admin/staff/invites/{invite.id}")
    page = client.get(response.location)
    assert page.status_code == 200
    assert "Приглашение создано. Отправьте ссылку новому сотруднику." in flashes(page)
    link = invite_link(page)
    assert link.startswith(INVITE_PREFIX), link
    token = link.removeprefix(INVITE_PREFIX)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43,}", token), token
    assert token == invite.token
    assert invite.kindergarten_id == world.kindergarten.id
    assert invite.created_by_id == actor.id
    assert invite.uses == 0 and invite.revoked_at is None
    (entry,) = audit_rows("staff_invite.created")
    assert (entry.actor_id, entry.target_id) == (actor.id, invite.id)
    assert token not in str(entry.details), "no tokens in the log"
    return invite, page


def test_invite_with_defaults(world, admin_client):
    started = utcnow()
    response = admin_client.post("/admin/staff/invites", data={})
    invite, page = assert_created(admin_client, response, world, actor=world.admin)
    assert invite.position == "vospitatel"
    assert invite.grants_admin is False
    assert invite.max_uses == 1, "single use by default"
    assert started + timedelta(days=7) <= invite.expires_at <= utcnow() + timedelta(days=7)
    body = page_text(page)
    assert "Приглашение: Воспитатель" in body
    assert "Роль: сотрудник" in body
    assert "Использовано 0 из 1" in body


def test_invite_form_defaults_shown(world, admin_client):
    body = page_text(admin_client.get("/admin/staff/invites"))
    assert re.search(r'<option selected value="7">|<option value="7" selected>', body)
    assert re.search(r'<option selected value="1">|<option value="1" selected>', body)
    assert "Действующих приглашений нет." in body


POSITION_NAMES = {
    "vospitatel": "Воспитатель",
    "pomoshnik": "Помощник воспитателя",
    "psiholog": "Педагог-психолог",
    "logoped": "Учитель-логопед",
    "muzruk": "Музыкальный руководитель",
    "fizruk": "Инструктор по физической культуре",
    "drugoe": "Другое",
    "zamestitel": "Заместитель заведующего",
}


def test_every_position_is_tested():
    assert set(POSITION_NAMES) == set(POSITIONS)


@pytest.mark.parametrize("position", list(POSITION_NAMES))
def test_invite_for_each_position(world, admin_client, position):
    response = admin_client.post("/admin/staff/invites", data={"position": position})
    invite, page = assert_created(admin_client, response, world, actor=world.admin)
    assert invite.position == position
    assert f"Приглашение: {POSITION_NAMES[position]}" in page_text(page)


@pytest.mark.parametrize("days", [1, 7, 30])
def test_invite_expiry_choices(world, admin_client, days):
    started = utcnow()
    response = admin_client.post("/admin/staff/invites", data={"expires": str(days)})
    invite, _page = assert_created(admin_client, response, world, actor=world.admin)
    assert started + timedelta(days=days) <= invite.expires_at <= utcnow() + timedelta(days=days)


# «Без ограничения» really stores no limit (max_uses NULL).
@pytest.mark.parametrize(
    "uses,stored,shown",
    [
        ("1", 1, "Использовано 0 из 1"),
        ("5", 5, "Использовано 0 из 5"),
        ("20", 20, "Использовано 0 из 20"),
        ("0", None, "Использовано 0, без ограничения"),
    ],
    ids=["one", "five", "twenty", "unlimited"],
)
def test_invite_use_limit_choices(world, admin_client, uses, stored, shown):
    response = admin_client.post("/admin/staff/invites", data={"max_uses": uses})
    invite, page = assert_created(admin_client, response, world, actor=world.admin)
    assert invite.max_uses == stored
    assert shown in page_text(page)


@pytest.mark.parametrize("role,grants", [("educator", False), ("admin", True)])
def test_director_invites_with_either_role(world, director_client, role, grants):
    response = director_client.post(
        "/admin/staff/invites", data={"role": role, "position": "zamestitel"}
    )
    invite, page = assert_created(director_client, response, world, actor=world.director)
    assert invite.grants_admin is grants
    expected = "Роль: сотрудник и администратор" if grants else "Роль: сотрудник"
    assert f"<li>{expected}</li>" in page_text(page)


def test_admin_is_not_offered_the_admin_role_and_cannot_force_it(world, admin_client):
    form = page_text(admin_client.get("/admin/staff/invites"))
    assert 'value="admin"' not in form
    response = admin_client.post("/admin/staff/invites", data={"role": "admin"})
    assert response.status_code == 403
    assert db.session.scalars(select(StaffInvite)).all() == []


@pytest.mark.parametrize(
    "field,value",
    [
        ("position", "boss"),
        ("position", "zaveduyushchiy"),
        ("expires", "365"),
        ("expires", "-1"),
        ("max_uses", "1000"),
        ("max_uses", "-5"),
        ("role", "director"),
    ],
)
def test_invite_refuses_values_not_offered(world, director_client, field, value):
    response = director_client.post("/admin/staff/invites", data={field: value})
    assert response.status_code == 422
    assert "Выберите вариант из списка." in field_errors(response)
    assert db.session.scalars(select(StaffInvite)).all() == []


def test_live_invites_list_and_revoke(world, admin_client):
    admin_client.post("/admin/staff/invites", data={"position": "logoped"})
    invite = the_only_invite()
    expired = f.make_staff_invite(world.kindergarten, world.admin, position="muzruk", days=-1)
    used = f.make_staff_invite(world.kindergarten, world.admin, position="fizruk", uses=1)

    live_part, dead_part = invite_lists(admin_client.get("/admin/staff/invites"))
    assert f'/admin/staff/invites/{invite.id}"' in live_part
    assert "Учитель-логопед" in live_part
    assert f'action="/admin/staff/invites/{invite.id}/revoke"' in live_part
    assert "Музыкальный руководитель" not in live_part
    assert "Инструктор по физической культуре" not in live_part
    assert "Музыкальный руководитель" in dead_part and "истекло" in dead_part
    assert "Инструктор по физической культуре" in dead_part and "использовано" in dead_part
    assert re.search(r"<b>1</b>\s*действующее приглашение", page_text(admin_client.get("/admin/")))
    assert expired.revoked_at is None and used.revoked_at is None

    response = admin_client.post(f"/admin/staff/invites/{invite.id}/revoke")

    assert response.status_code == 303
    assert response.location.endswith("/admin/staff/invites")
    assert invite.revoked_at is not None
    page = admin_client.get(response.location)
    assert "Ссылка отозвана: по ней больше нельзя зарегистрироваться." in flashes(page)
    live_part, dead_part = invite_lists(page)
    assert "Действующих приглашений нет." in live_part
    assert "Учитель-логопед" in dead_part and "отозвано" in dead_part
    (entry,) = audit_rows("staff_invite.revoked")
    assert (entry.actor_id, entry.target_id) == (world.admin.id, invite.id)

    invite_page = page_text(admin_client.get(f"/admin/staff/invites/{invite.id}"))
    assert "отозвано" in invite_page
    assert 'id="invite-url"' not in invite_page, "a dead link is not offered for copying"

    visitor = admin_client.application.test_client()
    assert visitor.get(f"/staff-invite/{invite.token}").status_code == 303
    assert visitor.get("/join/staff").status_code == 410

    # revoking again changes nothing
    revoked_at = invite.revoked_at
    assert admin_client.post(f"/admin/staff/invites/{invite.id}/revoke").status_code == 303
    assert invite.revoked_at == revoked_at
    assert len(audit_rows("staff_invite.revoked")) == 1


def test_invites_of_all_admins_are_listed(world, admin_client, director_client):
    director_client.post("/admin/staff/invites", data={"position": "muzruk"})
    live_part, _dead = invite_lists(admin_client.get("/admin/staff/invites"))
    assert "Музыкальный руководитель" in live_part and "Ольга Смирнова" in live_part


# --- another kindergarten's staff and invites --------------------------------------------------


@pytest.fixture
def foreign(world):
    other = other_kindergarten()
    member = f.make_staff(other, "Чужая Воспитательница", verified=False)
    invite = f.make_staff_invite(other, member)
    return member, invite


@pytest.mark.parametrize(
    "method,path,data",
    [
        ("GET", "/admin/staff/{member}", None),
        ("POST", "/admin/staff/{member}/verify", None),
        ("POST", "/admin/staff/{member}/admin", None),
        ("POST", "/admin/staff/{member}/position", {"position": "logoped"}),
        ("POST", "/admin/staff/{member}/dismiss", None),
        ("GET", "/admin/staff/invites/{invite}", None),
        ("POST", "/admin/staff/invites/{invite}/revoke", None),
    ],
)
@pytest.mark.parametrize("persona", ["admin", "director"])
def test_another_kindergartens_staff_and_invites_are_not_found(
    world, as_user, foreign, method, path, data, persona
):
    member, invite = foreign
    client = as_user(getattr(world, persona))
    audit_before = all_audit_rows()

    response = client.open(
        path.format(member=member.id, invite=invite.id), method=method, data=data
    )
    missing = client.open(
        path.format(member=NO_SUCH_ID, invite=NO_SUCH_ID), method=method, data=data
    )

    assert response.status_code == 404 and missing.status_code == 404
    assert same_page(response, missing)
    assert "Чужая" not in page_text(response)
    assert member.verified_at is None and member.dismissed_at is None
    assert member.is_admin is False and member.position == "vospitatel"
    assert invite.revoked_at is None
    assert all_audit_rows() == audit_before


def test_another_kindergartens_staff_and_invites_are_not_listed(world, admin_client, foreign):
    assert "Чужая" not in page_text(admin_client.get("/admin/staff"))
    listing = page_text(admin_client.get("/admin/staff/invites"))
    assert "Чужая" not in listing
    assert "Действующих приглашений нет." in listing


@pytest.mark.parametrize("who", ["parent", "other_group_parent"])
def test_a_parent_is_not_a_staff_member(world, admin_client, who):
    person = getattr(world, who)
    assert admin_client.get(f"/admin/staff/{person.id}").status_code == 404
    assert admin_client.post(f"/admin/staff/{person.id}/dismiss").status_code == 404
    assert admin_client.post(f"/admin/staff/{person.id}/verify").status_code == 404
    assert person.dismissed_at is None and person.position is None


def test_invite_page_warns_when_the_link_points_to_this_computer(make_app, world):
    from .conftest import sign_in

    invite = f.make_staff_invite(world.kindergarten, world.admin)
    hint = "Ссылка ведёт на этот компьютер"
    configured = sign_in(make_app().test_client(), world.admin)
    assert hint not in page_text(configured.get(f"/admin/staff/invites/{invite.id}"))
    local = sign_in(make_app(BASE_URL="http://127.0.0.1:5000").test_client(), world.admin)
    html = page_text(local.get(f"/admin/staff/invites/{invite.id}"))
    assert hint in html and f"http://127.0.0.1:5000/staff-invite/{invite.token}" in html
