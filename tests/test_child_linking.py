"""A child is linked to an account only when a person decides (issue 13 §2).

A chat link and a child's first and last name used to make a stranger that child's parent: the
match linked them and let them into the group's chat and the news. Now a match only pre-selects
the child in «Заявки» and the educator's «Впустить» links; links need approval by default; a link
without approval is for a meeting in the room and lives at most 48 hours; a link pauses after 10
names in an hour that match nobody; the child's other parents are told of a new account.
"""

from __future__ import annotations

import html
import re
import threading
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from sferum_lite.actions import ActionError
from sferum_lite.actions.invites import do_create_chat_invite
from sferum_lite.extensions import db
from sferum_lite.models import (
    AuditLog,
    Chat,
    ChatInvite,
    ChatInviteMiss,
    ChatMember,
    ChildLinkNotice,
    JoinRequest,
    ParentChild,
    utcnow,
)
from sferum_lite.permissions import access_chat

from . import factories as f
from .conftest import sign_in
from .test_admin_groups import field_errors, flashes, page_text
from .test_joining import (
    NEW_PHONE,
    accept,
    count,
    member,
    name_child,
    open_link,
    user_by_phone,
)
from .test_migration_walk import migrate, walk_app  # noqa: F401  (a fixture)

PAUSED = "Ссылка временно приостановлена"
PAUSED_WHY = "Приостановлена: 10 имён не совпали со списком группы за час"


def text(response) -> str:
    return html.unescape(page_text(response))


@pytest.fixture
def chat(world):
    f.make_child(world.group, "Сидорова", "Маша")
    return f.make_chat(
        world.kindergarten,
        world.educator,
        title="Родители группы «Солнышко»",
        group=world.group,
        members=[world.parent],
    )


@pytest.fixture
def educator(world, as_user):
    return as_user(world.educator)


def new_link(educator, chat, **data) -> ChatInvite:
    """A link made through the form, as the educator makes it."""
    data.setdefault("expires", "7")
    data.setdefault("max_uses", "0")
    response = educator.post(f"/chats/{chat.id}/invites", data=data)
    assert response.status_code == 303, text(response)[-600:]
    db.session.commit()
    return db.session.scalar(select(ChatInvite).order_by(ChatInvite.id.desc()))


def news_member(user) -> bool:
    db.session.commit()
    news = db.session.scalar(select(Chat).where(Chat.system == "news"))
    return db.session.get(ChatMember, (news.id, user.id)) is not None


def linked(user, child) -> bool:
    db.session.commit()
    return db.session.get(ParentChild, (user.id, child.id)) is not None


def audit(action):
    db.session.commit()
    return db.session.scalars(select(AuditLog).where(AuditLog.action == action)).all()


def walk_in(client, invite, chat, *, child, login=NEW_PHONE, name="Ольга Новикова"):
    """Someone with an account (made here: registration is test_joining's business) opens the
    link, names the child and accepts the rules; the last answer."""
    sign_in(client, f.make_parent(invite.kindergarten, name, phone=login))
    open_link(client, invite)
    assert name_child(client, *child).status_code == 303
    return accept(client, chat)


def selected_child(page: str, request_id: int) -> str | None:
    """The value of the option selected in a request's child list on «Заявки»."""
    select_html = re.search(rf'<select[^>]*id="child-{request_id}".*?</select>', page, re.S)
    chosen = re.search(r'<option selected value="(\d+)"', select_html.group(0))
    return chosen.group(1) if chosen else None


# --- a name match only pre-selects; «Впустить» links --------------------------------------------


def test_a_stranger_who_types_a_roster_name_is_not_linked_nor_admitted_until_let_in(
    world, client, chat, educator
):
    invite = new_link(educator, chat)  # the form's defaults
    answer = walk_in(client, invite, chat, child=("Петров", "Артём"))

    stranger = user_by_phone()
    request = db.session.scalar(select(JoinRequest))
    assert answer.location == f"/join/requests/{request.id}"
    assert member(chat, stranger) is None
    assert not linked(stranger, world.child)
    assert not news_member(stranger), "no news either before a person decides"
    assert request.status == "waiting" and request.child_id == world.child.id
    assert "Ожидает одобрения воспитателя" in text(client.get(answer.location))

    # «Заявки»: the matched child is pre-selected, and the educator is told it only matched
    queue = educator.get(f"/chats/{chat.id}/requests")
    assert queue.status_code == 200
    page = text(queue)
    assert selected_child(page, request.id) == str(world.child.id)
    assert "совпадает со списком группы" in page
    assert "Впустить" in page

    admitted = educator.post(f"/requests/{request.id}/admit", data={"child_id": world.child.id})
    assert admitted.status_code == 303
    assert member(chat, stranger) is not None
    assert linked(stranger, world.child)
    assert news_member(stranger)
    (row,) = audit("chat.join_admitted")
    assert row.actor_id == world.educator.id


def test_the_educator_may_choose_another_child_than_the_pre_selected_one(
    world, client, chat, educator
):
    sister = f.make_child(world.group, "Петрова", "Алиса")
    invite = new_link(educator, chat)
    walk_in(client, invite, chat, child=("Петров", "Артём"))
    request = db.session.scalar(select(JoinRequest))
    educator.post(f"/requests/{request.id}/admit", data={"child_id": sister.id})
    stranger = user_by_phone()
    assert linked(stranger, sister) and not linked(stranger, world.child)


def test_a_child_of_another_group_cannot_be_chosen_and_the_page_says_why(
    world, client, chat, educator
):
    invite = new_link(educator, chat)
    walk_in(client, invite, chat, child=("Петров", "Артём"))
    request = db.session.scalar(select(JoinRequest))
    refused = educator.post(
        f"/requests/{request.id}/admit", data={"child_id": world.other_child.id}
    )
    assert refused.status_code == 422
    assert "Выберите ребёнка из списка группы." in text(refused)
    assert member(chat, user_by_phone()) is None
    assert count(ParentChild, ParentChild.child_id == world.other_child.id) == 1
    assert educator.post("/requests/999999/admit", data={"child_id": 0}).status_code == 404


def test_a_parent_with_an_admitted_child_in_the_group_joins_without_a_new_request(
    world, as_user, chat, educator
):
    second = f.make_chat(world.kindergarten, world.educator, title="Объявления", group=world.group)
    invite = new_link(educator, second)  # with approval, the default
    assert invite.needs_approval
    client = as_user(world.parent)
    open_link(client, invite)
    assert client.get("/join/child").location == "/join/rules", "no child asked again"
    answer = accept(client, second)
    assert answer.status_code == 303 and answer.location == f"/chats/{second.id}"
    assert member(second, world.parent) is not None
    assert count(JoinRequest) == 0


# --- links with approval by default; a meeting link lives 48 hours at most ----------------------


def test_the_form_says_what_a_link_without_approval_is_for(world, chat, educator):
    form = text(educator.get(f"/chats/{chat.id}/invites"))
    assert re.search(r'<input[^>]*checked[^>]*value="needed"', form)
    assert "Без одобрения — для собрания в группе, не дольше 48 часов" in form
    assert "действует не дольше 48 часов" in form


def test_a_link_made_without_the_approval_field_needs_approval(world, chat, educator):
    """The group page's poster button posts no approval field: a forged form does the same."""
    invite = new_link(educator, chat, expires="30")
    assert invite.needs_approval is True


@pytest.mark.parametrize(
    "data",
    [
        {"approval": "meeting", "expires": "7"},
        {"approval": "meeting", "expires": "30"},
        {"approval": "meeting", "expires": "date", "until": "2099-01-01"},
        {"approval": "meeting", "expires": "date"},  # «до даты» with no date: its own message
        {"approval": "anyone", "expires": "1"},
    ],
)
def test_a_link_without_approval_longer_than_48_hours_is_refused(world, chat, educator, data):
    response = educator.post(f"/chats/{chat.id}/invites", data={"max_uses": "20", **data})
    assert response.status_code == 422
    assert count(ChatInvite) == 0
    page = text(response)
    assert field_errors(response), page[-800:]
    # nothing typed is lost
    assert re.search(r'<option selected value="20"', page)
    if data["approval"] == "meeting" and data["expires"] != "date":
        assert "не дольше 48 часов" in " ".join(field_errors(response))
        assert re.search(r'<input[^>]*checked[^>]*value="meeting"', page)


@pytest.mark.parametrize("days", ["1", "2"])
def test_a_meeting_link_of_one_or_two_days(world, chat, educator, days):
    invite = new_link(educator, chat, approval="meeting", expires=days)
    assert invite.needs_approval is False
    assert invite.expires_at - utcnow() <= timedelta(hours=48)
    assert "Без одобрения, для собрания в группе" in text(educator.get(f"/invites/{invite.id}"))


def test_the_action_refuses_a_meeting_link_past_48_hours_whatever_the_form_said(world, app, chat):
    with app.test_request_context():
        access = access_chat(world.educator, chat.id)
        with pytest.raises(ActionError, match="48"):
            do_create_chat_invite(
                world.educator,
                access,
                expires_at=utcnow() + timedelta(hours=48, minutes=1),
                max_uses=None,
                needs_approval=False,
            )
        db.session.rollback()
    assert count(ChatInvite) == 0


def test_a_meeting_link_admits_a_matched_name_and_links_the_child(world, client, chat, educator):
    invite = new_link(educator, chat, approval="meeting", expires="1")
    answer = walk_in(client, invite, chat, child=("Петров", "Артём"))
    assert answer.location == f"/chats/{chat.id}"
    newcomer = user_by_phone()
    assert linked(newcomer, world.child) and news_member(newcomer)


# --- the child's other parents are told --------------------------------------------------------


def test_the_childs_other_parents_see_who_was_linked_when_and_by_whom(
    world, app, chat, educator, as_user
):
    first = as_user(world.parent)
    assert "привязана ещё одна учётная запись" not in text(first.get("/"))
    newcomer_client = app.test_client()
    walk_in(newcomer_client, new_link(educator, chat), chat, child=("Петров", "Артём"))
    request = db.session.scalar(select(JoinRequest))
    assert "привязана ещё одна учётная запись" not in text(first.get("/")), "not before «Впустить»"
    educator.post(f"/requests/{request.id}/admit", data={"child_id": world.child.id})

    home = text(first.get("/"))
    assert "К вашему ребёнку привязана ещё одна учётная запись" in home
    assert "Ольга Новикова" in home and "Петров Артём" in home
    assert f"впустил(а) {world.educator.name}" in home
    assert re.search(r"\d{1,2} [а-я]+ 20\d\d, \d\d:\d\d", home), "when"
    assert "привязана ещё одна" not in text(newcomer_client.get("/")), "not told of oneself"

    # a third account: both earlier parents are told
    third = app.test_client()
    walk_in(
        third,
        new_link(educator, chat, approval="meeting", expires="1"),
        chat,
        child=("Петров", "Артём"),
        login="+79120000003",
        name="Павел Петров",
    )
    assert "Павел Петров" in text(first.get("/"))
    second_home = text(newcomer_client.get("/"))
    assert "Павел Петров" in second_home
    assert "вступил(а) по ссылке без одобрения" in second_home
    assert count(ChildLinkNotice) == 3

    # «Понятно» dismisses what the page showed
    notice_ids = re.search(r'name="upto" value="(\d+)"', text(first.get("/"))).group(1)
    seen = first.post("/child-links/seen", data={"upto": notice_ids})
    assert seen.status_code == 303 and seen.location == "/"
    assert "привязана ещё одна" not in text(first.get("/"))
    assert "Павел Петров" in text(newcomer_client.get("/")), "the other parent's stays"
    assert first.post("/child-links/seen", data={}).status_code == 400


def test_a_notice_that_came_after_the_page_stays(world, app, chat, educator, as_user):
    first = as_user(world.parent)
    for n, (phone, name) in enumerate((("+79120000001", "Иван Первый"), ("+79120000002", "Олег"))):
        client = app.test_client()
        walk_in(
            client,
            new_link(educator, chat, approval="meeting", expires="1"),
            chat,
            child=("Петров", "Артём"),
            login=phone,
            name=name,
        )
        if n == 0:
            upto = re.search(r'name="upto" value="(\d+)"', text(first.get("/"))).group(1)
    first.post("/child-links/seen", data={"upto": upto})
    home = text(first.get("/"))
    assert "Олег" in home and "Иван Первый" not in home


# --- misses: 10 names in an hour that match nobody pause the link -------------------------------


def miss(app, invite, chat, n, *, child=("Никто", "Незнакомый")):
    """Someone with an account types a name the roster doesn't hold: the rules step's answer."""
    user = f.make_parent(invite.kindergarten, f"Гость {n}")
    client = sign_in(app.test_client(), user)
    open_link(client, invite)
    assert name_child(client, *child).status_code == 303
    return accept(client, chat)


def paused(invite) -> bool:
    db.session.commit()
    db.session.refresh(invite)
    return invite.paused_at is not None


def test_ten_misses_in_an_hour_pause_the_link_and_the_eleventh_sees_why(
    world, app, client, chat, educator, as_user
):
    invite = new_link(educator, chat, approval="meeting", expires="2")
    # the eleventh opened the link before the pause and is on the rules step
    late = sign_in(app.test_client(), f.make_parent(world.kindergarten, "Поздний", phone=NEW_PHONE))
    open_link(late, invite)
    assert name_child(late, "Петров", "Артём").status_code == 303

    for n in range(9):
        assert miss(app, invite, chat, n).status_code == 303
    assert not paused(invite)
    assert miss(app, invite, chat, 9).status_code == 303  # the tenth still gets its request
    assert paused(invite)
    assert count(JoinRequest, JoinRequest.status == "waiting") == 10

    answer = accept(late, chat)
    assert answer.status_code == 409
    page = text(answer)
    assert PAUSED in page and world.educator.name in page
    assert member(chat, user_by_phone(NEW_PHONE)) is None

    # a newcomer scanning it now is stopped at the first page
    fresh = app.test_client()
    open_link(fresh, invite)
    stopped = fresh.get("/join")
    assert stopped.status_code == 409 and PAUSED in text(stopped)
    # people already in are unaffected: a member opening it goes to the chat
    parent = as_user(world.parent)
    open_link(parent, invite)
    assert parent.get("/join").location == f"/chats/{chat.id}"

    # the moderators see why, on the list and on the link's page
    assert PAUSED_WHY in text(educator.get(f"/chats/{chat.id}/invites"))
    shown = text(educator.get(f"/invites/{invite.id}"))
    assert PAUSED_WHY in shown and "Возобновить" in shown
    (row,) = audit("chat_invite.paused")
    assert row.details["misses"] == 10

    # «Возобновить»: live again, audited, and the old misses don't count again
    resumed = educator.post(f"/invites/{invite.id}/resume")
    assert resumed.status_code == 303
    assert "Ссылка снова действует" in " ".join(flashes(educator.get(resumed.location)))
    assert not paused(invite)
    (row,) = audit("chat_invite.resumed")
    assert row.actor_id == world.educator.id
    assert miss(app, invite, chat, 10).status_code == 303
    assert not paused(invite)
    assert fresh.get("/join").status_code == 200


def test_misses_older_than_an_hour_do_not_count(world, app, chat, educator):
    invite = new_link(educator, chat, approval="meeting", expires="2")
    with time_machine.travel(utcnow(), tick=True) as traveller:
        for n in range(9):
            miss(app, invite, chat, n)
        traveller.shift(timedelta(minutes=61))
        miss(app, invite, chat, 9)
        assert not paused(invite)
        assert count(ChatInviteMiss) == 1, "the misses that no longer count are not kept"
        for n in range(10, 18):
            traveller.shift(timedelta(minutes=7))
            miss(app, invite, chat, n)
        assert not paused(invite)  # nine within the hour
        traveller.shift(timedelta(minutes=3))  # 59 minutes after the first of them
        miss(app, invite, chat, 18)
        assert paused(invite)


def test_matches_and_ambiguous_names_are_not_misses(world, app, chat, educator):
    f.make_child(world.group, "Петров", "Артём")  # a second Артём Петров: ambiguous
    invite = new_link(educator, chat)
    for n in range(12):
        miss(app, invite, chat, n, child=("Петров", "Артём"))
    assert count(ChatInviteMiss) == 0 and not paused(invite)


def test_only_the_links_moderators_resume_it(world, chat, educator, as_user):
    invite = new_link(educator, chat)
    invite.paused_at = utcnow()
    db.session.commit()
    assert as_user(world.parent).post(f"/invites/{invite.id}/resume").status_code == 404
    assert as_user(world.other_educator).post(f"/invites/{invite.id}/resume").status_code == 404
    assert paused(invite)
    assert audit("chat_invite.resumed") == []
    # a link that is not paused: nothing to resume, nothing logged
    other = new_link(educator, chat)
    assert educator.post(f"/invites/{other.id}/resume").status_code == 303
    assert audit("chat_invite.resumed") == []


def test_concurrent_misses_lose_no_count(world, app, chat, educator):
    """Twelve people type unknown names at once: every miss is counted and the link pauses."""
    invite = new_link(educator, chat, approval="meeting", expires="2")
    clients = []
    for n in range(12):
        client = sign_in(app.test_client(), f.make_parent(world.kindergarten, f"Гость {n}"))
        open_link(client, invite)
        assert name_child(client, "Никто", "Незнакомый").status_code == 303
        clients.append(client)
    rules_id = chat.rules_id
    start = threading.Barrier(len(clients))
    answers = []

    def join(client):
        start.wait()
        answers.append(client.post("/join/rules", data={"rules_id": rules_id}).status_code)

    threads = [threading.Thread(target=join, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # the first ten are counted and wait; whoever comes after the pause finds it paused
    assert sorted(answers) == [303] * 10 + [409] * 2
    assert count(ChatInviteMiss) == 10
    assert count(JoinRequest) == 10
    assert paused(invite)
    assert len(audit("chat_invite.paused")) == 1


# --- the upgrade: links without approval that would live past 48 hours are cut ------------------


def test_the_upgrade_cuts_live_links_without_approval_to_48_hours(walk_app):  # noqa: F811
    with walk_app.app_context():
        migrate(walk_app, "head")
        kindergarten = f.make_kindergarten()
        educator = f.make_staff(kindergarten, "Анна Павлова")
        group_chat = f.make_chat(kindergarten, educator, title="Родители")
        open_month = f.make_chat_invite(group_chat, educator, days=30)
        approved = f.make_chat_invite(group_chat, educator, days=30, needs_approval=True)
        one_day = f.make_chat_invite(group_chat, educator, days=1)
        revoked = f.make_chat_invite(group_chat, educator, days=30, revoked=True)
        before = {i.id: i.expires_at for i in (open_month, approved, one_day, revoked)}
        ids = {"open": open_month.id, "approved": approved.id, "day": one_day.id}
        ids["revoked"] = revoked.id
        migrate(walk_app, "0008", down=True)
        upgraded_at = utcnow()
        migrate(walk_app, "head")
        after = {i.id: i.expires_at for i in db.session.scalars(select(ChatInvite))}
        cut = after[ids["open"]]
        assert upgraded_at + timedelta(hours=47, minutes=59) < cut
        assert cut <= utcnow() + timedelta(hours=48)
        for kept in ("approved", "day", "revoked"):
            assert after[ids[kept]] == before[ids[kept]], kept
