"""What moderation pages show, read in a fixed number of queries: the clauses to choose from,
members' violation counts and blocks, a member's card, the reports queue, the moderation log
with its filters and its CSV."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased, joinedload

from .exports import csv_text
from .extensions import db
from .i18n import from_local, local_datetime
from .models import (
    Attachment,
    Block,
    Chat,
    ChatMember,
    ChatRemoval,
    Child,
    GroupEducator,
    Message,
    ModerationEntry,
    Objection,
    ParentChild,
    Report,
    Rules,
    User,
    Violation,
)
from .permissions import TRUSTED_STAFF, is_trusted_staff
from .regulation import ACTION_LABELS, clause_ground, clauses

# --- clauses -------------------------------------------------------------------------------------


def clause_choices(chat: Chat) -> list[tuple[int, str]]:
    """The numbered clauses of the chat's current rules, as a moderator picks one."""
    rules = db.session.get(Rules, chat.rules_id) if chat.rules_id else None
    if rules is None:
        return []
    return [(n, clause_ground(n, text, 80)) for n, text in sorted(clauses(rules.text).items())]


# --- members -------------------------------------------------------------------------------------


def violation_counts(chat_id: int) -> dict[int, int]:
    """user id -> violations recorded in the chat."""
    return dict(
        db.session.execute(
            select(Violation.user_id, func.count(Violation.id))
            .where(Violation.chat_id == chat_id)
            .group_by(Violation.user_id)
        ).all()
    )


def active_blocks(chat_id: int) -> dict[int, Block]:
    """user id -> the block they are under now."""
    found = db.session.scalars(select(Block).where(Block.chat_id == chat_id, Block.in_force()))
    return {block.user_id: block for block in found}


@dataclass
class MemberCard:
    violations: list[Violation]
    blocks: list[Block]
    objectors: dict[int, list[User]] = field(default_factory=dict)  # block id -> who objected

    @property
    def count(self) -> int:
        return len(self.violations)

    @property
    def toward_block(self) -> int:
        """Violations since the last block began: a new block rests on these alone."""
        if not self.blocks:
            return self.count
        last = max(block.starts_at for block in self.blocks)
        return sum(1 for v in self.violations if v.created_at > last)

    def active(self, now=None) -> Block | None:
        return next((b for b in self.blocks if b.is_active(now)), None)


def member_card(chat_id: int, user_id: int) -> MemberCard:
    violations = db.session.scalars(
        select(Violation)
        .options(joinedload(Violation.created_by), joinedload(Violation.message))
        .where(Violation.chat_id == chat_id, Violation.user_id == user_id)
        .order_by(Violation.id.desc())
    ).all()
    blocks = db.session.scalars(
        select(Block)
        .options(joinedload(Block.created_by))
        .where(Block.chat_id == chat_id, Block.user_id == user_id)
        .order_by(Block.id.desc())
    ).all()
    card = MemberCard(list(violations), list(blocks))
    if blocks:
        for objection in db.session.scalars(
            select(Objection)
            .options(joinedload(Objection.user))
            .where(Objection.block_id.in_([b.id for b in blocks]))
            .order_by(Objection.created_at)
        ):
            card.objectors.setdefault(objection.block_id, []).append(objection.user)
    return card


# --- counts and ties the regulation asks about


def violation_count(chat_id: int, user_id: int, *, since_last_block: bool = False) -> int:
    """A member's violations in a chat; with `since_last_block`, those a block may rest on —
    recorded after the last block began: a block uses up the violations it was given for."""
    query = select(func.count(Violation.id)).where(
        Violation.chat_id == chat_id, Violation.user_id == user_id
    )
    if since_last_block:
        last = (
            select(func.max(Block.starts_at))
            .where(Block.chat_id == chat_id, Block.user_id == user_id)
            .scalar_subquery()
        )
        query = query.where((last.is_(None)) | (Violation.created_at > last))
    return db.session.scalar(query)


def objection_count(block_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Objection).where(Objection.block_id == block_id)
    )


def still_belongs(user: User, chat: Chat) -> bool:
    """Whether the person still has their reason to be in the chat: a parent a child attending
    its group (any group, for a chat of the whole kindergarten), trusted staff their work."""
    if is_trusted_staff(user):
        if chat.group_id is None:
            return True
        return db.session.get(GroupEducator, (chat.group_id, user.id)) is not None or has_child_in(
            user, chat.group_id
        )
    return has_child_in(user, chat.group_id)


def has_child_in(user: User, group_id: int | None, *, besides: int | None = None) -> bool:
    query = (
        select(Child.id)
        .join(ParentChild, ParentChild.child_id == Child.id)
        .where(ParentChild.user_id == user.id, Child.left_at.is_(None))
    )
    if group_id is not None:
        query = query.where(Child.group_id == group_id)
    if besides is not None:
        query = query.where(Child.id != besides)
    return db.session.scalar(query.limit(1)) is not None


# --- apologies and reports, for a page of messages -----------------------------------------------


@dataclass
class ApologyView:
    block: Block
    objections: int
    objected: bool


def apologies(user_id: int, message_ids: list[int]) -> dict[int, ApologyView]:
    """message id -> the block the apology is for, with its objections."""
    blocks = db.session.scalars(
        select(Block)
        .options(joinedload(Block.user))
        .where(Block.apology_message_id.in_(message_ids))
    ).all()
    if not blocks:
        return {}
    counts = defaultdict(int)
    mine = set()
    for block_id, objector_id in db.session.execute(
        select(Objection.block_id, Objection.user_id).where(
            Objection.block_id.in_([b.id for b in blocks])
        )
    ):
        counts[block_id] += 1
        if objector_id == user_id:
            mine.add(block_id)
    return {b.apology_message_id: ApologyView(b, counts[b.id], b.id in mine) for b in blocks}


def my_reports(user_id: int, message_ids: list[int]) -> dict[int, Report]:
    """message id -> the report this person made of it."""
    return {
        r.message_id: r
        for r in db.session.scalars(
            select(Report).where(Report.reporter_id == user_id, Report.message_id.in_(message_ids))
        )
    }


def open_report_count(chat_id: int) -> int:
    return db.session.scalar(
        select(func.count(Report.id)).where(Report.chat_id == chat_id, Report.resolved_at.is_(None))
    )


def reports(chat_id: int, *, open_: bool, limit: int = 50) -> list[Report]:
    query = (
        select(Report)
        .options(
            joinedload(Report.reporter),
            joinedload(Report.message).joinedload(Message.author),
        )
        .where(
            Report.chat_id == chat_id,
            Report.resolved_at.is_(None) if open_ else Report.resolved_at.is_not(None),
        )
        .order_by(Report.id if open_ else Report.resolved_at.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


# --- the log -------------------------------------------------------------------------------------


@dataclass
class LogFilter:
    chat_id: int | None = None
    actor_id: int | None = None
    member_id: int | None = None
    action: str | None = None
    since: date | None = None
    until: date | None = None
    before: int | None = None  # paging: entries older than this id


LOG_PAGE = 100


def log_query(kindergarten_id: int, wanted: LogFilter) -> Select:
    query = (
        select(ModerationEntry)
        .options(
            joinedload(ModerationEntry.actor),
            joinedload(ModerationEntry.member),
            joinedload(ModerationEntry.chat),
            joinedload(ModerationEntry.message).joinedload(Message.author),
        )
        .where(ModerationEntry.kindergarten_id == kindergarten_id)
        .order_by(ModerationEntry.id.desc())
    )
    if wanted.chat_id:
        query = query.where(ModerationEntry.chat_id == wanted.chat_id)
    if wanted.actor_id:
        query = query.where(ModerationEntry.actor_id == wanted.actor_id)
    if wanted.member_id:
        query = query.where(ModerationEntry.member_id == wanted.member_id)
    if wanted.action:
        query = query.where(ModerationEntry.action == wanted.action)
    if wanted.since:
        query = query.where(ModerationEntry.created_at >= _day_start(wanted.since))
    if wanted.until:
        query = query.where(ModerationEntry.created_at < _day_start(wanted.until + timedelta(1)))
    if wanted.before:
        query = query.where(ModerationEntry.id < wanted.before)
    return query


def _day_start(day: date) -> datetime:
    """Midnight of `day` in the kindergarten's zone, in UTC."""
    return from_local(datetime(day.year, day.month, day.day))


def log_page(kindergarten_id: int, wanted: LogFilter) -> tuple[list[ModerationEntry], bool]:
    found = list(db.session.scalars(log_query(kindergarten_id, wanted).limit(LOG_PAGE + 1)))
    return found[:LOG_PAGE], len(found) > LOG_PAGE


def handover_successors(entries: list[ModerationEntry]) -> dict[int, User]:
    """person id -> the colleague a chat was handed to, for the hand-overs in the log: named
    as they are now (a deleted account shows the placeholder, not the name it had)."""
    ids = {e.details.get("successor") for e in entries if e.action == "handover" and e.details}
    ids.discard(None)
    if not ids:
        return {}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}


def deleted_attachments(entries: list[ModerationEntry]) -> dict[int, list[Attachment]]:
    """message id -> its files, for the deletions in the log (read there by moderators)."""
    ids = [e.message_id for e in entries if e.action == "delete" and e.message_id]
    found = defaultdict(list)
    if ids:
        for attachment in db.session.scalars(
            select(Attachment).where(Attachment.message_id.in_(ids)).order_by(Attachment.position)
        ):
            found[attachment.message_id].append(attachment)
    return found


def log_people(kindergarten_id: int, chat_id: int | None = None):
    """Who appears in the log as moderator and as member: the filters' choices."""
    where = [ModerationEntry.kindergarten_id == kindergarten_id]
    if chat_id:
        where.append(ModerationEntry.chat_id == chat_id)

    def named(column):
        person = aliased(User)
        return db.session.execute(
            select(person.id, person.name)
            .join(ModerationEntry, column == person.id)
            .where(*where)
            .distinct()
            .order_by(person.name)
        ).all()

    return named(ModerationEntry.actor_id), named(ModerationEntry.member_id)


def kindergarten_chats(kindergarten_id: int) -> list[tuple[int, str]]:
    return db.session.execute(
        select(Chat.id, Chat.title)
        .where(Chat.kindergarten_id == kindergarten_id, Chat.kind != "direct")
        .order_by(Chat.title)
    ).all()


def log_csv(entries) -> str:
    """The log for a spreadsheet; a deletion's row carries the deleted text."""
    header = [
        _("Дата и время"),
        _("Чат"),
        _("Кто"),
        _("Действие"),
        _("Участник"),
        _("Основание"),
        _("Комментарий"),
        _("Текст сообщения"),
    ]
    rows = (
        (
            local_datetime(entry.created_at, "dd.MM.yyyy HH:mm"),
            entry.chat.title,
            entry.actor.name if entry.actor else "",
            ACTION_LABELS.get(entry.action, entry.action),
            entry.member.name if entry.member else "",
            entry.ground,
            entry.note,
            entry.message.text if entry.message is not None and entry.action == "delete" else "",
        )
        for entry in entries
    )
    return csv_text(header, rows)


def unseen_removals(user) -> list[ChatRemoval]:
    """The chats a person was taken out of since they last pressed «Понятно», and why."""
    return list(
        db.session.scalars(
            select(ChatRemoval)
            .options(joinedload(ChatRemoval.chat), joinedload(ChatRemoval.removed_by))
            .where(ChatRemoval.user_id == user.id, ChatRemoval.seen_at.is_(None))
            .order_by(ChatRemoval.created_at.desc())
            .limit(20)
        )
    )


def moderated_chats(member: User) -> list[Chat]:
    """The chats (not direct ones) a person moderates: they need a successor on dismissal."""
    return list(
        db.session.scalars(
            select(Chat)
            .join(ChatMember, ChatMember.chat_id == Chat.id)
            .where(ChatMember.user_id == member.id, ChatMember.is_moderator, Chat.kind != "direct")
            .order_by(Chat.title)
        )
    )


def successors(member: User) -> list[User]:
    """Who may take over a dismissed moderator's chats: verified staff, the director too."""
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.kindergarten_id == member.kindergarten_id,
                User.id != member.id,
                User.dismissed_at.is_(None),
                TRUSTED_STAFF,
            )
            .order_by(User.is_director.desc(), User.name)
        )
    )
