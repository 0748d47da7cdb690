"""An unverified staff member is nobody yet (issue 13 §1, reg 000 §2.2, reg 002 §2.6).

Whoever opens a staff invite link gets a staff account at once, but no staff power until the
administration verifies them: no staff chats, nobody's phone or e-mail, no posting in channels,
no «Важное», no moderating, no skipping the child step or the approval on a chat link. Each test
puts the newcomer where an older install could have left them (a member of the news channel, of
a parents' chat, even marked as its moderator) to show that the rule, not the membership, holds;
and each shows the same request working once they are verified.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from sqlalchemy import select

from sferum_lite.actions.memberships import join_system_chats
from sferum_lite.extensions import db
from sferum_lite.models import Chat, ChatMember, GroupEducator, JoinRequest, ParentChild, User
from sferum_lite.permissions import TRUSTED_STAFF, is_trusted_staff
from sferum_lite.security import format_phone

from . import factories as f
from .test_chats import chat_of_system, messages_of, post_message
from .test_joining import accept, make_invite, member, name_child, open_link
from .test_messages import last_message
from .test_staff_join import SYSTEM, system_chats_of
from .test_staff_join import open_link as open_staff_link
from .test_staff_join import register as register_staff

NEWCOMER_PHONE = "+79123456789"


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def newcomer(world, client):
    """An educator who registered through a real staff invite and whom the administration has
    already attached to «Солнышко», but not verified."""
    invite = f.make_staff_invite(world.kindergarten, world.admin, position="vospitatel")
    open_staff_link(client, invite)
    registered = register_staff(client, name="Сергей Новиков", password=f.PASSWORD)
    assert registered.status_code == 303
    user = db.session.scalar(select(User).where(User.phone == NEWCOMER_PHONE))
    assert user is not None and user.verified_at is None
    db.session.add(GroupEducator(group_id=world.group.id, user_id=user.id))
    db.session.commit()
    return user


def verify(admin_client, user) -> None:
    assert admin_client.post(f"/admin/staff/{user.id}/verify").status_code == 303
    db.session.refresh(user)


def join_as_of_old(chat, user, *, moderator=False) -> None:
    """A membership an install from before the rule could have given the newcomer."""
    db.session.add(
        ChatMember(
            chat_id=chat.id,
            user_id=user.id,
            is_moderator=moderator,
            rules_accepted_id=chat.rules_id,
        )
    )
    db.session.commit()


@pytest.fixture
def group_chat(world):
    return f.make_chat(
        world.kindergarten, world.educator, group=world.group, members=[world.parent]
    )


# --- the staff chats come with the verification --------------------------------------------------


def test_no_staff_chat_before_verification_all_of_them_after(
    world, newcomer, as_user, admin_client
):
    client = as_user(newcomer)
    assert system_chats_of(newcomer) == set()
    listing = text(client.get("/chats"))
    assert "Педагоги" not in listing and "Сотрудники" not in listing
    for system in SYSTEM:
        assert (
            client.get(f"/chats/{chat_of_system(world.kindergarten, system).id}").status_code == 404
        )

    verify(admin_client, newcomer)

    assert system_chats_of(newcomer) == SYSTEM
    listing = text(client.get("/chats"))
    assert "Педагоги" in listing and "Сотрудники" in listing


def test_the_home_page_says_whom_they_wait_for(world, newcomer, as_user, admin_client):
    body = text(as_user(newcomer).get("/"))
    assert "Ждём подтверждения администратора" in body
    assert world.admin.name in body and world.director.name in body
    assert world.educator.name not in body.split("Подтвердить может:")[1].split("</p>")[0]

    verify(admin_client, newcomer)

    assert "Ждём подтверждения администратора" not in text(as_user(newcomer).get("/"))


# --- no contact details of anybody ------------------------------------------------------------


def test_the_members_list_shows_them_no_phone_or_e_mail(world, newcomer, as_user, admin_client):
    news = chat_of_system(world.kindergarten, "news")
    join_as_of_old(news, newcomer)
    news_members = [world.director, world.admin, world.educator, world.other_educator]
    phones = [format_phone(person.phone) for person in news_members]
    client = as_user(newcomer)

    body = text(client.get(f"/chats/{news.id}/settings"))
    assert world.educator.name in body  # the list is there …
    assert not [phone for phone in phones if phone in body]  # … without a single phone

    verify(admin_client, newcomer)

    body = text(client.get(f"/chats/{news.id}/settings"))
    assert all(phone in body for phone in phones)


def test_parents_are_not_offered_an_unverified_educator_to_write_to(world, newcomer, as_user):
    parent = as_user(world.parent)
    assert newcomer.name not in text(parent.get("/chats"))
    assert parent.post(f"/chats/direct/{newcomer.id}").status_code == 404
    assert as_user(newcomer).post(f"/chats/direct/{world.parent.id}").status_code == 404
    assert parent.post(f"/chats/direct/{world.educator.id}").status_code == 303  # the control


# --- no posting in channels, no «Важное», no moderating -------------------------------------------


def test_no_post_in_a_channel_until_verified(world, newcomer, as_user, admin_client):
    news = chat_of_system(world.kindergarten, "news")
    join_as_of_old(news, newcomer)
    client = as_user(newcomer)

    assert post_message(client, news, "Всем привет от нового педагога").status_code == 403
    assert messages_of(news) == []
    assert '<form id="composer"' not in text(client.get(f"/chats/{news.id}"))

    verify(admin_client, newcomer)

    assert post_message(client, news, "Всем привет от нового педагога").status_code == 303
    assert [m.text for m in messages_of(news)] == ["Всем привет от нового педагога"]


def test_no_important_message_until_verified(world, newcomer, as_user, admin_client, group_chat):
    join_as_of_old(group_chat, newcomer)
    client = as_user(newcomer)

    assert 'name="important"' not in text(client.get(f"/chats/{group_chat.id}"))
    assert post_message(client, group_chat, "Срочно всем!", important="y").status_code == 303
    assert last_message(group_chat).important is False

    verify(admin_client, newcomer)

    assert 'name="important"' in text(client.get(f"/chats/{group_chat.id}"))
    assert post_message(client, group_chat, "Собрание в пятницу", important="y").status_code == 303
    assert last_message(group_chat).important is True


def test_a_moderator_mark_from_before_grants_no_moderation(world, newcomer, as_user, group_chat):
    join_as_of_old(group_chat, newcomer, moderator=True)
    message = f.make_message(group_chat, world.parent, "Вопрос про утренник")
    client = as_user(newcomer)

    assert client.get(f"/chats/{group_chat.id}/requests").status_code == 403  # as any member
    assert client.get(f"/chats/{group_chat.id}/people/{world.parent.id}").status_code == 404
    deleted = client.post(f"/messages/{message.id}/remove", data={"clause": "1"})
    assert deleted.status_code == 403  # a member, not a moderator
    db.session.refresh(message)
    assert not message.is_deleted
    # and the chat's real moderator may act on them like on anybody
    educator = as_user(world.educator)
    assert educator.get(f"/chats/{group_chat.id}/people/{newcomer.id}").status_code == 200


def test_a_new_chat_for_the_group_does_not_take_them_in_as_its_educator(
    world, newcomer, admin_client
):
    response = admin_client.post("/chats/new", data={"template": f"parents:{world.group.id}"})
    assert response.status_code == 303
    chat = db.session.scalar(select(Chat).where(Chat.system.is_(None)))
    assert member(chat, world.educator) is not None
    assert member(chat, newcomer) is None


def test_they_are_not_offered_as_staff_to_add_to_a_chat(world, newcomer, as_user, group_chat):
    page = text(as_user(world.educator).get(f"/chats/{group_chat.id}/members"))
    assert world.other_educator.name in page
    assert newcomer.name not in page
    added = as_user(world.educator).post(
        f"/chats/{group_chat.id}/members", data={"users": str(newcomer.id)}
    )
    assert added.status_code == 422
    assert member(group_chat, newcomer) is None


# --- a chat link: a child's name and the approval, like anybody ----------------------------------


def test_a_link_without_approval_makes_them_name_a_child_and_wait(
    world, newcomer, as_user, group_chat
):
    invite = make_invite(group_chat, world.educator, needs_approval=False)
    client = as_user(newcomer)
    open_link(client, invite)

    assert client.get("/join/child").status_code == 200  # not skipped, as for trusted staff
    assert name_child(client, "Новиков", "Саша").status_code == 303
    accept(client, group_chat)

    assert member(group_chat, newcomer) is None
    waiting = db.session.scalar(select(JoinRequest).where(JoinRequest.user_id == newcomer.id))
    assert waiting is not None and waiting.status == "waiting"


def test_verified_staff_still_skip_the_child_step(
    world, newcomer, as_user, admin_client, group_chat
):
    invite = make_invite(group_chat, world.educator, needs_approval=False)
    verify(admin_client, newcomer)
    client = as_user(newcomer)
    open_link(client, invite)

    assert client.get("/join/child").location == "/join/rules"
    assert accept(client, group_chat).location == f"/chats/{group_chat.id}"
    assert member(group_chat, newcomer) is not None


# --- the rule, said once: the predicate and its SQL twin agree ------------------------------------


def test_the_predicate_and_its_sql_twin_agree(world):
    k = world.kindergarten
    people = [
        world.director,
        world.admin,
        world.educator,
        world.parent,
        f.make_staff(k, "Новичок Непроверенный", verified=False),
        f.make_staff(k, "Админ Непроверенный", verified=False, admin=True),
        f.make_staff(k, "Уволенная Проверенная", dismissed_at=world.educator.verified_at),
        f.make_parent(k, "Папа Просто"),
    ]
    ids = [person.id for person in people]
    in_sql = set(db.session.scalars(select(User.id).where(User.id.in_(ids), TRUSTED_STAFF)))
    in_python = {person.id for person in people if is_trusted_staff(person)}
    assert in_sql == in_python == {world.director.id, world.admin.id, world.educator.id}


# --- an older install: the upgrade takes them out of the staff chats -----------------------------


def test_the_upgrade_takes_unverified_staff_out_of_the_staff_chats(world):
    path = (
        Path(__file__).parent.parent / "migrations/versions/0010_unverified_staff_wait_outside.py"
    )
    spec = importlib.util.spec_from_file_location("migration_0010", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    k = world.kindergarten
    newcomer = f.make_staff(k, "Сергей Новиков", verified=False)
    mother = f.make_staff(k, "Ирина Новикова", verified=False)  # a parent of the group too
    dasha = f.make_child(world.group, "Новикова", "Даша")
    db.session.add(ParentChild(user_id=mother.id, child_id=dasha.id))
    for person in (newcomer, mother):
        join_system_chats(person)  # as the registration did before this revision
    db.session.commit()

    gone = migration.leave_staff_chats(db.session.connection())
    db.session.commit()

    assert gone == 2 + 3
    assert system_chats_of(newcomer) == set()
    assert system_chats_of(mother) == {"news"}  # she reads the news as a parent
    assert system_chats_of(world.educator) == SYSTEM  # the verified stay
    assert system_chats_of(world.director) == SYSTEM
