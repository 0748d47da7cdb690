"""CSRF on every POST, response headers, trusted hosts, cookies, escaping, error pages."""

from __future__ import annotations

import io
import re

import pytest
from flask import url_for
from sqlalchemy import func, select

from sferum_lite.extensions import db
from sferum_lite.models import AuditLog, Group, StaffInvite, User

from . import factories as f
from .conftest import sign_in
from .test_route_matrix import url_values

REFERER = {"Referer": "https://localhost/"}  # the tests' requests are https, like production


@pytest.fixture
def csrf_app(make_app):
    return make_app(WTF_CSRF_ENABLED=True)


def csrf_token_from(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def test_every_post_route_refuses_a_missing_or_stale_csrf_token(csrf_app, world):
    invite = f.make_staff_invite(world.kindergarten, world.admin)
    client = csrf_app.test_client()
    # sign in with a real token, as a browser would
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    assert (
        client.post(
            "/login",
            data={"login": world.director.login, "password": f.PASSWORD, "csrf_token": token},
            headers=REFERER,
        ).status_code
        == 303
    )
    posts = [rule for rule in csrf_app.url_map.iter_rules() if "POST" in rule.methods]
    assert len(posts) > 20
    for rule in posts:
        values = {name: url_values(world, invite)[name] for name in rule.arguments}
        with csrf_app.test_request_context():
            url = url_for(rule.endpoint, **values)
        for token in (None, "stale.token-from-an-old-session"):
            data = {"name": "Новая группа"} | ({"csrf_token": token} if token else {})
            response = client.post(url, data=data, headers=REFERER)
            assert response.status_code == 400, url
            assert "Страница устарела" in response.get_data(as_text=True)
    # nothing was done by any of them
    assert db.session.scalar(select(func.count()).select_from(Group)) == 2
    assert db.session.get(User, world.educator.id).dismissed_at is None
    assert client.get("/").status_code == 200  # and the director is still signed in


def test_forms_and_htmx_requests_with_the_token_pass(csrf_app, world):
    client = csrf_app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    client.post(
        "/login",
        data={"login": world.admin.login, "password": f.PASSWORD, "csrf_token": token},
        headers=REFERER,
    )
    page = client.get("/admin/groups").get_data(as_text=True)
    token = csrf_token_from(page)
    # the token htmx sends is the one on <body hx-headers:inherited=…>
    header_token = re.search(r'hx-headers:inherited=\'\{"X-CSRFToken": "([^"]+)"\}\'', page).group(
        1
    )
    response = client.post(
        "/admin/groups", data={"name": "Ромашка", "csrf_token": token}, headers=REFERER
    )
    assert response.status_code == 303
    response = client.post(
        f"/admin/groups/{world.group.id}/rename",
        data={"name": "Лучики"},
        headers={"X-CSRFToken": header_token, "HX-Request": "true", **REFERER},
    )
    assert response.status_code == 303
    assert db.session.get(Group, world.group.id).name == "Лучики"
    # over https a valid token from another site's page is refused as well
    response = client.post(
        "/admin/groups",
        data={"name": "Чужая", "csrf_token": token},
        headers={"Referer": "https://evil.example/"},
    )
    assert response.status_code == 400
    assert db.session.scalar(select(Group).where(Group.name == "Чужая")) is None


def test_security_headers_on_every_page(client, world, as_user):
    admin = as_user(world.admin)
    for path in ["/login", "/", "/admin/", "/admin/children", "/profile"]:
        response = (client if path == "/login" else admin).get(path)
        assert response.status_code == 200, path
        csp = response.headers["Content-Security-Policy"]
        script_src = re.search(r"script-src ([^;]+)", csp).group(1)
        assert script_src.strip() == "'self'"
        assert "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "same-origin"
        html = response.get_data(as_text=True)
        # no inline script anywhere: every <script> loads a file of ours
        for tag in re.findall(r"<script[^>]*>", html):
            assert re.search(r'src="/static/[^"]+"', tag), tag
        assert not re.search(r"<[^>]+\son[a-z]+=", html), "inline event handler"


def test_session_cookie_flags(client, world):
    response = client.post("/login", data={"login": world.parent.login, "password": f.PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" in cookie  # BASE_URL of the tests is https


def test_cookie_not_secure_over_plain_http(make_app, world):
    app = make_app(BASE_URL="http://127.0.0.1:5000")
    response = app.test_client().post(
        "/login", data={"login": world.parent.login, "password": f.PASSWORD}
    )
    assert "Secure" not in response.headers["Set-Cookie"]


def test_trusted_hosts(make_app, world):
    app = make_app(TRUSTED_HOSTS=["sad7.example"])
    client = app.test_client()
    assert client.get("/login", base_url="https://sad7.example").status_code == 200
    assert client.get("/login", base_url="https://evil.example").status_code == 400


def test_user_text_is_escaped(app, world, as_user):
    world.educator.name = "Анна <script>alert(1)</script>"
    db.session.commit()
    html = as_user(world.admin).get("/admin/staff").get_data(as_text=True)
    assert "Анна &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html


def test_versioned_static_files_are_cached_for_a_year(client, world):
    html = client.get("/login").get_data(as_text=True)
    css = re.search(r'href="(/static/app\.css\?v=[0-9a-f]+)"', html).group(1)
    with client.get(css) as response:
        assert response.status_code == 200
        assert "max-age=31536000" in response.headers["Cache-Control"]
        assert "immutable" in response.headers["Cache-Control"]
        assert "no-cache" not in response.headers["Cache-Control"]


@pytest.mark.parametrize(
    "language,title", [("ru", "Страница не найдена"), ("en", "Page not found")]
)
def test_error_pages_speak_the_visitors_language(client, world, language, title):
    response = client.get("/no/such/page", headers={"Accept-Language": language})
    assert response.status_code == 404
    assert title in response.get_data(as_text=True)


def test_405_page(client, world):
    response = client.get("/logout")
    assert response.status_code == 405
    assert "кнопкой на странице" in response.get_data(as_text=True)


def test_413_page_for_a_body_over_the_limit(make_app, world):
    app = make_app(MAX_UPLOAD_MB=1)
    client = sign_in(app.test_client(), world.admin)
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n'
        + b"x" * (2 * 1024 * 1024)
        + b"\r\n--b--\r\n"
    )
    response = client.post(
        "/admin/children/import",
        input_stream=io.BytesIO(body),
        content_type="multipart/form-data; boundary=b",
        content_length=len(body),
    )
    assert response.status_code == 413
    assert "Файл слишком большой" in response.get_data(as_text=True)


def test_500_page_and_nothing_half_saved(make_app, world):
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    def boom():
        db.session.add(Group(kindergarten_id=world.kindergarten.id, name="Полусохранённая"))
        db.session.flush()
        raise RuntimeError("boom")

    app.add_url_rule("/boom", "boom", boom)
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert "Что-то пошло не так" in response.get_data(as_text=True)
    assert db.session.scalar(select(Group).where(Group.name == "Полусохранённая")) is None


def test_no_password_or_token_in_the_audit_log(app, world, as_user):
    admin = as_user(world.admin)
    admin.post(
        "/admin/staff/invites",
        data={"position": "vospitatel", "role": "educator", "expires": "7", "max_uses": "1"},
    )
    invite_token = db.session.scalar(select(StaffInvite.token))
    sign_in(app.test_client(), world.parent).post(
        "/profile/password", data={"current_password": f.PASSWORD, "password": "новая весна 2027"}
    )
    for row in db.session.scalars(select(AuditLog)):
        text = repr(row.details)
        assert invite_token not in text
        assert "новая весна" not in text and f.PASSWORD not in text


def test_the_web_app_manifest_and_icons(client, world):
    response = client.get("/manifest.webmanifest")
    assert response.mimetype == "application/manifest+json"
    manifest = response.get_json()
    assert manifest["name"] == "Детский сад № 7 «Берёзка»"
    assert manifest["start_url"] == "/" and manifest["display"] == "standalone"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512", "any"} <= sizes
    for icon in manifest["icons"]:
        with client.get(icon["src"]) as image:
            assert image.status_code == 200
            assert image.mimetype == icon["type"]
    html = client.get("/login").get_data(as_text=True)
    assert 'rel="manifest"' in html and 'rel="icon"' in html
