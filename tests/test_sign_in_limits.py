"""Sign-in limits that hold under parallel requests, that strangers can't use to lock the owner
out, that count across processes, and a bound on the memory password hashing takes."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from sferum_lite.extensions import db
from sferum_lite.models import FailedLogin
from sferum_lite.views import auth

from . import factories as f

PARALLEL = 20


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
    """«Изменить пароль» from many tabs of a stolen session: the same five tries."""
    clients = [as_user(world.parent) for _ in range(PARALLEL)]
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
