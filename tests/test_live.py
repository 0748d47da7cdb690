"""The live-update broker, the SSE wire format and publishing after COMMIT."""

from __future__ import annotations

import logging
import threading

import pytest
from flask import Flask, current_app
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from sferum_lite import live
from sferum_lite.extensions import db
from sferum_lite.live import (
    RESYNC,
    InProcessBroker,
    broker,
    chat_topic,
    comment,
    format_sse,
    kindergarten_topic,
    publish_after_commit,
)


def in_thread(target):
    """Run target() in a thread; return a function that joins it and gives its result."""
    result = {}
    started = threading.Event()

    def run():
        started.set()
        result["value"] = target()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait(5)

    def join():
        thread.join(5)
        assert not thread.is_alive()
        return result["value"]

    return join


# The in-process broker


def test_a_publish_wakes_a_subscriber_waiting_in_another_thread():
    hub = InProcessBroker()
    with hub.subscribe([chat_topic(1)]) as subscription:
        waiting = in_thread(lambda: subscription.get(timeout=2))
        hub.publish(chat_topic(1), {"chat": 1, "rev": 5})
        assert waiting() == [{"chat": 1, "rev": 5}]


def test_publishers_in_many_threads_reach_the_subscriber_in_their_order():
    hub = InProcessBroker(queue_size=10_000)
    publishers, count = 4, 300
    with hub.subscribe(["chat:1"]) as subscription:

        def publish(n):
            for rev in range(count):
                hub.publish("chat:1", {"chat": 1, "publisher": n, "rev": rev})

        threads = [threading.Thread(target=publish, args=(n,)) for n in range(publishers)]
        for thread in threads:
            thread.start()
        received = []
        while len(received) < publishers * count:
            batch = subscription.get(timeout=2)
            assert batch, "the publishers stalled"
            received.extend(batch)
        for thread in threads:
            thread.join(5)
    assert RESYNC not in received
    for n in range(publishers):
        assert [e["rev"] for e in received if e["publisher"] == n] == list(range(count))


def test_get_returns_everything_queued_since_the_last_call_in_order():
    hub = InProcessBroker()
    with hub.subscribe(["chat:1", "kg:1"]) as subscription:
        hub.publish("chat:1", {"chat": 1, "rev": 1})
        hub.publish("kg:1", {"kg": 1})
        hub.publish("chat:1", {"chat": 1, "rev": 2})
        assert subscription.get(timeout=0) == [
            {"chat": 1, "rev": 1},
            {"kg": 1},
            {"chat": 1, "rev": 2},
        ]
        assert subscription.get(timeout=0) == []


def test_topics_are_isolated():
    hub = InProcessBroker()
    with hub.subscribe(["chat:1"]) as first, hub.subscribe(["chat:2"]) as second:
        hub.publish("chat:1", {"chat": 1, "rev": 1})
        hub.publish("chat:3", {"chat": 3, "rev": 1})
        assert first.get(timeout=0) == [{"chat": 1, "rev": 1}]
        assert second.get(timeout=0) == []


def test_every_subscriber_to_a_topic_gets_its_own_copy():
    hub = InProcessBroker()
    event = {"chat": 1, "rev": 1}
    with hub.subscribe(["chat:1"]) as first, hub.subscribe(["chat:1"]) as second:
        hub.publish("chat:1", event)
        event["rev"] = 2  # the publisher's dict is not shared
        got = first.get(timeout=0)
        got[0]["rev"] = 3  # nor is one subscriber's
        assert got == [{"chat": 1, "rev": 3}]
        assert second.get(timeout=0) == [{"chat": 1, "rev": 1}]


def test_get_times_out_with_an_empty_list():
    hub = InProcessBroker()
    with hub.subscribe(["chat:1"]) as subscription:
        hub.publish("chat:2", {"chat": 2, "rev": 1})
        assert subscription.get(timeout=0.01) == []
        assert subscription.get(timeout=-1) == []


def test_close_unsubscribes_and_may_be_repeated():
    hub = InProcessBroker()
    kept = hub.subscribe(["chat:1"])
    with hub.subscribe(["chat:1", "kg:1"]) as subscription:
        assert hub.subscriber_count("chat:1") == 2
        assert hub.subscriber_count("kg:1") == 1
        assert hub.subscriber_count() == 2
    assert hub.subscriber_count("chat:1") == 1
    assert hub.subscriber_count("kg:1") == 0
    hub.publish("chat:1", {"chat": 1, "rev": 1})
    assert subscription.get(timeout=0) == []
    subscription.close()
    kept.close()
    kept.close()
    assert hub.subscriber_count() == 0
    assert hub.subscriber_count("chat:1") == 0


def test_close_wakes_a_waiting_get():
    hub = InProcessBroker()
    subscription = hub.subscribe(["chat:1"])
    waiting = in_thread(lambda: subscription.get(timeout=30))
    subscription.close()
    assert waiting() == []


def test_overflow_drops_the_oldest_events_and_asks_for_a_resync():
    hub = InProcessBroker(queue_size=3)
    with hub.subscribe(["chat:1"]) as subscription:
        for rev in range(5):
            hub.publish("chat:1", {"chat": 1, "rev": rev})
        assert subscription.overflowed
        assert subscription.get(timeout=0) == [RESYNC] + [{"chat": 1, "rev": r} for r in (2, 3, 4)]
        hub.publish("chat:1", {"chat": 1, "rev": 5})
        assert subscription.get(timeout=0) == [{"chat": 1, "rev": 5}]
        assert subscription.overflowed  # for good: diagnostics


def test_subscribe_wants_a_list_of_topics():
    with pytest.raises(TypeError):
        InProcessBroker().subscribe("chat:1")


def test_in_process_broker_is_a_broker():
    assert isinstance(InProcessBroker(), live.Broker)
    assert not isinstance(object(), live.Broker)


# The SSE wire format


def test_format_sse_prefixes_every_line_of_data():
    assert format_sse("one\ntwo\r\nthree\rfour", event="chat", id=57, retry=3000) == (
        "event: chat\nid: 57\nretry: 3000\ndata: one\ndata: two\ndata: three\ndata: four\n\n"
    )
    assert format_sse("<p>hi</p>") == "data: <p>hi</p>\n\n"
    assert format_sse("x\n") == "data: x\ndata: \n\n"
    assert format_sse(event="refresh") == "event: refresh\ndata: \n\n"
    assert format_sse(retry=5000) == "retry: 5000\n\n"


def test_data_cannot_start_a_field_of_its_own():
    message = format_sse("ok\nevent: evil\n\ndata: injected", event="chat")
    lines = message.split("\n")
    assert lines[0] == "event: chat"
    assert all(line.startswith("data: ") for line in lines[1:-2])
    assert message.endswith("\n\n") and "\n\n" not in message[:-2]


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\r\nb", "a\0b", "chat\n\ndata: x"])
def test_event_and_id_refuse_line_breaks(bad):
    with pytest.raises(ValueError):
        format_sse("x", event=bad)
    with pytest.raises(ValueError):
        format_sse("x", id=bad)


@pytest.mark.parametrize("bad", [-1, True, "10", 1.5])
def test_retry_must_be_a_non_negative_int(bad):
    with pytest.raises(ValueError):
        format_sse("x", retry=bad)


def test_comment():
    assert comment() == ": ping\n\n"
    assert comment("a\nb") == ": a\n: b\n\n"


def test_topics():
    assert chat_topic(12) == "chat:12"
    assert kindergarten_topic(3) == "kg:3"


# Wiring into Flask


def test_broker_is_created_on_first_use_and_kept():
    app = Flask(__name__)
    with app.app_context():
        first = broker()
        assert isinstance(first, InProcessBroker)
        assert broker() is first
        assert app.extensions[live.EXTENSION] is first


def test_init_app_takes_a_configured_broker():
    configured = InProcessBroker()
    app = Flask(__name__)
    app.config["LIVE_BROKER"] = configured
    live.init_app(app)
    with app.app_context():
        assert broker() is configured


def test_init_app_refuses_what_is_not_a_broker():
    app = Flask(__name__)
    app.config["LIVE_BROKER"] = "redis://localhost"
    with pytest.raises(TypeError):
        live.init_app(app)


# Publishing after COMMIT


def test_events_are_published_after_commit_once_and_in_order(db_ctx):
    with broker().subscribe(["chat:1", "kg:1"]) as subscription:
        db.session.execute(text("SELECT 1"))
        publish_after_commit("chat:1", {"chat": 1, "rev": 7})
        publish_after_commit("kg:1", {"kg": 1})
        publish_after_commit("chat:1", {"chat": 1, "rev": 7})
        publish_after_commit("chat:1", {"chat": 1, "rev": 8})
        db.session.flush()
        assert subscription.get(timeout=0) == []
        db.session.commit()
        assert subscription.get(timeout=0) == [
            {"chat": 1, "rev": 7},
            {"kg": 1},
            {"chat": 1, "rev": 8},
        ]
        db.session.commit()  # the next transaction starts with nothing pending
        assert subscription.get(timeout=0) == []


def test_events_are_dropped_on_rollback(db_ctx):
    with broker().subscribe(["chat:1"]) as subscription:
        db.session.execute(text("SELECT 1"))
        publish_after_commit("chat:1", {"chat": 1, "rev": 7})
        db.session.rollback()
        db.session.commit()
        assert subscription.get(timeout=0) == []


def test_events_are_dropped_when_the_session_closes(db_ctx):
    with broker().subscribe(["chat:1"]) as subscription:
        db.session.execute(text("SELECT 1"))
        publish_after_commit("chat:1", {"chat": 1, "rev": 7})
        db.session.close()
        db.session.commit()
        assert subscription.get(timeout=0) == []


def test_a_savepoint_does_not_publish_before_the_real_commit(db_ctx):
    with broker().subscribe(["chat:1"]) as subscription:
        db.session.execute(text("SELECT 1"))
        with db.session.begin_nested():
            publish_after_commit("chat:1", {"chat": 1, "rev": 1})
        assert subscription.get(timeout=0) == []
        savepoint = db.session.begin_nested()
        publish_after_commit("chat:1", {"chat": 1, "rev": 2})
        savepoint.rollback()
        assert subscription.get(timeout=0) == []
        db.session.commit()
        events = subscription.get(timeout=0)
        assert {"chat": 1, "rev": 1} in events  # a rolled-back savepoint may still announce
        db.session.execute(text("SELECT 1"))
        db.session.begin_nested()
        publish_after_commit("chat:1", {"chat": 1, "rev": 3})
        db.session.rollback()  # the whole transaction
        db.session.commit()
        assert subscription.get(timeout=0) == []


def test_a_failing_broker_does_not_fail_the_commit(db_ctx, monkeypatch, caplog):
    class Failing(InProcessBroker):
        def publish(self, topic, event):
            if topic == "chat:1":
                raise ConnectionError("broker down")
            super().publish(topic, event)

    failing = Failing()
    monkeypatch.setitem(current_app.extensions, live.EXTENSION, failing)
    with failing.subscribe(["chat:2"]) as subscription:
        publish_after_commit("chat:1", {"chat": 1, "rev": 1})
        publish_after_commit("chat:2", {"chat": 2, "rev": 1})
        with caplog.at_level(logging.ERROR, logger="sferum_lite.live"):
            db.session.commit()
        assert subscription.get(timeout=0) == [{"chat": 2, "rev": 1}]
    assert "chat:1" in caplog.text


def test_a_commit_outside_an_app_context_drops_the_events():
    engine = create_engine("sqlite://")
    with Session(engine) as session:
        session.execute(text("SELECT 1"))
        session.info[live.PENDING] = [("chat:1", {"chat": 1, "rev": 1})]
        session.commit()
        assert live.PENDING not in session.info
    engine.dispose()
