"""The chat list, creating chats from templates, settings (rename, archive), members, and
direct chats between an educator and a parent."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    render_template,
    request,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import chat_view, live, moderation_view, queries
from ..actions import ActionError
from ..actions.chats import (
    do_add_members,
    do_archive_chat,
    do_create_chat,
    do_rename_chat,
    do_restore_chat,
    do_start_direct_chat,
)
from ..extensions import db
from ..forms import AddMembersForm, ChatTitleForm, EmptyForm, NewChatForm, options
from ..permissions import (
    access_chat,
    can_add_parents,
    can_add_staff,
    can_archive_chat,
    can_create_chat,
    can_manage_chat,
    can_see_chat_log,
)
from ..templating import is_htmx
from . import action_failed, event_stream, page, see_other

bp = Blueprint("chats", __name__)


@bp.before_request
@login_required
def require_sign_in():
    return None


def _list_context(viewer, archived=False):
    """The list as `viewer` sees it (named, not taken from the request: a stream renders it)."""
    return {
        "rows": chat_view.chat_list(viewer, archived=archived),
        "archived": archived,
        "viewer": viewer,
    }


@bp.route("/chats")
def index():
    archived = request.args.get("archived") == "1"
    if is_htmx():
        return render_template("chats/_list.html", **_list_context(current_user, archived))
    contacts = [] if archived else queries.group_contacts(current_user)
    return page(
        "chats/index.html",
        contacts=contacts,
        removals=moderation_view.unseen_removals(current_user),
        **_list_context(current_user, archived),
    )


@bp.route("/chats/stream")
def list_stream():
    """The chat list, sent again whenever a chat of the kindergarten changes (SSE)."""

    def render(user):
        return render_template("chats/_list.html", **_list_context(user)), None

    return event_stream(
        [live.kindergarten_topic(current_user.kindergarten_id)],
        render,
        retry=2000,
    )


# --- creating ---------------------------------------------------------------------------------


@bp.route("/chats/new", methods=["GET", "POST"])
def new():
    if not can_create_chat(current_user):
        abort(403)
    templates = chat_view.chat_templates(current_user)
    form = NewChatForm()
    form.template.choices = options((key, t.label) for key, t in templates.items())
    if form.validate_on_submit():
        template = templates[form.template.data]
        try:
            chat = do_create_chat(
                current_user,
                kind=template.kind,
                title=form.title.data or template.title,
                group=template.group,
                members=template.members(),
            )
        except ActionError as error:
            action_failed(form, error)
        else:
            flash(_("Чат «%(title)s» создан.", title=chat.title), "success")
            return see_other("messages.chat", chat_id=chat.id)
    return page("chats/new.html", form=form, has_templates=bool(templates))


@bp.route("/chats/direct/<int:user_id>", methods=["POST"])
def direct(user_id):
    """Open (or make) the direct chat of an educator and a parent of their group."""
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    pair = queries.direct_pair(current_user, user_id)
    if pair is None:
        abort(404)
    chat = do_start_direct_chat(current_user, *pair)
    return see_other("messages.chat", chat_id=chat.id)


# --- settings and members -----------------------------------------------------------------------


def _settings_page(access, form=None, status=None):
    moderating = can_see_chat_log(access)
    return page(
        "chats/settings.html",
        access=access,
        form=form or ChatTitleForm(obj=access.chat, formdata=None),
        members=chat_view.chat_members(access.chat.id),
        violations=moderation_view.violation_counts(access.chat.id) if moderating else {},
        blocks=moderation_view.active_blocks(access.chat.id) if moderating else {},
        status=status,
    )


@bp.route("/chats/<int:chat_id>/settings", methods=["GET", "POST"])
def settings(chat_id):
    access = access_chat(current_user, chat_id)
    if request.method == "GET":
        return _settings_page(access)
    if not can_manage_chat(access):
        abort(403)
    form = ChatTitleForm()
    if form.validate_on_submit():
        do_rename_chat(current_user, access, form.title.data)
        flash(_("Название сохранено."), "success")
        return see_other("chats.settings", chat_id=chat_id)
    return _settings_page(access, form)


@bp.route("/chats/<int:chat_id>/archive", methods=["POST"])
def archive(chat_id):
    access = access_chat(current_user, chat_id)
    if not can_archive_chat(access):
        abort(403)
    return _one_click(access, do_archive_chat, _("Чат перенесён в архив: он доступен для чтения."))


@bp.route("/chats/<int:chat_id>/restore", methods=["POST"])
def restore(chat_id):
    access = access_chat(current_user, chat_id)
    if not can_archive_chat(access):
        abort(403)
    return _one_click(access, do_restore_chat, _("Чат возвращён из архива."))


def _one_click(access, action, done):
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        action(current_user, access)
    except ActionError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _settings_page(access, status=409)
    flash(done, "success")
    return see_other("chats.settings", chat_id=access.chat.id)


def _add_form(access):
    form = AddMembersForm()
    staff, parents = queries.addable_people(access.chat)
    choices = []
    if can_add_staff(access):
        choices += [(user.id, f"{user.name} — {user.position_label}") for user in staff]
    if can_add_parents(access):
        choices += [(user.id, _("%(name)s — родитель", name=user.name)) for user in parents]
    form.users.choices = options(choices)
    return form


@bp.route("/chats/<int:chat_id>/members", methods=["GET", "POST"])
def members(chat_id):
    access = access_chat(current_user, chat_id)
    if not can_add_staff(access):
        abort(403)
    form = _add_form(access)
    if form.validate_on_submit():
        allowed = {choice.value for choice in form.users.choices}
        people = queries.users_by_id(access.chat.kindergarten_id, set(form.users.data) & allowed)
        try:
            added = do_add_members(current_user, access, people)
        except ActionError as error:
            action_failed(form, error)
        else:
            flash(_("Добавлено участников: %(n)d.", n=added), "success")
            return see_other("chats.settings", chat_id=chat_id)
    return page("chats/members.html", access=access, form=form)
