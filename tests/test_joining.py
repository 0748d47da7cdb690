"""Joining a chat by its invite link (issue 4): /i/<token> → /join → account → child → rules →
the chat, or a request the educator decides; dead links; the rules step and rule changes.

The roster is never shown to the person holding the link: a link can be forwarded to strangers.
"""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from sferum_lite.actions.invites import new_chat_token
from sferum_lite.extensions import db
from sferum_lite.models import (
    AuditLog,
    ChatInvite,
    ChatMember,
    ChatRemoval,
    Consent,
    JoinRequest,
    ParentChild,
    Rules,
    RulesAcceptance,
    User,
    utcnow,
)

from . import factories as f
from .test_admin_groups import field_errors, flashes, page_text
from .test_chats import post_message

NEW_PHONE = "+79123456789"
PASSWORD = "тихий вечер у реки"
# a classmate on the group's roster: their name must never reach the person with the link
CLASSMATE = ("Сидорова", "Маша")


# --- helpers -------------------------------------------------------------------------------------


def make_invite(chat, by, **fields) -> ChatInvite:
    fields.setdefault("expires_at", utcnow() + timedelta(days=7))
    invite = ChatInvite(
        kindergarten_id=chat.kindergarten_id,
        chat_id=chat.id,
        token=new_chat_token(),
        created_by_id=by.id,
        **fields,
    )
    db.session.add(invite)
    db.session.commit()
    return invite


def open_link(client, invite):
    response = client.get(f"/i/{invite.token}")
    assert response.status_code == 303, page_text(response)[:300]
    assert response.location == "/join"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    return response


def register(client, **overrides):
    """Fill in the registration form, then sign in on the page it leads to, as it asks (the
    form's own answer is the same for a new and a known login: test_registration_privacy)."""
    data = {"name": "Ольга Новикова", "login": "8 912 345-67-89", "password": PASSWORD}
    data["consent"] = "y"
    data.update(overrides)
    response = client.post("/join/register", data={k: v for k, v in data.items() if v is not None})
    if response.status_code != 303 or not response.location.startswith("/login"):
        return response
    return client.post(
        "/login",
        data={"login": data["login"], "password": data["password"], "next": "/join/child"},
    )


def name_child(client, last="Петров", first="Артём"):
    return client.post("/join/child", data={"last_name": last, "first_name": first})


def accept(client, chat):
    db.session.refresh(chat)
    return client.post("/join/rules", data={"rules_id": chat.rules_id})


def member(chat, user) -> ChatMember | None:
    db.session.commit()
    return db.session.get(ChatMember, (chat.id, user.id))


def user_by_phone(phone=NEW_PHONE) -> User | None:
    db.session.commit()
    return db.session.scalar(select(User).where(User.phone == phone))


def uses(invite) -> int:
    db.session.commit()
    db.session.refresh(invite)
    return invite.uses


def count(model, *where) -> int:
    db.session.commit()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def walk_in(client, invite, chat, *, child=("Петров", "Артём"), **account):
    """A newcomer from the scan to the end: returns the last answer."""
    open_link(client, invite)
    assert register(client, **account).status_code == 303
    assert name_child(client, *child).status_code == 303
    return accept(client, chat)


@pytest.fixture
def chat(world):
    f.make_child(world.group, *CLASSMATE)
    return f.make_chat(
        world.kindergarten,
        world.educator,
        title="Родители группы «Солнышко»",
        group=world.group,
        members=[world.parent],
    )


@pytest.fixture
def invite(chat, world):
    return make_invite(chat, world.educator)


# --- the whole path ------------------------------------------------------------------------------


def test_a_newcomer_scans_registers_names_the_child_accepts_the_rules_and_is_in(
    world, client, chat, invite
):
    open_link(client, invite)
    landing = client.get("/join")
    assert landing.status_code == 200
    body = page_text(landing)
    for shown in (world.kindergarten.name, "Солнышко", chat.title, world.educator.name):
        assert shown in body
    assert "Зарегистрироваться" in body and invite.token not in body

    assert client.get("/join/register").status_code == 200
    registered = register(client)
    assert registered.status_code == 303 and registered.location == "/join/child"
    user = user_by_phone()
    consent = db.session.scalar(select(Consent).where(Consent.user_id == user.id))
    assert consent is not None and consent.accepted_at is not None

    assert client.get("/join/child").status_code == 200
    assert name_child(client).location == "/join/rules"
    rules_page = page_text(client.get("/join/rules"))
    assert "Я прочитал(а) и принимаю правила" in rules_page
    assert "Общаемся вежливо" in rules_page  # the default rules, in numbered clauses

    joined = accept(client, chat)
    assert joined.status_code == 303 and joined.location == f"/chats/{chat.id}"
    now_member = member(chat, user)
    assert now_member is not None and now_member.rules_accepted_id == chat.rules_id
    acceptance = db.session.scalar(
        select(RulesAcceptance).where(RulesAcceptance.user_id == user.id)
    )
    assert (acceptance.chat_id, acceptance.rules_id) == (chat.id, chat.rules_id)
    assert db.session.get(ParentChild, (user.id, world.child.id)) is not None
    assert uses(invite) == 1 and invite.last_used_at is not None
    assert "Добро пожаловать в чат" in " ".join(flashes(client.get(joined.location)))
    assert post_message(client, chat, "Здравствуйте!").status_code == 303
    with client.session_transaction() as sess:
        assert "chat_invite" not in sess and "join_child" not in sess


def test_the_roster_is_never_shown_to_the_person_with_the_link(world, client, chat, invite):
    open_link(client, invite)
    pages = [client.get("/join"), client.get("/join/register")]
    register(client)
    pages += [client.get("/join/child"), name_child(client, "Неизвестный", "Кто-то")]
    pages += [client.get("/join/rules")]
    pages += [accept(client, chat)]
    waiting = db.session.scalar(select(JoinRequest))
    pages += [client.get(f"/join/requests/{waiting.id}")]
    for response in pages:
        body = page_text(response)
        for name in (*CLASSMATE, world.child.first_name, world.other_child.full_name):
            assert name not in body, f"{name} leaked on {response.request.path}"


@pytest.mark.parametrize(
    "typed",
    [
        ("  петров ", "артем"),  # case, spaces, е for ё
        ("ПЕТРОВ", "АРТЁМ"),
        ("Пeтpoв", "Apтём"),  # Latin e, p, o, A look-alikes
        ("Артём", "Петров"),  # the order mixed up
    ],
)
def test_the_child_is_matched_case_yo_spacing_and_lookalike_insensitively(
    world, client, chat, invite, typed
):
    joined = walk_in(client, invite, chat, child=typed)
    assert joined.location == f"/chats/{chat.id}"
    assert db.session.get(ParentChild, (user_by_phone().id, world.child.id)) is not None


def test_no_match_waits_for_the_educator_who_links_the_child_by_hand(
    world, client, chat, invite, as_user
):
    waiting = walk_in(client, invite, chat, child=("Петрова", "Алиса"))
    request = db.session.scalar(select(JoinRequest))
    assert waiting.location == f"/join/requests/{request.id}"
    assert request.status == "waiting" and request.child_id is None
    assert "Ожидает одобрения воспитателя" in page_text(client.get(waiting.location))
    user = user_by_phone()
    assert member(chat, user) is None
    assert post_message(client, chat).status_code == 404
    # while waiting, the page polls quietly
    assert client.get(waiting.location, headers={"HX-Request": "true"}).status_code == 204

    educator = as_user(world.educator)
    assert "1 заявка" in page_text(educator.get(f"/chats/{chat.id}"))
    queue = page_text(educator.get(f"/chats/{chat.id}/requests"))
    assert "Петрова Алиса" in queue and user.name in queue
    refused = educator.post(f"/requests/{request.id}/admit", data={"child_id": 0})
    # a stranger needs a child: the page again, with the message on the choice (422)
    assert refused.status_code == 422 and member(chat, user) is None
    assert "Выберите ребёнка из списка группы." in page_text(refused)
    admitted = educator.post(f"/requests/{request.id}/admit", data={"child_id": world.child.id})
    assert admitted.status_code == 303
    assert member(chat, user).rules_accepted_id == chat.rules_id
    assert db.session.get(ParentChild, (user.id, world.child.id)) is not None
    polled = client.get(waiting.location, headers={"HX-Request": "true"})
    assert polled.headers["HX-Redirect"] == f"/chats/{chat.id}"
    assert client.get(waiting.location).location == f"/chats/{chat.id}"
    again = educator.post(f"/requests/{request.id}/admit", data={"child_id": world.child.id})
    assert "Эту заявку уже рассмотрели." in " ".join(flashes(educator.get(again.location)))


def test_with_approval_on_even_a_match_waits_and_a_decline_shows_its_reason(
    world, client, chat, as_user
):
    invite = make_invite(chat, world.educator, needs_approval=True)
    walk_in(client, invite, chat)
    request = db.session.scalar(select(JoinRequest))
    assert request.status == "waiting" and request.child_id == world.child.id
    educator = as_user(world.educator)
    empty = educator.post(f"/requests/{request.id}/decline", data={"reason": ""})
    assert empty.status_code == 422 and field_errors(empty)
    declined = educator.post(
        f"/requests/{request.id}/decline", data={"reason": "Такого ребёнка нет в группе"}
    )
    assert declined.status_code == 303
    page = page_text(client.get(f"/join/requests/{request.id}"))
    assert "Заявка отклонена" in page and "Такого ребёнка нет в группе" in page
    assert member(chat, user_by_phone()) is None
    assert [row.details["request_id"] for row in audit("chat.join_declined")] == [request.id]


def test_the_requests_of_a_chat_are_its_moderators_alone(world, chat, as_user, client, invite):
    walk_in(client, invite, chat, child=("Никто", "Никак"))
    request = db.session.scalar(select(JoinRequest))
    for outsider, status in ((world.parent, 403), (world.other_educator, 404)):
        someone = as_user(outsider)
        assert someone.get(f"/chats/{chat.id}/requests").status_code == status
        admit = someone.post(f"/requests/{request.id}/admit", data={"child_id": world.child.id})
        decline = someone.post(f"/requests/{request.id}/decline", data={"reason": "x"})
        assert admit.status_code == decline.status_code == 404
    assert as_user(world.other_educator).get(f"/join/requests/{request.id}").status_code == 404
    assert member(chat, user_by_phone()) is None


def audit(action):
    db.session.commit()
    return db.session.scalars(select(AuditLog).where(AuditLog.action == action)).all()


def test_a_parent_with_an_account_logs_in_and_joins_with_the_same_account(world, client, chat):
    """Two children in two groups: one account."""
    invite = make_invite(chat, world.educator)
    second_child = f.make_child(world.group, "Соколов", "Лев")
    open_link(client, invite)
    login = client.post(
        "/login?next=/join",
        data={"login": world.other_group_parent.login, "password": f.PASSWORD, "next": "/join"},
    )
    assert login.status_code == 303 and login.location == "/join"
    landing = page_text(client.get("/join"))
    assert "Продолжить" in landing and world.other_group_parent.name in landing
    assert name_child(client, "Соколов", "Лев").status_code == 303
    assert accept(client, chat).location == f"/chats/{chat.id}"
    assert member(chat, world.other_group_parent) is not None
    children = db.session.scalars(
        select(ParentChild.child_id).where(ParentChild.user_id == world.other_group_parent.id)
    ).all()
    assert set(children) == {world.other_child.id, second_child.id}
    assert count(User) == 6  # the world's six people: nobody new


def test_staff_join_without_naming_a_child(world, as_user, chat, invite):
    client = as_user(world.other_educator)
    open_link(client, invite)
    assert client.get("/join/child").location == "/join/rules"
    assert accept(client, chat).location == f"/chats/{chat.id}"
    assert member(chat, world.other_educator) is not None


# --- already in, removed, archived, another kindergarten ---------------------------------------


def test_a_member_opening_the_link_goes_straight_to_the_chat_and_nothing_changes(
    world, as_user, chat, invite
):
    parent = as_user(world.parent)
    open_link(parent, invite)
    landing = parent.get("/join")
    assert landing.status_code == 303 and landing.location == f"/chats/{chat.id}"
    assert uses(invite) == 0


def test_a_removed_member_is_not_brought_back_by_an_old_link(world, as_user, chat, invite):
    removed = f.make_parent(world.kindergarten, "Пётр Удалённый", children=[world.child])
    db.session.add(ChatRemoval(chat_id=chat.id, user_id=removed.id, reason="п. 2 правил"))
    db.session.commit()
    client = as_user(removed)
    open_link(client, invite)
    for page in (client.get("/join"), client.get("/join/rules"), accept(client, chat)):
        assert page.status_code == 403
        assert "Вас исключили из этого чата" in page_text(page)
    assert member(chat, removed) is None and uses(invite) == 0


def test_a_link_to_an_archived_chat_says_so(world, client, chat, invite, as_user):
    chat.archived_at = utcnow()
    db.session.commit()
    open_link(client, invite)
    page = client.get("/join")
    assert page.status_code == 410 and "Чат в архиве" in page_text(page)
    assert client.get("/join/register").status_code == 410


def test_a_token_of_another_kindergarten_is_refused_for_its_accounts(world, as_user, chat, invite):
    from .test_admin_groups import other_kindergarten

    elsewhere = other_kindergarten()
    stranger = f.make_user(elsewhere, "Чужой Родитель")
    client = as_user(stranger)
    open_link(client, invite)
    page = client.get("/join")
    assert page.status_code == 403 and "другого детского сада" in page_text(page)
    assert accept(client, chat).status_code == 403
    assert member(chat, stranger) is None


# --- dead links ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "headline"),
    [
        ({"revoked_at": utcnow()}, "Ссылка отозвана"),
        ({"max_uses": 1, "uses": 1}, "Ссылка уже использована"),
        ({"expires_at": utcnow() - timedelta(minutes=1)}, "Срок действия ссылки истёк"),
    ],
)
def test_a_dead_link_says_what_happened_and_whom_to_ask(world, client, chat, fields, headline):
    invite = make_invite(chat, world.educator, **fields)
    open_link(client, invite)
    page = client.get("/join")
    assert page.status_code == 410
    body = page_text(page)
    assert headline in body and world.educator.name in body and "Солнышко" in body
    assert "Зарегистрироваться" not in body


@pytest.mark.parametrize("token", ["nope", "A" * 24, "x" * 200, "%00%27--", "ё"])
def test_an_unknown_or_garbled_token_is_a_404_that_reveals_nothing(world, client, chat, token):
    response = client.get(f"/i/{token}")
    assert response.status_code == 404
    body = page_text(response)
    assert chat.title not in body and world.educator.name not in body
    with client.session_transaction() as sess:
        assert "chat_invite" not in sess
    assert client.get("/join").status_code == 404


def test_failed_token_lookups_are_rate_limited_per_address(world, make_app, chat, invite):
    client = make_app(RATELIMIT_ENABLED=True).test_client()
    for n in range(20):
        assert client.get(f"/i/wrong{n}").status_code == 404
    assert client.get("/i/wrong-again").status_code == 429
    assert client.get(f"/i/{invite.token}").status_code == 429  # the address is cooling off
    other = make_app(RATELIMIT_ENABLED=True).test_client()
    other.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    assert other.get(f"/i/{invite.token}").status_code == 303


def test_expiry_is_exact_to_the_second(world, client, chat):
    expires = utcnow().replace(microsecond=0) + timedelta(days=1)
    invite = make_invite(chat, world.educator, expires_at=expires)
    with time_machine.travel(expires - timedelta(seconds=1), tick=False):
        open_link(client, invite)
        assert client.get("/join").status_code == 200
    with time_machine.travel(expires, tick=False):
        assert client.get("/join").status_code == 410


# --- bad input on the way ------------------------------------------------------------------------


def test_a_link_revoked_while_registering_makes_no_account(world, client, chat, invite):
    open_link(client, invite)
    invite.revoked_at = utcnow()
    db.session.commit()
    response = register(client)
    assert response.status_code == 410 and "Ссылка отозвана" in page_text(response)
    assert user_by_phone() is None and count(Consent) == 1  # the director's


def test_a_link_that_dies_before_the_rules_are_accepted_makes_no_membership(
    world, client, chat, invite
):
    open_link(client, invite)
    register(client)
    name_child(client)
    with time_machine.travel(invite.expires_at + timedelta(seconds=1)):
        response = accept(client, chat)
    assert response.status_code == 410 and "Срок действия ссылки истёк" in page_text(response)
    assert member(chat, user_by_phone()) is None and uses(invite) == 0
    assert (
        count(JoinRequest) == 0
        and count(ParentChild, ParentChild.user_id == user_by_phone().id) == 0
    )


def test_a_double_submit_joins_once(world, client, chat, invite):
    open_link(client, invite)
    register(client)
    name_child(client)
    first = accept(client, chat)
    with client.session_transaction() as sess:
        sess["chat_invite"] = invite.token  # the second tap of the same button
        sess["join_child"] = ["Петров", "Артём"]
    second = accept(client, chat)
    assert first.location == second.location == f"/chats/{chat.id}"
    assert uses(invite) == 1
    assert count(ChatMember, ChatMember.chat_id == chat.id) == 3


def test_registering_with_a_login_that_has_an_account_offers_to_log_in(world, client, chat, invite):
    open_link(client, invite)
    users = count(User)
    for login in (world.parent.email, world.other_group_parent.phone):
        response = client.post(
            "/join/register",
            data={"name": "Ольга Новикова", "login": login, "password": PASSWORD, "consent": "y"},
        )
        assert response.status_code == 303 and response.location == "/login?next=/join/child"
        body = page_text(client.get(response.location))
        assert "это ваш номер" in body and "Войти" in body
        assert world.parent.name not in body and world.other_group_parent.name not in body
    assert count(User) == users


def test_consent_must_be_ticked(world, client, chat, invite):
    open_link(client, invite)
    response = register(client, consent=None)
    assert response.status_code == 422
    assert "Без согласия зарегистрироваться нельзя." in field_errors(response)
    assert user_by_phone() is None


def test_a_childs_name_must_be_letters(world, client, chat, invite):
    open_link(client, invite)
    register(client)
    response = name_child(client, "=HYPERLINK(1)", "")
    assert response.status_code == 422 and len(field_errors(response)) == 2


def test_rules_changed_while_reading_are_not_accepted_blindly(world, client, chat, invite, as_user):
    open_link(client, invite)
    register(client)
    name_child(client)
    read_version = chat.rules_id
    as_user(world.educator).post(
        f"/chats/{chat.id}/rules/edit",
        data={"text": "1. Новое правило.", "note": "Короче"},
    )
    response = client.post("/join/rules", data={"rules_id": read_version})
    assert response.status_code == 409
    assert "Правила чата только что изменились" in page_text(response)
    assert "1. Новое правило." in page_text(response)
    assert member(chat, user_by_phone()) is None and uses(invite) == 0


def test_declining_the_rules_leaves_the_person_outside_with_a_way_back(world, client, chat, invite):
    open_link(client, invite)
    register(client)
    name_child(client)
    page = client.get("/join/declined")
    assert page.status_code == 200 and "Вернуться к правилам" in page_text(page)
    assert member(chat, user_by_phone()) is None
    assert accept(client, chat).location == f"/chats/{chat.id}"


def test_two_parents_redeeming_the_last_use_at_once_only_one_gets_in(world, app, chat):
    invite = make_invite(chat, world.educator, max_uses=1)
    clients = []
    for n in range(2):
        client = app.test_client()
        open_link(client, invite)
        assert register(client, login=f"+7912555000{n}", name=f"Родитель {n}").status_code == 303
        assert name_child(client).status_code == 303
        clients.append(client)
    rules_id = chat.rules_id
    start = threading.Barrier(2)
    answers = []

    def redeem(client):
        start.wait()
        answers.append(client.post("/join/rules", data={"rules_id": rules_id}).status_code)

    threads = [threading.Thread(target=redeem, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [303, 410]
    assert uses(invite) == 1
    assert count(ChatMember, ChatMember.chat_id == chat.id) == 3


# --- the rules step inside the chat --------------------------------------------------------------


def test_posting_before_accepting_the_current_rules_is_refused(world, as_user, chat):
    newcomer = f.make_parent(world.kindergarten, "Новый Родитель", children=[world.child])
    db.session.add(ChatMember(chat_id=chat.id, user_id=newcomer.id))
    db.session.commit()
    client = as_user(newcomer)
    messages = count_messages(chat)
    crafted = post_message(client, chat, "Мимо правил")
    assert crafted.status_code == 403 and count_messages(chat) == messages
    htmx = post_message(client, chat, "Мимо правил", headers={"HX-Request": "true"})
    assert htmx.status_code == 403 and htmx.headers["HX-Retarget"] == "#composer"
    assert "Прочитать и принять" in page_text(htmx)
    assert count_messages(chat) == messages
    # reading is fine; reacting and voting too (that is not posting)
    assert client.get(f"/chats/{chat.id}").status_code == 200


def count_messages(chat):
    from sferum_lite.models import Message

    return count(Message, Message.chat_id == chat.id)


def test_after_the_rules_change_members_read_on_but_accept_again_before_posting(
    world, as_user, chat
):
    educator = as_user(world.educator)
    parent = as_user(world.parent)
    assert post_message(parent, chat, "До изменения").status_code == 303
    changed = educator.post(
        f"/chats/{chat.id}/rules/edit",
        data={"text": "1. Пишем только по делу.\n2. Фото детей — с согласия.", "note": "Сократили"},
    )
    assert changed.status_code == 303
    db.session.commit()
    db.session.refresh(chat)
    new_rules = db.session.get(Rules, chat.rules_id)
    assert (new_rules.chat_id, new_rules.version, new_rules.note) == (chat.id, 1, "Сократили")
    assert member(chat, world.educator).rules_accepted_id == new_rules.id  # who wrote them
    page = page_text(parent.get(f"/chats/{chat.id}"))
    assert "До изменения" in page and "Примите правила чата, чтобы писать" in page
    assert post_message(parent, chat, "После изменения").status_code == 403
    rules_page = page_text(parent.get(f"/chats/{chat.id}/rules"))
    assert "Фото детей — с согласия." in rules_page and "Сократили" in rules_page
    stale = parent.post(f"/chats/{chat.id}/rules/accept", data={"rules_id": new_rules.id - 1})
    assert member(chat, world.parent).rules_accepted_id != new_rules.id
    assert stale.status_code == 303
    assert (
        parent.post(f"/chats/{chat.id}/rules/accept", data={"rules_id": new_rules.id}).status_code
        == 303
    )
    assert post_message(parent, chat, "После изменения").status_code == 303
    assert [r.details["version"] for r in audit("rules.changed")] == [1]


def test_moderators_and_the_director_see_who_accepted_the_current_rules(world, as_user, chat):
    newcomer = f.make_parent(world.kindergarten, "Новый Родитель", children=[world.child])
    db.session.add(ChatMember(chat_id=chat.id, user_id=newcomer.id))
    db.session.commit()
    for viewer in (world.educator, world.director):
        page = page_text(as_user(viewer).get(f"/chats/{chat.id}/rules/acceptances"))
        missing = re.search(r'<ul class="people" id="missing">(.*?)</ul>', page, re.S).group(1)
        accepted = re.search(r'<ul class="people" id="accepted">(.*?)</ul>', page, re.S).group(1)
        assert "Новый Родитель" in missing and world.parent.name not in missing
        assert world.parent.name in accepted and world.educator.name in accepted
    assert as_user(world.parent).get(f"/chats/{chat.id}/rules/acceptances").status_code == 403


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"text": "Просто текст без пунктов", "note": "x"}, "Пронумеруйте пункты"),
        ({"text": "1. Пункт", "note": ""}, "Заполните это поле."),
        ({"text": "", "note": "x"}, "Заполните это поле."),
        ({"text": "1. " + "я" * 10_001, "note": "x"}, "Не длиннее"),
    ],
)
def test_bad_rules_are_refused_and_nothing_changes(world, as_user, chat, data, message):
    before = chat.rules_id
    response = as_user(world.educator).post(f"/chats/{chat.id}/rules/edit", data=data)
    assert response.status_code == 422
    assert any(message in error for error in field_errors(response))
    db.session.refresh(chat)
    assert chat.rules_id == before


def test_unchanged_rules_make_no_new_version(world, as_user, chat):
    educator = as_user(world.educator)
    educator.post(f"/chats/{chat.id}/rules/edit", data={"text": "1. Одно.", "note": "x"})
    again = educator.post(f"/chats/{chat.id}/rules/edit", data={"text": "1. Одно.", "note": "y"})
    assert again.status_code == 422 and "Текст правил не изменился." in field_errors(again)
    assert count(Rules, Rules.chat_id == chat.id) == 1


def test_only_moderators_change_a_chats_rules(world, as_user, chat):
    data = {"text": "1. Чужие правила.", "note": "x"}
    assert as_user(world.parent).post(f"/chats/{chat.id}/rules/edit", data=data).status_code == 403
    assert (
        as_user(world.other_educator).post(f"/chats/{chat.id}/rules/edit", data=data).status_code
        == 404
    )
    assert count(Rules, Rules.chat_id == chat.id) == 0


def test_an_open_chat_learns_of_new_rules_over_its_stream(world, as_user, chat):
    """The composer on the parent's open page turns into the banner, without a reload."""
    from .test_messages import elsewhere, open_stream, read_events

    db.session.refresh(chat)
    educator = as_user(world.educator)
    response = open_stream(as_user(world.parent), chat, after=chat.rev)
    try:
        changed = elsewhere(
            educator.post,
            f"/chats/{chat.id}/rules/edit",
            data={"text": "1. Новое правило.", "note": "Новое"},
        )
        assert changed.status_code == 303
        events = read_events(
            response.response, lambda events: any("#composer" in e.get("data", "") for e in events)
        )
    finally:
        response.close()
    (banner,) = [e["data"] for e in events if "#composer" in e.get("data", "")]
    assert '<hx-partial hx-target="#composer" hx-swap="outerHTML">' in banner
    assert "Примите правила чата, чтобы писать" in banner


def test_the_home_page_lists_ones_own_waiting_request(world, client, chat, invite, as_user):
    walk_in(client, invite, chat, child=("Никто", "Никак"))
    request = db.session.scalar(select(JoinRequest))
    home = page_text(client.get("/"))
    assert f'href="/join/requests/{request.id}"' in home and "Ожидает одобрения воспитателя" in home
    assert "/join/requests/" not in page_text(as_user(world.parent).get("/"))
