"""Uploads: photos re-encoded without metadata, documents checked by content, names cleaned,
files stored under random names. Every fixture is made in memory."""

from __future__ import annotations

import io
import os
import re
import stat
import struct
import zipfile
import zlib

import pillow_heif
import pytest
from flask_babel import force_locale
from PIL import Image, ImageCms, PngImagePlugin
from werkzeug.datastructures import FileStorage

from sferum_lite import media
from sferum_lite.media import (
    FILE_MAX_BYTES,
    MB,
    PHOTO_MAX_BYTES,
    MediaError,
    clean_filename,
    is_photo,
    photo_filename,
    process_photo,
    read_limited,
    remove,
    sniff_document,
    store,
    stored_path,
)

RED, BLUE = (220, 20, 20), (20, 20, 220)


def encode(img: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **params)
    return out.getvalue()


def two_halves(size=(80, 40)) -> Image.Image:
    """Red on the left, blue on the right."""
    img = Image.new("RGB", size, BLUE)
    img.paste(RED, (0, 0, size[0] // 2, size[1]))
    return img


def jpeg_with_metadata() -> bytes:
    """A landscape photo stored sideways (orientation 6) with a camera name and GPS position."""
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to show
    exif[0x010F] = "SecretCam"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (55.0, 45.0, 21.0)
    gps[3], gps[4] = "E", (37.0, 37.0, 4.0)
    gps[27] = b"ASCII\x00\x00\x00GPS"  # GPSProcessingMethod
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return encode(
        two_halves(),
        "JPEG",
        exif=exif,
        icc_profile=icc,
        comment=b"SecretComment",
        xmp=b"<x:xmpmeta>SecretXmp</x:xmpmeta>",
    )


def jpeg_markers(data: bytes) -> list[int]:
    """The JPEG segment markers before the image data."""
    assert data[:2] == b"\xff\xd8"
    markers, pos = [], 2
    while True:
        marker = data[pos + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan
            return markers
        pos += 2 + struct.unpack(">H", data[pos + 2 : pos + 4])[0]


def assert_clean_jpeg(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    assert img.format == "JPEG" and img.mode == "RGB"
    assert not img.getexif()
    assert not {"exif", "icc_profile", "comment", "xmp"} & set(img.info)
    # Only JFIF, tables, frame and scan headers: no APP1 (EXIF, XMP), APP2 (ICC), COM, ...
    assert set(jpeg_markers(data)) <= {0xE0, 0xDB, 0xC0, 0xC2, 0xC4, 0xDD, 0xDA}
    img.load()
    return img


def near(pixel, colour, tolerance=40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True))


def png_header(width: int, height: int) -> bytes:
    """A 1×1 PNG whose header claims another size (its pixels would never decode)."""
    data = bytearray(encode(Image.new("1", (1, 1)), "PNG"))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def zipped(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            kind = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            archive.writestr(name, content, compress_type=kind)
    return out.getvalue()


# --- photos -----------------------------------------------------------------------------------


def test_photo_loses_exif_gps_icc_xmp_and_comment_and_is_turned_upright():
    source = jpeg_with_metadata()
    assert b"GPS" in source and b"SecretCam" in source and b"ICC_PROFILE" in source
    assert Image.open(io.BytesIO(source)).getexif().get_ifd(0x8825)

    photo = process_photo(source, "IMG_0001.jpg")

    for data in (photo.data, photo.thumb):
        for secret in (b"Exif", b"GPS", b"SecretCam", b"SecretComment", b"SecretXmp", b"ICC"):
            assert secret not in data
    img = assert_clean_jpeg(photo.data)
    assert img.size == (photo.width, photo.height) == (40, 80)  # was 80×40, stored sideways
    assert near(img.getpixel((20, 5)), RED) and near(img.getpixel((20, 75)), BLUE)
    assert assert_clean_jpeg(photo.thumb).size == (photo.thumb_width, photo.thumb_height)


def test_jpeg_comment_is_not_carried_over():
    # Pillow writes an image's own comment into a JPEG it saves unless told otherwise.
    photo = process_photo(encode(two_halves(), "JPEG", comment=b"SecretComment"), "x.jpg")
    assert b"SecretComment" not in photo.data and b"SecretComment" not in photo.thumb
    assert_clean_jpeg(photo.data)


def test_big_photo_is_scaled_to_2560_and_a_480_thumbnail():
    photo = process_photo(encode(two_halves((3000, 1200)), "JPEG"), "big.jpg")

    assert (photo.width, photo.height) == (2560, 1024)
    assert (photo.thumb_width, photo.thumb_height) == (480, 192)
    assert assert_clean_jpeg(photo.data).size == (2560, 1024)
    assert assert_clean_jpeg(photo.thumb).size == (480, 192)


def test_small_photo_is_not_enlarged():
    photo = process_photo(encode(two_halves((300, 200)), "PNG"), "small.png")
    assert (photo.width, photo.height, photo.thumb_width, photo.thumb_height) == (300, 200) * 2


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_transparency_becomes_white(fmt):
    img = Image.new("RGBA", (60, 60), (0, 0, 0, 0))
    img.paste((220, 20, 20, 255), (20, 20, 40, 40))
    params = {"lossless": True} if fmt == "WEBP" else {}

    out = assert_clean_jpeg(process_photo(encode(img, fmt, **params), "x").data)

    assert near(out.getpixel((2, 2)), (255, 255, 255))
    assert near(out.getpixel((30, 30)), RED)


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [("L", "PNG"), ("LA", "PNG"), ("P", "PNG"), ("I;16", "PNG"), ("1", "PNG"), ("CMYK", "JPEG")],
)
def test_other_colour_modes_come_out_rgb(mode, fmt):
    img = two_halves((40, 30)).convert(mode) if mode != "I;16" else Image.new("I;16", (40, 30))
    params = {"transparency": 0} if mode == "P" else {}
    photo = process_photo(encode(img, fmt, **params), "x")
    assert assert_clean_jpeg(photo.data).size == (40, 30)


def test_webp_photo():
    photo = process_photo(encode(two_halves(), "WEBP", quality=90), "photo.webp")
    out = assert_clean_jpeg(photo.data)
    assert near(out.getpixel((5, 5)), RED) and near(out.getpixel((75, 5)), BLUE)


def test_heic_photo_from_an_iphone():
    if not pillow_heif.libheif_info().get("HEIF"):
        pytest.skip("this libheif build has no HEIC encoder")
    exif = Image.Exif()
    exif[0x0112] = 6  # sideways, as in the JPEG test
    exif.get_ifd(0x8825).update({1: "N", 2: (55.0, 45.0, 21.0), 27: b"ASCII\x00\x00\x00GPS"})
    source = encode(two_halves(), "HEIF", quality=90, exif=exif.tobytes())
    assert is_photo(source) and b"GPS" in source

    photo = process_photo(source, "IMG_0002.HEIC")

    assert b"GPS" not in photo.data and b"Exif" not in photo.data
    out = assert_clean_jpeg(photo.data)
    assert out.size == (photo.width, photo.height) == (40, 80)  # turned upright once, not twice
    assert near(out.getpixel((20, 5)), RED, 60) and near(out.getpixel((20, 75)), BLUE, 60)


def test_a_jpeg_with_several_pictures_is_a_photo():
    source = encode(two_halves(), "MPO", save_all=True, append_images=[two_halves()])
    assert assert_clean_jpeg(process_photo(source, "3d.jpg").data).size == (80, 40)


def test_unreadable_colour_profile_is_ignored():
    photo = process_photo(encode(two_halves(), "JPEG", icc_profile=b"not a profile"), "x.jpg")
    assert near(assert_clean_jpeg(photo.data).getpixel((5, 5)), RED)


def test_html_after_the_jpeg_is_not_kept():
    source = encode(two_halves(), "JPEG") + b"<html><script>alert(1)</script></html>"
    photo = process_photo(source, "x.jpg")
    for data in (photo.data, photo.thumb):
        assert b"<script" not in data and b"<html" not in data
        assert_clean_jpeg(data)


def test_type_comes_from_the_content_not_the_name():
    assert process_photo(encode(two_halves(), "PNG"), "photo.jpg").width == 80


@pytest.mark.parametrize(
    "data",
    [
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 100,
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        encode(two_halves(), "GIF"),
        encode(two_halves(), "BMP"),
        encode(two_halves(), "TIFF"),
        b"%PDF-1.4\n",
        b"",
    ],
    ids=["exe", "svg", "gif", "bmp", "tiff", "pdf", "empty"],
)
def test_not_a_photo(data):
    assert not is_photo(data)
    with pytest.raises(MediaError) as caught:
        process_photo(data, "photo.jpg")
    assert caught.value.template is media.NOT_PHOTO
    assert caught.value.params == {"name": "photo.jpg"}


@pytest.mark.parametrize(
    "data",
    [
        encode(Image.effect_noise((200, 200), 60).convert("RGB"), "JPEG")[:3000],
        encode(Image.effect_noise((200, 200), 60).convert("RGB"), "PNG")[:3000],
        b"\xff\xd8\xff\xe0" + b"garbage" * 10,
        b"\x89PNG\r\n\x1a\n" + b"garbage",
        b"RIFF\x00\x00\x00\x00WEBPVP8 garbage",
        b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00garbage",
    ],
    ids=["truncated-jpeg", "truncated-png", "jpeg", "png", "webp", "heic"],
)
def test_broken_photo_is_refused_not_a_crash(data):
    with pytest.raises(MediaError) as caught:
        process_photo(data, "x.jpg")
    assert caught.value.template in (media.BROKEN_PHOTO, media.NOT_PHOTO)


@pytest.mark.parametrize(
    ("width", "height", "template", "bomb_warning"),
    [
        (10_000, 6_000, media.TOO_MANY_PIXELS, None),  # over our 50 MP
        (10_000, 10_000, media.TOO_MANY_PIXELS, "warns"),  # over Pillow's warning level, too
        (10_000, 10_000, media.HUGE_PHOTO, "error"),  # the same where warnings are errors
        (20_000, 20_000, media.HUGE_PHOTO, None),  # Pillow itself refuses to open it
    ],
)
def test_too_many_pixels_refused_before_decoding(
    monkeypatch, width, height, template, bomb_warning
):
    loads = []
    load = PngImagePlugin.PngImageFile.load
    monkeypatch.setattr(
        PngImagePlugin.PngImageFile, "load", lambda im: loads.append(im) or load(im)
    )

    with pytest.raises(MediaError) as caught:
        if bomb_warning == "warns":
            with pytest.warns(Image.DecompressionBombWarning):
                process_photo(png_header(width, height), "huge.png")
        else:
            process_photo(png_header(width, height), "huge.png")

    assert caught.value.template is template
    if template is media.TOO_MANY_PIXELS:
        assert (caught.value.params["w"], caught.value.params["h"]) == (width, height)
        assert f"{width}×{height}" in caught.value.message
    assert loads == []


def test_photo_over_15_mb():
    with pytest.raises(MediaError) as caught:
        process_photo(b"\xff\xd8\xff" + bytes(PHOTO_MAX_BYTES), "big.jpg")
    assert caught.value.template is media.TOO_BIG
    assert caught.value.params == {"name": "big.jpg", "limit": 15, "size": 15.1}
    assert re.fullmatch(r"Файл «big\.jpg» больше 15 МБ \(15[.,]1 МБ\)\.", str(caught.value))


def test_message_is_formatted_in_the_request_language(app):
    error = MediaError(media.TOO_BIG, name="фото.jpg", limit=15, size=15.1)
    with app.test_request_context(), force_locale("ru"):
        assert error.message == "Файл «фото.jpg» больше 15 МБ (15,1 МБ)."
    assert isinstance(error, ValueError)


# --- documents --------------------------------------------------------------------------------

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
OOXML = "application/vnd.openxmlformats-officedocument."
ODT_MIME = b"application/vnd.oasis.opendocument.text"


@pytest.mark.parametrize(
    ("data", "name", "mime", "extension"),
    [
        (PDF, "Меню.pdf", "application/pdf", "pdf"),
        (PDF, "renamed.docx", "application/pdf", "pdf"),
        (
            zipped({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"}),
            "Приказ.docx",
            OOXML + "wordprocessingml.document",
            "docx",
        ),
        (
            zipped({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<x/>"}),
            "Оплата.xlsx",
            OOXML + "spreadsheetml.sheet",
            "xlsx",
        ),
        (
            zipped({"[Content_Types].xml": b"<Types/>", "ppt/presentation.xml": b"<p/>"}),
            "Утренник.pptx",
            OOXML + "presentationml.presentation",
            "pptx",
        ),
        (
            zipped({"mimetype": ODT_MIME, "content.xml": b"<office/>"}),
            "Заявление.odt",
            ODT_MIME.decode(),
            "odt",
        ),
        (
            "Завтра утренник в 10:00.\r\n\tВозьмите\fчешки.\n".encode(),
            "a.txt",
            "text/plain; charset=utf-8",
            "txt",
        ),
        ("\ufeffСписок: 2 < 3".encode(), "b.txt", "text/plain; charset=utf-8", "txt"),
        ("Родительское собрание".encode("cp1251"), "c", "text/plain; charset=windows-1251", "txt"),
    ],
)
def test_accepted_documents(data, name, mime, extension):
    assert sniff_document(data, name) == media.Document(mime, extension)


@pytest.mark.parametrize(
    "data",
    [
        b"  <html><script>alert(1)</script></html>",
        "\ufeff\r\n<svg onload=alert(1)>".encode(),
        b"<script>alert(1)</script>",
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00",
        b"text with an escape \x1b[31m",
        "текст\u0085".encode(),  # a C1 control
        "Привет".encode("utf-16"),
        encode(two_halves(), "PNG"),
        zipped({"readme.txt": b"hello"}),
        zipped({"[Content_Types].xml": b"<Types/>", "other/x.xml": b"<x/>"}),
        zipped({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet"}),
        zipped(
            {
                "[Content_Types].xml": b"<Types/>",
                "word/document.xml": b"<w/>",
                "word/vbaProject.bin": b"macro",
            }
        ),
        b"PK\x03\x04 not really a zip",
    ],
    ids=[
        "html",
        "svg-after-bom",
        "script",
        "exe",
        "escape",
        "c1",
        "utf16",
        "png",
        "zip",
        "ooxml-unknown",
        "ods",
        "macros",
        "broken-zip",
    ],
)
def test_refused_documents(data):
    with pytest.raises(MediaError) as caught:
        sniff_document(data, "file.txt")
    assert caught.value.template is media.NOT_ACCEPTED
    assert "PDF, DOCX, XLSX, PPTX, ODT и TXT" in caught.value.message


@pytest.mark.parametrize("data", [b"", b" \r\n"])
def test_empty_document(data):
    with pytest.raises(MediaError) as caught:
        sniff_document(data, "пусто.txt")
    assert caught.value.message == "Файл «пусто.txt» пустой."


def test_document_over_20_mb():
    with pytest.raises(MediaError) as caught:
        sniff_document(b"%PDF-" + bytes(FILE_MAX_BYTES), "book.pdf")
    assert caught.value.params == {"name": "book.pdf", "limit": 20, "size": 20.1}


def test_zip_bombs_are_not_extracted(monkeypatch):
    bomb = bytes(30 * MB)
    docx = zipped({"[Content_Types].xml": b"<Types/>", "word/document.xml": bomb})
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", ODT_MIME + bomb)  # compressed, unlike a real one
    fake_odt = out.getvalue()
    assert len(docx) < MB and len(fake_odt) < MB

    def no_open(*args, **kwargs):
        raise AssertionError("a member was opened")

    monkeypatch.setattr(zipfile.ZipFile, "open", no_open)
    assert sniff_document(docx, "x.docx").extension == "docx"
    with pytest.raises(MediaError):
        sniff_document(fake_odt, "x.odt")


# --- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Расписание занятий.xlsx", "Расписание занятий.xlsx"),
        ('отчёт"\r\nSet-Cookie: x.pdf', "отчёт Set-Cookie: x.pdf"),
        ("../../sferum.sqlite3", "sferum.sqlite3"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("C:\\Users\\Маша\\Desktop\\фото.jpg", "фото.jpg"),
        ("счёт\u202egpj.exe", "счётgpj.exe"),
        ("\u2067a\u2069\u200eb\u200f.txt", "ab.txt"),
        ("\ufeffз\u200bа\u200cя\u200dв\u00adка.docx", "заявка.docx"),
        ("ab\x00c\x7f\x1b.pdf", "abc.pdf"),
        ("  мой \t  файл\u00a0\u2028.pdf  ", "мой файл .pdf"),
        ("и\u0306од.txt", "йод.txt"),
        ("", "файл"),
        ("   ", "файл"),
        ("/", "файл"),
        ("..", "файл"),
        ("\u200b\u202e", "файл"),
        ("a\ud800b.txt", "ab.txt"),
    ],
)
def test_clean_filename(raw, clean):
    assert clean_filename(raw) == clean


def test_long_filename_keeps_its_extension():
    name = clean_filename("ж" * 300 + ".docx")
    assert len(name) == 120 and name == "ж" * 115 + ".docx"
    assert len(clean_filename("ж" * 300)) == 120


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("IMG_0001.HEIC", "IMG_0001.jpg"),
        ("../x/Утренник.png", "Утренник.jpg"),
        ("без расширения", "без расширения.jpg"),
        ("", "файл.jpg"),
    ],
)
def test_photo_filename(raw, name):
    assert photo_filename(raw) == name


def test_long_photo_filename():
    name = photo_filename("ф" * 200 + ".jpeg")
    assert len(name) <= 120 and name.endswith("ф.jpg")


# --- storage ----------------------------------------------------------------------------------


def test_store_and_read_back(tmp_path):
    upload_dir = tmp_path / "uploads"
    name = store(upload_dir, b"photo bytes", ".jpg")
    other = store(upload_dir, b"pdf bytes", "pdf")

    assert re.fullmatch(r"[A-Za-z0-9_-]{32}\.jpg", name) and other.endswith(".pdf")
    assert stored_path(upload_dir, name).read_bytes() == b"photo bytes"
    assert stored_path(upload_dir, other).read_bytes() == b"pdf bytes"
    assert stat.S_IMODE(stored_path(upload_dir, name).stat().st_mode) == 0o640
    assert stat.S_IMODE(upload_dir.stat().st_mode) & 0o007 == 0
    assert sorted(os.listdir(upload_dir)) == sorted([name, other])  # no temporary files left


def test_store_refuses_a_suffix_it_would_not_serve(tmp_path):
    with pytest.raises(ValueError):
        store(tmp_path, b"x", ".html")
    assert os.listdir(tmp_path) == []


def test_failed_store_leaves_nothing(tmp_path, monkeypatch):
    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(media.os, "replace", broken_replace)
    with pytest.raises(OSError):
        store(tmp_path, b"x", ".jpg")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "name",
    [
        "../../sferum.sqlite3",
        "../" + "a" * 32 + ".jpg",
        "/etc/passwd",
        "a" * 32 + ".jpg\n",
        "a" * 32 + ".JPG",
        "a" * 32 + ".html",
        "a" * 19 + ".jpg",
        "a" * 65 + ".jpg",
        "a" * 32 + ".jpg/..",
        "a\\" + "a" * 32 + ".jpg",
        ".upload-" + "a" * 24 + ".tmp",
        "",
        None,
    ],
)
def test_stored_path_refuses_other_names(tmp_path, name):
    with pytest.raises(ValueError):
        stored_path(tmp_path, name)
    remove(tmp_path, name)  # quietly does nothing


def test_remove(tmp_path):
    name = store(tmp_path, b"x", ".txt")
    remove(tmp_path, name)
    remove(tmp_path, name)  # already gone: fine
    assert os.listdir(tmp_path) == []


# --- reading uploads --------------------------------------------------------------------------


def test_read_limited_returns_everything_up_to_the_limit():
    assert read_limited(io.BytesIO(b"x" * MB), MB) == b"x" * MB
    assert read_limited(io.BytesIO(b""), MB) == b""


def test_read_limited_reports_the_real_size():
    upload = FileStorage(io.BytesIO(b"x" * (MB * 5 // 2)), filename="видео.mp4")
    with pytest.raises(MediaError) as caught:
        read_limited(upload, 2 * MB)
    assert caught.value.template is media.TOO_BIG
    assert caught.value.params == {"name": "видео.mp4", "limit": 2, "size": 2.5}


class Trickle:
    """A stream that can't seek and returns a few bytes at a time."""

    def __init__(self, data: bytes):
        self.data = data

    def read(self, n: int) -> bytes:
        chunk, self.data = self.data[: min(n, 1000)], self.data[min(n, 1000) :]
        return chunk


def test_read_limited_on_a_stream_without_a_size():
    assert read_limited(Trickle(b"y" * 100), 100) == b"y" * 100
    with pytest.raises(MediaError) as caught:
        read_limited(Trickle(b"y" * (MB + 1)), MB, "архив.zip")
    assert caught.value.template is media.TOO_BIG_UNKNOWN
    assert caught.value.message == "Файл «архив.zip» больше 1 МБ."
