"""Every route × every persona against an explicit table of expected answers.

A route that is not in the table fails the suite: whoever adds a route decides here who may use
it. POSTs are sent with a form that has none of the route's fields (CSRF is checked separately
in test_security.py), so an allowed POST answers 422 when its form needs input, or 303 when it
is a one-click action or an edit form whose fields keep their current values.
"""

from __future__ import annotations

import pytest

from .conftest import PERSONAS as WORLD_PERSONAS

# the world's personas, a parent of the chat blocked there (reg 004 §24), made by chat_world,
# and an educator of the chat's group who came by a staff invite and whom nobody has verified
# yet (issue 13 §1), made by unverified_world
PERSONAS = (*WORLD_PERSONAS, "blocked_parent", "unverified_staff")
(ANON, PARENT, OTHER_PARENT, EDUCATOR, OTHER_EDUCATOR, ADMIN, DIRECTOR, BLOCKED, UNVERIFIED) = (
    PERSONAS
)
SIGNED_IN = PERSONAS[1:]


def everyone(code):
    return dict.fromkeys(PERSONAS, code)


def signed_in(code, anonymous=302):
    return {ANON: anonymous, **dict.fromkeys(SIGNED_IN, code)}


def administration(code, director=None):
    """Admin area: visitors go to sign in, parents and educators get 403."""
    return {
        ANON: 302,
        PARENT: 403,
        OTHER_PARENT: 403,
        BLOCKED: 403,
        EDUCATOR: 403,
        OTHER_EDUCATOR: 403,
        UNVERIFIED: 403,
        ADMIN: code,
        DIRECTOR: code if director is None else director,
    }


def creators(code):
    """Educators of a group and the administration may open chats; parents, and staff nobody
    has verified yet, may not."""
    return {
        ANON: 302,
        BLOCKED: 403,
        UNVERIFIED: 403,
        **dict.fromkeys((EDUCATOR, OTHER_EDUCATOR, ADMIN, DIRECTOR), code),
    }


def in_chat(parent, educator, administration, blocked=None):
    """The world's chat: its parent, blocked parent and educator (moderator) are members, the
    administration sees it; the other group's parent and educator get 404, visitors go to sign
    in. The blocked parent answers as the parent unless told otherwise."""
    return {
        ANON: 302,
        PARENT: parent,
        OTHER_PARENT: 404,
        BLOCKED: parent if blocked is None else blocked,
        EDUCATOR: educator,
        OTHER_EDUCATOR: 404,
        UNVERIFIED: 404,  # the group's educator by attachment, but nobody yet
        ADMIN: administration,
        DIRECTOR: administration,
    }


# (endpoint, method) -> persona -> status
EXPECTED = {
    ("static", "GET"): everyone(200),
    ("main.home", "GET"): signed_in(200),
    ("main.manifest", "GET"): everyone(200),
    ("setup.setup", "GET"): everyone(404),  # gone once the kindergarten exists
    ("setup.setup", "POST"): everyone(409),
    ("auth.login", "GET"): {ANON: 200, **dict.fromkeys(SIGNED_IN, 302)},
    ("auth.login", "POST"): {ANON: 422, **dict.fromkeys(SIGNED_IN, 302)},
    ("auth.logout", "POST"): everyone(303),
    ("auth.profile", "GET"): signed_in(200),
    ("auth.profile", "POST"): signed_in(303),  # fields not sent keep their values
    ("auth.change_password", "POST"): signed_in(422),
    ("auth.end_other_sessions", "POST"): signed_in(303),
    ("auth.language", "POST"): everyone(303),
    # personal data: one's own file, and deleting one's account — staff are refused (409) with
    # what to do first (dismissal; the director hands over first); a parent's empty form is 422
    ("auth.my_data", "GET"): signed_in(200),
    ("auth.delete_account", "GET"): signed_in(200),
    ("auth.delete_account", "POST"): {
        **signed_in(409),
        PARENT: 422,
        OTHER_PARENT: 422,
        BLOCKED: 422,
    },
    ("admin.index", "GET"): administration(200),
    ("admin.groups", "GET"): administration(200),
    ("admin.groups", "POST"): administration(422),
    ("admin.group", "GET"): administration(200),
    ("admin.group_rename", "POST"): administration(422),
    ("admin.group_archive", "POST"): administration(409),  # the group still has a child
    ("admin.group_restore", "POST"): administration(303),
    ("admin.group_attach", "POST"): administration(422),
    ("admin.group_detach", "POST"): administration(303),
    ("admin.children", "GET"): administration(200),
    ("admin.child_new", "GET"): administration(200),
    ("admin.child_new", "POST"): administration(422),
    ("admin.child", "GET"): administration(200),
    ("admin.child", "POST"): administration(303),  # fields not sent keep their values
    ("admin.child_leave", "POST"): administration(303),
    ("admin.child_restore", "POST"): administration(303),
    ("admin.roster_import", "GET"): administration(200),
    ("admin.roster_import", "POST"): administration(422),
    ("admin.roster_confirm", "POST"): administration(422),
    ("admin.roster_sample", "GET"): administration(200),
    ("admin.staff", "GET"): administration(200),
    ("admin.staff_member", "GET"): administration(200),
    ("admin.staff_verify", "POST"): administration(409),  # already verified
    ("admin.staff_admin", "POST"): administration(403, director=303),
    ("admin.staff_direction", "POST"): administration(403, director=303),  # to the educator
    ("admin.staff_position", "POST"): administration(422),
    ("admin.staff_dismiss", "POST"): administration(422),  # moderates the chat: a successor
    ("admin.staff_invites", "GET"): administration(200),
    ("admin.staff_invites", "POST"): administration(303),  # the defaults make a valid invite
    ("admin.staff_invite", "GET"): administration(200),
    ("admin.staff_invite_revoke", "POST"): administration(303),
    ("admin.staff_invite_qr", "GET"): administration(200),
    ("admin.invites", "GET"): administration(200),
    ("admin.invites_annul", "POST"): administration(422),  # nothing chosen
    ("admin.rules", "GET"): administration(200),
    ("admin.rules", "POST"): administration(422),  # no text, no note
    ("admin.apology_window", "POST"): administration(422),  # no number of hours
    ("admin.consent", "GET"): administration(200),
    ("admin.consent", "POST"): administration(422),  # no text
    # chats: the world's chat is group «Солнышко»'s, with its educator (moderator) and a parent;
    # the director and the administrator see it without being members; others get 404
    ("chats.index", "GET"): signed_in(200),
    ("chats.list_stream", "GET"): signed_in(200),
    ("chats.new", "GET"): {**creators(200), PARENT: 403, OTHER_PARENT: 403},
    ("chats.new", "POST"): {**creators(422), PARENT: 403, OTHER_PARENT: 403},
    ("chats.direct", "POST"): {**signed_in(404), PARENT: 303, BLOCKED: 303},  # child's educator
    ("chats.settings", "GET"): in_chat(200, 200, 200),
    ("chats.settings", "POST"): in_chat(403, 422, 422),
    ("chats.archive", "POST"): in_chat(403, 303, 303),
    ("chats.restore", "POST"): in_chat(403, 409, 409),  # not archived
    ("chats.members", "GET"): in_chat(403, 200, 200),
    ("chats.members", "POST"): in_chat(403, 422, 422),
    ("messages.chat", "GET"): in_chat(200, 200, 200),
    ("messages.earlier", "GET"): in_chat(400, 400, 400),  # no ?before=
    ("messages.updates", "GET"): in_chat(400, 400, 400),  # no ?after=
    ("messages.stream", "GET"): in_chat(400, 400, 400),  # no ?after= nor Last-Event-ID
    # empty; the overseers are not members; the blocked parent reads only (reg 004 §24)
    ("messages.post", "POST"): in_chat(422, 422, 403, blocked=403),
    ("messages.read", "POST"): in_chat(400, 400, 400),
    # the world's message: the educator's, important, with a photo and a poll
    ("messages.edit", "GET"): in_chat(403, 200, 403),
    ("messages.edit", "POST"): in_chat(403, 422, 403),
    ("messages.history", "GET"): in_chat(403, 200, 200),
    ("messages.delete", "POST"): in_chat(403, 303, 403),
    ("messages.react", "POST"): in_chat(400, 400, 403, blocked=403),  # no emoji
    ("messages.pin", "POST"): in_chat(403, 303, 303),
    ("messages.important", "POST"): in_chat(403, 303, 403),
    ("messages.confirm", "POST"): in_chat(303, 409, 403),  # the educator wrote it
    ("messages.confirmations", "GET"): in_chat(403, 200, 200),
    ("messages.vote", "POST"): in_chat(422, 422, 403, blocked=403),  # no option chosen
    ("messages.attachment", "GET"): in_chat(200, 200, 200),
    ("messages.thumbnail", "GET"): in_chat(200, 200, 200),
    ("invites.staff_invite", "GET"): everyone(303),
    ("invites.join_staff", "GET"): everyone(404),  # no invite in this session
    ("invites.join_staff", "POST"): everyone(404),
    # joining a chat by its link: the token moves into the session; without one, a 404
    ("invites.chat_invite", "GET"): everyone(303),
    ("invites.join", "GET"): everyone(404),
    ("invites.join_register", "GET"): everyone(404),
    ("invites.join_register", "POST"): everyone(404),
    ("invites.join_child", "GET"): signed_in(404),
    ("invites.join_child", "POST"): signed_in(404),
    ("invites.join_rules", "GET"): signed_in(404),
    ("invites.join_rules", "POST"): signed_in(404),
    ("invites.join_declined", "GET"): everyone(200),
    # the other group's parent is the one waiting
    ("invites.join_request", "GET"): {**signed_in(404), OTHER_PARENT: 200},
    # password recovery (issue 13 §6): the matrix's user is the educator, whose link only the
    # administration makes; the matrix's token is no reset link; /forgot answers anybody alike
    ("recovery.make_link", "POST"): {**signed_in(404), ADMIN: 200, DIRECTOR: 200},
    ("recovery.forgot", "GET"): everyone(200),
    ("recovery.forgot", "POST"): everyone(200),  # no SMTP in the tests: the same page
    ("recovery.reset", "GET"): everyone(404),
    ("recovery.reset", "POST"): everyone(404),
    ("chat_invites.index", "GET"): in_chat(403, 200, 200),
    ("chat_invites.index", "POST"): in_chat(403, 303, 303),  # the defaults make a valid link
    ("chat_invites.resume", "POST"): in_chat(404, 303, 303),  # a link that is not paused: done
    ("chat_invites.show", "GET"): in_chat(404, 200, 200),  # moderators only
    ("chat_invites.qr_png", "GET"): in_chat(404, 200, 200),
    ("chat_invites.poster", "GET"): in_chat(404, 200, 200),
    ("chat_invites.revoke", "POST"): in_chat(404, 303, 303),
    ("rules.show", "GET"): in_chat(200, 200, 200),
    ("rules.accept", "POST"): in_chat(422, 422, 403),  # no version sent; overseers aren't members
    ("rules.edit", "GET"): in_chat(403, 200, 200),
    ("rules.edit", "POST"): in_chat(403, 422, 422),
    ("rules.acceptances", "GET"): in_chat(403, 200, 200),
    ("joins.index", "GET"): in_chat(403, 200, 200),
    ("joins.admit", "POST"): in_chat(404, 422, 422),  # no child chosen: the list says so
    ("joins.child_links_seen", "POST"): signed_in(400),  # the empty form names no notice
    ("joins.decline", "POST"): in_chat(404, 422, 422),  # no reason
    # moderation: the world's message is the educator's own (staff: the administration acts on
    # it, its author does not); the member is the parent; the blocked parent has apologised,
    # and the window for objections is open; the parent reported the blocked parent's message
    ("moderation.remove_message", "GET"): in_chat(403, 403, 200),
    ("moderation.remove_message", "POST"): in_chat(403, 403, 422),  # no clause
    ("moderation.message_violation", "GET"): in_chat(403, 403, 200),
    ("moderation.message_violation", "POST"): in_chat(403, 403, 422),
    # not one's own; the overseers are not members, and moderators act rather than report
    ("moderation.report", "GET"): in_chat(200, 403, 403),
    ("moderation.report", "POST"): in_chat(303, 403, 403),  # the reason may stay empty
    ("moderation.remind", "POST"): in_chat(403, 303, 303),
    ("moderation.member", "GET"): in_chat(404, 200, 200),
    ("moderation.member_violation", "POST"): in_chat(404, 422, 422),  # no clause
    ("moderation.block", "POST"): in_chat(404, 422, 422),
    ("moderation.remove_member", "POST"): in_chat(404, 409, 409),  # the child still attends
    ("moderation.set_moderator", "POST"): in_chat(404, 400, 400),  # neither named nor withdrawn
    ("moderation.lift", "POST"): in_chat(403, 409, 409),  # the window is still open
    ("moderation.apology", "POST"): in_chat(409, 409, 409),  # not blocked; or apologised already
    # members object; not to one's own block; moderators decide instead of objecting
    ("moderation.object_", "POST"): in_chat(303, 403, 403, blocked=409),
    ("moderation.my_violations", "GET"): in_chat(200, 200, 404),
    ("moderation.reports", "GET"): in_chat(403, 200, 200),
    ("moderation.resolve", "POST"): in_chat(404, 422, 422),  # no decision
    ("moderation.chat_log", "GET"): in_chat(403, 200, 200),
    ("moderation.chat_log_csv", "GET"): in_chat(403, 200, 200),
    ("moderation.log", "GET"): administration(200),
    ("moderation.log_csv", "GET"): administration(200),
    ("moderation.removals_seen", "POST"): signed_in(303),
    # the director's view: the administration; a group's page for its educators too
    ("director.index", "GET"): administration(200),
    ("director.chats", "GET"): administration(200),
    ("director.chats_csv", "GET"): administration(200),
    ("director.acceptances_csv", "GET"): administration(200),
    ("director.report", "GET"): administration(200),
    ("director.report_csv", "GET"): administration(200),
    ("director.group", "GET"): {
        ANON: 302,
        PARENT: 404,
        OTHER_PARENT: 404,
        BLOCKED: 404,
        EDUCATOR: 200,
        OTHER_EDUCATOR: 404,
        ADMIN: 200,
        DIRECTOR: 200,
    },
}


# Where not said otherwise, the unverified educator of the chat's group answers as the other
# group's parent: a signed-in person with no place in the world's chat and no power over it.
for _answers in EXPECTED.values():
    _answers.setdefault(UNVERIFIED, _answers[OTHER_PARENT])


def unverified_world(world):
    """An educator attached to the chat's group by the administration, who came by a staff
    invite and whom nobody has verified yet: staff by position, nobody yet by power."""
    from . import factories as f

    world.unverified_staff = f.make_staff(
        world.kindergarten, "Сергей Новиков", verified=False, groups=[world.group]
    )
    return world.unverified_staff


def chat_world(world):
    """The group's chat with a message carrying a photo and a poll."""
    from pathlib import Path

    from flask import current_app
    from PIL import Image

    from sferum_lite import media
    from sferum_lite.actions.rules import default_rules
    from sferum_lite.extensions import db
    from sferum_lite.models import Attachment, Chat, ChatMember, Message, Poll, PollOption

    rules_id = default_rules(world.kindergarten.id).id
    chat = Chat(
        kindergarten_id=world.kindergarten.id,
        kind="group",
        title="Родители группы «Солнышко»",
        group_id=world.group.id,
        created_by_id=world.educator.id,
        rev=1,
        rules_id=rules_id,
    )
    db.session.add(chat)
    db.session.flush()
    db.session.add_all(
        [
            ChatMember(
                chat_id=chat.id,
                user_id=world.educator.id,
                is_moderator=True,
                rules_accepted_id=rules_id,
            ),
            ChatMember(chat_id=chat.id, user_id=world.parent.id, rules_accepted_id=rules_id),
        ]
    )
    message = Message(
        chat_id=chat.id,
        author_id=world.educator.id,
        text="Завтра утренник",
        important=True,
        rev=1,
        created_rev=1,
    )
    db.session.add(message)
    db.session.flush()
    image = Image.new("RGB", (40, 30), "green")
    photo = media.process_photo(_jpeg(image), "фото.jpg")
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    attachment = Attachment(
        message_id=message.id,
        kind="photo",
        stored_name=media.store(folder, photo.data, ".jpg"),
        thumb_name=media.store(folder, photo.thumb, ".jpg"),
        filename="фото.jpg",
        mime="image/jpeg",
        size=len(photo.data),
        width=photo.width,
        height=photo.height,
    )
    poll = Poll(message_id=message.id, question="Кто придёт?")
    db.session.add_all([attachment, poll])
    db.session.flush()
    db.session.add_all(
        [PollOption(poll_id=poll.id, position=i, text=t) for i, t in enumerate(("Да", "Нет"))]
    )
    chat.last_message_id = message.id
    db.session.commit()
    moderation_world(world, chat)
    return chat, message, attachment, poll


def moderation_world(world, chat):
    """A parent of the group blocked in the chat after four violations, who has apologised
    (the window for objections is open), and the parent's report of their message."""
    from datetime import timedelta

    from sferum_lite.extensions import db
    from sferum_lite.models import Block, ChatMember, Message, Report, Violation, utcnow

    from . import factories as f

    child = f.make_child(world.group, "Блинов", "Гоша")
    blocked = f.make_parent(world.kindergarten, "Ольга Блинова", children=[child])
    world.blocked_parent = blocked
    db.session.add(ChatMember(chat_id=chat.id, user_id=blocked.id, rules_accepted_id=chat.rules_id))
    rude = Message(chat_id=chat.id, author_id=blocked.id, text="Грубость", rev=2, created_rev=2)
    apology = Message(
        chat_id=chat.id, author_id=blocked.id, text="Простите", kind="apology", rev=3, created_rev=3
    )
    db.session.add_all([rude, apology])
    db.session.flush()
    now = utcnow()
    for _ in range(4):
        db.session.add(
            Violation(
                chat_id=chat.id,
                user_id=blocked.id,
                rules_id=chat.rules_id,
                clause=2,
                message_id=rude.id,
                created_by_id=world.educator.id,
            )
        )
    block = Block(
        chat_id=chat.id,
        user_id=blocked.id,
        rules_id=chat.rules_id,
        clause=2,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=7),
        created_by_id=world.educator.id,
        apology_message_id=apology.id,
        apology_at=now,
        objections_until=now + timedelta(hours=24),
    )
    report = Report(chat_id=chat.id, message_id=rude.id, reporter_id=world.parent.id)
    db.session.add_all([block, report])
    db.session.commit()
    world.block, world.report = block, report


def _jpeg(image) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, "JPEG")
    return buffer.getvalue()


def join_world(world, chat):
    """A live invite into the chat, and the other group's parent waiting to be admitted."""
    from datetime import timedelta

    from sferum_lite.actions.invites import new_chat_token
    from sferum_lite.extensions import db
    from sferum_lite.models import ChatInvite, JoinRequest, utcnow

    invite = ChatInvite(
        kindergarten_id=chat.kindergarten_id,
        chat_id=chat.id,
        token=new_chat_token(),
        created_by_id=world.educator.id,
        expires_at=utcnow() + timedelta(days=7),
    )
    db.session.add(invite)
    db.session.flush()
    request = JoinRequest(
        chat_id=chat.id,
        user_id=world.other_group_parent.id,
        invite_id=invite.id,
        child_last_name="Соколова",
        child_first_name="Ева",
        rules_id=chat.rules_id,
    )
    db.session.add(request)
    db.session.commit()
    return invite, request


def url_values(world, invite, chat=None, message=None, attachment=None, poll=None) -> dict:
    return {
        "chat_id": chat.id if chat else 1,
        "message_id": message.id if message else 1,
        "attachment_id": attachment.id if attachment else 1,
        "poll_id": poll.id if poll else 1,
        "request_id": 1,
        "filename": "app.css",
        "group_id": world.group.id,
        "child_id": world.child.id,
        "user_id": world.educator.id,
        "invite_id": invite.id,
        "token": invite.token,
        "member_id": world.parent.id,
        "block_id": getattr(world, "block", None) and world.block.id or 1,
        "report_id": getattr(world, "report", None) and world.report.id or 1,
    }


def routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_route_is_in_the_table(app):
    found = {(rule.endpoint, method) for rule, method in routes(app)}
    assert found - set(EXPECTED) == set(), "add these routes to EXPECTED"
    assert set(EXPECTED) - found == set(), "these routes are gone: remove them from EXPECTED"


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("endpoint,method", sorted(EXPECTED))
def test_route_answers_persona_as_expected(app, world, as_user, endpoint, method, persona):
    from .factories import make_staff_invite

    invite = make_staff_invite(world.kindergarten, world.admin)
    chat_objects = chat_world(world)
    chat_invite, join_request = join_world(world, chat_objects[0])
    unverified_world(world)
    rule = next(rule for rule in app.url_map.iter_rules() if rule.endpoint == endpoint)
    known = url_values(world, invite, *chat_objects)
    known["request_id"] = join_request.id
    if endpoint.startswith(("chat_invites.", "invites.chat_invite")):
        known.update(invite_id=chat_invite.id, token=chat_invite.token)
    values = {name: known[name] for name in rule.arguments}
    with app.test_request_context():
        from flask import url_for

        url = url_for(endpoint, **values)
    client = as_user(world.persona(persona))
    response = client.open(url, method=method, data={"matrix": "1"} if method == "POST" else None)
    response.close()
    assert response.status_code == EXPECTED[(endpoint, method)][persona], (
        f"{method} {url} as {persona}: {response.status_code}"
    )
