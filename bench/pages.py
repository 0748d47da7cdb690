"""Server time, queries and compressed size of the foundation's pages on a big kindergarten.

    uv run python bench/pages.py [--groups 30] [--children 900] [--repeat 30]

Builds a throw-away SQLite database (in a temporary folder) with the given number of groups and
children (one parent account per child, two educators per group), signs in as the director and
requests each page `--repeat` times through the WSGI test client: no network, so the time is
the server's own (routing, queries, templates). Prints the median and 95th percentile, the
number of SQL statements per request, and the page's size raw and gzip-compressed, plus the
first-load weight (page + CSS + JS, compressed). Not a test: numbers go to bench/README.md.
"""

from __future__ import annotations

import argparse
import gzip
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sferum_lite import create_app  # noqa: E402
from sferum_lite.actions.setup import do_setup  # noqa: E402
from sferum_lite.extensions import db  # noqa: E402
from sferum_lite.models import (  # noqa: E402
    Child,
    Group,
    GroupEducator,
    ParentChild,
    StaffInvite,
    User,
    utcnow,
)
from sferum_lite.roster import name_key  # noqa: E402
from sferum_lite.security import hash_password  # noqa: E402

PASSWORD = "бенчмарк пароль 1"
PAGES = [
    "/",
    "/admin/",
    "/admin/groups",
    "/admin/groups/{group}",
    "/admin/children",
    "/admin/children?q=иван",
    "/admin/staff",
    "/admin/staff/invites",
    "/profile",
]


def build(groups: int, children: int) -> dict:
    from datetime import time as t
    from datetime import timedelta

    director = do_setup(
        kindergarten_name="Детский сад № 1",
        timezone="Europe/Moscow",
        work_start=t(7),
        work_end=t(19),
        work_days="12345",
        director_name="Заведующая",
        login=("phone", "+79120000001"),
        password=PASSWORD,
    )
    kg = director.kindergarten_id
    password_hash = hash_password(PASSWORD)
    phone = iter(range(9160000000, 9169999999))
    group_rows = [Group(kindergarten_id=kg, name=f"Группа {i:02d}") for i in range(groups)]
    db.session.add_all(group_rows)
    db.session.flush()
    for i, group in enumerate(group_rows):
        for j in range(2):
            educator = User(
                kindergarten_id=kg,
                name=f"Педагог {i}-{j}",
                phone=f"+7{next(phone)}",
                password_hash=password_hash,
                position="vospitatel",
                verified_at=utcnow(),
            )
            db.session.add(educator)
            db.session.flush()
            db.session.add(GroupEducator(group_id=group.id, user_id=educator.id))
        db.session.add(
            StaffInvite(
                kindergarten_id=kg,
                token=f"t{i}" * 10,
                position="pomoshnik",
                expires_at=utcnow() + timedelta(days=7),
                created_by_id=director.id,
            )
        )
    surnames = ["Иванов", "Петров", "Смирнов", "Кузнецов", "Попов", "Соколов", "Лебедев"]
    for n in range(children):
        group = group_rows[n % groups]
        last, first = f"{surnames[n % len(surnames)]}", f"Ребёнок{n}"
        child = Child(
            kindergarten_id=kg,
            group_id=group.id,
            last_name=last,
            first_name=first,
            name_key=name_key(last, first),
        )
        parent = User(
            kindergarten_id=kg,
            name=f"Родитель {n}",
            phone=f"+7{next(phone)}",
            password_hash=password_hash,
        )
        db.session.add_all([child, parent])
        db.session.flush()
        db.session.add(ParentChild(user_id=parent.id, child_id=child.id))
    db.session.commit()
    return {"group": group_rows[0].id}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=30)
    parser.add_argument("--children", type=int, default=900)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.sqlite3",
                "SECRET_KEY": "bench",
                "RATELIMIT_ENABLED": False,
                "WTF_CSRF_ENABLED": False,
            },
            instance_path=folder,
        )
        with app.app_context():
            ids = build(args.groups, args.children)
            statements = []
            event.listen(db.engine, "before_cursor_execute", lambda *a, **k: statements.append(1))
        client = app.test_client()
        client.post("/login", data={"login": "+79120000001", "password": PASSWORD})
        assets = {}
        print(f"{args.groups} groups, {args.children} children, {args.repeat} requests a page\n")
        print(f"{'page':32} {'median ms':>9} {'p95 ms':>7} {'queries':>7} {'KB':>6} {'KB gz':>6}")
        for template in PAGES:
            path = template.format(**ids)
            times = []
            for _ in range(args.repeat):
                statements.clear()
                start = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200, (path, response.status_code)
            body = response.get_data()
            for asset in re.findall(rb'(?:href|src)="(/static/[^"?]+)', body):
                assets.setdefault(asset.decode(), None)
            times.sort()
            p95 = times[int(len(times) * 0.95) - 1]
            packed = len(gzip.compress(body)) / 1024
            print(
                f"{path:32} {statistics.median(times):9.1f} {p95:7.1f}"
                f" {len(statements):7d} {len(body) / 1024:6.1f} {packed:6.1f}"
            )
        total = 0
        for asset in assets:
            with client.get(asset) as response:
                data = response.get_data()
            total += len(gzip.compress(data))
        print(f"\nstatic files of a first load (CSS, JS, icon), gzip: {total / 1024:.1f} KB")


if __name__ == "__main__":
    main()
