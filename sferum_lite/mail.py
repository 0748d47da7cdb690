"""Letters: the SMTP server of `SMTP_URL`, and a sender that works outside the request.

`SMTP_URL` forms: `smtp://host:25` (plain), `smtp+starttls://user:password@host:587` (STARTTLS,
required), `smtps://user:password@host:465` (TLS from the start). The user name and password
are URL-encoded when they hold `@`, `:` or `/`.

`Jobs` runs small jobs (look a person up, make a reset link, send the letter) on one thread of
the process, in the order they came. A request that asks for a letter only hands over what was
typed and answers at once: the answer takes the same time whether the address is known, has no
account, or the mail server is down — nothing in it tells them apart. A job waiting when the
process stops is lost (the person asks again); the queue is bounded, and a job past the bound is
dropped and logged rather than making the request wait.
"""

from __future__ import annotations

import logging
import queue
import smtplib
import ssl
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from urllib.parse import unquote, urlsplit

from flask import Flask, current_app

log = logging.getLogger(__name__)

SCHEMES = {"smtp": (25, None), "smtp+starttls": (587, "starttls"), "smtps": (465, "tls")}
QUEUE_SIZE = 200


@dataclass(frozen=True)
class SMTPServer:
    host: str
    port: int
    security: str | None  # None, "starttls" or "tls"
    user: str | None = None
    password: str | None = None


def parse_smtp_url(url: str) -> SMTPServer:
    """The server an `SMTP_URL` names; ValueError for anything else."""
    parts = urlsplit(url.strip())
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise ValueError("SMTP_URL must be smtp://, smtp+starttls:// or smtps://host[:port]")
    default_port, security = SCHEMES[parts.scheme]
    return SMTPServer(
        host=parts.hostname,
        port=parts.port or default_port,
        security=security,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def mail_configured(app: Flask | None = None) -> bool:
    return bool((app or current_app).config.get("SMTP_URL"))


def sender_address(app: Flask | None = None) -> str:
    config = (app or current_app).config
    if config.get("MAIL_FROM"):
        return config["MAIL_FROM"]
    host = urlsplit(config.get("BASE_URL") or "").hostname or "localhost"
    return f"no-reply@{host}"


def make_letter(*, to: str, subject: str, body: str, sender_name: str = "") -> EmailMessage:
    letter = EmailMessage()
    letter["From"] = (
        formataddr((sender_name, sender_address())) if sender_name else (sender_address())
    )
    letter["To"] = to
    letter["Subject"] = subject
    letter["Message-ID"] = make_msgid(domain=sender_address().rpartition("@")[2] or None)
    letter["Auto-Submitted"] = "auto-generated"
    letter.set_content(body)  # UTF-8, quoted-printable or base64 as needed
    return letter


def send(letter: EmailMessage, app: Flask | None = None) -> None:
    """Deliver one letter through SMTP_URL's server; smtplib's and socket errors pass up."""
    config = (app or current_app).config
    server = parse_smtp_url(config["SMTP_URL"])
    timeout = config.get("SMTP_TIMEOUT_SECONDS", 15)
    context = ssl.create_default_context()
    if server.security == "tls":
        smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(server.host, server.port, timeout=timeout)
    with smtp:
        if server.security == "starttls":
            smtp.starttls(context=context)
        if server.user:
            smtp.login(server.user, server.password or "")
        smtp.send_message(letter)


class Jobs:
    """One worker thread per app, started on the first job."""

    def __init__(self, app: Flask):
        self.app = app
        self.queue: queue.Queue = queue.Queue(maxsize=QUEUE_SIZE)
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    def submit(self, job, *args) -> None:
        """Run `job(*args)` on the worker, in an app and request context of its own."""
        self._ensure_thread()
        try:
            self.queue.put_nowait((job, args))
        except queue.Full:
            log.error("mail jobs: the queue is full, a job was dropped")

    def wait(self) -> None:
        """Until every job handed over so far is done (tests, a clean stop)."""
        self.queue.join()

    def _ensure_thread(self) -> None:
        with self._start:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="sferum-mail", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            job, args = self.queue.get()
            try:
                base_url = self.app.config.get("BASE_URL") or "http://localhost"
                with self.app.test_request_context("/", base_url=base_url):
                    job(*args)
            except Exception:
                # never the job's arguments: they hold what a person typed
                log.exception("mail job %s failed", getattr(job, "__name__", job))
            finally:
                self.queue.task_done()


def jobs(app: Flask | None = None) -> Jobs:
    app = app or current_app._get_current_object()
    holder = app.extensions.setdefault("sferum_mail_jobs", {})
    if "jobs" not in holder:
        holder["jobs"] = Jobs(app)
    return holder["jobs"]
