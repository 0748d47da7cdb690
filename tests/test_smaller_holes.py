"""Issue 13, section 5: the smaller holes, one test (or a few) per point."""

from __future__ import annotations

from . import factories as f

# (d) the session cookie carries the __Host- prefix over https -------------------------------


def test_session_cookie_is_host_prefixed_over_https(client, world):
    response = client.post("/login", data={"login": world.parent.login, "password": f.PASSWORD})
    (cookie,) = response.headers.getlist("Set-Cookie")
    name, attributes = cookie.split("=", 1)[0], [a.strip() for a in cookie.split(";")[1:]]
    assert name == "__Host-sferum_session"  # BASE_URL of the tests is https
    # what the prefix demands, or the browser drops the cookie
    assert "Secure" in attributes
    assert "Path=/" in attributes
    assert not any(a.lower().startswith("domain=") for a in attributes)
    # and the prefixed cookie is the one that signs in
    assert client.get("/profile").status_code == 200


def test_session_cookie_keeps_its_plain_name_over_http(make_app, world):
    app = make_app(BASE_URL="http://127.0.0.1:5000")
    response = app.test_client().post(
        "/login", data={"login": world.parent.login, "password": f.PASSWORD}
    )
    assert response.headers["Set-Cookie"].startswith("sferum_session=")
