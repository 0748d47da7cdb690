"""Browser tests: Playwright (sync API) driving Debian's Chromium against the real app.

The app under test is built by `make_app` on the same test database as the other tests, with
CSRF switched ON (the browser has to send the token: in forms, and from htmx through the
`hx-headers:inherited` attribute on <body>), and served by werkzeug from a background thread
on 127.0.0.1 and a free port. Data comes from the `world` fixture and the factories; the
autouse fixture in tests/conftest.py empties the tables after each test.

The test body's database session (db_ctx) and the server's are different connections: end
the test's transaction (db.session.commit() or rollback()) before reading what the browser
wrote, and before writing after the browser did — on SQLite a transaction that began before
another connection's write cannot write any more (SQLITE_BUSY_SNAPSHOT, "database is locked").

One Chromium per session; a new context (cookies, storage) and page per test, so a test
starts signed out. Without /usr/bin/chromium the tests are skipped — except when CI=true,
where they fail, so a CI machine without the browser cannot pass by skipping them.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
from jinja2 import BytecodeCache
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wsgi import ClosingIterator

from scripts.screenshots import CHROMIUM_ARGS

from .. import factories as f

CHROMIUM = Path("/usr/bin/chromium")
PHONE = {"width": 390, "height": 844}
ASSETS = {"stylesheet", "script", "image", "font", "manifest", "media"}
TIMEOUT_MS = 5_000  # a local app answers in milliseconds; don't wait Playwright's 30 s to fail


def _on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1"}


def _unavailable(reason: str):
    """Skip — or, on CI, fail: the browser tests must not silently vanish there."""
    if _on_ci():
        pytest.fail(f"{reason} (CI=true: browser tests must run)", pytrace=False)
    pytest.skip(reason)


# --- the browser: one per session -------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"Debian's Chromium is not installed at {CHROMIUM} (apt install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - a dev dependency
        _unavailable("Playwright for Python is not installed (uv sync)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


# --- the app, served from a thread --------------------------------------------------------------


class _SharedTemplates(BytecodeCache):
    """Compiled templates shared by the apps of all browser tests (each test builds its own
    app): a template is compiled once per session, not once per test. Keyed by the source's
    checksum, so an edited template is compiled anew."""

    def __init__(self):
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        code = self.compiled.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket):
        self.compiled[bucket.key] = bucket.bytecode_to_string()


_TEMPLATES = _SharedTemplates()


class _QuietHandler(WSGIRequestHandler):
    """No access log lines; errors still reach the log (and the `problems` fixture sees 5xx)."""

    def log_request(self, *args, **kwargs):
        pass


@dataclass
class LiveServer:
    app: object
    url: str
    requests: list[tuple[str, str, bool]] = field(default_factory=list)

    def __call__(self, path: str = "/") -> str:
        return urljoin(self.url, path)

    in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wsgi(self, environ, start_response):
        """The app, noting (method, path, came from htmx) of every request that reaches it, and
        counting the answers still being sent (a live stream goes on after its view returned)."""
        htmx = environ.get("HTTP_HX_REQUEST") == "true"
        self.requests.append((environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), htmx))
        with self._lock:
            self.in_flight += 1
        try:
            body = self.app(environ, start_response)
        except BaseException:
            self._done()
            raise
        return ClosingIterator(body, self._done)

    def _done(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def wait_for_answers(self, seconds: float) -> None:
        """Until every answer is sent (the browser has gone, so streams end at their next
        heartbeat): only then may the test's engine be disposed under them."""
        deadline = time.monotonic() + seconds
        while self.in_flight > 0 and time.monotonic() < deadline:
            time.sleep(0.05)


@pytest.fixture
def live_server(make_app, request):
    """The app with CSRF on, served on 127.0.0.1:<free port> for the duration of one test;
    `@pytest.mark.live_config(NAME=value, ...)` adds settings of the test's own."""
    # streams last longer than a test, so a reconnect (and the poll filling its gap) is not
    # what a test sees by chance
    marker = request.node.get_closest_marker("live_config")
    app = make_app(
        WTF_CSRF_ENABLED=True, LIVE_STREAM_SECONDS=60, **(marker.kwargs if marker else {})
    )
    assert app.extensions["sferum"]["set_up"] is False  # the app looks at the database itself
    app.jinja_env.bytecode_cache = _TEMPLATES
    live = LiveServer(app=app, url="")
    server = make_server("127.0.0.1", 0, live.wsgi, threaded=True, request_handler=_QuietHandler)
    live.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="e2e-live-server",
        daemon=True,
    )
    thread.start()
    try:
        yield live
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        assert not thread.is_alive(), "the live server thread did not stop"
        live.wait_for_answers(10)


# --- a page per test, with what went wrong in it -------------------------------------------------


@dataclass
class Problems:
    """What went wrong in the page, in order: console errors (CSP violations among them),
    uncaught script errors, 5xx answers, and styles, scripts or images that failed to load."""

    found: list[str] = field(default_factory=list)
    seen: int = 0

    def on_console(self, message) -> None:
        # Chromium logs every 4xx/5xx answer as "Failed to load resource"; an htmx form that
        # answers 422 is no problem, so answers are judged by on_response instead.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.found.append(f"console error: {message.text}")

    def on_page_error(self, error) -> None:
        self.found.append(f"uncaught script error: {error}")

    def on_response(self, response) -> None:
        broken_asset = response.status >= 400 and response.request.resource_type in ASSETS
        if response.status >= 500 or broken_asset:
            request = response.request
            self.found.append(f"answer {response.status} to {request.method} {response.url}")

    def take(self) -> list[str]:
        """What was recorded since the last look, marked as seen."""
        new, self.seen = self.found[self.seen :], len(self.found)
        return new

    def assert_none(self) -> None:
        new = self.take()
        assert not new, "problems in the browser:\n" + "\n".join(new)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"_e2e_report_{report.when}", report)
    return report


@pytest.fixture
def problems() -> Problems:
    return Problems()


def new_phone(browser, live_server, problems):
    """A browser context like a phone: its own cookies, 390×844, Russian, Moscow time.
    Every page opened in it reports to `problems`. (No is_mobile/has_touch emulation: it
    changes nothing these tests look at and costs a fifth of their time.)"""
    context = browser.new_context(
        base_url=live_server.url,
        viewport=PHONE,
        screen=PHONE,
        locale="ru-RU",
        timezone_id="Europe/Moscow",
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    context.on("console", problems.on_console)
    context.on("weberror", lambda web_error: problems.on_page_error(web_error.error))
    context.on("response", problems.on_response)
    return context


@pytest.fixture
def other_phone(browser, live_server, problems):
    """A second device (another context: other cookies), for "signed out elsewhere" stories."""
    context = new_phone(browser, live_server, problems)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def page(browser, live_server, problems, request, tmp_path):
    """A fresh phone-sized Russian-locale page whose relative URLs go to the live server.

    Every test ends with `problems.assert_none()`; anything recorded after that call (or in a
    test that forgot it) fails the test at teardown. On failure a screenshot is saved in the
    test's tmp_path.
    """
    context = new_phone(browser, live_server, problems)
    tab = context.new_page()
    try:
        yield tab
        report = getattr(request.node, "_e2e_report_call", None)
        if report is not None and report.failed:
            shot = tmp_path / "failure.png"
            try:
                tab.screenshot(path=str(shot), full_page=True)
                print(f"screenshot of the failed page: {shot}")
            except Exception as error:  # the page may be gone; the test's failure is what counts
                print(f"no screenshot of the failed page: {error}")
        elif report is not None and report.passed:
            late = problems.take()
            assert not late, "problems in the browser:\n" + "\n".join(late)
    finally:
        context.close()


# --- helpers for the tests ---------------------------------------------------------------------


def sign_in(page, login: str, password: str = f.PASSWORD, *, then: str | None = None) -> None:
    """Sign in through the login form, as a person would; `then` is the page to land on
    (the login form's next=), else the home page."""
    page.goto("/login" if then is None else f"/login?{urlencode({'next': then})}")
    page.get_by_label("Телефон или e-mail").fill(login)
    page.get_by_label("Пароль", exact=True).fill(password)
    page.get_by_role("button", name="Войти", exact=True).click()
    page.wait_for_url(lambda url: "/login" not in url)
    if then is not None:
        assert urlsplit(page.url).path == urlsplit(then).path, page.url


def set_marker(page) -> None:
    """Something only this document has: it survives htmx swaps, not a page load."""
    page.evaluate("window.__marker = 1")


def marker_survived(page) -> bool:
    return page.evaluate("window.__marker") == 1


def answer_to_post(path: str):
    """A predicate for page.expect_response: the answer to a POST to `path`."""
    return lambda response: (
        response.request.method == "POST" and response.url.split("?")[0].endswith(path)
    )
