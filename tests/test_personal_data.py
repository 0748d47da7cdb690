"""A person's own data (152-FZ): downloading it as a file, deleting one's account, and the
director handing the kindergarten over so that they too may leave."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import time_machine
from flask import current_app
from sqlalchemy import func, select

from sferum_lite.actions import ActionError
from sferum_lite.actions.privacy import do_delete_account
from sferum_lite.extensions import db
from sferum_lite.models import (
    AuditLog,
    Chat,
    ChatMember,
    Consent,
    ConsentText,
    JoinRequest,
    Message,
    MessageEdit,
    ParentChild,
    Poll,
    PollOption,
    User,
    UserSession,
    utcnow,
)
from sferum_lite.models.moderation import Violation

from . import factories as f
from .conftest import sign_in

DELETED = "Удалённый пользователь"
REFERER = {"Referer": "https://localhost/"}  # the tests' requests are https, like production
CONFIRM = {"password": f.PASSWORD, "confirm": "УДАЛИТЬ"}


def text_of(response) -> str:
    return response.get_data(as_text=True)


def count(model, **where) -> int:
    query = select(func.count()).select_from(model)
    for column, value in where.items():
        query = query.where(getattr(model, column) == value)
    return db.session.scalar(query)


def reload(obj):
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def audit_rows(action: str) -> list[AuditLog]:
    return db.session.scalars(
        select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)
    ).all()


def goes_to_login(response) -> bool:
    return response.status_code in (302, 303) and "/login" in response.location


PARENT_PHONE = "+79161234567"


@pytest.fixture(autouse=True)
def _parent_phone(request):
    """The world's parent signs in by e-mail; give them a phone too, to see both erased."""
    if "world" in request.fixturenames:
        world = request.getfixturevalue("world")
        world.parent.phone = PARENT_PHONE
        db.session.commit()


@pytest.fixture
def chat(world):
    """The group's chat: its educator (moderator) and the world's parent."""
    return f.make_chat(
        world.kindergarten, world.educator, group=world.group, members=[world.parent]
    )


@pytest.fixture
def neighbour(world, chat):
    """Another parent of the same group, in the same chat, who has written there."""
    child = f.make_child(world.group, "Кузьмина", "Вероника")
    person = f.make_parent(
        world.kindergarten,
        "Наталья Кузьмина",
        children=[child],
        phone="+79165554433",
        email="natalya.kuzmina@example.ru",
    )
    db.session.add(ChatMember(chat_id=chat.id, user_id=person.id, rules_accepted_id=chat.rules_id))
    db.session.commit()
    f.make_message(chat, person, "Соседское сообщение про Веронику")
    return person


def snapshot(user) -> dict:
    """What deleting the account changes: compare before and after a refused attempt."""
    user = reload(user)
    return {
        "name": user.stored_name,
        "phone": user.phone,
        "email": user.email,
        "deleted_at": user.deleted_at,
        "password_hash": user.password_hash,
        "children": count(ParentChild, user_id=user.id),
        "chats": count(ChatMember, user_id=user.id),
        "requests": count(JoinRequest, user_id=user.id),
        "sessions": count(UserSession, user_id=user.id),
        "deletions": len(audit_rows("account.deleted")),
    }


# --- downloading one's data ------------------------------------------------------------------


def test_my_data_is_a_json_file_with_everything_the_app_keeps_about_me(
    world, chat, neighbour, as_user
):
    consent_text = db.session.scalar(
        select(ConsentText).where(ConsentText.kindergarten_id == world.kindergarten.id)
    )
    db.session.add(Consent(user_id=world.parent.id, consent_text_id=consent_text.id))
    db.session.add(
        Violation(
            chat_id=chat.id,
            user_id=world.parent.id,
            rules_id=chat.rules_id,
            clause=3,
            created_by_id=world.educator.id,
        )
    )
    db.session.commit()
    f.make_message(chat, world.parent, "Спасибо за утренник!")
    edited = f.make_message(chat, world.parent, "Заберу в пять")
    client = as_user(world.parent)
    response = client.post(f"/messages/{edited.id}/edit", data={"text": "Заберу в шесть"})
    assert response.status_code == 303, text_of(response)[:300]

    response = client.get("/profile/data")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert ".json" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    data = json.loads(text_of(response))
    assert data["profile"]["name"] == "Екатерина Петрова"
    assert data["profile"]["phone"] == PARENT_PHONE
    assert data["profile"]["email"] == "katya@example.ru"
    assert [(c["name"], c["group"]) for c in data["children"]] == [("Петров Артём", "Солнышко")]
    assert "Родители группы «Солнышко»" in [c["chat"] for c in data["chats"]]
    assert [c["version"] for c in data["consents"]] == [1]
    assert consent_text.text == data["consents"][0]["text"]
    assert "Родители группы «Солнышко»" in [a["chat"] for a in data["rules_acceptances"]]
    texts = {m["text"]: m for m in data["messages"]}
    assert set(texts) == {"Спасибо за утренник!", "Заберу в шесть"}
    assert texts["Заберу в шесть"]["edited_at"] is not None
    assert [v["text"] for v in texts["Заберу в шесть"]["earlier_versions"]] == ["Заберу в пять"]
    assert texts["Спасибо за утренник!"]["earlier_versions"] == []
    assert [(v["chat"], v["clause"]) for v in data["violations"]] == [
        ("Родители группы «Солнышко»", 3)
    ]

    # nothing of anybody else: the neighbour's contacts, name, child and message
    body = text_of(response)
    for other in (
        "+79165554433",
        "79165554433",
        "916 555-44-33",
        "natalya.kuzmina@example.ru",
        "Наталья Кузьмина",
        "Кузьмина Вероника",
        "Вероник",
        "Соседское сообщение",
        world.other_group_parent.phone,
        world.other_group_parent.phone[1:],
        "Ирина Соколова",
        "Соколова Ева",
        world.educator.phone,
        world.educator.phone[1:],
    ):
        assert other not in body, other


@pytest.mark.parametrize("query", ["user_id", "id", "user", "member_id"])
def test_no_query_string_gives_another_persons_data(world, chat, neighbour, as_user, query):
    client = as_user(world.parent)
    own = json.loads(text_of(client.get("/profile/data")))

    response = client.get(f"/profile/data?{query}={neighbour.id}")

    assert response.status_code == 200
    data = json.loads(text_of(response))
    assert data["profile"]["name"] == "Екатерина Петрова"
    assert data["profile"]["phone"] == PARENT_PHONE
    assert data["children"] == own["children"]
    assert [m["text"] for m in data["messages"]] == [m["text"] for m in own["messages"]]
    body = text_of(response)
    assert "79165554433" not in body
    assert "natalya.kuzmina@example.ru" not in body
    assert "Наталья Кузьмина" not in body


def test_my_data_asks_a_visitor_to_sign_in(client, world):
    response = client.get("/profile/data")
    assert goes_to_login(response)
    assert "application/json" not in response.headers.get("Content-Type", "")


# --- deleting one's account: the form and its refusals ---------------------------------------


def test_the_delete_page_shows_what_happens_and_the_form(world, as_user):
    response = as_user(world.parent).get("/profile/delete")

    assert response.status_code == 200
    page = text_of(response)
    assert "Удаление учётной записи" in page
    assert 'name="password"' in page
    assert 'name="confirm"' in page
    assert "Удалить учётную запись навсегда" in page
    assert 'href="/profile/data"' in page


def test_a_wrong_password_deletes_nothing(world, chat, as_user):
    client = as_user(world.parent)
    before = snapshot(world.parent)

    response = client.post("/profile/delete", data={"password": "не тот", "confirm": "УДАЛИТЬ"})

    assert response.status_code == 422
    assert "Пароль введён неверно." in text_of(response)
    assert snapshot(world.parent) == before
    assert client.get("/").status_code == 200  # still signed in


@pytest.mark.parametrize("confirm", ["", "   ", "удали", "НЕТ", "да"])
def test_without_the_word_nothing_is_deleted(world, chat, as_user, confirm):
    client = as_user(world.parent)
    before = snapshot(world.parent)

    response = client.post("/profile/delete", data={"password": f.PASSWORD, "confirm": confirm})

    assert response.status_code == 422
    assert snapshot(world.parent) == before
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("confirm", ["удалить", " Удалить ", "DELETE"])
def test_the_word_in_any_case_is_accepted(world, as_user, confirm):
    response = as_user(world.parent).post(
        "/profile/delete", data={"password": f.PASSWORD, "confirm": confirm}
    )
    assert response.status_code == 303
    assert reload(world.parent).deleted_at is not None


def test_a_post_without_the_csrf_token_is_refused(make_app, world):
    from .test_security import csrf_token_from

    csrf_app = make_app(WTF_CSRF_ENABLED=True)
    client = csrf_app.test_client()
    token = csrf_token_from(text_of(client.get("/login")))
    response = client.post(
        "/login",
        data={"login": world.parent.login, "password": f.PASSWORD, "csrf_token": token},
        headers=REFERER,
    )
    assert response.status_code == 303
    before = snapshot(world.parent)

    for stale in (None, "stale.token-from-an-old-session"):
        data = CONFIRM | ({"csrf_token": stale} if stale else {})
        response = client.post("/profile/delete", data=data, headers=REFERER)
        assert response.status_code == 400
        assert "Страница устарела" in text_of(response)
        assert snapshot(world.parent) == before

    # the page's own token does it
    token = csrf_token_from(text_of(client.get("/profile/delete")))
    response = client.post("/profile/delete", data=CONFIRM | {"csrf_token": token}, headers=REFERER)
    assert response.status_code == 303
    assert reload(world.parent).deleted_at is not None


# --- deleting one's account: what it does ------------------------------------------------------


def test_deleting_erases_the_person_and_keeps_their_messages(world, chat, as_user, app):
    parent = world.parent
    old_phone, old_email = parent.phone, parent.email
    # the parent waits to be admitted to another chat, has a direct chat with the educator
    # and a second device signed in
    other_chat = f.make_chat(
        world.kindergarten, world.other_educator, group=world.other_group, title="Капелька"
    )
    db.session.add(
        JoinRequest(
            chat_id=other_chat.id,
            user_id=parent.id,
            child_last_name="Петров",
            child_first_name="Артём",
            rules_id=other_chat.rules_id,
        )
    )
    db.session.commit()
    client = as_user(parent)
    second_device = as_user(parent)
    response = client.post(f"/chats/direct/{world.educator.id}")
    assert response.status_code == 303
    direct = db.session.scalar(select(Chat).where(Chat.kind == "direct"))
    assert "Екатерина Петрова" in direct.title
    message = f.make_message(chat, parent, "Артём сегодня заболел")
    f.make_message(direct, parent, "Можно вопрос?")
    assert count(UserSession, user_id=parent.id) == 2
    assert count(ParentChild, user_id=parent.id) == 1
    assert count(ChatMember, user_id=parent.id) >= 2

    response = client.post("/profile/delete", data=CONFIRM)

    assert response.status_code == 303
    assert response.location.endswith("/login")
    assert "Учётная запись удалена" in text_of(client.get(response.location))
    parent = reload(parent)
    assert parent.deleted_at is not None
    assert parent.phone is None
    assert parent.stored_name == ""
    with current_app.test_request_context():  # the shown name is translated
        assert parent.name == DELETED
    assert parent.email != old_email and "katya" not in parent.email
    assert count(ParentChild, user_id=parent.id) == 0
    assert count(ChatMember, user_id=parent.id) == 0
    assert count(JoinRequest, user_id=parent.id) == 0
    assert count(UserSession, user_id=parent.id) == 0
    # both devices are signed out
    assert goes_to_login(client.get("/"))
    assert goes_to_login(second_device.get("/"))
    assert goes_to_login(second_device.get(f"/chats/{chat.id}"))

    # the messages stay, signed «Удалённый пользователь»
    assert db.session.get(Message, message.id).author_id == parent.id
    assert count(Message, author_id=parent.id) == 2
    page = text_of(as_user(world.educator).get(f"/chats/{chat.id}"))
    assert "Артём сегодня заболел" in page
    assert DELETED in page
    assert "Екатерина Петрова" not in page

    # the direct chat is closed and no longer named after the parent
    direct = reload(direct)
    assert direct.archived_at is not None
    assert "Екатерина Петрова" not in direct.title
    assert direct.title == f"Анна Павлова — {DELETED}"

    # the old logins no longer sign in
    for login in (old_phone, old_email, "8" + old_phone[2:]):
        response = app.test_client().post("/login", data={"login": login, "password": f.PASSWORD})
        assert response.status_code == 422, login
        assert "Неверный логин или пароль." in text_of(response)

    # the director sees the deletion, without the name
    dashboard = as_user(world.director).get("/director/")
    assert dashboard.status_code == 200
    page = text_of(dashboard)
    assert "Удалённые учётные записи" in page
    section = page[page.index("Удалённые учётные записи") :]
    assert "Родитель" in section
    assert "Солнышко" in section
    assert "Екатерина Петрова" not in page
    assert old_phone not in page and old_phone[1:] not in page

    (entry,) = audit_rows("account.deleted")
    assert entry.actor_id == entry.target_id == parent.id
    assert entry.details["role"] == "parent"
    assert entry.details["groups"] == ["Солнышко"]
    assert entry.details["messages"] == 2
    assert "Екатерина Петрова" not in json.dumps(entry.details, ensure_ascii=False)


def test_deleting_twice_changes_nothing(world, chat, as_user):
    client = as_user(world.parent)
    assert client.post("/profile/delete", data=CONFIRM).status_code == 303
    after = snapshot(world.parent)

    again = client.post("/profile/delete", data=CONFIRM)

    assert again.status_code == 302
    assert "/login" in again.location
    assert snapshot(world.parent) == after
    assert len(audit_rows("account.deleted")) == 1


def test_the_action_refuses_an_account_already_deleted(world, chat):
    with current_app.test_request_context():  # the test body's app: the same session
        do_delete_account(world.parent)
    deleted_at = reload(world.parent).deleted_at
    assert deleted_at is not None

    with current_app.test_request_context(), pytest.raises(ActionError, match="уже удалена"):
        do_delete_account(reload(world.parent))

    db.session.rollback()
    assert reload(world.parent).deleted_at == deleted_at
    assert len(audit_rows("account.deleted")) == 1


# --- staff and the director may not simply leave ------------------------------------------------


def test_the_director_is_told_to_hand_over_first(world, director_client):
    before = snapshot(world.director)

    page = director_client.get("/profile/delete")
    assert page.status_code == 200
    assert "передайте руководство" in text_of(page)
    assert 'name="password"' not in text_of(page)

    response = director_client.post("/profile/delete", data=CONFIRM)

    assert response.status_code == 409
    assert "передайте руководство" in text_of(response)
    assert snapshot(world.director) == before
    assert reload(world.director).is_director
    assert director_client.get("/").status_code == 200


def test_staff_are_told_to_be_dismissed_first(world, as_user):
    client = as_user(world.educator)
    before = snapshot(world.educator)

    response = client.post("/profile/delete", data=CONFIRM)

    assert response.status_code == 409
    assert "увольнения" in text_of(response)
    assert snapshot(world.educator) == before


def test_the_director_hands_over_is_dismissed_and_then_leaves(world, director_client, as_user, app):
    successor = world.educator
    response = director_client.post(f"/admin/staff/{successor.id}/direction")

    assert response.status_code == 303
    successor, former = reload(successor), reload(world.director)
    assert successor.is_director and successor.is_admin
    assert not former.is_director
    assert former.is_admin
    assert former.position == "zamestitel"
    assert former.verified_at is not None
    (entry,) = audit_rows("staff.direction_handed_over")
    assert (entry.actor_id, entry.target_id) == (former.id, successor.id)
    # the former director now answers to the new one: still staff, so not yet
    assert director_client.post("/profile/delete", data=CONFIRM).status_code == 409

    new_director = as_user(successor)
    assert new_director.get("/director/").status_code == 200
    # the former director moderates the kindergarten's own chats: a successor is needed
    refused = new_director.post(f"/admin/staff/{former.id}/dismiss", data={"successor": "0"})
    assert refused.status_code == 422
    assert reload(former).dismissed_at is None
    response = new_director.post(
        f"/admin/staff/{former.id}/dismiss", data={"successor": str(successor.id)}
    )
    assert response.status_code == 303, text_of(response)[:500]
    assert reload(former).dismissed_at is not None
    assert goes_to_login(director_client.get("/"))  # dismissal ends the sessions

    leaving = sign_in(app.test_client(), former)
    response = leaving.post("/profile/delete", data=CONFIRM)

    assert response.status_code == 303
    former = reload(former)
    assert former.deleted_at is not None
    assert former.phone is None and former.stored_name == ""
    assert not former.is_admin and former.position is None
    (entry,) = audit_rows("account.deleted")
    assert entry.details["role"] == "former staff"
    page = text_of(new_director.get("/director/"))
    assert "Бывший сотрудник" in page
    assert "Ольга Смирнова" not in page[page.index("Удалённые учётные записи") :]


def test_only_the_director_hands_over(world, admin_client):
    response = admin_client.post(f"/admin/staff/{world.educator.id}/direction")

    assert response.status_code == 403
    assert not reload(world.educator).is_director
    assert reload(world.director).is_director
    assert audit_rows("staff.direction_handed_over") == []


def test_the_direction_goes_only_to_verified_staff(world, director_client):
    newcomer = f.make_staff(world.kindergarten, "Игорь Белов", verified=False)

    response = director_client.post(f"/admin/staff/{newcomer.id}/direction")

    assert response.status_code == 403
    assert not reload(newcomer).is_director
    assert reload(world.director).is_director
    assert audit_rows("staff.direction_handed_over") == []
    # nor to a parent (no staff member at all), nor to a dismissed colleague, nor to oneself
    gone = f.make_staff(world.kindergarten, "Пётр Ушедший", dismissed_at=utcnow())
    for person, status in ((world.parent, 404), (gone, 403), (world.director, 403)):
        response = director_client.post(f"/admin/staff/{person.id}/direction")
        assert response.status_code == status, person.stored_name
    assert reload(world.director).is_director
    assert not reload(world.parent).is_director and not reload(gone).is_director
    assert audit_rows("staff.direction_handed_over") == []


def test_the_hand_over_button_is_on_a_verified_colleagues_page(world, director_client, as_user):
    page = text_of(director_client.get(f"/admin/staff/{world.educator.id}"))
    assert "Передать руководство" in page
    assert f"/admin/staff/{world.educator.id}/direction" in page
    newcomer = f.make_staff(world.kindergarten, "Игорь Белов", verified=False)
    assert "Передать руководство" not in text_of(director_client.get(f"/admin/staff/{newcomer.id}"))
    admin_page = text_of(as_user(world.admin).get(f"/admin/staff/{world.educator.id}"))
    assert "Передать руководство" not in admin_page


# --- wrong passwords lock the form like signing in ------------------------------------------


def test_wrong_passwords_lock_the_deletion(world, chat, as_user):
    client = as_user(world.parent)
    before = snapshot(world.parent)
    with time_machine.travel(utcnow(), tick=False) as traveller:
        answers = [
            client.post(
                "/profile/delete", data={"password": f"неверно {n}", "confirm": "УДАЛИТЬ"}
            ).status_code
            for n in range(5)
        ]
        assert answers[:4] == [422] * 4
        # even the right password now waits
        locked = client.post("/profile/delete", data=CONFIRM)
        assert locked.status_code == 429
        assert "Попробуйте через" in text_of(locked)
        assert snapshot(world.parent)["deleted_at"] is None
        # and the lock is the one signing in obeys on this browser (its device cookie: the
        # tries of a browser she signed in on count apart from strangers')
        this_browser = client.application.test_client()
        device = "__Host-sferum_device"
        this_browser.set_cookie(device, client.get_cookie(device).value)
        response = this_browser.post(
            "/login", data={"login": world.parent.login, "password": f.PASSWORD}
        )
        assert response.status_code == 429
        traveller.shift(timedelta(minutes=16))
        assert client.post("/profile/delete", data=CONFIRM).status_code == 303
    assert before["deleted_at"] is None
    assert reload(world.parent).deleted_at is not None


def test_the_fifth_wrong_password_already_says_locked(world, as_user):
    client = as_user(world.parent)
    with time_machine.travel(utcnow(), tick=False):
        for n in range(4):
            data = {"password": f"неверно {n}", "confirm": "УДАЛИТЬ"}
            assert client.post("/profile/delete", data=data).status_code == 422
        fifth = client.post("/profile/delete", data={"password": "неверно 5", "confirm": "УДАЛИТЬ"})
    assert fifth.status_code == 429
    assert "Попробуйте через 15 минут." in text_of(fifth)


# --- what stays after a deletion names nobody ----------------------------------------------


def test_a_deleted_parents_vote_is_signed_deleted_user(world, chat, as_user):
    message = f.make_message(chat, world.educator, "Голосуем")
    poll = Poll(message_id=message.id, question="Кто придёт?", anonymous=False)
    db.session.add(poll)
    db.session.flush()
    yes = PollOption(poll_id=poll.id, position=0, text="Да")
    db.session.add_all([yes, PollOption(poll_id=poll.id, position=1, text="Нет")])
    db.session.commit()
    parent = as_user(world.parent)
    assert parent.post(f"/polls/{poll.id}/vote", data={"options": str(yes.id)}).status_code == 303
    page = text_of(as_user(world.educator).get(f"/chats/{chat.id}"))
    assert "<bdi>Екатерина Петрова</bdi>" in page

    assert parent.post("/profile/delete", data=CONFIRM).status_code == 303

    page = text_of(as_user(world.educator).get(f"/chats/{chat.id}"))
    assert "Екатерина Петрова" not in page
    voters = re.findall(r'<small class="muted voters">(.*?)</small>', page, re.S)
    assert voters, "the open poll lists who voted"
    assert "<bdi></bdi>" not in "".join(voters), "a voter shown without a name"
    assert f"<bdi>{DELETED}</bdi>" in "".join(voters)


def test_a_former_staff_member_who_is_a_parent_is_logged_as_a_parent(world, as_user):
    """Dismissed staff keep their position on record; with a child here they left as a
    parent, and the director's list says so."""
    former = f.make_parent(world.kindergarten, "Ольга Бывшая", children=[world.child])
    former.position = "vospitatel"
    former.dismissed_at = utcnow()
    db.session.commit()
    assert as_user(former).post("/profile/delete", data=CONFIRM).status_code == 303
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "account.deleted"))
    assert entry.details["role"] == "parent"
    assert entry.details["groups"] == ["Солнышко"]


def test_a_deleted_name_reads_outside_a_request_too(world, chat):
    """A CLI command or a job reads names without a request: the placeholder, in Russian."""
    do_delete_account(reload(world.parent))
    with current_app.app_context():
        assert reload(world.parent).name == "Удалённый пользователь"
        name = db.session.scalar(select(User.name).where(User.id == world.parent.id))
        assert name == "Удалённый пользователь"  # read in SQL, too


# --- what a deletion cleans besides the account (found in review) -------------------------------


def test_names_leave_the_audit_log_with_the_account(world, chat, as_user):
    parent = as_user(world.parent)
    assert parent.post("/profile", data={"name": "Екатерина Новая"}).status_code == 303
    renamed = audit_rows("account.renamed")
    assert renamed and renamed[0].details["old"] == "Екатерина Петрова"
    assert parent.post("/profile/delete", data=CONFIRM).status_code == 303
    db.session.expire_all()
    rows = db.session.scalars(select(AuditLog).where(AuditLog.target_id == world.parent.id))
    text = " ".join(json.dumps(row.details, ensure_ascii=False) for row in rows)
    assert "Екатерина" not in text
    assert audit_rows("account.renamed")  # what happened stays, without the names


def test_a_dismissed_educators_name_leaves_the_audit_log(world, director_client, as_user):
    lone = f.make_staff(world.kindergarten, "Вера Уходящая", groups=[world.group])
    assert director_client.post(f"/admin/staff/{lone.id}/dismiss").status_code == 303
    assert "Вера Уходящая" in json.dumps(
        [r.details for r in audit_rows("staff.dismissed")], ensure_ascii=False
    )
    assert as_user(reload(lone)).post("/profile/delete", data=CONFIRM).status_code == 303
    db.session.expire_all()
    every = db.session.scalars(select(AuditLog)).all()
    assert "Вера Уходящая" not in json.dumps([r.details for r in every], ensure_ascii=False)


def test_a_block_ends_with_the_account(world, chat, as_user, director_client):
    from sferum_lite.models import Block

    block = Block(
        chat_id=chat.id,
        user_id=world.parent.id,
        rules_id=chat.rules_id,
        clause=1,
        ends_at=utcnow() + timedelta(days=3),
        created_by_id=world.educator.id,
    )
    db.session.add(block)
    db.session.commit()
    page = director_client.get("/director/chats?sort=blocks").get_data(as_text=True)
    assert 'data-label="Блокировки">1<' in page
    assert as_user(world.parent).post("/profile/delete", data=CONFIRM).status_code == 303
    assert reload(block).lifted_at is not None
    page = director_client.get("/director/chats?sort=blocks").get_data(as_text=True)
    assert 'data-label="Блокировки">1<' not in page


def test_what_they_deleted_themselves_loses_its_words(world, chat, as_user):
    parent = as_user(world.parent)
    gone = f.make_message(chat, world.parent, "Первая версия")
    db.session.add(MessageEdit(message_id=gone.id, text="Совсем первая", created_at=utcnow()))
    gone.deleted_at, gone.deleted_by_id = utcnow(), world.parent.id
    kept = f.make_message(chat, world.parent, "Остаётся в чате")
    db.session.commit()
    assert parent.post("/profile/delete", data=CONFIRM).status_code == 303
    assert reload(gone).text == ""
    assert count(MessageEdit, message_id=gone.id) == 0
    assert reload(kept).text == "Остаётся в чате"


def test_a_direct_chat_title_is_rebuilt_from_the_two_people(world, as_user):
    world.educator.name = "Анна — логопед"
    db.session.commit()
    direct = f.make_chat(
        world.kindergarten,
        world.educator,
        kind="direct",
        title="Анна — логопед — Екатерина Петрова",
        direct_key=f"{world.educator.id}:{world.parent.id}",
        members=[world.parent],
    )
    assert as_user(world.parent).post("/profile/delete", data=CONFIRM).status_code == 303
    assert reload(direct).title == f"Анна — логопед — {DELETED}"


def test_a_parent_without_a_child_yet_is_logged_as_a_parent(world, as_user):
    newcomer = f.make_parent(world.kindergarten, "Новенькая Мама")
    assert as_user(newcomer).post("/profile/delete", data=CONFIRM).status_code == 303
    (entry,) = audit_rows("account.deleted")
    assert entry.details["role"] == "parent"


def test_my_data_has_my_votes_reports_and_confirmations(world, chat, as_user):
    from sferum_lite.models import Confirmation, PollVote, Report

    message = f.make_message(chat, world.educator, "Важное", important=True)
    poll = Poll(message_id=message.id, question="Придёте на утренник?")
    db.session.add(poll)
    db.session.flush()
    yes = PollOption(poll_id=poll.id, position=0, text="Придём")
    db.session.add(yes)
    db.session.flush()
    db.session.add_all(
        [
            PollVote(poll_id=poll.id, user_id=world.parent.id, option_id=yes.id),
            Confirmation(message_id=message.id, user_id=world.parent.id),
            Report(
                chat_id=chat.id, message_id=message.id, reporter_id=world.parent.id, reason="Ой"
            ),
        ]
    )
    db.session.commit()
    data = json.loads(as_user(world.parent).get("/profile/data").get_data(as_text=True))
    assert data["poll_votes"][0]["option"] == "Придём"
    assert data["confirmations"][0]["message_id"] == message.id
    assert data["reports"][0]["reason"] == "Ой"
    assert data["objections"] == []
