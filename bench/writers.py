"""Eight parents posting at once to a real server: the README's gunicorn command, over HTTP.

    uv run python bench/writers.py [--writers 8] [--posts 100] [--threads 16] [--photo-every N]
                                   [--runs 1] [--timeout 300] [--app-dir DIR] [--keep]

Each run builds a fresh instance in a temporary folder (its own SQLite file and upload folder;
the developer's instance/sferum.sqlite3 is never opened): a kindergarten, a group, a child,
`--writers` parent accounts and a chat they are members of, with the rules accepted — made with
the project's test factories, in a subprocess run with the checkout's own code and virtualenv
(`uv run` in `--app-dir`), so an older checkout with an older schema is set up by itself. Then it
starts that checkout's production command from its folder,

    uv run gunicorn -k gthread --threads 16 -w 1 -b 127.0.0.1:PORT app:app

on a free port of 127.0.0.1 (a checkout without gunicorn.conf.py gets `--no-control-socket`, which
is all that file says), waits until it answers, and signs each parent in through /login with its
own cookie jar (CSRF is on: the token is read from the login page and the chat page). The writer
threads wait on a barrier and then post `--posts` messages each to /chats/<id>/messages as plain
form POSTs, as fast as the server answers, not following redirects (303 is success); with
`--photo-every N` every Nth post carries a 640×480 JPEG (multipart).

Printed per run: answers by status (303 / 503 / 500 / other), p50 / p95 / max latency as the
client saw it, the wall time from the barrier to the last answer, the messages in the chat
afterwards (read from the SQLite file), and the server log's lines with "database is locked" and
"Traceback"; the server's log of a run with anything but 303s, or with such lines, is kept
beside the temporary folder (`--keep` keeps the whole folder). `--timeout` bounds each run as a
whole (setup, start, posts): posts not sent by then are not sent, and a request still waiting
then counts as a TimeoutError. The server is stopped (SIGTERM to its process group, then SIGKILL)
whatever happens. There is no `--slow-fsync`: a slow disk is not simulated. Not a test: numbers
go to bench/README.md.
"""

from __future__ import annotations

import argparse
import http.client
import http.cookiejar
import io
import json
import os
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETUP_MARK = "WRITERS-SETUP "
LOG_PATTERNS = ("database is locked", "Traceback")


def parent_login(n: int) -> str:
    return f"+7916555{n:04d}"


# --- the instance, made by the checkout's own code (runs as `--setup` inside --app-dir) -----------


def setup(writers: int) -> None:
    """A kindergarten, a chat and `writers` parents in it; prints what the run needs as JSON."""
    sys.path.insert(0, os.getcwd())  # the checkout we were started in, not this file's
    from sferum_lite import create_app
    from sferum_lite.extensions import db
    from tests import factories as f

    app = create_app()  # SFERUM_* from the environment: the temporary database and folders
    with app.app_context():
        kindergarten = f.make_kindergarten()
        director = f.director_of(kindergarten)
        group = f.make_group(kindergarten)
        child = f.make_child(group)
        parents = [
            f.make_parent(kindergarten, f"Родитель {n}", children=[child], phone=parent_login(n))
            for n in range(writers)
        ]
        chat = f.make_chat(kindergarten, director, group=group, members=parents)
        facts = {
            "chat": chat.id,
            "logins": [parent_login(n) for n in range(writers)],
            "password": f.PASSWORD,
        }
        db.session.remove()
        db.engine.dispose()
    print(SETUP_MARK + json.dumps(facts), flush=True)


# --- HTTP -----------------------------------------------------------------------------------------


class _Answers(urllib.request.HTTPErrorProcessor):
    """Every answer comes back as it is: no exception for 4xx/5xx, no redirect followed."""

    def http_response(self, request, response):
        return response

    https_response = http_response


class Browser:
    """One person's session: a cookie jar and the CSRF token of their pages."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _Answers()
        )
        self.csrf = ""

    def request(self, path: str, data: bytes | None = None, headers=None, timeout=60.0):
        """(status, body) of one request; raises OSError when there is no answer."""
        req = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        with self.opener.open(req, timeout=timeout) as response:
            return response.status, response.read()

    def get_token(self, path: str) -> None:
        status, body = self.request(path)
        if status != 200:
            raise RuntimeError(f"GET {path}: {status}")
        self.csrf = csrf_token(body.decode())

    def post_form(self, path: str, fields: dict, timeout=60.0):
        data = urllib.parse.urlencode({**fields, "csrf_token": self.csrf}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return self.request(path, data, headers, timeout)

    def post_multipart(self, path: str, fields: dict, files, timeout=60.0):
        data, content_type = multipart({**fields, "csrf_token": self.csrf}, files)
        return self.request(path, data, {"Content-Type": content_type}, timeout)


def csrf_token(html: str) -> str:
    for tag in re.findall(r"<input[^>]*>", html):
        if 'name="csrf_token"' in tag:
            value = re.search(r'value="([^"]*)"', tag)
            if value:
                return value.group(1)
    raise RuntimeError("no csrf_token input on the page")


def multipart(fields: dict, files) -> tuple[bytes, str]:
    """A multipart/form-data body: `files` are (field, filename, bytes, mime)."""
    boundary = "sferum-bench-" + secrets.token_hex(12)
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        out.write(str(value).encode() + b"\r\n")
    for name, filename, content, mime in files:
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: {mime}\r\n\r\n'.encode()
        )
        out.write(content + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def small_jpeg() -> bytes:
    """A 640×480 picture with some detail (Pillow), as in bench/backup.py."""
    from PIL import Image, ImageDraw

    rng = random.Random(8)
    size = (640, 480)
    img = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(img)
    for _ in range(60):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        box = (x, y, x + rng.randrange(30, 300), y + rng.randrange(30, 300))
        draw.ellipse(box, fill=tuple(rng.randrange(256) for _ in range(3)))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


# --- one run --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env(app_dir: Path, extra: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SFERUM_")}
    env.pop("VIRTUAL_ENV", None)  # `uv run` in app_dir picks that checkout's own .venv
    env["PYTHONPATH"] = str(app_dir)
    env.update(extra)
    return env


class Server:
    """The README's gunicorn command in its own process group, stopped whatever happens."""

    def __init__(self, app_dir: Path, port: int, threads: int, env: dict, log: Path):
        command = ["uv", "run", "gunicorn", "-k", "gthread", "--threads", str(threads)]
        command += ["-w", "1", "-b", f"127.0.0.1:{port}"]
        if not (app_dir / "gunicorn.conf.py").exists():
            command.append("--no-control-socket")  # else ~/.gunicorn/gunicorn.ctl, shared
        command.append("app:app")
        self.command = command
        self.log = log
        self._log_file = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            command,
            cwd=app_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, base: str, deadline: float) -> float:
        started = time.monotonic()
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited ({self.proc.returncode}):\n{self.tail()}")
            try:
                with urllib.request.urlopen(base + "/login", timeout=2) as answer:
                    if answer.status == 200:
                        return time.monotonic() - started
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the server did not answer in time:\n{self.tail()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self._log_file.close()

    def tail(self, lines: int = 30) -> str:
        self._log_file.flush()
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def percentile(values: list[float], share: float) -> float | None:
    """Nearest rank."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))]


def run_once(args, number: int) -> dict:
    deadline = time.monotonic() + args.timeout
    folder = Path(tempfile.mkdtemp(prefix="sferum-bench-writers-"))
    database = folder / "sferum.sqlite3"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = child_env(
        args.app_dir,
        {
            "SFERUM_DATABASE_URL": f"sqlite:///{database}",
            "SFERUM_SECRET_KEY": secrets.token_urlsafe(48),
            "SFERUM_UPLOAD_FOLDER": str(folder / "uploads"),
            "SFERUM_BASE_URL": base,
        },
    )
    server = None
    result: dict = {"run": number, "load before": os.getloadavg()[0], "folder": str(folder)}
    try:
        # the instance, by the checkout's own code
        done = subprocess.run(
            ["uv", "run", "python", str(Path(__file__).resolve()), "--setup"]
            + ["--writers", str(args.writers)],
            cwd=args.app_dir,
            env=env,
            capture_output=True,
            text=True,
            timeout=max(1.0, deadline - time.monotonic()),
        )
        marks = [line for line in done.stdout.splitlines() if line.startswith(SETUP_MARK)]
        if done.returncode != 0 or not marks:
            raise RuntimeError(f"setup failed ({done.returncode}):\n{done.stderr[-3000:]}")
        facts = json.loads(marks[-1][len(SETUP_MARK) :])
        chat = facts["chat"]

        server = Server(args.app_dir, port, args.threads, env, folder / "server.log")
        result["start s"] = server.wait_ready(base, deadline)

        browsers = []
        for login in facts["logins"]:
            browser = Browser(base)
            browser.get_token("/login")
            status, _ = browser.post_form(
                "/login", {"login": login, "password": facts["password"], "next": ""}
            )
            if status != 303:
                raise RuntimeError(f"sign-in of {login}: {status}")
            browser.get_token(f"/chats/{chat}")
            browsers.append(browser)

        photo = small_jpeg() if args.photo_every else b""
        answers: list[tuple[float, float, int | str]] = []  # (start, end, status or error)
        lock = threading.Lock()
        barrier = threading.Barrier(len(browsers))
        url = f"/chats/{chat}/messages"

        def write(n: int, browser: Browser) -> None:
            barrier.wait(timeout=max(1.0, deadline - time.monotonic()))
            for i in range(1, args.posts + 1):
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                fields = {"text": f"Родитель {n}, сообщение {i}: завтра утренник в 9:00."}
                started = time.monotonic()
                try:
                    if args.photo_every and i % args.photo_every == 0:
                        files = [("files", f"IMG_{n}_{i}.jpg", photo, "image/jpeg")]
                        status, _ = browser.post_multipart(url, fields, files, min(60.0, left))
                    else:
                        status, _ = browser.post_form(url, fields, min(60.0, left))
                    outcome: int | str = status
                except (OSError, http.client.HTTPException) as error:
                    outcome = type(error).__name__
                with lock:
                    answers.append((started, time.monotonic(), outcome))

        threads = [
            threading.Thread(target=write, args=(n, b), daemon=True) for n, b in enumerate(browsers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()) + 1)
        with lock:
            answers = list(answers)
        result["unfinished"] = sum(t.is_alive() for t in threads)
        result["timed out"] = time.monotonic() >= deadline
        statuses = Counter(a[2] for a in answers)
        times = [(a[1] - a[0]) * 1000 for a in answers]
        result.update(
            {
                "sent": len(answers),
                "303": statuses.pop(303, 0),
                "503": statuses.pop(503, 0),
                "500": statuses.pop(500, 0),
                "other": dict(statuses),
                "p50": percentile(times, 0.50),
                "p95": percentile(times, 0.95),
                "max": max(times) if times else None,
                "wall": (max(a[1] for a in answers) - min(a[0] for a in answers)) if answers else 0,
            }
        )
        server.stop()
        with sqlite3.connect(database) as connection:
            result["in db"] = connection.execute(
                "SELECT count(*) FROM message WHERE chat_id = ?", (chat,)
            ).fetchone()[0]
            result["schema"] = connection.execute(
                "SELECT version_num FROM alembic_version"
            ).fetchone()[0]
        connection.close()
        log_lines = server.log.read_text(errors="replace").splitlines()
        for pattern in LOG_PATTERNS:
            result[pattern] = sum(pattern in line for line in log_lines)
        result["log samples"] = Counter(
            line.strip()[:160]
            for line in log_lines
            if "locked" in line or "Error" in line or "error" in line.split(":", 1)[0]
        ).most_common(5)
    finally:
        if server is not None:
            server.stop()
        result["load after"] = os.getloadavg()[0]
        trouble = result.get("303") != args.writers * args.posts or any(
            result.get(pattern) for pattern in LOG_PATTERNS
        )
        if trouble and server is not None and not args.keep:
            kept = folder.with_name(folder.name + "-server.log")  # the log of a run that failed
            shutil.copyfile(server.log, kept)
            result["log kept"] = str(kept)
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    return result


def describe(app_dir: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(app_dir), "log", "-1", "--format=%h %s"],
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()[:90] or str(app_dir)


def show(value, digits=0) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--posts", type=int, default=100, help="posts per writer")
    parser.add_argument("--threads", type=int, default=16, help="gunicorn's --threads")
    parser.add_argument("--photo-every", type=int, default=0, help="every Nth post has a photo")
    parser.add_argument("--runs", type=int, default=1, help="each on a fresh instance and server")
    parser.add_argument("--timeout", type=float, default=300, help="seconds for a run at most")
    parser.add_argument("--app-dir", type=Path, default=ROOT, help="the checkout to serve")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders")
    parser.add_argument("--setup", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.setup:
        setup(args.writers)
        return
    args.app_dir = args.app_dir.resolve()

    print(
        f"{args.app_dir} ({describe(args.app_dir)}); {args.writers} writers × {args.posts} posts"
        f"{f', a photo every {args.photo_every}' if args.photo_every else ''}; gunicorn gthread "
        f"--threads {args.threads} -w 1; Python {platform.python_version()}, "
        f"client's SQLite {sqlite3.sqlite_version}, {os.cpu_count()} cores",
        flush=True,
    )
    rows = []
    for number in range(1, args.runs + 1):
        try:
            result = run_once(args, number)
        except Exception as error:  # noqa: BLE001 - one failed run is a result; the rest go on
            print(f"run {number} failed: {error}", flush=True)
            continue
        rows.append(result)
        print(
            f"run {number}: {result['sent']} answered in {result['wall']:.1f} s, "
            f"{result['303']} × 303, {result['in db']} in the database (schema {result['schema']})"
            + (f" (kept in {result['folder']})" if args.keep else ""),
            flush=True,
        )

    print()
    print(
        "| run | posts | 303 | 503 | 500 | other | p50 ms | p95 ms | max ms | wall s | in db "
        "| log: locked | log: Traceback | load avg |"
    )
    print("|" + " ---: |" * 5 + " --- |" + " ---: |" * 7 + " --- |")
    for r in rows:
        other = ", ".join(f"{k}: {v}" for k, v in r["other"].items()) or "0"
        if r["unfinished"] or r["timed out"]:
            other += f" (stopped at --timeout, {r['unfinished']} writers still waiting)"
        print(
            f"| {r['run']} | {r['sent']} | {r['303']} | {r['503']} | {r['500']} | {other} "
            f"| {show(r['p50'])} | {show(r['p95'])} | {show(r['max'])} | {r['wall']:.1f} "
            f"| {r['in db']} | {r['database is locked']} | {r['Traceback']} "
            f"| {r['load before']:.1f} → {r['load after']:.1f} |"
        )
    for r in rows:
        for line, count in r["log samples"]:
            print(f"run {r['run']} log ×{count}: {line}")
        if r.get("log kept"):
            print(f"run {r['run']}: the server's log is kept in {r['log kept']}")


if __name__ == "__main__":
    main()
