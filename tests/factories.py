"""make_* factories with sensible defaults. They write through the models directly (and through
the real setup action for a kindergarten), so a test states only what matters to it."""

from __future__ import annotations

import itertools
import secrets
from datetime import time, timedelta

from sqlalchemy import update

from sferum_lite.actions.memberships import join_system_chats
from sferum_lite.actions.rules import accept, create_default_rules, default_rules
from sferum_lite.actions.setup import do_setup
from sferum_lite.extensions import db
from sferum_lite.models import (
    Chat,
    ChatMember,
    Child,
    Group,
    GroupEducator,
    Kindergarten,
    Message,
    ParentChild,
    StaffInvite,
    User,
    utcnow,
)
from sferum_lite.roster import name_key
from sferum_lite.security import hash_password

PASSWORD = "зелёный слон 42"  # every factory-made account has this password
_phones = itertools.count(1)


def next_phone() -> str:
    return f"+7916{next(_phones):07d}"


def make_kindergarten(
    name="Детский сад № 7 «Берёзка»",
    director_name="Ольга Смирнова",
    login=None,
    timezone="Europe/Moscow",
) -> Kindergarten:
    director = do_setup(
        kindergarten_name=name,
        timezone=timezone,
        work_start=time(7, 0),
        work_end=time(19, 0),
        work_days="12345",
        director_name=director_name,
        login=("phone", login or next_phone()),
        password=PASSWORD,
    )
    return director.kindergarten


def director_of(kindergarten: Kindergarten) -> User:
    return db.session.scalar(
        db.select(User).where(User.kindergarten_id == kindergarten.id, User.is_director)
    )


def make_user(
    kindergarten, name="Мария Иванова", *, phone=None, email=None, password=PASSWORD, **fields
) -> User:
    if email is None and phone is None:
        phone = next_phone()
    user = User(
        kindergarten_id=kindergarten.id,
        name=name,
        phone=phone,
        email=email,
        password_hash=hash_password(password),
        **fields,
    )
    db.session.add(user)
    db.session.commit()
    return user


def make_staff(
    kindergarten,
    name="Анна Павлова",
    *,
    position="vospitatel",
    verified=True,
    admin=False,
    groups=(),
    **fields,
) -> User:
    user = make_user(
        kindergarten,
        name,
        position=position,
        is_admin=admin,
        verified_at=utcnow() if verified else None,
        **fields,
    )
    if verified:  # the staff chats come with the verification, as in the app
        join_system_chats(user)
    for group in groups:
        db.session.add(GroupEducator(group_id=group.id, user_id=user.id))
    db.session.commit()
    return user


def make_group(kindergarten, name="Солнышко", *, educators=(), archived=False) -> Group:
    group = Group(
        kindergarten_id=kindergarten.id, name=name, archived_at=utcnow() if archived else None
    )
    db.session.add(group)
    db.session.flush()
    for educator in educators:
        db.session.add(GroupEducator(group_id=group.id, user_id=educator.id))
    db.session.commit()
    return group


def make_child(group, last_name="Петров", first_name="Артём", *, left=False) -> Child:
    child = Child(
        kindergarten_id=group.kindergarten_id,
        group_id=group.id,
        last_name=last_name,
        first_name=first_name,
        name_key=name_key(last_name, first_name),
        left_at=utcnow() if left else None,
    )
    db.session.add(child)
    db.session.commit()
    return child


def make_parent(kindergarten, name="Екатерина Петрова", *, children=(), **fields) -> User:
    user = make_user(kindergarten, name, **fields)
    for child in children:
        db.session.add(ParentChild(user_id=user.id, child_id=child.id))
    db.session.commit()
    return user


def make_staff_invite(
    kindergarten,
    created_by,
    *,
    position="vospitatel",
    grants_admin=False,
    max_uses=1,
    uses=0,
    days=7,
    revoked=False,
) -> StaffInvite:
    invite = StaffInvite(
        kindergarten_id=kindergarten.id,
        token=secrets.token_urlsafe(32),
        position=position,
        grants_admin=grants_admin,
        max_uses=max_uses,
        uses=uses,
        expires_at=utcnow() + timedelta(days=days),
        created_by_id=created_by.id,
        revoked_at=utcnow() if revoked else None,
    )
    db.session.add(invite)
    db.session.commit()
    return invite


def make_chat(
    kindergarten,
    creator,
    *,
    kind="group",
    title="Родители группы «Солнышко»",
    group=None,
    members=(),
    moderators=(),
    archived=False,
    accepted=True,
    **fields,
) -> Chat:
    """A chat written through the models: its creator is a moderator, as `do_create_chat` does;
    `members` join as plain members, `moderators` as moderators. It follows the kindergarten's
    default rules (none for a direct chat), which every member has accepted unless
    `accepted` is False (then only the creator has)."""
    if kind != "direct" and "rules_id" not in fields:
        rules = default_rules(kindergarten.id) or create_default_rules(kindergarten, None)
        fields["rules_id"] = rules.id
    chat = Chat(
        kindergarten_id=kindergarten.id,
        kind=kind,
        title=title,
        group_id=group.id if group is not None else None,
        created_by_id=creator.id,
        archived_at=utcnow() if archived else None,
        last_activity_at=utcnow(),
        **fields,
    )
    db.session.add(chat)
    db.session.flush()
    seen = set()
    for user, moderator in [
        (creator, True),
        *((user, True) for user in moderators),
        *((user, False) for user in members),
    ]:
        if user.id not in seen:
            seen.add(user.id)
            member = ChatMember(chat_id=chat.id, user_id=user.id, is_moderator=moderator)
            db.session.add(member)
            if accepted or user is creator:
                accept(member, chat.rules_id)
    db.session.commit()
    return chat


def make_message(chat, author, text="Добрый день!", **fields) -> Message:
    """A message written through the models the way `do_post_message` stores one: the chat's
    revision bumped and stamped on it, the chat's last message and activity moved, and the
    author's read position moved to it."""
    db.session.refresh(chat)
    chat.rev += 1
    message = Message(
        chat_id=chat.id,
        author_id=author.id if author is not None else None,
        text=text,
        rev=chat.rev,
        created_rev=chat.rev,
        **fields,
    )
    db.session.add(message)
    db.session.flush()
    chat.last_message_id = message.id
    chat.last_activity_at = message.created_at
    if author is not None:
        db.session.execute(
            update(ChatMember)
            .where(ChatMember.chat_id == chat.id, ChatMember.user_id == author.id)
            .values(last_read_id=message.id)
        )
    db.session.commit()
    return message


def make_chat_invite(
    chat,
    created_by,
    *,
    max_uses=None,
    uses=0,
    days=7,
    revoked=False,
    needs_approval=False,
    last_used_at=None,
):
    """A link into `chat` as `do_create_chat_invite` stores one; `days` < 0 makes it expired."""
    from sferum_lite.actions.invites import new_chat_token
    from sferum_lite.models import ChatInvite

    invite = ChatInvite(
        kindergarten_id=chat.kindergarten_id,
        chat_id=chat.id,
        token=new_chat_token(),
        needs_approval=needs_approval,
        max_uses=max_uses,
        uses=uses,
        last_used_at=last_used_at,
        expires_at=utcnow() + timedelta(days=days),
        created_by_id=created_by.id,
        revoked_at=utcnow() if revoked else None,
        revoked_by_id=created_by.id if revoked else None,
    )
    db.session.add(invite)
    db.session.commit()
    return invite


def make_poll(
    chat,
    author,
    question="Кто придёт на утренник?",
    options=("Мама", "Папа"),
    *,
    votes=(),
    **fields,
):
    """A poll posted by `author` as `do_post_message` stores one: its message, its options in
    order, and `votes` as (user, option index) pairs."""
    from sferum_lite.models import Poll, PollOption, PollVote

    message = make_message(chat, author, "")
    poll = Poll(message_id=message.id, question=question, **fields)
    db.session.add(poll)
    db.session.flush()
    choices = [PollOption(poll_id=poll.id, position=n, text=text) for n, text in enumerate(options)]
    db.session.add_all(choices)
    db.session.flush()
    for user, index in votes:
        db.session.add(
            PollVote(
                poll_id=poll.id,
                user_id=user.id,
                option_id=choices[index].id,
                single=not poll.multiple,
            )
        )
    db.session.commit()
    return poll


def make_attachment(message, kind="photo", filename="утренник.jpg", *, position=0, **fields):
    """An attachment row only: no file is stored (`stored_name` points nowhere)."""
    from sferum_lite.models import Attachment

    photo = kind == "photo"
    values = {
        "stored_name": secrets.token_hex(16) + (".jpg" if photo else ".pdf"),
        "thumb_name": secrets.token_hex(16) + ".jpg" if photo else None,
        "mime": "image/jpeg" if photo else "application/pdf",
        "size": 2048,
        "width": 640 if photo else None,
        "height": 480 if photo else None,
    }
    values.update(fields)
    attachment = Attachment(
        message_id=message.id, kind=kind, position=position, filename=filename, **values
    )
    db.session.add(attachment)
    db.session.commit()
    return attachment


def make_violation(chat, user, moderator, *, clause=1, message=None, note=""):
    """A violation of a clause of the chat's rules in force, as a moderator records one."""
    from sferum_lite.models.moderation import Violation

    violation = Violation(
        chat_id=chat.id,
        user_id=user.id,
        rules_id=chat.rules_id,
        clause=clause,
        message_id=message.id if message is not None else None,
        note=note,
        created_by_id=moderator.id,
    )
    db.session.add(violation)
    db.session.commit()
    return violation


def make_block(chat, user, moderator, *, clause=1, days=1, **fields):
    """A block of `user` in `chat` under a clause of its rules, from now for `days` days."""
    from sferum_lite.models.moderation import Block

    now = utcnow()
    block = Block(
        chat_id=chat.id,
        user_id=user.id,
        rules_id=chat.rules_id,
        clause=clause,
        starts_at=now,
        ends_at=now + timedelta(days=days),
        created_by_id=moderator.id,
        **fields,
    )
    db.session.add(block)
    db.session.commit()
    return block


def make_report(message, reporter, reason="Реклама", **fields):
    """A member's report of a message to the chat's moderators."""
    from sferum_lite.models.moderation import Report

    report = Report(
        chat_id=message.chat_id,
        message_id=message.id,
        reporter_id=reporter.id,
        reason=reason,
        **fields,
    )
    db.session.add(report)
    db.session.commit()
    return report
