"""The director's figures (reg 000 §2.1–2.2: control of use, usage statistics to the head).

Every figure is an aggregate over the kindergarten's chats: a page costs the same handful of
queries for 3 chats or 300 and for a thousand messages or a million. Days and weeks are the
kindergarten's, in its time zone; the database counts each bucket between two UTC instants.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import Integer, and_, case, distinct, func, literal, or_, select, union_all
from sqlalchemy.orm import aliased

from .exports import csv_text
from .extensions import db
from .i18n import from_local, local_datetime
from .models import (
    Block,
    Chat,
    ChatMember,
    Child,
    Group,
    JoinRequest,
    Message,
    ModerationEntry,
    ParentChild,
    Report,
    Rules,
    RulesAcceptance,
    User,
    UTCDateTime,
    utcnow,
)
from .permissions import STAFF, TRUSTED_STAFF, is_trusted_staff
from .templating import rules_label

RECENT_DAYS = 7
CHART_DAYS = 30
CHART_WEEKS = 12


@dataclass
class ChatRow:
    """One line of the all-chats table."""

    chat: Chat
    group_name: str = ""
    moderators: list[str] = field(default_factory=list)
    members: int = 0
    asked: int = 0  # members asked to accept the rules: all who may write
    children: int | None = None  # of the chat's group; None for a chat without a group
    covered: int | None = None  # ... with at least one parent in the chat
    accepted: int | None = None  # ... of them on the current rules; None for a chat without rules
    messages: int = 0  # in the last RECENT_DAYS days
    open_reports: int = 0
    active_blocks: int = 0
    waiting: int = 0

    @property
    def last_activity(self) -> datetime:
        return self.chat.last_activity_at

    @property
    def coverage(self) -> float | None:
        return _share(self.covered, self.children)

    @property
    def accepted_share(self) -> float | None:
        return _share(self.accepted, self.asked if self.accepted is not None else None)


def _share(part, whole) -> float | None:
    if part is None or not whole:
        return None
    return part / whole


def _midnight(day: date) -> datetime:
    return from_local(datetime(day.year, day.month, day.day))


def _buckets(starts: list[date], end: date):
    """A derived table (i, starts, ends) of consecutive local periods starting on `starts`, the
    last one ending at `end` — portable (a UNION ALL of literals) and exact across DST."""
    bounds = [*starts, end]
    rows = [
        select(
            literal(i, Integer).label("i"),
            literal(_midnight(bounds[i]), UTCDateTime).label("starts"),
            literal(_midnight(bounds[i + 1]), UTCDateTime).label("ends"),
        )
        for i in range(len(starts))
    ]
    return union_all(*rows).subquery("bucket")


def _open_chats(kindergarten_id: int):
    return and_(Chat.kindergarten_id == kindergarten_id, Chat.archived_at.is_(None))


def _grouped(query) -> dict:
    return dict(db.session.execute(query).all())


# --- the chats table -------------------------------------------------------------------------


def chat_rows(kindergarten_id: int, now: datetime | None = None) -> list[ChatRow]:
    """Every open chat of the kindergarten with its figures: a fixed number of grouped queries."""
    now = now or utcnow()
    where = _open_chats(kindergarten_id)
    chats = db.session.execute(
        select(Chat, Group.name).outerjoin(Group, Group.id == Chat.group_id).where(where)
    ).all()

    # the rules are asked of whoever may write: everyone in a group chat, trusted staff in a
    # channel (a parent reads a channel and is never asked); accepted counts among those asked
    asked = or_(Chat.kind != "channel", TRUSTED_STAFF)
    members = {
        chat_id: (total, asked_n, accepted)
        for chat_id, total, asked_n, accepted in db.session.execute(
            select(
                ChatMember.chat_id,
                func.count(),
                func.sum(case((asked, 1), else_=0)),
                func.sum(
                    case((and_(asked, ChatMember.rules_accepted_id == Chat.rules_id), 1), else_=0)
                ),
            )
            .join(Chat, Chat.id == ChatMember.chat_id)
            .join(User, User.id == ChatMember.user_id)
            .where(where)
            .group_by(ChatMember.chat_id)
        )
    }
    covered = _grouped(
        select(ChatMember.chat_id, func.count(distinct(Child.id)))
        .join(Chat, Chat.id == ChatMember.chat_id)
        .join(ParentChild, ParentChild.user_id == ChatMember.user_id)
        .join(Child, Child.id == ParentChild.child_id)
        .where(where, Child.group_id == Chat.group_id, Child.left_at.is_(None))
        .group_by(ChatMember.chat_id)
    )
    children = group_children_counts(kindergarten_id)
    messages = _grouped(
        select(Message.chat_id, func.count())
        .join(Chat, Chat.id == Message.chat_id)
        .where(
            where,
            Message.created_at >= now - timedelta(days=RECENT_DAYS),
            Message.deleted_at.is_(None),
        )
        .group_by(Message.chat_id)
    )
    reports = _grouped(
        select(Report.chat_id, func.count())
        .join(Chat, Chat.id == Report.chat_id)
        .where(where, Report.resolved_at.is_(None))
        .group_by(Report.chat_id)
    )
    blocks = _grouped(
        select(Block.chat_id, func.count())
        .join(Chat, Chat.id == Block.chat_id)
        # of members only: whoever left the chat is under no block there
        .join(
            ChatMember,
            and_(ChatMember.chat_id == Block.chat_id, ChatMember.user_id == Block.user_id),
        )
        .where(where, Block.in_force(now))
        .group_by(Block.chat_id)
    )
    waiting = _grouped(
        select(JoinRequest.chat_id, func.count())
        .join(Chat, Chat.id == JoinRequest.chat_id)
        .where(where, JoinRequest.status == "waiting")
        .group_by(JoinRequest.chat_id)
    )
    moderators = defaultdict(list)
    for chat_id, name in db.session.execute(
        select(ChatMember.chat_id, User.stored_name)
        .join(Chat, Chat.id == ChatMember.chat_id)
        .join(User, User.id == ChatMember.user_id)
        .where(where, ChatMember.is_moderator.is_(True))
        .order_by(User.stored_name)
    ):
        moderators[chat_id].append(name)

    rows = []
    for chat, group_name in chats:
        total, asked_n, accepted = members.get(chat.id, (0, 0, 0))
        row = ChatRow(
            chat=chat,
            group_name=group_name or "",
            moderators=moderators.get(chat.id, []),
            members=total,
            asked=int(asked_n or 0),
            accepted=int(accepted or 0) if chat.rules_id is not None else None,
            messages=messages.get(chat.id, 0),
            open_reports=reports.get(chat.id, 0),
            active_blocks=blocks.get(chat.id, 0),
            waiting=waiting.get(chat.id, 0),
        )
        if chat.group_id is not None:
            row.children = children.get(chat.group_id, 0)
            row.covered = covered.get(chat.id, 0)
        rows.append(row)
    return rows


# the columns the chats table sorts by: key -> (value of a row, reversed first)
SORTS = {
    "title": (lambda r: r.chat.title.casefold(), False),
    "kind": (lambda r: (r.chat.kind, r.chat.title.casefold()), False),
    "group": (lambda r: (r.group_name == "", r.group_name.casefold()), False),
    "members": (lambda r: r.members, True),
    "coverage": (lambda r: (r.coverage is not None, r.coverage or 0), False),
    "accepted": (lambda r: (r.accepted_share is not None, r.accepted_share or 0), False),
    "messages": (lambda r: r.messages, True),
    "activity": (lambda r: r.last_activity, True),
    "reports": (lambda r: r.open_reports, True),
    "blocks": (lambda r: r.active_blocks, True),
    "waiting": (lambda r: r.waiting, True),
}


def sort_rows(rows: list[ChatRow], key: str, descending: bool | None = None) -> list[ChatRow]:
    value, natural = SORTS.get(key, SORTS["activity"])
    reverse = natural if descending is None else descending
    return sorted(rows, key=value, reverse=reverse)


# --- groups: children and coverage ---------------------------------------------------------------


def group_children_counts(kindergarten_id: int) -> dict[int, int]:
    return _grouped(
        select(Child.group_id, func.count())
        .where(Child.kindergarten_id == kindergarten_id, Child.left_at.is_(None))
        .group_by(Child.group_id)
    )


@dataclass
class GroupRow:
    group: Group
    children: int = 0
    covered: int = 0  # children with a parent in at least one of the group's chats
    chats: int = 0

    @property
    def coverage(self) -> float | None:
        return _share(self.covered, self.children)


def group_rows(kindergarten_id: int) -> list[GroupRow]:
    groups = db.session.scalars(
        select(Group)
        .where(Group.kindergarten_id == kindergarten_id, Group.archived_at.is_(None))
        .order_by(Group.name)
    ).all()
    children = group_children_counts(kindergarten_id)
    covered = _grouped(
        select(Child.group_id, func.count(distinct(Child.id)))
        .join(ParentChild, ParentChild.child_id == Child.id)
        .join(ChatMember, ChatMember.user_id == ParentChild.user_id)
        .join(Chat, Chat.id == ChatMember.chat_id)
        .where(
            _open_chats(kindergarten_id),
            Chat.group_id == Child.group_id,
            Child.left_at.is_(None),
        )
        .group_by(Child.group_id)
    )
    chats = _grouped(
        select(Chat.group_id, func.count())
        .where(_open_chats(kindergarten_id), Chat.group_id.is_not(None))
        .group_by(Chat.group_id)
    )
    return [
        GroupRow(
            group=g,
            children=children.get(g.id, 0),
            covered=covered.get(g.id, 0),
            chats=chats.get(g.id, 0),
        )
        for g in groups
    ]


@dataclass
class GroupChat:
    """One of a group's chats on the group page: who is missing and who is behind on rules."""

    chat: Chat
    missing_children: list[Child]
    not_accepted: list[User]
    members: int


def group_chats(group: Group) -> list[GroupChat]:
    """The group's open chats, each with the children who have no parent in it yet and the
    members who have not accepted its current rules: four queries for the whole page."""
    chats = db.session.scalars(
        select(Chat)
        .where(_open_chats(group.kindergarten_id), Chat.group_id == group.id)
        .order_by(Chat.kind, Chat.title)
    ).all()
    children = db.session.scalars(
        select(Child)
        .where(Child.group_id == group.id, Child.left_at.is_(None))
        .order_by(Child.last_name, Child.first_name)
    ).all()
    ids = [c.id for c in chats]
    covered = defaultdict(set)
    for chat_id, child_id in db.session.execute(
        select(ChatMember.chat_id, ParentChild.child_id)
        .join(ParentChild, ParentChild.user_id == ChatMember.user_id)
        .where(ChatMember.chat_id.in_(ids))
    ):
        covered[chat_id].add(child_id)
    not_accepted = defaultdict(list)
    members = defaultdict(int)
    kinds = {chat.id: chat.kind for chat in chats}
    for chat_id, user, accepted in db.session.execute(
        select(ChatMember.chat_id, User, ChatMember.rules_accepted_id == Chat.rules_id)
        .join(User, User.id == ChatMember.user_id)
        .join(Chat, Chat.id == ChatMember.chat_id)
        .where(ChatMember.chat_id.in_(ids))
        .order_by(User.stored_name)
    ):
        members[chat_id] += 1
        asked = kinds[chat_id] != "channel" or is_trusted_staff(user)  # the others only read
        if asked and not accepted:
            not_accepted[chat_id].append(user)
    return [
        GroupChat(
            chat=chat,
            missing_children=[c for c in children if c.id not in covered[chat.id]],
            not_accepted=not_accepted[chat.id] if chat.rules_id is not None else [],
            members=members[chat.id],
        )
        for chat in chats
    ]


@dataclass
class AcceptanceRow:
    chat_title: str
    group_name: str | None
    name: str
    staff: bool
    current_rules: Rules | None  # the version in force
    accepted_rules: Rules | None  # the version the member accepted last
    current: bool  # ... is the one in force (the same Rules row, not merely the same number)
    accepted_at: datetime | None  # when they accepted the version in force
    asked: bool = True  # False: a parent in a channel, who reads and is never asked


def acceptance_rows(kindergarten_id: int) -> list[AcceptanceRow]:
    """Every member of every open chat with rules: the version in force, the version they
    accepted and when they accepted the one in force. One query."""
    current = aliased(Rules)
    accepted = aliased(Rules)
    when = (
        select(func.max(RulesAcceptance.accepted_at))
        .where(
            RulesAcceptance.chat_id == ChatMember.chat_id,
            RulesAcceptance.user_id == ChatMember.user_id,
            RulesAcceptance.rules_id == Chat.rules_id,
        )
        .correlate(ChatMember, Chat)
        .scalar_subquery()
    )
    query = (
        select(
            Chat.title,
            Group.name,
            User.name,
            STAFF,
            current,
            accepted,
            func.coalesce(ChatMember.rules_accepted_id == Chat.rules_id, False),
            when,
            or_(Chat.kind != "channel", TRUSTED_STAFF),
        )
        .select_from(ChatMember)
        .join(Chat, Chat.id == ChatMember.chat_id)
        .join(User, User.id == ChatMember.user_id)
        .outerjoin(Group, Group.id == Chat.group_id)
        .outerjoin(current, current.id == Chat.rules_id)
        .outerjoin(accepted, accepted.id == ChatMember.rules_accepted_id)
        .where(_open_chats(kindergarten_id), Chat.rules_id.is_not(None))
        .order_by(Group.name.is_(None), Group.name, Chat.title, User.stored_name)
    )
    return [AcceptanceRow(*row) for row in db.session.execute(query)]


# --- the dashboard's figures ------------------------------------------------------------------


@dataclass
class Figures:
    chats: int
    children: int
    covered: int
    members: int  # memberships asked to accept rules (all who may write in a chat with rules)
    accepted: int  # ... on the current rules
    messages: int  # in the last RECENT_DAYS days
    open_reports: int
    active_blocks: int
    waiting: int

    @property
    def coverage(self) -> float | None:
        return _share(self.covered, self.children)

    @property
    def accepted_share(self) -> float | None:
        return _share(self.accepted, self.members)


def figures(rows: list[ChatRow], groups: list[GroupRow]) -> Figures:
    with_rules = [r for r in rows if r.accepted is not None]
    return Figures(
        chats=len(rows),
        children=sum(g.children for g in groups),
        covered=sum(g.covered for g in groups),
        members=sum(r.asked for r in with_rules),
        accepted=sum(r.accepted for r in with_rules),
        messages=sum(r.messages for r in rows),
        open_reports=sum(r.open_reports for r in rows),
        active_blocks=sum(r.active_blocks for r in rows),
        waiting=sum(r.waiting for r in rows),
    )


# --- activity over time ---------------------------------------------------------------------


@dataclass
class Series:
    """Bars of a chart: one value per period, with the periods' first days."""

    label: str
    days: list[date]
    values: list[int]

    @property
    def total(self) -> int:
        return sum(self.values)

    @property
    def peak(self) -> int:
        return max(self.values, default=0)


def _messages_by(kindergarten_id: int, bucket, *columns):
    return (
        select(bucket.c.i, *columns, func.count())
        .select_from(bucket)
        .join(
            Message,
            and_(Message.created_at >= bucket.c.starts, Message.created_at < bucket.c.ends),
        )
        .join(Chat, Chat.id == Message.chat_id)
        .where(Chat.kindergarten_id == kindergarten_id, Message.deleted_at.is_(None))
        .group_by(bucket.c.i, *columns)
    )


def daily_messages(
    kindergarten_id: int, first: date, last: date, groups: list[Group], *, only: bool = False
) -> tuple[Series, list[Series]]:
    """Messages per day from `first` to `last` (local days): the whole kindergarten, and one
    series per group (chats without a group count in the total only); with `only`, just the
    chats of `groups` are read. One query."""
    days = [first + timedelta(n) for n in range((last - first).days + 1)]
    bucket = _buckets(days, last + timedelta(1))
    total = [0] * len(days)
    per_group = defaultdict(lambda: [0] * len(days))
    query = _messages_by(kindergarten_id, bucket, Chat.group_id)
    if only:
        query = query.where(Chat.group_id.in_([g.id for g in groups]))
    for i, group_id, n in db.session.execute(query):
        total[i] += n
        if group_id is not None:
            per_group[group_id][i] += n
    return Series("", days, total), [Series(g.name, days, per_group[g.id]) for g in groups]


def _wrote_between(start, end):
    """The person (User) wrote a message, not deleted since, in [start, end). A person's
    messages are all in their kindergarten's chats."""
    return (
        select(Message.id)
        .where(
            Message.author_id == User.id,
            Message.created_at >= start,
            Message.created_at < end,
            Message.deleted_at.is_(None),
        )
        .exists()
    )


def week_start(day: date) -> date:
    return day - timedelta(day.weekday())


def weekly_active(kindergarten_id: int, first: date, last: date, *, clip: bool = False) -> Series:
    """People who wrote at least one message, per local week (Monday to Sunday) from the week
    of `first` to the week of `last`; with `clip`, the first and last weeks are cut to
    [first, last] (a month's report counts only that month's days). One query."""
    weeks = []
    monday = week_start(first)
    while monday <= last:
        weeks.append(monday)
        monday += timedelta(7)
    end = weeks[-1] + timedelta(7)
    if clip:
        weeks[0], end = max(weeks[0], first), min(end, last + timedelta(1))
    bucket = _buckets(weeks, end)
    values = [0] * len(weeks)
    # counted as people who wrote, not as distinct authors of the period's messages: one
    # index probe per person and week instead of reading every message (bench/dashboard.py)
    query = (
        select(bucket.c.i, func.count())
        .select_from(bucket)
        .join(User, User.kindergarten_id == kindergarten_id)
        .where(_wrote_between(bucket.c.starts, bucket.c.ends))
        .group_by(bucket.c.i)
    )
    for i, n in db.session.execute(query):
        values[i] = n
    return Series("", weeks, values)


# --- the monthly report -------------------------------------------------------------------------


def month_bounds(first: date) -> tuple[date, date]:
    """The first and the last day of the month starting on `first`."""
    following = (first.replace(day=28) + timedelta(4)).replace(day=1)
    return first, following - timedelta(1)


@dataclass
class MonthChat:
    chat: Chat
    group_name: str
    messages: int = 0
    authors: int = 0
    joined: int = 0
    acceptances: int = 0
    moderation: dict = field(default_factory=dict)  # action -> count
    reports: int = 0


def month_chats(kindergarten_id: int, first: date, last: date) -> list[MonthChat]:
    """What happened in each chat during the month: messages and who wrote them, who joined,
    who accepted rules, what moderators did and what was reported. Five grouped queries."""
    start, end = _midnight(first), _midnight(last + timedelta(1))
    chats = db.session.execute(
        select(Chat, Group.name)
        .outerjoin(Group, Group.id == Chat.group_id)
        .where(
            Chat.kindergarten_id == kindergarten_id,
            Chat.created_at < end,
            (Chat.archived_at.is_(None)) | (Chat.archived_at >= start),
        )
        .order_by(Group.name.is_(None), Group.name, Chat.title)
    ).all()

    def in_month(column):
        return and_(column >= start, column < end)

    kg = Chat.kindergarten_id == kindergarten_id
    messages = {
        chat_id: (n, authors)
        for chat_id, n, authors in db.session.execute(
            select(Message.chat_id, func.count(), func.count(distinct(Message.author_id)))
            .join(Chat, Chat.id == Message.chat_id)
            .where(kg, in_month(Message.created_at), Message.deleted_at.is_(None))
            .group_by(Message.chat_id)
        )
    }
    joined = _grouped(
        select(ChatMember.chat_id, func.count())
        .join(Chat, Chat.id == ChatMember.chat_id)
        .where(kg, in_month(ChatMember.joined_at))
        .group_by(ChatMember.chat_id)
    )
    acceptances = _grouped(
        select(RulesAcceptance.chat_id, func.count(distinct(RulesAcceptance.user_id)))
        .join(Chat, Chat.id == RulesAcceptance.chat_id)
        .where(kg, in_month(RulesAcceptance.accepted_at))
        .group_by(RulesAcceptance.chat_id)
    )
    moderation = defaultdict(dict)
    for chat_id, action, n in db.session.execute(
        select(ModerationEntry.chat_id, ModerationEntry.action, func.count())
        .where(
            ModerationEntry.kindergarten_id == kindergarten_id,
            in_month(ModerationEntry.created_at),
        )
        .group_by(ModerationEntry.chat_id, ModerationEntry.action)
    ):
        moderation[chat_id][action] = n
    reports = _grouped(
        select(Report.chat_id, func.count())
        .join(Chat, Chat.id == Report.chat_id)
        .where(kg, in_month(Report.created_at))
        .group_by(Report.chat_id)
    )
    rows = []
    for chat, group_name in chats:
        n, authors = messages.get(chat.id, (0, 0))
        rows.append(
            MonthChat(
                chat=chat,
                group_name=group_name or "",
                messages=n,
                authors=authors,
                joined=joined.get(chat.id, 0),
                acceptances=acceptances.get(chat.id, 0),
                moderation=moderation.get(chat.id, {}),
                reports=reports.get(chat.id, 0),
            )
        )
    return rows


@dataclass
class MonthReport:
    """«Отчёт об использовании»: what happened in the month, and where things stand now."""

    first: date
    last: date
    rows: list[MonthChat]
    totals: MonthChat
    authors: int
    groups: list[GroupRow]
    figures: Figures
    daily: Series
    per_group: list[Series]
    weekly: Series


def month_report(kindergarten_id: int, month: date) -> MonthReport:
    first, last = month_bounds(month)
    groups = group_rows(kindergarten_id)
    rows = month_chats(kindergarten_id, first, last)
    daily, per_group = daily_messages(kindergarten_id, first, last, [g.group for g in groups])
    return MonthReport(
        first=first,
        last=last,
        rows=rows,
        totals=month_totals(rows),
        authors=month_authors(kindergarten_id, first, last),
        groups=groups,
        figures=figures(chat_rows(kindergarten_id), groups),
        daily=daily,
        per_group=per_group,
        weekly=weekly_active(kindergarten_id, first, last, clip=True),
    )


def report_months(since: date, latest: date) -> list[date]:
    """The months a report can be made for, newest first: from the kindergarten's first month
    in the app (`since`) to the current one (`latest`), ten years at most."""
    month, months = latest.replace(day=1), []
    while month >= since.replace(day=1) and len(months) < 120:
        months.append(month)
        month = (month - timedelta(1)).replace(day=1)
    return months or [latest.replace(day=1)]


def recent_activity(kindergarten_id: int, today: date, groups: list[Group]):
    """The dashboard's charts: messages per day for CHART_DAYS days (in all and per group),
    and people who wrote per week for CHART_WEEKS weeks, up to `today`."""
    daily, per_group = daily_messages(
        kindergarten_id, today - timedelta(CHART_DAYS - 1), today, groups
    )
    weekly = weekly_active(kindergarten_id, today - timedelta(7 * (CHART_WEEKS - 1)), today)
    return daily, per_group, weekly


def month_totals(rows: list[MonthChat]) -> MonthChat:
    """The month's figures summed over the chats (authors are counted by `month_authors`)."""
    total = MonthChat(chat=None, group_name="")
    for row in rows:
        total.messages += row.messages
        total.joined += row.joined
        total.acceptances += row.acceptances
        total.reports += row.reports
        for action, n in row.moderation.items():
            total.moderation[action] = total.moderation.get(action, 0) + n
    return total


def month_authors(kindergarten_id: int, first: date, last: date) -> int:
    """People who wrote at least once during the month, across all chats."""
    start, end = _midnight(first), _midnight(last + timedelta(1))
    return db.session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.kindergarten_id == kindergarten_id, _wrote_between(start, end))
    )


# --- exports for a spreadsheet (UTF-8 with a BOM, «;», formula-safe) ----------------------------


def kind_label(chat: Chat) -> str:
    return {
        "group": _("Групповой чат"),
        "channel": _("Канал"),
        "direct": _("Личный чат"),
    }[chat.kind]


def chats_csv(rows: list[ChatRow]) -> str:
    """The all-chats table, in the order it is shown."""
    header = [
        _("Чат"),
        _("Вид"),
        _("Группа"),
        _("Модераторы"),
        _("Участники"),
        _("Детей в группе"),
        _("Дети с родителем в чате"),
        _("Должны принять правила"),
        _("Приняли действующие правила"),
        _("Сообщений за 7 дней"),
        _("Последняя активность"),
        _("Открытые жалобы"),
        _("Действующие блокировки"),
        _("Ждут одобрения"),
    ]
    body = [
        [
            row.chat.title,
            kind_label(row.chat),
            row.group_name,
            ", ".join(row.moderators),
            row.members,
            "" if row.children is None else row.children,
            "" if row.covered is None else row.covered,
            "" if row.accepted is None else row.asked,
            "" if row.accepted is None else row.accepted,
            row.messages,
            local_datetime(row.last_activity, "dd.MM.yyyy HH:mm"),
            row.open_reports,
            row.active_blocks,
            row.waiting,
        ]
        for row in rows
    ]
    return csv_text(header, body)


def acceptances_csv(rows: list[AcceptanceRow]) -> str:
    """Who accepted which version of each chat's rules (reg 004 §22)."""
    header = [
        _("Чат"),
        _("Группа"),
        _("Участник"),
        _("Роль"),
        _("Действующая редакция"),
        _("Принятая редакция"),
        _("Принял(а) действующие"),
        _("Когда принял(а)"),
    ]
    body = [
        [
            row.chat_title,
            row.group_name or "",
            row.name,
            _("Сотрудник") if row.staff else _("Родитель"),
            rules_label(row.current_rules) if row.current_rules else "",
            rules_label(row.accepted_rules) if row.accepted_rules else "",
            _("да") if row.current else (_("нет") if row.asked else _("не нужно: только читает")),
            local_datetime(row.accepted_at, "dd.MM.yyyy HH:mm"),
        ]
        for row in rows
    ]
    return csv_text(header, body)


def month_csv(rows: list[MonthChat]) -> str:
    """The month's figures per chat."""
    header = [
        _("Чат"),
        _("Вид"),
        _("Группа"),
        _("Сообщений"),
        _("Писали"),
        _("Вступили"),
        _("Приняли правила"),
        _("Удалено модератором"),
        _("Нарушений"),
        _("Блокировок"),
        _("Напоминаний правил"),
        _("Жалоб"),
    ]
    body = [
        [
            row.chat.title,
            kind_label(row.chat),
            row.group_name,
            row.messages,
            row.authors,
            row.joined,
            row.acceptances,
            row.moderation.get("delete", 0),
            row.moderation.get("violation", 0),
            row.moderation.get("block", 0),
            row.moderation.get("reminder", 0),
            row.reports,
        ]
        for row in rows
    ]
    return csv_text(header, body)
