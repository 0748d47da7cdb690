"""Admin area, the invites overview: every live chat and staff invite of the kindergarten in one
list; annul the chosen ones, or every one nobody has used yet."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

import pytest

from sferum_lite.extensions import db
from sferum_lite.models import ChatInvite, utcnow

from . import factories as f
from .test_admin_groups import audit_rows, flashes, other_kindergarten, page_text
from .test_query_counts import counting

HTMX = {"HX-Request": "true"}


def make_chat_invite(
    chat,
    created_by,
    *,
    max_uses=None,
    uses=0,
    days=7,
    revoked=False,
    needs_approval=False,
    last_used_at=None,
) -> ChatInvite:
    invite = ChatInvite(
        kindergarten_id=chat.kindergarten_id,
        chat_id=chat.id,
        token=secrets.token_urlsafe(18),
        needs_approval=needs_approval,
        max_uses=max_uses,
        uses=uses,
        expires_at=utcnow() + timedelta(days=days),
        revoked_at=utcnow() if revoked else None,
        last_used_at=last_used_at,
        created_by_id=created_by.id,
    )
    db.session.add(invite)
    db.session.commit()
    return invite


def group_chat(world, title="Родители группы «Солнышко»"):
    return f.make_chat(
        world.kindergarten,
        world.educator,
        title=title,
        group=world.group,
        members=[world.parent],
    )


def listed(response) -> dict[str, set[int]]:
    """The invites offered for annulling: {'chat': {ids}, 'staff': {ids}}."""
    body = page_text(response)
    found = {"chat": set(), "staff": set()}
    for kind, value in re.findall(r'type="checkbox" name="(chat|staff)" value="(\d+)"', body):
        found[kind].add(int(value))
    return found


def live(invite) -> bool:
    db.session.refresh(invite)
    return invite.state() == "live"


def foreign_invites():
    """A second kindergarten with a live chat invite and a live staff invite."""
    kindergarten = other_kindergarten()
    director = f.make_staff(kindergarten, "Зоя Воспитателева")
    chat = f.make_chat(kindergarten, director, title="Чужой чат", rules_id=None)
    return (
        make_chat_invite(chat, director),
        f.make_staff_invite(kindergarten, director),
    )


# --- the overview ------------------------------------------------------------------------------


def test_overview_lists_live_chat_and_staff_invites_of_this_kindergarten_only(world, admin_client):
    chat = group_chat(world)
    live_chat = make_chat_invite(
        chat, world.educator, max_uses=20, uses=3, needs_approval=True, last_used_at=utcnow()
    )
    unlimited = make_chat_invite(chat, world.educator)
    expired = make_chat_invite(chat, world.educator, days=-1)
    revoked = make_chat_invite(chat, world.educator, revoked=True)
    used_up = make_chat_invite(chat, world.educator, max_uses=1, uses=1)
    live_staff = f.make_staff_invite(world.kindergarten, world.admin, position="logoped")
    dead_staff = f.make_staff_invite(world.kindergarten, world.admin, revoked=True)
    foreign_chat, foreign_staff = foreign_invites()

    response = admin_client.get("/admin/invites")

    assert response.status_code == 200
    assert listed(response) == {"chat": {live_chat.id, unlimited.id}, "staff": {live_staff.id}}
    for dead in (expired, revoked, used_up, dead_staff, foreign_chat, foreign_staff):
        assert dead.id not in listed(response)["chat" if isinstance(dead, ChatInvite) else "staff"]
    body = page_text(response)
    assert "Родители группы «Солнышко»" in body
    assert "Группа «Солнышко»" in body
    assert "Сотрудник: Учитель-логопед" in body
    assert "использовано 3 из 20" in body
    assert "последний раз" in body
    assert "с одобрением" in body
    assert f"Создал(а): {world.educator.name}" in body
    assert f"Создал(а): {world.admin.name}" in body
    assert "Чужой чат" not in body
    assert f'href="/admin/staff/invites/{live_staff.id}"' in body


def test_chat_invites_link_to_their_page_once_it_exists(app, world, admin_client):
    invite = make_chat_invite(group_chat(world), world.educator)

    body = page_text(admin_client.get("/admin/invites"))

    if "chat_invites.show" in app.view_functions:
        with app.test_request_context():
            from flask import url_for

            assert f'href="{url_for("chat_invites.show", invite_id=invite.id)}"' in body
    else:
        assert "Родители группы «Солнышко»" in body


def test_invites_that_make_an_administrator_are_listed_but_open_for_the_director_only(
    world, admin_client, director_client
):
    invite = f.make_staff_invite(world.kindergarten, world.director, grants_admin=True)
    link = f'href="/admin/staff/invites/{invite.id}"'

    as_admin = admin_client.get("/admin/invites")
    as_director = director_client.get("/admin/invites")

    assert invite.id in listed(as_admin)["staff"], "«all unused» annuls it: it is shown"
    assert link not in page_text(as_admin)
    assert link in page_text(as_director)
    assert "и администратор" in page_text(as_admin)


def test_overview_says_when_there_are_none(world, admin_client):
    f.make_staff_invite(world.kindergarten, world.admin, revoked=True)

    response = admin_client.get("/admin/invites")

    assert response.status_code == 200
    assert "Действующих приглашений нет" in page_text(response)
    assert "Аннулировать выбранные" not in page_text(response)


def test_overview_costs_the_same_number_of_queries_for_more_invites(app, world, as_user):
    client = as_user(world.admin)

    def queries_for_page():
        with counting(app) as statements:
            assert client.get("/admin/invites").status_code == 200
        return len(statements)

    def grow(n):
        for i in range(n):
            educator = f.make_staff(world.kindergarten, f"Педагог {n}-{i}")
            group = f.make_group(world.kindergarten, f"Группа {n}-{i}", educators=[educator])
            chat = f.make_chat(world.kindergarten, educator, title=f"Чат {n}-{i}", group=group)
            make_chat_invite(chat, educator, uses=1, last_used_at=utcnow())
            f.make_staff_invite(world.kindergarten, educator)

    grow(1)
    few = queries_for_page()
    grow(5)
    many = queries_for_page()
    assert many == few, f"{few} queries for 1 of each, {many} for 6"


def test_admin_overview_links_the_page_with_the_count(world, admin_client):
    chat = group_chat(world)
    make_chat_invite(chat, world.educator)
    make_chat_invite(chat, world.educator, revoked=True)
    f.make_staff_invite(world.kindergarten, world.director, grants_admin=True)

    body = page_text(admin_client.get("/admin/"))

    assert 'href="/admin/invites"' in body
    assert re.search(r'href="/admin/invites"><b>2</b>', body), "one chat + one staff invite"
    assert 'href="/admin/rules"' in body
    assert 'href="/admin/consent"' in body


# --- annulling ---------------------------------------------------------------------------------


def test_annul_selected(world, admin_client):
    chat = group_chat(world)
    chosen_chat = make_chat_invite(chat, world.educator, uses=2)
    kept_chat = make_chat_invite(chat, world.educator)
    chosen_staff = f.make_staff_invite(world.kindergarten, world.admin)
    kept_staff = f.make_staff_invite(world.kindergarten, world.admin)

    response = admin_client.post(
        "/admin/invites/annul", data={"chat": [str(chosen_chat.id)], "staff": [chosen_staff.id]}
    )

    assert response.status_code == 303
    assert response.location == "/admin/invites"
    assert not live(chosen_chat) and chosen_chat.revoked_by_id == world.admin.id
    assert not live(chosen_staff)
    assert live(kept_chat) and live(kept_staff)
    page = admin_client.get(response.location)
    assert flashes(page) == ["Аннулировано приглашений: 2."]
    assert listed(page) == {"chat": {kept_chat.id}, "staff": {kept_staff.id}}
    [log] = audit_rows("invites.annulled")
    assert log.actor_id == world.admin.id
    assert log.kindergarten_id == world.kindergarten.id
    assert log.details == {
        "all_unused": False,
        "chat_invites": [chosen_chat.id],
        "staff_invites": [chosen_staff.id],
    }


def test_annul_one(world, admin_client):
    invite = f.make_staff_invite(world.kindergarten, world.admin)

    response = admin_client.post("/admin/invites/annul", data={"staff": invite.id})

    assert response.status_code == 303
    assert not live(invite)
    assert flashes(admin_client.get(response.location)) == ["Аннулировано приглашений: 1."]


def test_annul_all_unused_keeps_the_used_ones(world, admin_client):
    chat = group_chat(world)
    unused_chat = make_chat_invite(chat, world.educator, max_uses=5)
    used_chat = make_chat_invite(chat, world.educator, max_uses=5, uses=1)
    unused_staff = f.make_staff_invite(world.kindergarten, world.admin, max_uses=5)
    admin_invite = f.make_staff_invite(world.kindergarten, world.director, grants_admin=True)
    used_staff = f.make_staff_invite(world.kindergarten, world.admin, max_uses=5, uses=2)
    foreign_chat, foreign_staff = foreign_invites()

    response = admin_client.post("/admin/invites/annul", data={"all_unused": "1"})

    assert response.status_code == 303
    for invite in (unused_chat, unused_staff, admin_invite):
        assert not live(invite)
    for invite in (used_chat, used_staff, foreign_chat, foreign_staff):
        assert live(invite)
    page = admin_client.get(response.location)
    assert flashes(page) == ["Аннулировано приглашений: 3."]
    assert listed(page) == {"chat": {used_chat.id}, "staff": {used_staff.id}}
    [log] = audit_rows("invites.annulled")
    assert log.details["all_unused"] is True
    assert log.details["chat_invites"] == [unused_chat.id]
    assert sorted(log.details["staff_invites"]) == sorted([unused_staff.id, admin_invite.id])


def test_annul_all_unused_when_there_are_none(world, admin_client):
    used = f.make_staff_invite(world.kindergarten, world.admin, max_uses=5, uses=1)

    response = admin_client.post("/admin/invites/annul", data={"all_unused": "1"})

    assert response.status_code == 303
    assert live(used)
    assert flashes(admin_client.get(response.location)) == [
        "Неиспользованных действующих приглашений нет — аннулировать нечего."
    ]
    assert audit_rows("invites.annulled") == []


def test_nothing_chosen_is_refused_on_the_page(world, admin_client):
    invite = f.make_staff_invite(world.kindergarten, world.admin)

    response = admin_client.post("/admin/invites/annul", data={})

    assert response.status_code == 422
    body = page_text(response)
    assert "Ничего не выбрано: отметьте приглашения, которые нужно аннулировать" in body
    assert invite.id in listed(response)["staff"], "the list is still there"
    assert live(invite)
    assert audit_rows("invites.annulled") == []


def test_nothing_chosen_with_htmx_is_a_422_too(world, admin_client):
    response = admin_client.post("/admin/invites/annul", data={"all_unused": ""}, headers=HTMX)

    assert response.status_code == 422


@pytest.mark.parametrize(
    "value", ["abc", "-1", "0", "1.5", "99999999999999999999999", "٣", "²", " "]
)
def test_ids_that_are_not_ids_are_refused(world, admin_client, value):
    invite = f.make_staff_invite(world.kindergarten, world.admin)

    response = admin_client.post("/admin/invites/annul", data={"staff": [value, invite.id]})

    assert response.status_code == 422
    assert "Отмеченные строки не прочитались" in page_text(response)
    assert live(invite)


def test_another_kindergartens_ids_are_ignored(world, admin_client):
    foreign_chat, foreign_staff = foreign_invites()
    own = f.make_staff_invite(world.kindergarten, world.admin)

    response = admin_client.post(
        "/admin/invites/annul", data={"chat": foreign_chat.id, "staff": [foreign_staff.id]}
    )

    assert response.status_code == 303
    assert live(foreign_chat) and live(foreign_staff) and live(own)
    assert flashes(admin_client.get(response.location)) == [
        "Выбранные приглашения уже не действовали — аннулировать было нечего."
    ]
    assert audit_rows("invites.annulled") == []

    response = admin_client.post(
        "/admin/invites/annul", data={"chat": foreign_chat.id, "staff": [foreign_staff.id, own.id]}
    )

    assert response.status_code == 303
    assert live(foreign_chat) and live(foreign_staff)
    assert not live(own)
    [log] = audit_rows("invites.annulled")
    assert log.details["chat_invites"] == [] and log.details["staff_invites"] == [own.id]


def test_annulled_links_no_longer_work(world, admin_client, client):
    invite = f.make_staff_invite(world.kindergarten, world.admin)
    admin_client.post("/admin/invites/annul", data={"staff": invite.id})

    client.get(f"/staff-invite/{invite.token}")
    response = client.get("/join/staff")

    assert response.status_code == 410


def test_the_director_annuls_too(world, director_client):
    chat = group_chat(world)
    invite = make_chat_invite(chat, world.educator)

    response = director_client.post("/admin/invites/annul", data={"chat": invite.id})

    assert response.status_code == 303
    assert not live(invite)


# --- who may ---------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["parent", "other_group_parent", "educator", "other_educator"])
@pytest.mark.parametrize(
    "method,path", [("GET", "/admin/invites"), ("POST", "/admin/invites/annul")]
)
def test_only_the_administration_may(world, as_user, persona, method, path):
    invite = f.make_staff_invite(world.kindergarten, world.admin)
    client = as_user(world.persona(persona))

    response = client.open(path, method=method, data={"all_unused": "1", "staff": invite.id})

    assert response.status_code == 403
    assert live(invite)


@pytest.mark.parametrize(
    "method,path", [("GET", "/admin/invites"), ("POST", "/admin/invites/annul")]
)
def test_visitors_go_to_sign_in(world, client, method, path):
    invite = f.make_staff_invite(world.kindergarten, world.admin)

    response = client.open(path, method=method, data={"all_unused": "1"})

    assert response.status_code == 302
    assert "/login" in response.location
    assert live(invite)
