"""A NUL byte (0x00) anywhere in a request never becomes a 500.

PostgreSQL refuses text containing NUL outright (psycopg.DataError), so a NUL that reaches a
query or an insert is a 500 there while SQLite takes it. Every form field of every route, the
query-string parameters the views read, the string path segments, uploaded file names and the
headers the app reads are sent with a NUL inside, as a persona who may use the route. A refusal
(4xx) is fine, and so is a success with the NUL stripped; a 500 or an exception is not. Run it
on PostgreSQL too (SFERUM_TEST_DATABASE_URL=postgresql+psycopg://…): SQLite takes the NUL.

The tables hold URL and form templates: «{chat}», «{message}» … are filled in with the ids of the
world built for each test (see `ids`). A form row becomes one test per field, with a NUL inserted
in the middle of that field's value and every other field valid (so the NUL gets as far as the
database), and one test with a NUL in every field at once.
"""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from PIL import Image

from . import factories as f
from .test_route_matrix import chat_world, join_world

NUL = "\x00"
NEW_PASSWORD = "тёплый снег за окном 2026"
RULES = "1. Пишем вежливо.\n2. Не публикуем фото чужих детей."
CSV = "Фамилия;Имя;Группа\r\nИванова;Мария;Солнышко\r\n"
SIGN_IN = {"login": "{director_login}", "password": f.PASSWORD}
STAFF = {"name": "Светлана Орлова", "login": "+7 916 123-45-67", "password": NEW_PASSWORD}
PARENT = {"name": "Ольга Новикова", "login": "olga@example.ru", "password": NEW_PASSWORD}
CONSENT = {"consent": "y"}
CHILD = {"last_name": "Петров", "first_name": "Артём"}
NEW_CHILD = {"last_name": "Иванова", "first_name": "Мария", "group_id": "{group}"}
CLAUSE = {"clause": "1", "note": "Реклама кружка"}
CHAT_INVITE = {"expires": "7", "max_uses": "5", "needs_approval": "y"}
STAFF_INVITE = {"position": "vospitatel", "role": "educator", "expires": "7", "max_uses": "5"}
POST = {
    "text": "Завтра утренник в 10:00",
    "reply_to": "{message}",
    "important": "y",
    "poll_question": "Кто придёт?",
    "poll_options": "Мама\nПапа\nБабушка",
    "poll_multiple": "y",
    "poll_anonymous": "y",
    "poll_closes": "2099-01-01T10:00",
}

# Steps some routes need first, on the same client: the invite link moves into the session.
STAFF_LINK = [("GET", "/staff-invite/{staff_token}", None)]
CHAT_LINK = [("GET", "/i/{chat_token}", None)]
CHILD_NAMED = [*CHAT_LINK, ("POST", "/join/child", CHILD)]
BAD_STAFF_LINK = [("GET", "/staff-invite/{staff_token_with_nul}", None)]

# (persona, url, valid form, steps first): each field gets a NUL in turn, then all of them
FORMS = [
    # signing in, the interface language, the profile
    ("anonymous", "/login", {**SIGN_IN, "next": "/chats"}, []),
    ("anonymous", "/language", {"locale": "en", "next": "/login"}, []),
    ("parent", "/language", {"locale": "en", "next": "/chats"}, []),
    ("parent", "/profile", {"name": "Екатерина Петрова-Новикова"}, []),
    ("parent", "/profile/password", {"current_password": f.PASSWORD, "password": NEW_PASSWORD}, []),
    # joining: the staff by their link, parents by a chat's link (registering, the child, rules)
    ("anonymous", "/join/staff", {**STAFF, **CONSENT}, STAFF_LINK),
    ("anonymous", "/join/register", {**PARENT, **CONSENT}, CHAT_LINK),
    ("newcomer", "/join/child", CHILD, CHAT_LINK),
    ("newcomer", "/join/rules", {"rules_id": "{rules}"}, CHILD_NAMED),
    # the administration
    ("admin", "/admin/groups", {"name": "Ромашка"}, []),
    ("admin", "/admin/groups/{group}/rename", {"name": "Солнышко-2"}, []),
    ("admin", "/admin/groups/{other_group}/educators", {"educator_id": "{educator}"}, []),
    ("admin", "/admin/children/new", {**NEW_CHILD, "another": "1"}, []),
    ("director", "/admin/children/{child}", {**CHILD, "group_id": "{other_group}"}, []),
    ("admin", "/admin/children/import/confirm", {"content": CSV}, []),
    ("director", "/admin/staff/{other_educator}/position", {"position": "pomoshnik"}, []),
    ("admin", "/admin/staff/invites", STAFF_INVITE, []),
    ("director", "/admin/invites/annul", {"chat": "{chat_invite}", "staff": "{staff_invite}"}, []),
    ("admin", "/admin/invites/annul", {"all_unused": "y"}, []),
    ("admin", "/admin/rules", {"text": RULES, "note": "Новая редакция"}, []),
    ("director", "/admin/consent", {"text": "Я согласна на обработку персональных данных."}, []),
    # chats, their invite links, rules and join requests
    ("educator", "/chats/new", {"template": "parents:{group}", "title": "Родители Солнышка"}, []),
    ("director", "/chats/new", {"template": "committee", "title": "Комитет"}, []),
    ("educator", "/chats/{chat}/settings", {"title": "Солнышко: родители"}, []),
    ("director", "/chats/{chat}/settings", {"title": "Солнышко: родители"}, []),
    ("educator", "/chats/{chat}/members", {"users": "{director}"}, []),
    ("educator", "/chats/{chat}/invites", CHAT_INVITE, []),
    ("educator", "/chats/{chat}/invites", {"expires": "date", "until": "{in_a_month}"}, []),
    ("educator", "/chats/{chat}/rules/edit", {"text": RULES, "note": "Добавлен пункт о фото"}, []),
    ("parent", "/chats/{chat}/rules/accept", {"rules_id": "{rules}"}, []),
    ("educator", "/requests/{join_request}/admit", {"child_id": "{other_child}"}, []),
    ("educator", "/requests/{join_request}/decline", {"reason": "Не нашли ребёнка в списке"}, []),
    # messages and polls
    ("educator", "/chats/{chat}/messages", POST, []),
    ("parent", "/chats/{chat}/messages", {"text": "Спасибо!", "reply_to": "{message}"}, []),
    ("educator", "/messages/{message}/edit", {"text": "Утренник переносится на 11:00"}, []),
    ("parent", "/messages/{message}/react", {"emoji": "👍"}, []),
    ("educator", "/messages/{message}/pin", {"pinned": "1"}, []),
    ("educator", "/messages/{message}/important", {"important": "0"}, []),
    ("parent", "/polls/{poll}/vote", {"options": "{poll_option}"}, []),
    ("parent", "/chats/{chat}/read", {"last": "{message}"}, []),
    # moderation: the parent's message breaks clause 1 of the chat's rules
    ("parent", "/messages/{message}/report", {"reason": "Это реклама"}, []),
    ("educator", "/messages/{parent_message}/remove", {**CLAUSE, "violation": "y"}, []),
    ("educator", "/messages/{parent_message}/violation", CLAUSE, []),
    ("educator", "/chats/{chat}/people/{parent}/violation", CLAUSE, []),
    ("educator", "/chats/{chat}/people/{parent}/block", {**CLAUSE, "duration": "1w"}, []),
    ("educator", "/chats/{chat}/remind", {"member": "{parent}"}, []),
    ("director", "/chats/{chat}/people/{educator}/moderator", {"value": "0"}, []),
    ("parent", "/chats/{chat}/apology", {"text": "Извините, больше не повторится."}, []),
    ("director", "/admin/staff/{other_educator}/dismiss", {"successor": "{educator}"}, []),
]

# (persona, method, url, data, steps first): one request each, the NUL written into it
LOG_FILTERS = "chat=1%00&actor=%00&member=1%00&action=a%00&since=2026-01-01%00&until=%00&before=%00"
REQUESTS = [
    # the sign-in form with the login typed with a NUL inside
    ("anonymous", "POST", "/login", {"login": "+7916\x000000001", "password": f.PASSWORD}, []),
    ("anonymous", "POST", "/login", {"login": "a\x00@b.ru", "password": f.PASSWORD}, []),
    ("anonymous", "POST", "/login", {"login": "\x00", "password": "\x00"}, []),
    # string path segments
    ("anonymous", "GET", "/i/%00", None, []),
    ("anonymous", "GET", "/i/{chat_token_with_nul}", None, []),
    ("parent", "GET", "/i/{chat_token_with_nul}", None, []),
    ("anonymous", "GET", "/join/staff", None, [("GET", "/staff-invite/%00", None)]),
    ("anonymous", "GET", "/join/staff", None, BAD_STAFF_LINK),
    ("parent", "POST", "/join/staff", {}, BAD_STAFF_LINK),
    ("anonymous", "GET", "/static/app%00.css", None, []),
    # integer path segments: the route does not match
    ("director", "GET", "/admin/children/{child}%00", None, []),
    ("parent", "GET", "/files/{attachment}%00", None, []),
    # query strings the views read
    ("anonymous", "GET", "/login?next=/chats%00", None, []),
    ("admin", "GET", "/admin/groups?archived=1%00", None, []),
    ("admin", "GET", "/admin/children?q=%00&group={group}%00&page=1%00&left=1%00", None, []),
    ("admin", "GET", "/admin/children?q=%D0%BF%D0%B5%D1%82%00", None, []),
    ("admin", "GET", "/admin/children/new?group={group}%00", None, []),
    ("parent", "GET", "/chats?archived=1%00", None, []),
    ("parent", "GET", "/chats/{chat}?reply={message}%00", None, []),
    ("educator", "GET", "/chats/{chat}/earlier?before={message}%00", None, []),
    ("parent", "GET", "/chats/{chat}/updates?after=0%00", None, []),
    ("parent", "GET", "/chats/{chat}/stream?after=0%00", None, []),
    ("director", "GET", "/moderation/log?" + LOG_FILTERS, None, []),
    ("director", "GET", "/moderation/log?action=%00", None, []),
    ("director", "GET", "/moderation/log.csv?" + LOG_FILTERS, None, []),
    ("educator", "GET", "/chats/{chat}/log?" + LOG_FILTERS, None, []),
    ("educator", "GET", "/chats/{chat}/log.csv?action=%00", None, []),
]

# (persona, method, url, data, headers, steps first): request headers the app reads, with a NUL
USER_AGENT = {"User-Agent": "Mozilla/5.0\x00"}
HEADERS = [
    ("parent", "GET", "/chats/{chat}/stream", None, {"Last-Event-ID": "1\x00"}, []),
    ("anonymous", "POST", "/profile", {}, {"Referer": "https://sad7.example/chats\x00"}, []),
    ("anonymous", "POST", "/profile", {}, {"HX-Request": "true", "HX-Current-URL": "/\x00"}, []),
    ("anonymous", "GET", "/login", None, {"Accept-Language": "en\x00"}, []),
    # every sign-in stores the browser's User-Agent with the new session (also at /setup, below)
    ("anonymous", "POST", "/login", SIGN_IN, USER_AGENT, []),
    ("anonymous", "POST", "/join/staff", {**STAFF, **CONSENT}, USER_AGENT, STAFF_LINK),
    ("anonymous", "POST", "/join/register", {**PARENT, **CONSENT}, USER_AGENT, CHAT_LINK),
]


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), "red").save(buffer, "JPEG")
    return buffer.getvalue()


# (what, persona, url, file field, file name, content, other fields): uploads with a NUL inside
ROSTER = "/admin/children/import"
LONG_CSV = CSV + "Петрова;Анна;Солнышко\r\n" * 200 + "Смир\x00нова;Ия;Солн\x00ышко\r\n"
UPLOADS = [
    ("roster name", "admin", ROSTER, "file", "спи\x00сок.csv", CSV.encode(), {}),
    ("roster header", "admin", ROSTER, "file", "список.csv", "Фамилия;Им\x00я".encode(), {}),
    # past the first 4 KB the file is no longer sniffed for binary content
    ("roster after 4 KB", "admin", ROSTER, "file", "список.csv", LONG_CSV.encode(), {}),
    ("file name", "educator", "/chats/{chat}/messages", "files", "заметка\x00.txt", b"ok", {}),
    ("photo name", "parent", "/chats/{chat}/messages", "files", "фото\x00.jpg", _jpeg(), {}),
    ("file content", "parent", "/chats/{chat}/messages", "files", "a.txt", b"\xd0\x9c\x00", {}),
]

SETUP = {
    "kindergarten_name": "Детский сад № 5 «Ромашка»",
    "timezone": "Asia/Yekaterinburg",
    "work_start": "07:30",
    "work_end": "18:30",
    "work_days": ["1", "2", "3", "4", "5"],
    "director_name": "Ольга Смирнова",
    "login": "8 912 345-67-89",
    "password": NEW_PASSWORD,
    "consent": "y",
}


def with_nul(value):
    """The value with a NUL in its middle (in each item of a list)."""
    if isinstance(value, list):
        return [with_nul(item) for item in value]
    middle = len(value) // 2
    return value[:middle] + NUL + value[middle:]


def nul_variants(table):
    """pytest params: each row of a form table once per field, and once with every field
    when it has more than one."""
    return [
        pytest.param(persona, url, data, field, steps, id=f"{persona} {url} [{field}]")
        for persona, url, data, steps in table
        for field in ([*data, "*"] if len(data) > 1 else data)
    ]


def fill(template, ids):
    if template is None:
        return None
    if isinstance(template, list):
        return [fill(item, ids) for item in template]
    if isinstance(template, dict):
        return {key: fill(value, ids) for key, value in template.items()}
    return template.format(**ids)


@pytest.fixture
def ids(world):
    """The world with a chat (the educator's message with a photo and a poll, and one of the
    parent's), a staff invite, a chat invite and a waiting join request."""
    from sferum_lite.extensions import db
    from sferum_lite.models import PollOption

    chat, message, attachment, poll = chat_world(world)
    chat_invite, join_request = join_world(world, chat)
    parent_message = f.make_message(chat, world.parent, "Запишитесь в наш кружок: недорого!")
    staff_invite = f.make_staff_invite(world.kindergarten, world.admin, max_uses=5)
    option = db.session.scalar(db.select(PollOption).where(PollOption.poll_id == poll.id))
    return {
        "chat": chat.id,
        "message": message.id,
        "parent_message": parent_message.id,
        "attachment": attachment.id,
        "poll": poll.id,
        "poll_option": option.id,
        "rules": chat.rules_id,
        "group": world.group.id,
        "other_group": world.other_group.id,
        "child": world.child.id,
        "other_child": world.other_child.id,
        "parent": world.parent.id,
        "educator": world.educator.id,
        "other_educator": world.other_educator.id,
        "director": world.director.id,
        "director_login": world.director.phone,
        "staff_invite": staff_invite.id,
        "staff_token": staff_invite.token,
        "staff_token_with_nul": with_nul(staff_invite.token),
        "chat_invite": chat_invite.id,
        "chat_token": chat_invite.token,
        "chat_token_with_nul": with_nul(chat_invite.token),
        "join_request": join_request.id,
        "in_a_month": (date.today() + timedelta(days=30)).isoformat(),
    }


@pytest.fixture
def send(world, ids, as_user):
    """send(persona, method, url, data, steps=(), **kwargs): the steps, then the request, on a
    new client signed in as the persona; the answer (see `answer`) of the first that fails."""

    def send(persona, method, url, data=None, steps=(), **kwargs):
        if persona == "newcomer":  # a parent with no child in the chat's group
            user = f.make_parent(world.kindergarten, "Ольга Новикова")
        else:
            user = world.persona(persona)
        client = as_user(user)
        for step_method, step_url, step_data in steps:
            status = answer(client, step_method, fill(step_url, ids), fill(step_data, ids))
            if not refused_or_done(status):
                return f"{step_method} {step_url} first: {status}"
        return answer(client, method, fill(url, ids), data, **kwargs)

    return send


def answer(client, method, url, data, **kwargs):
    """The status code, or the exception's last line: the test app propagates exceptions, so
    what would be a 500 is raised here."""
    try:
        response = client.open(url, method=method, data=data, **kwargs)
    except Exception as error:  # noqa: BLE001 — any exception here is the 500
        return f"{type(error).__name__}: {(str(error).splitlines() or [''])[0]}"
    response.close()
    return response.status_code

    return send


def refused_or_done(status) -> bool:
    return isinstance(status, int) and status < 500


def login_in(data) -> str:
    return f" login={data['login']!r}" if data and "login" in data else ""


@pytest.mark.parametrize("persona,url,data,field,steps", nul_variants(FORMS))
def test_a_nul_in_a_form_field(send, ids, persona, url, data, field, steps):
    data = fill(data, ids)
    for name in data if field == "*" else [field]:
        data[name] = with_nul(data[name])
    status = send(persona, "POST", url, data, steps)
    assert refused_or_done(status), f"POST {url} {field}={data.get(field)!r} as {persona}: {status}"


@pytest.mark.parametrize(
    "persona,method,url,data,steps",
    [pytest.param(*row, id=" ".join(map(str, row[:3])) + login_in(row[3])) for row in REQUESTS],
)
def test_a_nul_in_a_path_query_or_login(send, ids, persona, method, url, data, steps):
    status = send(persona, method, url, fill(data, ids), steps)
    assert refused_or_done(status), f"{method} {url} as {persona}: {status}"


def as_environ(headers) -> dict:
    """Headers as a WSGI server hands them on (the test client's Headers refuse some values;
    a server in front may not)."""
    return {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}


@pytest.mark.parametrize(
    "persona,method,url,data,headers,steps",
    [pytest.param(*row, id=f"{row[0]} {row[2]} {next(iter(row[4]))}") for row in HEADERS],
)
def test_a_nul_in_a_header(send, ids, persona, method, url, data, headers, steps):
    environ = as_environ(headers)
    status = send(persona, method, url, fill(data, ids), steps, environ_overrides=environ)
    assert refused_or_done(status), f"{method} {url} with {headers!r} as {persona}: {status}"


@pytest.mark.parametrize(
    "persona,url,field,filename,content,data",
    [pytest.param(*row[1:], id=f"{row[1]} {row[2]} {row[0]}") for row in UPLOADS],
)
def test_a_nul_in_an_upload(send, ids, persona, url, field, filename, content, data):
    form = {**fill(data, ids), field: (io.BytesIO(content), filename)}
    status = send(persona, "POST", url, form, content_type="multipart/form-data")
    assert refused_or_done(status), f"POST {url} {filename!r} as {persona}: {status}"


@pytest.mark.parametrize("field", [*SETUP, "*", "User-Agent"])
def test_a_nul_in_the_setup_form(client, field):
    """The first visit, on an empty database: the kindergarten and its director (signed in)."""
    data = dict(SETUP)
    for name in data if field == "*" else [field] if field in data else []:
        data[name] = with_nul(data[name])
    environ = as_environ(USER_AGENT) if field == "User-Agent" else {}
    status = answer(client, "POST", "/setup", data, environ_overrides=environ)
    assert refused_or_done(status), f"POST /setup {field}: {status}"
