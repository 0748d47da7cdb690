"""A chat's page and everything done on its messages, with live updates.

Live updates: every change to a chat bumps its revision. A page knows the revision it was
rendered at; the SSE stream (and, without it, a poll every few seconds) sends what changed since,
as htmx partials: new messages are appended, changed ones replaced in place. The stream's event
ids are revisions, so a reconnecting browser (Last-Event-ID) gets exactly what it missed.
"""

from __future__ import annotations

import math
import secrets
from datetime import UTC, datetime, timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    render_template,
    request,
    send_file,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter.errors import RateLimitExceeded
from flask_login import current_user, login_required

from .. import chat_view, live, media, moderation_view, queries
from ..actions import ActionError
from ..actions.messages import (
    PollSpec,
    Upload,
    do_confirm,
    do_delete_message,
    do_edit_message,
    do_mark_read,
    do_post_message,
    do_set_important,
    do_set_pinned,
    do_toggle_reaction,
    do_vote,
    upload_dir,
)
from ..database import storage_trouble
from ..errors import storage_failed
from ..extensions import db, limiter
from ..forms import (
    EditMessageForm,
    EmptyForm,
    MessageForm,
    ReactionForm,
    ReadForm,
    VoteForm,
    db_int,
)
from ..i18n import from_local, local_datetime, quiet_hours_note
from ..permissions import (
    access_attachment,
    access_chat,
    access_message,
    access_poll,
    can_admit,
    can_confirm,
    can_delete_message,
    can_edit_message,
    can_mark_important,
    can_pin,
    can_post,
    can_see_chat_log,
    can_see_confirmations,
    can_see_edits,
    can_take_part,
    is_blocked,
    is_parent,
    is_trusted_staff,
    must_accept_rules,
)
from ..templating import is_htmx
from ..uploads import content_disposition
from . import event_stream, page, see_other

bp = Blueprint("messages", __name__)


@bp.before_request
@login_required
def require_sign_in():
    return None


# --- the chat page ------------------------------------------------------------------------------


def _composer(access, form=None, reply=None):
    """The composer's context: an empty form with a new token for the next message, or the
    form as it was sent, with its token (the same message sent again is the same message)."""
    show_quiet = is_parent(access.user) and not is_trusted_staff(access.user)
    if form is None:
        form = MessageForm(formdata=None)
    fresh = bool(form.client_token.errors or not form.client_token.data)
    if fresh:
        form.client_token.data = secrets.token_urlsafe(16)  # app.js puts its own in its place
    typed = form.text.data or ""  # a composer that comes back shows what it holds, not a line
    rows = sum(1 + len(line) // 30 for line in typed.splitlines())
    return {
        "form": form,
        "fresh_token": fresh,
        "text_rows": min(max(rows, 1), 6),
        "reply": reply,
        "quiet_note": quiet_hours_note(access.chat.kindergarten_id) if show_quiet else None,
    }


def chat_page(access, *, form=None, reply=None, status=None):
    """The chat as this person sees it; other areas answer a refusal with it and a flash."""
    chat = access.chat
    rev = chat.rev  # read before the messages: whatever comes later arrives as an update
    messages, more = chat_view.latest_messages(chat.id)
    return page(
        "chats/chat.html",
        access=access,
        chat=chat,
        rev=rev,
        views=chat_view.message_views(access.user, messages),
        more=more,
        pinned=chat_view.pinned_messages(chat.id),
        divider=chat_view.first_unread(access, messages),
        members=chat_view.member_count(chat.id),
        partner=chat_view.direct_partner(access) if chat.kind == "direct" else None,
        newest=messages[-1].id if messages else 0,
        waiting=queries.waiting_count(chat.id) if can_admit(access) else 0,
        open_reports=moderation_view.open_report_count(chat.id) if can_see_chat_log(access) else 0,
        my_violations=moderation_view.violation_count(chat.id, access.user.id)
        if access.is_member
        else 0,
        status=status,
        **_composer(access, form, reply),
    )


@bp.route("/chats/<int:chat_id>")
def chat(chat_id):
    access = access_chat(current_user, chat_id)
    reply = None
    reply_id = request.args.get("reply", type=db_int)
    if reply_id and can_post(access):
        reply = _reply_in(access, reply_id)
    return chat_page(access, reply=reply)


def _reply_in(access, message_id):
    message = chat_view.message_in_chat(access.chat.id, message_id)
    if message is None or message.is_deleted:
        return None
    return message


DB_INT_MAX = 2**31 - 1  # the largest id or revision an INTEGER column holds


@bp.route("/chats/<int:chat_id>/earlier")
def earlier(chat_id):
    """Older messages: «Показать ранее»."""
    access = access_chat(current_user, chat_id)
    before = request.args.get("before", type=int)
    if before is None or before < 1:
        abort(400)
    before = min(before, DB_INT_MAX)  # no id is larger (PostgreSQL refuses a larger number)
    messages, more = chat_view.latest_messages(access.chat.id, before=before)
    context = {
        "access": access,
        "views": chat_view.message_views(access.user, messages),
        "more": more,
        "chat": access.chat,
    }
    if is_htmx():
        return render_template("chats/_earlier.html", **context)
    return page("chats/earlier.html", **context)


# --- posting ------------------------------------------------------------------------------------


def _uploads(files) -> tuple[list[Upload], str | None]:
    """Checked uploads, or the first problem found (nothing is stored before all pass)."""
    uploads = []
    photos = 0
    for storage in files:
        if not storage or not storage.filename:
            continue
        name = media.clean_filename(storage.filename)
        try:
            data = media.read_limited(storage.stream, media.FILE_MAX_BYTES, name=name)
            if media.is_photo(data):
                photos += 1
                if photos > media.MAX_PHOTOS:
                    return [], _("Не больше %(n)d фото в одном сообщении.", n=media.MAX_PHOTOS)
                uploads.append(Upload(name, photo=media.process_photo(data, name)))
            else:
                uploads.append(Upload(name, data=data, document=media.sniff_document(data, name)))
        except media.MediaError as error:
            return [], str(error)
    return uploads, None


# Every photo is decoded and re-encoded (media.decode_turn): one person's posts with files are
# counted, by the person, not the address (a kindergarten's parents share a few addresses). The
# count is taken here, in the view, once the form has been read and only when it carries files:
# a post without files never counts and is never refused by it; nobody gets here signed out.
posts_with_files = limiter.limit(
    lambda: current_app.config["POSTS_WITH_FILES_LIMIT"],
    key_func=lambda: f"person:{current_user.id}",
    scope="posts-with-files",
    exempt_when=lambda: not current_user.is_authenticated,
)


def _has_files(files) -> bool:
    return any(storage and storage.filename for storage in files)


def _count_post_with_files() -> None:
    """One more post with files for the signed-in person; RateLimitExceeded when over."""
    with posts_with_files:  # entering counts it (in the limiter's storage) or raises
        pass


def _composer_too_many(access, form, reply, exceeded: RateLimitExceeded):
    """Over the person's limit of posts with files: 429, and the composer comes back with the
    text and the time when files may be sent again."""
    now = datetime.now(UTC)
    try:
        reset = datetime.fromtimestamp(limiter.current_limit.reset_at, UTC)
    except Exception:  # the limit's storage away: its window from now, at the latest
        reset = now + timedelta(seconds=exceeded.limit.limit.get_expiry())
    reset = max(reset, now)
    shown = reset.replace(second=0, microsecond=0)
    if shown < reset:  # in whole minutes: the next one
        shown += timedelta(minutes=1)
    form.form_errors.append(
        _(
            "Слишком много сообщений с фото и файлами за короткое время. Следующее с вложениями "
            "можно отправить в %(time)s, без вложений — уже сейчас.",
            time=local_datetime(shown, "HH:mm"),
        )
    )
    if not is_htmx():
        form.form_errors.append(_("Фото не отправлены — выберите их снова"))
    response = current_app.make_response(_composer_response(access, form, reply, status=429))
    response.headers["Retry-After"] = str(max(1, math.ceil((reset - now).total_seconds())))
    return response


def _poll(form) -> PollSpec | None:
    if not form.has_poll():
        return None
    closes = form.poll_closes.data
    return PollSpec(
        question=form.poll_question.data,
        options=form.options(),
        multiple=form.poll_multiple.data,
        anonymous=form.poll_anonymous.data,
        closes_at=from_local(closes) if isinstance(closes, datetime) else None,
    )


def _composer_failed(access, form, message, reply=None):
    form.form_errors.append(message)
    return _composer_response(access, form, reply, status=422)


def _composer_refused(access):
    """A post by a blocked member (reg 004 §24), or before accepting the chat's current rules
    (§22): refused, and the composer turns into the banner that says why; nothing typed is
    stored."""
    if is_blocked(access):
        message = _("Вы заблокированы в этом чате: писать в него пока нельзя.")
    else:
        message = _("Сначала примите правила чата — они изменились или вы их ещё не принимали.")
    if is_htmx():
        html = render_template("chats/_composer_area.html", access=access, **_composer(access))
        response = current_app.make_response((html, 403))
        response.headers["HX-Retarget"] = "#composer"
        response.headers["HX-Reswap"] = "outerHTML"
        return response
    flash(message, "error")
    return chat_page(access, status=403)


def _composer_response(access, form, reply, status):
    if is_htmx():
        html = render_template(
            "chats/_composer.html", access=access, **_composer(access, form, reply)
        )
        response = current_app.make_response((html, status))
        response.headers["HX-Retarget"] = "#composer"
        response.headers["HX-Reswap"] = "outerHTML"
        return response
    return chat_page(access, form=form, reply=reply, status=status)


NOT_SENT = {
    "full": _l("Сообщение не отправлено: на сервере закончилось место — попробуйте позже"),
    "readonly": _l("Сообщение не отправлено: сервер сейчас не может сохранять — попробуйте позже"),
    "busy": _l("Сообщение не отправлено: сервер занят — попробуйте ещё раз через минуту"),
    "unavailable": _l("Сообщение не отправлено: сервер занят — попробуйте ещё раз через минуту"),
}


def _composer_unsaved(access, form, reply, trouble: str, *, with_files: bool):
    """The server's storage failed (full, read-only, busy): 503, and the composer comes back
    with everything typed. htmx keeps the chosen files in the page (app.js); a page without
    JavaScript can't be given them back, and says so."""
    form.form_errors.append(NOT_SENT[trouble])
    if with_files and not is_htmx():
        form.form_errors.append(_("Фото не отправлены — выберите их снова"))
    response = current_app.make_response(_composer_response(access, form, reply, status=503))
    response.headers["Retry-After"] = "30"
    return response


@bp.route("/chats/<int:chat_id>/messages", methods=["POST"])
def post(chat_id):
    access = access_chat(current_user, chat_id)
    if is_blocked(access) or must_accept_rules(access):
        return _composer_refused(access)
    if not can_post(access):
        abort(403)
    try:
        form = MessageForm()  # reads the body: a large file is spooled to a temporary file
    except OSError as error:
        trouble = storage_trouble(error)
        if trouble is None or not is_htmx():
            raise  # without JavaScript: the 503 page; the browser's back keeps the text
        # Nothing of the form could be read, so no composer can be drawn: the one on the page
        # stays as it is, with its text and files, and the reason shows above it.
        storage_failed(error, trouble)
        return _toast(NOT_SENT[trouble], 503)
    reply = None
    if form.reply_to.data:
        reply = _reply_in(access, form.reply_to.data)
    if not form.validate_on_submit():
        form.form_errors.extend(form.client_token.errors)  # a hidden field: said above the form
        return _composer_response(access, form, reply, status=422)
    files = request.files.getlist("files")
    if _has_files(files):
        try:
            _count_post_with_files()
        except RateLimitExceeded as exceeded:
            return _composer_too_many(access, form, reply, exceeded)
    uploads, problem = _uploads(files)
    if problem:
        return _composer_failed(access, form, problem, reply)
    poll = _poll(form)
    if not form.text.data and not uploads and poll is None:
        form.text.errors = [_("Напишите сообщение, приложите фото или файл.")]
        return _composer_response(access, form, reply, status=422)
    important = form.important.data and can_mark_important(access)
    try:
        message = do_post_message(
            current_user,
            access,
            text=form.text.data,
            reply_to=reply,
            important=important,
            uploads=uploads,
            poll=poll,
            client_token=form.client_token.data or None,
        )
    except ActionError as error:
        return _composer_failed(access, form, error.message, reply)
    except Exception as error:
        trouble = storage_trouble(error)
        if trouble is None:
            raise  # not the storage: a bug, and a 500
        storage_failed(error, trouble)
        return _composer_unsaved(access, form, reply, trouble, with_files=bool(uploads))
    if is_htmx():
        access = access_chat(current_user, chat_id)
        views = chat_view.message_views(current_user, [message])
        return render_template(
            "chats/_posted.html", access=access, views=views, **_composer(access)
        )
    return see_other("messages.chat", chat_id=chat_id, _anchor=f"m-{message.id}")


# --- one message --------------------------------------------------------------------------------


def _message_response(access, message, status=200):
    """The message as it is now: the fragment for htmx, the chat page for a browser."""
    if is_htmx():
        db.session.expire_all()  # `message` reloads as it is now
        view = chat_view.message_views(access.user, [message])[0]
        return render_template("chats/_message.html", access=access, view=view), status
    return see_other("messages.chat", chat_id=access.chat.id, _anchor=f"m-{message.id}")


def _toast(message, status):
    """For htmx: `message` in the chat's #toast; the rest of the page stays as it is."""
    response = current_app.make_response(
        (render_template("errors/_inline.html", message=message), status)
    )
    response.headers["HX-Retarget"] = "#toast"
    response.headers["HX-Reswap"] = "innerHTML"
    return response


def _refused(access, message, error: ActionError, status=409):
    db.session.rollback()
    if is_htmx():
        return _toast(error.message, status)
    flash(error.message, "error")
    return chat_page(access_chat(current_user, access.chat.id), status=status)


def _checked(form):
    if not form.validate_on_submit():
        abort(400)


@bp.route("/messages/<int:message_id>/edit", methods=["GET", "POST"])
def edit(message_id):
    access, message = access_message(current_user, message_id)
    if not can_edit_message(access, message):
        abort(403)
    form = EditMessageForm(obj=message) if request.method == "GET" else EditMessageForm()
    if form.validate_on_submit():
        try:
            do_edit_message(current_user, access, message, form.text.data)
        except ActionError as error:
            return _refused(access, message, error)
        return _message_response(access, message)
    status = 422 if form.errors else 200
    template = "chats/_edit.html" if is_htmx() else "chats/edit.html"
    return page(template, access=access, message=message, form=form, status=status)


@bp.route("/messages/<int:message_id>/history")
def history(message_id):
    access, message = access_message(current_user, message_id)
    if not can_see_edits(access, message):
        abort(403)
    versions = chat_view.earlier_versions(message)
    return page("chats/history.html", access=access, message=message, versions=versions)


@bp.route("/messages/<int:message_id>/delete", methods=["POST"])
def delete(message_id):
    access, message = access_message(current_user, message_id)
    if not can_delete_message(access, message):
        abort(403)
    _checked(EmptyForm())
    try:
        do_delete_message(current_user, access, message)
    except ActionError as error:
        return _refused(access, message, error)
    return _message_response(access, message)


@bp.route("/messages/<int:message_id>/react", methods=["POST"])
def react(message_id):
    access, message = access_message(current_user, message_id)
    if not can_take_part(access):
        abort(403)
    form = ReactionForm()
    _checked(form)
    try:
        do_toggle_reaction(current_user, access, message, form.emoji.data)
    except ActionError as error:
        return _refused(access, message, error, status=422)
    return _message_response(access, message)


@bp.route("/messages/<int:message_id>/pin", methods=["POST"])
def pin(message_id):
    access, message = access_message(current_user, message_id)
    if not can_pin(access):
        abort(403)
    _checked(EmptyForm())
    pinned = request.form.get("pinned", "1") == "1"
    try:
        do_set_pinned(current_user, access, message, pinned)
    except ActionError as error:
        return _refused(access, message, error)
    return _message_response(access, message)


@bp.route("/messages/<int:message_id>/important", methods=["POST"])
def important(message_id):
    access, message = access_message(current_user, message_id)
    if not (can_mark_important(access) and message.author_id == current_user.id):
        abort(403)
    _checked(EmptyForm())
    try:
        do_set_important(current_user, access, message, request.form.get("important") == "1")
    except ActionError as error:
        return _refused(access, message, error)
    return _message_response(access, message)


@bp.route("/messages/<int:message_id>/confirm", methods=["POST"])
def confirm(message_id):
    access, message = access_message(current_user, message_id)
    if not can_confirm(access):
        abort(403)
    _checked(EmptyForm())
    try:
        do_confirm(current_user, access, message)
    except ActionError as error:
        return _refused(access, message, error)
    return _message_response(access, message)


@bp.route("/messages/<int:message_id>/confirmations")
def confirmations(message_id):
    access, message = access_message(current_user, message_id)
    if not message.important or not can_see_confirmations(access, message):
        abort(404 if not message.important else 403)
    done, waiting = chat_view.confirmations(message)
    return page(
        "chats/confirmations.html", access=access, message=message, done=done, waiting=waiting
    )


@bp.route("/polls/<int:poll_id>/vote", methods=["POST"])
def vote(poll_id):
    access, message, poll = access_poll(current_user, poll_id)
    if not can_take_part(access):
        abort(403)
    form = VoteForm()
    _checked(form)
    try:
        do_vote(current_user, access, poll, form.options.data or [])
    except ActionError as error:
        return _refused(access, message, error, status=422)
    return _message_response(access, message)


@bp.route("/chats/<int:chat_id>/read", methods=["POST"])
def read(chat_id):
    access = access_chat(current_user, chat_id)
    form = ReadForm()
    if not form.validate_on_submit():
        abort(400)
    if access.member is not None:
        do_mark_read(current_user, access, form.last.data)
    return "", 204


# --- files --------------------------------------------------------------------------------------


def _send(attachment, stored_name, *, inline):
    path = media.stored_path(upload_dir(), stored_name)
    if not path.exists():
        abort(404)
    response = send_file(path, mimetype=attachment.mime, conditional=True, max_age=0)
    response.headers["Content-Disposition"] = content_disposition(
        attachment.filename, inline=inline
    )
    response.headers["Cache-Control"] = "private, max-age=86400"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if not inline:
        response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.route("/files/<int:attachment_id>")
def attachment(attachment_id):
    access, attachment = access_attachment(current_user, attachment_id)
    return _send(attachment, attachment.stored_name, inline=attachment.kind == "photo")


@bp.route("/files/<int:attachment_id>/thumb")
def thumbnail(attachment_id):
    access, attachment = access_attachment(current_user, attachment_id)
    if attachment.thumb_name is None:
        abort(404)
    return _send(attachment, attachment.thumb_name, inline=True)


# --- live ---------------------------------------------------------------------------------------


def _cursor(raw) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        abort(400)
    if value < 0 or value > 2**62:
        abort(400)
    return min(value, DB_INT_MAX)  # no revision is larger


def _updates(access, after: int) -> tuple[str, int]:
    """What changed in the chat since revision `after`, as htmx partials, and the new
    revision ('' when nothing changed)."""
    messages = chat_view.changed_since(access.chat.id, after)
    if not messages:
        return "", after
    rev = max(m.rev for m in messages)
    html = render_template(
        "chats/_updates.html",
        access=access,
        chat=access.chat,
        views=chat_view.message_views(access.user, messages),
        after=after,
        rev=rev,
        pinned=chat_view.pinned_messages(access.chat.id),
        newest=max(m.id for m in messages),
    )
    return html, rev


@bp.route("/chats/<int:chat_id>/updates")
def updates(chat_id):
    """The polling fallback: 204 when nothing changed."""
    access = access_chat(current_user, chat_id)
    html, _rev = _updates(access, _cursor(request.args.get("after")))
    if not html:
        return "", 204
    return html


def _composer_state(access) -> tuple:
    """What decides the bottom of the chat: posting, the rules to accept, a block and its
    apology. A moderator's own typing is never swapped away while they may post."""
    block = access.block
    return (
        can_post(access),
        must_accept_rules(access),
        block.id if block else None,
        block.apology_at if block else None,
    )


@bp.route("/chats/<int:chat_id>/stream")
def stream(chat_id):
    """Server-sent events: what changes in the chat, as it happens, from the revision the page
    (or, on a reconnect, the last event) had; the access is checked again for every batch."""
    composer_seen = _composer_state(access_chat(current_user, chat_id))
    after = _cursor(request.headers.get("Last-Event-ID") or request.args.get("after"))

    def render(user):
        nonlocal after, composer_seen
        access = access_chat(user, chat_id)
        html, after = _updates(access, after)
        state = _composer_state(access)
        if state != composer_seen:  # new rules, a block or its end: the composer follows
            composer_seen = state
            area = render_template("chats/_composer_area.html", access=access, **_composer(access))
            html += f'<hx-partial hx-target="#composer" hx-swap="outerHTML">{area}</hx-partial>'
        return html, after

    return event_stream([live.chat_topic(chat_id)], render, at_once=True)
