"""A way back in for whoever forgot the password (issue 13 §6).

In person: who may make a reset link (the group's educator for its parents, the administration
for anyone, only the director for an administrator), the link's life (15 minutes, once, ended by
a newer one, stored as a hash), what using it does (a new password, every session ended, the
lock-out forgotten, the audit log). By e-mail: «Забыли пароль?» against a real local SMTP server
(aiosmtpd): the letter arrives with a working link, and the page answers the same — and as fast —
whatever was typed. And the forms' bad input.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
import time
from datetime import timedelta
from email import message_from_bytes, policy
from html import unescape
from urllib.parse import urlsplit

import pytest
import time_machine
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from sferum_lite.extensions import db, limiter
from sferum_lite.mail import jobs, parse_smtp_url
from sferum_lite.models import AuditLog, FailedLogin, PasswordReset, User, UserSession, utcnow

from . import factories as f
from .conftest import sign_in

NEW_PASSWORD = "синий кит поёт 77"


# --- helpers --------------------------------------------------------------------------------------


def text_of(response) -> str:
    return unescape(response.get_data(as_text=True))


def make_link(client, person) -> str:
    """«Сбросить пароль» for `person`: the link the QR code carries (its path)."""
    answer = client.post(f"/people/{person.id}/password-reset", data={"next": "/"})
    assert answer.status_code == 200, answer.status_code
    url = re.search(r'id="reset-url"[^>]*value="([^"]+)"', answer.get_data(as_text=True))[1]
    assert url.startswith("https://sad7.example/password-reset/")  # BASE_URL, not the Host
    return urlsplit(url).path


def set_password(client, path, password=NEW_PASSWORD, confirm=None):
    return client.post(
        path, data={"password": password, "confirm": password if confirm is None else confirm}
    )


def resets() -> list[PasswordReset]:
    db.session.commit()
    return list(db.session.scalars(select(PasswordReset).order_by(PasswordReset.id)))


def audit(action: str) -> list[AuditLog]:
    db.session.commit()
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action)))


def signed_in(client) -> bool:
    answer = client.get("/profile")
    return answer.status_code == 200


# --- who may make a link --------------------------------------------------------------------------


@pytest.fixture
def second_admin(world):
    return f.make_staff(world.kindergarten, "Ольга Админова", position="zamestitel", admin=True)


@pytest.mark.parametrize(
    "actor, target, allowed",
    [
        ("educator", "parent", True),  # the group's educator, for a parent of the group
        ("other_educator", "parent", False),  # another group's educator
        ("educator", "other_group_parent", False),
        ("admin", "parent", True),
        ("admin", "educator", True),  # the administration, for staff too
        ("admin", "second_admin", False),  # an administrator's is the director's alone
        ("director", "second_admin", True),
        ("director", "parent", True),
        ("admin", "director", False),  # the director's: nobody's
        ("educator", "educator", False),  # not for oneself
        ("parent", "other_group_parent", False),
        ("educator", "other_educator", False),  # an educator for a colleague: no
    ],
)
def test_who_may_make_a_reset_link(world, as_user, second_admin, actor, target, allowed):
    people = {"second_admin": second_admin}
    target_user = people.get(target) or world.persona(target)
    client = as_user(world.persona(actor))
    answer = client.post(f"/people/{target_user.id}/password-reset")
    assert answer.status_code == (200 if allowed else 404)
    assert len(resets()) == (1 if allowed else 0)
    if allowed:
        assert re.search(r'<svg[^>]*class="qr"', answer.get_data(True))


def test_anonymous_and_unverified_educators_make_no_link(world, as_user, client):
    answer = client.post(f"/people/{world.parent.id}/password-reset")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
    newcomer = f.make_staff(world.kindergarten, "Вера Новая", verified=False, groups=[world.group])
    assert as_user(newcomer).post(f"/people/{world.parent.id}/password-reset").status_code == 404
    assert resets() == []


def test_an_educator_of_a_child_who_left_makes_no_link(world, as_user):
    world.child.left_at = utcnow()
    db.session.commit()
    assert (
        as_user(world.educator).post(f"/people/{world.parent.id}/password-reset").status_code == 404
    )


def test_the_button_is_on_the_member_card_for_those_who_may(world, as_user):
    chat = f.make_chat(
        world.kindergarten, world.educator, group=world.group, members=[world.parent]
    )
    card = f"/chats/{chat.id}/people/{world.parent.id}"
    page = text_of(as_user(world.educator).get(card))
    assert "Сбросить пароль" in page
    assert f'action="/people/{world.parent.id}/password-reset"' in page
    page = text_of(as_user(world.admin).get(card))
    assert "Сбросить пароль" in page
    # the parent's own card of the educator: no button for the educator's password
    staff_card = text_of(as_user(world.admin).get(f"/admin/staff/{world.educator.id}"))
    assert f'action="/people/{world.educator.id}/password-reset"' in staff_card


def test_the_staff_page_of_an_administrator_has_the_button_for_the_director_only(
    world, as_user, second_admin
):
    path = f"/admin/staff/{second_admin.id}"
    assert "Сбросить пароль" in text_of(as_user(world.director).get(path))
    assert "Сбросить пароль" not in text_of(as_user(world.admin).get(path))


def test_the_qr_page_is_not_cached_and_sends_no_referrer(world, as_user):
    answer = as_user(world.educator).post(f"/people/{world.parent.id}/password-reset")
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert "Новый пароль для: Екатерина Петрова" in text_of(answer)


# --- the link's life ------------------------------------------------------------------------------


def test_only_the_hash_of_the_token_is_stored(world, as_user):
    path = make_link(as_user(world.educator), world.parent)
    token = path.rsplit("/", 1)[1]
    assert len(token) >= 43  # 32 random bytes: 256 bits
    (reset,) = resets()
    assert reset.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert reset.kind == "in_person" and reset.created_by_id == world.educator.id
    assert timedelta(minutes=14) < reset.expires_at - reset.created_at <= timedelta(minutes=15)
    for column in PasswordReset.__table__.columns:
        assert getattr(reset, column.key) != token


def test_a_link_sets_the_password_once_and_the_parent_signs_in_with_it(world, as_user, app):
    path = make_link(as_user(world.educator), world.parent)
    phone = app.test_client()
    form = phone.get(path)
    assert form.status_code == 200 and "Новый пароль" in text_of(form)
    assert form.headers["Referrer-Policy"] == "no-referrer"
    done = set_password(phone, path)
    assert done.status_code == 303 and done.headers["Location"] == "/login"
    assert "Пароль изменён" in text_of(phone.get("/login"))
    sign_in(phone, world.parent, NEW_PASSWORD)
    # the old password is gone
    old = app.test_client().post(
        "/login", data={"login": world.parent.login, "password": f.PASSWORD}
    )
    assert old.status_code == 422 and "Неверный логин или пароль" in text_of(old)
    # once: the link is dead now, and says so
    again = app.test_client().get(path)
    assert again.status_code == 410 and "Ссылка уже не действует" in text_of(again)
    assert set_password(app.test_client(), path, "другой пароль 55").status_code == 410


def test_every_session_of_the_person_ends(world, as_user, app):
    laptop, tablet = as_user(world.parent), as_user(world.parent)
    educator = as_user(world.educator)
    path = make_link(educator, world.parent)
    assert set_password(app.test_client(), path).status_code == 303
    assert not signed_in(laptop) and not signed_in(tablet)
    assert laptop.get("/").status_code == 302
    db.session.commit()
    count = (
        select(func.count()).select_from(UserSession).where(UserSession.user_id == world.parent.id)
    )
    assert db.session.scalar(count) == 0
    assert signed_in(educator)  # the staff member's own session is not touched


def test_a_new_link_ends_the_old_one(world, as_user, app):
    educator = as_user(world.educator)
    first = make_link(educator, world.parent)
    second = make_link(as_user(world.admin), world.parent)
    assert app.test_client().get(first).status_code == 410
    assert set_password(app.test_client(), first).status_code == 410
    assert app.test_client().get(second).status_code == 200
    assert [r.used_at is not None for r in resets()] == [True, False]


def test_an_in_person_link_lives_fifteen_minutes(world, as_user, app):
    with time_machine.travel(utcnow(), tick=False) as traveller:
        path = make_link(as_user(world.educator), world.parent)
        traveller.shift(timedelta(minutes=14, seconds=50))
        assert app.test_client().get(path).status_code == 200
        traveller.shift(timedelta(seconds=11))
        answer = app.test_client().get(path)
        assert answer.status_code == 410 and "Срок действия ссылки истёк" in text_of(answer)
        assert set_password(app.test_client(), path).status_code == 410
    db.session.refresh(world.parent)
    assert db.session.get(User, world.parent.id).password_hash == world.parent.password_hash


def test_unknown_and_malformed_links_are_404_with_a_friendly_page(app, world):
    client = app.test_client()
    for token in ("A" * 43, "nope", "x" * 65, "a.b~c"):
        answer = client.get(f"/password-reset/{token}")
        assert answer.status_code == 404
        assert "Ссылка недействительна" in text_of(answer)
        assert "воспитатель вашей группы" in text_of(answer)


def test_a_deleted_persons_link_is_unknown(world, as_user, app):
    path = make_link(as_user(world.educator), world.parent)
    world.parent.deleted_at = utcnow()
    db.session.commit()
    assert app.test_client().get(path).status_code == 404


def test_the_lock_out_ends_and_the_audit_log_tells_who(world, as_user, app):
    stranger = app.test_client()
    for _ in range(5):
        stranger.post("/login", data={"login": world.parent.login, "password": "не тот пароль"})
    locked = app.test_client().post(
        "/login", data={"login": world.parent.login, "password": f.PASSWORD}
    )
    assert locked.status_code == 429
    path = make_link(as_user(world.educator), world.parent)
    assert set_password(app.test_client(), path).status_code == 303
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(FailedLogin)) == 0
    sign_in(app.test_client(), world.parent, NEW_PASSWORD)

    (made,) = audit("account.reset_link_made")
    assert (made.actor_id, made.target_id) == (world.educator.id, world.parent.id)
    assert made.details["kind"] == "in_person"
    (used,) = audit("account.password_reset")
    assert (used.actor_id, used.target_id) == (world.parent.id, world.parent.id)
    assert used.details["made_by"] == world.educator.id
    token = path.rsplit("/", 1)[1]
    for row in (made, used):
        assert token not in repr(row.details)


def test_twenty_parallel_uses_of_one_link_set_one_password(world, as_user, app):
    path = make_link(as_user(world.educator), world.parent)
    statuses = []

    def use(n):
        statuses.append(set_password(app.test_client(), path, f"пароль номер {n} ура").status_code)

    threads = [threading.Thread(target=use, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [303] + [410] * 19
    assert len(audit("account.password_reset")) == 1


def test_the_operator_prints_a_link_for_the_director(world, app):
    result = app.test_cli_runner().invoke(args=["password-reset-link", world.director.login])
    assert result.exit_code == 0, result.output
    url = re.search(r"https://sad7\.example(/password-reset/\S+)", result.output)[1]
    client = app.test_client()
    assert set_password(client, url).status_code == 303
    sign_in(client, world.director, NEW_PASSWORD)
    (made,) = audit("account.reset_link_made")
    assert made.actor_id is None and made.details["via"] == "cli"
    unknown = app.test_cli_runner().invoke(args=["password-reset-link", "nobody@example.ru"])
    assert unknown.exit_code != 0 and "No account" in unknown.output


# --- personal data -------------------------------------------------------------------------------


def test_my_data_lists_my_reset_links_without_their_tokens(world, as_user):
    path = make_link(as_user(world.educator), world.parent)
    data = as_user(world.parent).get("/profile/data").get_data(as_text=True)
    (entry,) = json.loads(data)["password_resets"]
    assert entry["kind"] == "in_person" and entry["made_by"] == "Анна Павлова"
    assert entry["used_or_ended_at"] is None
    (reset,) = resets()
    assert path.rsplit("/", 1)[1] not in data and reset.token_hash not in data


def test_deleting_the_account_deletes_its_reset_links(world, as_user):
    make_link(as_user(world.educator), world.parent)
    answer = as_user(world.parent).post(
        "/profile/delete", data={"password": f.PASSWORD, "confirm": "УДАЛИТЬ"}
    )
    assert answer.status_code == 303
    assert resets() == []


# --- the form's bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password, confirm, message",
    [
        ("корот", None, "Пароль слишком короткий"),
        ("qwerty123", None, "слишком распространён"),
        (NEW_PASSWORD, "синий кит поёт 78", "Пароли не совпадают"),
        ("", "", "Заполните это поле"),
        ("я" * 2000, None, "Не длиннее 1024 символов"),
    ],
)
def test_bad_input_is_422_and_the_link_still_works(world, as_user, app, password, confirm, message):
    path = make_link(as_user(world.educator), world.parent)
    client = app.test_client()
    answer = set_password(client, path, password, confirm)
    assert answer.status_code == 422
    assert message in text_of(answer)
    (reset,) = resets()
    assert reset.used_at is None
    assert set_password(client, path).status_code == 303


def test_the_password_may_not_be_the_persons_phone(world, as_user, app):
    father = f.make_parent(world.kindergarten, "Алексей Петров", children=[world.child])
    path = make_link(as_user(world.educator), father)
    answer = set_password(app.test_client(), path, father.phone)
    assert answer.status_code == 422
    assert "не должен совпадать с телефоном" in text_of(answer)


# --- «Забыли пароль?» -----------------------------------------------------------------------------


def test_the_sign_in_page_leads_to_forgot_password(app, world):
    page = text_of(app.test_client().get("/login"))
    assert '<a href="/forgot">Забыли пароль?</a>' in page


def test_without_smtp_only_the_in_person_way_is_explained(app, world):
    answer = app.test_client().get("/forgot")
    page = text_of(answer)
    assert answer.status_code == 200
    assert "Попросите воспитателя вашей группы" in page
    assert "QR-код" in page
    assert "e-mail" not in page.split("<main", 1)[1].split("Попросите", 1)[0]
    assert 'name="login"' not in page
    # a POST without SMTP shows the same explanation and sends nothing
    answer = app.test_client().post("/forgot", data={"login": "katya@example.ru"})
    assert answer.status_code == 200 and 'name="login"' not in text_of(answer)
    assert resets() == []


class Inbox:
    """A real SMTP server on 127.0.0.1 (aiosmtpd), keeping what it receives."""

    def __init__(self):
        self.letters: list[bytes] = []
        self.delay = 0.0

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            time.sleep(self.delay)
        self.letters.append(envelope.content)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.url = f"smtp://127.0.0.1:{port}"
    yield inbox
    controller.stop()


@pytest.fixture
def mail_app(make_app, smtp):
    app = make_app(SMTP_URL=smtp.url, MAIL_FROM="sad7@sad7.example")
    yield app
    jobs(app).wait()


def forgot(app, login: str):
    answer = app.test_client().post("/forgot", data={"login": login})
    return answer


def letter_link(raw: bytes) -> str:
    letter = message_from_bytes(raw, policy=policy.default)
    body = letter.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"https://sad7\.example(/password-reset/\S+)", body)[1]


def test_a_letter_arrives_with_a_link_that_works(world, mail_app, smtp):
    page = text_of(mail_app.test_client().get("/forgot"))
    assert "Попросите воспитателя вашей группы" in page and 'name="login"' in page
    answer = forgot(mail_app, "Katya@Example.ru")
    assert answer.status_code == 200
    assert "придёт письмо со ссылкой" in text_of(answer)
    jobs(mail_app).wait()
    (raw,) = smtp.letters
    letter = message_from_bytes(raw, policy=policy.default)
    assert letter["To"] == "katya@example.ru"
    assert "sad7@sad7.example" in letter["From"]
    assert "Екатерина Петрова" in letter.get_body().get_content()
    path = letter_link(raw)
    (reset,) = resets()
    assert reset.kind == "email" and reset.created_by_id is None
    assert timedelta(minutes=29) < reset.expires_at - reset.created_at <= timedelta(minutes=30)
    client = mail_app.test_client()
    assert set_password(client, path).status_code == 303
    sign_in(client, world.parent, NEW_PASSWORD)
    assert [row.action for row in audit("account.reset_link_sent")] == ["account.reset_link_sent"]
    assert len(audit("account.password_reset")) == 1


def test_a_phone_typed_sends_to_the_accounts_email(world, mail_app, smtp):
    world.parent.phone = "+79161234567"
    db.session.commit()
    forgot(mail_app, "8 916 123-45-67")
    jobs(mail_app).wait()
    assert len(smtp.letters) == 1


def test_an_emailed_link_lives_thirty_minutes(world, mail_app, smtp):
    with time_machine.travel(utcnow(), tick=False) as traveller:
        forgot(mail_app, "katya@example.ru")
        jobs(mail_app).wait()
        path = letter_link(smtp.letters[0])
        traveller.shift(timedelta(minutes=29, seconds=50))
        assert mail_app.test_client().get(path).status_code == 200
        traveller.shift(timedelta(seconds=11))
        assert mail_app.test_client().get(path).status_code == 410


def _page_without_token(answer) -> str:
    return re.sub(r'name="csrf_token"[^>]*|"X-CSRFToken": "[^"]*"', "", text_of(answer))


def test_the_answer_is_the_same_whatever_was_typed(world, mail_app, smtp, make_app):
    no_email = f.make_parent(world.kindergarten, "Алексей Петров", children=[world.child])
    known = forgot(mail_app, "katya@example.ru")
    answers = [
        forgot(mail_app, "nobody@example.ru"),  # no such account
        forgot(mail_app, no_email.phone),  # an account with no e-mail
    ]
    down = make_app(SMTP_URL=f"smtp://127.0.0.1:{free_port()}")  # nobody listens there
    answers.append(forgot(down, "katya@example.ru"))
    for answer in answers:
        assert answer.status_code == known.status_code == 200
        assert _page_without_token(answer) == _page_without_token(known)
    jobs(mail_app).wait()
    jobs(down).wait()
    assert len(smtp.letters) == 1  # only the known address with an e-mail got one


def test_the_answer_does_not_wait_for_the_mail_server(world, mail_app, smtp):
    """The letter is the worker's: a slow mail server slows no answer, so the time of the
    answer tells nothing either."""
    smtp.delay = 2.0
    forgot(mail_app, "warm-up@example.ru")  # the templates compiled, the worker started
    jobs(mail_app).wait()
    started = time.monotonic()
    forgot(mail_app, "katya@example.ru")
    known = time.monotonic() - started
    started = time.monotonic()
    forgot(mail_app, "nobody@example.ru")
    unknown = time.monotonic() - started
    assert known < 1.0 and unknown < 1.0
    jobs(mail_app).wait()
    assert len(smtp.letters) == 1


def test_three_letters_an_hour_at_most(world, mail_app, smtp):
    for _ in range(5):
        forgot(mail_app, "katya@example.ru")
    jobs(mail_app).wait()
    assert len(smtp.letters) == 3
    # each new one ended the one before: only the last link works
    paths = [letter_link(raw) for raw in smtp.letters]
    assert [mail_app.test_client().get(p).status_code for p in paths] == [410, 410, 200]


def test_a_malformed_login_is_422(world, mail_app, smtp):
    answer = forgot(mail_app, "не адрес")
    assert answer.status_code == 422
    assert "Это не похоже на номер телефона" in text_of(answer)
    answer = forgot(mail_app, "")
    assert answer.status_code == 422
    answer = forgot(mail_app, "a" * 300 + "@example.ru")
    assert answer.status_code == 422


def test_smtp_urls():
    plain = parse_smtp_url("smtp://mail.example:2525")
    assert (plain.host, plain.port, plain.security, plain.user) == (
        "mail.example",
        2525,
        None,
        None,
    )
    tls = parse_smtp_url("smtps://sad%40example.ru:p%3Ass@smtp.example")
    assert (tls.port, tls.security, tls.user, tls.password) == (
        465,
        "tls",
        "sad@example.ru",
        "p:ss",
    )
    assert parse_smtp_url("smtp+starttls://smtp.example").port == 587
    with pytest.raises(ValueError):
        parse_smtp_url("http://smtp.example")


# --- rate limits ----------------------------------------------------------------------------------


def test_forgot_and_reset_posts_are_rate_limited(world, make_app, as_user):
    path = make_link(as_user(world.educator), world.parent)
    app = make_app(RATELIMIT_ENABLED=True)
    limiter.reset()
    try:
        client = app.test_client()
        statuses = [
            client.post("/forgot", data={"login": "x@example.ru"}).status_code for _ in range(6)
        ]
        assert statuses == [200] * 5 + [429]
        statuses = [set_password(client, path, "корот").status_code for _ in range(11)]
        assert statuses == [422] * 10 + [429]
    finally:
        limiter.reset()
        limiter.enabled = False
