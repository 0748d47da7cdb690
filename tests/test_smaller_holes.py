"""Issue 13, section 5: the smaller holes, one test (or a few) per point."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy import text as sql_text
from sqlalchemy.exc import DatabaseError, IntegrityError

from sferum_lite.extensions import db
from sferum_lite.models import Message, MessageEdit, PollVote, Reaction
from sferum_lite.models.moderation import ModerationEntry

from . import factories as f
from .conftest import sign_in
from .test_admin_groups import page_text
from .test_chats import group_chat  # noqa: F401  (a fixture)
from .test_messages import options_of
from .test_migration_walk import migrate, walk_app  # noqa: F401  (a fixture)
from .test_nul_bytes import ids, send  # noqa: F401  (fixtures)

# (d) the session cookie carries the __Host- prefix over https -------------------------------


def test_session_cookie_is_host_prefixed_over_https(client, world):
    response = client.post("/login", data={"login": world.parent.login, "password": f.PASSWORD})
    cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    assert "sferum_session" not in cookies
    cookie = cookies["__Host-sferum_session"]  # BASE_URL of the tests is https
    attributes = [a.strip() for a in cookie.split(";")[1:]]
    # what the prefix demands, or the browser drops the cookie
    assert "Secure" in attributes
    assert "Path=/" in attributes
    assert not any(a.lower().startswith("domain=") for a in attributes)
    # and the prefixed cookie is the one that signs in
    assert client.get("/profile").status_code == 200


def test_session_cookie_keeps_its_plain_name_over_http(make_app, world):
    app = make_app(BASE_URL="http://127.0.0.1:5000")
    response = app.test_client().post(
        "/login", data={"login": world.parent.login, "password": f.PASSWORD}
    )
    names = [c.split("=", 1)[0] for c in response.headers.getlist("Set-Cookie")]
    assert "sferum_session" in names
    assert not any(name.startswith("__Host-") for name in names)


# (b) what the author deleted is gone for everyone, earlier versions too ----------------------


def test_an_edited_message_the_author_deleted_keeps_no_earlier_versions(
    world,
    as_user,
    group_chat,  # noqa: F811
):
    message = f.make_message(group_chat, world.parent, "Первый вариант")
    author = as_user(world.parent)
    author.post(f"/messages/{message.id}/edit", data={"text": "Второй вариант"})
    author.post(f"/messages/{message.id}/edit", data={"text": "Третий вариант"})
    assert db.session.scalar(select(db.func.count()).select_from(MessageEdit)) == 2

    assert author.post(f"/messages/{message.id}/delete").status_code == 303
    db.session.expire_all()
    # nothing of it is left to read: no earlier version, no text
    assert db.session.scalars(select(MessageEdit)).all() == []
    assert db.session.get(Message, message.id).text == ""
    for person in (world.parent, world.educator, world.director, world.admin):
        client = as_user(person)
        page = client.get(f"/messages/{message.id}/history")
        assert page.status_code in (403, 404), person.name
        chat = page_text(client.get(f"/chats/{group_chat.id}"))
        for version in ("Первый вариант", "Второй вариант", "Третий вариант"):
            assert version not in page_text(page), person.name
            assert version not in chat, person.name


# (f) an erased account leaves nothing in the SQLite file or its write-ahead log --------------


def test_a_deleted_account_leaves_no_name_phone_or_email_on_disk(world, as_user, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's own files")
    path = Path(database_url.removeprefix("sqlite:///"))
    name, phone, email = "Евлампия Засекреченная", "+79990001234", "evlampia.secret@mail.example"
    parent = f.make_parent(
        world.kindergarten, name, phone=phone, email=email, children=[world.child]
    )
    # her name in the pages over and over, as a busy chat would leave it in the log
    chat = f.make_chat(world.kindergarten, world.educator, group=world.group, members=[parent])
    client = as_user(parent)
    for new_name in (name + "-Петрова", name):
        assert client.post("/profile", data={"name": new_name}).status_code in (200, 303)
    for n in range(3):
        f.make_message(chat, parent, f"Сообщение {n}")

    def on_disk() -> bytes:
        files = [path, path.with_name(path.name + "-wal")]
        return b"".join(p.read_bytes() for p in files if p.exists())

    secrets = [name.encode(), phone.encode(), phone[2:].encode(), email.encode()]
    assert any(secret in on_disk() for secret in secrets)  # the test looks where it should

    response = client.post("/profile/delete", data={"password": f.PASSWORD, "confirm": "УДАЛИТЬ"})
    assert response.status_code == 303
    db.session.commit()
    left = on_disk()
    for secret in secrets:
        assert secret not in left, secret


# (e) the moderation log refuses DELETE at the database level, as it refuses UPDATE ------------


def _log_line(world, chat) -> ModerationEntry:
    entry = ModerationEntry(
        kindergarten_id=world.kindergarten.id,
        chat_id=chat.id,
        actor_id=world.educator.id,
        action="violation",
        member_id=world.parent.id,
        rules_id=chat.rules_id,
        clause=2,
        ground="п. 2. Уважаем друг друга.",
    )
    db.session.add(entry)
    db.session.commit()
    return entry


@pytest.mark.parametrize(
    "statement",
    [
        lambda entry: delete(ModerationEntry).where(ModerationEntry.id == entry.id),
        lambda entry: delete(ModerationEntry),
        lambda entry: update(ModerationEntry).values(note="переписано"),
    ],
    ids=["delete one", "delete all", "update"],
)
def test_the_moderation_log_refuses_delete_and_update(world, group_chat, statement):  # noqa: F811
    entry = _log_line(world, group_chat)
    with pytest.raises(DatabaseError, match="append-only"):
        db.session.execute(statement(entry))
        db.session.flush()
    db.session.rollback()
    db.session.expire_all()
    (kept,) = db.session.scalars(select(ModerationEntry)).all()
    assert (kept.id, kept.note, kept.ground) == (entry.id, "", "п. 2. Уважаем друг друга.")


# (a) twenty parallel votes and reactions of one person: one vote, consistent reactions, no 500


PARALLEL = 20


def _at_once(app, user, requests: list[tuple[str, dict]]) -> list[int]:
    """Each request from its own signed-in client, all released at the same moment."""
    clients = [sign_in(app.test_client(), user) for _ in requests]
    start = threading.Barrier(len(requests))
    answers: list[int | str] = []

    def go(client, path, data):
        start.wait()
        try:
            answers.append(client.post(path, data=data).status_code)
        except Exception as error:  # the app's 500, raised in the test client
            answers.append(repr(error)[:200])

    threads = [
        threading.Thread(target=go, args=(c, path, data))
        for c, (path, data) in zip(clients, requests, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_twenty_parallel_votes_leave_one_vote_in_a_single_choice_poll(
    world,
    app,
    group_chat,  # noqa: F811
):
    poll = f.make_poll(group_chat, world.educator, options=("Мама", "Папа", "Бабушка"))
    options = [o.id for o in options_of(poll)]
    requests = [
        (f"/polls/{poll.id}/vote", {"options": [options[n % len(options)]]})
        for n in range(PARALLEL)
    ]
    answers = _at_once(app, world.parent, requests)
    assert answers == [303] * PARALLEL
    db.session.expire_all()
    votes = db.session.scalars(select(PollVote).where(PollVote.poll_id == poll.id)).all()
    assert len(votes) == 1
    assert votes[0].user_id == world.parent.id


def test_twenty_parallel_votes_in_a_multiple_choice_poll_keep_one_choice_set(
    world,
    app,
    group_chat,  # noqa: F811
):
    poll = f.make_poll(group_chat, world.educator, options=("А", "Б", "В"), multiple=True)
    a, b, c = (o.id for o in options_of(poll))
    choices = [[a, b], [b, c], [a], [a, b, c]]
    requests = [
        (f"/polls/{poll.id}/vote", {"options": choices[n % len(choices)]}) for n in range(PARALLEL)
    ]
    answers = _at_once(app, world.parent, requests)
    assert answers == [303] * PARALLEL
    db.session.expire_all()
    chosen = sorted(
        db.session.scalars(select(PollVote.option_id).where(PollVote.poll_id == poll.id))
    )
    assert chosen in [sorted(choice) for choice in choices]  # one whole vote, not a mix


def test_twenty_parallel_reaction_toggles_stay_consistent(world, app, group_chat):  # noqa: F811
    message = f.make_message(group_chat, world.educator, "Завтра утренник")
    # ten presses of each of two reactions: each is toggled ten times, so none is left
    requests = [
        (f"/messages/{message.id}/react", {"emoji": "👍" if n % 2 else "❤️"})
        for n in range(PARALLEL)
    ]
    answers = _at_once(app, world.parent, requests)
    assert answers == [303] * PARALLEL
    db.session.expire_all()
    assert db.session.scalars(select(Reaction).where(Reaction.message_id == message.id)).all() == []


# (c) numbers past the integer range and far-off dates: 404 or a refusal, never a 500 ---------

TOO_BIG = [str(2**31), str(2**63), "9" * 30]  # past PostgreSQL's integer, SQLite's, any
FAR_DATES = ["0001-01-01", "9999-12-31"]


def _int_routes(app) -> list[tuple[str, str]]:
    """Every route with a number in its path, each number replaced by `{n}`."""
    found = []
    for rule in app.url_map.iter_rules():
        numbers = [name for name, conv in rule._converters.items() if conv.regex == r"\d+"]
        if not numbers:
            continue
        url = re.sub(r"<int:[^>]+>", "{n}", rule.rule)
        url = re.sub(r"<[^>]+>", "x", url)
        method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"OPTIONS"})[0]
        found.append((method, url))
    return sorted(set(found))


# (persona, method, url, data, steps): «{n}» is each number in TOO_BIG in turn, «{date}» each
# of FAR_DATES; the other «{…}» are the ids of test_nul_bytes' world
LOG_NUMBERS = "chat={n}&actor={n}&member={n}&before={n}"
LOG_DATES = "since={date}&until={date}"
NUMBERS_AND_DATES = [
    ("parent", "GET", "/chats/{chat}?reply={n}", None, []),
    ("educator", "GET", "/chats/{chat}/earlier?before={n}", None, []),
    ("parent", "GET", "/chats/{chat}/updates?after={n}", None, []),
    ("parent", "POST", "/chats/{chat}/read", {"last": "{n}"}, []),
    ("parent", "POST", "/chats/{chat}/messages", {"text": "Спасибо!", "reply_to": "{n}"}, []),
    ("parent", "POST", "/polls/{poll}/vote", {"options": "{n}"}, []),
    ("parent", "POST", "/chats/{chat}/rules/accept", {"rules_id": "{n}"}, []),
    ("educator", "POST", "/chats/{chat}/remind", {"member": "{n}"}, []),
    ("educator", "POST", "/chats/{chat}/members", {"users": "{n}"}, []),
    ("educator", "POST", "/chats/new", {"template": "parents:{n}", "title": "Родители"}, []),
    ("educator", "POST", "/chats/{chat}/invites", {"expires": "{n}", "max_uses": "{n}"}, []),
    ("educator", "POST", "/chats/{chat}/invites", {"expires": "date", "until": "{date}"}, []),
    ("educator", "POST", "/messages/{parent_message}/violation", {"clause": "{n}"}, []),
    ("educator", "POST", "/requests/{join_request}/admit", {"child_id": "{n}"}, []),
    ("newcomer", "POST", "/join/rules", {"rules_id": "{n}"}, [("GET", "/i/{chat_token}", None)]),
    ("admin", "GET", "/admin/children?group={n}&page={n}", None, []),
    ("admin", "GET", "/admin/children/new?group={n}", None, []),
    (
        "admin",
        "POST",
        "/admin/children/new",
        {"last_name": "Ия", "first_name": "Ия", "group_id": "{n}"},
        [],
    ),
    ("admin", "POST", "/admin/groups/{other_group}/educators", {"educator_id": "{n}"}, []),
    ("admin", "POST", "/admin/invites/annul", {"chat": "{n}", "staff": "{n}"}, []),
    (
        "admin",
        "POST",
        "/admin/staff/invites",
        {"position": "vospitatel", "role": "educator", "expires": "{n}", "max_uses": "{n}"},
        [],
    ),
    ("director", "POST", "/admin/staff/{other_educator}/dismiss", {"successor": "{n}"}, []),
    ("director", "GET", "/director/report?month={date}", None, []),
    ("director", "GET", "/moderation/log?" + LOG_NUMBERS, None, []),
    ("director", "GET", "/moderation/log?" + LOG_DATES, None, []),
    ("director", "GET", "/moderation/log.csv?" + LOG_NUMBERS + "&" + LOG_DATES, None, []),
    ("educator", "GET", "/chats/{chat}/log?" + LOG_NUMBERS, None, []),
    ("educator", "GET", "/chats/{chat}/log?" + LOG_DATES, None, []),
    ("educator", "GET", "/chats/{chat}/log.csv?" + LOG_NUMBERS + "&" + LOG_DATES, None, []),
]


def _filled(template, known, n, day):
    if template is None:
        return None
    if isinstance(template, dict):
        return {key: _filled(value, known, n, day) for key, value in template.items()}
    return template.format(**{**known, "n": n, "date": day})


def test_numbers_past_the_integer_range_and_far_dates_are_refused(app, send, ids):  # noqa: F811
    """Every `<int:…>` route of the url map with each number of TOO_BIG: 404 (the route does
    not match). Every number and date the views read from a query or a form: refused (422,
    400, or the form's redirect with its message) or taken as an id that does not exist (an
    optional filter left out, 200) — never a 500."""
    failures = []
    for method, url in _int_routes(app):
        for n in TOO_BIG:
            status = send("director", method, url.format(n=n))
            if status != 404:
                failures.append(f"{method} {url.format(n=n)}: {status}")
    for persona, method, url, data, steps in NUMBERS_AND_DATES:
        for n in TOO_BIG:
            for day in FAR_DATES:
                filled = _filled(url, ids, n, day)
                status = send(persona, method, filled, _filled(data, ids, n, day), steps)
                if not (isinstance(status, int) and status < 500):
                    failures.append(f"{method} {filled} {data} as {persona}: {status}")
    assert failures == [], "\n".join(failures)


# (a) the schema itself: one vote per person in a single-choice poll --------------------------


def test_the_database_refuses_a_second_vote_in_a_single_choice_poll(world, group_chat):  # noqa: F811
    poll = f.make_poll(group_chat, world.educator, options=("Мама", "Папа"))
    first, second = options_of(poll)
    db.session.add(
        PollVote(poll_id=poll.id, user_id=world.parent.id, option_id=first.id, single=True)
    )
    db.session.commit()
    db.session.add(
        PollVote(poll_id=poll.id, user_id=world.parent.id, option_id=second.id, single=True)
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_voting_marks_the_votes_of_a_single_choice_poll(world, as_user, group_chat):  # noqa: F811
    single = f.make_poll(group_chat, world.educator, options=("Мама", "Папа"))
    multiple = f.make_poll(group_chat, world.educator, options=("А", "Б"), multiple=True)
    parent = as_user(world.parent)
    parent.post(f"/polls/{single.id}/vote", data={"options": [options_of(single)[1].id]})
    parent.post(
        f"/polls/{multiple.id}/vote", data={"options": [o.id for o in options_of(multiple)]}
    )
    db.session.expire_all()
    marks = db.session.execute(select(PollVote.poll_id, PollVote.single)).all()
    assert sorted(marks) == sorted([(single.id, True), (multiple.id, False), (multiple.id, False)])


def test_the_migration_keeps_the_latest_of_doubled_votes(walk_app):  # noqa: F811
    with walk_app.app_context():
        migrate(walk_app, "head")
        kindergarten = f.make_kindergarten()
        educator = f.make_staff(kindergarten, "Анна Сергеевна")
        parent = f.make_parent(kindergarten, "Ольга Новикова")
        chat = f.make_chat(kindergarten, educator, members=[parent])
        single = f.make_poll(chat, educator, options=("Мама", "Папа", "Бабушка"))
        multiple = f.make_poll(chat, educator, options=("А", "Б"), multiple=True)
        known = {
            "single": single.id,
            "multiple": multiple.id,
            "user": parent.id,
            "options": [o.id for o in options_of(single)],
            "both": [o.id for o in options_of(multiple)],
        }
        migrate(walk_app, "0006", down=True)
        # what the race left before 0007: three votes of one person in a single-choice poll
        rows = [
            (known["single"], known["options"][0], "2026-12-01 10:00:00"),
            (known["single"], known["options"][2], "2026-12-01 10:00:02"),
            (known["single"], known["options"][1], "2026-12-01 10:00:01"),
            (known["multiple"], known["both"][0], "2026-12-01 10:00:00"),
            (known["multiple"], known["both"][1], "2026-12-01 10:00:00"),
        ]
        with db.engine.begin() as connection:
            for poll_id, option_id, at in rows:
                connection.execute(
                    sql_text(
                        "INSERT INTO poll_vote (poll_id, user_id, option_id, created_at) "
                        "VALUES (:poll, :user, :option, :at)"
                    ),
                    {"poll": poll_id, "user": known["user"], "option": option_id, "at": at},
                )
        migrate(walk_app, "head")
        votes = db.session.execute(select(PollVote.poll_id, PollVote.option_id, PollVote.single))
        assert sorted(votes) == sorted(
            [
                (known["single"], known["options"][2], True),  # the latest
                (known["multiple"], known["both"][0], False),
                (known["multiple"], known["both"][1], False),
            ]
        )
        migrate(walk_app, "0006", down=True)  # and back down, the votes kept
        with db.engine.connect() as connection:
            assert connection.execute(sql_text("SELECT count(*) FROM poll_vote")).scalar() == 3
