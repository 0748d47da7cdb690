"""What one photo may cost (issue 13 §4): formats decoded whole (PNG, WebP, HEIC) may have 25
megapixels, checked from the header before anything is decoded; at most two photos are decoded
at once per process (the others wait); one person may post so many messages with files in a
while. Photos are posted through HTTP, as a browser does; every picture is made in memory."""

from __future__ import annotations

import functools
import io
import re
import struct
import threading
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pillow_heif
import pytest
import time_machine
from PIL import Image, JpegImagePlugin, PngImagePlugin, WebPImagePlugin

from sferum_lite import media
from sferum_lite.extensions import db

from . import factories as f
from .conftest import sign_in
from .test_chats import jpeg_bytes, messages_of, post_message
from .test_messages import HTMX, attachments_of, form_errors, png_claiming, stored_files, typed_text

TEXT = "Фото с утренника\nвсем родителям"
TIMEOUT = 10  # seconds: no wait in these tests is longer; none is ever without one


@pytest.fixture
def group_chat(world):
    """«Солнышко»'s parents' chat: its educator (moderator) and a parent of the group."""
    return f.make_chat(
        world.kindergarten, world.educator, group=world.group, members=[world.parent]
    )


def encode(img: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **params)
    return out.getvalue()


@functools.cache
def png_7000() -> bytes:
    """A real 7000×7000 PNG (49 MP, under the old 50 MP limit) of 6 KB."""
    return encode(Image.new("1", (7000, 7000), 1), "PNG")


@functools.cache
def webp_7000() -> bytes:
    """A real lossless 7000×7000 WebP of 2 KB (the VP8L header)."""
    return encode(Image.new("RGB", (7000, 7000), "white"), "WEBP", lossless=True)


@functools.cache
def webp_extended() -> bytes:
    """A real 5100×5000 (25.5 MP) WebP with EXIF: the extended (VP8X) header."""
    exif = Image.Exif()
    exif[0x010F] = "Cam"
    return encode(Image.new("RGB", (5100, 5000), "white"), "WEBP", lossless=True, exif=exif)


@functools.cache
def webp_lossy() -> bytes:
    """A real lossy 5100×5000 WebP (the VP8 header)."""
    return encode(Image.new("RGB", (5100, 5000), "white"), "WEBP", quality=30)


@functools.cache
def heic_7000() -> bytes:
    """A small HEIC whose header (its `ispe` box) says 7000×7000: encoding a real one takes 5 s;
    what is read before decoding is the same."""
    data = bytearray(encode(Image.new("RGB", (64, 64), "white"), "HEIF", quality=50))
    at = data.index(b"ispe")
    data[at + 8 : at + 16] = struct.pack(">II", 7000, 7000)
    return bytes(data)


@pytest.fixture
def decodes(monkeypatch) -> list:
    """Every picture Pillow starts decoding (load()) or, for WebP, even opens (its plugin builds
    the decoder and its canvas in open())."""
    seen: list = []
    plugins = (
        JpegImagePlugin.JpegImageFile,
        PngImagePlugin.PngImageFile,
        WebPImagePlugin.WebPImageFile,
    )
    for cls in plugins:
        real = cls.load
        monkeypatch.setattr(cls, "load", lambda im, real=real: seen.append(im.format) or real(im))
    heif = pillow_heif.as_plugin.HeifImageFile
    real_heif = heif.load
    monkeypatch.setattr(heif, "load", lambda im: seen.append("HEIF") or real_heif(im))
    real_open = WebPImagePlugin.WebPImageFile._open
    monkeypatch.setattr(
        WebPImagePlugin.WebPImageFile, "_open", lambda im: seen.append("WEBP open") or real_open(im)
    )
    return seen


def post_photo(client, chat, data: bytes, name: str, text: str = TEXT, headers=None):
    return post_message(client, chat, text, files=[(data, name)], headers=headers)


# --- a lower pixel limit for formats decoded whole -------------------------------------------


TOO_BIG_PICTURES = [
    pytest.param(png_7000, "утренник.png", "7000×7000", "PNG", id="png-7000x7000"),
    pytest.param(webp_7000, "утренник.webp", "7000×7000", "WebP", id="webp-7000x7000"),
    pytest.param(webp_extended, "exif.webp", "5100×5000", "WebP", id="webp-vp8x-25.5mp"),
    pytest.param(webp_lossy, "lossy.webp", "5100×5000", "WebP", id="webp-lossy-25.5mp"),
    pytest.param(heic_7000, "IMG_0001.HEIC", "7000×7000", "HEIC", id="heic-7000x7000"),
]


@pytest.mark.parametrize(("make", "name", "size", "kind"), TOO_BIG_PICTURES)
def test_a_picture_decoded_whole_over_25_mp_is_refused_undecoded(
    world, as_user, group_chat, decodes, make, name, size, kind
):
    data = make()
    assert len(data) < 100 * 1024  # a few KB on the wire
    before = stored_files()
    response = post_photo(as_user(world.parent), group_chat, data, name)

    assert response.status_code == 422
    expected = (
        f"Фото «{name}» слишком большое: {size} точек. "
        f"Наибольший размер фото в {kind} — 25 мегапикселей."
    )
    assert expected in form_errors(response)
    assert typed_text(response) == TEXT
    assert decodes == []  # refused from the header
    assert messages_of(group_chat) == [] and stored_files() == before


def test_a_jpeg_keeps_its_own_50_mp_limit(world, as_user, group_chat, decodes):
    data = jpeg_bytes((10_000, 5_001))  # 50.01 MP
    response = post_photo(as_user(world.parent), group_chat, data, "IMG_0004.JPG")
    assert response.status_code == 422
    assert (
        "Фото «IMG_0004.JPG» слишком большое: 10000×5001 точек. "
        "Наибольший размер фото в JPEG — 50 мегапикселей."
    ) in form_errors(response)
    assert typed_text(response) == TEXT
    assert decodes == []


def test_htmx_refusal_of_a_big_png_goes_to_the_composer(world, as_user, group_chat, decodes):
    response = post_photo(as_user(world.parent), group_chat, png_7000(), "a.png", headers=HTMX)
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#composer"
    assert any("25 мегапикселей" in error for error in form_errors(response))
    assert typed_text(response) == TEXT
    assert decodes == []


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (20_000, 20_000),  # Pillow itself refuses to open it (DecompressionBombError)
        (10_000, 10_000),  # Pillow's warning, an exception where warnings are errors (here)
    ],
)
def test_pillow_s_own_bomb_refusal_is_the_same_refusal(
    world, as_user, group_chat, decodes, width, height
):
    response = post_photo(as_user(world.parent), group_chat, png_claiming(width, height), "b.png")
    assert response.status_code == 422
    assert "Фото «b.png» слишком большое" in "".join(form_errors(response))
    assert "Наибольший размер фото в PNG — 25 мегапикселей." in "".join(form_errors(response))
    assert typed_text(response) == TEXT
    assert decodes == []


def test_pillow_s_bomb_warning_in_production_is_refused_as_ours(
    world, as_user, group_chat, decodes
):
    """Where warnings are only warnings (production), Pillow warns over 89 MP and opens it: our
    check refuses it from the header, with its size."""
    client = as_user(world.parent)
    with pytest.warns(Image.DecompressionBombWarning):
        response = post_photo(client, group_chat, png_claiming(10_000, 10_000), "c.png")
    assert response.status_code == 422
    assert (
        "Фото «c.png» слишком большое: 10000×10000 точек. "
        "Наибольший размер фото в PNG — 25 мегапикселей."
    ) in form_errors(response)
    assert decodes == []


@pytest.mark.parametrize(
    ("data", "name", "size"),
    [
        pytest.param(
            lambda: jpeg_bytes((4000, 3000)), "IMG_0002.JPG", (2560, 1920), id="jpeg-12mp"
        ),
        # a JPEG keeps its 50 MP: it is decoded at 1/2 (draft)
        pytest.param(
            lambda: jpeg_bytes((7000, 6000)), "IMG_0003.JPG", (2560, 2194), id="jpeg-42mp"
        ),
        pytest.param(
            lambda: encode(Image.new("RGB", (5000, 5000), "red"), "PNG"),
            "exactly-25mp.png",
            (2560, 2560),
            id="png-25mp",
        ),
        pytest.param(
            lambda: encode(Image.new("RGB", (800, 600), "red"), "WEBP"),
            "small.webp",
            (800, 600),
            id="webp",
        ),
    ],
)
def test_a_normal_photo_still_posts(world, as_user, group_chat, data, name, size):
    """The control: what a phone sends still goes (passes before and after the change)."""
    response = post_photo(as_user(world.parent), group_chat, data(), name)
    assert response.status_code == 303, form_errors(response)
    (photo,) = attachments_of(messages_of(group_chat)[-1])
    assert photo.kind == "photo"
    assert (photo.width, photo.height) == size


# --- at most two decodes at once per process -----------------------------------------------------


class Gate:
    """Stands in for media._decode: notes how many are inside at once and holds each one until
    `opened` is set (or TIMEOUT passes: nothing waits for ever)."""

    def __init__(self):
        self.guard = threading.Lock()
        self.inside = 0
        self.most = 0
        self.calls = 0
        self.opened = threading.Event()

    def __call__(self, *_args, **_kwargs):
        with self.guard:
            self.inside += 1
            self.calls += 1
            self.most = max(self.most, self.inside)
        try:
            self.opened.wait(TIMEOUT)
            return Image.new("RGB", (40, 30), "green")
        finally:
            with self.guard:
                self.inside -= 1

    def wait_for(self, inside: int, seconds: float) -> int:
        """How many are inside once `inside` got in, or `seconds` passed."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self.guard:
                if self.inside >= inside:
                    break
            time.sleep(0.01)
        with self.guard:
            return self.inside


def run_threads(calls) -> tuple[list, list[threading.Thread]]:
    """Start one daemon thread per call; their results (an exception counts as one)."""
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            results[index] = call()
        except BaseException as error:  # noqa: BLE001 - shown by the test's assertion
            results[index] = error

    threads = [
        threading.Thread(target=run, args=(index, call), daemon=True)
        for index, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    return results, threads


def join_all(threads) -> None:
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a decode never finished"


@pytest.mark.parametrize("cap", [None, 3])
def test_at_most_two_photos_are_decoded_at_once(make_app, monkeypatch, cap):
    """Four photos at once: two (IMAGE_DECODE_CONCURRENCY) are decoded, the others wait for
    their turn and then go; none fails."""
    app = make_app(IMAGE_DECODE_CONCURRENCY=cap) if cap else None
    expected = cap or 2
    gate = Gate()
    monkeypatch.setattr(media, "_decode", gate)
    photo = jpeg_bytes()

    def process():
        if app is None:
            return media.process_photo(photo, "p.jpg")
        with app.app_context():
            return media.process_photo(photo, "p.jpg")

    threads: list[threading.Thread] = []
    try:
        results, threads = run_threads([process] * 4)
        assert gate.wait_for(expected, TIMEOUT) == expected
        assert gate.wait_for(4, 0.5) == expected  # the others had time to come in: they wait
    finally:
        gate.opened.set()
        join_all(threads)
    assert gate.calls == 4 and gate.most == expected
    assert all(isinstance(result, media.Photo) for result in results), results


def test_parallel_posts_with_photos_queue_for_their_decode(world, as_user, group_chat, monkeypatch):
    """The same through HTTP: four posts with a photo at once, two decoding; all four are
    posted."""
    gate = Gate()
    monkeypatch.setattr(media, "_decode", gate)
    clients = [as_user(world.parent) for _ in range(2)] + [
        as_user(world.educator) for _ in range(2)
    ]
    photo = jpeg_bytes()
    chat = SimpleNamespace(id=group_chat.id)  # the threads have no app context to load it in

    def poster(client, n):
        return lambda: post_photo(client, chat, photo, f"{n}.jpg", text=f"№ {n}").status_code

    threads: list[threading.Thread] = []
    try:
        results, threads = run_threads([poster(c, n) for n, c in enumerate(clients)])
        assert gate.wait_for(2, TIMEOUT) == 2, results
        assert gate.wait_for(4, 0.5) == 2
    finally:
        gate.opened.set()
        join_all(threads)
    assert results == [303] * 4
    assert gate.most == 2
    db.session.commit()  # the test's transaction ends: it sees what the threads wrote
    assert len(messages_of(group_chat)) == 4


# --- posts with files per person ---------------------------------------------------------------


@pytest.fixture
def limited(make_app, world, group_chat):
    """An app with rate limits on and 3 posts with files per 10 minutes per person."""
    return make_app(RATELIMIT_ENABLED=True, POSTS_WITH_FILES_LIMIT="3 per 10 minutes")


def client_of(app, user):
    return sign_in(app.test_client(), user)


def test_the_fourth_post_with_files_is_refused_in_the_composer(limited, world, group_chat):
    parent = client_of(limited, world.parent)
    for n in range(3):  # posts without files are not counted, before or after one with files
        assert post_message(parent, group_chat, f"Без фото {n}").status_code == 303
    assert post_photo(parent, group_chat, jpeg_bytes(), "1.jpg").status_code == 303
    for n in range(3):
        assert post_message(parent, group_chat, f"Снова без фото {n}").status_code == 303
    for n in (2, 3):
        assert post_photo(parent, group_chat, jpeg_bytes(), f"{n}.jpg").status_code == 303
    before, posted = stored_files(), len(messages_of(group_chat))

    response = post_photo(parent, group_chat, jpeg_bytes(), "четвёртое.jpg")

    assert response.status_code == 429
    errors = " ".join(form_errors(response))
    assert "Слишком много сообщений с фото и файлами за короткое время." in errors
    assert re.search(
        r"Следующее с вложениями можно отправить в \d\d:\d\d, без вложений — уже сейчас", errors
    )
    assert "Подождите минуту" not in response.get_data(as_text=True)  # not the error page
    assert typed_text(response) == TEXT
    assert 590 < int(response.headers["Retry-After"]) <= 601  # the 10 minutes' window
    assert stored_files() == before and len(messages_of(group_chat)) == posted

    # a post without files still goes; a document is a file too
    assert post_message(parent, group_chat, "А это без фото").status_code == 303
    pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
    refused = post_message(parent, group_chat, "Меню", files=[(pdf, "меню.pdf")])
    assert refused.status_code == 429


def test_the_limit_is_the_person_s_not_the_address_s(limited, world, group_chat):
    parent = client_of(limited, world.parent)
    educator = client_of(limited, world.educator)  # the same address (the test client's)
    for n in range(3):
        assert post_photo(parent, group_chat, jpeg_bytes(), f"{n}.jpg").status_code == 303
    assert post_photo(parent, group_chat, jpeg_bytes(), "4.jpg").status_code == 429
    for n in range(3):
        assert post_photo(educator, group_chat, jpeg_bytes(), f"{n}.jpg").status_code == 303
    # the same person on another browser is the same person
    assert (
        post_photo(client_of(limited, world.parent), group_chat, jpeg_bytes(), "5.jpg").status_code
        == 429
    )


def test_htmx_over_the_limit_swaps_the_composer(limited, world, group_chat):
    parent = client_of(limited, world.parent)
    for n in range(3):
        post_photo(parent, group_chat, jpeg_bytes(), f"{n}.jpg", headers=HTMX)
    response = post_photo(parent, group_chat, jpeg_bytes(), "4.jpg", headers=HTMX)
    assert response.status_code == 429
    assert response.headers["HX-Retarget"] == "#composer"
    assert response.headers["HX-Reswap"] == "outerHTML"
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<form id="composer"')
    assert any("Слишком много сообщений с фото" in error for error in form_errors(response))
    assert typed_text(response) == TEXT


def test_files_go_again_when_the_window_is_over(limited, world, group_chat):
    parent = client_of(limited, world.parent)
    with time_machine.travel(datetime.now(UTC), tick=False) as traveller:
        for n in range(3):
            assert post_photo(parent, group_chat, jpeg_bytes(), f"{n}.jpg").status_code == 303
        assert post_photo(parent, group_chat, jpeg_bytes(), "4.jpg").status_code == 429
        traveller.shift(timedelta(minutes=10, seconds=1))
        assert post_photo(parent, group_chat, jpeg_bytes(), "5.jpg").status_code == 303


def test_a_signed_out_post_gets_the_sign_in_page_not_the_limit(limited, world, group_chat):
    parent = client_of(limited, world.parent)
    for n in range(4):
        post_photo(parent, group_chat, jpeg_bytes(), f"{n}.jpg")
    anonymous = limited.test_client()
    response = post_photo(anonymous, group_chat, jpeg_bytes(), "x.jpg")
    assert response.status_code in (302, 303)
    assert "/login" in response.headers["Location"]
