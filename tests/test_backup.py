"""`flask backup` and `flask restore`: a backup taken while eight people post restores the whole
kindergarten — its messages, members, photos and the key its sign-ins are signed with — into a
new, empty instance; a restore refuses an instance that isn't empty and an archive that is
damaged, and changes nothing then; an older backup is migrated to the newest schema.

The source is the suite's own database (SQLite, or PostgreSQL with SFERUM_TEST_DATABASE_URL,
where pg_dump and pg_restore do the work) seen through an app with an instance folder of its
own: its secret key comes from instance/secret_key and its uploads from instance/uploads, as in
production. Each restore target is a new instance folder and an empty database (a new SQLite
file, or a sibling PostgreSQL database made for the test).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import stat
import tarfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from alembic.script import ScriptDirectory
from flask_migrate import upgrade
from PIL import Image
from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

from sferum_lite import ROOT, create_app
from sferum_lite.backup import MANIFEST, find_pg_tool, libpq_target
from sferum_lite.extensions import db
from sferum_lite.models import Attachment, AuditLog, ChatMember, Kindergarten, Message, User

from . import factories as f
from .conftest import TEST_DATABASE_URL, app_config, sign_in
from .test_chats import jpeg_bytes, post_message
from .test_database import schema_differences

ON_POSTGRES = TEST_DATABASE_URL.startswith("postgresql")
WRITERS = 8
HISTORY_ROWS = 20_000
HISTORY = (
    "Группа «Солнышко»: список детей загружен из файла воспитателя, совпадения по фамилии и "
    "имени проверены, новые записи добавлены, выбывшие отмечены датой выбытия."
)
COLORS = ("red", "green", "blue", "orange", "purple", "teal", "navy", "olive")


@pytest.fixture(autouse=True)
def _pg_tools():
    """pg_dump and pg_restore on PostgreSQL: skipped with a reason without them, but under
    CI=true their absence fails."""
    if not ON_POSTGRES:
        return
    missing = [name for name in ("pg_dump", "pg_restore") if find_pg_tool(name) is None]
    if missing:
        reason = f"{', '.join(missing)} not found (PATH, PG_BIN, /usr/lib/postgresql/*/bin)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " — CI must test the PostgreSQL backup")
        pytest.skip(reason)


# --- instances and databases --------------------------------------------------------------------


@pytest.fixture
def apps():
    """Apps made by the test; their connections are closed at its end."""
    made = []
    yield made
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def instance(apps):
    """instance(folder, database_url, **config) -> an app on its own instance folder: its key
    from instance/secret_key, its files in instance/uploads (unless the config says else)."""

    def make(folder: Path, database_url: str, *, auto_migrate=False, **overrides):
        config = app_config(database_url, AUTO_MIGRATE=auto_migrate, **overrides)
        for key in ("SECRET_KEY", "UPLOAD_FOLDER"):
            if key not in overrides:
                config.pop(key)
        app = create_app(config, instance_path=str(folder))
        apps.append(app)
        return app

    return make


def _admin_engine():
    return create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture
def empty_database(tmp_path, apps):
    """empty_database(name) -> the URL of a new, empty database: a SQLite file in the test's
    folder, or a PostgreSQL database beside the test one (<test db>_<name>), dropped after."""
    made = []

    def make(name: str) -> str:
        if not ON_POSTGRES:
            folder = tmp_path / f"db-{name}"
            folder.mkdir()
            return "sqlite:///" + str(folder / "sferum.sqlite3")
        url = make_url(TEST_DATABASE_URL)
        database = f"{url.database}_{name}"
        engine = _admin_engine()
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{database}"'))
        engine.dispose()
        made.append(database)
        return url.set(database=database).render_as_string(hide_password=False)

    yield make
    for app in apps:  # before the databases go
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    if made:
        engine = _admin_engine()
        with engine.connect() as connection:
            for database in made:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        engine.dispose()


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def members_of(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


def manifest_of(archive: Path) -> dict:
    return json.loads(members_of(archive)[MANIFEST])


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def leftovers(*folders: Path) -> list[str]:
    """Temporary files a backup or restore may make, found where they should not be."""
    found = []
    for folder in folders:
        if folder.exists():
            found += [p.name for p in folder.iterdir() if p.name.startswith(".sferum-")]
    return found


def state_of(app) -> dict:
    """What a restore may change in an instance: rows, files, keys."""
    folder = Path(app.config["UPLOAD_FOLDER"])
    keys = Path(app.instance_path)
    with app.app_context():
        with db.engine.connect() as connection:
            kindergartens = connection.scalar(select(func.count()).select_from(Kindergarten))
            users = connection.scalar(select(func.count()).select_from(User))
        db.engine.dispose()
    return {
        "rows": (kindergartens, users),
        "uploads": sorted(os.listdir(folder)) if folder.exists() else None,
        "keys": {
            p.name: p.read_bytes()
            for p in keys.iterdir()
            if p.is_file() and not p.name.startswith("sferum.sqlite3")
        },
        "leftovers": leftovers(keys, folder),
    }


# --- the round trip under eight writers ---------------------------------------------------------


def _write(client, chat, number, stop, done, failures):
    """Post until told to stop; every third message carries a photo, the first one too."""
    sent = 0
    while not stop.is_set():
        sent += 1
        words = f"Родитель {number}, сообщение {sent}: заберём Мишу в 17:30, спасибо!"
        files = None
        if sent % 3 == 1:
            photo = jpeg_bytes(size=(64 + number, 48 + sent % 7), color=COLORS[number])
            files = [(io.BytesIO(photo), f"прогулка-{number}-{sent}.jpg")]
        try:
            response = post_message(client, chat, words, files=files)
        except Exception as error:  # noqa: BLE001 - counted, the test fails on it
            failures.append(f"{number}/{sent}: {error!r}")
            continue
        if response.status_code == 303:
            done.append((number, words, time.monotonic()))
        else:
            failures.append(f"{number}/{sent}: {response.status_code}")


def test_a_backup_taken_while_eight_people_post_restores_into_an_empty_instance(
    world, tmp_path, database_url, instance, empty_database
):
    source = instance(tmp_path / "source", database_url)
    source_uploads = Path(source.config["UPLOAD_FOLDER"])
    parents = [
        f.make_parent(
            world.kindergarten,
            f"Родитель {n}",
            children=[f.make_child(world.group, "Сидоров", f"Ребёнок{n}")],
        )
        for n in range(WRITERS)
    ]
    chat = f.make_chat(
        world.kindergarten, world.educator, group=world.group, members=[world.parent, *parents]
    )
    target_chat = SimpleNamespace(id=chat.id)
    # a history, so the snapshot takes long enough for posts to be answered while it is taken
    # (the audit log: nothing refers to its rows, so emptying the tables after stays quick)
    db.session.execute(
        insert(AuditLog),
        [
            {
                "kindergarten_id": world.kindergarten.id,
                "action": "roster.imported",
                "details": {"row": n, "note": HISTORY},
            }
            for n in range(HISTORY_ROWS)
        ],
    )
    db.session.commit()
    clients = [sign_in(source.test_client(), parent) for parent in parents]
    old_browser = sign_in(source.test_client(), world.parent)
    old_cookie = old_browser.get_cookie(source.config["SESSION_COOKIE_NAME"]).value

    stop, done, failures = threading.Event(), [], []
    threads = [
        threading.Thread(target=_write, args=(c, target_chat, n, stop, done, failures))
        for n, c in enumerate(clients)
    ]
    for thread in threads:
        thread.start()
    try:

        def posted_by_all(at_least: int, since: float = 0.0) -> bool:
            counts = {n: 0 for n in range(WRITERS)}
            for number, _words, at in list(done):
                counts[number] += at > since
            return min(counts.values()) >= at_least

        deadline = time.monotonic() + 60
        while not posted_by_all(2) and not failures and time.monotonic() < deadline:
            time.sleep(0.01)
        backup_started = time.monotonic()
        before_backup = {words for _n, words, at in list(done)}
        result = run(source, "backup", str(tmp_path))
        backup_ended = time.monotonic()
        deadline = time.monotonic() + 60
        while not posted_by_all(2, backup_ended) and not failures and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    assert failures == []
    assert result.exit_code == 0, result.output
    (archive,) = tmp_path.glob("sferum-backup-*.tar")
    assert str(archive) in result.output and len(result.output.strip().splitlines()) == 1
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    during = [at for _n, _w, at in done if backup_started < at < backup_ended]
    assert during, "no post was answered while the backup ran"

    # what the source holds now (the writers went on after the snapshot)
    db.session.commit()
    source_texts = dict(db.session.execute(select(Message.id, Message.text)).all())
    source_members = set(db.session.execute(select(ChatMember.chat_id, ChatMember.user_id)))
    source_users = set(db.session.execute(select(User.id, User.stored_name)))

    # a fresh instance: its first start made an empty schema and a key of its own
    target_folder = tmp_path / "restored"
    target_url = empty_database("restore")
    target = instance(target_folder, target_url, auto_migrate=True)
    own_key = (target_folder / "secret_key").read_text()
    restored_run = run(target, "restore", str(archive))
    assert restored_run.exit_code == 0, restored_run.output
    assert "Restored" in restored_run.output
    restored = instance(target_folder, target_url)  # a start after the restore
    assert restored.config["SECRET_KEY"] == source.config["SECRET_KEY"] != own_key

    manifest = manifest_of(archive)
    archived = members_of(archive)
    with restored.app_context():
        texts = dict(db.session.execute(select(Message.id, Message.text)).all())
        members = set(db.session.execute(select(ChatMember.chat_id, ChatMember.user_id)))
        users = set(db.session.execute(select(User.id, User.stored_name)))
        attachments = db.session.scalars(select(Attachment)).all()
        revision = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()

    # one consistent snapshot: what was answered before the backup began is all there, what the
    # writers sent after it ended is not, and every message is the source's, word for word
    assert len(texts) == manifest["counts"]["messages"]
    assert before_backup <= set(texts.values())
    assert len(texts) < len(source_texts)
    assert all(source_texts[i] == words for i, words in texts.items())
    if not ON_POSTGRES:  # SQLite commits in id order: the snapshot is a prefix, no holes
        last = max(texts)
        assert set(texts) == {i for i in source_texts if i <= last}
    assert members == source_members and users == source_users
    assert manifest["alembic_revision"] == revision
    assert manifest["secret_key"] == "instance/secret_key"

    # every photo the snapshot refers to came along, byte for byte, private
    upload_folder = Path(restored.config["UPLOAD_FOLDER"])
    assert upload_folder == target_folder / "uploads"
    assert stat.S_IMODE(upload_folder.stat().st_mode) == 0o750
    assert attachments and manifest["counts"]["attachments"] == len(attachments)
    for attachment in attachments:
        assert attachment.kind == "photo"
        for name in (attachment.stored_name, attachment.thumb_name):
            path = upload_folder / name
            data = path.read_bytes()
            assert stat.S_IMODE(path.stat().st_mode) == 0o640
            assert sha256(data) == manifest["files"][f"uploads/{name}"]["sha256"]
            assert data == (source_uploads / name).read_bytes()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                assert image.format == "JPEG"
    for name, facts in manifest["files"].items():
        assert sha256(archived[name]) == facts["sha256"]
    assert leftovers(target_folder, upload_folder) == []

    # a browser signed in before the backup is still signed in on the restored instance
    browser = restored.test_client()
    browser.set_cookie(restored.config["SESSION_COOKIE_NAME"], old_cookie)
    profile = browser.get("/profile")
    assert profile.status_code == 200
    assert "Выйти" in profile.get_data(as_text=True)
    stranger = restored.test_client()
    assert stranger.get("/profile").status_code == 302


# --- refusals -----------------------------------------------------------------------------------


@pytest.fixture
def small_backup(world, tmp_path, database_url, instance):
    """An archive of the test kindergarten with one photo, a VAPID-like key and config.py."""
    source = instance(tmp_path / "source", database_url)
    (tmp_path / "source" / "vapid_private.pem").write_text("-----BEGIN PRIVATE KEY-----\nAAA\n")
    (tmp_path / "source" / "config.py").write_text('BASE_URL = "https://sad7.example"\n')
    chat = f.make_chat(
        world.kindergarten, world.educator, group=world.group, members=[world.parent]
    )
    client = sign_in(source.test_client(), world.parent)
    photo = [(io.BytesIO(jpeg_bytes()), "утренник.jpg")]
    assert post_message(client, chat, "С утренника", files=photo).status_code == 303
    result = run(source, "backup", str(tmp_path / "kindergarten.tar"))
    assert result.exit_code == 0, result.output
    return tmp_path / "kindergarten.tar"


def _kindergarten_in(app):
    with app.app_context():
        f.make_kindergarten(name="Другой сад")


def _a_stored_file_in(app):
    folder = Path(app.config["UPLOAD_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Abcdefghijklmnopqrstuvwxyz012345.jpg").write_bytes(jpeg_bytes())


def _another_key_in(app):
    (Path(app.instance_path) / "vapid_private.pem").write_text("a key in use\n")


@pytest.mark.parametrize(
    ("make_it_full", "overrides", "says"),
    [
        (_kindergarten_in, {}, "already holds a kindergarten (1 users, 0 messages)"),
        (_a_stored_file_in, {}, "already holds 1 stored file(s)"),
        (_another_key_in, {}, "vapid_private.pem exists and differs"),
        (None, {"SECRET_KEY": "a key set in the environment"}, "SECRET_KEY is set by"),
    ],
    ids=["database-has-rows", "uploads-has-files", "another-key", "configured-secret-key"],
)
def test_restore_refuses_an_instance_that_is_not_empty_and_changes_nothing(
    small_backup, tmp_path, instance, empty_database, make_it_full, overrides, says
):
    folder = tmp_path / "target"
    target = instance(folder, empty_database("restore"), auto_migrate=True, **overrides)
    if make_it_full is not None:
        make_it_full(target)
    before = state_of(target)
    result = run(target, "restore", str(small_backup))
    assert result.exit_code == 1
    assert says in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert state_of(target) == before


def _flip_a_byte_of(archive: Path, prefix: str) -> None:
    with tarfile.open(archive) as tar:
        member = next(m for m in tar.getmembers() if m.name.startswith(prefix))
        offset = member.offset_data + member.size // 2
    with open(archive, "r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([byte[0] ^ 0x55]))


@pytest.mark.parametrize("damaged", ["uploads/", "database.", "instance/secret_key"])
def test_restore_refuses_a_damaged_archive_and_changes_nothing(
    small_backup, tmp_path, instance, empty_database, damaged
):
    _flip_a_byte_of(small_backup, damaged)
    folder = tmp_path / "target"
    target = instance(folder, empty_database("restore"), auto_migrate=True)
    before = state_of(target)
    result = run(target, "restore", str(small_backup))
    assert result.exit_code == 1
    assert f"{damaged}" in result.output and "does not match its SHA-256" in result.output
    assert state_of(target) == before
    assert not (folder / "uploads").exists()


def _cut_in_half(archive: Path, into: Path) -> None:
    data = archive.read_bytes()
    into.write_bytes(data[: len(data) // 2])


def _without_manifest(archive: Path, into: Path) -> None:
    with tarfile.open(archive) as tar, tarfile.open(into, "w") as out:
        for member in tar.getmembers():
            if member.name != MANIFEST:
                out.addfile(member, tar.extractfile(member))


def _not_a_tar(_archive: Path, into: Path) -> None:
    into.write_text("sferum.sqlite3 backup\n")


@pytest.mark.parametrize(
    ("spoil", "says"),
    [
        (_cut_in_half, "is damaged or cut short"),
        (_without_manifest, "has no manifest.json: not a whole sferum-lite backup"),
        (_not_a_tar, "can't be read as a backup archive"),
    ],
    ids=["cut-short", "no-manifest", "not-a-tar"],
)
def test_restore_refuses_what_is_not_a_whole_backup(
    small_backup, tmp_path, instance, empty_database, spoil, says
):
    spoil(small_backup, tmp_path / "spoilt.tar")
    target = instance(tmp_path / "target", empty_database("restore"), auto_migrate=True)
    before = state_of(target)
    result = run(target, "restore", str(tmp_path / "spoilt.tar"))
    assert result.exit_code == 1
    assert says in result.output and len(result.output.strip().splitlines()) == 1
    assert state_of(target) == before


def test_the_keys_and_settings_come_along_and_config_py_is_never_overwritten(
    small_backup, tmp_path, instance, empty_database
):
    folder = tmp_path / "target"
    folder.mkdir()
    (folder / "config.py").write_text('BASE_URL = "https://restore-test.example"\n')
    target = instance(folder, empty_database("restore"), auto_migrate=True)
    result = run(target, "restore", str(small_backup))
    assert result.exit_code == 0, result.output
    assert "config.py.from-backup" in result.output
    assert (folder / "config.py").read_text() == 'BASE_URL = "https://restore-test.example"\n'
    assert "sad7.example" in (folder / "config.py.from-backup").read_text()
    assert (folder / "vapid_private.pem").read_text().startswith("-----BEGIN PRIVATE KEY")
    assert stat.S_IMODE((folder / "vapid_private.pem").stat().st_mode) == 0o600
    assert (folder / "secret_key").read_bytes() == (tmp_path / "source" / "secret_key").read_bytes()


def test_a_restore_never_puts_a_config_py_in_place(
    small_backup, tmp_path, instance, empty_database
):
    """config.py is Python the app runs on start: even into an instance without one, the
    backup's goes beside it, for the operator to read and rename."""
    folder = tmp_path / "target"
    target = instance(folder, empty_database("restore"), auto_migrate=True)
    result = run(target, "restore", str(small_backup))
    assert result.exit_code == 0, result.output
    assert not (folder / "config.py").exists()
    assert "sad7.example" in (folder / "config.py.from-backup").read_text()
    assert "rename" in result.output


# --- backup details -----------------------------------------------------------------------------


def test_a_key_from_the_environment_stays_out_of_the_archive(
    world, tmp_path, database_url, instance
):
    source = instance(tmp_path / "source", database_url, SECRET_KEY="from the environment")
    (tmp_path / "source").mkdir(exist_ok=True)
    (tmp_path / "source" / "secret_key").write_text("an old key nobody uses\n")
    result = run(source, "backup", str(tmp_path / "b.tar"))
    assert result.exit_code == 0, result.output
    assert "SECRET_KEY comes from SFERUM_SECRET_KEY" in result.output
    names = set(members_of(tmp_path / "b.tar"))
    assert "instance/secret_key" not in names
    assert manifest_of(tmp_path / "b.tar")["counts"]["kindergartens"] == 1
    assert not any(
        b"from the environment" in data for data in members_of(tmp_path / "b.tar").values()
    )


def test_backup_never_overwrites_and_needs_its_folder(world, tmp_path, database_url, instance):
    source = instance(tmp_path / "source", database_url)
    (tmp_path / "there.tar").write_bytes(b"yesterday's")
    result = run(source, "backup", str(tmp_path / "there.tar"))
    assert result.exit_code == 1 and "exists already" in result.output
    assert (tmp_path / "there.tar").read_bytes() == b"yesterday's"
    result = run(source, "backup", str(tmp_path / "nowhere" / "b.tar"))
    assert result.exit_code == 1 and "create it first" in result.output
    assert leftovers(tmp_path) == []


@pytest.mark.skipif(not ON_POSTGRES, reason="pg_dump is PostgreSQL's")
def test_without_pg_dump_backup_says_what_to_run(
    world, tmp_path, database_url, instance, monkeypatch
):
    monkeypatch.setattr("sferum_lite.backup.find_pg_tool", lambda name: None)
    source = instance(tmp_path / "source", database_url)
    result = run(source, "backup", str(tmp_path))
    assert result.exit_code == 1
    assert "pg_dump not found" in result.output
    assert "apt-get install postgresql-client" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert list(tmp_path.glob("*.tar")) == [] and leftovers(tmp_path) == []


def test_the_libpq_url_keeps_the_password_off_the_command_line():
    url, env = libpq_target("postgresql+psycopg://sferum:p%40ss@db.local:5433/sad?sslmode=require")
    assert url == "postgresql://sferum@db.local:5433/sad?sslmode=require"
    assert env["PGPASSWORD"] == "p@ss"


# --- an older backup ----------------------------------------------------------------------------


def test_a_backup_from_an_older_version_is_migrated_to_the_newest_schema(
    tmp_path, instance, empty_database
):
    source = instance(tmp_path / "old", empty_database("old"))
    with source.app_context():
        upgrade(revision="0004")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO kindergarten (id, name, timezone, work_start, work_end, "
                    "work_days, apology_hours, created_at) VALUES (1, 'Сад № 3', "
                    "'Europe/Moscow', '07:00:00', '19:00:00', '12345', 24, '2026-01-01 00:00:00')"
                )
            )
            connection.execute(
                text(
                    'INSERT INTO "user" (id, kindergarten_id, name, phone, password_hash, '
                    "is_director, is_admin, created_at) VALUES (1, 1, 'Ольга Смирнова', "
                    "'+79160000001', 'x', true, false, '2026-01-01 00:00:00')"
                )
            )
        db.engine.dispose()
    result = run(source, "backup", str(tmp_path / "old.tar"))
    assert result.exit_code == 0, result.output
    assert manifest_of(tmp_path / "old.tar")["alembic_revision"] == "0004"

    folder = tmp_path / "target"
    target_url = empty_database("restore")
    target = instance(folder, target_url, auto_migrate=True)  # at the newest revision, empty
    (head,) = ScriptDirectory(str(ROOT / "migrations")).get_heads()
    result = run(target, "restore", str(tmp_path / "old.tar"))
    assert result.exit_code == 0, result.output
    assert f"migrated from 0004 to {head}" in result.output
    restored = instance(folder, target_url)
    with restored.app_context():
        with db.engine.connect() as connection:
            assert connection.scalar(text("SELECT version_num FROM alembic_version")) == head
            assert schema_differences(connection) == []
        director = db.session.get(User, 1)
        assert (director.name, director.deleted_at) == ("Ольга Смирнова", None)
    if not ON_POSTGRES:  # the migration kept a copy of the database as it was restored
        (kept,) = Path(make_url(target_url).database).parent.glob("*.before-migration-from-0004-*")
        assert kept.stat().st_size > 0


@pytest.mark.skipif(ON_POSTGRES, reason="a SQLite file held open by another process")
def test_restore_into_a_database_the_app_still_has_open_puts_everything_back(
    small_backup, tmp_path, instance, empty_database
):
    """The files and keys are in place before the database is: when the database turns out to
    be open elsewhere (the app still running), they are taken back out."""
    url = empty_database("restore")
    target = instance(tmp_path / "target", url, auto_migrate=True)
    before = state_of(target)
    running = sqlite3.connect(make_url(url).database)
    try:
        running.execute("SELECT count(*) FROM kindergarten").fetchall()
        result = run(target, "restore", str(small_backup))
    finally:
        running.close()
    assert result.exit_code == 1
    assert "is open in another process: stop the app" in result.output
    assert state_of(target) == before
    assert not (tmp_path / "target" / "uploads").exists()


def test_restore_refuses_a_backup_from_a_newer_version(
    small_backup, tmp_path, instance, empty_database
):
    newer = tmp_path / "newer.tar"
    with tarfile.open(small_backup) as tar, tarfile.open(newer, "w") as out:
        for member in tar.getmembers():
            data = tar.extractfile(member).read()
            if member.name == MANIFEST:
                manifest = json.loads(data)
                manifest["alembic_revision"], manifest["app_version"] = "0099", "9.0"
                data = json.dumps(manifest).encode()
                member.size = len(data)
            out.addfile(member, io.BytesIO(data))
    target = instance(tmp_path / "target", empty_database("restore"), auto_migrate=True)
    before = state_of(target)
    result = run(target, "restore", str(newer))
    assert result.exit_code == 1
    assert "is from a newer sferum-lite (migration 0099, app version 9.0)" in result.output
    assert state_of(target) == before


def test_backup_names_the_files_the_database_refers_to_that_are_gone(
    world, tmp_path, database_url, instance
):
    source = instance(tmp_path / "source", database_url)
    chat = f.make_chat(world.kindergarten, world.educator, group=world.group)
    attachment = f.make_attachment(f.make_message(chat, world.educator))  # rows, no files
    result = run(source, "backup", str(tmp_path / "b.tar"))
    assert result.exit_code == 0, result.output
    assert "warning: 2 stored file(s) the database refers to are not in" in result.output
    missing = manifest_of(tmp_path / "b.tar")["missing_uploads"]
    assert missing == sorted([attachment.stored_name, attachment.thumb_name])
