"""Moderation by the kindergarten's regulation (reg 004 §20–27).

Every action names its ground — a clause of the chat's current rules, or a departure — and
writes its line of the moderation log in its own transaction. The checks the regulation makes
(more than three violations before a block, at most a month, an apology and no objection before
an early unblock) are made here again under the write lock, whatever the view showed.
"""

from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from ..database import begin_write
from ..extensions import db
from ..i18n import local_datetime
from ..live import chat_topic, kindergarten_topic, publish_after_commit
from ..models import (
    BLOCK_AFTER,
    REPORT_RESOLUTIONS,
    Block,
    Chat,
    ChatMember,
    ChatRemoval,
    Kindergarten,
    Message,
    ModerationEntry,
    Objection,
    Report,
    Rules,
    User,
    Violation,
    utcnow,
)
from ..moderation_view import objection_count, still_belongs, violation_count
from ..permissions import ChatAccess, active_block, is_verified
from ..regulation import BLOCK_DURATIONS, block_end, clause_ground, clauses, early_unblock_refusal
from . import ActionError
from .audit import record
from .messages import bump

# --- shared pieces (they add to the session and never commit) ------------------------------------


def log(
    actor: User | None,
    chat: Chat,
    action: str,
    *,
    member: User | None = None,
    message: Message | None = None,
    rules: Rules | None = None,
    clause: int | None = None,
    ground: str = "",
    note: str = "",
    **details,
) -> ModerationEntry:
    """A line of the moderation log (no message text: that stays on the message)."""
    entry = ModerationEntry(
        kindergarten_id=chat.kindergarten_id,
        chat_id=chat.id,
        actor_id=actor.id if actor is not None else None,
        action=action,
        member_id=member.id if member is not None else None,
        message_id=message.id if message is not None else None,
        rules_id=rules.id if rules is not None else None,
        clause=clause,
        ground=ground,
        note=note,
        details=details,
    )
    db.session.add(entry)
    return entry


def chat_clause(chat: Chat, number: int | None) -> tuple[Rules, str]:
    """The chat's current rules and the words of clause `number`, or an error naming the
    field: every block and deletion names a clause that exists (§26)."""
    rules = db.session.get(Rules, chat.rules_id) if chat.rules_id else None
    if rules is None:
        raise ActionError(_("У этого чата нет правил: модерировать его нельзя."))
    found = clauses(rules.text)
    if number is None or number not in found:
        raise ActionError(_("Выберите пункт правил, который нарушен."), field="clause")
    return rules, clause_ground(number, found[number])


def _begin(access: ChatAccess) -> Chat:
    """The action's transaction, holding the chat's moderation lock (PostgreSQL; SQLite's write
    lock already serialises), and the chat as it is now: two moderators, or a double tap,
    never both pass a check the other is about to make false."""
    begin_write(f"chat-moderation-{access.chat.id}")
    chat = db.session.get(Chat, access.chat.id)
    db.session.refresh(chat)
    return chat


def _member_of(chat: Chat, user: User) -> ChatMember:
    member = db.session.get(ChatMember, (chat.id, user.id))
    if member is None:
        raise ActionError(_("%(name)s больше не участник этого чата.", name=user.name))
    return member


def _already_recorded(message: Message | None, target: User) -> bool:
    return message is not None and (
        db.session.scalar(
            select(Violation.id).where(
                Violation.message_id == message.id, Violation.user_id == target.id
            )
        )
        is not None
    )


def _changed(chat: Chat) -> None:
    """Open pages of the chat look again (a member's composer turns into a banner or back)."""
    publish_after_commit(chat_topic(chat.id), {"chat": chat.id, "moderation": True})


def _delete(actor: User, chat: Chat, message: Message, clause: int, note: str) -> None:
    rules, ground = chat_clause(chat, clause)
    message.deleted_at = utcnow()
    message.deleted_by_id = actor.id
    message.deleted_clause = clause
    message.pinned_at = None
    bump(chat.id, message)
    log(
        actor,
        chat,
        "delete",
        member=message.author,
        message=message,
        rules=rules,
        clause=clause,
        ground=ground,
        note=note,
    )
    # every open report of the message is dealt with by its deletion
    db.session.execute(
        update(Report)
        .where(Report.message_id == message.id, Report.resolved_at.is_(None))
        .values(resolved_at=utcnow(), resolved_by_id=actor.id, resolution="deleted")
    )
    publish_after_commit(kindergarten_topic(chat.kindergarten_id), {"chat": chat.id})


def _violation(
    actor: User, chat: Chat, target: User, clause: int, message: Message | None, note: str
) -> Violation:
    rules, ground = chat_clause(chat, clause)
    if _already_recorded(message, target):
        raise ActionError(_("За это сообщение нарушение уже записано."))
    violation = Violation(
        chat_id=chat.id,
        user_id=target.id,
        rules_id=rules.id,
        clause=clause,
        message_id=message.id if message is not None else None,
        note=note,
        created_by_id=actor.id,
    )
    db.session.add(violation)
    db.session.flush()
    log(
        actor,
        chat,
        "violation",
        member=target,
        message=message,
        rules=rules,
        clause=clause,
        ground=ground,
        note=note,
        count=violation_count(chat.id, target.id),
    )
    return violation


def _current_message(message: Message) -> Message:
    db.session.refresh(message)
    if message.is_deleted:
        raise ActionError(_("Сообщение уже удалено."))
    return message


# --- deletion, violations, reminders (§21, §23, §24) ---------------------------------------------


def do_delete_by_moderator(
    actor: User,
    access: ChatAccess,
    message: Message,
    *,
    clause: int,
    note: str = "",
    record_violation: bool = False,
) -> None:
    """Members see «Сообщение удалено модератором: п. N правил»; the author is told which
    clause; the content stays for the moderation log. With `record_violation`, the author gets
    a violation under the same clause in the same step."""
    chat = _begin(access)
    message = _current_message(message)
    if (
        record_violation
        and message.author is not None
        and not _already_recorded(message, message.author)
    ):
        _member_of(chat, message.author)
        _violation(actor, chat, message.author, clause, message, note)
    _delete(actor, chat, message, clause, note)
    db.session.commit()


def do_record_violation(
    actor: User,
    access: ChatAccess,
    target: User,
    *,
    clause: int,
    message: Message | None = None,
    note: str = "",
) -> int:
    """A violation of a clause by a member, usually in a message; returns their count now."""
    chat = _begin(access)
    _member_of(chat, target)
    if message is not None:
        db.session.refresh(message)
        if message.chat_id != chat.id or message.author_id != target.id:
            raise ActionError(_("Это сообщение не этого участника или не из этого чата."))
    _violation(actor, chat, target, clause, message, note)
    count = violation_count(chat.id, target.id)
    _changed(chat)
    db.session.commit()
    return count


def do_remind_rules(actor: User, access: ChatAccess, *, to: User | None = None) -> Message:
    """«Напомнить правила» (§23): a notice with the rules in the chat, maybe addressed to a
    member. It is not a violation."""
    chat = _begin(access)
    if chat.is_archived:
        raise ActionError(_("Чат в архиве: писать в него нельзя."))
    if chat.rules_id is None:
        raise ActionError(_("У этого чата нет правил: модерировать его нельзя."))
    if to is not None:
        _member_of(chat, to)
    message = Message(
        chat_id=chat.id,
        author_id=actor.id,
        kind="reminder",
        subject_id=to.id if to is not None else None,
    )
    db.session.add(message)
    db.session.flush()
    message.created_rev = bump(chat.id, message, activity=True)
    chat.last_message_id = message.id
    log(
        actor,
        chat,
        "reminder",
        member=to,
        message=message,
        rules=db.session.get(Rules, chat.rules_id),
    )
    publish_after_commit(kindergarten_topic(chat.kindergarten_id), {"chat": chat.id})
    db.session.commit()
    return message


# --- blocks, apologies, objections (§24, §25) -----------------------------------------------------


def do_block(
    actor: User,
    access: ChatAccess,
    target: User,
    *,
    duration: str,
    clause: int,
    note: str = "",
) -> Block:
    """Block a member who broke the rules more than three times in this chat, for at most a
    month (§24). They still read the chat."""
    if duration not in BLOCK_DURATIONS:
        raise ActionError(_("Выберите срок из списка: не больше одного месяца."), field="duration")
    chat = _begin(access)
    if chat.is_archived:
        raise ActionError(_("Чат в архиве: в нём никого не блокируют."))
    _member_of(chat, target)
    current = active_block(chat.id, target.id)
    if current is not None:
        raise ActionError(
            _(
                "%(name)s уже заблокирован(а) до %(until)s.",
                name=target.name,
                until=local_datetime(current.ends_at),
            )
        )
    count = violation_count(chat.id, target.id, since_last_block=True)
    if count <= BLOCK_AFTER:
        raise ActionError(
            _(
                "Заблокировать можно только участника, который нарушил правила чата более "
                "трёх раз (п. 24 положения); нарушения до прошлой блокировки не считаются. "
                "У %(name)s таких нарушений: %(count)d.",
                name=target.name,
                count=count,
            )
        )
    rules, ground = chat_clause(chat, clause)
    kindergarten = db.session.get(Kindergarten, chat.kindergarten_id)
    now = utcnow()
    block = Block(
        chat_id=chat.id,
        user_id=target.id,
        rules_id=rules.id,
        clause=clause,
        note=note,
        starts_at=now,
        ends_at=block_end(now, duration, kindergarten.timezone),
        created_by_id=actor.id,
    )
    db.session.add(block)
    db.session.flush()
    log(
        actor,
        chat,
        "block",
        member=target,
        rules=rules,
        clause=clause,
        ground=ground,
        note=note,
        block=block.id,
        duration=duration,
        until=block.ends_at.isoformat(),
        violations=count,
    )
    _changed(chat)
    db.session.commit()
    return block


def do_apologize(user: User, access: ChatAccess, text: str) -> Message:
    """The blocked member apologises to the chat, once per block; members then have the
    kindergarten's window (24 hours by default) to object to an early unblock (§25)."""
    chat = _begin(access)
    block = active_block(chat.id, user.id)
    if block is None:
        raise ActionError(_("Вы не заблокированы в этом чате: извиняться не за что."))
    if block.apology_at is not None:
        raise ActionError(_("Вы уже принесли извинения. Дождитесь решения модератора."))
    if chat.is_archived:
        raise ActionError(_("Чат в архиве: писать в него нельзя."))
    message = Message(chat_id=chat.id, author_id=user.id, kind="apology", text=text)
    db.session.add(message)
    db.session.flush()
    message.created_rev = bump(chat.id, message, activity=True)
    chat.last_message_id = message.id
    kindergarten = db.session.get(Kindergarten, chat.kindergarten_id)
    now = utcnow()
    block.apology_message_id = message.id
    block.apology_at = now
    block.objections_until = now + timedelta(hours=kindergarten.apology_hours)
    log(user, chat, "apology", member=user, message=message, block=block.id)
    publish_after_commit(kindergarten_topic(chat.kindergarten_id), {"chat": chat.id})
    _changed(chat)
    db.session.commit()
    return message


def do_object(user: User, access: ChatAccess, block: Block) -> None:
    """«Против досрочной разблокировки»: once per member, while the window is open."""
    chat = _begin(access)
    db.session.refresh(block)
    now = utcnow()
    if block.chat_id != chat.id or db.session.get(ChatMember, (chat.id, user.id)) is None:
        raise ActionError(_("Возражать могут только участники этого чата."))
    if block.user_id == user.id:
        raise ActionError(_("Возражать против своей разблокировки нельзя."))
    if not block.is_active(now):
        raise ActionError(_("Блокировка уже закончилась."))
    if block.apology_at is None:
        raise ActionError(_("Возразить можно, когда участник принесёт извинения."))
    if not block.window_open(now):
        raise ActionError(_("Срок для возражений прошёл."))
    if db.session.get(Objection, (block.id, user.id)) is not None:
        raise ActionError(_("Вы уже возразили."))
    db.session.add(Objection(block_id=block.id, user_id=user.id))
    if block.apology_message_id:
        bump(chat.id, db.session.get(Message, block.apology_message_id))
    log(user, chat, "objection", member=block.user, block=block.id)
    db.session.commit()


def do_lift_block_early(actor: User, access: ChatAccess, block: Block) -> None:
    """Lift a block before its end: only after an apology nobody objected to within the
    window (§25)."""
    chat = _begin(access)
    db.session.refresh(block)
    refusal = early_unblock_refusal(block, objection_count(block.id))
    if refusal:
        raise ActionError(refusal)
    block.lifted_at = utcnow()
    block.lifted_by_id = actor.id
    if block.apology_message_id:
        bump(chat.id, db.session.get(Message, block.apology_message_id))
    log(actor, chat, "unblock", member=block.user, block=block.id)
    _changed(chat)
    db.session.commit()


# --- reports ------------------------------------------------------------------------------------


def do_report(user: User, access: ChatAccess, message: Message, reason: str) -> Report:
    """A member draws the moderators' attention to someone else's message."""
    chat = _begin(access)
    message = _current_message(message)
    if message.chat_id != chat.id:
        raise ActionError(_("Это сообщение из другого чата."))
    if message.author_id == user.id:
        raise ActionError(_("На своё сообщение жаловаться нельзя — его можно удалить."))
    if db.session.get(ChatMember, (chat.id, user.id)) is None:
        raise ActionError(_("Жаловаться могут только участники чата."))
    existing = db.session.scalar(
        select(Report).where(Report.message_id == message.id, Report.reporter_id == user.id)
    )
    if existing is not None:
        raise ActionError(_("Вы уже пожаловались на это сообщение. Модератор рассмотрит жалобу."))
    report = Report(chat_id=chat.id, message_id=message.id, reporter_id=user.id, reason=reason)
    db.session.add(report)
    db.session.flush()
    log(user, chat, "report", member=message.author, message=message, note=reason, report=report.id)
    _changed(chat)
    db.session.commit()
    return report


def do_resolve_report(
    actor: User,
    access: ChatAccess,
    report: Report,
    *,
    resolution: str,
    clause: int | None = None,
    note: str = "",
) -> None:
    """Deal with a report: delete the message, record a violation, or take no action; the
    reporter sees «Рассмотрено»."""
    if resolution not in REPORT_RESOLUTIONS:
        raise ActionError(_("Выберите, что сделать с жалобой."), field="resolution")
    chat = _begin(access)
    db.session.refresh(report)
    if report.resolved_at is not None:
        raise ActionError(_("Эту жалобу уже рассмотрели."))
    message = db.session.get(Message, report.message_id)
    db.session.refresh(message)
    rules = ground = None
    if resolution in ("deleted", "violation"):
        rules, ground = chat_clause(chat, clause)
        if message.author is None:
            raise ActionError(_("Автора сообщения больше нет."))
    if resolution == "violation" and not _already_recorded(message, message.author):
        _member_of(chat, message.author)
        _violation(actor, chat, message.author, clause, message, note)
    report.resolved_at = utcnow()
    report.resolved_by_id = actor.id
    report.resolution = resolution
    if resolution == "deleted" and not message.is_deleted:
        _delete(actor, chat, message, clause, note)
    log(
        actor,
        chat,
        "report_resolved",
        member=message.author,
        message=message,
        rules=rules,
        clause=clause if rules else None,
        ground=ground or "",
        note=note,
        report=report.id,
        resolution=resolution,
    )
    _changed(chat)
    db.session.commit()


# --- membership: co-moderators, departures (§27) -------------------------------------------------


def do_set_moderator(actor: User, access: ChatAccess, target: User, value: bool) -> None:
    """Name a staff member of the chat its co-moderator, or withdraw them (never the last)."""
    chat = _begin(access)
    member = _member_of(chat, target)
    if value and not is_verified(target):
        raise ActionError(
            _("Модератором может быть только сотрудник, подтверждённый администрацией.")
        )
    if member.is_moderator == value:
        db.session.commit()
        return
    if not value:
        others = db.session.scalar(
            select(func.count()).where(
                ChatMember.chat_id == chat.id,
                ChatMember.is_moderator,
                ChatMember.user_id != target.id,
            )
        )
        if not others:
            raise ActionError(_("В чате должен остаться хотя бы один модератор."))
    member.is_moderator = value
    log(actor, chat, "moderator", member=target, named=value)
    db.session.commit()


def remove_from_chat(
    actor: User | None, chat: Chat, user: User, *, ground: str, reason: str, **details
) -> None:
    """Take a person out of a chat on a ground (a departure or a dismissal), keep them out of
    it by old links, log it; they are told on their next visit (adds, never commits)."""
    member = db.session.get(ChatMember, (chat.id, user.id))
    if member is None:
        return
    db.session.delete(member)
    removal = db.session.get(ChatRemoval, (chat.id, user.id))
    if removal is None:
        removal = ChatRemoval(chat_id=chat.id, user_id=user.id)
        db.session.add(removal)
    removal.ground = ground
    removal.reason = reason[:300]
    removal.removed_by_id = actor.id if actor is not None else None
    removal.created_at = utcnow()
    removal.seen_at = None
    log(actor, chat, "removal", member=user, ground=reason[:400], departure=ground, **details)
    publish_after_commit(kindergarten_topic(chat.kindergarten_id), {"chat": chat.id})
    _changed(chat)


def do_remove_member(actor: User, access: ChatAccess, target: User) -> None:
    """Take a member out on a departure: only when they no longer belong to the chat — a
    parent whose children left its group, staff no longer working with it (§26, §27)."""
    chat = _begin(access)
    _member_of(chat, target)
    if still_belongs(target, chat):
        raise ActionError(
            _(
                "%(name)s по-прежнему относится к этому чату (ребёнок в группе или работа с "
                "ней). Исключать участников по причинам, не связанным с правилами, нельзя "
                "(п. 26 положения); за нарушения правил — блокировка до месяца.",
                name=target.name,
            )
        )
    remove_from_chat(
        actor,
        chat,
        target,
        ground="departure",
        reason=_("Выбытие: больше не относится к группе чата"),
    )
    db.session.commit()


def do_mark_removals_seen(user: User) -> None:
    """«Понятно»: the person has read why they were taken out of chats."""
    begin_write()
    db.session.execute(
        update(ChatRemoval)
        .where(ChatRemoval.user_id == user.id, ChatRemoval.seen_at.is_(None))
        .values(seen_at=utcnow())
    )
    db.session.commit()


def do_set_apology_hours(actor: User, hours: int) -> None:
    """The kindergarten's window for objections to an early unblock; it applies to apologies
    made from now on."""
    begin_write()
    kindergarten = db.session.get(Kindergarten, actor.kindergarten_id)
    if kindergarten.apology_hours != hours:
        record(
            actor,
            "kindergarten.apology_hours",
            kindergarten,
            old=kindergarten.apology_hours,
            new=hours,
        )
        kindergarten.apology_hours = hours
    db.session.commit()
