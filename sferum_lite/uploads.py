"""Files going out of the app: names in Content-Disposition (RFC 6266), Cyrillic kept."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().strip()


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """`attachment; filename="ascii fallback"; filename*=UTF-8''percent-encoded`."""
    filename = "".join(ch for ch in filename if ch >= " " and ch not in '"\\/') or "file"
    stem, dot, ext = filename.rpartition(".") if "." in filename else (filename, "", "")
    fallback = (_ascii(stem) or "file") + dot + _ascii(ext)
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
