"""Children's names and the roster CSV: pure functions, no database.

A roster file is what Russian Excel writes: «CSV (разделители — запятые)», which in a Russian
locale means `;` between columns and Windows-1251, or UTF-8 (with or without BOM) with `;` or
`,`. The first row names the columns: Фамилия; Имя; Группа (English headers work too).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field

from flask_babel import format_decimal
from flask_babel import gettext as _

from .security import clean_text

NAME_MAX = 60
CSV_MAX_BYTES = 1024 * 1024
CSV_MAX_ROWS = 2000

# A name: letters (any alphabet, with their accents), single spaces, hyphens, apostrophes, dots;
# it starts and ends with a letter.
_NAME_RE = re.compile(r"^[^\W\d_](?:[^\W\d_]|[ '’.\-](?=[^\W\d_])|\.$)*$")

HEADERS = {
    "last_name": {
        "фамилия",
        "фамилия ребёнка",
        "фамилия ребенка",
        "last name",
        "last_name",
        "surname",
    },
    "first_name": {"имя", "имя ребёнка", "имя ребенка", "first name", "first_name", "name"},
    "group": {"группа", "group"},
}


def fold(value: str) -> str:
    """Case-, ё/е- and spacing-insensitive form of a name, for matching and duplicates."""
    value = unicodedata.normalize("NFC", clean_text(value)).casefold().replace("ё", "е")
    value = re.sub(r"\s*-\s*", "-", value)
    return value.replace("’", "'")


def name_key(last_name: str, first_name: str) -> str:
    return f"{fold(last_name)} {fold(first_name)}"


# Latin letters that look like Cyrillic ones, as a phone keyboard on the wrong layout types them
_LOOKALIKES = str.maketrans("aceopxykmthb", "асеорхукмтнв")


def skeleton(key: str) -> str:
    """A folded name with Latin look-alikes read as Cyrillic: «Ивaнoва» (Latin a, o) and
    «Иванова» are one name. Applied to both sides of a comparison, never stored."""
    return key.translate(_LOOKALIKES)


def same_child(key: str, last_name: str, first_name: str) -> bool:
    """Does a roster `name_key` name the child typed as surname and first name (in either
    order, as people do mix them up)?"""
    roster = skeleton(key)
    return roster in (
        skeleton(name_key(last_name, first_name)),
        skeleton(name_key(first_name, last_name)),
    )


def name_problem(value: str) -> str | None:
    """Why `value` (already cleaned) is not a usable first name or surname; None if it is."""
    if not value:
        return _("Заполните это поле.")
    if len(value) > NAME_MAX:
        return _("Не длиннее %(max)d символов.", max=NAME_MAX)
    if not _NAME_RE.match(value):
        return _("Только буквы, пробел, дефис и апостроф — например, «Анна-Мария».")
    return None


def tidy_name(value: str) -> str:
    """Clean a name as typed: no invisible characters, single spaces, no spaces around hyphens."""
    return re.sub(r"\s*-\s*", "-", clean_text(value))


@dataclass
class Row:
    line: int
    last_name: str
    first_name: str
    group_name: str
    group_id: int | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class RosterFileError(ValueError):
    """The file as a whole can't be read; the message says why, in the user's language."""


def read_upload(stream) -> str:
    """The text of an uploaded roster file; RosterFileError says why it can't be one."""
    data = stream.read(CSV_MAX_BYTES + 1)
    if len(data) > CSV_MAX_BYTES:
        stream.seek(0, 2)  # the whole size, for the message
        raise RosterFileError(
            _(
                "Файл слишком большой: %(size)s МБ. Список детей в CSV занимает меньше "
                "1 МБ — проверьте, что выбран нужный файл.",
                size=format_decimal(stream.tell() / 1024 / 1024, format="0.0"),
            )
        )
    return decode(data)


def decode(data: bytes) -> str:
    if not data.strip():
        raise RosterFileError(_("Файл пустой."))
    if data.startswith(b"PK\x03\x04"):
        raise RosterFileError(
            _(
                "Это файл Excel (.xlsx), а не CSV. Откройте его в Excel и сохраните через "
                "«Файл → Сохранить как → CSV (разделители — запятые)»."
            )
        )
    if b"\x00" in data[:4096] or data.startswith(b"\xd0\xcf\x11\xe0") or data.startswith(b"%PDF"):
        raise RosterFileError(_("Это не текстовый CSV-файл. Сохраните таблицу как CSV."))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1251")  # every byte sequence decodes; what Russian Excel writes


def _delimiter(header_line: str) -> str:
    return ";" if header_line.count(";") >= header_line.count(",") else ","


def parse(text: str) -> list[Row]:
    """Rows with the text of each cell cleaned; raises RosterFileError for a bad file."""
    lines = text.splitlines()
    if not lines:
        raise RosterFileError(_("Файл пустой."))
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(lines[0]))
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise RosterFileError(_("Не удалось прочитать файл как CSV.")) from exc
    columns = {}
    for index, title in enumerate(header):
        title = fold(title)
        for key, names in HEADERS.items():
            if title in names and key not in columns:
                columns[key] = index
    if len(columns) < 3:
        raise RosterFileError(
            _(
                "В первой строке должны быть названия столбцов: Фамилия; Имя; Группа. "
                "Скачайте образец и заполните его."
            )
        )
    rows: list[Row] = []
    try:
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            if len(rows) >= CSV_MAX_ROWS:
                raise RosterFileError(
                    _("В файле больше %(num)d строк. Разделите его на части.", num=CSV_MAX_ROWS)
                )

            def cell(key, record=record):
                index = columns[key]
                return record[index] if index < len(record) else ""

            rows.append(
                Row(
                    line=reader.line_num,
                    last_name=tidy_name(cell("last_name")),
                    first_name=tidy_name(cell("first_name")),
                    group_name=clean_text(cell("group")),
                )
            )
    except csv.Error as exc:
        raise RosterFileError(_("Не удалось прочитать файл как CSV.")) from exc
    if not rows:
        raise RosterFileError(_("В файле нет ни одного ребёнка — только строка заголовков."))
    return rows


def check(
    rows: list[Row], groups: dict[str, int | None], existing: set[tuple[int, str]]
) -> list[Row]:
    """Fill each row's group and errors.

    groups: folded group name -> id of the kindergarten's group, None for an archived one;
    existing: (group id, name key) of the children who attend now.
    """
    seen: dict[tuple[int, str], int] = {}
    for row in rows:
        for label, value in ((_("Фамилия"), row.last_name), (_("Имя"), row.first_name)):
            problem = name_problem(value)
            if problem:
                row.errors.append(f"{label}: {problem}")
        if not row.group_name:
            row.errors.append(_("Группа не указана."))
        else:
            folded = fold(row.group_name)
            row.group_id = groups.get(folded)
            if folded in groups and row.group_id is None:
                row.errors.append(_("Группа «%(name)s» в архиве.", name=row.group_name[:NAME_MAX]))
            elif row.group_id is None:
                row.errors.append(
                    _("Нет такой группы: «%(name)s».", name=row.group_name[:NAME_MAX])
                )
        if row.errors:
            continue
        key = (row.group_id, name_key(row.last_name, row.first_name))
        if key in existing:
            row.errors.append(_("Этот ребёнок уже есть в группе."))
        elif key in seen:
            row.errors.append(_("Повтор строки %(line)d.", line=seen[key]))
        else:
            seen[key] = row.line
    return rows


def template_csv() -> bytes:
    """A sample file in the form Russian Excel opens directly."""
    sample = "Фамилия;Имя;Группа\r\nИванова;Мария;Солнышко\r\nПетров;Артём;Солнышко\r\n"
    return sample.encode("utf-8-sig")
