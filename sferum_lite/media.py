"""Photos and files sent to a chat: checked, cleaned and stored. Pure functions, no Flask.

The type comes from the content, never from the file name (an .exe renamed .jpg is refused).
A photo's pixel count is read from its header before anything is decoded. A JPEG is decoded at
1/2, 1/4 or 1/8 of its size when that is enough (draft), so it may have 50 MP; PNG, WebP and
HEIC are decoded whole, every pixel, so they may have 25 MP (a 7000×7000 PNG of 6 KB took 0.8 s
of CPU and 280–420 MB to decode, a WebP 750 MB: bench/README.md). Pillow's own refusal of a
bigger picture is told the same way. At most IMAGE_DECODE_CONCURRENCY (2) photos are decoded
and re-encoded at once in a process; the others wait for their turn, they don't fail. A photo is
re-encoded as a fresh JPEG (≤ 2560 px, thumbnail ≤ 480 px) with no metadata at all: no EXIF or
GPS (these are photos of children), ICC, XMP, comment or bytes appended after the image. Its own
colour profile (an iPhone's Display P3) is applied first, so colours stay right in sRGB. A photo
that won't decode is a MediaError, never a 500. Documents (PDF, DOCX, XLSX, PPTX, ODT, text) are
kept as sent: a ZIP is never extracted; Office macros and text starting with `<` are refused.
Stored files get random names (`stored_path` accepts nothing else) and are written atomically.

MediaError carries a lazy Russian msgid (`template`) and `params`; `message` (and `str()`)
formats them when read, in the current request's language: raising needs no app context (the
app's IMAGE_DECODE_CONCURRENCY is read when there is one).
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
import secrets
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from unicodedata import category, normalize

import pillow_heif
from flask import current_app, has_app_context
from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageCms, ImageOps

pillow_heif.register_heif_opener()

MB = 1024 * 1024
PHOTO_MAX_BYTES = 15 * MB
FILE_MAX_BYTES = 20 * MB
PHOTO_MAX_PIXELS = 50_000_000  # a JPEG: decoded at 1/2 (≤ 12.5 MP) or less by its draft
WHOLE_MAX_PIXELS = 25_000_000  # PNG, WebP, HEIC: no draft, every pixel is decoded
DECODE_CONCURRENCY = 2  # the default of IMAGE_DECODE_CONCURRENCY
MAX_PHOTOS = 10
PHOTO_MAX_SIDE = 2560
THUMB_MAX_SIDE = 480
FILENAME_MAX = 120

TOO_BIG = _l("Файл «%(name)s» больше %(limit)d МБ (%(size)s МБ).")
TOO_BIG_UNKNOWN = _l("Файл «%(name)s» больше %(limit)d МБ.")
EMPTY = _l("Файл «%(name)s» пустой.")
NOT_PHOTO = _l("Файл «%(name)s» — не фото в формате JPEG, PNG, WebP или HEIC.")
TOO_MANY_PIXELS = _l(
    "Фото «%(name)s» слишком большое: %(w)d×%(h)d точек. "
    "Наибольший размер фото в %(kind)s — %(limit)d мегапикселей."
)
HUGE_PHOTO = _l(
    "Фото «%(name)s» слишком большое. Наибольший размер фото в %(kind)s — %(limit)d мегапикселей."
)
BROKEN_PHOTO = _l("Фото «%(name)s» не открывается: файл повреждён или загружен не полностью.")
NOT_ACCEPTED = _l(
    "Такой тип файла не принимается: «%(name)s». Можно PDF, DOCX, XLSX, PPTX, ODT и TXT."
)


class MediaError(ValueError):
    """Why an upload is refused, for the person who sent it."""

    def __init__(self, template, **params):
        super().__init__(template, params)
        self.template = template
        self.params = params

    def __str__(self) -> str:
        values = {
            key: format_decimal(value, format="0.0") if isinstance(value, float) else value
            for key, value in self.params.items()
        }
        return str(self.template) % values

    message = property(__str__)


def _too_big(name: str | None, limit: int, size: int | None) -> MediaError:
    params = {"name": clean_filename(name), "limit": limit // MB}
    if not size or size <= limit:
        return MediaError(TOO_BIG_UNKNOWN, **params)
    return MediaError(TOO_BIG, size=math.ceil(size / MB * 10) / 10, **params)  # 15.01 → 15.1


def read_limited(stream, limit: int, name: str | None = None) -> bytes:
    """At most `limit` bytes of a file-like (a werkzeug FileStorage); MediaError if it has more."""
    chunks, got = [], 0
    while got <= limit:
        if not (chunk := stream.read(min(MB, limit + 1 - got))):
            return b"".join(chunks)
        chunks.append(chunk)
        got += len(chunk)
    try:  # the whole size, for the message
        size = got - stream.tell() + stream.seek(0, os.SEEK_END)  # tell() before seek()
    except (AttributeError, OSError, TypeError, ValueError):
        size = getattr(stream, "content_length", None)
    raise _too_big(getattr(stream, "filename", "") if name is None else name, limit, size)


_HIDDEN = ("Cc", "Cf", "Cs")  # controls, bidi marks, zero-width characters, BOM, lone surrogates


def clean_filename(name: str | None) -> str:
    """The name a person's file is shown and downloaded under: no directories, no control,
    bidi or invisible characters, no quotes or backslashes; Cyrillic kept; ≤ 120 characters."""
    name = normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]
    kept = "".join(c for c in name if c.isspace() or (c != '"' and category(c) not in _HIDDEN))
    name = " ".join(kept.split()).strip(" .")  # any run of whitespace (\r\n too): one space
    if len(name) > FILENAME_MAX:
        stem, ext = os.path.splitext(name)
        ext = ext if len(ext) <= 16 else ""
        name = stem[: FILENAME_MAX - len(ext)].rstrip(" .") + ext
    return name or "файл"


def photo_filename(original: str) -> str:
    """The person's name for a photo with `.jpg`, since that's what it becomes."""
    stem = os.path.splitext(clean_filename(original))[0]
    return stem[: FILENAME_MAX - 4] + ".jpg"


_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1"}
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@dataclass(frozen=True)
class Photo:
    data: bytes  # JPEG, longest side ≤ 2560 px, no metadata
    thumb: bytes  # JPEG, longest side ≤ 480 px, no metadata
    width: int
    height: int
    thumb_width: int
    thumb_height: int


def is_photo(data: bytes) -> bool:
    """Does the content start like a JPEG, PNG, WebP or HEIC/HEIF picture?"""
    return (
        data.startswith(b"\xff\xd8\xff")
        or data.startswith(b"\x89PNG\r\n\x1a\n")
        or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")
        or (data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS)
    )


def _fit(size: tuple[int, int], side: int) -> tuple[int, int]:
    scale = min(1, side / max(size))
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _kind(data: bytes) -> str:
    """The photo's format as people know it, from its first bytes."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG"):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    return "HEIC"


def _max_pixels(kind: str) -> int:
    return PHOTO_MAX_PIXELS if kind == "JPEG" else WHOLE_MAX_PIXELS


def _too_many_pixels(name: str, kind: str, size: tuple[int, int]) -> MediaError | None:
    limit = _max_pixels(kind)
    if size[0] * size[1] <= limit:
        return None
    return MediaError(
        TOO_MANY_PIXELS, name=name, w=size[0], h=size[1], kind=kind, limit=limit // 1_000_000
    )


def _huge(name: str, kind: str) -> MediaError:
    """Pillow's own refusal (its size is not at hand) told as ours."""
    return MediaError(HUGE_PHOTO, name=name, kind=kind, limit=_max_pixels(kind) // 1_000_000)


def _webp_size(data: bytes) -> tuple[int, int] | None:
    """A WebP's canvas from its header: Pillow's WebP plugin makes its decoder, canvas and all,
    when it opens the file, so the size is checked before that."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP" or len(data) < 30:
        return None
    chunk = data[12:16]
    if chunk == b"VP8X":  # extended: the canvas, 24 bits each, minus one
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":  # lossy: 14 bits each
        return (
            int.from_bytes(data[26:28], "little") & 0x3FFF,
            int.from_bytes(data[28:30], "little") & 0x3FFF,
        )
    if chunk == b"VP8L" and data[20] == 0x2F:  # lossless: 14 bits each, minus one
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _open(data: bytes, name: str) -> Image.Image:
    """The photo with only its header read: refused (MediaError) when it has more pixels than
    its format may; nothing is decoded."""
    kind = _kind(data)
    if (size := _webp_size(data)) and (error := _too_many_pixels(name, kind, size)):
        raise error
    try:
        img = Image.open(io.BytesIO(data), formats=("JPEG", "PNG", "WEBP", "HEIF"))
    # Pillow's own limit, before ours can look: an error over 179 MP, and over 89 MP a warning,
    # which is an exception only where warnings are errors (the tests); else we refuse it below.
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _huge(name, kind) from exc
    except Exception as exc:  # a decoder meeting broken bytes may raise anything
        raise MediaError(BROKEN_PHOTO, name=name) from exc
    if error := _too_many_pixels(name, kind, img.size):  # from the header: nothing decoded yet
        img.close()
        raise error
    return img


_decode_turns: dict[int, threading.BoundedSemaphore] = {}
_decode_turns_guard = threading.Lock()


def decode_turn() -> threading.BoundedSemaphore:
    """The semaphore every photo's decoding and re-encoding takes a turn of: the process holds
    at most IMAGE_DECODE_CONCURRENCY decoded photos at once; the others wait, they don't fail."""
    cap = DECODE_CONCURRENCY
    if has_app_context():
        cap = int(current_app.config.get("IMAGE_DECODE_CONCURRENCY") or cap)
    cap = max(1, cap)
    with _decode_turns_guard:
        if cap not in _decode_turns:
            _decode_turns[cap] = threading.BoundedSemaphore(cap)
        return _decode_turns[cap]


def _decode(img: Image.Image, name: str, kind: str) -> Image.Image:
    """The opened photo's pixels in RGB, upright, on white where transparent, in sRGB."""
    # No warnings.catch_warnings() here: it is process-wide state, unsafe under gthread workers.
    try:
        if img.format in ("JPEG", "MPO"):  # MPO: a JPEG with more pictures after it
            img.draft(None, _fit(img.size, PHOTO_MAX_SIDE))  # decode at 1/2, 1/4… if enough
        img.load()
        icc = img.info.get("icc_profile")
        with contextlib.suppress(Exception):  # EXIF that won't read: the photo stays as stored
            ImageOps.exif_transpose(img, in_place=True)
        if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
            rgba = img if img.mode == "RGBA" else img.convert("RGBA")
            img = Image.new("RGB", rgba.size, "white")
            img.paste(rgba, mask=rgba)  # its alpha band
        elif img.mode != "RGB":
            img = img.convert("RGB")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _huge(name, kind) from exc
    except Exception as exc:  # a decoder meeting broken bytes may raise anything
        raise MediaError(BROKEN_PHOTO, name=name) from exc
    if icc:  # the photo's own RGB colour profile to sRGB; a profile that won't read is ignored
        with contextlib.suppress(ImageCms.PyCMSError, OSError, ValueError, TypeError):
            profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            if profile.profile.xcolor_space == "RGB ":
                img = ImageCms.profileToProfile(img, profile, _SRGB)
    return img


def _jpeg(img: Image.Image, quality: int) -> bytes:
    img.info = {}  # Pillow would otherwise carry over a comment; exif/icc/xmp are never passed
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue()


def process_photo(data: bytes, name: str) -> Photo:
    """A photo as it will be stored and shown; MediaError says why it can't be one."""
    shown = clean_filename(name)
    if len(data) > PHOTO_MAX_BYTES:
        raise _too_big(name, PHOTO_MAX_BYTES, len(data))
    if not is_photo(data):
        raise MediaError(NOT_PHOTO, name=shown)
    img = _open(data, shown)  # a photo with too many pixels is refused here, without waiting
    with img, decode_turn():
        img = _decode(img, shown, _kind(data))
        if max(img.size) > PHOTO_MAX_SIDE:
            size = _fit(img.size, PHOTO_MAX_SIDE)
            img = img.resize(size, Image.Resampling.LANCZOS, reducing_gap=3)
        thumb = img.resize(_fit(img.size, THUMB_MAX_SIDE), Image.Resampling.LANCZOS)
        return Photo(_jpeg(img, 85), _jpeg(thumb, 78), *img.size, *thumb.size)


_OOXML = (
    ("word/", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    ("xl/", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    ("ppt/", "application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx"),
)
_ODT = "application/vnd.oasis.opendocument.text"
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Document:
    mime: str  # for text, with its charset: "text/plain; charset=utf-8" or "…=windows-1251"
    extension: str  # without the dot: "pdf", "docx", "xlsx", "pptx", "odt", "txt"


def _zip_document(data: bytes) -> Document | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if any(n.lower().endswith("vbaproject.bin") for n in names):
                return None  # macros
            small = "mimetype" in names and archive.getinfo("mimetype").file_size < 100
            if small and archive.read("mimetype").strip() == _ODT.encode():  # ≤ file_size read
                return Document(_ODT, "odt")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        return None
    if "[Content_Types].xml" in names:
        for folder, mime, extension in _OOXML:
            if any(n.startswith(folder) for n in names):
                return Document(mime, extension)
    return None


def _text_document(data: bytes) -> Document | None:
    for encoding, charset in (("utf-8-sig", "utf-8"), ("cp1251", "windows-1251")):
        with contextlib.suppress(UnicodeDecodeError):
            text = data.decode(encoding)
            if _TEXT_CONTROL.search(text) or text.lstrip("\ufeff \t\r\n\f").startswith("<"):
                return None
            return Document(f"text/plain; charset={charset}", "txt")
    return None


def sniff_document(data: bytes, name: str) -> Document:
    """What kind of document the bytes are; MediaError if none we accept."""
    if len(data) > FILE_MAX_BYTES:
        raise _too_big(name, FILE_MAX_BYTES, len(data))
    if not data.strip():
        raise MediaError(EMPTY, name=clean_filename(name))
    if data.startswith(b"%PDF-"):
        return Document("application/pdf", "pdf")
    found = _zip_document(data) if data.startswith(b"PK\x03\x04") else _text_document(data)
    if found is None:
        raise MediaError(NOT_ACCEPTED, name=clean_filename(name))
    return found


_STORED = re.compile(r"[A-Za-z0-9_-]{20,64}\.(?:jpg|pdf|docx|xlsx|pptx|odt|txt)")


def stored_path(upload_dir: Path, name: str) -> Path:
    """Where a stored file is; ValueError for any name `store` could not have made."""
    if not isinstance(name, str) or not _STORED.fullmatch(name):
        raise ValueError(f"not a stored file name: {name!r}")
    return Path(upload_dir) / name


def fsync_path(path: Path) -> None:
    """Flush a file, or a folder's entries (a file renamed into it), to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def store(upload_dir: Path, data: bytes, suffix: str) -> str:
    """Write the bytes under a new random name (returned) with `suffix` (".jpg" or "jpg").

    Durable when it returns: the file's bytes and its name in the folder are both on disk, so a
    row committed after it never points at a file a power cut took away. Nothing is left behind
    when it fails (a full disk): neither the temporary file nor a half-written one.
    """
    name = secrets.token_urlsafe(24) + "." + suffix.lstrip(".")
    target = stored_path(upload_dir, name)  # refuses a suffix we don't store
    upload_dir = Path(upload_dir)
    upload_dir.mkdir(mode=0o750, parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=upload_dir, prefix=".upload-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o640)
        os.replace(temp, target)
        fsync_path(upload_dir)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        target.unlink(missing_ok=True)
        raise
    return name


def remove(upload_dir: Path, name: str) -> None:
    """Delete a stored file if it is there; a bad name or an OS error is ignored."""
    with contextlib.suppress(ValueError, OSError):
        stored_path(upload_dir, name).unlink(missing_ok=True)
