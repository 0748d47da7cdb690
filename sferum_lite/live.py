"""Live updates: a publish/subscribe broker behind Server-Sent Events (htmx's hx-sse).

Events are small dicts such as {"chat": 12, "rev": 57}: "this chat has a new revision, fetch it".
They carry no message text and no personal data. Topics are strings: `chat_topic(12)` is
"chat:12", `kindergarten_topic(3)` is "kg:3".

Views depend only on the `Broker` interface: `publish(topic, event)` and `subscribe(topics)`,
which returns a `Subscription` with `get(timeout)` and `close()`. A stream view subscribes, then
loops on `get(timeout)` — holding no database session while it waits — and writes what it gets
with `format_sse()`, or a `comment()` as a heartbeat when `get()` returns []. If the list holds
`RESYNC`, events were lost (the subscriber fell behind, or a remote link dropped): the stream
must re-read the whole state rather than apply the events one by one. Writers call
`publish_after_commit()`, so nothing is announced that a rollback later takes back.

`InProcessBroker` serves one process (gunicorn -k gthread, `flask run`): threads and
`threading.Condition`, no asyncio. To run several processes, write an adapter with the same two
methods and put an instance in `app.config["LIVE_BROKER"]`; views do not change. The simplest
shape keeps an `InProcessBroker` per process for the local fan-out:

- Redis: `publish` sends json.dumps(event) to the channel `topic`; one listener thread per
  process PSUBSCRIBEs to "chat:*" and "kg:*" and republishes what arrives into the local broker;
  `subscribe` delegates to the local broker. After a reconnect, subscribers must get `RESYNC`.
- PostgreSQL: `publish` runs pg_notify('sferum_live', {"topic": ..., "event": ...}); a listener
  thread LISTENs on a dedicated connection (not from the SQLAlchemy pool) and fans out locally.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from flask import Flask, current_app, has_app_context
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, SessionTransaction

from .extensions import db

EXTENSION = "sferum_live"
PENDING = "sferum_live_pending"  # key in Session.info: (topic, event) pairs awaiting COMMIT
RESYNC = {"resync": True}  # marker in get()'s result: events were lost; compare with ==
QUEUE_SIZE = 256

log = logging.getLogger(__name__)
_setup_lock = threading.Lock()


class Subscription(Protocol):
    """What `Broker.subscribe` returns; a context manager that closes itself.

    `get(timeout)` returns every event queued since the previous call, in publish order, waiting
    up to `timeout` seconds for the first; [] on timeout or once closed. If events were dropped
    since the previous call, the result starts with a copy of `RESYNC`, and `overflowed` stays
    True for good. `close()` unsubscribes; it may be called any number of times. Adapters
    subclass this to inherit __enter__/__exit__.
    """

    overflowed: bool

    def get(self, timeout: float) -> list[dict]: ...

    def close(self) -> None: ...

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@runtime_checkable
class Broker(Protocol):
    """The adapter interface (see the module's doc). Both methods must be thread-safe."""

    def publish(self, topic: str, event: dict) -> None: ...

    def subscribe(self, topics: Iterable[str]) -> Subscription: ...


class QueueSubscription(Subscription):
    """A bounded queue of events: on overflow the oldest event is dropped."""

    def __init__(self, broker: InProcessBroker, topics: frozenset[str], size: int) -> None:
        self.topics = topics
        self.overflowed = False
        self._broker = broker
        self._size = size
        self._queue: deque[dict] = deque()
        self._lost = False  # dropped events since the last get()
        self._closed = False
        self._cond = threading.Condition()

    def put(self, event: dict) -> None:
        with self._cond:
            if self._closed:
                return
            if len(self._queue) >= self._size:
                self._queue.popleft()
                self._lost = self.overflowed = True
            self._queue.append(dict(event))
            self._cond.notify_all()

    def get(self, timeout: float) -> list[dict]:
        with self._cond:
            self._cond.wait_for(lambda: self._queue or self._closed, max(timeout, 0))
            if self._closed:
                return []
            events = [dict(RESYNC)] if self._lost else []
            events.extend(self._queue)
            self._queue.clear()
            self._lost = False
            return events

    def close(self) -> None:
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._queue.clear()
            self._cond.notify_all()
        self._broker._unsubscribe(self)


class InProcessBroker(Broker):
    """The broker for one process: a lock-protected map of topic -> subscriptions."""

    def __init__(self, queue_size: int = QUEUE_SIZE) -> None:
        self.queue_size = queue_size
        self._lock = threading.Lock()
        self._topics: dict[str, set[QueueSubscription]] = {}

    def publish(self, topic: str, event: dict) -> None:
        with self._lock:
            subscriptions = list(self._topics.get(topic, ()))
        for subscription in subscriptions:  # each has its own lock; never nest them
            subscription.put(event)

    def subscribe(self, topics: Iterable[str]) -> QueueSubscription:
        if isinstance(topics, str):
            raise TypeError("subscribe() takes a list of topics, not one string")
        subscription = QueueSubscription(self, frozenset(topics), self.queue_size)
        with self._lock:
            for topic in subscription.topics:
                self._topics.setdefault(topic, set()).add(subscription)
        return subscription

    def _unsubscribe(self, subscription: QueueSubscription) -> None:
        with self._lock:
            for topic in subscription.topics:
                subscribers = self._topics.get(topic)
                if subscribers is not None:
                    subscribers.discard(subscription)
                    if not subscribers:
                        del self._topics[topic]

    def subscriber_count(self, topic: str | None = None) -> int:
        """Subscriptions to `topic`, or distinct subscriptions to any topic."""
        with self._lock:
            if topic is not None:
                return len(self._topics.get(topic, ()))
            return len(set().union(*self._topics.values()))


def init_app(app: Flask) -> None:
    """Use app.config["LIVE_BROKER"] if it is a Broker, else a new InProcessBroker."""
    configured = app.config.get("LIVE_BROKER")
    if configured is not None and not isinstance(configured, Broker):
        raise TypeError(f"LIVE_BROKER must be a Broker, not {type(configured).__name__}")
    app.extensions[EXTENSION] = InProcessBroker() if configured is None else configured


def broker() -> Broker:
    """The current app's broker; an InProcessBroker is created on first use if init_app wasn't."""
    extensions = current_app.extensions
    if EXTENSION not in extensions:
        with _setup_lock:
            if EXTENSION not in extensions:
                init_app(current_app._get_current_object())
    return extensions[EXTENSION]


def publish_after_commit(topic: str, event: dict) -> None:
    """Publish once the current transaction of `db.session` commits; forget it on rollback.

    Identical pairs within one transaction are published once, in the order first recorded.
    Events recorded inside a SAVEPOINT are kept if only the savepoint is rolled back.
    """
    pending = db.session.info.setdefault(PENDING, [])
    pair = (topic, dict(event))
    if pair not in pending:
        pending.append(pair)


@sa_event.listens_for(Session, "after_commit")
def _publish_pending(session: Session) -> None:
    if session.in_nested_transaction():  # a RELEASE SAVEPOINT: wait for the real COMMIT
        return
    pending = session.info.pop(PENDING, None)
    if not pending or not has_app_context():
        return
    target = broker()
    for topic, event in pending:  # publish only: the session must not be used here
        try:
            target.publish(topic, event)
        except Exception:  # the data is committed; a lost event only delays a refresh
            log.exception("live: publishing to %s failed", topic)


@sa_event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(PENDING, None)


@sa_event.listens_for(Session, "after_transaction_end")
def _drop_leftovers(session: Session, transaction: SessionTransaction) -> None:
    """A transaction that ends without COMMIT or ROLLBACK (Session.close) drops its events."""
    if transaction.parent is None:
        session.info.pop(PENDING, None)


def format_sse(
    data: str = "",
    *,
    event: str | None = None,
    id: str | int | None = None,
    retry: int | None = None,
) -> str:
    """One SSE message. Without data and event it only sets id/retry and dispatches nothing."""
    lines = []
    if event is not None:
        lines.append(f"event: {_field('event', event)}")
    if id is not None:
        lines.append(f"id: {_field('id', str(id))}")
    if retry is not None:
        if isinstance(retry, bool) or not isinstance(retry, int) or retry < 0:
            raise ValueError(f"SSE retry must be a non-negative int, not {retry!r}")
        lines.append(f"retry: {retry}")
    if data or event is not None:
        lines.extend(f"data: {line}" for line in _split_lines(data))
    return "\n".join(lines) + "\n\n"


def comment(text: str = "ping") -> str:
    """An SSE comment (browsers ignore it): a heartbeat that keeps proxies from timing out."""
    return "".join(f": {line}\n" for line in _split_lines(text)) + "\n"


def _field(name: str, value: str) -> str:
    if any(c in value for c in "\r\n\0"):
        raise ValueError(f"SSE {name} must not contain CR, LF or NUL: {value!r}")
    return value


def _split_lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def chat_topic(chat_id: int) -> str:
    return f"chat:{chat_id}"


def kindergarten_topic(kindergarten_id: int) -> str:
    return f"kg:{kindergarten_id}"
