"""Lists cost a fixed number of queries, whatever the number of rows (no N+1)."""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import event

from sferum_lite.extensions import db

from . import factories as f


@contextlib.contextmanager
def counting(app):
    statements = []

    def count(*_args, **_kwargs):
        statements.append(1)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def grow(world, n):
    for i in range(n):
        group = f.make_group(world.kindergarten, f"Группа {n}-{i}")
        educator = f.make_staff(world.kindergarten, f"Педагог {n}-{i}", groups=[group])
        child = f.make_child(group, "Иванов", f"Ребёнок{chr(ord('а') + i)}")
        f.make_parent(world.kindergarten, f"Родитель {n}-{i}", children=[child])
        f.make_staff_invite(world.kindergarten, educator)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/admin/",
        "/admin/groups",
        "/admin/children",
        "/admin/staff",
        "/admin/staff/invites",
        "/admin/groups/{group}",
    ],
)
def test_pages_cost_the_same_number_of_queries_for_more_rows(app, world, as_user, path):
    client = as_user(world.admin)
    url = path.format(group=world.group.id)

    def queries_for_page():
        with counting(app) as statements:
            assert client.get(url).status_code == 200
        return len(statements)

    grow(world, 2)
    few = queries_for_page()
    grow(world, 12)
    for i in range(10):
        f.make_child(world.group, "Смирнов", f"Сын{chr(ord('а') + i)}")
    many = queries_for_page()
    assert many == few, f"{url}: {few} queries with few rows, {many} with many"
    assert few <= 8
