"""What chat pages show, read in a fixed number of queries whatever the number of messages:
the chat list with previews and unread counts, a page of messages with their authors, quotes,
attachments, reactions, confirmations and polls, and what changed since a revision."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from flask_babel import gettext as _
from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import aliased, joinedload

from . import moderation_view, queries
from .extensions import db
from .models import (
    DB_INT_MAX,
    REACTIONS,
    Attachment,
    Chat,
    ChatMember,
    Confirmation,
    Group,
    Message,
    MessageEdit,
    Poll,
    PollOption,
    PollVote,
    Reaction,
    Report,
    User,
)
from .permissions import ChatAccess, is_admin, is_trusted_staff, sees_every_chat

PAGE_SIZE = 50


# --- the chat list -----------------------------------------------------------------------------


@dataclass
class ChatRow:
    chat: Chat
    member: ChatMember | None
    last: Message | None
    last_author: User | None
    unread: int
    partner: User | None = None  # the other person of a direct chat


def chat_list(user, *, archived: bool = False) -> list[ChatRow]:
    member = aliased(ChatMember)
    last = aliased(Message)
    author = aliased(User)
    unread = (
        select(func.count(Message.id))
        .where(
            Message.chat_id == Chat.id,
            Message.id > member.last_read_id,
            Message.author_id != user.id,
            Message.deleted_at.is_(None),
        )
        .correlate(Chat, member)
        .scalar_subquery()
    )
    where = [
        Chat.kindergarten_id == user.kindergarten_id,
        Chat.archived_at.is_not(None) if archived else Chat.archived_at.is_(None),
    ]
    if not sees_every_chat(user):
        where.append(member.user_id.is_not(None))
    query = (
        select(Chat, member, last, author, case((member.user_id.is_(None), 0), else_=unread))
        .outerjoin(member, and_(member.chat_id == Chat.id, member.user_id == user.id))
        .outerjoin(last, last.id == Chat.last_message_id)
        .outerjoin(author, author.id == last.author_id)
        # User.kindergarten is an eager INNER join: outer here, or chats without messages vanish
        .options(joinedload(author.kindergarten, innerjoin=False))
        .where(*where)
        .order_by(Chat.last_activity_at.desc(), Chat.id.desc())
    )
    rows = [ChatRow(*row) for row in db.session.execute(query)]
    _fill_partners(user, [row for row in rows if row.chat.kind == "direct"])
    return rows


def _fill_partners(user, rows: list) -> None:
    if not rows:
        return
    by_chat = {row.chat.id: row for row in rows}
    found = db.session.execute(
        select(ChatMember.chat_id, User)
        .join(User, User.id == ChatMember.user_id)
        .where(ChatMember.chat_id.in_(by_chat), ChatMember.user_id != user.id)
        .order_by(ChatMember.is_moderator)
    )
    for chat_id, other in found:
        by_chat[chat_id].partner = other


def direct_partner(access: ChatAccess) -> User | None:
    row = ChatRow(access.chat, access.member, None, None, 0)
    _fill_partners(access.user, [row])
    return row.partner


# --- new chats ------------------------------------------------------------------------------


@dataclass
class ChatTemplate:
    """A kind of chat someone may open, with the people who join it at once."""

    label: str
    kind: str
    title: str
    group: Group | None
    members: Callable[[], list[User]]


def _trusted(people: Callable[..., list[User]], *args) -> list[User]:
    """Only staff whose staff role counts go into a new chat as staff."""
    return [person for person in people(*args) if is_trusted_staff(person)]


def chat_templates(user) -> dict[str, ChatTemplate]:
    """The usual chats this person may open: for each of their groups (every open group for
    the administration) the parents' chat and an announcements channel, with the group's
    educators; for the administration also the chats with deputies, with educators and with
    the parents' committee (reg 003 §2.3, 004 §12–13)."""
    admin = is_admin(user)
    groups = (
        db.session.scalars(queries.open_groups(user.kindergarten_id)).all()
        if admin
        else [group for group, *_ in db.session.execute(queries.educator_groups(user))]
    )
    found = {}
    for group in groups:
        educators = partial(_trusted, queries.group_educators, group.id)
        title = _("Родители группы «%(name)s»", name=group.name)
        found[f"parents:{group.id}"] = ChatTemplate(title, "group", title, group, educators)
        channel = _("Объявления группы «%(name)s»", name=group.name)
        label = _("Канал: %(title)s", title=channel)
        found[f"channel:{group.id}"] = ChatTemplate(label, "channel", channel, group, educators)
    if admin:
        kindergarten_id = user.kindergarten_id
        deputies = partial(queries.staff_with_positions, kindergarten_id, {"zamestitel"})
        educators = partial(queries.staff_with_positions, kindergarten_id, None)
        for key, title, members in (
            ("deputies", _("Заведующий и заместители"), deputies),
            ("educators", _("Заведующий и педагоги"), educators),
            ("committee", _("Родительский комитет"), list),
        ):
            found[key] = ChatTemplate(title, "group", title, None, members)
    return found


# --- messages ---------------------------------------------------------------------------------


@dataclass
class PollView:
    poll: Poll
    options: list[tuple[PollOption, int, bool, list[str]]]  # option, votes, mine, who
    voters: int
    mine: set[int]

    def percent(self, votes: int) -> int:
        return round(100 * votes / self.voters) if self.voters else 0


@dataclass
class MessageView:
    message: Message
    reply: Message | None = None
    attachments: list[Attachment] = field(default_factory=list)
    reactions: list[tuple[str, int, bool]] = field(default_factory=list)
    confirmed: int = 0
    confirmed_by_me: bool = False
    poll: PollView | None = None
    apology: moderation_view.ApologyView | None = None  # the block an apology is for
    my_report: Report | None = None  # the reader's report of this message

    @property
    def photos(self):
        return [a for a in self.attachments if a.kind == "photo"]

    @property
    def files(self):
        return [a for a in self.attachments if a.kind == "file"]


def _messages() -> Select:
    return select(Message).options(joinedload(Message.author))


def latest_messages(chat_id: int, *, before: int | None = None, limit: int = PAGE_SIZE):
    """The newest `limit` messages (older than `before`), oldest first, and whether more
    remain."""
    query = _messages().where(Message.chat_id == chat_id)
    if before is not None:
        query = query.where(Message.id < before)
    found = list(db.session.scalars(query.order_by(Message.id.desc()).limit(limit + 1)))
    return list(reversed(found[:limit])), len(found) > limit


def first_unread(access: ChatAccess, messages: list[Message]) -> int | None:
    """The id of the first message the member has not read (others', not deleted): the
    «Новые сообщения» divider goes before it. None for the administration's look."""
    if access.member is None:
        return None
    last_read = access.member.last_read_id
    return next(
        (
            m.id
            for m in messages
            if m.id > last_read and m.author_id != access.user.id and not m.is_deleted
        ),
        None,
    )


def earlier_versions(message: Message) -> list[MessageEdit]:
    """An edited message's earlier texts, newest first."""
    return list(
        db.session.scalars(
            select(MessageEdit)
            .where(MessageEdit.message_id == message.id)
            .order_by(MessageEdit.id.desc())
        )
    )


def changed_since(chat_id: int, rev: int, *, limit: int = 200) -> list[Message]:
    """Messages posted or changed after revision `rev`, in revision order."""
    query = _messages().where(Message.chat_id == chat_id, Message.rev > rev)
    return list(db.session.scalars(query.order_by(Message.rev).limit(limit)))


def message_in_chat(chat_id: int, message_id: int) -> Message | None:
    """A message of this chat (to reply to), or None for another chat's or a missing one —
    and for a number no id can be (a reply_to typed by hand: the database would refuse it)."""
    if not 0 < message_id <= DB_INT_MAX:
        return None
    return db.session.scalar(
        select(Message).where(Message.id == message_id, Message.chat_id == chat_id)
    )


def pinned_messages(chat_id: int) -> list[Message]:
    query = _messages().where(Message.chat_id == chat_id, Message.pinned_at.is_not(None))
    return list(db.session.scalars(query.order_by(Message.pinned_at.desc()).limit(20)))


def message_views(user, messages: list[Message]) -> list[MessageView]:
    """Everything a list of messages shows, in eleven queries at most."""
    views = [MessageView(message) for message in messages]
    if not views:
        return views
    by_id = {view.message.id: view for view in views}
    ids = list(by_id)

    reply_ids = {m.reply_to_id for m in messages if m.reply_to_id}
    if reply_ids:
        replies = {
            m.id: m for m in db.session.scalars(_messages().where(Message.id.in_(reply_ids)))
        }
        for view in views:
            view.reply = replies.get(view.message.reply_to_id)

    for attachment in db.session.scalars(
        select(Attachment).where(Attachment.message_id.in_(ids)).order_by(Attachment.position)
    ):
        by_id[attachment.message_id].attachments.append(attachment)

    counts = db.session.execute(
        select(
            Reaction.message_id,
            Reaction.emoji,
            func.count(),
            func.max(case((Reaction.user_id == user.id, 1), else_=0)),
        )
        .where(Reaction.message_id.in_(ids))
        .group_by(Reaction.message_id, Reaction.emoji)
    )
    reactions = defaultdict(dict)
    for message_id, emoji, number, mine in counts:
        reactions[message_id][emoji] = (emoji, number, bool(mine))
    for message_id, found in reactions.items():
        by_id[message_id].reactions = [found[e] for e in REACTIONS if e in found]

    important = [view.message.id for view in views if view.message.important]
    if important:
        confirmed = db.session.execute(
            select(
                Confirmation.message_id,
                func.count(),
                func.max(case((Confirmation.user_id == user.id, 1), else_=0)),
            )
            .where(Confirmation.message_id.in_(important))
            .group_by(Confirmation.message_id)
        )
        for message_id, number, mine in confirmed:
            by_id[message_id].confirmed = number
            by_id[message_id].confirmed_by_me = bool(mine)

    _load_polls(user, by_id)
    apology_ids = [view.message.id for view in views if view.message.kind == "apology"]
    if apology_ids:
        for message_id, apology in moderation_view.apologies(user.id, apology_ids).items():
            by_id[message_id].apology = apology
    for message_id, report in moderation_view.my_reports(user.id, ids).items():
        by_id[message_id].my_report = report
    return views


def _load_polls(user, by_id: dict[int, MessageView]) -> None:
    polls = {p.id: p for p in db.session.scalars(select(Poll).where(Poll.message_id.in_(by_id)))}
    if not polls:
        return
    options = defaultdict(list)
    for option in db.session.scalars(
        select(PollOption).where(PollOption.poll_id.in_(polls)).order_by(PollOption.position)
    ):
        options[option.poll_id].append(option)
    votes = defaultdict(list)  # option id -> names
    voters = defaultdict(set)
    mine = defaultdict(set)
    for vote, voter in db.session.execute(
        select(PollVote, User)
        .join(User, User.id == PollVote.user_id)
        .where(PollVote.poll_id.in_(polls))
        .order_by(User.name)
    ):
        votes[vote.option_id].append(voter.name)
        voters[vote.poll_id].add(vote.user_id)
        if vote.user_id == user.id:
            mine[vote.poll_id].add(vote.option_id)
    for poll in polls.values():
        rows = [
            (
                option,
                len(votes[option.id]),
                option.id in mine[poll.id],
                [] if poll.anonymous else votes[option.id],
            )
            for option in options[poll.id]
        ]
        by_id[poll.message_id].poll = PollView(poll, rows, len(voters[poll.id]), mine[poll.id])


def member_count(chat_id: int) -> int:
    return db.session.scalar(select(func.count()).where(ChatMember.chat_id == chat_id))


def chat_members(chat_id: int) -> list[tuple[ChatMember, User]]:
    return db.session.execute(
        select(ChatMember, User)
        .join(User, User.id == ChatMember.user_id)
        .where(ChatMember.chat_id == chat_id)
        .order_by(ChatMember.is_moderator.desc(), User.name)
    ).all()


def confirmations(message: Message) -> tuple[list[tuple[User, object]], list[User]]:
    """Who confirmed an important message (with when), and which members have not."""
    done = db.session.execute(
        select(User, Confirmation.created_at)
        .join(Confirmation, Confirmation.user_id == User.id)
        .where(Confirmation.message_id == message.id)
        .order_by(User.name)
    ).all()
    waiting = db.session.scalars(
        select(User)
        .join(ChatMember, ChatMember.user_id == User.id)
        .where(
            ChatMember.chat_id == message.chat_id,
            User.id != message.author_id,
            ~select(Confirmation.user_id)
            .where(Confirmation.message_id == message.id, Confirmation.user_id == User.id)
            .exists(),
        )
        .order_by(User.name)
    ).all()
    return done, waiting
