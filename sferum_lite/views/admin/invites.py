"""Every live invite of the kindergarten, chat and staff, in one list; annul the chosen ones or
every one nobody has used yet (reg 000 §2.2, 003 §2.2)."""

from __future__ import annotations

from flask import current_app, flash
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy.orm import selectinload

from ... import queries
from ...actions.invites import do_annul_invites
from ...extensions import db
from ...forms import AnnulInvitesForm
from ...models import Chat, ChatInvite
from .. import page, see_other
from . import bp

CHAT_INVITE_PAGE = "chat_invites.show"


def live_invites(kindergarten_id: int) -> list[tuple[str, object]]:
    """('chat' | 'staff', invite) for every live invite, newest first — four queries whatever
    their number: chat invites, their chats with groups and makers; staff invites and makers.
    Staff invites that make an administrator are listed to everyone here: «annul all unused»
    annuls them too, so whoever presses it sees what goes."""
    chat_invites = db.session.scalars(
        queries.live_chat_invites(kindergarten_id).options(
            selectinload(ChatInvite.chat).selectinload(Chat.group)
        )
    ).all()
    staff_invites = db.session.scalars(
        queries.staff_invites(kindergarten_id, live=True, with_admin=True)
    ).all()
    rows = [("chat", invite) for invite in chat_invites]
    rows += [("staff", invite) for invite in staff_invites]
    rows.sort(key=lambda row: (row[1].created_at, row[0], row[1].id), reverse=True)
    return rows


def invites_page(form: AnnulInvitesForm, *, status: int | None = None):
    return page(
        "admin/invites.html",
        form=form,
        rows=live_invites(current_user.kindergarten_id),
        # the chat invite's own page lives in the chat_invites area; link to it when it is there
        chat_invite_pages=CHAT_INVITE_PAGE in current_app.view_functions,
        status=status,
    )


@bp.route("/invites")
def invites():
    return invites_page(AnnulInvitesForm(formdata=None))


@bp.route("/invites/annul", methods=["POST"])
def invites_annul():
    form = AnnulInvitesForm()
    if not form.validate_on_submit():
        return invites_page(form, status=422)
    annulled = do_annul_invites(
        current_user,
        chat_invite_ids=form.chat.data,
        staff_invite_ids=form.staff.data,
        all_unused=form.all_unused.data,
    )
    if annulled:
        flash(
            ngettext(
                "Аннулировано приглашений: %(num)d.",
                "Аннулировано приглашений: %(num)d.",
                annulled,
            ),
            "success",
        )
    elif form.all_unused.data:
        flash(_("Неиспользованных действующих приглашений нет — аннулировать нечего."), "info")
    else:
        flash(_("Выбранные приглашения уже не действовали — аннулировать было нечего."), "info")
    return see_other("admin.invites")
