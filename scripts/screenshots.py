"""Screenshots of the app's pages at a phone's size (390×844), for a person to look at.

    uv run python scripts/screenshots.py http://127.0.0.1:5000 LOGIN PASSWORD [out-dir]

Signs in with the given account and saves one PNG per page into out-dir (default: screenshots/).
Uses Debian's Chromium (/usr/bin/chromium), like the browser tests.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

# Debian's Chromium, headless, as root in a container; the browser tests use the same flags.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    # without these Chromium's own background connections get refused on the build machines
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PAGES = [
    "/",
    "/admin/",
    "/admin/groups",
    "/admin/children",
    "/admin/children/new",
    "/admin/children/import",
    "/admin/staff",
    "/admin/staff/invites",
    "/profile",
    "/chats",
    "/chats/new",
    "/moderation/log",
    "/admin/rules",
]
# pages of a chat, when the chat page links to them (as its moderators and members see it)
CHAT_PAGES = ("settings", "log", "reports", "my-violations", "rules")


def main() -> None:
    base, login, password = sys.argv[1:4]
    out = Path(sys.argv[4] if len(sys.argv) > 4 else "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(
            viewport={"width": 390, "height": 844}, device_scale_factor=1, locale="ru-RU"
        )
        page.goto(base + "/login")
        page.screenshot(path=out / "login.png", full_page=True)
        page.fill("input[name=login]", login)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]:has-text('Войти')")
        page.wait_for_load_state()
        extra = [
            a
            for a in page.eval_on_selector_all(
                "a[href^='/admin/groups/'], a[href^='/admin/staff/']",
                "els => els.map(e => e.getAttribute('href'))",
            )
            if re.search(r"/\d+$", a)
        ][:2]
        for path in PAGES + extra:
            page.goto(base + path)
            name = path.strip("/").replace("/", "-") or "home"
            page.screenshot(path=out / f"{name}.png", full_page=True)
            print(out / f"{name}.png")
            # and the first object each list links to: a group, a child, a person, an invite
            links = page.eval_on_selector_all(
                "main a[href]", "els => els.map(e => e.getAttribute('href'))"
            )
            pattern = re.escape(path.rstrip("/")) + r"/\d+"
            first = next((a for a in links if re.fullmatch(pattern, a)), None)
            if first:
                page.goto(base + first)
                name = first.strip("/").replace("/", "-")
                page.screenshot(path=out / f"{name}.png", full_page=True)
                print(out / f"{name}.png")
                if re.fullmatch(r"/chats/\d+", first):
                    linked = set(
                        page.eval_on_selector_all(
                            "a[href]", "els => els.map(e => e.getAttribute('href'))"
                        )
                    )
                    for part in CHAT_PAGES:
                        if f"{first}/{part}" in linked:
                            page.goto(base + f"{first}/{part}")
                            name = f"{first}/{part}".strip("/").replace("/", "-")
                            page.screenshot(path=out / f"{name}.png", full_page=True)
                            print(out / f"{name}.png")
        browser.close()


if __name__ == "__main__":
    main()
