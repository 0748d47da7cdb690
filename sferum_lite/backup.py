"""Backups: a consistent snapshot of the database, with the files that belong to it.

`flask backup DEST` writes one plain (uncompressed: the photos are JPEG already) tar file. DEST is
the archive's file name, or an existing folder, which gets `sferum-backup-<UTC time>.tar`:

    database.sqlite3     the SQLite database, one consistent snapshot (VACUUM INTO), or
    database.pgdump      PostgreSQL's `pg_dump -Fc`, taken in one exported snapshot
    uploads/<name>       every stored photo and file of UPLOAD_FOLDER, copied after the snapshot
    instance/secret_key  the key that signs the session cookies, when it comes from that file
    instance/config.py   the instance's settings (BASE_URL…), when there are any
    instance/*.pem|*.key other keys kept in instance/ (Web Push's VAPID key…)
    manifest.json        last: app version, migration, time, database kind, counts and the
                         SHA-256 and size of every other member

Stored files are write-once and a committed message never loses its files, so every file the
snapshot refers to is in UPLOAD_FOLDER when the copy starts; files newer than the snapshot come
along too and are harmless. Nothing here takes the database's write lock: VACUUM INTO reads one
snapshot of the WAL database in a single read transaction while writers go on.

`flask restore SRC` puts an archive into an empty instance: no rows in the database (the empty
schema the first start creates is fine), no stored files, no other key of the same name. The
archive is verified against its manifest and staged under temporary names first, then moved into
place, the database last; anything that fails on the way puts back what was moved. The database
is then migrated to this app's newest revision, so an older backup restores into a newer app.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from flask import Flask
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import NullPool

from .media import fsync_path, stored_path

FORMAT = "sferum-lite backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE_MEMBER = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
KEY_PATTERNS = ("*.pem", "*.key")  # other keys kept in instance/, beside secret_key
_INSTANCE_MEMBER = re.compile(
    r"instance/(secret_key|config\.py|[A-Za-z0-9_-][A-Za-z0-9._-]*\.(?:pem|key))"
)
_CHUNK = 1024 * 1024
# what the manifest counts; a table an older revision doesn't have counts 0
COUNTED = {
    "kindergartens": "kindergarten",
    "users": "user",
    "chats": "chat",
    "messages": "message",
    "attachments": "attachment",
}


class BackupError(Exception):
    """Why a backup or a restore can't be done, in one line for the operator."""


def sqlite_snapshot(source: Path, dest: Path) -> None:
    """Copy a live SQLite database to `dest` in one step, consistent, while others write.

    `VACUUM INTO` reads one snapshot of the WAL database in a single read transaction: writers
    go on meanwhile (unlike the backup API, which restarts whenever someone writes), and the
    copy is compact. `dest` must not exist yet.
    """
    dest = Path(dest)
    connection = sqlite3.connect(str(source), isolation_level=None, timeout=30)
    try:
        connection.execute("PRAGMA busy_timeout=30000")
        connection.execute("VACUUM INTO ?", (str(dest),))
    finally:
        connection.close()
    os.chmod(dest, 0o600)  # children's names and messages: the owner's alone, like the archive
    fsync_path(dest)
    fsync_path(dest.parent)


# --- small helpers ------------------------------------------------------------------------------


def app_version() -> str:
    from . import ROOT

    try:
        with open(ROOT / "pyproject.toml", "rb") as fh:
            return str(tomllib.load(fh)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def human_size(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"  # pragma: no cover - unreachable


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def find_pg_tool(name: str) -> str | None:
    """`pg_dump` / `pg_restore`: in $PG_BIN, on PATH, or the newest /usr/lib/postgresql/*/bin."""
    if pg_bin := os.environ.get("PG_BIN"):
        candidate = Path(pg_bin) / name
        if os.access(candidate, os.X_OK):
            return str(candidate)
    if found := shutil.which(name):
        return found

    def major(path: Path) -> tuple[int, ...]:
        digits = re.findall(r"\d+", path.parent.parent.name)
        return tuple(int(d) for d in digits) or (0,)

    installed = [
        p for p in Path("/usr/lib/postgresql").glob(f"*/bin/{name}") if os.access(p, os.X_OK)
    ]
    return str(max(installed, key=major)) if installed else None


def _pg_tool(name: str, instead: str) -> str:
    tool = find_pg_tool(name)
    if tool is None:
        raise BackupError(
            f"{name} not found (not in $PG_BIN, on PATH or in /usr/lib/postgresql/*/bin): install "
            f"it with `sudo apt-get install postgresql-client` (or set PG_BIN to the folder that "
            f"holds it) and run {instead} again"
        )
    return tool


def libpq_target(url: URL | str) -> tuple[str, dict[str, str]]:
    """A SQLAlchemy URL (postgresql+psycopg://…) as a libpq URL for pg_dump / pg_restore, and
    the environment to run them with: the password goes in PGPASSWORD, never on a command line
    anyone can read in `ps`."""
    url = make_url(url) if isinstance(url, str) else url
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = URL.create(
        "postgresql",
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=url.query,
    )
    return plain.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit status {done.returncode}"
        raise BackupError(f"{what} failed: {reason}")


def database_kind(engine: Engine) -> str:
    return engine.dialect.name


def _sqlite_file(engine: Engine) -> Path:
    name = engine.url.database
    if not name or name == ":memory:" or name.startswith("file::memory:"):
        raise BackupError("the database is in memory: there is nothing on disk to back up")
    return Path(name)


def _known_tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _quoted(connection: Connection, table: str) -> str:
    return connection.dialect.identifier_preparer.quote(table)


def read_facts(connection: Connection) -> dict:
    """The migration revision, the counts and the stored files a database refers to."""
    tables = _known_tables(connection)
    revision = None
    if "alembic_version" in tables:
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    counts = {}
    for label, table in COUNTED.items():
        counts[label] = (
            connection.execute(text(f"SELECT count(*) FROM {_quoted(connection, table)}")).scalar()
            if table in tables
            else 0
        )
    referenced: set[str] = set()
    if "attachment" in tables:
        for stored, thumb in connection.execute(
            text("SELECT stored_name, thumb_name FROM attachment")
        ):
            referenced.update(name for name in (stored, thumb) if name)
    return {"revision": revision, "counts": counts, "referenced": referenced}


def _rows_in(connection: Connection) -> dict[str, bool]:
    """Which of the database's tables hold a row (alembic_version aside)."""
    found = {}
    for table in sorted(_known_tables(connection) - {"alembic_version"}):
        row = connection.execute(text(f"SELECT 1 FROM {_quoted(connection, table)} LIMIT 1"))
        found[table] = row.first() is not None
    return found


def _sqlite_readonly(path: Path) -> Engine:
    """A database file opened read-only (a snapshot being checked or counted)."""
    uri = f"file:{quote(str(path))}?mode=ro"
    return create_engine(
        "sqlite://", creator=lambda: sqlite3.connect(uri, uri=True), poolclass=NullPool
    )


def _stored_names(folder: Path) -> list[str]:
    """The stored files in UPLOAD_FOLDER (names `media.store` makes; temporary files aside)."""
    if not folder.is_dir():
        return []
    names = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if not entry.is_file(follow_symlinks=False):
                continue
            try:
                stored_path(folder, entry.name)
            except ValueError:
                continue
            names.append(entry.name)
    return sorted(names)


def _instance_files(app: Flask) -> tuple[list[tuple[str, Path]], bool]:
    """(archive name, path) of the keys and settings in instance/, and whether the secret key
    in use is instance/secret_key (False: it comes from the environment or config.py)."""
    instance = Path(app.instance_path)
    files: list[tuple[str, Path]] = []
    key = instance / "secret_key"
    key_from_file = key.is_file() and key.read_text().strip() == app.config.get("SECRET_KEY")
    if key_from_file:
        files.append(("instance/secret_key", key))
    if (instance / "config.py").is_file():
        files.append(("instance/config.py", instance / "config.py"))
    for pattern in KEY_PATTERNS:
        for path in sorted(instance.glob(pattern)):
            name = f"instance/{path.name}"
            if path.is_file() and _INSTANCE_MEMBER.fullmatch(name):
                files.append((name, path))
    return files, key_from_file


# --- backup -------------------------------------------------------------------------------------


@dataclasses.dataclass
class BackupResult:
    path: Path
    size: int
    seconds: float
    manifest: dict
    notes: list[str]


class _Hashing:
    """A file being read into the archive, hashed on the way."""

    def __init__(self, fh):
        self.fh = fh
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.digest.update(data)
        return data


def _add(tar: tarfile.TarFile, name: str, fh, mode: int) -> dict:
    info = tar.gettarinfo(arcname=name, fileobj=fh)
    info.mode, info.uid, info.gid, info.uname, info.gname = mode, 0, 0, "", ""
    reader = _Hashing(fh)
    tar.addfile(info, reader)
    return {"size": info.size, "sha256": reader.digest.hexdigest()}


def create_backup(app: Flask, dest: Path | str) -> BackupResult:
    """Write the archive (see the module's doc); the manifest says what went in."""
    started = time.monotonic()
    now = _utc_now()
    dest = Path(dest).absolute()
    if dest.is_dir():
        dest = dest / f"sferum-backup-{now:%Y%m%dT%H%M%SZ}.tar"
    if dest.exists():
        raise BackupError(f"{dest} exists already: give a new file name, or a folder to write into")
    if not dest.parent.is_dir():
        raise BackupError(f"no folder {dest.parent}: create it first")
    work = Path(tempfile.mkdtemp(prefix=".sferum-backup-", dir=dest.parent))  # private: 0700
    try:
        kind, database, facts = _snapshot(app, work)
        # after the snapshot: every file it refers to is there already (write-once files)
        upload_folder = Path(app.config["UPLOAD_FOLDER"])
        instance_files, key_from_file = _instance_files(app)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "app_version": app_version(),
            "alembic_revision": facts["revision"],
            "created_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "database": kind,
            "database_file": database.name,
            "upload_folder": str(upload_folder),
            "secret_key": "instance/secret_key"
            if key_from_file
            else "not included: SECRET_KEY is set by SFERUM_SECRET_KEY or instance/config.py",
            "counts": dict(facts["counts"]),
        }
        archive = work / "archive.tar"
        copied = _write_archive(
            archive, manifest, database, upload_folder, instance_files, facts["referenced"]
        )
        if dest.exists():
            raise BackupError(f"{dest} appeared while the backup was written: nothing replaced")
        os.replace(archive, dest)
        fsync_path(dest.parent)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    notes = []
    if not key_from_file:
        notes.append(
            "SECRET_KEY comes from SFERUM_SECRET_KEY or instance/config.py, so it is not in the "
            "archive: keep it with the archive, a restore without it signs everyone out"
        )
    if missing := sorted(facts["referenced"] - copied):
        notes.append(
            f"warning: {len(missing)} stored file(s) the database refers to are not in "
            f"{upload_folder} (so not in the archive), e.g. {missing[0]}"
        )
    return BackupResult(dest, dest.stat().st_size, time.monotonic() - started, manifest, notes)


def _snapshot(app: Flask, work: Path) -> tuple[str, Path, dict]:
    """The database's kind, its snapshot in `work`, and what that snapshot holds."""
    from .extensions import db

    with app.app_context():
        engine = db.engine
        kind = database_kind(engine)
        if kind not in DATABASE_MEMBER:
            raise BackupError(f"cannot back up a {kind} database: SQLite or PostgreSQL only")
        database = work / DATABASE_MEMBER[kind]
        if kind == "postgresql":
            return kind, database, _pg_dump(engine, database)
        source = _sqlite_file(engine)
        if not source.is_file():
            raise BackupError(f"no database at {source}: nothing to back up")
    sqlite_snapshot(source, database)
    snapshot = _sqlite_readonly(database)
    try:
        with snapshot.connect() as connection:
            return kind, database, read_facts(connection)
    finally:
        snapshot.dispose()


def _write_archive(
    archive: Path,
    manifest: dict,
    database: Path,
    upload_folder: Path,
    instance_files: list[tuple[str, Path]],
    referenced: set[str],
) -> set[str]:
    """The tar file, fsynced, private; the manifest last, with every member's SHA-256 and the
    stored files the database refers to that weren't there. Returns the stored files copied."""
    files: dict[str, dict] = {}
    copied = set()
    with open(archive, "xb") as raw:
        os.fchmod(raw.fileno(), 0o600)  # children's photos and the key that signs sessions
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
            tar.copybufsize = _CHUNK
            with open(database, "rb") as fh:
                files[database.name] = _add(tar, database.name, fh, 0o600)
            database.unlink()  # in the archive now: the space isn't needed twice
            for name in _stored_names(upload_folder):
                try:
                    fh = open(upload_folder / name, "rb")  # noqa: SIM115
                except FileNotFoundError:
                    continue  # a failed post's file, taken back: no row refers to it
                with fh:
                    files[f"uploads/{name}"] = _add(tar, f"uploads/{name}", fh, 0o640)
                copied.add(name)
            for name, path in instance_files:
                with open(path, "rb") as fh:
                    files[name] = _add(tar, name, fh, 0o600)
            manifest["counts"]["stored_files"] = len(copied)
            manifest["missing_uploads"] = sorted(referenced - copied)
            manifest["files"] = files
            body = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode, info.mtime = len(body), 0o600, int(time.time())
            tar.addfile(info, io.BytesIO(body))
        raw.flush()
        os.fsync(raw.fileno())
    return copied


def _pg_dump(engine: Engine, out: Path) -> dict:
    """pg_dump -Fc of one exported snapshot; the counts are read in that same snapshot."""
    tool = _pg_tool("pg_dump", "`flask backup`")
    url, env = libpq_target(engine.url)
    with engine.connect().execution_options(
        isolation_level="REPEATABLE READ", postgresql_readonly=True
    ) as connection:
        snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        facts = read_facts(connection)
        # the exporting transaction stays open until pg_dump is done with the snapshot
        _run(
            [
                tool,
                "--format=custom",
                f"--snapshot={snapshot}",
                "--file",
                str(out),
                "--dbname",
                url,
            ],
            env,
            "pg_dump",
        )
        connection.rollback()
    return facts


# --- restore ------------------------------------------------------------------------------------


@dataclasses.dataclass
class RestoreResult:
    manifest: dict
    revision_before: str | None
    revision_after: str | None
    notes: list[str]


MANIFEST_LIMIT = 64 * 1024 * 1024  # a line per file: room for a million photos
SMALL_FILE_LIMIT = 1024 * 1024  # a key or config.py


def _read_manifest(tar: tarfile.TarFile, src: Path) -> dict:
    try:
        member = tar.getmember(MANIFEST)
    except KeyError:
        raise BackupError(f"{src} has no {MANIFEST}: not a whole sferum-lite backup") from None
    if member.size > MANIFEST_LIMIT:
        raise BackupError(f"{src}: {MANIFEST} is too large to be a sferum-lite manifest")
    fh = tar.extractfile(member)
    try:
        manifest = json.loads(fh.read()) if fh is not None else None
    except ValueError:
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{src}: {MANIFEST} is unreadable or not a sferum-lite manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"{src} is backup format {manifest.get('format_version')}; this sferum-lite reads "
            f"format {FORMAT_VERSION}: restore it with the version that made it"
        )
    if not isinstance(manifest.get("files"), dict):
        raise BackupError(f"{src}: {MANIFEST} lists no files")
    return manifest


def _allowed_member(name: str, database_file: str) -> bool:
    if name == database_file:
        return True
    if name.startswith("uploads/"):
        try:
            stored_path(Path("."), name.removeprefix("uploads/"))
        except ValueError:
            return False
        return True
    return bool(_INSTANCE_MEMBER.fullmatch(name))


def _check_members(tar: tarfile.TarFile, manifest: dict, src: Path) -> list[tarfile.TarInfo]:
    """The archive holds exactly the manifest's files, each a plain file of the right size."""
    files = manifest["files"]
    database_file = manifest.get("database_file")
    if DATABASE_MEMBER.get(manifest.get("database")) != database_file:
        raise BackupError(f"{src}: {MANIFEST} names no database this app knows")
    members = [m for m in tar.getmembers() if m.name != MANIFEST]
    seen = set()
    for member in members:
        if not member.isfile() or not _allowed_member(member.name, database_file):
            raise BackupError(f"{src}: unexpected member {member.name!r}: not a sferum-lite backup")
        expected = files.get(member.name)
        if expected is None or member.name in seen:
            raise BackupError(f"{src}: {member.name} is not in {MANIFEST}: the archive is damaged")
        if expected.get("size") != member.size:
            raise BackupError(f"{src}: {member.name} has the wrong size: the archive is damaged")
        seen.add(member.name)
    if missing := sorted(set(files) - seen):
        raise BackupError(f"{src}: {missing[0]} is missing from the archive: it is damaged")
    return members


def _refuse_unless_empty(engine: Engine, upload_folder: Path) -> None:
    full, counts = set(), {}
    if database_kind(engine) != "sqlite" or _sqlite_file(engine).exists():
        with engine.connect() as connection:
            full = {table for table, has_rows in _rows_in(connection).items() if has_rows}
            counts = read_facts(connection)["counts"] if full else {}
    if full:
        what = (
            f"a kindergarten ({counts['users']} users, {counts['messages']} messages)"
            if counts.get("kindergartens")
            else "rows in " + ", ".join(sorted(full)[:3]) + ("…" if len(full) > 3 else "")
        )
        raise BackupError(
            f"the database already holds {what}: restore goes only into an empty instance; "
            "point SFERUM_DATABASE_URL at an empty database (or move the SQLite file away) and "
            "run it again"
        )
    if stored := _stored_names(upload_folder):
        raise BackupError(
            f"{upload_folder} already holds {len(stored)} stored file(s): restore goes only into "
            "an empty instance; move them away and run it again"
        )


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path, mode: int, expected):
    """Write a member to `target` (a new file), checking its SHA-256 against the manifest."""
    source = tar.extractfile(member)
    digest = hashlib.sha256()
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as out:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    os.chmod(target, mode)  # whatever the umask
    if digest.hexdigest() != expected.get("sha256"):
        raise BackupError(
            f"{member.name} does not match its SHA-256 in {MANIFEST}: the archive is damaged; "
            "nothing was changed"
        )


def restore_backup(app: Flask, src: Path | str) -> RestoreResult:
    """Put an archive into this empty instance, then migrate it to the newest revision."""
    from .database import upgrade_database
    from .extensions import db

    src = Path(src).absolute()
    try:
        tar = tarfile.open(src, mode="r:")
    except (tarfile.TarError, OSError) as error:
        raise BackupError(f"{src} can't be read as a backup archive: {error}") from None
    job = _Restore(app, src, tar)
    done = False
    try:
        with tar, app.app_context():
            job.check(db.engine)
            job.stage(db.engine)
            job.place(db.engine)
            done = True
    except (tarfile.TarError, EOFError) as error:
        raise BackupError(f"{src} is damaged or cut short ({error}): nothing was changed") from None
    finally:
        job.clean_up(done)

    # an older backup: up to this app's newest revision (SQLite keeps a copy first)
    with app.app_context():
        db.engine.dispose()
        try:
            upgrade_database(app)
        except Exception as error:
            first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise BackupError(
                f"restored, but migrating it from {job.revision} to the newest schema failed: "
                f"{first_line}; fix that and run `flask db upgrade`"
            ) from error
        with db.engine.connect() as connection:
            after = read_facts(connection)["revision"]
        db.engine.dispose()
    return RestoreResult(job.manifest, job.revision, after, job.notes)


class _Restore:
    """One restore: its checks, the files staged under temporary names, the moves into place
    (the database last), and what puts each move back should a later one fail."""

    def __init__(self, app: Flask, src: Path, tar: tarfile.TarFile):
        self.app, self.src, self.tar = app, src, tar
        self.instance = Path(app.instance_path)
        self.upload_folder = Path(app.config["UPLOAD_FOLDER"]).absolute()
        self.notes: list[str] = []
        self.temporary: list[Path] = []  # removed at the end, whatever happened
        self.undo: list[Callable[[], None]] = []
        self.made_upload_folder = False
        self.revision: str | None = None

    def check(self, engine: Engine) -> None:
        """Refuse before anything is written: the archive, its database kind and revision, an
        instance that isn't empty, a key that would be replaced."""
        src = self.src
        self.manifest = manifest = _read_manifest(self.tar, src)
        self.members = _check_members(self.tar, manifest, src)
        self.kind = kind = database_kind(engine)
        if manifest["database"] != kind:
            raise BackupError(
                f"{src} holds a {manifest['database']} database and this instance uses {kind}: "
                f"restore it into a {manifest['database']} instance"
            )
        self.revision = manifest.get("alembic_revision")
        if self.revision is not None and not _known_revision(self.app, self.revision):
            raise BackupError(
                f"{src} is from a newer sferum-lite (migration {self.revision}, app version "
                f"{manifest.get('app_version')}): install that version or newer, then restore"
            )
        _refuse_unless_empty(engine, self.upload_folder)
        by_name = {member.name: member for member in self.members}
        self.keys = _check_keys(self.app, self.tar, by_name, self.notes)

    def stage(self, engine: Engine) -> None:
        """Every member under a temporary name beside where it goes, checked as it is read."""
        self.instance.mkdir(parents=True, exist_ok=True)
        self.stage_folder = Path(tempfile.mkdtemp(prefix=".sferum-restore-", dir=self.instance))
        self.temporary.append(self.stage_folder)
        if not self.upload_folder.exists():
            self.upload_folder.mkdir(parents=True)
            os.chmod(self.upload_folder, 0o750)  # as media.store makes it, whatever the umask
            self.made_upload_folder = True
        # staged inside UPLOAD_FOLDER: the same file system, whatever is mounted where
        self.staged_uploads = Path(
            tempfile.mkdtemp(prefix=".sferum-restore-", dir=self.upload_folder)
        )
        self.temporary.append(self.staged_uploads)
        if self.kind == "sqlite":
            self.database_path = _sqlite_file(engine).absolute()
            self.database_path.parent.mkdir(parents=True, exist_ok=True)
            self.staged_database = self.database_path.with_name(
                f".sferum-restore-{secrets.token_hex(6)}.sqlite3"
            )
            self.temporary.append(self.staged_database)
        else:
            self.staged_database = self.stage_folder / self.manifest["database_file"]
        for member in self.members:
            expected = self.manifest["files"][member.name]
            if member.name == self.manifest["database_file"]:
                _extract(self.tar, member, self.staged_database, 0o600, expected)
            elif member.name.startswith("uploads/"):
                target = self.staged_uploads / member.name.removeprefix("uploads/")
                _extract(self.tar, member, target, 0o640, expected)
            else:
                target = self.stage_folder / Path(member.name).name
                _extract(self.tar, member, target, 0o600, expected)
        fsync_path(self.staged_uploads)
        if self.kind == "sqlite":
            _check_sqlite_copy(self.staged_database, self.manifest, self.src)

    def place(self, engine: Engine) -> None:
        """The files, then the keys, then the database: once it is in, the restore is done."""
        from .extensions import db

        _refuse_unless_empty(engine, self.upload_folder)
        for name in sorted(os.listdir(self.staged_uploads)):
            target = self.upload_folder / name
            os.rename(self.staged_uploads / name, target)
            self.undo.append(functools.partial(os.unlink, target))
        fsync_path(self.upload_folder)
        for name, target in self.keys:
            self._place_file(self.stage_folder / Path(name).name, target)
        fsync_path(self.instance)
        db.session.remove()
        if self.kind == "sqlite":
            engine.dispose()
            _take_over_sqlite(self.database_path)
            os.replace(self.staged_database, self.database_path)
            for suffix in ("-wal", "-shm", "-journal"):
                Path(f"{self.database_path}{suffix}").unlink(missing_ok=True)
            fsync_path(self.database_path.parent)
        else:
            _pg_restore(engine, self.staged_database)

    def _place_file(self, staged: Path, target: Path) -> None:
        if target.exists():
            kept = self.stage_folder / f"old-{target.name}"
            os.replace(target, kept)
            self.undo.append(lambda: os.replace(kept, target))
        else:
            self.undo.append(lambda: target.unlink(missing_ok=True))
        os.replace(staged, target)

    def clean_up(self, done: bool) -> None:
        if not done:
            for step in reversed(self.undo):
                with contextlib.suppress(OSError):
                    step()
        for path in self.temporary:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        if self.made_upload_folder and not done:
            with contextlib.suppress(OSError):
                self.upload_folder.rmdir()


def _known_revision(app: Flask, revision: str) -> bool:
    """Is `revision` one of this app's migrations (not one of a newer version's)?"""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
    try:
        return script.get_revision(revision) is not None
    except Exception:  # alembic raises several kinds for an unknown id
        return False


def _check_keys(app: Flask, tar, by_name: dict, notes: list[str]) -> list[tuple[str, Path]]:
    """Where each instance/ file of the archive goes; refuses a key that would be replaced.

    The instance's own secret_key is replaced: an instance with no rows has signed nothing
    that lasts (no sessions without users). A SECRET_KEY set in the environment or config.py
    that differs from the archive's is refused: every session restored would be dead.
    """
    instance = Path(app.instance_path)
    placements = []
    for name in sorted(n for n in by_name if n.startswith("instance/")):
        base = Path(name).name
        target = instance / base
        if by_name[name].size > SMALL_FILE_LIMIT:
            raise BackupError(f"{name} in the backup is too large for a key or settings file")
        data = tar.extractfile(by_name[name]).read()
        if base == "secret_key":
            current = app.config.get("SECRET_KEY")
            own = target.is_file() and target.read_text().strip() == current
            if not own and current != data.decode(errors="replace").strip():
                raise BackupError(
                    "SECRET_KEY is set by SFERUM_SECRET_KEY or instance/config.py and differs "
                    "from the backup's key, so every restored sign-in would end: unset it (the "
                    "backup's key goes to instance/secret_key) and run restore again"
                )
        elif base == "config.py":
            # Python that the app runs when it starts: never put in place by a restore. It goes
            # beside, for the operator to read and rename.
            if target.exists() and target.read_bytes() == data:
                continue
            target = instance / "config.py.from-backup"
            notes.append(
                f"the backup's settings are in {target}: read them, then rename the file to "
                "config.py (it is Python the app runs when it starts)"
            )
        elif target.exists() and target.read_bytes() != data:
            raise BackupError(
                f"{target} exists and differs from the backup's {base}: move it away (it may be "
                "a key in use) and run restore again"
            )
        placements.append((name, target))
    if "instance/secret_key" not in by_name:
        notes.append(
            "the backup has no secret key (it came from the environment): set the same "
            "SFERUM_SECRET_KEY here, or everyone signs in again"
        )
    return placements


def _check_sqlite_copy(path: Path, manifest: dict, src: Path) -> None:
    engine = _sqlite_readonly(path)
    try:
        with engine.connect() as connection:
            check = connection.exec_driver_sql("PRAGMA quick_check").scalar()
            facts = read_facts(connection) if check == "ok" else None
    except Exception as error:
        raise BackupError(f"{src}: the database in it does not open: {error}") from None
    finally:
        engine.dispose()
    if facts is None:
        raise BackupError(f"{src}: the database in it is damaged ({check})")
    if facts["revision"] != manifest.get("alembic_revision") or any(
        facts["counts"][label] != manifest.get("counts", {}).get(label) for label in COUNTED
    ):
        raise BackupError(f"{src}: the database does not match {MANIFEST}: the archive is damaged")


def _take_over_sqlite(path: Path) -> None:
    """The target database file, out of WAL mode so no stale -wal is left beside the new one;
    that needs every other connection closed, so a running app is found out here."""
    if not path.exists():
        return
    connection = sqlite3.connect(str(path), isolation_level=None, timeout=2)
    try:
        mode = connection.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
    except sqlite3.Error:
        mode = None
    finally:
        connection.close()
    if mode != "delete":
        raise BackupError(
            f"{path} is open in another process: stop the app (gunicorn, flask run) and run "
            "restore again"
        )


def _pg_restore(engine: Engine, dump: Path) -> None:
    """Into the configured database, verified empty: its empty tables (the schema a first start
    made, perhaps of a newer revision) are dropped, then pg_restore in one transaction."""
    tool = _pg_tool("pg_restore", "`flask restore`")
    url, env = libpq_target(engine.url)
    with engine.begin() as connection:
        tables = sorted(_known_tables(connection))
        if tables:
            names = ", ".join(_quoted(connection, table) for table in tables)
            connection.execute(text(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE"))
            if any(_rows_in(connection).values()):
                raise BackupError("the database got rows meanwhile: nothing was restored")
            connection.execute(text(f"DROP TABLE {names} CASCADE"))
        connection.execute(text("DROP FUNCTION IF EXISTS refuse_update() CASCADE"))
    engine.dispose()
    _run(
        [
            tool,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-acl",
            "--single-transaction",
            "--exit-on-error",
            "--dbname",
            url,
            str(dump),
        ],
        env,
        "pg_restore",
    )
