"""Messages: post (text, reply, photos, files, a poll), edit, delete, react, pin, confirm, vote,
and each member's read position.

Every change bumps the chat's revision and stamps it on the message, then publishes the new
revision after the commit: live pages ask for what changed since the revision they have.
Message text never goes into the audit log.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from .. import media
from ..database import begin_write, lock_for_write
from ..extensions import db
from ..live import chat_topic, kindergarten_topic, publish_after_commit
from ..models import (
    REACTIONS,
    Attachment,
    Chat,
    ChatMember,
    Confirmation,
    Message,
    MessageEdit,
    Poll,
    PollOption,
    PollVote,
    Reaction,
    User,
    utcnow,
)
from ..permissions import ChatAccess, active_block
from . import ActionError
from .audit import record


@dataclass
class PollSpec:
    question: str
    options: list[str]
    multiple: bool = False
    anonymous: bool = False
    closes_at: datetime | None = None


@dataclass
class Upload:
    """A checked upload: a processed photo, or a document with its detected type."""

    filename: str
    photo: media.Photo | None = None
    data: bytes = b""
    document: media.Document | None = None
    stored: list[str] = field(default_factory=list)


def upload_dir() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


def bump(chat_id: int, message: Message | None = None, *, activity: bool = False) -> int:
    """Next revision of the chat, stamped on `message`; published after the commit."""
    values = {"rev": Chat.rev + 1}
    if activity:
        values["last_activity_at"] = utcnow()
    rev = db.session.execute(
        update(Chat).where(Chat.id == chat_id).values(**values).returning(Chat.rev)
    ).scalar_one()
    if message is not None:
        message.rev = rev
    publish_after_commit(chat_topic(chat_id), {"chat": chat_id, "rev": rev})
    return rev


def _store(uploads: list[Upload]) -> None:
    """Write the files before the transaction: slow disk work never holds the write lock.

    Each name is noted as soon as its file is written, so `_unstore` removes every file already
    written when a later one fails (a disk filling up on the third photo)."""
    folder = upload_dir()
    for upload in uploads:
        if upload.photo is not None:
            upload.stored.append(media.store(folder, upload.photo.data, ".jpg"))
            upload.stored.append(media.store(folder, upload.photo.thumb, ".jpg"))
        else:
            suffix = "." + upload.document.extension
            upload.stored.append(media.store(folder, upload.data, suffix))


def _unstore(uploads: list[Upload]) -> None:
    for upload in uploads:
        for name in upload.stored:
            media.remove(upload_dir(), name)
        upload.stored.clear()


@dataclass(frozen=True)
class _Post:
    """What a post says: the same post sent again is told from another one by it."""

    chat_id: int
    text: str
    reply_to_id: int | None
    files: tuple[tuple[str, int], ...]  # each attachment's name as shown and size, in order
    poll: str | None  # the poll's question


def _what(chat_id, text, reply_to, uploads, poll) -> _Post:
    files = tuple(
        (media.photo_filename(u.filename), len(u.photo.data))
        if u.photo is not None
        else (u.filename, len(u.data))
        for u in uploads
    )
    reply_to_id = reply_to.id if reply_to is not None else None
    return _Post(chat_id, text or "", reply_to_id, files, poll.question if poll else None)


def _what_was_posted(message: Message) -> _Post:
    files = db.session.execute(
        select(Attachment.filename, Attachment.size)
        .where(Attachment.message_id == message.id)
        .order_by(Attachment.position)
    ).all()
    question = db.session.scalar(select(Poll.question).where(Poll.message_id == message.id))
    return _Post(
        message.chat_id,
        message.text or "",
        message.reply_to_id,
        tuple((name, size) for name, size in files),
        question,
    )


def _with_token(actor: User, client_token: str | None) -> Message | None:
    if not client_token:
        return None
    return db.session.scalar(
        select(Message).where(Message.author_id == actor.id, Message.client_token == client_token)
    )


def _posted_before(actor: User, client_token: str | None, post: _Post) -> Message | None:
    """The message this post already is: posted by `actor` with this token, saying the same."""
    message = _with_token(actor, client_token)
    return message if message is not None and _what_was_posted(message) == post else None


def do_post_message(
    actor: User,
    access: ChatAccess,
    *,
    text: str,
    reply_to: Message | None = None,
    important: bool = False,
    uploads: list[Upload] = (),
    poll: PollSpec | None = None,
    client_token: str | None = None,
) -> Message:
    """Post a message; its files are written first, and removed again if it is not posted.

    `client_token` is the composer's token for this message: the same post sent again with it
    (its answer was lost) is the message already posted, returned as it is, and nothing new is
    stored. The token sent with a different post (a form sent again from a page the back button
    brought back) is ignored: that post is a new message.
    """
    uploads = list(uploads)
    post = _what(access.chat.id, text, reply_to, uploads, poll)
    earlier = _posted_before(actor, client_token, post)
    if earlier is not None:
        return earlier  # the usual retry: found before anything is written
    try:
        _store(uploads)
        return _post(actor, access, text, reply_to, important, uploads, poll, client_token, post)
    except IntegrityError:
        db.session.rollback()
        _unstore(uploads)
        # the unique index on (author, token): the same post, sent twice at once, got in first
        earlier = _posted_before(actor, client_token, post)
        if earlier is None:
            raise
        return earlier
    except BaseException:
        db.session.rollback()
        _unstore_unless_committed(uploads)
        raise


def _unstore_unless_committed(uploads: list[Upload]) -> None:
    """Remove the files of a post that failed — unless its COMMIT reached the database after
    all (the connection dropped while the answer was on its way): files a stored row names stay,
    and when the database can't tell, all stay. A stray file costs a little disk; a lost photo
    of a child can't be taken again."""
    names = [name for upload in uploads for name in upload.stored]
    if not names:
        return
    try:
        kept = db.session.scalar(
            select(func.count())
            .select_from(Attachment)
            .where(or_(Attachment.stored_name.in_(names), Attachment.thumb_name.in_(names)))
        )
        db.session.rollback()
    except Exception:  # the database is away: keep them
        with contextlib.suppress(Exception):
            db.session.rollback()
        return
    if not kept:
        _unstore(uploads)


def _post(actor, access, text, reply_to, important, uploads, poll, client_token, post) -> Message:
    begin_write()
    if client_token:
        lock_for_write(f"post:{actor.id}")  # PostgreSQL: one check-then-insert at a time
        earlier = _with_token(actor, client_token)
        if earlier is not None:
            if _what_was_posted(earlier) == post:  # sent twice at once: the other got in first
                db.session.commit()
                _unstore(uploads)
                return earlier
            client_token = None  # another post's token: this one is new, and goes without it
    chat = db.session.get(Chat, access.chat.id)
    if chat.archived_at is not None:
        raise ActionError(_("Чат в архиве: писать в него нельзя."))
    if db.session.get(ChatMember, (chat.id, actor.id)) is None:
        raise ActionError(_("Вы больше не участник этого чата."))
    _not_blocked(chat.id, actor)
    if reply_to is not None and reply_to.chat_id != chat.id:
        raise ActionError(_("Ответить можно только на сообщение этого чата."))
    message = Message(
        chat_id=chat.id,
        author_id=actor.id,
        text=text,
        reply_to_id=reply_to.id if reply_to is not None else None,
        important=important,
        client_token=client_token or None,
    )
    db.session.add(message)
    db.session.flush()
    for position, upload in enumerate(uploads):
        if upload.photo is not None:
            photo = upload.photo
            db.session.add(
                Attachment(
                    message_id=message.id,
                    kind="photo",
                    position=position,
                    stored_name=upload.stored[0],
                    thumb_name=upload.stored[1],
                    filename=media.photo_filename(upload.filename),
                    mime="image/jpeg",
                    size=len(photo.data),
                    width=photo.width,
                    height=photo.height,
                )
            )
        else:
            db.session.add(
                Attachment(
                    message_id=message.id,
                    kind="file",
                    position=position,
                    stored_name=upload.stored[0],
                    filename=upload.filename,
                    mime=upload.document.mime,
                    size=len(upload.data),
                )
            )
    if poll is not None:
        row = Poll(
            message_id=message.id,
            question=poll.question,
            multiple=poll.multiple,
            anonymous=poll.anonymous,
            closes_at=poll.closes_at,
        )
        db.session.add(row)
        db.session.flush()
        db.session.add_all(
            PollOption(poll_id=row.id, position=i, text=option)
            for i, option in enumerate(poll.options)
        )
    rev = bump(chat.id, message, activity=True)
    message.created_rev = rev
    chat.last_message_id = message.id
    # the author has read everything up to their own message
    db.session.execute(
        update(ChatMember)
        .where(ChatMember.chat_id == chat.id, ChatMember.user_id == actor.id)
        .values(last_read_id=message.id)
    )
    publish_after_commit(kindergarten_topic(chat.kindergarten_id), {"chat": chat.id})
    db.session.commit()
    return message


def _not_blocked(chat_id: int, actor: User) -> None:
    """A block placed a moment ago counts (reg 004 §24): checked again under the lock."""
    if active_block(chat_id, actor.id) is not None:
        raise ActionError(_("Вы заблокированы в этом чате: писать в него пока нельзя."))


def _current(message: Message) -> Message:
    """The message as it is now, under the write lock."""
    db.session.refresh(message)
    return message


def do_edit_message(actor: User, access: ChatAccess, message: Message, text: str) -> Message:
    begin_write()
    message = _current(message)
    if message.is_deleted:
        raise ActionError(_("Сообщение уже удалено."))
    if text == message.text:
        db.session.commit()
        return message
    db.session.add(
        MessageEdit(
            message_id=message.id,
            text=message.text,
            created_at=message.edited_at or message.created_at,
        )
    )
    message.text = text
    message.edited_at = utcnow()
    bump(message.chat_id, message)
    db.session.commit()
    return message


def do_delete_message(actor: User, access: ChatAccess, message: Message) -> Message:
    """The author deletes their message: members see «Сообщение удалено»."""
    begin_write()
    message = _current(message)
    if message.is_deleted:
        raise ActionError(_("Сообщение уже удалено."))
    message.deleted_at = utcnow()
    message.deleted_by_id = actor.id
    message.pinned_at = None
    # what the author deleted is gone for everyone: its words and earlier versions go now, as
    # on account deletion (only a moderator's deletion is kept whole, in the moderation log)
    db.session.execute(delete(MessageEdit).where(MessageEdit.message_id == message.id))
    message.text = ""
    bump(message.chat_id, message)
    record(actor, "message.delete", message, chat=message.chat_id, own=True)
    publish_after_commit(kindergarten_topic(access.chat.kindergarten_id), {"chat": message.chat_id})
    db.session.commit()
    return message


def do_toggle_reaction(actor: User, access: ChatAccess, message: Message, emoji: str) -> bool:
    """Add the reaction, or take it back if it was there; True when it is there now."""
    if emoji not in REACTIONS:
        raise ActionError(_("Такой реакции нет."))
    begin_write()
    # PostgreSQL: one toggle of this person's reactions on this message at a time, so each
    # press sees the one before it (the primary key would turn a race into a 500)
    lock_for_write(f"react:{message.id}:{actor.id}")
    message = _current(message)
    if message.is_deleted:
        raise ActionError(_("Сообщение удалено."))
    _not_blocked(message.chat_id, actor)
    key = (message.id, actor.id, emoji)
    existing = db.session.get(Reaction, key)
    if existing is None:
        db.session.add(Reaction(message_id=message.id, user_id=actor.id, emoji=emoji))
    else:
        db.session.delete(existing)
    bump(message.chat_id, message)
    db.session.commit()
    return existing is None


def do_set_pinned(actor: User, access: ChatAccess, message: Message, pinned: bool) -> Message:
    begin_write()
    message = _current(message)
    if message.is_deleted:
        raise ActionError(_("Удалённое сообщение нельзя закрепить."))
    if pinned == (message.pinned_at is not None):
        db.session.commit()
        return message
    message.pinned_at = utcnow() if pinned else None
    message.pinned_by_id = actor.id if pinned else None
    bump(message.chat_id, message)
    record(actor, "message.pin" if pinned else "message.unpin", message, chat=message.chat_id)
    db.session.commit()
    return message


def do_set_important(actor: User, access: ChatAccess, message: Message, important: bool) -> Message:
    begin_write()
    message = _current(message)
    if message.is_deleted:
        raise ActionError(_("Сообщение удалено."))
    if message.important != important:
        message.important = important
        bump(message.chat_id, message)
    db.session.commit()
    return message


def do_confirm(actor: User, access: ChatAccess, message: Message) -> None:
    """«Ознакомлен(а)»: once per person; a second press changes nothing."""
    begin_write()
    message = _current(message)
    if not message.important or message.is_deleted:
        raise ActionError(_("Это сообщение не требует подтверждения."))
    if message.author_id == actor.id:
        raise ActionError(_("Своё сообщение подтверждать не нужно."))
    if db.session.get(Confirmation, (message.id, actor.id)) is None:
        db.session.add(Confirmation(message_id=message.id, user_id=actor.id))
        bump(message.chat_id, message)
    db.session.commit()


def do_vote(actor: User, access: ChatAccess, poll: Poll, option_ids: list[int]) -> None:
    """Vote, or change one's vote, while the poll is open."""
    begin_write()
    # PostgreSQL: one vote of this person in this poll at a time, each replacing the one
    # before it whole; without it two parallel votes both found nothing to replace and a
    # single-choice poll counted the person twice (or the primary key answered 500)
    lock_for_write(f"vote:{poll.id}:{actor.id}")
    db.session.refresh(poll)
    message = db.session.get(Message, poll.message_id)
    if message.is_deleted:
        raise ActionError(_("Сообщение удалено."))
    if not poll.is_open():
        raise ActionError(_("Опрос закрыт: голосовать уже нельзя."))
    _not_blocked(message.chat_id, actor)
    valid = set(db.session.scalars(select(PollOption.id).where(PollOption.poll_id == poll.id)))
    chosen = list(dict.fromkeys(option_ids))
    if not chosen:
        raise ActionError(_("Выберите вариант ответа."))
    if any(option_id not in valid for option_id in chosen):
        raise ActionError(_("Такого варианта в этом опросе нет."))
    if len(chosen) > 1 and not poll.multiple:
        raise ActionError(_("В этом опросе можно выбрать только один вариант."))
    db.session.execute(
        delete(PollVote).where(PollVote.poll_id == poll.id, PollVote.user_id == actor.id)
    )
    db.session.add_all(
        PollVote(poll_id=poll.id, user_id=actor.id, option_id=option_id, single=not poll.multiple)
        for option_id in chosen
    )
    bump(message.chat_id, message)
    db.session.commit()


def do_mark_read(actor: User, access: ChatAccess, message_id: int) -> None:
    """Move the reader's position forward (never back) to a message of this chat."""
    begin_write()
    newest = db.session.scalar(
        select(Message.id)
        .where(Message.chat_id == access.chat.id, Message.id <= message_id)
        .order_by(Message.id.desc())
        .limit(1)
    )
    if newest is not None:
        db.session.execute(
            update(ChatMember)
            .where(
                ChatMember.chat_id == access.chat.id,
                ChatMember.user_id == actor.id,
                ChatMember.last_read_id < newest,
            )
            .values(last_read_id=newest)
        )
    db.session.commit()
