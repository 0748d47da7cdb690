"""The director's view (reg 000 §2.1–2.2): the figures at a glance and the lists behind them,
the groups table, every chat in one sortable table, the activity charts, the CSV exports, the
printable monthly report, a group's page with its two buttons, and who may see what.

One hand-built kindergarten (`kg`) carries every case the figures must tell apart, with the
right answers worked out by hand in its docstring; the clock stands still at `NOW` so that days,
weeks and «the last 7 days» are the same for the test and for the app. Every test goes through
real requests.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from babel.dates import format_date
from sqlalchemy import select

from sferum_lite.actions.rules import accept
from sferum_lite.extensions import db
from sferum_lite.models import (
    Block,
    Chat,
    ChatInvite,
    ChatMember,
    JoinRequest,
    Message,
    ModerationEntry,
    Report,
    User,
)

from . import factories as f

MSK = ZoneInfo("Europe/Moscow")  # make_kindergarten's zone
NOW = datetime(2027, 3, 18, 9, 0, tzinfo=UTC)  # a Thursday, noon in Moscow
TODAY = date(2027, 3, 18)
LONG_AGO = NOW - timedelta(days=90)  # 18 December 2026, 12:00 in Moscow
CHART_FIRST = TODAY - timedelta(days=29)  # the daily chart's first bar
WEEK_FIRST = date(2026, 12, 28)  # the Monday of the weekly chart's first bar (12 weeks)

FORMULA_TITLE = '=HYPERLINK("http://evil")'


def msk(year, month, day, hour=12, minute=0) -> datetime:
    """A moment given on the kindergarten's clock, as the UTC the database keeps."""
    return datetime(year, month, day, hour, minute, tzinfo=MSK).astimezone(UTC)


def on(day: date, hour=12, minute=0) -> datetime:
    return msk(day.year, day.month, day.day, hour, minute)


# --- reading pages ------------------------------------------------------------------------------

VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())


class Node:
    """An element of a parsed page: its tag, attributes and children (nodes and strings)."""

    def __init__(self, tag: str, attrs):
        self.tag = tag
        self.attrs = {name: (value if value is not None else "") for name, value in attrs}
        self.children: list = []

    def iter(self):
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def find_all(self, tag=None, class_=None, **attrs) -> list[Node]:
        """Descendants by tag, class and attributes (`data_chat=True`: has `data-chat`)."""
        found = []
        for node in self.iter():
            if node is self or (tag is not None and node.tag != tag):
                continue
            if class_ is not None and class_ not in node.attrs.get("class", "").split():
                continue
            if all(
                (name.replace("_", "-") in node.attrs)
                if value is True
                else node.attrs.get(name.replace("_", "-")) == value
                for name, value in attrs.items()
            ):
                found.append(node)
        return found

    def find(self, tag=None, class_=None, **attrs) -> Node | None:
        found = self.find_all(tag, class_, **attrs)
        return found[0] if found else None

    def by_id(self, id_) -> Node:
        found = self.find_all(id=id_)
        assert len(found) == 1, f"expected one element #{id_}, found {len(found)}"
        return found[0]

    def raw_text(self) -> str:
        return "".join(c if isinstance(c, str) else c.raw_text() for c in self.children)

    @property
    def text(self) -> str:
        return " ".join(self.raw_text().split())

    def own_text(self) -> str:
        """The text directly inside, not in child elements."""
        return " ".join("".join(c for c in self.children if isinstance(c, str)).split())


class _Builder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", [])
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs)
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Node(tag, attrs))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse(response) -> Node:
    builder = _Builder()
    builder.feed(response.get_data(as_text=True))
    builder.close()
    return builder.root


def get_page(client, url: str) -> Node:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return parse(response)


def chats_table(doc: Node) -> list[dict]:
    """The all-chats table: a dict per row, its cells by their data-label, plus the chat id,
    the title and the title's link."""
    rows = []
    for tr in doc.by_id("chats-table").find_all("tr", data_chat=True):
        title = tr.find("td", class_="title")
        row = {"id": int(tr.attrs["data-chat"]), "title": title.text}
        row["href"] = title.find("a").attrs["href"]
        for td in tr.find_all("td"):
            if "data-label" in td.attrs:
                row[td.attrs["data-label"]] = td.text
        rows.append(row)
    return rows


def bar_titles(figure: Node) -> list[str]:
    return [rect.find("title").text for rect in figure.find_all("rect")]


def day_label(day: date) -> str:
    return format_date(day, "d MMM", locale="ru")


def read_csv(response) -> list[list[str]]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff"), "a CSV for Russian Excel starts with the UTF-8 BOM"
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def attachment_name(response) -> str:
    """The file name a browser saves the answer as (RFC 6266 `filename*`)."""
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;"), disposition
    found = re.search(r"filename\*=UTF-8''([^;\s]+)", disposition)
    assert found, disposition
    return unquote(found[1])


def assert_csv_response(response, name_start: str) -> list[list[str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    name = attachment_name(response)
    assert name.startswith(name_start) and name.endswith(".csv"), name
    rows = read_csv(response)
    assert len(rows[0]) > 3, "cells are separated by «;»"
    return rows


# --- the kindergarten ---------------------------------------------------------------------------


@dataclass
class Kg:
    """The world's kindergarten with everything the director's view must count right.

    Groups (children not marked as left; covered = with a parent in one of the group's chats):
      «Капелька» — Соколова Ева (her mother Ирина is in «Солнышко»'s chat only: not covered),
                   Волков Дима (two parents, Игорь Волков and «+cmd», both in chat B), Ким Соня
                   (her parent «@SUM(1)» in chat B): 3 children, 2 covered;
      «Радуга»   — Лебедев Федя, no chat at all: 1 child, 0 covered;
      «Солнышко» — Петров Артём (one parent in chat A), Сидоров Миша (two parents in chat A),
                   Морозов Лёва (his mother is only in the archived chat), Орлов Гоша (no
                   parent); Зайцев Ваня has left (his mother is still in chat A): 4 children,
                   2 covered;
      «Старая группа» is archived and shown nowhere.
      In all: 4 of 8 children covered (50%).

    Chats (members / accepted the current rules; messages in the last 7 days):
      three system chats, each with the five trusted staff (the unverified newcomer waits
        outside them), of whom only the director accepted: 5 / 1;
      A «Родители группы «Солнышко»» (educator, co-moderator admin, parent, Ольга and Павел
        Сидоровы, Алла Зайцева, Ирина Соколова): 7 / 5 (Павел and Ирина did not accept);
        coverage 2 of 4; 3 messages on 16 March (+1 deleted), 2 on 8 March; 2 open reports and a
        resolved one; an active block, an expired one and a lifted one; one waiting request and
        an admitted one; a live invite and an expired one;
      B «=HYPERLINK(...)» of «Капелька» (other educator, co-moderator «-2+3», Игорь, «+cmd»,
        «@SUM(1)»): 5 / 3; coverage 2 of 3; 5 messages on 17 March, one on 6 February; a revoked
        invite and a used-up one; two moderation log lines;
      C «Объявления «Капелька»», a channel (other educator, Игорь): 2 members, of whom only the
        educator is asked to accept the rules (a parent only reads a channel): 1 / 1;
        coverage 1 of 3;
        2 messages on 15 March; one waiting request; a live 30-day invite;
      a direct chat of the educator and the parent (no rules, no group): 1 message today;
      D, «Солнышко»'s archived chat (Наталья Морозова): a message on 16 March, an open report,
        an active block and a waiting request, none of which count.
      Figures: 7 chats; accepted 12 of the 28 memberships asked (43%); 11 messages in 7 days; 2 open
      reports; 1 active block; 2 waiting; 3 live invites (A, C and a staff invite); 1 unverified
      staff member (Светлана Новикова).
    """

    world: object
    rainbow: object
    sun: object
    drop: object
    chat_a: Chat
    chat_b: Chat
    chat_c: Chat
    direct: Chat
    archived: Chat
    system: list
    unverified: User
    minus: User
    plus: User
    at_sum: User
    igor: User
    olga: User
    pavel: User
    irina: User


def join(chat, user, *, accepted=True, moderator=False, at=LONG_AGO) -> ChatMember:
    """`user` joins `chat` at `at`, having accepted its current rules then (or not at all)."""
    member = ChatMember(chat_id=chat.id, user_id=user.id, is_moderator=moderator, joined_at=at)
    db.session.add(member)
    if accepted:
        accept(member, chat.rules_id, at=at)
    db.session.commit()
    return member


def post(chat, author, when, n=1, **fields) -> list[Message]:
    return [
        f.make_message(chat, author, f"Сообщение {i + 1}", created_at=when, **fields)
        for i in range(n)
    ]


def block(chat, user, by, *, ends, lifted=None, starts=None) -> Block:
    return Block(
        chat_id=chat.id,
        user_id=user.id,
        rules_id=chat.rules_id,
        clause=2,
        starts_at=starts or NOW - timedelta(days=2),
        ends_at=ends,
        created_by_id=by.id,
        lifted_at=lifted,
        lifted_by_id=by.id if lifted else None,
    )


def system_chats(kindergarten) -> list[Chat]:
    return db.session.scalars(
        select(Chat)
        .where(Chat.kindergarten_id == kindergarten.id, Chat.system.is_not(None))
        .order_by(Chat.id)
    ).all()


@pytest.fixture
def kg(world):
    with time_machine.travel(NOW, tick=False):
        yield build_kg(world)


def build_kg(world) -> Kg:
    k = world.kindergarten
    sun, drop = world.group, world.other_group
    rainbow = f.make_group(k, "Радуга")
    f.make_group(k, "Старая группа", archived=True)

    unverified = f.make_staff(k, "Светлана Новикова", verified=False)
    minus = f.make_staff(k, "-2+3", position="drugoe")

    misha = f.make_child(sun, "Сидоров", "Миша")
    olga = f.make_parent(k, "Ольга Сидорова", children=[misha])
    pavel = f.make_parent(k, "Павел Сидоров", children=[misha])
    lyova = f.make_child(sun, "Морозов", "Лёва")
    natalia = f.make_parent(k, "Наталья Морозова", children=[lyova])
    f.make_child(sun, "Орлов", "Гоша")
    vanya = f.make_child(sun, "Зайцев", "Ваня", left=True)
    zaitseva = f.make_parent(k, "Алла Зайцева", children=[vanya])
    dima = f.make_child(drop, "Волков", "Дима")
    igor = f.make_parent(k, "Игорь Волков", children=[dima])
    plus = f.make_parent(k, "+cmd", children=[dima])
    sonya = f.make_child(drop, "Ким", "Соня")
    at_sum = f.make_parent(k, "@SUM(1)", children=[sonya])
    f.make_child(rainbow, "Лебедев", "Федя")
    irina = world.other_group_parent  # Соколова Ева's mother, of «Капелька»

    system = system_chats(k)
    # the staff chats: everybody but the unverified newcomer, who waits outside (issue 13 §1)
    staff = {world.director, world.admin, world.educator, world.other_educator, minus}
    for chat in system:
        members = db.session.scalars(select(ChatMember).where(ChatMember.chat_id == chat.id)).all()
        assert {m.user_id for m in members} == {u.id for u in staff}, "the world's staff changed"
        assert [m.user_id for m in members if m.rules_accepted_id == chat.rules_id] == [
            world.director.id
        ]

    chat_a = f.make_chat(k, world.educator, group=sun, created_at=LONG_AGO)
    join(chat_a, world.admin, moderator=True)
    join(chat_a, world.parent)
    join(chat_a, olga)
    join(chat_a, pavel, accepted=False)
    join(chat_a, zaitseva)
    join(chat_a, irina, accepted=False)

    chat_b = f.make_chat(
        k, world.other_educator, title=FORMULA_TITLE, group=drop, created_at=LONG_AGO
    )
    join(chat_b, minus, accepted=False, moderator=True)
    join(chat_b, igor)
    join(chat_b, plus)
    join(chat_b, at_sum, accepted=False)

    chat_c = f.make_chat(
        k,
        world.other_educator,
        kind="channel",
        title="Объявления «Капелька»",
        group=drop,
        created_at=LONG_AGO,
    )
    join(chat_c, igor)

    direct = f.make_chat(
        k,
        world.educator,
        kind="direct",
        title="Анна Павлова и Екатерина Петрова",
        direct_key=f"{world.educator.id}:{world.parent.id}",
        created_at=LONG_AGO,
    )
    join(direct, world.parent)

    archived = f.make_chat(
        k,
        world.educator,
        title="Старый чат «Солнышко»",
        group=sun,
        archived=True,
        created_at=LONG_AGO,
    )
    join(archived, natalia)

    # messages, oldest first (each one moves its chat's last activity)
    post(chat_b, plus, NOW - timedelta(days=40))  # 6 February: outside every chart but the weeks
    post(chat_a, world.parent, on(date(2027, 3, 8)), 2)
    post(chat_c, world.other_educator, on(date(2027, 3, 15)), 2)
    post(chat_a, world.parent, on(date(2027, 3, 16), 11))
    post(chat_a, pavel, on(date(2027, 3, 16), 11, 30), deleted_at=NOW - timedelta(hours=1))
    post(chat_a, olga, on(date(2027, 3, 16), 12))
    post(chat_a, world.educator, on(date(2027, 3, 16), 13))
    post(archived, natalia, on(date(2027, 3, 16), 14))
    post(chat_b, igor, on(date(2027, 3, 17)), 3)
    post(chat_b, plus, on(date(2027, 3, 17), 13), 2)
    post(direct, world.educator, NOW - timedelta(hours=1))

    reported = db.session.scalar(
        select(Message).where(Message.chat_id == chat_a.id).order_by(Message.id.desc())
    )
    gone = db.session.scalar(select(Message).where(Message.chat_id == archived.id))
    newcomer = f.make_parent(k, "Новая Мама")
    latecomer = f.make_parent(k, "Новый Папа")
    admitted = f.make_parent(k, "Принятая Мама")
    db.session.add_all(
        [
            Report(chat_id=chat_a.id, message_id=reported.id, reporter_id=olga.id),
            Report(chat_id=chat_a.id, message_id=reported.id, reporter_id=zaitseva.id),
            Report(
                chat_id=chat_a.id,
                message_id=reported.id,
                reporter_id=world.parent.id,
                resolved_at=NOW - timedelta(hours=2),
                resolved_by_id=world.educator.id,
                resolution="no_action",
            ),
            Report(chat_id=archived.id, message_id=gone.id, reporter_id=world.parent.id),
            block(chat_a, pavel, world.educator, ends=NOW + timedelta(days=1)),
            block(
                chat_a,
                olga,
                world.educator,
                starts=NOW - timedelta(days=8),
                ends=NOW - timedelta(days=1),
            ),
            block(
                chat_a,
                world.parent,
                world.educator,
                ends=NOW + timedelta(days=5),
                lifted=NOW - timedelta(hours=1),
            ),
            block(archived, natalia, world.educator, ends=NOW + timedelta(days=3)),
            JoinRequest(chat_id=chat_a.id, user_id=newcomer.id),
            JoinRequest(
                chat_id=chat_a.id,
                user_id=admitted.id,
                status="admitted",
                decided_by_id=world.educator.id,
                decided_at=NOW - timedelta(days=1),
            ),
            JoinRequest(chat_id=chat_c.id, user_id=latecomer.id),
            JoinRequest(chat_id=archived.id, user_id=latecomer.id),
            ModerationEntry(
                kindergarten_id=k.id,
                chat_id=chat_b.id,
                actor_id=minus.id,
                action="violation",
                member_id=at_sum.id,
                rules_id=chat_b.rules_id,
                clause=2,
                ground="п. 2. Уважаем друг друга.",
            ),
            ModerationEntry(
                kindergarten_id=k.id,
                chat_id=chat_b.id,
                actor_id=world.other_educator.id,
                action="violation",
                member_id=plus.id,
                rules_id=chat_b.rules_id,
                clause=2,
                ground="п. 2. Уважаем друг друга.",
            ),
        ]
    )
    db.session.commit()

    f.make_chat_invite(chat_a, world.educator)
    f.make_chat_invite(chat_a, world.educator, days=-1)
    f.make_chat_invite(chat_b, world.other_educator, revoked=True)
    f.make_chat_invite(chat_b, world.other_educator, max_uses=1, uses=1)
    f.make_chat_invite(chat_c, world.other_educator, days=30)
    f.make_staff_invite(k, world.director)
    f.make_staff_invite(k, world.director, revoked=True)
    f.make_staff_invite(k, world.director, days=-1)

    return Kg(
        world=world,
        rainbow=rainbow,
        sun=sun,
        drop=drop,
        chat_a=chat_a,
        chat_b=chat_b,
        chat_c=chat_c,
        direct=direct,
        archived=archived,
        system=system,
        unverified=unverified,
        minus=minus,
        plus=plus,
        at_sum=at_sum,
        igor=igor,
        olga=olga,
        pavel=pavel,
        irina=irina,
    )


@pytest.fixture
def director(kg, as_user):
    return as_user(kg.world.director)


# --- the figures and the lists behind them ------------------------------------------------------


def figures(doc: Node) -> dict[str, tuple[str, str]]:
    """href -> (the big number, the «X из Y» under it) of every figure on the dashboard."""
    found = {}
    for link in doc.by_id("figures").find_all("a", class_="stat"):
        small = link.find("small")
        found[link.attrs["href"]] = (link.find("b").text, small.text if small else "")
    return found


KG_FIGURES = {
    "/director/chats": ("7", ""),
    "#groups": ("50%", "4 из 8"),
    "/director/chats?sort=accepted&dir=asc": ("43%", "12 из 28"),
    "/director/chats?sort=messages": ("11", ""),
    "/director/chats?sort=reports": ("2", ""),
    "/director/chats?sort=blocks": ("1", ""),
    "/director/chats?sort=waiting": ("2", ""),
    "/admin/invites": ("3", ""),
    "/admin/staff": ("1", ""),
}


def test_dashboard_figures(kg, director):
    assert figures(get_page(director, "/director/")) == KG_FIGURES


def test_every_figure_links_to_the_list_behind_it(kg, director):
    doc = get_page(director, "/director/")
    links = [a.attrs["href"] for a in doc.by_id("figures").find_all("a")]
    assert len(links) == 9
    for href in links:
        if href.startswith("#"):
            assert doc.by_id(href[1:]) is not None
        else:
            assert director.get(href).status_code == 200, href

    # ... and the list shows what the figure counted
    assert chats_table(get_page(director, "/director/chats?sort=reports"))[0]["id"] == kg.chat_a.id
    assert chats_table(get_page(director, "/director/chats?sort=blocks"))[0]["id"] == kg.chat_a.id
    waiting = chats_table(get_page(director, "/director/chats?sort=waiting"))
    assert {row["id"] for row in waiting[:2]} == {kg.chat_a.id, kg.chat_c.id}
    assert [row["Заявки"] for row in waiting[:3]] == ["1", "1", "0"]
    by_accepted = chats_table(get_page(director, "/director/chats?sort=accepted&dir=asc"))
    assert by_accepted[0]["id"] == kg.direct.id  # no rules: first, then the lowest share
    assert by_accepted[1]["Приняли правила"] == "1 из 5"  # a system chat: the director only
    invites = director.get("/admin/invites").get_data(as_text=True)
    assert invites.count('name="chat" value=') == 2 and invites.count('name="staff" value=') == 1
    staff = director.get("/admin/staff").get_data(as_text=True)
    assert "Светлана Новикова" in staff


def test_groups_table(kg, director):
    doc = get_page(director, "/director/")
    table = doc.find("table", class_="groups-table")
    rows = []
    for tr in table.find("tbody").find_all("tr"):
        cells = tr.find_all("td")
        rows.append(
            (
                cells[0].find("bdi").text,
                cells[0].find("a").attrs["href"],
                cells[1].text,
                cells[2].text,
                "нет чата" in cells[0].text,
            )
        )
    assert rows == [
        ("Капелька", f"/groups/{kg.drop.id}", "3", "2 из 3", False),
        ("Радуга", f"/groups/{kg.rainbow.id}", "1", "0 из 1", True),
        ("Солнышко", f"/groups/{kg.sun.id}", "4", "2 из 4", False),
    ]
    assert "Старая группа" not in doc.text


# --- the all-chats table ------------------------------------------------------------------------


def test_chats_table_figures_per_chat(kg, director):
    rows = {row["id"]: row for row in chats_table(get_page(director, "/director/chats"))}
    a, b, c, d = kg.chat_a, kg.chat_b, kg.chat_c, kg.direct
    assert kg.archived.id not in rows
    assert set(rows) == {a.id, b.id, c.id, d.id, *(chat.id for chat in kg.system)}

    def figures_of(chat):
        row = rows[chat.id]
        return {
            key: row[key]
            for key in (
                "Группа",
                "Модераторы",
                "Участники",
                "Дети с родителем",
                "Приняли правила",
                "За 7 дней",
                "Жалобы",
                "Блокировки",
                "Заявки",
            )
        }

    assert figures_of(a) == {
        "Группа": "Солнышко",
        "Модераторы": "Анна Павлова, Елена Кузнецова",
        "Участники": "7",
        "Дети с родителем": "2 из 4",
        "Приняли правила": "5 из 7",
        "За 7 дней": "3",
        "Жалобы": "2",
        "Блокировки": "1",
        "Заявки": "1",
    }
    assert figures_of(b) == {
        "Группа": "Капелька",
        "Модераторы": "-2+3, Марина Волкова",
        "Участники": "5",
        "Дети с родителем": "2 из 3",
        "Приняли правила": "3 из 5",
        "За 7 дней": "5",
        "Жалобы": "0",
        "Блокировки": "0",
        "Заявки": "0",
    }
    assert figures_of(c) == {
        "Группа": "Капелька",
        "Модераторы": "Марина Волкова",
        "Участники": "2",
        "Дети с родителем": "1 из 3",
        "Приняли правила": "1 из 1",  # the parent only reads the channel: not asked
        "За 7 дней": "2",
        "Жалобы": "0",
        "Блокировки": "0",
        "Заявки": "1",
    }
    assert figures_of(d) == {
        "Группа": "—",
        "Модераторы": "Анна Павлова",
        "Участники": "2",
        "Дети с родителем": "—",
        "Приняли правила": "—",
        "За 7 дней": "1",
        "Жалобы": "0",
        "Блокировки": "0",
        "Заявки": "0",
    }
    for chat in kg.system:
        assert figures_of(chat) == {
            "Группа": "—",
            "Модераторы": "Ольга Смирнова",
            "Участники": "5",
            "Дети с родителем": "—",
            "Приняли правила": "1 из 5",
            "За 7 дней": "0",
            "Жалобы": "0",
            "Блокировки": "0",
            "Заявки": "0",
        }
    assert rows[b.id]["title"] == FORMULA_TITLE


def test_every_chat_row_links_to_its_chat(kg, director):
    rows = chats_table(get_page(director, "/director/chats"))
    assert len(rows) == 7
    for row in rows:
        assert row["href"] == f"/chats/{row['id']}"
        assert director.get(row["href"]).status_code == 200


def test_every_link_in_the_chats_table_resolves(kg, director):
    doc = get_page(director, "/director/chats")
    table = doc.by_id("chats-table")
    hrefs = {a.attrs["href"] for a in table.find_all("a")}
    a = kg.chat_a.id
    assert {
        f"/chats/{a}/reports",
        f"/chats/{a}/requests",
        f"/chats/{a}/rules/acceptances",
        f"/groups/{kg.sun.id}",
    } <= hrefs
    for href in sorted(hrefs):
        assert director.get(href).status_code == 200, href


def test_sort_by_messages_puts_the_busiest_first_and_asc_reverses(kg, director):
    busiest = chats_table(get_page(director, "/director/chats?sort=messages"))
    assert [row["id"] for row in busiest[:3]] == [kg.chat_b.id, kg.chat_a.id, kg.chat_c.id]
    counts = [int(row["За 7 дней"]) for row in busiest]
    assert counts == sorted(counts, reverse=True) == [5, 3, 2, 1, 0, 0, 0]

    quietest = chats_table(get_page(director, "/director/chats?sort=messages&dir=asc"))
    assert [int(row["За 7 дней"]) for row in quietest] == [0, 0, 0, 1, 2, 3, 5]
    assert [row["id"] for row in quietest[-3:]] == [kg.chat_c.id, kg.chat_a.id, kg.chat_b.id]


def test_sort_by_title(kg, director):
    expected = [
        FORMULA_TITLE,
        "Анна Павлова и Екатерина Петрова",
        "Новости детского сада",
        "Объявления «Капелька»",
        "Педагоги",
        "Родители группы «Солнышко»",
        "Сотрудники",
    ]
    titles = [row["title"] for row in chats_table(get_page(director, "/director/chats?sort=title"))]
    assert titles == expected
    backwards = chats_table(get_page(director, "/director/chats?sort=title&dir=desc"))
    assert [row["title"] for row in backwards] == expected[::-1]


@pytest.mark.parametrize(
    "query", ["?sort=nonsense", "?sort=title&dir=sideways", "?sort=", "?dir=asc"]
)
def test_unknown_sort_falls_back_without_error(kg, director, query):
    doc = get_page(director, "/director/chats" + query)
    rows = chats_table(doc)
    assert len(rows) == 7
    if "sort=title" not in query:
        # the default: the latest activity first (or last, asked so)
        active = doc.find("th", aria_sort=True)
        assert "Активность" in active.text
    csv_rows = read_csv(director.get("/director/chats.csv" + query))
    assert len(csv_rows) == 8


def test_default_sort_is_the_latest_activity_first(kg, director):
    rows = chats_table(get_page(director, "/director/chats"))
    assert rows[0]["id"] == kg.direct.id  # an hour ago
    assert rows[1]["id"] == kg.chat_b.id  # yesterday


# --- charts -------------------------------------------------------------------------------------


def test_daily_chart_has_30_bars_with_each_days_count(kg, director):
    doc = get_page(director, "/director/")
    chart = doc.by_id("chart-daily")
    titles = bar_titles(chart)
    assert len(titles) == 30
    counts = {
        date(2027, 3, 8): 2,
        date(2027, 3, 15): 2,
        # A's three (the deleted one does not count) and the chat archived since: the chart is
        # the history of what was written
        date(2027, 3, 16): 4,
        date(2027, 3, 17): 5,
        date(2027, 3, 18): 1,
    }
    expected = [
        f"{day_label(day)}: {counts.get(day, 0)}"
        for day in (CHART_FIRST + timedelta(days=i) for i in range(30))
    ]
    assert titles == expected
    assert "всего 14" in chart.find("figcaption").text


def test_per_group_chart_has_a_row_per_group_with_its_total(kg, director):
    doc = get_page(director, "/director/")
    rows = [
        (row.find("bdi").text, row.find("small").text)
        for row in doc.by_id("per-group").find_all("div", class_="multiple")
    ]
    assert rows == [("Капелька", "7"), ("Радуга", "0"), ("Солнышко", "6")]


def test_weekly_chart_counts_distinct_authors_per_week(kg, director):
    titles = bar_titles(get_page(director, "/director/").by_id("chart-weekly"))
    assert len(titles) == 12
    authors = {
        # parent, Ольга, educator; Наталья; Игорь, «+cmd»; the other educator — Павел's message
        # is deleted, the educator's direct message is the same person again
        date(2027, 3, 15): 7,
        date(2027, 3, 8): 1,  # the parent's two messages
        date(2027, 2, 1): 1,  # «+cmd» on 6 February
    }
    weeks = [WEEK_FIRST + timedelta(weeks=i) for i in range(12)]
    assert titles == [f"{day_label(week)}: {authors.get(week, 0)}" for week in weeks]


def test_group_page_chart_counts_the_groups_messages(kg, director):
    titles = bar_titles(get_page(director, f"/groups/{kg.drop.id}").by_id("chart-group"))
    assert len(titles) == 30
    assert titles[-2] == f"{day_label(date(2027, 3, 17))}: 5"
    assert titles[-4] == f"{day_label(date(2027, 3, 15))}: 2"
    assert sum(int(t.rsplit(": ", 1)[1]) for t in titles) == 7


# --- CSV exports --------------------------------------------------------------------------------


def test_chats_csv(kg, director):
    rows = assert_csv_response(director.get("/director/chats.csv?sort=title"), "Чаты ")
    assert rows[0][:5] == ["Чат", "Вид", "Группа", "Модераторы", "Участники"]
    assert len(rows) == 8
    by_title = {row[0]: row for row in rows[1:]}
    assert FORMULA_TITLE not in by_title
    formula = by_title["'" + FORMULA_TITLE]
    assert formula[:10] == [
        "'" + FORMULA_TITLE,
        "Групповой чат",
        "Капелька",
        "'-2+3, Марина Волкова",
        "5",
        "3",
        "2",
        "5",
        "3",
        "5",
    ]
    assert formula[10] == "17.03.2027 13:00"
    assert formula[11:] == ["0", "0", "0"]
    sun = by_title["Родители группы «Солнышко»"]
    assert sun[4:10] == ["7", "4", "2", "7", "5", "3"] and sun[11:] == ["2", "1", "1"]
    channel = by_title["Объявления «Капелька»"]
    assert channel[7:9] == ["1", "1"]  # asked: the educator; the parent only reads
    assert by_title["Анна Павлова и Екатерина Петрова"][1:10] == [
        "Личный чат",
        "",
        "Анна Павлова",
        "2",
        "",
        "",
        "",
        "",
        "1",
    ]
    assert [row[0] for row in rows[1:]][0] == "'" + FORMULA_TITLE  # sorted as asked


def rules_cell(cell: str) -> str:
    """«Правила детского сада, редакция 1 от 18.12.2026» -> «сад 1»; «Правила чата, …» ->
    «чат 1»: which text, which version (the same number can be of either)."""
    if not cell:
        return ""
    found = re.fullmatch(r"Правила (детского сада|чата), редакция (\d+) от \d\d\.\d\d\.\d{4}", cell)
    assert found, cell
    return ("сад " if found[1] == "детского сада" else "чат ") + found[2]


def with_rules_cells(row: list[str]) -> list[str]:
    return [*row[:4], rules_cell(row[4]), rules_cell(row[5]), *row[6:]]


def test_acceptances_csv(kg, director):
    rows = assert_csv_response(director.get("/director/acceptances.csv"), "Принятие правил ")
    assert rows[0] == [
        "Чат",
        "Группа",
        "Участник",
        "Роль",
        "Действующая редакция",
        "Принятая редакция",
        "Принял(а) действующие",
        "Когда принял(а)",
    ]
    formula_chat = "'" + FORMULA_TITLE
    mine = [row for row in rows[1:] if row[0] == formula_chat]
    # (sorted here: how punctuation sorts among names is the database's collation)
    assert sorted(with_rules_cells(row)[2:] for row in mine) == [
        ["'+cmd", "Родитель", "сад 1", "сад 1", "да", "18.12.2026 12:00"],
        ["'-2+3", "Сотрудник", "сад 1", "", "нет", ""],
        ["'@SUM(1)", "Родитель", "сад 1", "", "нет", ""],
        ["Игорь Волков", "Родитель", "сад 1", "сад 1", "да", "18.12.2026 12:00"],
        ["Марина Волкова", "Сотрудник", "сад 1", "сад 1", "да", "18.03.2027 12:00"],
    ]
    assert all(row[1] == "Капелька" for row in mine)
    cells = {cell for row in rows for cell in row}
    for raw in (FORMULA_TITLE, "+cmd", "-2+3", "@SUM(1)"):
        assert raw not in cells
    # no archived chat, no direct chat (it has no rules)
    chats = {row[0] for row in rows[1:]}
    assert chats == {
        formula_chat,
        "Объявления «Капелька»",
        "Родители группы «Солнышко»",
        "Педагоги",
        "Новости детского сада",
        "Сотрудники",
    }
    assert len(rows) == 1 + 5 + 2 + 7 + 3 * 5


def test_report_csv_for_a_month(kg, director):
    rows = assert_csv_response(
        director.get("/director/report.csv?month=2027-03"), "Отчёт об использовании 2027-03"
    )
    assert rows[0][:4] == ["Чат", "Вид", "Группа", "Сообщений"]
    by_title = {row[0]: row for row in rows[1:]}
    assert FORMULA_TITLE not in by_title
    assert by_title["'" + FORMULA_TITLE][3:5] == ["5", "2"]  # the February one is not March's
    assert by_title["Родители группы «Солнышко»"][3:5] == ["5", "3"]
    # archived today: March's report still has what was written there in March (a chat
    # archived before the month is not listed: see the monthly report's test)
    assert by_title["Старый чат «Солнышко»"][3:5] == ["1", "1"]


def test_moderation_log_csv(kg, director):
    rows = assert_csv_response(director.get("/moderation/log.csv"), "Журнал модерации")
    assert rows[0][:5] == ["Дата и время", "Чат", "Кто", "Действие", "Участник"]
    lines = {(row[1], row[2], row[4]) for row in rows[1:]}
    formula_chat = "'" + FORMULA_TITLE
    assert (formula_chat, "'-2+3", "'@SUM(1)") in lines
    assert (formula_chat, "Марина Волкова", "'+cmd") in lines
    cells = {cell for row in rows for cell in row}
    for raw in (FORMULA_TITLE, "+cmd", "-2+3", "@SUM(1)"):
        assert raw not in cells


@pytest.mark.parametrize(
    "url", ["/director/chats.csv", "/director/acceptances.csv", "/director/report.csv"]
)
def test_exports_for_the_administrator_too(kg, as_user, url):
    response = as_user(kg.world.admin).get(url)
    assert response.status_code == 200 and response.mimetype == "text/csv"


# --- the group page -----------------------------------------------------------------------------


def group_chat_lists(doc: Node, chat) -> tuple[list[str], list[str]]:
    article = doc.by_id(f"chat-{chat.id}")
    missing = article.find("ul", class_="missing-children")
    behind = article.find("ul", class_="not-accepted")
    return (
        [li.text for li in missing.find_all("li")] if missing else [],
        [li.text for li in behind.find_all("li")] if behind else [],
    )


def test_group_page_lists_the_missing_children_and_who_did_not_accept(kg, director):
    doc = get_page(director, f"/groups/{kg.sun.id}")
    assert [a.attrs["id"] for a in doc.find_all("article", class_="group-chat")] == [
        f"chat-{kg.chat_a.id}"
    ]  # not the archived chat
    assert group_chat_lists(doc, kg.chat_a) == (
        ["Морозов Лёва", "Орлов Гоша"],
        ["Ирина Соколова", "Павел Сидоров"],
    )
    assert "Зайцев" not in doc.text  # left the kindergarten

    doc = get_page(director, f"/groups/{kg.drop.id}")
    assert group_chat_lists(doc, kg.chat_b) == (["Соколова Ева"], ["-2+3", "@SUM(1)"])
    assert group_chat_lists(doc, kg.chat_c) == (["Ким Соня", "Соколова Ева"], [])
    assert "Все участники приняли действующие правила." in doc.by_id(f"chat-{kg.chat_c.id}").text

    doc = get_page(director, f"/groups/{kg.rainbow.id}")
    assert "У группы ещё нет чата." in doc.text


def test_group_page_for_its_educator_with_both_buttons(kg, as_user):
    educator = as_user(kg.world.educator)
    doc = get_page(educator, f"/groups/{kg.sun.id}")
    article = doc.by_id(f"chat-{kg.chat_a.id}")
    buttons = [b.text for b in article.find_all("button")]
    assert "Напомнить правила в чате" in buttons
    assert "Новая ссылка и плакат для печати" in buttons
    assert doc.find("nav", aria_label="breadcrumb") is None  # the dashboard is not theirs


def form_with_button(doc: Node, label: str) -> tuple[str, dict]:
    for form in doc.find_all("form"):
        if any(b.text == label for b in form.find_all("button")):
            data = {
                i.attrs["name"]: i.attrs.get("value", "")
                for i in form.find_all("input")
                if i.attrs.get("name") and i.attrs.get("name") != "csrf_token"
            }
            return form.attrs["action"], data
    raise AssertionError(f"no form with the button «{label}»")


def test_pressing_remind_posts_a_reminder_and_comes_back_to_the_group(kg, as_user):
    educator = as_user(kg.world.educator)
    doc = get_page(educator, f"/groups/{kg.sun.id}")
    action, data = form_with_button(doc, "Напомнить правила в чате")
    assert action == f"/chats/{kg.chat_a.id}/remind"
    assert data == {"next": f"/groups/{kg.sun.id}#chat-{kg.chat_a.id}"}

    response = educator.post(action, data=data)
    assert response.status_code == 303
    assert urlsplit(response.location).path == f"/groups/{kg.sun.id}"
    reminders = db.session.scalars(
        select(Message).where(Message.chat_id == kg.chat_a.id, Message.kind == "reminder")
    ).all()
    assert [(m.author_id, m.subject_id) for m in reminders] == [(kg.world.educator.id, None)]
    entry = db.session.scalar(
        select(ModerationEntry).where(
            ModerationEntry.chat_id == kg.chat_a.id, ModerationEntry.action == "reminder"
        )
    )
    assert entry is not None and entry.actor_id == kg.world.educator.id
    back = educator.get(response.location)
    assert back.status_code == 200
    assert "Напоминание о правилах отправлено в чат." in back.get_data(as_text=True)


def test_pressing_new_invite_makes_a_30_day_link_with_its_poster(kg, as_user):
    educator = as_user(kg.world.educator)
    doc = get_page(educator, f"/groups/{kg.sun.id}")
    action, data = form_with_button(doc, "Новая ссылка и плакат для печати")
    assert action == f"/chats/{kg.chat_a.id}/invites"
    before = {i.id for i in db.session.scalars(select(ChatInvite))}

    response = educator.post(action, data=data)
    assert response.status_code == 303
    (invite,) = [i for i in db.session.scalars(select(ChatInvite)) if i.id not in before]
    assert response.location == f"/invites/{invite.id}"
    assert invite.chat_id == kg.chat_a.id and invite.created_by_id == kg.world.educator.id
    assert invite.expires_at == NOW + timedelta(days=30)
    assert invite.max_uses is None and invite.revoked_at is None and invite.state() == "live"

    shown = get_page(educator, response.location)
    poster = f"/invites/{invite.id}/poster"
    assert any(a.attrs.get("href") == poster for a in shown.find_all("a"))
    assert educator.get(poster).status_code == 200


@pytest.mark.parametrize("persona", ["other_educator", "parent", "other_group_parent"])
def test_group_page_is_not_found_for_others(kg, as_user, persona):
    assert as_user(kg.world.persona(persona)).get(f"/groups/{kg.sun.id}").status_code == 404


def test_group_page_for_the_administration(kg, as_user):
    for who in (kg.world.director, kg.world.admin):
        assert as_user(who).get(f"/groups/{kg.sun.id}").status_code == 200


def test_group_page_of_another_kindergarten_or_none_is_not_found(kg, director):
    assert director.get("/groups/999999").status_code == 404


# --- access -------------------------------------------------------------------------------------

DIRECTOR_PAGES = [
    "/director/",
    "/director/chats",
    "/director/chats?sort=messages",
    "/director/chats.csv",
    "/director/acceptances.csv",
    "/director/report",
    "/director/report?month=2026-11",
    "/director/report.csv",
    "/moderation/log.csv",
]


@pytest.mark.parametrize("persona", ["parent", "other_group_parent", "educator", "other_educator"])
@pytest.mark.parametrize("url", DIRECTOR_PAGES)
def test_parents_and_educators_are_refused(world, as_user, persona, url):
    response = as_user(world.persona(persona)).get(url)
    assert response.status_code == 403
    assert response.mimetype == "text/html"


@pytest.mark.parametrize("url", [*DIRECTOR_PAGES, "/groups/1"])
def test_anonymous_is_sent_to_sign_in(world, client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/login"


@pytest.mark.parametrize("url", DIRECTOR_PAGES)
def test_director_and_administrator_see_it(world, as_user, url):
    for who in (world.director, world.admin):
        assert as_user(who).get(url).status_code == 200, (who.name, url)


def test_unverified_administrator_is_refused(world, as_user):
    waiting = f.make_staff(world.kindergarten, "Ждёт Проверки", admin=True, verified=False)
    assert as_user(waiting).get("/director/").status_code == 403


# --- the monthly report -------------------------------------------------------------------------

REPORT_NOW = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)


def report_cells(doc: Node) -> dict[str, str]:
    return {key: doc.by_id(f"r-{key}").text for key in ("messages", "authors", "joined", "deleted")}


def report_rows(doc: Node) -> dict[int, list[str]]:
    """chat id -> [title, group, messages, authors, joined, deleted]."""
    rows = {}
    for tr in doc.by_id("report-chats").find_all("tr", data_chat=True):
        cells = tr.find_all("td")
        names = [bdi.text for bdi in cells[0].find_all("bdi")]
        rows[int(tr.attrs["data-chat"])] = names + [td.text for td in cells[1:5]]
    return rows


def test_monthly_report_counts_the_month_and_nothing_else(world, as_user):
    k = world.kindergarten
    jan5 = msk(2027, 1, 5, 10)
    with time_machine.travel(REPORT_NOW, tick=False) as traveller:
        a = f.make_chat(k, world.educator, group=world.group, created_at=jan5)
        b = f.make_chat(
            k,
            world.other_educator,
            title="Родители группы «Капелька»",
            group=world.other_group,
            created_at=jan5,
        )
        closed = f.make_chat(
            k, world.educator, title="Закрытый чат", group=world.group, created_at=jan5
        )
        closed.archived_at = msk(2027, 1, 20)
        db.session.commit()
        new = f.make_chat(k, world.educator, title="Новый чат", group=world.group)
        join(a, world.parent, at=msk(2027, 2, 3, 10))
        join(b, world.other_group_parent, at=msk(2027, 2, 20, 10))
        late = f.make_parent(
            k, "Мария Поздняя", children=[f.make_child(world.group, "Поздний", "Петя")]
        )
        join(a, late, at=msk(2027, 3, 2, 10))

        post(a, world.parent, msk(2027, 1, 31, 23, 30))  # January on the kindergarten's clock
        post(a, world.parent, msk(2027, 2, 1, 0, 30))  # still 31 January in UTC: February
        post(a, world.educator, msk(2027, 2, 14))
        (rude,) = post(a, world.parent, msk(2027, 2, 19))
        post(a, world.parent, msk(2027, 2, 28, 23, 30))
        post(b, world.other_group_parent, msk(2027, 2, 10))
        post(b, world.other_group_parent, msk(2027, 2, 11), deleted_at=msk(2027, 2, 11, 13))
        post(b, world.other_educator, msk(2027, 3, 1, 0, 10))  # 28 February in UTC: March
        post(b, world.other_educator, msk(2027, 3, 5))
        post(closed, world.educator, msk(2027, 1, 15))
        post(new, world.educator, msk(2027, 3, 9))
        for chat, when in ((a, msk(2027, 1, 25)), (b, msk(2027, 3, 3))):
            db.session.add(
                ModerationEntry(
                    kindergarten_id=k.id,
                    chat_id=chat.id,
                    actor_id=world.educator.id,
                    action="delete",
                    clause=2,
                    ground="п. 2",
                    created_at=when,
                )
            )
        db.session.commit()

        # the educator deletes the rude message on 20 February, through the real route
        traveller.move_to(msk(2027, 2, 20, 10))
        educator = as_user(world.educator)
        removed = educator.post(f"/messages/{rude.id}/remove", data={"clause": 2})
        assert removed.status_code == 303
        traveller.move_to(REPORT_NOW)

        director = as_user(world.director)
        doc = get_page(director, "/director/report?month=2027-02")
        assert report_cells(doc) == {"messages": "4", "authors": "3", "joined": "2", "deleted": "1"}
        quiet = {chat.id: [chat.title, "0", "0", "0", "0"] for chat in system_chats(k)}
        assert report_rows(doc) == {
            a.id: ["Родители группы «Солнышко»", "Солнышко", "3", "2", "1", "1"],
            b.id: ["Родители группы «Капелька»", "Капелька", "1", "1", "1", "0"],
            **quiet,  # the system chats, where nobody wrote
        }
        assert "Месяц ещё идёт" not in doc.text
        assert "1 февраля 2027" in doc.text and "28 февраля 2027" in doc.text
        daily = bar_titles(doc.by_id("chart-daily"))
        assert len(daily) == 28
        assert daily[0] == f"{day_label(date(2027, 2, 1))}: 1"
        assert daily[-1] == f"{day_label(date(2027, 2, 28))}: 1"
        assert sum(int(t.rsplit(": ", 1)[1]) for t in daily) == 4

        csv_rows = assert_csv_response(
            director.get("/director/report.csv?month=2027-02"), "Отчёт об использовании 2027-02"
        )
        assert csv_rows[0] == [
            "Чат",
            "Вид",
            "Группа",
            "Сообщений",
            "Писали",
            "Вступили",
            "Приняли правила",
            "Удалено модератором",
            "Нарушений",
            "Блокировок",
            "Напоминаний правил",
            "Жалоб",
        ]
        assert csv_rows[1:] == [
            ["Родители группы «Капелька»", "Групповой чат", "Капелька"]
            + ["1", "1", "1", "1", "0", "0", "0", "0", "0"],
            ["Родители группы «Солнышко»", "Групповой чат", "Солнышко"]
            + ["3", "2", "1", "1", "1", "0", "0", "0", "0"],
            ["Новости детского сада", "Канал", ""] + ["0"] * 9,
            ["Педагоги", "Групповой чат", ""] + ["0"] * 9,
            ["Сотрудники", "Канал", ""] + ["0"] * 9,
        ]

        january = get_page(director, "/director/report?month=2027-01")
        assert report_cells(january)["messages"] == "2"  # A's late evening and the closed chat
        assert report_cells(january)["deleted"] == "1"
        assert closed.id in report_rows(january)  # archived during January: still January's

        march = get_page(director, "/director/report?month=2027-03")
        assert report_cells(march)["messages"] == "3"
        assert report_cells(march)["deleted"] == "1"
        assert set(report_rows(march)) == {a.id, b.id, new.id, *quiet}
        assert "Месяц ещё идёт" in march.text

        current = get_page(director, "/director/report")
        assert report_cells(current) == report_cells(march)


@pytest.mark.parametrize(
    ("month", "message"),
    [
        ("2999-01", "ещё не наступил"),
        ("2027-04", "ещё не наступил"),
        ("2026-13", "ГГГГ-ММ"),
        ("2026-00", "ГГГГ-ММ"),
        ("abc", "ГГГГ-ММ"),
        ("2026-1", "ГГГГ-ММ"),
        ("2026-011", "ГГГГ-ММ"),
    ],
)
@pytest.mark.parametrize("url", ["/director/report", "/director/report.csv"])
def test_report_refuses_a_bad_month(world, as_user, url, month, message):
    with time_machine.travel(REPORT_NOW, tick=False):
        response = as_user(world.director).get(url, query_string={"month": month})
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    assert "Content-Disposition" not in response.headers
    errors = [p.text for p in parse(response).find_all("p", class_="field-error")]
    assert len(errors) == 1 and message in errors[0], errors  # one clear message


def test_report_page_prints(world, as_user):
    doc = get_page(as_user(world.director), "/director/report")
    buttons = [b for b in doc.find_all("button", data_print=True)]
    assert [b.text for b in buttons] == ["Печать"]
    sheets = [
        link.attrs["href"]
        for link in doc.find_all("link", rel="stylesheet")
        if "director.css" in link.attrs["href"]
    ]
    assert len(sheets) == 1
    css = as_user(world.director).get(sheets[0])
    text = css.get_data(as_text=True)
    css.close()  # a static file is sent from an open file
    assert css.status_code == 200
    assert "@media print" in text
    assert doc.find("body", class_="report-page") is not None


# --- when a chat gets rules of its own ----------------------------------------------------------


@pytest.fixture
def own_rules(kg, as_user):
    """«Солнышко»'s chat gets rules of its own: their version 1, like the default it followed.
    Only the educator, who wrote them, has accepted them."""
    changed = as_user(kg.world.educator).post(
        f"/chats/{kg.chat_a.id}/rules/edit",
        data={"text": "1. Пишем только по делу.", "note": "Своя редакция"},
    )
    assert changed.status_code == 303
    db.session.refresh(kg.chat_a)
    return kg.chat_a


def test_new_rules_put_everyone_behind_on_the_group_page_and_in_the_table(kg, director, own_rules):
    doc = get_page(director, f"/groups/{kg.sun.id}")
    assert group_chat_lists(doc, own_rules)[1] == [
        "Алла Зайцева",
        "Екатерина Петрова",
        "Елена Кузнецова",
        "Ирина Соколова",
        "Ольга Сидорова",
        "Павел Сидоров",
    ]
    (row,) = [
        r for r in chats_table(get_page(director, "/director/chats")) if r["id"] == own_rules.id
    ]
    assert row["Приняли правила"] == "1 из 7"


def test_acceptances_csv_tells_the_chats_own_rules_from_the_default(kg, director, own_rules):
    """Version 1 of the chat's own rules is not version 1 of the kindergarten's default: who
    accepted only the default has not accepted the rules in force."""
    rows = read_csv(director.get("/director/acceptances.csv"))
    mine = {row[2]: with_rules_cells(row) for row in rows[1:] if row[0] == own_rules.title}
    assert mine["Анна Павлова"][4:7] == ["чат 1", "чат 1", "да"]
    assert mine["Екатерина Петрова"][4:7] == ["чат 1", "сад 1", "нет"]
    assert mine["Екатерина Петрова"][7] == ""


# --- another kindergarten, another time zone ----------------------------------------------------


def test_another_kindergarten_counts_nowhere(kg, director):
    from .test_admin_groups import other_kindergarten

    other = other_kindergarten()
    group = f.make_group(other, "Чужая группа")
    child = f.make_child(group, "Чужой", "Ребёнок")
    teacher = f.make_staff(other, "Чужой Педагог", groups=[group])
    f.make_staff(other, "Чужой Новичок", verified=False)
    mother = f.make_parent(other, "Чужая Мама", children=[child])
    stranger = f.make_parent(other, "Чужой Папа")
    chat = f.make_chat(other, teacher, title="Чужой чат", group=group, members=[mother])
    (message,) = post(chat, mother, NOW - timedelta(hours=2))
    db.session.add_all(
        [
            Report(chat_id=chat.id, message_id=message.id, reporter_id=teacher.id),
            block(chat, mother, teacher, ends=NOW + timedelta(days=1)),
            JoinRequest(chat_id=chat.id, user_id=stranger.id),
            ModerationEntry(
                kindergarten_id=other.id,
                chat_id=chat.id,
                actor_id=teacher.id,
                action="delete",
                clause=1,
                ground="п. 1",
            ),
        ]
    )
    db.session.commit()
    f.make_chat_invite(chat, teacher)

    doc = get_page(director, "/director/")
    assert figures(doc) == KG_FIGURES
    assert "Чужая группа" not in doc.text
    assert bar_titles(doc.by_id("chart-daily"))[-1] == f"{day_label(TODAY)}: 1"
    assert chat.id not in {row["id"] for row in chats_table(get_page(director, "/director/chats"))}
    for url in ("/director/chats.csv", "/director/acceptances.csv", "/director/report.csv"):
        assert "Чужой чат" not in director.get(url).get_data(as_text=True), url
    report = get_page(director, "/director/report")
    assert chat.id not in report_rows(report)
    assert report_cells(report)["deleted"] == "0"
    assert director.get(f"/groups/{group.id}").status_code == 404


def test_days_are_the_kindergartens_own_in_its_time_zone(kg, director):
    kg.world.kindergarten.timezone = "Asia/Vladivostok"  # UTC+10: it is 19:00 there at NOW
    db.session.commit()
    chat = kg.chat_c
    post(chat, kg.igor, datetime(2027, 3, 16, 13, 59, tzinfo=UTC))  # 16 March, 23:59 there
    post(chat, kg.igor, datetime(2027, 3, 16, 14, 0, tzinfo=UTC), 3)  # 17 March, 00:00 there
    post(chat, kg.igor, datetime(2027, 3, 17, 14, 30, tzinfo=UTC))  # 18 March, 00:30 there

    titles = bar_titles(get_page(director, "/director/").by_id("chart-daily"))
    # the fixture's messages were at noon in Moscow, 19:00 in Vladivostok: the same days
    assert titles[-3:] == [
        f"{day_label(date(2027, 3, 16))}: 5",
        f"{day_label(date(2027, 3, 17))}: 8",
        f"{day_label(date(2027, 3, 18))}: 2",
    ]
    march = get_page(director, "/director/report?month=2027-03")
    assert report_rows(march)[chat.id][2] == "7"  # 2 of the fixture's and these 5


def test_month_boundaries_in_another_time_zone(world, as_user):
    world.kindergarten.timezone = "Asia/Vladivostok"
    db.session.commit()
    with time_machine.travel(REPORT_NOW, tick=False):
        chat = f.make_chat(
            world.kindergarten,
            world.educator,
            group=world.group,
            members=[world.parent],
            created_at=datetime(2027, 1, 5, tzinfo=UTC),
        )
        post(chat, world.parent, datetime(2027, 1, 31, 13, 59, tzinfo=UTC))  # 31 Jan, 23:59
        post(chat, world.parent, datetime(2027, 1, 31, 14, 0, tzinfo=UTC), 2)  # 1 Feb, 00:00
        post(chat, world.parent, datetime(2027, 2, 28, 13, 59, tzinfo=UTC))  # 28 Feb, 23:59
        post(chat, world.parent, datetime(2027, 2, 28, 14, 0, tzinfo=UTC))  # 1 March, 00:00
        director = as_user(world.director)
        february = get_page(director, "/director/report?month=2027-02")
        assert report_cells(february)["messages"] == "3"
        daily = bar_titles(february.by_id("chart-daily"))
        assert (daily[0], daily[-1]) == (
            f"{day_label(date(2027, 2, 1))}: 2",
            f"{day_label(date(2027, 2, 28))}: 1",
        )
        assert report_cells(get_page(director, "/director/report?month=2027-01"))["messages"] == "1"
        assert report_cells(get_page(director, "/director/report?month=2027-03"))["messages"] == "1"


# --- found in review ---------------------------------------------------------------------------


def test_the_weekly_chart_of_a_month_counts_only_that_months_days(world, as_user):
    """February 2027 starts on a Monday and ends on a Sunday: 4 weeks. A message on Sunday
    31 January is in no bucket of February, one on 1 February in the first."""
    k = world.kindergarten
    with time_machine.travel(REPORT_NOW, tick=False):
        chat = f.make_chat(k, world.educator, group=world.group, created_at=msk(2027, 1, 5))
        post(chat, world.educator, msk(2027, 1, 31, 12))
        post(chat, world.parent, msk(2027, 2, 1, 12))
        post(chat, world.educator, msk(2027, 3, 1, 12))  # March
        doc = get_page(as_user(world.director), "/director/report?month=2027-02")
        chart = doc.by_id("chart-weekly")
        titles = [t.text for t in chart.find_all("title")]
    assert len(chart.find_all("rect")) == 4
    assert titles[0].endswith(": 1") and all(t.endswith(": 0") for t in titles[1:])
    # and a month that starts mid-week: its first bucket starts on the 1st
    with time_machine.travel(REPORT_NOW, tick=False):
        doc = get_page(as_user(world.director), "/director/report?month=2027-01")
        titles = [t.text for t in doc.by_id("chart-weekly").find_all("title")]
    assert titles[0].startswith("1 янв")  # Friday 1 January, not Monday 28 December
    assert titles[-1].endswith(": 1")  # the week of 25–31 January: the educator wrote


def test_an_educator_sees_only_the_groups_chats_they_are_in(world, as_user):
    """A chat the director made for the group, without the educator, stays out of the
    educator's group page (the chat itself is 404 for them), and in the director's."""
    committee = f.make_chat(
        world.kindergarten,
        world.director,
        title="Родительский комитет «Солнышко»",
        group=world.group,
        members=[world.parent],
    )
    mine = f.make_chat(world.kindergarten, world.educator, group=world.group)
    educator = as_user(world.educator)
    assert educator.get(f"/chats/{committee.id}").status_code == 404
    page = educator.get(f"/groups/{world.group.id}").get_data(as_text=True)
    assert "Родительский комитет" not in page and f'id="chat-{mine.id}"' in page
    page = as_user(world.director).get(f"/groups/{world.group.id}").get_data(as_text=True)
    assert "Родительский комитет" in page


def test_a_hand_over_in_the_log_names_the_colleague_as_they_are_now(world, as_user):
    from sferum_lite.models import ModerationEntry

    chat = f.make_chat(world.kindergarten, world.educator, group=world.group)
    colleague = f.make_parent(world.kindergarten, "Прежняя Коллега")  # no staff any more
    db.session.add(
        ModerationEntry(
            kindergarten_id=world.kindergarten.id,
            chat_id=chat.id,
            action="handover",
            member_id=world.educator.id,
            details={"successor": colleague.id, "successor_name": "Прежняя Коллега"},
        )
    )
    db.session.commit()
    director = as_user(world.director)
    assert "передан(а): Прежняя Коллега" in director.get("/moderation/log").get_data(as_text=True)
    assert (
        as_user(colleague)
        .post("/profile/delete", data={"password": f.PASSWORD, "confirm": "УДАЛИТЬ"})
        .status_code
        == 303
    )
    page = director.get("/moderation/log").get_data(as_text=True)
    assert "Прежняя Коллега" not in page and "передан(а): Удалённый пользователь" in page


def test_a_block_of_someone_who_left_the_chat_is_no_active_block(world, as_user):
    """A departure removes the member, not their block row: the table counts blocks of
    members only."""
    from sferum_lite.models import Block, ChatMember, utcnow

    chat = f.make_chat(
        world.kindergarten, world.educator, group=world.group, members=[world.parent]
    )
    db.session.add(
        Block(
            chat_id=chat.id,
            user_id=world.parent.id,
            rules_id=chat.rules_id,
            clause=1,
            ends_at=utcnow() + timedelta(days=3),
            created_by_id=world.educator.id,
        )
    )
    db.session.commit()
    director = as_user(world.director)
    (row,) = [r for r in chats_table(get_page(director, "/director/chats")) if r["id"] == chat.id]
    assert row["Блокировки"] == "1"
    db.session.delete(db.session.get(ChatMember, (chat.id, world.parent.id)))
    db.session.commit()
    (row,) = [r for r in chats_table(get_page(director, "/director/chats")) if r["id"] == chat.id]
    assert row["Блокировки"] == "0"
