"""Server time and queries of the director's pages on a kindergarten with a million messages.

    uv run python bench/dashboard.py [--groups 30] [--chats 100] [--messages 1000000]
                                     [--days 365] [--repeat 20] [--database-url URL]

Builds a throw-away SQLite database (in a temporary folder; or the empty database at
`--database-url`, e.g. PostgreSQL) with the given number of groups (25 children each, ~1.2
parent accounts per child, two educators), chats (the 3 system chats, a parents' chat and a
channel per group, direct educator–parent chats for the rest) and messages spread over the last
`--days` days (more in recent days), plus a few open reports, active blocks, waiting join
requests and moderation log entries. Rows go in with SQLAlchemy Core bulk inserts, not through
the app's actions. Then signs in as the director and requests each page `--repeat` times
through the WSGI test client (a page slower than `--budget` seconds in all gets 3): no
network, so the time is the server's own (routing, queries, templates). Prints the median and
95th percentile, the time spent in SQL (cursor events) and the SQL statements per request, the
page's size raw and gzip-compressed, and the slowest statement of each page: re-run alone
(execute and fetch every row), with its plan (EXPLAIN QUERY PLAN; on PostgreSQL EXPLAIN
ANALYZE) when it takes over `--slow` ms (`--explain`: every page's slowest). `--sql` runs a
statement after the build — a proposed index, say — to measure the pages with it. Not a test:
numbers go to bench/README.md.
"""

from __future__ import annotations

import argparse
import gzip
import math
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import event, func, insert, inspect, select, text, update

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sferum_lite import create_app  # noqa: E402
from sferum_lite.actions.setup import do_setup  # noqa: E402
from sferum_lite.extensions import db  # noqa: E402
from sferum_lite.models import (  # noqa: E402
    Block,
    Chat,
    ChatMember,
    Child,
    Group,
    GroupEducator,
    JoinRequest,
    Kindergarten,
    Message,
    ModerationEntry,
    ParentChild,
    Report,
    RulesAcceptance,
    User,
)
from sferum_lite.roster import name_key  # noqa: E402
from sferum_lite.security import hash_password  # noqa: E402

PASSWORD = "бенчмарк пароль 1"
DIRECTOR_LOGIN = "+79120000001"
TIMEZONE = "Europe/Moscow"
BATCH = 20_000
CHILDREN_PER_GROUP = 25
SECOND_PARENT_EVERY = 5  # one child in five has a second parent account: ~1.2 per child

SURNAMES = ["Иванов", "Петров", "Смирнов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Козлов"]
PHRASES = [
    "Добрый день! Завтра утренник в 9:00, приходите к началу.",
    "Спасибо большое!",
    "Напоминаем: в пятницу занятия по рисованию, нужен альбом.",
    "Мы сегодня заберём пораньше, около 16:00.",
    "Подскажите, пожалуйста, во сколько прогулка?",
    "Фотографии с праздника выложили в канал.",
    "Хорошо, поняли 👍",
    "У нас температура, сегодня не придём.",
    "Сменная обувь осталась в шкафчике.",
    "Родительское собрание переносится на четверг, 18:30.",
]


def insert_rows(table, rows: list[dict], *, returning: bool = False) -> list[int]:
    """Core executemany in batches (one commit a batch); with `returning`, the new ids in the
    order of `rows`."""
    ids = []
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        if returning:
            statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
            ids.extend(db.session.execute(statement, chunk).scalars())
        else:
            db.session.execute(insert(table), chunk)
        db.session.commit()
    return ids


def build(args, now: datetime) -> dict:
    """The kindergarten; returns the ids the pages need."""
    from datetime import time as t

    rng = random.Random(20261201)
    director = do_setup(
        kindergarten_name="Детский сад № 1",
        timezone=TIMEZONE,
        work_start=t(7),
        work_end=t(19),
        work_days="12345",
        director_name="Заведующая",
        login=("phone", DIRECTOR_LOGIN),
        password=PASSWORD,
    )
    kg = director.kindergarten_id
    director_id = director.id
    start = now - timedelta(days=args.days + 1)  # when the kindergarten started using the app
    system = {
        c.system: c for c in db.session.scalars(select(Chat).where(Chat.kindergarten_id == kg))
    }
    rules_id = system["news"].rules_id
    db.session.execute(update(Kindergarten).where(Kindergarten.id == kg).values(created_at=start))
    db.session.execute(update(User).where(User.id == director_id).values(created_at=start))
    db.session.execute(update(Chat).where(Chat.kindergarten_id == kg).values(created_at=start))
    db.session.execute(
        update(ChatMember)
        .where(ChatMember.user_id == director_id)
        .values(joined_at=start + timedelta(minutes=5))
    )
    db.session.commit()

    def moment(after: datetime, before: datetime = now) -> datetime:
        return after + (before - after) * rng.random()

    # --- groups, staff, children, parents ---------------------------------------------------
    group_ids = insert_rows(
        Group.__table__,
        [
            {"kindergarten_id": kg, "name": f"Группа {i + 1:02d}", "created_at": start}
            for i in range(args.groups)
        ],
        returning=True,
    )
    password_hash = hash_password(PASSWORD)
    phone = iter(range(9160000000, 9169999999))

    def person(name, **extra):
        return {
            "kindergarten_id": kg,
            "name": name,
            "phone": f"+7{next(phone)}",
            "password_hash": password_hash,
            "position": None,
            "verified_at": None,
            "created_at": start,
            **extra,
        }

    educator_rows = [
        person(f"Педагог {g + 1}-{j + 1}", position="vospitatel", verified_at=start)
        for g in range(args.groups)
        for j in range(2)
    ]
    educator_ids = insert_rows(User.__table__, educator_rows, returning=True)
    educators = {g: educator_ids[2 * i : 2 * i + 2] for i, g in enumerate(group_ids)}
    insert_rows(
        GroupEducator.__table__,
        [
            {"group_id": g, "user_id": u, "created_at": start}
            for g in group_ids
            for u in educators[g]
        ],
    )

    child_rows, child_group = [], []
    for i, g in enumerate(group_ids):
        for n in range(CHILDREN_PER_GROUP):
            last = SURNAMES[(i + n) % len(SURNAMES)]
            first = f"Ребёнок{i * CHILDREN_PER_GROUP + n}"
            child_rows.append(
                {
                    "kindergarten_id": kg,
                    "group_id": g,
                    "last_name": last,
                    "first_name": first,
                    "name_key": name_key(last, first),
                    "left_at": None,
                    "created_at": start,
                }
            )
            child_group.append(g)
    child_ids = insert_rows(Child.__table__, child_rows, returning=True)

    parent_rows, parent_child = [], []  # (index of the parent row, child id)
    for n, child_id in enumerate(child_ids):
        for _second in range(2 if n % SECOND_PARENT_EVERY == 0 else 1):
            parent_child.append((len(parent_rows), child_id))
            parent_rows.append(person(f"Родитель {len(parent_rows) + 1}"))
    parent_ids = insert_rows(User.__table__, parent_rows, returning=True)
    insert_rows(
        ParentChild.__table__,
        [{"user_id": parent_ids[p], "child_id": c, "created_at": start} for p, c in parent_child],
    )
    group_of_child = dict(zip(child_ids, child_group, strict=True))
    parents = defaultdict(list)  # group id -> parent ids
    for p, c in parent_child:
        parents[group_of_child[c]].append(parent_ids[p])

    # --- chats ----------------------------------------------------------------------------------
    chat_rows = []
    for i, g in enumerate(group_ids):
        name = f"Группа {i + 1:02d}"
        created = moment(start, start + timedelta(days=14))
        for kind, title in (("group", f"Родители — {name}"), ("channel", f"Новости — {name}")):
            chat_rows.append(
                {
                    "kindergarten_id": kg,
                    "kind": kind,
                    "title": title,
                    "system": None,
                    "group_id": g,
                    "direct_key": None,
                    "created_by_id": educators[g][0],
                    "created_at": created,
                    "last_activity_at": created,
                    "rules_id": rules_id,
                }
            )
    pairs = set()
    while len(chat_rows) + len(system) + len(pairs) < args.chats:
        g = rng.choice(group_ids)
        pairs.add((rng.choice(educators[g]), rng.choice(parents[g])))
    names = {
        i: r["name"]
        for i, r in zip(educator_ids + parent_ids, educator_rows + parent_rows, strict=True)
    }
    for educator, parent in sorted(pairs):
        created = moment(start, now - timedelta(days=7))
        chat_rows.append(
            {
                "kindergarten_id": kg,
                "kind": "direct",
                "title": f"{names[educator]} — {names[parent]}",
                "system": None,
                "group_id": None,
                "direct_key": f"{educator}:{parent}",
                "created_by_id": educator,
                "created_at": created,
                "last_activity_at": created,
                "rules_id": None,
            }
        )
    chat_ids = insert_rows(Chat.__table__, chat_rows, returning=True)

    # --- members: who is in which chat, who writes ---------------------------------------------
    members = defaultdict(dict)  # chat id -> user id -> is moderator
    writers = {}  # chat id -> the ids that write there
    chat_created = {c.id: start for c in system.values()}
    weight = {}
    for chat_id, row in zip(chat_ids, chat_rows, strict=True):
        chat_created[chat_id] = row["created_at"]
        g = row["group_id"]
        if row["kind"] == "direct":
            educator, parent = map(int, row["direct_key"].split(":"))
            members[chat_id] = {educator: True, parent: False}
            writers[chat_id] = [educator, parent]
            weight[chat_id] = 2
            continue
        share = 0.96 if row["kind"] == "group" else 0.9  # some parents have not joined yet
        for u in educators[g]:
            members[chat_id][u] = True
        for u in parents[g]:
            if rng.random() < share:
                members[chat_id][u] = False
        if row["kind"] == "group":
            writers[chat_id] = list(members[chat_id])
            weight[chat_id] = 10
        else:
            writers[chat_id] = list(educators[g])
            weight[chat_id] = 1
    for key, chat in system.items():
        staff = {u: False for u in educator_ids}
        if key == "news":
            staff.update({u: False for u in parent_ids if rng.random() < 0.85})
        members[chat.id].update(staff)
        writers[chat.id] = [director_id, *educator_ids] if key == "staff_group" else [director_id]
        weight[chat.id] = 5 if key == "staff_group" else 1

    member_rows, acceptance_rows = [], []
    for chat_id, people in members.items():
        has_rules = chat_id not in chat_ids or chat_rows[chat_ids.index(chat_id)]["rules_id"]
        for user_id, moderator in people.items():
            if user_id == director_id:
                continue  # do_setup made the director's memberships
            created = chat_created[chat_id]
            # most joined in the first weeks; a few lately (the report's «Вступили»)
            joined = (
                moment(created, created + timedelta(days=21))
                if rng.random() < 0.9
                else moment(max(created, now - timedelta(days=60)))
            )
            accepted = has_rules and (moderator or rng.random() < 0.93)
            member_rows.append(
                {
                    "chat_id": chat_id,
                    "user_id": user_id,
                    "is_moderator": moderator,
                    "joined_at": joined,
                    "last_read_id": 0,
                    "rules_accepted_id": rules_id if accepted else None,
                }
            )
            if accepted:
                acceptance_rows.append(
                    {
                        "chat_id": chat_id,
                        "user_id": user_id,
                        "rules_id": rules_id,
                        "accepted_at": joined,
                    }
                )
    insert_rows(ChatMember.__table__, member_rows)
    insert_rows(RulesAcceptance.__table__, acceptance_rows)

    # --- the messages -----------------------------------------------------------------------------
    all_chats = list(weight)
    weights = [weight[c] for c in all_chats]
    span = args.days * 86400
    # twice as many a day now as a year ago (density 1 + x over the span): x = √(1 + 3u) − 1
    ages = sorted(span * (2 - (1 + 3 * rng.random()) ** 0.5) for _ in range(args.messages))
    ages.reverse()
    rev = defaultdict(int)
    batch = []
    for age in ages:
        created = now - timedelta(seconds=age)
        chat_id = rng.choices(all_chats, weights)[0]
        if created < chat_created[chat_id]:
            chat_id = system["staff_group"].id
        author = rng.choice(writers[chat_id])
        rev[chat_id] += 1
        deleted = rng.random() < 0.01
        batch.append(
            {
                "chat_id": chat_id,
                "author_id": author,
                "text": rng.choice(PHRASES),
                "important": False,
                "deleted_at": created + timedelta(minutes=3) if deleted else None,
                "deleted_by_id": author if deleted else None,
                "kind": "",
                "rev": rev[chat_id],
                "created_rev": rev[chat_id],
                "created_at": created,
            }
        )
        if len(batch) == BATCH:
            db.session.execute(insert(Message.__table__), batch)
            db.session.commit()
            batch = []
    if batch:
        db.session.execute(insert(Message.__table__), batch)
        db.session.commit()
    for chat_id in all_chats:
        last = db.session.execute(
            select(Message.id, Message.created_at)
            .where(Message.chat_id == chat_id)
            .order_by(Message.id.desc())
            .limit(1)
        ).first()
        if last is not None:
            db.session.execute(
                update(Chat)
                .where(Chat.id == chat_id)
                .values(rev=rev[chat_id], last_message_id=last.id, last_activity_at=last.created_at)
            )
    db.session.commit()

    # --- moderation: reports, blocks, join requests, the log --------------------------------
    parent_chats = [c for c, r in zip(chat_ids, chat_rows, strict=True) if r["kind"] == "group"]
    picked = []  # (chat, message id, author, created_at) of recent messages to report
    for chat_id in rng.sample(parent_chats, min(len(parent_chats), 20)):
        picked.extend(
            (chat_id, *row)
            for row in db.session.execute(
                select(Message.id, Message.author_id, Message.created_at)
                .where(Message.chat_id == chat_id, Message.created_at < now - timedelta(hours=2))
                .order_by(Message.id.desc())
                .limit(300)
            )
        )
    report_rows = []
    for n, (chat_id, message_id, author, created) in enumerate(rng.sample(picked, 60)):
        reporter = rng.choice([u for u in writers[chat_id] if u != author])
        resolved = n >= 15  # 15 open reports
        moderator = next(u for u, m in members[chat_id].items() if m)
        report_rows.append(
            {
                "chat_id": chat_id,
                "message_id": message_id,
                "reporter_id": reporter,
                "reason": "Оскорбление",
                "created_at": created + timedelta(minutes=30),
                "resolved_at": created + timedelta(hours=1) if resolved else None,
                "resolved_by_id": moderator if resolved else None,
                "resolution": rng.choice(("deleted", "violation", "no_action"))
                if resolved
                else None,
            }
        )
    insert_rows(Report.__table__, report_rows)
    block_rows = []
    for n in range(30):
        chat_id = rng.choice(parent_chats)
        moderator = next(u for u, m in members[chat_id].items() if m)
        user_id = rng.choice([u for u, m in members[chat_id].items() if not m])
        starts = now - timedelta(days=2 if n < 8 else rng.randint(20, args.days))  # 8 active
        block_rows.append(
            {
                "chat_id": chat_id,
                "user_id": user_id,
                "rules_id": rules_id,
                "clause": 2,
                "note": "",
                "starts_at": starts,
                "ends_at": starts + timedelta(days=7),
                "created_by_id": moderator,
                "lifted_at": None,
            }
        )
    insert_rows(Block.__table__, block_rows)
    join_rows = []
    for n in range(40):
        chat_id = rng.choice(parent_chats)
        g = chat_rows[chat_ids.index(chat_id)]["group_id"]
        outside = [u for u in parents[g] if u not in members[chat_id]] or parents[g]
        waiting = n < 12  # 12 waiting
        created = now - timedelta(days=rng.randint(0, 3) if waiting else rng.randint(4, args.days))
        join_rows.append(
            {
                "chat_id": chat_id,
                "user_id": rng.choice(outside),
                "child_last_name": "Иванов",
                "child_first_name": "Иван",
                "rules_id": rules_id,
                "status": "waiting" if waiting else rng.choice(("admitted", "declined")),
                "reason": "",
                "decided_by_id": None if waiting else educators[g][0],
                "decided_at": None if waiting else created + timedelta(hours=3),
                "created_at": created,
            }
        )
    insert_rows(JoinRequest.__table__, join_rows)
    log_rows = []
    for _n in range(400):
        chat_id = rng.choice(parent_chats)
        moderator = next(u for u, m in members[chat_id].items() if m)
        member = rng.choice([u for u, m in members[chat_id].items() if not m])
        log_rows.append(
            {
                "kindergarten_id": kg,
                "chat_id": chat_id,
                "actor_id": moderator,
                "action": rng.choice(
                    ("delete", "violation", "reminder", "block", "report", "report_resolved")
                ),
                "member_id": member,
                "rules_id": rules_id,
                "clause": 2,
                "ground": "п. 2. Общаемся вежливо",
                "note": "",
                "details": {},
                "created_at": now - timedelta(seconds=span * (2 - (1 + 3 * rng.random()) ** 0.5)),
            }
        )
    insert_rows(ModerationEntry.__table__, log_rows)
    if db.engine.dialect.name == "postgresql":  # what autovacuum does soon after a bulk load
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM (ANALYZE)"))
    return {
        "group": group_ids[0],
        "counts": {
            "users": 1 + len(educator_ids) + len(parent_ids),
            "children": len(child_ids),
            "chats": len(system) + len(chat_ids),
            "members": len(member_rows) + 3,
            "messages": args.messages,
        },
    }


def explain(statement: str, parameters) -> list[str]:
    """The plan of one statement, as the database prints it."""
    connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        if db.engine.dialect.name == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            depth, lines = {0: -1}, []
            for node, parent, _unused, detail in cursor.fetchall():
                depth[node] = depth.get(parent, -1) + 1
                lines.append("  " * depth[node] + detail)
            return _collapse(lines)
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        return [row[0] for row in cursor.fetchall()]
    finally:
        connection.close()


def _collapse(lines: list[str]) -> list[str]:
    """The buckets' UNION ALL of constant rows, once: «… (×N)»."""
    out = []
    for line in lines:
        same = [o for o in out[-2:] if o[0] == line]
        if same and line.strip() in ("UNION ALL", "SCAN CONSTANT ROW"):
            same[0][1] += 1
        else:
            out.append([line, 1])
    return [line if n == 1 else f"{line} (×{n})" for line, n in out]


def rerun(statement: str, parameters) -> float:
    """Milliseconds to execute a statement alone and fetch all its rows (SQLite computes a
    streaming query while the rows are fetched, which the cursor events don't see)."""
    connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        begin = time.perf_counter()
        cursor.execute(statement, parameters)
        cursor.fetchall()
        return (time.perf_counter() - begin) * 1000
    finally:
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=30)
    parser.add_argument("--chats", type=int, default=100)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database-url", help="an empty database instead of a temporary SQLite")
    parser.add_argument(
        "--budget", type=float, default=60, help="seconds a page; at least 3 requests"
    )
    parser.add_argument(
        "--sql", action="append", default=[], help="run after the build (a proposed index)"
    )
    parser.add_argument("--slow", type=float, default=50, help="print the plan above this, ms")
    parser.add_argument("--explain", action="store_true", help="plans of every page's slowest")
    args = parser.parse_args()
    if args.chats < 3 + 2 * args.groups:
        parser.error("--chats: at least 3 system chats and 2 chats a group")

    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{folder}/bench.sqlite3"
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "SECRET_KEY": "bench",
                "RATELIMIT_ENABLED": False,
                "WTF_CSRF_ENABLED": False,
            },
            instance_path=folder,
        )
        now = datetime.now(UTC)
        with app.app_context():
            if db.session.scalar(select(func.count()).select_from(Kindergarten)):
                sys.exit(f"{url}: not empty — give an empty database (dropdb; createdb)")
            begin = time.perf_counter()
            built = build(args, now)
            elapsed = time.perf_counter() - begin
            engine = db.engine
            version = db.session.scalar(
                text(
                    "SELECT sqlite_version()"
                    if engine.dialect.name == "sqlite"
                    else "SHOW server_version"
                )
            )
            tables = inspect(engine).get_table_names()
        size = ""
        if not args.database_url:
            size = f", {Path(folder, 'bench.sqlite3').stat().st_size / 2**20:.0f} MB"
        counts = built["counts"]
        print(
            f"{engine.dialect.name} {version}: {args.groups} groups, {counts['children']} children,"
            f" {counts['users']} people, {counts['chats']} chats, {counts['members']} memberships,"
            f" {counts['messages']} messages over {args.days} days ({len(tables)} tables{size});"
            f" built in {elapsed:.0f} s"
        )

        with app.app_context():
            for statement in args.sql:  # a proposed index, say: measure the pages with it
                begin = time.perf_counter()
                db.session.execute(text(statement))
                db.session.commit()
                print(f"{statement}: {time.perf_counter() - begin:.1f} s")

        statements = []  # (statement, parameters, ms) of the current request

        @event.listens_for(engine, "before_cursor_execute")
        def _before(conn, cursor, statement, parameters, context, executemany):
            conn.info.setdefault("started", []).append(time.perf_counter())

        @event.listens_for(engine, "after_cursor_execute")
        def _after(conn, cursor, statement, parameters, context, executemany):
            ms = (time.perf_counter() - conn.info["started"].pop()) * 1000
            statements.append((statement, parameters, ms))

        client = app.test_client()
        response = client.post("/login", data={"login": DIRECTOR_LOGIN, "password": PASSWORD})
        assert response.status_code == 303, response.status_code
        local = now.astimezone(ZoneInfo(TIMEZONE)).date()
        previous = (local.replace(day=1) - timedelta(1)).strftime("%Y-%m")
        pages = [
            "/director/",
            "/director/chats",
            "/director/chats.csv",
            "/director/report",
            f"/director/report?month={previous}",
            f"/groups/{built['group']}",
        ]
        print(
            f"\n{args.repeat} requests a page (at least 3 within {args.budget:.0f} s);"
            f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n"
        )
        print(
            f"{'page':32} {'median ms':>9} {'p95 ms':>7} {'SQL ms':>7} {'runs':>4} {'queries':>7}"
            f" {'KB':>6} {'KB gz':>6}"
        )
        last_run = {}
        for path in pages:
            times, sql = [], []
            for n in range(args.repeat):
                if n >= 3 and sum(times) > args.budget * 1000:
                    break  # a very slow page: fewer requests (the table says how many)
                statements.clear()
                start = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - start) * 1000)
                sql.append(sum(ms for _s, _p, ms in statements))
                assert response.status_code == 200, (path, response.status_code)
            body = response.get_data()
            times.sort()
            p95 = times[math.ceil(len(times) * 0.95) - 1]
            packed = len(gzip.compress(body)) / 1024
            print(
                f"{path:32} {statistics.median(times):9.1f} {p95:7.1f}"
                f" {statistics.median(sql):7.1f} {len(times):4d}"
                f" {len(statements):7d} {len(body) / 1024:6.1f} {packed:6.1f}",
                flush=True,
            )
            last_run[path] = list(statements)

        print(f"load average {os.getloadavg()[0]:.1f}")
        print("\nslowest statement of each page (re-run alone, execute + fetch all rows):")
        explained = set()
        with app.app_context():
            for path, run in last_run.items():
                timed = []
                for statement, parameters, _ms in run:
                    ms = rerun(statement, parameters)
                    if ms < 100:
                        ms = min(ms, rerun(statement, parameters), rerun(statement, parameters))
                    timed.append((ms, statement, parameters))
                timed.sort(key=lambda x: x[0], reverse=True)
                ms, slowest, _parameters = timed[0]
                total = sum(t for t, _s, _p in timed)
                print(f"\n{path}: {ms:.1f} of {total:.1f} ms SQL — {_short(slowest)[:100]}…")
                for t, statement, parameters in timed:
                    if t <= args.slow and not (args.explain and statement is slowest):
                        continue
                    if statement in explained:
                        print(f"  {t:.1f} ms: {_short(statement)[:60]}… (plan above)")
                        continue
                    explained.add(statement)
                    values = str(parameters)
                    if len(values) > 200:
                        values = f"{values[:120]} … {values[-60:]}"
                    print(f"  {t:.1f} ms:\n    {_short(statement)}\n  parameters: {values}")
                    print("  plan:\n    " + "\n    ".join(explain(statement, parameters)))


def _short(statement: str) -> str:
    """A statement on one line, the buckets' UNION ALL of constant rows once."""
    flat = " ".join(statement.split())
    return re.sub(
        r"((?: UNION ALL SELECT \? AS i, \? AS starts, \? AS ends)+)",
        lambda m: f" UNION ALL … ({m[1].count('UNION ALL')} more rows)",
        flat,
    )


if __name__ == "__main__":
    main()
