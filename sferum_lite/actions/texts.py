"""The kindergarten's versioned texts written by the administration: the consent to
personal-data processing (152-FZ). The default chat rules are in actions/rules.py."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..database import begin_write
from ..extensions import db
from ..models import ConsentText, User
from ..security import clean_message
from . import ActionError
from .audit import record


def do_change_consent(actor: User, text: str) -> ConsentText:
    """A new version of the consent text. Who registers from now on consents to it; the
    consents already given stay tied to the versions people read."""
    kindergarten_id = actor.kindergarten_id
    begin_write(f"consent-{kindergarten_id}")
    current = db.session.scalar(
        select(ConsentText)
        .where(ConsentText.kindergarten_id == kindergarten_id)
        .order_by(ConsentText.version.desc())
        .limit(1)
    )
    if not clean_message(text):
        raise ActionError(_("Напишите текст согласия."), field="text")
    # compared as the form cleans it: the stored first version ends with a line break that a
    # browser's textarea sends back without, and that is no change
    if current is not None and clean_message(current.text) == clean_message(text):
        raise ActionError(_("Текст согласия не изменился."), field="text")
    version = (
        db.session.scalar(
            select(func.max(ConsentText.version)).where(
                ConsentText.kindergarten_id == kindergarten_id
            )
        )
        or 0
    ) + 1
    consent_text = ConsentText(
        kindergarten_id=kindergarten_id, version=version, text=text, created_by_id=actor.id
    )
    db.session.add(consent_text)
    record(actor, "consent.changed", consent_text, version=version)
    db.session.commit()
    return consent_text
