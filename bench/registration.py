"""Does registration's timing tell whether a phone has an account? (issue 13 §3)

    uv run python bench/registration.py [--rounds 40]

In-process, through Flask's test client, on a fresh SQLite file in a temporary folder (WAL,
synchronous=FULL, as the app runs) with the app's real argon2id settings: a kindergarten, a
chat with a live link, and one registered parent. Each round opens the link in two fresh
browsers and sends the registration form from each — one with a phone nobody has, one with the
registered parent's phone — in alternating order, so drift of the machine falls on both alike.
Printed: p50 / p95 / mean of each path in ms and the difference of the medians. The answer itself
is the same either way (tests/test_registration_privacy.py); this measures the time. Not a
test: numbers go to bench/README.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()

    from datetime import timedelta

    from sferum_lite import create_app
    from sferum_lite.actions.invites import new_chat_token
    from sferum_lite.extensions import db
    from sferum_lite.models import ChatInvite, utcnow
    from tests import factories as f

    folder = Path(tempfile.mkdtemp(prefix="sferum-bench-registration-"))
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.sqlite3'}",
            "SECRET_KEY": "bench",
            "UPLOAD_FOLDER": str(folder / "uploads"),
            "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": False,
        }
    )
    with app.app_context():
        kindergarten = f.make_kindergarten()
        educator = f.make_staff(kindergarten, "Анна Павлова")
        group = f.make_group(kindergarten, "Солнышко")
        chat = f.make_chat(kindergarten, educator, group=group)
        owner = f.make_parent(kindergarten, "Екатерина Петрова", phone="+79161213558")
        invite = ChatInvite(
            kindergarten_id=kindergarten.id,
            chat_id=chat.id,
            token=new_chat_token(),
            created_by_id=educator.id,
            expires_at=utcnow() + timedelta(days=7),
        )
        db.session.add(invite)
        db.session.commit()
        token, known = invite.token, "8" + owner.phone[2:]

    def register(login: str) -> float:
        client = app.test_client()
        assert client.get(f"/i/{token}").status_code == 303
        form = {"name": "Ольга Новикова", "login": login, "password": "тихий вечер у реки"}
        started = time.perf_counter()
        response = client.post("/join/register", data={**form, "consent": "y"})
        elapsed = time.perf_counter() - started
        assert response.status_code == 303, response.status_code
        return elapsed * 1000

    times = {"new": [], "known": []}
    register(known)  # warm up: templates, the first argon2 hash, the connection pool
    for i in range(args.rounds):
        new = f"8912{5000000 + i:07d}"
        order = (("new", new), ("known", known)) if i % 2 else (("known", known), ("new", new))
        for key, login in order:
            times[key].append(register(login))

    def line(key: str) -> str:
        values = sorted(times[key])
        p95 = values[max(0, round(0.95 * len(values)) - 1)]
        return (
            f"{key:>5}: p50 {statistics.median(values):7.1f} ms  p95 {p95:7.1f} ms  "
            f"mean {statistics.fmean(values):7.1f} ms  (n={len(values)})"
        )

    print(line("new"))
    print(line("known"))
    difference = statistics.median(times["new"]) - statistics.median(times["known"])
    print(f"median new − known: {difference:+.1f} ms")


if __name__ == "__main__":
    main()
