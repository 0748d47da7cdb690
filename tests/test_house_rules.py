"""Rules that hold everywhere, checked on the code itself."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from wtforms import Field, FileField, Form
from wtforms.validators import Length

from sferum_lite import forms

ROOT = Path(__file__).resolve().parent.parent


def test_views_never_fetch_objects_directly():
    """Objects are loaded through access_*(), which answers 404 for missing and not-yours."""
    offenders = []
    for path in (ROOT / "sferum_lite" / "views").rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"db\.session\.get\(|\.query\.get\(|\.get_or_404\(", line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_templates_never_mark_text_safe_and_have_no_inline_script():
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        assert not re.search(r"\|\s*safe\b", text), path
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), path
        assert not re.search(r"\son[a-z]+\s*=", text), path  # no inline event handlers
        assert "style=" not in text, path  # the CSP forbids inline styles too


def test_every_text_input_has_a_length_limit():
    """SQLite ignores VARCHAR sizes: each text field must limit its length in the form."""
    for name, form_class in inspect.getmembers(forms, inspect.isclass):
        if not issubclass(form_class, Form) or form_class.__module__ != forms.__name__:
            continue
        for field_name, unbound in form_class.__dict__.items():
            if not hasattr(unbound, "field_class"):
                continue
            field_class = unbound.field_class
            if not issubclass(field_class, Field) or issubclass(field_class, FileField):
                continue
            if field_class.__name__ not in {
                "StringField",
                "PasswordField",
                "LoginField",
                "NewPasswordField",
                "HiddenField",
                "TextAreaField",
            }:
                continue
            validators = unbound.kwargs.get("validators", [])
            limited = any(isinstance(v, Length) and v.max and v.max > 0 for v in validators)
            limited = limited or forms.child_name in validators  # checks roster.NAME_MAX
            if field_class.__name__ == "NewPasswordField":
                limited = True  # password_problem() refuses more than PASSWORD_MAX
            if field_class.__name__ == "HiddenField" and field_name == "next":
                limited = True  # safe_next() refuses more than 500 characters
            if field_class.__name__ == "HiddenField" and field_name == "content":
                limited = True  # the roster text: re-parsed with its own limits
            assert limited, f"{name}.{field_name} has no length limit"
