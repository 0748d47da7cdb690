"""Sign-in limits that hold under parallel requests, that strangers can't use to lock the owner
out, that count across processes, and a bound on the memory password hashing takes."""

from __future__ import annotations

import os
import threading

import pytest
from sqlalchemy import func, select

from sferum_lite.extensions import db, limiter
from sferum_lite.models import FailedLogin
from sferum_lite.views import auth

from . import factories as f

PARALLEL = 20
DEVICE = "__Host-sferum_device"  # the tests' BASE_URL is https


def in_parallel(clients, call) -> list:
    """call(client) in one thread per client, all released at once; their answers."""
    start = threading.Barrier(len(clients))
    answers: list = [None] * len(clients)

    def run(index, client):
        start.wait()
        try:
            answers[index] = call(client)
        except BaseException as error:  # noqa: BLE001 - shown by the test's assertion
            answers[index] = error

    threads = [
        threading.Thread(target=run, args=(index, client)) for index, client in enumerate(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def counting(monkeypatch, module, name: str) -> list:
    """Replace module.name by a wrapper that notes each call; the list of calls."""
    calls: list = []
    real = getattr(module, name)
    guard = threading.Lock()

    def wrapper(*args, **kwargs):
        with guard:
            calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return calls


def copy_cookies(source, target):
    for name in (target.application.config["SESSION_COOKIE_NAME"], DEVICE):
        cookie = source.get_cookie(name)
        if cookie is not None:
            target.set_cookie(name, cookie.value)
    return target


def failures() -> int:
    db.session.commit()  # a fresh snapshot: the requests ran in other threads
    return db.session.scalar(select(func.count()).select_from(FailedLogin))


# --- (3) parallel wrong passwords: at most five are checked ---------------------------------------


def test_parallel_wrong_passwords_are_checked_at_most_five_times(app, world, monkeypatch):
    verified = counting(monkeypatch, auth, "verify_password")
    clients = [app.test_client() for _ in range(PARALLEL)]
    login = world.parent.login
    answers = in_parallel(
        clients,
        lambda client: (
            client.post("/login", data={"login": login, "password": "не тот пароль"}).status_code
        ),
    )
    assert len(verified) <= 5
    assert set(answers) <= {422, 429} and answers.count(429) >= PARALLEL - 5
    assert failures() == 5
    # the owner, too, waits now: the lock is the lock
    right = app.test_client().post(
        "/login", data={"login": world.parent.login, "password": f.PASSWORD}
    )
    assert right.status_code == 429


def test_parallel_wrong_current_passwords_are_checked_at_most_five_times(
    app, world, as_user, monkeypatch
):
    """«Изменить пароль» from many tabs of a stolen session (its cookies copied into twenty
    clients): the same five tries."""
    stolen = as_user(world.parent)
    clients = [copy_cookies(stolen, app.test_client()) for _ in range(PARALLEL)]
    verified = counting(monkeypatch, auth, "verify_password")
    answers = in_parallel(
        clients,
        lambda client: (
            client.post(
                "/profile/password",
                data={"current_password": "не тот пароль", "password": "новая весна 2027"},
            ).status_code
        ),
    )
    assert len(verified) <= 5
    assert set(answers) <= {422, 429}
    assert failures() == 5


def test_a_right_password_gives_its_attempt_back(app, world, as_user):
    client = as_user(world.parent)
    assert failures() == 0
    response = client.post(
        "/profile/password",
        data={"current_password": f.PASSWORD, "password": "новая весна 2027"},
    )
    assert response.status_code == 303
    assert failures() == 0


# --- (3) strangers' failures don't lock the owner out on a browser she signed in on --------------


def wrong_tries(app, login: str, times: int = 5):
    stranger = app.test_client()
    for attempt in range(times):
        answer = stranger.post("/login", data={"login": login, "password": f"неверно {attempt}"})
    assert answer.status_code == 429
    return stranger


def test_the_device_cookie(app, world):
    response = app.test_client().post(
        "/login", data={"login": world.director.login, "password": f.PASSWORD}
    )
    assert response.status_code == 303
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(DEVICE))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    assert "Path=/" in cookie and "Domain" not in cookie
    assert "Max-Age=31536000" in cookie
    assert str(world.director.phone or "")[1:] not in cookie


def test_strangers_failures_lock_other_devices_but_not_the_owners(app, world):
    director = world.director.login
    owners_phone = app.test_client()
    assert (
        owners_phone.post("/login", data={"login": director, "password": f.PASSWORD}).status_code
        == 303
    )
    assert owners_phone.post("/logout").status_code == 303

    wrong_tries(app, director)  # from the poster: the number is public

    fresh = app.test_client().post("/login", data={"login": director, "password": f.PASSWORD})
    assert fresh.status_code == 429
    again = owners_phone.post("/login", data={"login": director, "password": f.PASSWORD})
    assert again.status_code == 303
    # the strangers' failures still lock every other browser
    assert (
        app.test_client()
        .post("/login", data={"login": director, "password": f.PASSWORD})
        .status_code
        == 429
    )


def test_the_owners_device_has_its_own_five_tries(app, world):
    director = world.director.login
    phone = app.test_client()
    assert phone.post("/login", data={"login": director, "password": f.PASSWORD}).status_code == 303
    phone.post("/logout")
    for attempt in range(4):
        answer = phone.post("/login", data={"login": director, "password": f"неверно {attempt}"})
        assert answer.status_code == 422
    assert phone.post("/login", data={"login": director, "password": "неверно"}).status_code == 429
    assert phone.post("/login", data={"login": director, "password": f.PASSWORD}).status_code == 429
    # …and they were hers alone: another browser is not locked by them
    other = app.test_client().post("/login", data={"login": director, "password": f.PASSWORD})
    assert other.status_code == 303


def test_a_forged_or_someone_elses_device_cookie_does_not_help(app, world):
    director = world.director.login
    owners_phone = app.test_client()
    owners_phone.post("/login", data={"login": director, "password": f.PASSWORD})
    genuine = owners_phone.get_cookie(DEVICE).value
    user_id, device, issued, mac = genuine.split(".")
    parents_phone = app.test_client()
    parents_phone.post("/login", data={"login": world.parent.login, "password": f.PASSWORD})
    parents_cookie = parents_phone.get_cookie(DEVICE).value

    wrong_tries(app, director)

    forged = [
        f"{user_id}.{device}.{issued}.{'0' * 32}",  # a made-up signature
        f"{user_id}.{'A' * 22}.{issued}.{mac}",  # another device id under her signature
        f"{user_id}.{device}.{int(issued) + 1}.{mac}",  # a longer life
        parents_cookie,  # a genuine cookie, of another person
        parents_cookie.replace(parents_cookie.split(".")[0], user_id, 1),  # …made hers
    ]
    for value in forged:
        client = app.test_client()
        client.set_cookie(DEVICE, value)
        answer = client.post("/login", data={"login": director, "password": f.PASSWORD})
        assert answer.status_code == 429, value


def test_the_owners_device_changes_the_password_and_deletes_the_account_despite_strangers(
    app, world, as_user
):
    """«Изменить пароль» and «Удалить учётную запись» ask for the password again: on the
    owner's device a stranger's failures don't stop her; a session on a browser that lost its
    device cookie is stopped like any other browser."""
    parent = world.parent
    owners_phone = as_user(parent)
    other_tab = copy_cookies(owners_phone, app.test_client())
    other_tab.delete_cookie(DEVICE)

    wrong_tries(app, parent.login)

    without_device = other_tab.post(
        "/profile/password",
        data={"current_password": f.PASSWORD, "password": "новая весна 2027"},
    )
    assert without_device.status_code == 429
    changed = owners_phone.post(
        "/profile/password",
        data={"current_password": f.PASSWORD, "password": "новая весна 2027"},
    )
    assert changed.status_code == 303
    deleted = owners_phone.post(
        "/profile/delete", data={"password": "новая весна 2027", "confirm": "УДАЛИТЬ"}
    )
    assert deleted.status_code == 303


# --- (3) per-address limits shared by processes, in Redis ---------------------------------------

REDIS_URL = os.environ.get("SFERUM_TEST_REDIS_URL", "")


@pytest.fixture
def redis_url():
    if not REDIS_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("CI starts a redis-server: SFERUM_TEST_REDIS_URL must be set (.ci/run)")
        pytest.skip("SFERUM_TEST_REDIS_URL is not set: no redis-server to share the limits")
    import redis

    server = redis.Redis.from_url(REDIS_URL)
    server.flushdb()
    yield REDIS_URL
    server.flushdb()
    server.close()


@pytest.fixture
def limited(make_app):
    """make(storage) -> an app with the rate limits on, counting in `storage`: each one stands
    for another worker process (or the same one after a restart) — the limiter is one object
    per process, and making an app gives it a new storage connection, with nothing counted in
    it but what the storage itself keeps. Limits off and in memory again afterwards."""

    def make(storage):
        return make_app(
            RATELIMIT_ENABLED=True,
            RATELIMIT_STORAGE_URI=storage,
            RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=False,  # Redis away must fail the test
        )

    yield make
    make_app(RATELIMIT_ENABLED=True)  # a limiter turned off keeps its storage: memory again
    limiter.enabled = False


def thirty_one_sign_ins(make, storage: str) -> int:
    """30 sign-ins from one address through one process, then the 31st through another one
    started after them: the 31st's status."""
    client = make(storage).test_client()
    for attempt in range(30):
        answer = client.post("/login", data={"login": f"x{attempt}@example.ru", "password": "x"})
        assert answer.status_code == 422
    second = make(storage)
    return (
        second.test_client()
        .post("/login", data={"login": "y@example.ru", "password": "x"})
        .status_code
    )


def test_two_processes_count_sign_ins_together_in_redis(limited, redis_url, world):
    assert thirty_one_sign_ins(limited, redis_url) == 429


def test_in_memory_limits_are_per_process(limited, world):
    """Why Redis: with memory:// the second process (or a restart) starts from nothing."""
    assert thirty_one_sign_ins(limited, "memory://") == 422


def test_several_gunicorn_workers_with_limits_in_memory_are_warned_about_once(
    make_app, monkeypatch, caplog
):
    from sferum_lite import security

    monkeypatch.setattr(security, "_warned_memory_limits", False)
    monkeypatch.setenv("SERVER_SOFTWARE", "gunicorn/23.0.0")
    monkeypatch.setenv("SFERUM_GUNICORN_WORKERS", "4")
    monkeypatch.setenv("SFERUM_GUNICORN_WORKER_AGE", "1")
    with caplog.at_level("WARNING", logger="sferum_lite"):
        make_app(RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
        assert not caplog.records  # shared storage: nothing to say
        make_app()
        make_app()
    warnings = [r for r in caplog.records if "SFERUM_RATELIMIT_STORAGE_URI" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelname == "WARNING"
    assert "4 gunicorn workers" in warnings[0].getMessage()


@pytest.mark.parametrize(
    "environ",
    [
        {},  # flask run, the tests
        {"SERVER_SOFTWARE": "gunicorn/23.0.0", "SFERUM_GUNICORN_WORKERS": "1"},
        {
            "SERVER_SOFTWARE": "gunicorn/23.0.0",
            "SFERUM_GUNICORN_WORKERS": "4",
            "SFERUM_GUNICORN_WORKER_AGE": "2",
        },  # the first worker said it
        {"SFERUM_GUNICORN_WORKERS": "4"},  # not under gunicorn
    ],
)
def test_no_warning_for_one_worker(app, monkeypatch, environ):
    from sferum_lite import security

    monkeypatch.setattr(security, "_warned_memory_limits", False)
    assert not security.warn_if_limits_are_per_worker(app, environ)


# --- (4) argon2's memory: at most ARGON2_CONCURRENCY hashes at once per process ------------------


def test_parallel_sign_ins_queue_for_argon2(app, world, monkeypatch):
    """Eight sign-ins at once (eight different logins: no lock-out in the way) never have more
    than the cap inside argon2 together; they wait for their turn and all get their answer."""
    from argon2 import PasswordHasher

    from sferum_lite import security

    cap = 2  # the default ARGON2_CONCURRENCY
    inside = {"now": 0, "most": 0, "calls": 0}
    guard = threading.Lock()
    others_arrived = threading.Event()

    def instrumented(real):
        def call(self, *args, **kwargs):
            with guard:
                inside["now"] += 1
                inside["calls"] += 1
                inside["most"] = max(inside["most"], inside["now"])
                if inside["now"] > cap:
                    others_arrived.set()
            try:
                others_arrived.wait(0.2)  # room for the others to come in, if they can
                return real(self, *args, **kwargs)
            finally:
                with guard:
                    inside["now"] -= 1

        return call

    class Instrumented(PasswordHasher):
        hash = instrumented(PasswordHasher.hash)
        verify = instrumented(PasswordHasher.verify)

    monkeypatch.setattr(security, "PasswordHasher", Instrumented)
    security._DUMMY.clear()
    clients = [app.test_client() for _ in range(8)]
    logins = iter([f"nobody{n}@example.ru" for n in range(8)] + [world.parent.login])
    lock = threading.Lock()

    def sign_in(client):
        with lock:
            login = next(logins)
        return client.post("/login", data={"login": login, "password": "не тот пароль"})

    answers = in_parallel(clients, lambda client: sign_in(client).status_code)
    assert answers == [422] * 8
    assert inside["calls"] >= 8
    assert inside["most"] <= cap


def test_registering_by_an_invite_makes_the_browser_known(app, world):
    from .test_joining import PASSWORD, make_invite, open_link, register

    chat = f.make_chat(world.kindergarten, world.educator, title="Чат", group=world.group)
    client = app.test_client()
    open_link(client, make_invite(chat, world.educator))
    assert register(client).status_code == 303
    assert client.get_cookie(DEVICE) is not None
    client.post("/logout")
    wrong_tries(app, "8 912 345-67-89")
    answer = client.post("/login", data={"login": "8 912 345-67-89", "password": PASSWORD})
    assert answer.status_code == 303
