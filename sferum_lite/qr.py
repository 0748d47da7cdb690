"""Invite links and their QR codes: the public address, an inline SVG, a PNG to download.

A link that goes into a QR code or a poster is built from the configured BASE_URL, never from
the request's Host header: a forged Host must not put somebody else's address on the notice board.
"""

from __future__ import annotations

import io
import math

import segno
from flask import current_app, url_for
from flask_babel import gettext as _
from markupsafe import Markup

BORDER = 4  # the quiet zone, in modules: the minimum the QR standard asks for
ERROR = "M"  # 15 % of the code may be lost (a fold, a pin through the poster)
PNG_WIDTH = 1000  # at least this many pixels across: crisp when printed or shown big


def public_url(endpoint: str, **values) -> str:
    """An absolute URL on the configured public address."""
    return current_app.config["BASE_URL"].rstrip("/") + url_for(endpoint, **values)


def _make(data: str) -> segno.QRCode:
    return segno.make_qr(data, error=ERROR, boost_error=False)


def svg(data: str, label: str | None = None) -> Markup:
    """The QR code as inline SVG: black on white, a quiet zone of 4 modules, a viewBox and no
    width or height, so CSS sizes it; no style attributes (the CSP allows none)."""
    buffer = io.BytesIO()
    _make(data).save(
        buffer,
        kind="svg",
        scale=1,
        border=BORDER,
        dark="#000",
        light="#fff",
        xmldecl=False,
        svgns=True,
        svgclass="qr",
        lineclass=None,
        omitsize=True,
    )
    text = buffer.getvalue().decode("ascii").strip()
    accessible = Markup(' role="img" aria-label="{}" shape-rendering="crispEdges"').format(
        label or _("QR-код со ссылкой %(url)s", url=data)
    )
    head, rest = text.split(">", 1)
    # segno's own output: attributes we add are escaped; the path holds only digits and h/v/m
    return Markup(head) + accessible + Markup(">") + Markup(rest)


def png(data: str, scale: int | None = None) -> bytes:
    """The QR code as a black-and-white PNG, at least PNG_WIDTH pixels wide unless `scale`
    (pixels per module) says otherwise."""
    code = _make(data)
    if scale is None:
        width, _height = code.symbol_size(border=BORDER)
        scale = max(1, math.ceil(PNG_WIDTH / width))
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=scale, border=BORDER, dark="#000", light="#fff")
    return buffer.getvalue()
