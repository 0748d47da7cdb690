"""`flask backup` while eight people post, on a ~100 MB SQLite database, against `sqlite3 .backup`.

    uv run python bench/backup.py [--mb 100] [--photos 200] [--writers 8] [--workdir DIR]
                                  [--timeout 300]

Builds (once; a later run starts from a copy of it) an instance in `--workdir` (default
/tmp/sferum-bench-backup): a SQLite database of about `--mb` MB — a kindergarten with 6 chats and
messages of everyday Russian text spread over a year, put in with SQLAlchemy Core bulk inserts —
and `--photos` stored photos (with their thumbnails) attached to messages. Then `--writers`
threads, each a parent signed in with its own WSGI test client, post to their group's chat
without a pause (every fifth message with a photo) through the app's real code and its SQLite
settings. While they post, it runs, one after the other, each as its own process like cron
would, with `--timeout` seconds at most:

  * `flask backup DIR` (the whole command: Python start, the app, the snapshot, the archive);
  * `sqlite3 sferum.sqlite3 ".backup copy.sqlite3"` (what the README said before), when the
    sqlite3 command is installed;
  * nothing, for as long as the first took: the writers' own pace.

For each: seconds, posts answered meanwhile, writer errors (anything but 303: "database is
locked" is a 503 now) and the posts' median and slowest time. Only loopback, no network: the
writers call the app in-process. Not a test: numbers go to bench/README.md.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path

from PIL import Image, ImageDraw
from sqlalchemy import func, insert, select, text, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sferum_lite import create_app  # noqa: E402
from sferum_lite.actions.rules import accept, create_default_rules, default_rules  # noqa: E402
from sferum_lite.actions.setup import do_setup  # noqa: E402
from sferum_lite.extensions import db  # noqa: E402
from sferum_lite.media import process_photo, store  # noqa: E402
from sferum_lite.models import (  # noqa: E402
    Attachment,
    Chat,
    ChatMember,
    Child,
    Group,
    Message,
    ParentChild,
    User,
)
from sferum_lite.roster import name_key  # noqa: E402
from sferum_lite.security import hash_password  # noqa: E402

PASSWORD = "бенчмарк пароль 1"
BATCH = 20_000
PHRASES = [
    "Добрый день! Завтра утренник в 9:00, приходите к началу, пожалуйста.",
    "Спасибо большое воспитателям за праздник, дети в восторге!",
    "Напоминаем: в пятницу занятия по рисованию, нужен альбом и гуашь.",
    "Мы сегодня заберём пораньше, около 16:00, бабушка придёт.",
    "Подскажите, пожалуйста, во сколько завтра прогулка и нужна ли сменная одежда?",
    "Фотографии с праздника выложили в канал группы, посмотрите.",
    "Хорошо, поняли 👍",
    "У нас температура, сегодня не придём, к врачу записались на вечер.",
    "Сменная обувь осталась в шкафчике, заберём в понедельник.",
    "Родительское собрание переносится на четверг, 18:30, в музыкальном зале.",
    "Кто-нибудь видел синюю варежку с оленем? Потерялась на прогулке.",
    "Завтра в саду плановая уборка территории, приглашаем пап на субботник к 10:00.",
    "Не забудьте подписать вещи детей: шапки, шарфы, варежки, сменные носки.",
    "Поздравляем Машу с днём рождения! Желаем здоровья и радости!",
]


def config(instance: Path) -> dict:
    return {
        "BASE_URL": "http://127.0.0.1:5000",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "LOG_LEVEL": "WARNING",
        "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(instance / "sferum.sqlite3"),
    }


def parent_login(n: int) -> str:
    return f"+7916555{n:04d}"


def photo(rng: random.Random, size=(1200, 900)) -> bytes:
    """A picture with some detail, as a phone would send it (before the app re-encodes it)."""
    img = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(img)
    for _ in range(60):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        box = (x, y, x + rng.randrange(30, 300), y + rng.randrange(30, 300))
        draw.ellipse(box, fill=tuple(rng.randrange(256) for _ in range(3)))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


def build(instance: Path, mb: int, photos: int, writers: int) -> dict:
    """The kindergarten, its messages and photos; returns what the run needs."""
    rng = random.Random(20261207)
    app = create_app(config(instance), instance_path=str(instance))
    with app.app_context():
        director = do_setup(
            kindergarten_name="Детский сад № 5 «Ромашка»",
            timezone="Europe/Moscow",
            work_start=clock(7),
            work_end=clock(19),
            work_days="12345",
            director_name="Ольга Смирнова",
            login=("phone", "+79120000001"),
            password=PASSWORD,
        )
        kg = director.kindergarten
        rules = default_rules(kg.id) or create_default_rules(kg, None)
        group = Group(kindergarten_id=kg.id, name="Солнышко")
        db.session.add(group)
        db.session.flush()
        password_hash = hash_password(PASSWORD)
        parents = []
        for n in range(writers):
            child = Child(
                kindergarten_id=kg.id,
                group_id=group.id,
                last_name="Иванов",
                first_name=f"Ребёнок{n}",
                name_key=name_key("Иванов", f"Ребёнок{n}"),
            )
            parent = User(
                kindergarten_id=kg.id,
                name=f"Родитель {n}",
                phone=parent_login(n),
                password_hash=password_hash,
            )
            db.session.add_all([child, parent])
            db.session.flush()
            db.session.add(ParentChild(user_id=parent.id, child_id=child.id))
            parents.append(parent)
        chats = []
        for title in ("Родители «Солнышка»", "Канал «Солнышка»", "Праздники", "Прогулки"):
            chat = Chat(
                kindergarten_id=kg.id,
                kind="group",
                title=title,
                group_id=group.id,
                created_by_id=director.id,
                rules_id=rules.id,
                last_activity_at=datetime.now(UTC),
            )
            db.session.add(chat)
            db.session.flush()
            for user, moderator in [(director, True), *((p, False) for p in parents)]:
                member = ChatMember(chat_id=chat.id, user_id=user.id, is_moderator=moderator)
                db.session.add(member)
                accept(member, rules.id)
            chats.append(chat)
        db.session.commit()
        chat_ids = [c.id for c in chats]
        authors = [director.id, *(p.id for p in parents)]

        # messages until the file is about `mb` MB
        now = datetime.now(UTC)
        start = now - timedelta(days=365)
        rev = dict.fromkeys(chat_ids, 0)
        written = 0
        while size_mb(db) < mb:
            rows = []
            for i in range(BATCH):
                chat_id = rng.choice(chat_ids)
                rev[chat_id] += 1
                words = " ".join(rng.choice(PHRASES) for _ in range(rng.randint(1, 5)))
                at = start + timedelta(seconds=(written + i) * 60 + rng.randrange(60))
                rows.append(
                    {
                        "chat_id": chat_id,
                        "author_id": rng.choice(authors),
                        "text": words,
                        "rev": rev[chat_id],
                        "created_rev": rev[chat_id],
                        "created_at": min(at, now),
                    }
                )
            db.session.execute(insert(Message), rows)
            db.session.commit()
            written += BATCH
        for chat_id in chat_ids:
            last = db.session.scalar(select(func.max(Message.id)).where(Message.chat_id == chat_id))
            db.session.execute(
                update(Chat)
                .where(Chat.id == chat_id)
                .values(rev=rev[chat_id], last_message_id=last)
            )
        db.session.commit()

        # photos on random messages, stored as the app stores them
        folder = Path(app.config["UPLOAD_FOLDER"])
        ids = db.session.scalars(select(Message.id).order_by(Message.id.desc()).limit(5000)).all()
        for n in range(photos):
            processed = process_photo(photo(rng), f"IMG_{n:04d}.jpg")
            db.session.add(
                Attachment(
                    message_id=rng.choice(ids),
                    kind="photo",
                    stored_name=store(folder, processed.data, ".jpg"),
                    thumb_name=store(folder, processed.thumb, ".jpg"),
                    filename=f"IMG_{n:04d}.jpg",
                    mime="image/jpeg",
                    size=len(processed.data),
                    width=processed.width,
                    height=processed.height,
                )
            )
        db.session.commit()
        db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        db.session.remove()
        db.engine.dispose()
    return {"chat": chat_ids[0], "messages": written}


def size_mb(database) -> float:
    pages = database.session.execute(text("PRAGMA page_count")).scalar()
    page_size = database.session.execute(text("PRAGMA page_size")).scalar()
    return pages * page_size / 1024 / 1024


class Writers:
    """Eight parents posting without a pause; every answer is kept with its time."""

    def __init__(self, app, count: int, chat_id: int):
        self.app, self.chat_id = app, chat_id
        self.stop = threading.Event()
        self.done: list[tuple[float, float, int | str]] = []  # (start, end, status or error)
        self.clients = []
        for n in range(count):
            client = app.test_client()
            answer = client.post("/login", data={"login": parent_login(n), "password": PASSWORD})
            assert answer.status_code == 303, answer.status_code
            self.clients.append(client)
        self.threads = [
            threading.Thread(target=self._write, args=(n, c), daemon=True)
            for n, c in enumerate(self.clients)
        ]

    def _write(self, number: int, client) -> None:
        rng = random.Random(number)
        small = photo(rng, (640, 480))
        sent = 0
        while not self.stop.is_set():
            sent += 1
            words = f"{rng.choice(PHRASES)} ({number}/{sent})"
            started = time.monotonic()
            try:
                if sent % 5 == 0:
                    data = {"text": words, "files": (io.BytesIO(small), "photo.jpg")}
                    answer = client.post(
                        f"/chats/{self.chat_id}/messages",
                        data=data,
                        content_type="multipart/form-data",
                    )
                else:
                    answer = client.post(f"/chats/{self.chat_id}/messages", data={"text": words})
                status: int | str = answer.status_code
            except Exception as error:  # noqa: BLE001 - a writer error is a result here
                status = repr(error)[:120]
            self.done.append((started, time.monotonic(), status))

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)

    def between(self, start: float, end: float) -> dict:
        answered = [d for d in list(self.done) if start <= d[1] <= end]
        errors = [d[2] for d in answered if d[2] != 303]
        times = sorted((d[1] - d[0]) * 1000 for d in answered)
        return {
            "posts": len(answered),
            "errors": len(errors),
            "error kinds": sorted({str(e) for e in errors}),
            "median ms": round(statistics.median(times), 1) if times else None,
            "max ms": round(times[-1], 1) if times else None,
        }


def timed(command: list[str], timeout: float, **kwargs) -> tuple[float, str, bool]:
    """(seconds, output, finished) of a command run to its end or killed at `timeout`."""
    started = time.monotonic()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)
        finished = done.returncode == 0
        output = (done.stdout + done.stderr).strip()
    except subprocess.TimeoutExpired:
        finished, output = False, f"killed after {timeout:.0f} s"
    return time.monotonic() - started, output, finished


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=100, help="size of the database to build")
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/sferum-bench-backup"))
    parser.add_argument("--timeout", type=float, default=300, help="seconds for each backup")
    parser.add_argument("--warmup", type=float, default=3)
    args = parser.parse_args()

    instance = args.workdir / "instance"
    pristine = args.workdir / "pristine"  # as built: each run starts from it
    marker = args.workdir / "built.json"
    wanted = {"mb": args.mb, "photos": args.photos, "writers": args.writers}
    built = json.loads(marker.read_text()) if marker.exists() else {}
    if {k: built.get(k) for k in wanted} != wanted or not pristine.is_dir():
        shutil.rmtree(args.workdir, ignore_errors=True)
        pristine.mkdir(parents=True)
        began = time.monotonic()
        facts = build(pristine, args.mb, args.photos, args.writers)
        marker.write_text(json.dumps({**wanted, **facts}))
        print(f"built in {time.monotonic() - began:.0f} s")
    built = json.loads(marker.read_text())
    shutil.rmtree(instance, ignore_errors=True)
    shutil.copytree(pristine, instance)
    database = instance / "sferum.sqlite3"
    uploads = instance / "uploads"
    upload_mb = sum(p.stat().st_size for p in uploads.iterdir()) / 1024 / 1024
    print(
        f"database {database.stat().st_size / 1024 / 1024:.1f} MB "
        f"({built['messages']:,} messages), uploads {upload_mb:.1f} MB "
        f"in {len(list(uploads.iterdir()))} files; {args.writers} writers"
    )

    out = args.workdir / "out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    app = create_app(config(instance), instance_path=str(instance))
    writers = Writers(app, args.writers, built["chat"])
    writers.start()
    time.sleep(args.warmup)
    rows = []

    factory = f"sferum_lite:create_app(instance_path={str(instance)!r})"
    start = time.monotonic()
    seconds, output, finished = timed(
        [sys.executable, "-m", "flask", "--app", factory, "backup", str(out)],
        args.timeout,
        cwd=ROOT,
    )
    own = re.search(r" in ([\d.]+) s\.", output)
    archive = next(out.glob("*.tar"), None)
    size = archive.stat().st_size if archive else 0
    rows.append(
        (
            "`flask backup DIR` (the whole command)",
            seconds,
            finished,
            size,
            writers.between(start, start + seconds),
            "" if finished else output[-300:],
        )
    )
    if own:  # its last seconds: the snapshot and the archive, after Python and the app started
        itself = float(own.group(1))
        end = start + seconds
        load = writers.between(end - itself, end)
        rows.append(("… of which the backup itself", itself, True, size, load, ""))
    time.sleep(args.warmup)

    if shutil.which("sqlite3"):
        copy = out / "copy.sqlite3"
        start = time.monotonic()
        seconds, output, finished = timed(
            ["sqlite3", str(database), f".backup {copy}"], args.timeout
        )
        rows.append(
            (
                '`sqlite3 … ".backup …"`',
                seconds,
                finished,
                copy.stat().st_size if copy.exists() else 0,
                writers.between(start, start + seconds),
                output[-200:],
            )
        )
        time.sleep(args.warmup)
    else:
        print("sqlite3 not installed: no comparison with .backup")

    length = rows[0][1]
    start = time.monotonic()
    time.sleep(length)
    rows.append(
        ("no backup (same length)", length, True, 0, writers.between(start, start + length), "")
    )
    writers.finish()
    with app.app_context():
        db.engine.dispose()

    print()
    print("| what | seconds | MB | posts answered meanwhile | writer errors | median / max ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, seconds, finished, size, load, _note in rows:
        shown = f"{seconds:.1f}" + ("" if finished else " (did not finish)")
        print(
            f"| {name} | {shown} | {size / 1024 / 1024:.1f} | {load['posts']} | {load['errors']} "
            f"| {load['median ms']} / {load['max ms']} |"
        )
    for name, _seconds, _finished, _size, load, note in rows:
        if note or load["error kinds"]:
            print(f"{name}: {note} {' '.join(load['error kinds'])}".strip())


if __name__ == "__main__":
    main()
