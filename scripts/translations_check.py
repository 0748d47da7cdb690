"""Are the translation catalogs complete and compiled?

    uv run python scripts/translations_check.py

The source strings (msgids) are Russian. This extracts them from the code and templates in
memory (same babel.cfg and keywords as `pybabel extract`) and reports:

- a source string missing from en.po, or with an empty or fuzzy English translation;
- a plural string in ru.po without all three Russian forms (or ru.po's Plural-Forms not Russian);
- a placeholder such as %(num)d or %(name)s that differs between the msgid and a translation;
- a compiled .mo that does not match its .po (run `pybabel compile -d translations`).

Prints the problems and exits 1 if there are any. Importable: `problems()` returns them as a list.
"""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
BABEL_CFG = ROOT / "babel.cfg"
DOMAIN = "messages"

# Same as `pybabel extract -k _l -k lazy_gettext`: the defaults plus the lazy ones.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}

SOURCE_LOCALE = "ru"  # the msgids are Russian: only plurals need filling in ru.po
TARGET_LOCALES = ("en",)  # every entry must be translated
RU_PLURAL_FORMS = (
    "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && "
    "(n%100<10 || n%100>=20) ? 1 : 2);"
)

# printf-style conversion: %(name)s, %d, %.1f, ... ; "%%" is a literal percent sign.
_PLACEHOLDER = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?"
    r"(?P<type>[diouxXeEfFgGcrsa%])"
)


def source_catalog() -> Catalog:
    """The messages in the sources right now, as `pybabel extract` would collect them."""
    with open(BABEL_CFG, encoding="utf-8") as fileobj:
        method_map, options_map = parse_mapping_cfg(fileobj, filename=str(BABEL_CFG))
    catalog = Catalog(locale=None, domain=DOMAIN)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def placeholders(text: str) -> set[str]:
    return {m.group(0) for m in _PLACEHOLDER.finditer(text) if m.group("type") != "%"}


def _po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def _shown_path(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def _load_po(locale: str) -> Catalog | None:
    path = _po_path(locale)
    if not path.is_file():
        return None
    with open(path, "rb") as fileobj:
        return read_po(fileobj, locale=locale, domain=DOMAIN)


def _show(msgid) -> str:
    return repr(msgid[0] if isinstance(msgid, (tuple, list)) else msgid)


def _forms(value) -> list[str]:
    if isinstance(value, (tuple, list)):
        return [form or "" for form in value]
    return [value or ""]


def _check_placeholders(name: str, message) -> list[str]:
    ids = _forms(message.id)
    expected = set().union(*(placeholders(text) for text in ids))
    # A msgid without placeholders is not %-formatted, so a bare "%" in it is just text;
    # only a named placeholder appearing in its translation is then a mistake.
    formatted = bool(message.python_format or expected)
    found = []
    for index, form in enumerate(_forms(message.string)):
        if not form:
            continue  # an empty form is reported elsewhere (or falls back to the msgid)
        got = placeholders(form)
        if not formatted:
            got = {token for token in got if token.startswith("%(")}
        if got != expected:
            where = f" (form {index})" if isinstance(message.id, (tuple, list)) else ""
            found.append(
                f"{name}: placeholders differ for {_show(message.id)}{where}: "
                f"msgid has {sorted(expected)}, translation has {sorted(got)}"
            )
    return found


def _check_target(locale: str, catalog: Catalog | None, source: Catalog) -> list[str]:
    name = f"{locale}.po"
    if catalog is None:
        return [f"{name}: missing ({_shown_path(_po_path(locale))})"]
    found = []
    if catalog.fuzzy:
        found.append(f"{name}: the whole catalog is marked fuzzy (pybabel compile would skip it)")
    for wanted in source:
        if not wanted.id:
            continue
        message = catalog.get(wanted.id, wanted.context)
        if message is None:
            found.append(f"{name}: missing {_show(wanted.id)}")
            continue
        if wanted.pluralizable != message.pluralizable or (
            wanted.pluralizable and tuple(wanted.id) != tuple(message.id)
        ):
            found.append(f"{name}: plural forms of {_show(wanted.id)} differ from the source")
            continue
        if message.fuzzy:
            found.append(f"{name}: fuzzy translation of {_show(wanted.id)}")
        forms = _forms(message.string)
        if wanted.pluralizable and len(forms) != catalog.num_plurals:
            found.append(
                f"{name}: {_show(wanted.id)} has {len(forms)} plural forms, "
                f"needs {catalog.num_plurals}"
            )
        if not all(form.strip() for form in forms):
            found.append(f"{name}: empty translation of {_show(wanted.id)}")
    for message in catalog:
        if message.id and message.string:
            found.extend(_check_placeholders(name, message))
    return found


def _check_source_locale(catalog: Catalog | None, source: Catalog) -> list[str]:
    name = f"{SOURCE_LOCALE}.po"
    if catalog is None:
        return [f"{name}: missing ({_shown_path(_po_path(SOURCE_LOCALE))})"]
    found = []
    if catalog.fuzzy:
        found.append(f"{name}: the whole catalog is marked fuzzy (pybabel compile would skip it)")
    header = " ".join(catalog.plural_forms.split())
    if header != " ".join(RU_PLURAL_FORMS.split()):
        found.append(f"{name}: Plural-Forms is {header!r}, expected {RU_PLURAL_FORMS!r}")
    for wanted in source:
        if wanted.id and wanted.pluralizable:
            message = catalog.get(wanted.id, wanted.context)
            if message is None or not message.pluralizable:
                found.append(f"{name}: missing plural {_show(wanted.id)}")
            elif tuple(message.id) != tuple(wanted.id):
                found.append(f"{name}: plural forms of {_show(wanted.id)} differ from the source")
    for message in catalog:
        if not message.id:
            continue
        if message.fuzzy and (message.pluralizable or message.string):
            found.append(f"{name}: fuzzy translation of {_show(message.id)}")
        if message.pluralizable:
            forms = _forms(message.string)
            if len(forms) != 3 or not all(form.strip() for form in forms):
                found.append(f"{name}: plural {_show(message.id)} needs all three Russian forms")
        if message.string:
            found.extend(_check_placeholders(name, message))
    return found


def _mo_pairs(catalog: Catalog) -> dict:
    """What gettext will see: (context, id) -> string, plus the plural rule from the header."""
    pairs = {}
    for message in catalog:
        if not message.id:
            headers = dict(catalog.mime_headers)
            pairs["Plural-Forms"] = headers.get("Plural-Forms")
            continue
        key = (message.context, tuple(_forms(message.id)))
        pairs[key] = tuple(_forms(message.string))
    return pairs


def _check_compiled(locale: str, catalog: Catalog) -> list[str]:
    mo_path = _po_path(locale).with_suffix(".mo")
    name = f"{locale}/LC_MESSAGES/{mo_path.name}"
    if not mo_path.is_file():
        return [f"{name}: missing — run pybabel compile -d translations"]
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    on_disk = mo_path.read_bytes()
    if compiled.getvalue() == on_disk:
        return []
    # The bytes can differ for harmless reasons (another Babel version in the header);
    # compare what gettext would actually look up.
    compiled.seek(0)
    expected = _mo_pairs(read_mo(compiled))
    actual = _mo_pairs(read_mo(io.BytesIO(on_disk)))
    if expected != actual:
        return [f"{name}: out of date with its .po — run pybabel compile -d translations"]
    return []


def problems() -> list[str]:
    source = source_catalog()
    found: list[str] = []
    locales = sorted(p.parent.parent.name for p in TRANSLATIONS.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    catalogs = {locale: _load_po(locale) for locale in {*locales, SOURCE_LOCALE, *TARGET_LOCALES}}
    for locale in TARGET_LOCALES:
        found.extend(_check_target(locale, catalogs[locale], source))
    found.extend(_check_source_locale(catalogs[SOURCE_LOCALE], source))
    for locale in sorted(catalogs):
        if catalogs[locale] is not None:
            found.extend(_check_compiled(locale, catalogs[locale]))
    return found


def main() -> int:
    found = problems()
    for problem in found:
        print(problem)
    if found:
        print(f"{len(found)} translation problem(s).", file=sys.stderr)
        return 1
    print("Translations are complete and compiled.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
