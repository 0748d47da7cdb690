"""Admin area, the roster import: upload a CSV -> preview with per-row errors -> confirm.

The preview saves nothing; the confirmation adds only the good rows, checked again.
"""

from __future__ import annotations

import csv
import html
import io
import re
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from sferum_lite.extensions import db
from sferum_lite.models import Child
from sferum_lite.roster import CSV_MAX_BYTES, name_key

from . import factories as f
from .test_admin_groups import audit_rows, field_errors, flashes, other_kindergarten, page_text

HEADER = ["Фамилия", "Имя", "Группа"]
EXCEL_MESSAGE = "Это файл Excel (.xlsx), а не CSV."
HEADER_MESSAGE = (
    "В первой строке должны быть названия столбцов: Фамилия; Имя; Группа. "
    "Скачайте образец и заполните его."
)


def csv_bytes(rows, *, delimiter=";", encoding="utf-8", header=HEADER) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def upload(client, content: bytes, filename="список.csv"):
    return client.post(
        "/admin/children/import",
        data={"file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )


def upload_big(client, content: bytes, filename="список.csv"):
    """Like upload(), with the multipart body built here: the test client's own encoder spools
    big bodies to a temporary file it never closes (a ResourceWarning, an error in this suite)."""
    boundary = "----sferum-test-boundary"
    body = (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return client.post(
        "/admin/children/import",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def confirm_content(response) -> str:
    match = re.search(r'<input[^>]*name="content"[^>]*value="([^"]*)"', page_text(response))
    assert match, "the preview carries the file on to the confirmation"
    return html.unescape(match.group(1))


def confirm(client, preview):
    return client.post("/admin/children/import/confirm", data={"content": confirm_content(preview)})


def preview_rows(response) -> list[dict]:
    """Each row of the preview, in the file's order: line, names, group, and its errors."""
    body = page_text(response)
    rows = []
    pattern = r'<li class="preview-row( row-error)?" data-line="(\d+)">(.*?)</li>'
    for match in re.finditer(pattern, body, re.S):
        part = match.group(3)

        def span(name, part=part):
            return html.unescape(re.search(rf'<span class="{name}">(.*?)</span>', part).group(1))

        rows.append(
            {
                "line": int(match.group(2)),
                "last_name": span("last"),
                "first_name": span("first"),
                "group": span("group"),
                "errors": [
                    html.unescape(e)
                    for e in re.findall(r'<small class="field-error">(.*?)</small>', part)
                ],
                "ok": match.group(1) is None and "✓" in part,
            }
        )
    return sorted(rows, key=lambda row: row["line"])


def children():
    return db.session.execute(
        select(Child.last_name, Child.first_name, Child.group_id).order_by(Child.id)
    ).all()


GOOD_ROWS = [["Иванова", "Мария", "Солнышко"], ["Семёнов", "Фёдор", "Капелька"]]


# --- good files --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(csv_bytes(GOOD_ROWS), id="utf8-semicolon"),
        pytest.param(csv_bytes(GOOD_ROWS, delimiter=","), id="utf8-comma"),
        pytest.param(csv_bytes(GOOD_ROWS, encoding="utf-8-sig"), id="utf8-bom"),
        pytest.param(
            csv_bytes(GOOD_ROWS, encoding="utf-8-sig", delimiter=","), id="utf8-bom-comma"
        ),
        pytest.param(csv_bytes(GOOD_ROWS, encoding="cp1251"), id="windows-1251"),
        pytest.param(
            csv_bytes(GOOD_ROWS, encoding="cp1251", delimiter=","), id="windows-1251-comma"
        ),
        pytest.param(
            csv_bytes(GOOD_ROWS, header=["фамилия ребёнка", "ИМЯ", " Группа "]),
            id="header-variants",
        ),
        pytest.param(
            csv_bytes(GOOD_ROWS, header=["Last name", "First name", "Group"]), id="english-header"
        ),
        pytest.param(csv_bytes([*GOOD_ROWS, ["", "", ""]]) + b";;\r\n\r\n", id="blank-lines"),
        pytest.param(
            csv_bytes(
                [["солнышко", "Иванова", "Мария"], ["капелька", "Семёнов", "Фёдор"]],
                header=["Группа", "Фамилия", "Имя"],
            ),
            id="other-column-order",
        ),
    ],
)
def test_good_file_preview_then_confirm(world, admin_client, content):
    before = children()

    preview = upload(admin_client, content)

    assert preview.status_code == 200
    rows = preview_rows(preview)
    assert [(r["last_name"], r["first_name"], r["ok"]) for r in rows] == [
        ("Иванова", "Мария", True),
        ("Семёнов", "Фёдор", True),
    ]
    assert [r["line"] for r in rows] == [2, 3]
    assert "2 строки готовы" in page_text(preview)
    assert "Добавить 2 ребёнка" in page_text(preview)
    assert children() == before, "the preview saves nothing"
    assert audit_rows("children.imported") == []

    response = confirm(admin_client, preview)

    assert response.status_code == 303
    assert response.location.endswith("/admin/children")
    page = admin_client.get(response.location)
    assert "Добавлено 2 ребёнка." in flashes(page)
    assert children() == [
        *before,
        ("Иванова", "Мария", world.group.id),
        ("Семёнов", "Фёдор", world.other_group.id),
    ]
    added = db.session.scalar(select(Child).where(Child.last_name == "Семёнов"))
    assert added.name_key == name_key("Семёнов", "Фёдор")
    assert added.kindergarten_id == world.kindergarten.id and added.left_at is None
    (row,) = audit_rows("children.imported")
    assert row.actor_id == world.admin.id
    assert (row.details["added"], row.details["skipped"]) == (2, 0)


def test_windows_1251_names_come_out_right(world, admin_client):
    rows = [
        ["Семёнова", "Алёна", "Солнышко"],
        ["Щукин", "Ёжик-Эдуард", "Капелька"],
        ["Д’Артаньян", "Жанна", "Капелька"],
    ]
    content = csv_bytes(rows, encoding="cp1251")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")  # really not UTF-8

    preview = upload(admin_client, content)
    assert preview.status_code == 200
    assert [(r["last_name"], r["first_name"]) for r in preview_rows(preview)] == [
        ("Семёнова", "Алёна"),
        ("Щукин", "Ёжик-Эдуард"),
        ("Д’Артаньян", "Жанна"),
    ]

    assert confirm(admin_client, preview).status_code == 303
    names = db.session.execute(
        select(Child.last_name, Child.first_name)
        .where(Child.first_name.in_(["Алёна", "Ёжик-Эдуард", "Жанна"]))
        .order_by(Child.id)
    ).all()
    assert names == [("Семёнова", "Алёна"), ("Щукин", "Ёжик-Эдуард"), ("Д’Артаньян", "Жанна")]


def test_names_are_tidied(world, admin_client):
    content = csv_bytes([["  Иванова\u200b ", "Анна - Мария", " солнышко "]])
    preview = upload(admin_client, content)
    (row,) = preview_rows(preview)
    assert (row["last_name"], row["first_name"], row["ok"]) == ("Иванова", "Анна-Мария", True)
    confirm(admin_client, preview)
    assert ("Иванова", "Анна-Мария", world.group.id) in children()


# --- per-row errors ----------------------------------------------------------------------------


def test_per_row_errors_and_only_good_rows_added(world, admin_client):
    f.make_group(world.kindergarten, "Ласточка", archived=True)
    f.make_group(other_kindergarten(), "Радуга")
    content = csv_bytes(
        [
            ["Иванова", "Мария", "Солнышко"],  # 2: good
            ["", "Пётр", "Солнышко"],  # 3: no surname
            ["Сидоров", "", "Капелька"],  # 4: no first name
            ["Орлова", "Вера", "Радуга"],  # 5: group of another kindergarten
            ["Орлов", "Иван", ""],  # 6: no group
            ["Петров", "Артём", "Солнышко"],  # 7: already in the group
            ["петров", "артем", "СОЛНЫШКО"],  # 8: the same, other spelling
            ["Иванова", "Мария", "солнышко"],  # 9: twice in the file
            ['=HYPERLINK("http://x","Маша")', "Маша", "Солнышко"],  # 10: a formula
            ["Маша", '=HYPERLINK("http://x","Маша")', "Капелька"],  # 11: a formula
            ["Петров", "Артём", "Капелька"],  # 12: good: another group
            ["Орлова", "Вера", "Ласточка"],  # 13: archived group
            ["Орлова2", "Вера", "Капелька"],  # 14: a digit
        ]
    )
    before = children()

    preview = upload(admin_client, content)

    assert preview.status_code == 200
    rows = {row["line"]: row for row in preview_rows(preview)}
    assert sorted(rows) == list(range(2, 15))
    assert [line for line, row in rows.items() if row["ok"]] == [2, 12]
    only_letters = "Только буквы, пробел, дефис и апостроф — например, «Анна-Мария»."
    assert rows[3]["errors"] == ["Фамилия: Заполните это поле."]
    assert rows[4]["errors"] == ["Имя: Заполните это поле."]
    assert rows[5]["errors"] == ["Нет такой группы: «Радуга»."]
    assert rows[6]["errors"] == ["Группа не указана."]
    assert rows[7]["errors"] == ["Этот ребёнок уже есть в группе."]
    assert rows[8]["errors"] == ["Этот ребёнок уже есть в группе."]
    assert rows[9]["errors"] == ["Повтор строки 2."]
    assert rows[10]["errors"] == [f"Фамилия: {only_letters}"]
    assert rows[10]["last_name"] == '=HYPERLINK("http://x","Маша")'  # shown as text
    assert rows[11]["errors"] == [f"Имя: {only_letters}"]
    assert rows[13]["errors"] == ["Группа «Ласточка» в архиве."]
    assert rows[14]["errors"] == [f"Фамилия: {only_letters}"]
    body = page_text(preview)
    assert "2 строки готовы" in body
    assert "11 строк с ошибками" in body
    assert "Добавить 2 ребёнка" in body
    assert children() == before

    response = confirm(admin_client, preview)

    assert response.status_code == 303
    assert "Добавлено 2 ребёнка." in flashes(admin_client.get(response.location))
    assert children() == [
        *before,
        ("Иванова", "Мария", world.group.id),
        ("Петров", "Артём", world.other_group.id),
    ]
    (row,) = audit_rows("children.imported")
    assert (row.details["added"], row.details["skipped"]) == (2, 11)


def test_file_with_only_bad_rows_offers_nothing_to_add(world, admin_client):
    preview = upload(admin_client, csv_bytes([["Петров", "Артём", "Солнышко"]]))
    assert preview.status_code == 200
    assert "0 строк готово" in page_text(preview)
    assert 'name="content"' not in page_text(preview)  # no confirm button

    before = children()
    content = csv_bytes([["Петров", "Артём", "Солнышко"]]).decode()
    response = admin_client.post("/admin/children/import/confirm", data={"content": content})
    assert response.status_code == 422
    assert preview_rows(response)[0]["errors"] == ["Этот ребёнок уже есть в группе."]
    assert children() == before
    assert audit_rows("children.imported") == []


def test_confirmation_checks_the_rows_again(world, admin_client):
    """A child added between the preview and the confirmation is not added twice."""
    preview = upload(admin_client, csv_bytes(GOOD_ROWS))
    f.make_child(world.group, "Иванова", "Мария")
    before = children()

    response = confirm(admin_client, preview)

    assert response.status_code == 303
    assert "Добавлен 1 ребёнок." in flashes(admin_client.get(response.location))
    assert children() == [*before, ("Семёнов", "Фёдор", world.other_group.id)]


@pytest.mark.parametrize(
    "number,message",
    [
        (1, "Добавлен 1 ребёнок."),
        (2, "Добавлено 2 ребёнка."),
        (4, "Добавлено 4 ребёнка."),
        (5, "Добавлено 5 детей."),
        (11, "Добавлено 11 детей."),
        (21, "Добавлен 21 ребёнок."),
        (22, "Добавлено 22 ребёнка."),
    ],
)
def test_confirmation_message_has_the_right_plural(world, admin_client, number, message):
    names = [
        "Анна",
        "Вера",
        "Галина",
        "Дарья",
        "Ева",
        "Жанна",
        "Зоя",
        "Инна",
        "Кира",
        "Лада",
        "Майя",
        "Нина",
        "Ольга",
        "Полина",
        "Рита",
        "Софья",
        "Таисия",
        "Ульяна",
        "Фаина",
        "Христина",
        "Юлия",
        "Яна",
    ]
    rows = [["Смирнова", name, "Капелька"] for name in names[:number]]
    preview = upload(admin_client, csv_bytes(rows))
    response = confirm(admin_client, preview)
    assert response.status_code == 303
    assert message in flashes(admin_client.get(response.location))
    assert len([c for c in children() if c.last_name == "Смирнова"]) == number


# --- files that can't be read ------------------------------------------------------------------


def assert_refused(response, message_start: str, before) -> None:
    assert response.status_code == 422
    errors = field_errors(response)
    assert any(error.startswith(message_start) for error in errors), errors
    assert "Загрузка списка детей" in page_text(response)  # the upload form again
    assert children() == before
    assert audit_rows("children.imported") == []


def test_a_file_over_a_megabyte_is_refused(world, admin_client):
    # (a body over 2 MB is refused unread, with 413: tests/test_limits.py)
    before = children()
    content = csv_bytes(GOOD_ROWS) + b"x" * (3 * 1024 * 1024 // 2)
    response = upload_big(admin_client, content)
    assert_refused(response, "Файл слишком большой", before)


# The message about a big file gives its real size.
def test_too_big_file_message_states_its_real_size(world, admin_client):
    response = upload_big(admin_client, b"x" * (19 * 1024 * 1024 // 10))
    assert response.status_code == 422
    (message,) = field_errors(response)
    assert "1,0 МБ." not in message, message
    assert "1,9 МБ" in message, message  # Russian decimal comma


def test_one_megabyte_is_the_limit(world, admin_client):
    good = csv_bytes(GOOD_ROWS)
    at_limit = good + b"\n" * (CSV_MAX_BYTES - len(good))  # blank lines are skipped
    over = at_limit + b" "
    assert len(at_limit) == CSV_MAX_BYTES
    response = upload_big(admin_client, at_limit)
    assert response.status_code == 200
    assert [r["ok"] for r in preview_rows(response)] == [True, True]
    assert upload_big(admin_client, over).status_code == 422


def test_xlsx_renamed_to_csv_is_recognised(world, admin_client):
    before = children()
    content = b"PK\x03\x04\x14\x00\x06\x00\x08\x00" + b"[Content_Types].xml" + b"\x00" * 200
    response = upload(admin_client, content, filename="дети.csv")
    assert_refused(response, EXCEL_MESSAGE, before)
    assert "Excel" in field_errors(response)[0]


@pytest.mark.parametrize(
    "content,message",
    [
        pytest.param(b"", "Файл пустой.", id="empty"),
        pytest.param(b"  \r\n\r\n ", "Файл пустой.", id="blank"),
        pytest.param(csv_bytes(GOOD_ROWS, header=None), HEADER_MESSAGE, id="no-header"),
        pytest.param(
            csv_bytes(GOOD_ROWS, header=["Фамилия", "Имя"]),
            HEADER_MESSAGE,
            id="header-without-group",
        ),
        pytest.param(
            csv_bytes([]),
            "В файле нет ни одного ребёнка — только строка заголовков.",
            id="header-only",
        ),
        pytest.param(b"%PDF-1.7\n...", "Это не текстовый CSV-файл.", id="pdf"),
        pytest.param(
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64,
            "Это не текстовый CSV-файл.",
            id="old-xls",
        ),
    ],
)
def test_unreadable_file_is_refused_with_a_clear_message(world, admin_client, content, message):
    before = children()
    assert_refused(upload(admin_client, content), message, before)


def test_upload_without_a_file(world, admin_client):
    before = children()
    response = admin_client.post(
        "/admin/children/import", data={}, content_type="multipart/form-data"
    )
    assert_refused(response, "Выберите файл.", before)


@pytest.mark.parametrize("data", [{}, {"content": ""}, {"content": "Иванова;Мария;Солнышко"}])
def test_confirm_without_a_good_file_is_refused(world, admin_client, data):
    before = children()
    response = admin_client.post("/admin/children/import/confirm", data=data)
    assert response.status_code == 422
    assert field_errors(response) in (["Загрузите файл ещё раз."], [HEADER_MESSAGE])
    assert children() == before


# --- the sample file ---------------------------------------------------------------------------


def test_sample_csv(world, admin_client):
    response = admin_client.get("/admin/children/import/sample.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    match = re.search(r"filename\*=UTF-8''([^;\s]+)", disposition)
    assert match, disposition
    assert unquote(match.group(1)) == "список детей.csv"
    ascii_name = re.search(r'filename="([^"]*)"', disposition)
    assert ascii_name and ascii_name.group(1).isascii() and ascii_name.group(1).endswith(".csv")

    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf"), "a BOM, so Excel opens it as UTF-8"
    text = data.decode("utf-8-sig")
    assert text.splitlines()[0] == "Фамилия;Имя;Группа"


def test_sample_csv_reads_back(world, admin_client):
    sample = admin_client.get("/admin/children/import/sample.csv").get_data()
    preview = upload(admin_client, sample, filename="список детей.csv")
    assert preview.status_code == 200
    rows = preview_rows(preview)
    assert [(r["last_name"], r["first_name"], r["group"]) for r in rows] == [
        ("Иванова", "Мария", "Солнышко"),
        ("Петров", "Артём", "Солнышко"),
    ]
    assert rows[0]["ok"]
    assert rows[1]["errors"] == ["Этот ребёнок уже есть в группе."]  # world has him


# Roster previews run clean under filterwarnings=error (no deprecated SQLAlchemy calls).
def test_preview_raises_no_deprecation_warning(world, make_app):
    """Runs under the suite's `filterwarnings = ["error"]` like every other test. The app turns
    an exception into its 500 page here (as in production) instead of raising into the test."""
    from .conftest import sign_in

    client = sign_in(make_app(PROPAGATE_EXCEPTIONS=False).test_client(), world.admin)
    preview = upload(client, csv_bytes(GOOD_ROWS))
    assert preview.status_code == 200, page_text(preview)[:300]
    assert [r["ok"] for r in preview_rows(preview)] == [True, True]


# --- who may -----------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["educator", "parent"])
def test_only_the_administration_imports(world, as_user, persona):
    client = as_user(getattr(world, persona))
    before = children()
    assert upload(client, csv_bytes(GOOD_ROWS)).status_code == 403
    content = csv_bytes(GOOD_ROWS).decode()
    assert (
        client.post("/admin/children/import/confirm", data={"content": content}).status_code == 403
    )
    assert client.get("/admin/children/import/sample.csv").status_code == 403
    assert children() == before
