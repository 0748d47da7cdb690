"""Departures (reg 004 §27; issue 5, item 8, and the bad input «remove a parent without a
ground»): a child marked as left or moved takes their parents out of the group's chats unless
another of their children is still there, and closes the direct chats with its educators; a
dismissed staff member leaves every work chat, their sessions and invites end, and the chats
they moderated pass to the colleague the administrator picks; nobody is taken out of a chat
«just so» (§26). Each removal is in the moderation log with its ground, and the person removed
is told on their next visit why and by whom.

Everything goes through real requests; the database is checked afterwards.
"""

from __future__ import annotations

import html
import logging
import re

import pytest
from sqlalchemy import select

from sferum_lite.extensions import db
from sferum_lite.models import (
    AuditLog,
    Chat,
    ChatMember,
    ChatRemoval,
    Kindergarten,
    Message,
    ModerationEntry,
    ParentChild,
    UserSession,
    utcnow,
)

from . import factories as f
from .test_admin_groups import count, page_text
from .test_chats import chat_of_system, post_message
from .test_joining import accept, make_invite, open_link

NOTICE = "Вы больше не участник этих чатов"
LEFT = "Ребёнок (Петров Артём) выбыл из группы «Солнышко»"
DISMISSED = "Сотрудник уволен"
PICK_SUCCESSOR = "Выберите, кому передать чаты, которые вёл сотрудник."


# --- helpers -------------------------------------------------------------------------------------


def group_chats(group, educator, members=()) -> tuple[Chat, Chat]:
    """A group's parents' chat and its channel, both made and moderated by `educator`."""
    kindergarten = db.session.get(Kindergarten, group.kindergarten_id)
    chat = f.make_chat(
        kindergarten,
        educator,
        title=f"Родители группы «{group.name}»",
        group=group,
        members=members,
    )
    channel = f.make_chat(
        kindergarten,
        educator,
        kind="channel",
        title=f"Объявления группы «{group.name}»",
        group=group,
        members=members,
    )
    return chat, channel


def add_child(parent, group, last_name, first_name, *, left=False):
    child = f.make_child(group, last_name, first_name, left=left)
    db.session.add(ParentChild(user_id=parent.id, child_id=child.id))
    db.session.commit()
    return child


def member_ids(chat) -> set[int]:
    return set(db.session.scalars(select(ChatMember.user_id).where(ChatMember.chat_id == chat.id)))


def moderator_ids(chat) -> set[int]:
    return set(
        db.session.scalars(
            select(ChatMember.user_id).where(ChatMember.chat_id == chat.id, ChatMember.is_moderator)
        )
    )


def chats_of(user) -> set[int]:
    return set(db.session.scalars(select(ChatMember.chat_id).where(ChatMember.user_id == user.id)))


def ids(*chats) -> set[int]:
    return {chat.id for chat in chats}


def log_entries(action=None, member=None) -> list[ModerationEntry]:
    query = select(ModerationEntry).order_by(ModerationEntry.id)
    if action is not None:
        query = query.where(ModerationEntry.action == action)
    if member is not None:
        query = query.where(ModerationEntry.member_id == member.id)
    return db.session.scalars(query).all()


def removals_of(user) -> dict[int, ChatRemoval]:
    rows = db.session.scalars(select(ChatRemoval).where(ChatRemoval.user_id == user.id))
    return {row.chat_id: row for row in rows}


def sessions_of(user) -> int:
    return count(UserSession, UserSession.user_id == user.id)


def open_direct(client, other) -> Chat:
    """POST /chats/direct/<id>: the direct chat of an educator and a parent, found or made."""
    response = client.post(f"/chats/direct/{other.id}")
    assert response.status_code == 303, page_text(response)[:300]
    return db.session.get(Chat, int(response.location.rsplit("/", 1)[1]))


def reload(obj):
    db.session.refresh(obj)
    return obj


def notice(response) -> str:
    """The «you are no longer in these chats» box of a page, as text; '' when there is none."""
    assert response.status_code == 200
    found = re.search(
        r'<div class="flash info removals" role="status">(.*?)</div>', page_text(response), re.S
    )
    return html.unescape(found.group(1)) if found else ""


def leave(admin_client, child):
    response = admin_client.post(f"/admin/children/{child.id}/leave")
    assert response.status_code == 303, page_text(response)[:300]
    return response


def move(admin_client, child, group):
    response = admin_client.post(
        f"/admin/children/{child.id}",
        data={"last_name": child.last_name, "first_name": child.first_name, "group_id": group.id},
    )
    assert response.status_code == 303, page_text(response)[:300]
    assert reload(child).group_id == group.id
    return response


def assert_read_only(direct, *clients):
    """Readable for each of the pair, and no new message from either."""
    assert reload(direct).archived_at is not None
    before = count(Message, Message.chat_id == direct.id)
    for client in clients:
        assert client.get(f"/chats/{direct.id}").status_code == 200
        assert post_message(client, direct, "Ещё вопрос").status_code in (403, 409)
    assert count(Message, Message.chat_id == direct.id) == before


def assert_open(direct, client):
    assert reload(direct).archived_at is None
    assert post_message(client, direct, "Всё ещё можно писать").status_code == 303


# --- a child leaves (§27) ------------------------------------------------------------------------


def test_a_child_who_left_takes_their_parent_out_of_the_groups_chats_and_tells_them(
    world, as_user, admin_client
):
    classmate = f.make_child(world.group, "Сидорова", "Маша")
    classmate_parent = f.make_parent(world.kindergarten, "Анна Сидорова", children=[classmate])
    chat, channel = group_chats(world.group, world.educator, [world.parent, classmate_parent])
    other_chat, other_channel = group_chats(
        world.other_group, world.other_educator, [world.other_group_parent]
    )
    parent = as_user(world.parent)
    educator = as_user(world.educator)
    direct = open_direct(parent, world.educator)
    assert post_message(parent, direct, "Вопрос про Артёма").status_code == 303
    assert notice(parent.get("/")) == ""

    leave(admin_client, world.child)

    # out of the group's chat and channel; everybody else stays where they were
    assert member_ids(chat) == {world.educator.id, classmate_parent.id}
    assert member_ids(channel) == {world.educator.id, classmate_parent.id}
    assert (
        member_ids(other_chat)
        == member_ids(other_channel)
        == {
            world.other_educator.id,
            world.other_group_parent.id,
        }
    )
    assert parent.get(f"/chats/{chat.id}").status_code == 404
    assert parent.get(f"/chats/{channel.id}").status_code == 404

    # each removal is in the moderation log with its ground, and a ChatRemoval keeps them out
    removals = log_entries("removal")
    assert {entry.chat_id for entry in removals} == ids(chat, channel)
    for entry in removals:
        assert (entry.actor_id, entry.member_id) == (world.admin.id, world.parent.id)
        assert entry.ground == LEFT
        assert entry.details["departure"] == "departure"
        assert entry.details["child"] == world.child.id
    rows = removals_of(world.parent)
    assert set(rows) == ids(chat, channel)
    for row in rows.values():
        assert (row.ground, row.reason, row.removed_by_id) == ("departure", LEFT, world.admin.id)
        assert row.seen_at is None
    assert removals_of(classmate_parent) == {} and removals_of(world.other_group_parent) == {}

    # the direct chat with the group's educator: readable for both, closed for new messages
    assert_read_only(direct, parent, educator)
    assert "Вопрос про Артёма" in page_text(parent.get(f"/chats/{direct.id}"))
    (closed,) = log_entries("archived")
    assert (closed.chat_id, closed.member_id, closed.actor_id) == (
        direct.id,
        world.parent.id,
        world.admin.id,
    )
    assert closed.ground == LEFT

    # the director reads it in the kindergarten's log
    director_log = html.unescape(page_text(as_user(world.director).get("/moderation/log")))
    assert LEFT in director_log and world.parent.name in director_log

    # the parent is told on the next visit, on the home page and the chat list alike
    for page in (parent.get("/"), parent.get("/chats")):
        told = notice(page)
        assert NOTICE in told
        assert chat.title in told and channel.title in told
        assert LEFT in told
        assert world.admin.name in told  # by whom
        assert other_chat.title not in told
    assert notice(as_user(classmate_parent).get("/")) == ""

    # … until they press «Понятно»
    seen = parent.post("/removals/seen")
    assert seen.status_code == 303 and seen.location == "/"
    assert notice(parent.get("/")) == "" and notice(parent.get("/chats")) == ""
    rows = removals_of(world.parent)
    assert set(rows) == ids(chat, channel)  # still kept out of them by old links
    assert all(row.seen_at is not None for row in rows.values())


def test_removals_seen_is_a_post(world, as_user, admin_client):
    group_chats(world.group, world.educator, [world.parent])
    leave(admin_client, world.child)
    parent = as_user(world.parent)
    assert parent.get("/removals/seen").status_code == 405
    assert NOTICE in notice(parent.get("/"))


def test_with_two_children_in_the_group_the_parent_leaves_when_the_second_does(
    world, as_user, admin_client
):
    sister = add_child(world.parent, world.group, "Петрова", "Алиса")
    chat, channel = group_chats(world.group, world.educator, [world.parent])
    parent = as_user(world.parent)
    direct = open_direct(parent, world.educator)

    leave(admin_client, world.child)

    assert world.parent.id in member_ids(chat) and world.parent.id in member_ids(channel)
    assert removals_of(world.parent) == {}
    assert log_entries("removal") == [] and log_entries("archived") == []
    assert_open(direct, parent)
    assert post_message(parent, chat, "Алиса завтра придёт").status_code == 303
    assert notice(parent.get("/")) == ""

    leave(admin_client, sister)

    assert world.parent.id not in member_ids(chat) | member_ids(channel)
    assert set(removals_of(world.parent)) == ids(chat, channel)
    removals = log_entries("removal", world.parent)
    assert {entry.chat_id for entry in removals} == ids(chat, channel)
    assert {entry.ground for entry in removals} == {
        "Ребёнок (Петрова Алиса) выбыл из группы «Солнышко»"
    }
    assert_read_only(direct, parent)
    assert NOTICE in notice(parent.get("/"))


def test_with_children_in_two_groups_the_parent_leaves_only_the_group_the_child_left(
    world, as_user, admin_client
):
    add_child(world.parent, world.other_group, "Петрова", "Алиса")
    both = f.make_staff(
        world.kindergarten, "Светлана Орлова", groups=[world.group, world.other_group]
    )
    chat, channel = group_chats(world.group, world.educator, [world.parent])
    other_chat, other_channel = group_chats(world.other_group, world.other_educator, [world.parent])
    parent = as_user(world.parent)
    with_educator = open_direct(parent, world.educator)  # teaches the group left only
    with_both = open_direct(parent, both)  # teaches both groups
    with_other = open_direct(parent, world.other_educator)  # teaches the other group only

    leave(admin_client, world.child)

    assert world.parent.id not in member_ids(chat) | member_ids(channel)
    assert world.parent.id in member_ids(other_chat) & member_ids(other_channel)
    assert set(removals_of(world.parent)) == ids(chat, channel)
    assert {entry.chat_id for entry in log_entries("removal")} == ids(chat, channel)
    assert_read_only(with_educator, parent)
    assert_open(with_both, parent)
    assert_open(with_other, parent)
    assert post_message(parent, other_chat, "Алиса на месте").status_code == 303
    told = notice(parent.get("/"))
    assert chat.title in told and other_chat.title not in told


def test_a_parent_whose_last_child_left_the_kindergarten_leaves_its_news_channel_too(
    world, as_user, admin_client
):
    """The news channel is of the whole kindergarten: a parent belongs there while a child of
    theirs attends any group (`still_belongs`); with none left, §27 takes them out of it too."""
    news = chat_of_system(world.kindergarten, "news")
    for parent in (world.parent, world.other_group_parent):
        db.session.add(ChatMember(chat_id=news.id, user_id=parent.id))
    db.session.commit()
    group_chats(world.group, world.educator, [world.parent])

    leave(admin_client, world.child)

    assert world.parent.id not in member_ids(news)
    assert world.other_group_parent.id in member_ids(news)
    assert news.id in removals_of(world.parent)
    assert news.id in {entry.chat_id for entry in log_entries("removal", world.parent)}

    # back on the roster: the family reads the news again
    assert admin_client.post(f"/admin/children/{world.child.id}/restore").status_code == 303
    assert world.parent.id in member_ids(news)


# --- a child moves to another group --------------------------------------------------------------


@pytest.mark.parametrize("sibling_stays", [False, True], ids=["only-child", "sibling-stays"])
def test_moving_a_child_takes_the_parent_out_of_the_old_groups_chats(
    world, as_user, admin_client, sibling_stays
):
    if sibling_stays:
        add_child(world.parent, world.group, "Петрова", "Алиса")
    chat, channel = group_chats(world.group, world.educator, [world.parent])
    other_chat, _other_channel = group_chats(world.other_group, world.other_educator)
    parent = as_user(world.parent)
    direct = open_direct(parent, world.educator)

    move(admin_client, world.child, world.other_group)

    assert world.child.left_at is None
    if sibling_stays:
        assert world.parent.id in member_ids(chat) and world.parent.id in member_ids(channel)
        assert removals_of(world.parent) == {} and log_entries("removal") == []
        assert_open(direct, parent)
        return
    assert world.parent.id not in member_ids(chat) | member_ids(channel)
    assert world.parent.id not in member_ids(other_chat)  # the new group's chats: by invite
    moved = "Ребёнок (Петров Артём) переведён из группы «Солнышко»"
    rows = removals_of(world.parent)
    assert set(rows) == ids(chat, channel)
    assert {(row.ground, row.reason) for row in rows.values()} == {("departure", moved)}
    assert {(e.chat_id, e.ground) for e in log_entries("removal")} == {
        (chat.id, moved),
        (channel.id, moved),
    }
    assert_read_only(direct, parent)
    told = notice(parent.get("/"))
    assert moved in told and world.admin.name in told


def test_moving_a_child_keeps_the_direct_chat_with_an_educator_of_both_groups(
    world, as_user, admin_client
):
    both = f.make_staff(
        world.kindergarten, "Светлана Орлова", groups=[world.group, world.other_group]
    )
    chat, _channel = group_chats(world.group, world.educator, [world.parent])
    parent = as_user(world.parent)
    with_both = open_direct(parent, both)
    with_educator = open_direct(parent, world.educator)

    move(admin_client, world.child, world.other_group)

    assert world.parent.id not in member_ids(chat)
    assert_read_only(with_educator, parent)
    # she still teaches Артём, now in «Капелька»
    assert_open(with_both, parent)


# --- old invite links, a child back on the roster -------------------------------------------------


def test_an_old_link_does_not_bring_a_removed_parent_back_until_the_child_is_restored(
    world, as_user, admin_client
):
    chat, _channel = group_chats(world.group, world.educator, [world.parent])
    invite = make_invite(chat, world.educator)
    leave(admin_client, world.child)
    parent = as_user(world.parent)

    open_link(parent, invite)
    for page in (parent.get("/join"), parent.get("/join/rules"), accept(parent, chat)):
        assert page.status_code == 403
        assert "Вас исключили из этого чата" in page_text(page)
    assert world.parent.id not in member_ids(chat)
    assert reload(invite).uses == 0

    restored = admin_client.post(f"/admin/children/{world.child.id}/restore")
    assert restored.status_code == 303
    assert reload(world.child).left_at is None
    assert removals_of(world.parent) == {}

    open_link(parent, invite)
    assert parent.get("/join").status_code == 200
    joined = accept(parent, chat)
    assert joined.status_code == 303 and joined.location == f"/chats/{chat.id}"
    assert world.parent.id in member_ids(chat)
    assert post_message(parent, chat, "Мы снова в группе").status_code == 303


def test_a_restored_child_opens_the_direct_chat_with_the_educator_again(
    world, as_user, admin_client
):
    parent = as_user(world.parent)
    direct = open_direct(parent, world.educator)
    leave(admin_client, world.child)
    assert_read_only(direct, parent)

    assert admin_client.post(f"/admin/children/{world.child.id}/restore").status_code == 303

    again = open_direct(parent, world.educator)
    assert post_message(parent, again, "Мы вернулись").status_code == 303
    (reopened,) = log_entries("reopened")
    assert reopened.chat_id == direct.id and "снова в группе" in reopened.ground


def test_a_child_moved_away_and_back_lets_the_family_in_again(world, as_user, admin_client):
    chat, _channel = group_chats(world.group, world.educator, [world.parent])
    invite = make_invite(chat, world.educator)
    parent = as_user(world.parent)
    direct = open_direct(parent, world.educator)

    move(admin_client, world.child, world.other_group)
    assert world.parent.id not in member_ids(chat)
    assert_read_only(direct, parent)

    move(admin_client, world.child, world.group)  # back: the removal no longer stands
    assert chat.id not in removals_of(world.parent)
    open_link(parent, invite)
    assert accept(parent, chat).status_code == 303
    assert world.parent.id in member_ids(chat)
    assert_open(direct, parent)


# --- an educator who is also a parent -------------------------------------------------------------


def test_an_educator_whose_child_leaves_their_own_group_stays_in_its_chats(
    world, as_user, admin_client
):
    own = add_child(world.educator, world.group, "Павлов", "Миша")
    elsewhere = add_child(world.educator, world.other_group, "Павлова", "Оля")
    chat, channel = group_chats(world.group, world.educator, [world.parent])
    other_chat, other_channel = group_chats(
        world.other_group, world.other_educator, [world.educator]
    )

    leave(admin_client, own)

    assert world.educator.id in member_ids(chat) and world.educator.id in member_ids(channel)
    assert world.educator.id in moderator_ids(chat) & moderator_ids(channel)
    assert removals_of(world.educator) == {} and log_entries("removal") == []
    assert post_message(as_user(world.educator), chat, "Всем добрый день").status_code == 303

    # in a group she doesn't teach she was there as a mother only
    leave(admin_client, elsewhere)

    assert world.educator.id not in member_ids(other_chat) | member_ids(other_channel)
    assert set(removals_of(world.educator)) == ids(other_chat, other_channel)
    assert world.educator.id in member_ids(chat) and world.educator.id in member_ids(channel)


# --- dismissal (§27) ------------------------------------------------------------------------------


@pytest.fixture
def moderated(world):
    """«Солнышко»'s chat and channel, moderated by its educator, with the world's parent."""
    return group_chats(world.group, world.educator, [world.parent])


def system_chats(world) -> list[Chat]:
    return [chat_of_system(world.kindergarten, s) for s in ("staff_group", "staff", "news")]


def dismiss(admin_client, member, successor=None):
    data = {} if successor is None else {"successor": successor}
    return admin_client.post(f"/admin/staff/{member.id}/dismiss", data=data)


def test_the_staff_member_page_asks_whom_to_hand_the_chats_to(world, admin_client, moderated):
    unverified = f.make_staff(world.kindergarten, "Игорь Белов", verified=False)
    chat, channel = moderated
    body = page_text(admin_client.get(f"/admin/staff/{world.educator.id}"))
    assert 'name="successor"' in body
    assert chat.title in html.unescape(body) and channel.title in html.unescape(body)
    for offered in (world.other_educator, world.admin, world.director):
        assert f'value="{offered.id}"' in body
    assert unverified.name not in body


@pytest.mark.parametrize("data", [None, "0"], ids=["no-field", "none-picked"])
def test_dismissing_a_moderator_without_a_successor_is_refused_and_changes_nothing(
    world, as_user, admin_client, moderated, data
):
    chat, channel = moderated
    educator = as_user(world.educator)
    invite = f.make_staff_invite(world.kindergarten, world.educator)
    before = chats_of(world.educator)

    response = dismiss(admin_client, world.educator, data)

    assert response.status_code == 422
    assert PICK_SUCCESSOR in html.unescape(page_text(response))
    assert reload(world.educator).dismissed_at is None
    assert chats_of(world.educator) == before
    assert world.educator.id in moderator_ids(chat) & moderator_ids(channel)
    assert sessions_of(world.educator) == 1
    assert educator.get("/").status_code == 200
    assert reload(invite).revoked_at is None
    assert log_entries() == [] and count(ChatRemoval) == 0
    assert count(AuditLog, AuditLog.action == "staff.dismissed") == 0


@pytest.mark.parametrize("successor", ["other_educator", "admin"])
def test_a_dismissed_moderator_leaves_every_chat_and_hands_them_over(
    world, as_user, admin_client, moderated, successor
):
    chat, channel = moderated
    heir = world.persona(successor)
    educator = as_user(world.educator)
    parent = as_user(world.parent)
    direct = open_direct(parent, world.educator)
    assert post_message(parent, direct, "Вопрос про Артёма").status_code == 303
    staff_invite = f.make_staff_invite(world.kindergarten, world.educator)
    chat_link = f.make_chat_invite(chat, world.educator)
    work_chats = [chat, channel, *system_chats(world)]
    assert ids(*work_chats) <= chats_of(world.educator)

    response = dismiss(admin_client, world.educator, heir.id)

    assert response.status_code == 303, page_text(response)[:500]
    assert reload(world.educator).dismissed_at is not None
    # out of every chat of their work; only the closed direct chat stays, to read
    assert chats_of(world.educator) == {direct.id}
    # their sessions end: the client is signed out
    assert sessions_of(world.educator) == 0
    signed_out = educator.get("/")
    assert signed_out.status_code == 302 and "/login" in signed_out.location
    # their invites die: staff invites and the links into chats they made
    assert reload(staff_invite).revoked_at is not None
    assert reload(chat_link).revoked_at is not None
    # the successor now moderates what they moderated
    for handed in (chat, channel):
        assert heir.id in member_ids(handed) and heir.id in moderator_ids(handed)
    assert world.parent.id in member_ids(chat)  # the parents stay
    # each removal and handover is logged
    removals = log_entries("removal", world.educator)
    assert {entry.chat_id for entry in removals} == ids(*work_chats)
    assert {(e.ground, e.details["departure"], e.actor_id) for e in removals} == {
        (DISMISSED, "dismissal", world.admin.id)
    }
    handovers = log_entries("handover")
    assert {entry.chat_id for entry in handovers} == ids(chat, channel)
    for entry in handovers:
        assert (entry.member_id, entry.actor_id) == (world.educator.id, world.admin.id)
        assert entry.details["successor"] == heir.id
    rows = removals_of(world.educator)
    assert set(rows) == ids(*work_chats)
    assert {row.ground for row in rows.values()} == {"dismissal"}
    # their direct chats take no new messages
    assert_read_only(direct, parent)
    (closed,) = log_entries("archived")
    assert closed.chat_id == direct.id
    # the successor, as moderator, can act in the chat at once
    assert as_user(heir).get(f"/chats/{chat.id}/settings").status_code == 200


def test_a_dismissed_educator_can_sign_in_again_and_reads_but_cannot_write_the_direct_chat(
    world, as_user, admin_client, moderated
):
    parent = as_user(world.parent)
    direct = open_direct(parent, world.educator)
    assert dismiss(admin_client, world.educator, world.other_educator.id).status_code == 303

    again = as_user(world.educator)
    assert_read_only(direct, again)
    told = notice(again.get("/"))
    assert DISMISSED in told and world.admin.name in told


def test_a_dismissed_educator_who_is_a_parent_keeps_the_chats_of_their_childs_group(
    world, as_user, admin_client, moderated
):
    chat, channel = moderated
    db.session.add(ParentChild(user_id=world.educator.id, child_id=world.other_child.id))
    db.session.commit()
    other_chat, other_channel = group_chats(
        world.other_group, world.other_educator, [world.other_group_parent, world.educator]
    )
    news = chat_of_system(world.kindergarten, "news")

    assert dismiss(admin_client, world.educator, world.other_educator.id).status_code == 303

    assert chats_of(world.educator) == ids(other_chat, other_channel, news)
    assert not any(world.educator.id in moderator_ids(c) for c in (chat, channel, other_chat, news))
    assert set(removals_of(world.educator)) == ids(
        chat, channel, *(c for c in system_chats(world) if c.system != "news")
    )
    mother = as_user(world.educator)
    assert mother.get(f"/chats/{other_chat.id}").status_code == 200
    assert post_message(mother, other_chat, "Ева заболела").status_code == 303
    assert mother.get(f"/chats/{chat.id}").status_code == 404


@pytest.mark.parametrize("who", ["unverified", "dismissed", "themselves", "parent"])
def test_an_unverified_or_dismissed_successor_is_refused(
    world, as_user, admin_client, moderated, who
):
    chat, _channel = moderated
    heir = {
        "unverified": lambda: f.make_staff(world.kindergarten, "Игорь Белов", verified=False),
        "dismissed": lambda: f.make_staff(
            world.kindergarten, "Пётр Ушедший", dismissed_at=utcnow()
        ),
        "themselves": lambda: world.educator,
        "parent": lambda: world.parent,
    }[who]()
    before = chats_of(world.educator)

    response = dismiss(admin_client, world.educator, heir.id)

    assert response.status_code == 422
    assert reload(world.educator).dismissed_at is None
    assert chats_of(world.educator) == before
    assert world.educator.id in moderator_ids(chat)
    assert heir.id not in moderator_ids(chat) or heir.id == world.educator.id
    assert log_entries() == [] and count(ChatRemoval) == 0


# --- removing a member: on a ground only (§26) ---------------------------------------------------


@pytest.fixture
def leaver(world):
    """A parent whose child has left «Солнышко» but who is still in its chat (added by hand)."""
    child = f.make_child(world.group, "Сидоров", "Иван", left=True)
    return f.make_parent(world.kindergarten, "Ольга Сидорова", children=[child])


@pytest.fixture
def chat(world, leaver):
    return f.make_chat(
        world.kindergarten,
        world.educator,
        group=world.group,
        members=[world.parent, leaver, world.other_educator],
    )


def remove(client, chat, user):
    return client.post(f"/chats/{chat.id}/people/{user.id}/remove")


def test_a_parent_whose_child_attends_is_not_removed(world, as_user, chat, caplog):
    with caplog.at_level(logging.WARNING):
        response = remove(as_user(world.educator), chat, world.parent)

    assert response.status_code == 409
    assert "п. 26 положения" in html.unescape(page_text(response))
    assert world.parent.id in member_ids(chat)
    assert log_entries() == [] and count(ChatRemoval) == 0
    assert "moderation refused: removal" in caplog.text


def test_a_parent_whose_child_left_is_removed_on_the_departure(world, as_user, chat, leaver):
    response = remove(as_user(world.educator), chat, leaver)

    assert response.status_code == 303
    assert response.location.endswith(f"/chats/{chat.id}/settings")
    assert leaver.id not in member_ids(chat)
    (entry,) = log_entries("removal")
    assert (entry.chat_id, entry.member_id, entry.actor_id) == (
        chat.id,
        leaver.id,
        world.educator.id,
    )
    assert entry.details["departure"] == "departure" and entry.ground
    row = removals_of(leaver)[chat.id]
    assert (row.ground, row.removed_by_id) == ("departure", world.educator.id)
    told = notice(as_user(leaver).get("/"))
    assert chat.title in told and world.educator.name in told


def test_a_parent_cannot_remove_anyone(world, as_user, chat, leaver):
    assert remove(as_user(world.parent), chat, leaver).status_code == 404
    assert leaver.id in member_ids(chat)
    assert log_entries() == [] and count(ChatRemoval) == 0


def test_an_educator_cannot_remove_staff(world, as_user, chat):
    assert remove(as_user(world.educator), chat, world.other_educator).status_code == 403
    assert world.other_educator.id in member_ids(chat)
    assert log_entries() == [] and count(ChatRemoval) == 0


def test_the_administration_removes_staff_no_longer_working_with_the_group(world, as_user, chat):
    response = remove(as_user(world.admin), chat, world.other_educator)

    assert response.status_code == 303
    assert world.other_educator.id not in member_ids(chat)
    (entry,) = log_entries("removal")
    assert (entry.member_id, entry.actor_id) == (world.other_educator.id, world.admin.id)
    # its own educator still belongs to it: refused
    assert remove(as_user(world.director), chat, world.educator).status_code == 409
    assert world.educator.id in member_ids(chat)
