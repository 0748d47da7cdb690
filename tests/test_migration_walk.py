"""Walking the migrations on a lived-in database: no step loses, adds or changes a row.

Every table of the models gets rows (messages with reactions, confirmations, attachments, edits
and polls; moderation, invites, sessions, the audit log…). Then, for each revision r below head,
on a database of its own: upgrade to head, fill, downgrade one step at a time down to r and
upgrade one step at a time back to head. At every step the tables that exist on both sides keep
the same rows (every column that exists on both sides compared, so an ON DELETE SET NULL firing
during a table rebuild counts as much as a row lost) and the same message texts; on SQLite no
row points nowhere, foreign keys are on again, and a copy of the database was taken first.

Why: migrations used to run on SQLite with foreign keys on, so the DROP of a batch-mode table
rebuild cascaded — upgrading a populated database from 0003 deleted every reaction, vote,
attachment… and downgrading from 0005 failed with «FOREIGN KEY constraint failed».

The revisions come from alembic's script directory: a new migration is walked as it lands.
SQLite always (a file per test); PostgreSQL as well when SFERUM_TEST_DATABASE_URL is set, in a
sibling database `<name>_walk` of its own (the shared test database keeps its schema).
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, func, inspect, make_url, select, text

from sferum_lite import create_app
from sferum_lite.actions.audit import record
from sferum_lite.actions.rules import accept
from sferum_lite.extensions import db
from sferum_lite.models import (
    ChatInviteMiss,
    ChatMember,
    ChatRemoval,
    ChildLinkNotice,
    Confirmation,
    Consent,
    ConsentText,
    FailedLogin,
    JoinRequest,
    MessageEdit,
    PasswordReset,
    Reaction,
    Rules,
    UserSession,
    utcnow,
)
from sferum_lite.models.moderation import ModerationEntry, Objection

from . import factories as f
from .conftest import TEST_DATABASE_URL, app_config

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
SCRIPT = ScriptDirectory(str(MIGRATIONS))
# base, the first revision, …, head: the walk's stations
CHAIN = ["base", *reversed([script.revision for script in SCRIPT.walk_revisions()])]
HEAD = CHAIN[-1]
BACKUP_MARK = ".before-migration-from-"
# A step that rewrites values already there (a backfill of an existing column, say) names the
# tables it may change here: {("0007", "up"): {"message"}} — for the step 0006 → 0007.
REWRITES: dict[tuple[str, str], set[str]] = {}


@pytest.fixture(autouse=True)
def _empty_database():
    """These tests build databases of their own: the shared test database is left alone
    (conftest's fixture of this name would build and empty it)."""
    yield


# --- the databases --------------------------------------------------------------------------------


def walk_database_url() -> str:
    """`<test database>_walk` on the PostgreSQL server of SFERUM_TEST_DATABASE_URL, created when
    missing, emptied of everything the migrations made."""
    main = make_url(TEST_DATABASE_URL)
    walk = main.set(database=f"{main.database}_walk")
    admin = create_engine(main, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            found = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": walk.database}
            ).scalar()
            if not found:
                quoted = conn.dialect.identifier_preparer.quote(walk.database)
                conn.exec_driver_sql(f"CREATE DATABASE {quoted}")
    finally:
        admin.dispose()
    engine = create_engine(walk)
    try:
        with engine.begin() as conn:
            quote = conn.dialect.identifier_preparer.quote
            for table in inspect(conn).get_table_names():
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {quote(table)} CASCADE")
            functions = conn.execute(  # refuse_update() of 0004, and any a later one makes
                text(
                    "SELECT p.oid::regprocedure::text FROM pg_proc p "
                    "WHERE p.pronamespace = 'public'::regnamespace AND NOT EXISTS "
                    "(SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')"
                )
            ).scalars()
            for function in list(functions):
                conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {function} CASCADE")
    finally:
        engine.dispose()
    return walk.render_as_string(hide_password=False)


BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=pytest.mark.skipif(
            not TEST_DATABASE_URL.startswith("postgresql"),
            reason="SFERUM_TEST_DATABASE_URL is not a PostgreSQL URL",
        ),
    ),
]


@pytest.fixture(params=BACKENDS)
def walk_app(request, tmp_path):
    """An app on an empty database of its own, no table in it."""
    if request.param == "sqlite":
        url = "sqlite:///" + str(tmp_path / "walk.sqlite3")
    else:
        url = walk_database_url()
    app = create_app(app_config(url), instance_path=str(tmp_path))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def migrate(app, destination: str, *, down: bool = False) -> None:
    """alembic's own command, not Flask-Migrate's, whose errors end in sys.exit(1)."""
    config = app.extensions["migrate"].migrate.get_config()
    db.session.remove()  # nothing of ours holds a transaction open meanwhile
    (command.downgrade if down else command.upgrade)(config, destination)


def is_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


# --- a lived-in kindergarten ----------------------------------------------------------------------


def fill_every_table() -> None:
    """A kindergarten with a bit of everything, the relations a table rebuild could break
    included: rows pointing at messages, users, chats, members, rules and each other."""
    kindergarten = f.make_kindergarten()  # its director, consent, system chats, default rules
    director = f.director_of(kindergarten)
    group = f.make_group(kindergarten, "Солнышко")
    f.make_group(kindergarten, "Капелька", archived=True)
    educator = f.make_staff(
        kindergarten, "Анна Павлова", groups=[group], verified_by_id=director.id
    )
    assistant = f.make_staff(kindergarten, "Ирина Лебедева", position="pomoshnik")
    f.make_staff(kindergarten, "Вера Новая", position="muzruk", verified=False)
    child = f.make_child(group, "Петров", "Артём")
    sister = f.make_child(group, "Петрова", "Ульяна")
    gone_child = f.make_child(group, "Соколова", "Ева", left=True)
    mother = f.make_parent(
        kindergarten, "Екатерина Петрова", children=[child, sister], email="katya@example.ru"
    )
    father = f.make_parent(kindergarten, "Алексей Петров", children=[child], locale="en")
    leaver = f.make_parent(kindergarten, "Ирина Соколова", children=[gone_child])
    newcomer = f.make_user(kindergarten, "Олег Новиков")
    f.make_user(
        kindergarten, "Уволенная Воспитательница", position="vospitatel", dismissed_at=utcnow()
    )
    f.make_user(kindergarten, "Удалённый Аккаунт", deleted_at=utcnow())

    chat = f.make_chat(
        kindergarten,
        educator,
        group=group,
        members=[mother, father, leaver],
        moderators=[assistant],
    )
    # the chat's own rules, version 2, which the members accept again
    own_rules = Rules(
        kindergarten_id=kindergarten.id,
        chat_id=chat.id,
        version=2,
        text="1. Пишем по делу.\n2. Общаемся вежливо.\n3. Без рекламы.",
        note="своя редакция",
        created_by_id=educator.id,
    )
    db.session.add(own_rules)
    db.session.flush()
    chat.rules_id = own_rules.id
    for user in (educator, assistant, mother, father):
        accept(db.session.get(ChatMember, (chat.id, user.id)), own_rules.id)
    db.session.commit()
    direct = f.make_chat(
        kindergarten,
        educator,
        kind="direct",
        title="Анна Павлова — Екатерина Петрова",
        members=[mother],
        direct_key=f"{educator.id}:{mother.id}",
    )
    channel = f.make_chat(
        kindergarten, director, kind="channel", title="Объявления", members=[mother, father]
    )

    # messages, and what points at them
    now = utcnow()
    hello = f.make_message(chat, educator, "Добрый день, родители! Это чат группы 🌞")
    notice = f.make_message(
        chat,
        educator,
        "В четверг в 10:00 — осенний утренник. Сменная обувь обязательна.",
        important=True,
        pinned_at=now,
        pinned_by_id=educator.id,
    )
    question = f.make_message(chat, mother, "Можно снимать на телефон?", reply_to_id=notice.id)
    f.make_message(chat, educator, "Да, конечно.", reply_to_id=question.id)
    edited = f.make_message(chat, father, "Придём вдвоём, с бабушкой", edited_at=now)
    db.session.add_all(
        [
            MessageEdit(message_id=edited.id, text="Придём", created_at=edited.created_at),
            MessageEdit(message_id=edited.id, text="Придём вдвоём", created_at=edited.created_at),
        ]
    )
    farewell = f.make_message(chat, leaver, "Спасибо всем, мы переезжаем!")
    f.make_message(chat, mother, "Опечатка", deleted_at=now, deleted_by_id=mother.id)
    advert = f.make_message(
        chat,
        father,
        "Продаю коляску, недорого!",
        deleted_at=now,
        deleted_by_id=educator.id,
        deleted_clause=3,
    )
    reminder = f.make_message(chat, educator, "", kind="reminder", subject_id=father.id)
    photos = f.make_message(chat, educator, "Фото с прогулки")
    f.make_attachment(photos, filename="прогулка-1.jpg")
    f.make_attachment(photos, filename="прогулка-2.jpg", position=1)
    menu = f.make_message(chat, assistant, "Меню на неделю")
    f.make_attachment(menu, kind="file", filename="меню.pdf")
    f.make_poll(
        chat,
        educator,
        "Кто придёт на утренник?",
        ("Мама", "Папа", "Оба родителя", "Не сможем"),
        votes=[(mother, 0), (father, 1), (father, 2)],
        multiple=True,
        closes_at=now + timedelta(days=2),
    )
    f.make_poll(chat, assistant, "Нужна ли экскурсия?", ("Да", "Нет"), anonymous=True)
    for message, user, emoji in [
        (hello, mother, "👍"),
        (hello, father, "❤️"),
        (hello, father, "👍"),
        (notice, mother, "🙏"),
        (question, educator, "👍"),
        (farewell, educator, "❤️"),
    ]:
        db.session.add(Reaction(message_id=message.id, user_id=user.id, emoji=emoji))
    for user in (mother, father, assistant):
        db.session.add(Confirmation(message_id=notice.id, user_id=user.id))
    db.session.commit()
    f.make_message(direct, educator, "Екатерина, заберите, пожалуйста, сменку.")
    f.make_message(direct, mother, "Хорошо, спасибо!")
    news = f.make_message(channel, director, "Субботник в эту субботу", important=True)
    db.session.add(Confirmation(message_id=news.id, user_id=mother.id))

    # moderation: a violation, a block with an apology and an objection, reports, the log
    violation = f.make_violation(chat, father, educator, clause=3, message=advert)
    block = f.make_block(chat, father, educator, clause=3, days=3, note="реклама")
    apology = f.make_message(chat, father, "Извините, больше не повторится.", kind="apology")
    block.apology_message_id = apology.id
    block.apology_at = utcnow()
    block.objections_until = block.apology_at + timedelta(hours=24)
    db.session.add(Objection(block_id=block.id, user_id=mother.id))
    lifted = f.make_block(chat, leaver, educator, clause=2, days=1)
    lifted.lifted_at = utcnow()
    lifted.lifted_by_id = educator.id
    f.make_report(advert, mother, resolved_at=now, resolved_by_id=educator.id, resolution="deleted")
    f.make_report(question, father, "Не по теме")
    for action, member, message, clause in [
        ("delete", father, advert, 3),
        ("violation", father, advert, 3),
        ("reminder", father, reminder, None),
        ("block", father, None, 3),
        ("apology", father, apology, None),
        ("objection", father, None, None),
        ("report", father, question, None),
        ("removal", leaver, None, None),
    ]:
        db.session.add(
            ModerationEntry(
                kindergarten_id=kindergarten.id,
                chat_id=chat.id,
                actor_id=educator.id if action != "objection" else mother.id,
                action=action,
                member_id=member.id,
                message_id=message.id if message is not None else None,
                rules_id=own_rules.id,
                clause=clause,
                ground=f"п. {clause} правил" if clause else "",
                details={"block": block.id, "violation": violation.id},
            )
        )

    # joining: invites, requests, a removal on a departure
    invite = f.make_chat_invite(chat, educator, needs_approval=True, max_uses=30, uses=2)
    f.make_chat_invite(chat, educator, revoked=True)
    # a meeting link (no approval, a day: 0009 leaves it as it is) paused after ten misses,
    # resumed once before; a notice to the mother that the father was linked to the sister
    meeting = f.make_chat_invite(chat, educator, days=1)
    meeting.paused_at = now
    meeting.misses_from = now - timedelta(hours=3)
    for minutes in range(10):
        db.session.add(ChatInviteMiss(invite_id=meeting.id, at=now - timedelta(minutes=minutes)))
    db.session.add(
        ChildLinkNotice(
            user_id=mother.id, child_id=sister.id, parent_id=father.id, decided_by_id=educator.id
        )
    )
    db.session.add_all(
        [
            JoinRequest(
                chat_id=chat.id,
                user_id=newcomer.id,
                invite_id=invite.id,
                child_last_name="Новиков",
                child_first_name="Миша",
                rules_id=own_rules.id,
            ),
            JoinRequest(
                chat_id=chat.id,
                user_id=mother.id,
                invite_id=invite.id,
                child_last_name="Петрова",
                child_first_name="Ульяна",
                child_id=sister.id,
                status="admitted",
                decided_by_id=educator.id,
                decided_at=now,
            ),
        ]
    )
    db.session.delete(db.session.get(ChatMember, (chat.id, leaver.id)))
    db.session.add(
        ChatRemoval(
            chat_id=chat.id,
            user_id=leaver.id,
            reason="Ребёнок выбыл из группы",
            ground="departure",
            removed_by_id=educator.id,
        )
    )
    f.make_staff_invite(kindergarten, director, position="pomoshnik")
    f.make_staff_invite(kindergarten, director, grants_admin=True, uses=1, revoked=True)

    # accounts: sessions, failed sign-ins, a new consent text, the audit log
    for user, agent in ((mother, "Firefox"), (educator, "Safari"), (mother, "Chrome")):
        db.session.add(
            UserSession(
                user_id=user.id,
                token_hash=hashlib.sha256(f"{user.id}{agent}".encode()).hexdigest(),
                user_agent=agent,
            )
        )
    for login in ("+79160000000", "nobody@example.ru"):
        db.session.add(FailedLogin(login_hash=hashlib.sha256(login.encode()).hexdigest()))
    # password resets: one shown in person and used, one live, one e-mailed and expired
    for user, kind, by, used, minutes in (
        (father, "in_person", educator, now, 15),
        (father, "in_person", educator, None, 15),
        (mother, "email", None, None, -5),
    ):
        db.session.add(
            PasswordReset(
                user_id=user.id,
                token_hash=hashlib.sha256(f"reset-{user.id}-{kind}-{used}".encode()).hexdigest(),
                kind=kind,
                created_by_id=by.id if by else None,
                expires_at=now + timedelta(minutes=minutes),
                used_at=used,
            )
        )
    consent = ConsentText(
        kindergarten_id=kindergarten.id,
        version=2,
        text="Согласие, ред. 2",
        created_by_id=director.id,
    )
    db.session.add(consent)
    db.session.flush()
    db.session.add(Consent(user_id=mother.id, consent_text_id=consent.id))
    record(director, "group.created", group, name=group.name)
    record(educator, "chat.created", chat)
    record(mother, "account.renamed", mother, old="Катя", new=mother.name)
    db.session.commit()
    db.session.remove()


def assert_every_table_has_rows() -> None:
    with db.engine.connect() as conn:
        empty = [
            table.name
            for table in db.metadata.sorted_tables
            if not conn.execute(select(func.count()).select_from(table)).scalar()
        ]
    assert not empty, (
        f"no rows in {', '.join(empty)}: the walk checks nothing there — give "
        "fill_every_table() rows for it"
    )


# --- what a step must keep ------------------------------------------------------------------------


def snapshot() -> tuple[str | None, dict[str, tuple[list[str], list]]]:
    """The revision and, for every table, its columns and rows."""
    tables = {}
    with db.engine.connect() as conn:
        quote = conn.dialect.identifier_preparer.quote
        for table in inspect(conn).get_table_names():
            result = conn.execute(text(f"SELECT * FROM {quote(table)}"))
            tables[table] = (list(result.keys()), [tuple(row) for row in result])
        version = tables.pop("alembic_version", (None, []))[1]
    return (version[0][0] if version else None), tables


def message_digest(columns: list[str], rows: list) -> str:
    id_, text_ = columns.index("id"), columns.index("text")
    pairs = sorted((row[id_], row[text_]) for row in rows)
    return hashlib.sha256(repr(pairs).encode()).hexdigest()


def differences(before: dict, after: dict, may_change: set[str]) -> list[str]:
    """What a step lost, added or changed in the tables that exist on both of its sides."""
    problems = []
    for table in sorted(before.keys() & after.keys()):
        (columns_before, rows_before), (columns_after, rows_after) = before[table], after[table]
        if len(rows_before) != len(rows_after):
            problems.append(f"{table}: {len(rows_before)} rows before, {len(rows_after)} after")
            continue
        if table == "message" and message_digest(columns_before, rows_before) != message_digest(
            columns_after, rows_after
        ):
            problems.append("message: the texts changed (their digest is another)")
        if table in may_change:
            continue
        common = sorted(set(columns_before) & set(columns_after))

        def keep(columns, rows, common=common):
            at = [columns.index(column) for column in common]
            return Counter(repr(tuple(row[i] for i in at)) for row in rows)

        gone = keep(columns_before, rows_before) - keep(columns_after, rows_after)
        if gone:
            came = keep(columns_after, rows_after) - keep(columns_before, rows_before)
            problems.append(
                f"{table}: {sum(gone.values())} rows changed, e.g. {next(iter(gone))} "
                f"became {next(iter(came))} (columns {', '.join(common)})"
            )
    return problems


def backups(database: Path) -> set[Path]:
    return set(database.parent.glob(database.name + BACKUP_MARK + "*"))


def step(app, source: str, destination: str, *, down: bool) -> None:
    """One migration from `source` to `destination`, and everything it must keep."""
    label = f"{'downgrade' if down else 'upgrade'} {source} → {destination}"
    revision, before = snapshot()
    assert revision == (None if source == "base" else source)
    database = Path(db.engine.url.database) if is_sqlite() else None
    copies_before = backups(database) if database else set()

    migrate(app, destination, down=down)

    revision, after = snapshot()
    assert revision == (None if destination == "base" else destination), label
    may_change = REWRITES.get((source if down else destination, "down" if down else "up"), set())
    problems = differences(before, after, may_change)
    assert not problems, f"{label}:\n  " + "\n  ".join(problems)
    if not is_sqlite():
        return  # PostgreSQL checks every foreign key itself, and keeps no copy
    with db.engine.connect() as conn:
        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        assert broken == [], f"{label}: rows pointing nowhere: {broken}"
        # the connection the migration ran on, back in the pool for the app's next request
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1, (
            f"{label}: the migration's connection went back to the pool with foreign keys off"
        )
    db.engine.dispose()
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1, label
    copies = backups(database) - copies_before
    if source == "base":
        assert copies == set(), f"{label}: a copy of a database with no revision"
    else:
        assert len(copies) == 1, f"{label}: {len(copies)} copies of the database, not 1"
        [copy] = copies
        assert copy.name.startswith(f"{database.name}{BACKUP_MARK}{source}-"), copy.name
    for copy in copies:
        copy.unlink()  # each step is checked for exactly one new copy


# --- the tests ------------------------------------------------------------------------------------


def test_the_revisions_are_one_line():
    assert len(SCRIPT.get_heads()) == 1, SCRIPT.get_heads()
    assert len(CHAIN) >= 3 and CHAIN[1] == SCRIPT.get_base()


@pytest.mark.parametrize("lowest", CHAIN[:-1], ids=lambda revision: f"to-{revision}")
def test_every_step_down_to_a_revision_and_back_keeps_every_row(walk_app, lowest):
    with walk_app.app_context():
        migrate(walk_app, "head")
        fill_every_table()
        assert_every_table_has_rows()
        at = len(CHAIN) - 1
        while CHAIN[at] != lowest:
            step(walk_app, CHAIN[at], CHAIN[at - 1], down=True)
            at -= 1
        while CHAIN[at] != HEAD:
            step(walk_app, CHAIN[at], CHAIN[at + 1], down=False)
            at += 1


def _read_copy(copy: Path) -> tuple[str, str, int]:
    connection = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    try:
        return (
            connection.execute("PRAGMA integrity_check").fetchone()[0],
            connection.execute("SELECT version_num FROM alembic_version").fetchone()[0],
            connection.execute("SELECT count(*) FROM message").fetchone()[0],
        )
    finally:
        connection.close()


def test_a_copy_is_taken_before_a_migration_changes_an_existing_sqlite_database(tmp_path):
    database = tmp_path / "sad.sqlite3"
    app = create_app(app_config(f"sqlite:///{database}"), instance_path=str(tmp_path))
    try:
        with app.app_context():
            migrate(app, "head")
            assert backups(database) == set()  # a new, empty database: nothing to keep
            fill_every_table()
            migrate(app, "head")
            assert backups(database) == set()  # already at head: nothing changes
            with db.engine.connect() as conn:  # the pooled connection that ran env.py
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            with db.engine.connect() as conn:
                messages = conn.exec_driver_sql("SELECT count(*) FROM message").scalar()
            assert messages > 0

            migrate(app, CHAIN[-2], down=True)
            [copy] = backups(database)
            assert copy.name.startswith(f"{database.name}{BACKUP_MARK}{HEAD}-")
            assert _read_copy(copy) == ("ok", HEAD, messages)
            copy.unlink()

            migrate(app, "head")
            [copy] = backups(database)
            assert copy.name.startswith(f"{database.name}{BACKUP_MARK}{CHAIN[-2]}-")
            assert _read_copy(copy) == ("ok", CHAIN[-2], messages)
            with db.engine.connect() as conn:
                assert conn.exec_driver_sql("SELECT count(*) FROM message").scalar() == messages
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _orphan_a_reaction() -> None:
    with db.engine.connect() as conn:
        raw = conn.connection.dbapi_connection  # autocommit: no BEGIN of SQLAlchemy's
        raw.execute("PRAGMA foreign_keys=OFF")
        raw.execute(
            "UPDATE reaction SET user_id = 999999 WHERE rowid = (SELECT min(rowid) FROM reaction)"
        )
        raw.execute("PRAGMA foreign_keys=ON")


ORPHANING_MIGRATION = '''"""A migration gone wrong: it leaves a reaction pointing at nobody."""
from alembic import op

revision = "9999"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade():
    op.execute(
        "UPDATE reaction SET user_id = 999999 WHERE rowid = (SELECT min(rowid) FROM reaction)"
    )


def downgrade():
    pass
'''


def test_a_migration_that_would_leave_rows_pointing_nowhere_changes_nothing(tmp_path):
    """env.py checks the foreign keys before the commit: a migration that leaves a row pointing
    nowhere (a made-up next revision here) is refused whole, and the database stays as it was,
    with foreign keys on."""
    folder = tmp_path / "migrations"
    shutil.copytree(Path(__file__).resolve().parent.parent / "migrations", folder)
    (folder / "versions" / "9999_orphans.py").write_text(ORPHANING_MIGRATION.format(head=HEAD))
    database = tmp_path / "sad.sqlite3"
    app = create_app(app_config(f"sqlite:///{database}"), instance_path=str(tmp_path))
    try:
        with app.app_context():
            migrate(app, "head")
            fill_every_table()
            revision, before = snapshot()
            config = app.extensions["migrate"].migrate.get_config(directory=str(folder))
            db.session.remove()
            with pytest.raises(RuntimeError, match="reaction -> user"):
                command.upgrade(config, "9999")
            assert snapshot() == (revision, before) == (HEAD, before)
            with db.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_rows_that_already_pointed_nowhere_stop_neither_a_start_nor_a_migration(tmp_path):
    """An orphan row from before (a hand-edited database) is not a migration's doing: the app
    still starts at head, and a step down and back up goes through with the row as it was."""
    database = tmp_path / "old.sqlite3"
    url = f"sqlite:///{database}"
    app = create_app(app_config(url), instance_path=str(tmp_path))
    try:
        with app.app_context():
            migrate(app, "head")
            fill_every_table()
            _orphan_a_reaction()
            revision, before = snapshot()
            migrate(app, CHAIN[-2], down=True)
            # a table or a column the last step makes is gone with its values: what it keeps
            # comes back as it was
            kept = snapshot()[1]
            migrate(app, "head")
            revision_after, after = snapshot()
            assert revision_after == revision
            assert differences(before, kept, set()) == differences(kept, after, set()) == []
        started = create_app(app_config(url, AUTO_MIGRATE=True), instance_path=str(tmp_path))
        with started.app_context():
            db.engine.dispose()
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
