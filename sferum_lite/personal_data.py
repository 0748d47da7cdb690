"""What the app keeps about one person, as they may download it (152-FZ, art. 14): their
profile, their children, chats, consents, rules acceptances and messages. Only their own:
the file names nobody else's phone or e-mail."""

from __future__ import annotations

import json
from collections import defaultdict

from sqlalchemy import select

from .extensions import db
from .models import (
    Attachment,
    Block,
    Chat,
    ChatMember,
    Child,
    Confirmation,
    Consent,
    ConsentText,
    Group,
    JoinRequest,
    Message,
    MessageEdit,
    Objection,
    ParentChild,
    PasswordReset,
    Poll,
    PollOption,
    PollVote,
    Reaction,
    Report,
    Rules,
    RulesAcceptance,
    User,
    UserSession,
    Violation,
    utcnow,
)


def _time(value) -> str | None:
    return value.isoformat() if value is not None else None


def collect(user: User) -> dict:
    """The person's data as plain JSON-able values; a fixed number of queries."""
    children = db.session.execute(
        select(Child, Group.name, ParentChild.created_at)
        .join(ParentChild, ParentChild.child_id == Child.id)
        .join(Group, Group.id == Child.group_id)
        .where(ParentChild.user_id == user.id)
        .order_by(Child.last_name, Child.first_name)
    ).all()
    memberships = db.session.execute(
        select(ChatMember, Chat.title, Chat.kind, Rules.version)
        .join(Chat, Chat.id == ChatMember.chat_id)
        .outerjoin(Rules, Rules.id == ChatMember.rules_accepted_id)
        .where(ChatMember.user_id == user.id)
        .order_by(Chat.title)
    ).all()
    consents = db.session.execute(
        select(Consent.accepted_at, ConsentText.version, ConsentText.text)
        .join(ConsentText, ConsentText.id == Consent.consent_text_id)
        .where(Consent.user_id == user.id)
        .order_by(Consent.accepted_at)
    ).all()
    acceptances = db.session.execute(
        select(RulesAcceptance.accepted_at, Chat.title, Rules.version)
        .join(Chat, Chat.id == RulesAcceptance.chat_id)
        .join(Rules, Rules.id == RulesAcceptance.rules_id)
        .where(RulesAcceptance.user_id == user.id)
        .order_by(RulesAcceptance.accepted_at)
    ).all()
    requests = db.session.execute(
        select(JoinRequest, Chat.title)
        .join(Chat, Chat.id == JoinRequest.chat_id)
        .where(JoinRequest.user_id == user.id)
        .order_by(JoinRequest.created_at)
    ).all()
    messages = db.session.execute(
        select(Message, Chat.title)
        .join(Chat, Chat.id == Message.chat_id)
        .where(Message.author_id == user.id)
        .order_by(Message.id)
    ).all()
    ids = [m.id for m, _title in messages]
    files = defaultdict(list)
    edits = defaultdict(list)
    if ids:
        for a in db.session.scalars(
            select(Attachment).where(Attachment.message_id.in_(ids)).order_by(Attachment.position)
        ):
            files[a.message_id].append({"kind": a.kind, "name": a.filename, "size": a.size})
        for e in db.session.scalars(
            select(MessageEdit).where(MessageEdit.message_id.in_(ids)).order_by(MessageEdit.id)
        ):
            edits[e.message_id].append({"text": e.text, "written_at": _time(e.created_at)})
    reactions = db.session.execute(
        select(Reaction.message_id, Reaction.emoji, Reaction.created_at)
        .where(Reaction.user_id == user.id)
        .order_by(Reaction.created_at)
    ).all()
    violations = db.session.execute(
        select(Violation.created_at, Violation.clause, Chat.title)
        .join(Chat, Chat.id == Violation.chat_id)
        .where(Violation.user_id == user.id)
        .order_by(Violation.created_at)
    ).all()
    blocks = db.session.execute(
        select(Block.starts_at, Block.ends_at, Block.lifted_at, Block.clause, Chat.title)
        .join(Chat, Chat.id == Block.chat_id)
        .where(Block.user_id == user.id)
        .order_by(Block.starts_at)
    ).all()
    votes = db.session.execute(
        select(PollVote.created_at, Poll.question, PollOption.text)
        .join(Poll, Poll.id == PollVote.poll_id)
        .join(PollOption, PollOption.id == PollVote.option_id)
        .where(PollVote.user_id == user.id)
        .order_by(PollVote.created_at)
    ).all()
    confirmations = db.session.execute(
        select(Confirmation.created_at, Confirmation.message_id)
        .where(Confirmation.user_id == user.id)
        .order_by(Confirmation.created_at)
    ).all()
    reports = db.session.execute(
        select(Report.created_at, Report.message_id, Report.reason, Report.resolution)
        .where(Report.reporter_id == user.id)
        .order_by(Report.created_at)
    ).all()
    objections = db.session.execute(
        select(Objection.created_at, Block.chat_id)
        .join(Block, Block.id == Objection.block_id)
        .where(Objection.user_id == user.id)
        .order_by(Objection.created_at)
    ).all()
    resets = db.session.execute(
        select(
            PasswordReset.kind,
            PasswordReset.created_at,
            PasswordReset.expires_at,
            PasswordReset.used_at,
            User.name,
        )
        .outerjoin(User, User.id == PasswordReset.created_by_id)
        .where(PasswordReset.user_id == user.id)
        .order_by(PasswordReset.created_at)
    ).all()
    sessions = db.session.execute(
        select(UserSession.created_at, UserSession.user_agent)
        .where(UserSession.user_id == user.id)
        .order_by(UserSession.created_at)
    ).all()
    return {
        "exported_at": _time(utcnow()),
        "kindergarten": user.kindergarten.name,
        "profile": {
            "name": user.name,
            "phone": user.phone,
            "email": user.email,
            "language": user.locale,
            "registered_at": _time(user.created_at),
            "director": user.is_director,
            "administrator": user.is_admin,
            "position": str(user.position_label) or None,
            "verified_at": _time(user.verified_at),
            "dismissed_at": _time(user.dismissed_at),
        },
        "children": [
            {
                "name": child.full_name,
                "group": group_name,
                "linked_at": _time(linked_at),
                "left_at": _time(child.left_at),
            }
            for child, group_name, linked_at in children
        ],
        "chats": [
            {
                "chat": title,
                "kind": kind,
                "joined_at": _time(member.joined_at),
                "moderator": member.is_moderator,
                "rules_version_accepted": version,
            }
            for member, title, kind, version in memberships
        ],
        "consents": [
            {"version": version, "accepted_at": _time(at), "text": text}
            for at, version, text in consents
        ],
        "rules_acceptances": [
            {"chat": title, "version": version, "accepted_at": _time(at)}
            for at, title, version in acceptances
        ],
        "join_requests": [
            {
                "chat": title,
                "child_typed": r.child_typed,
                "status": r.status,
                "created_at": _time(r.created_at),
            }
            for r, title in requests
        ],
        "messages": [
            {
                "id": m.id,
                "chat": title,
                "written_at": _time(m.created_at),
                "edited_at": _time(m.edited_at),
                "deleted_at": _time(m.deleted_at),
                "text": m.text,
                "files": files.get(m.id, []),
                "earlier_versions": edits.get(m.id, []),
            }
            for m, title in messages
        ],
        "reactions": [
            {"message_id": mid, "emoji": emoji, "at": _time(at)} for mid, emoji, at in reactions
        ],
        "violations": [
            {"chat": title, "clause": clause, "at": _time(at)} for at, clause, title in violations
        ],
        "blocks": [
            {
                "chat": title,
                "clause": clause,
                "from": _time(starts),
                "until": _time(ends),
                "lifted_at": _time(lifted),
            }
            for starts, ends, lifted, clause, title in blocks
        ],
        "poll_votes": [
            {"poll": question, "option": option, "at": _time(at)} for at, question, option in votes
        ],
        "confirmations": [
            {"message_id": message_id, "at": _time(at)} for at, message_id in confirmations
        ],
        "reports": [
            {"message_id": mid, "reason": reason, "resolution": resolution, "at": _time(at)}
            for at, mid, reason, resolution in reports
        ],
        "objections": [{"chat_id": chat_id, "at": _time(at)} for at, chat_id in objections],
        "sessions": [{"started_at": _time(at), "browser": agent} for at, agent in sessions],
        # links to set a new password (never their tokens): by e-mail, or shown by a staff member
        "password_resets": [
            {
                "kind": kind,
                "made_at": _time(made),
                "made_by": made_by,
                "valid_until": _time(until),
                "used_or_ended_at": _time(used),
            }
            for kind, made, until, used, made_by in resets
        ],
    }


def as_json(user: User) -> str:
    return json.dumps(collect(user), ensure_ascii=False, indent=2)
