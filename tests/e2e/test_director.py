"""The director's dashboard in a real browser, on a laptop (1280×800) and on a phone (390×844):
the figures, the groups table and the SVG charts render and fit the screen; the chats table
sorts and opens a chat; the monthly report has its print layout."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from sferum_lite.extensions import db
from sferum_lite.models import utcnow

from .. import factories as f
from .conftest import PHONE, sign_in

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1280, "height": 800}


def _kindergarten_with_activity(world):
    """The world's two groups with chats: «Солнышко» busy over the last days, «Капелька» quiet,
    its one child without a parent in its chat."""
    kapelka = world.other_group
    busy = f.make_chat(
        world.kindergarten, world.educator, group=world.group, members=[world.parent]
    )
    quiet = f.make_chat(
        world.kindergarten,
        world.other_educator,
        group=kapelka,
        title="Родители группы «Капелька»",
    )

    now = utcnow()
    for days_ago, count in ((0, 3), (1, 5), (3, 2), (10, 4)):
        for i in range(count):
            f.make_message(
                busy,
                world.parent if i % 2 else world.educator,
                f"Сообщение {days_ago}-{i}",
                created_at=now - timedelta(days=days_ago, minutes=i),
            )
    f.make_message(quiet, world.other_educator, "Тишина", created_at=now - timedelta(days=2))
    db.session.commit()
    return busy, quiet


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_dashboard_figures_and_charts_render_and_fit(
    browser, live_server, problems, world, viewport
):
    busy, _quiet = _kindergarten_with_activity(world)
    login = world.director.login
    db.session.commit()
    context = browser.new_context(
        base_url=live_server.url, viewport=viewport, locale="ru-RU", timezone_id="Europe/Moscow"
    )
    context.on("console", problems.on_console)
    context.on("response", problems.on_response)
    page = context.new_page()
    try:
        sign_in(page, login, then="/director/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Сводка по чатам")
        recent = page.locator("#figures a", has_text="за 7 дней")
        expect(recent.locator("b")).to_have_text("11")  # the last 7 days: 3 + 5 + 2, 1 quiet

        # the charts: real SVG with one bar per day, drawn with a height, inside the screen
        daily = page.locator("#chart-daily svg")
        expect(daily).to_be_visible()
        assert page.locator("#chart-daily rect").count() == 30
        tallest = page.locator("#chart-daily rect").evaluate_all(
            "bars => Math.max(...bars.map(b => b.getBoundingClientRect().height))"
        )
        assert tallest > 20, "the busiest day's bar is drawn"
        box = daily.bounding_box()
        assert box["width"] > 250 and box["x"] + box["width"] <= viewport["width"]
        expect(page.locator("#chart-weekly svg")).to_be_visible()
        rows = page.locator("#per-group .multiple")
        expect(rows).to_have_count(2)
        expect(rows.nth(1)).to_contain_text("Солнышко")
        expect(rows.nth(1)).to_contain_text("14")  # everything of the last 30 days
        # the numbers behind a chart, for whoever needs them
        page.locator("#chart-daily summary").click()
        expect(page.locator("#chart-daily table")).to_be_visible()

        # the groups: coverage, with a link to the group's page
        groups = page.locator("#groups + table")
        expect(groups).to_contain_text("Капелька")
        expect(groups).to_contain_text("0 из 1")
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= viewport["width"], f"the page is {wide}px wide"

        # a figure links to the list behind it: the chats table, busiest first
        recent.click()
        page.wait_for_url("**/director/chats?sort=messages")
        first = page.locator("#chats-table tbody tr").first
        expect(first).to_contain_text("Родители группы «Солнышко»")
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        if viewport is LAPTOP:
            page.get_by_role("link", name="За 7 дней ↓").click()  # the same column: ascending
            page.wait_for_url("**dir=asc")
            expect(page.locator("#chats-table tbody tr").last).to_contain_text("«Солнышко»")
        # each row opens its chat (not followed here: the chat page's live stream would
        # outlive the test's server)
        row = page.locator("#chats-table tbody tr", has_text="«Солнышко»")
        link = row.get_by_role("link", name="Родители группы «Солнышко»")
        expect(link).to_have_attribute("href", f"/chats/{busy.id}")
        problems.assert_none()
    finally:
        context.close()


def test_monthly_report_prints_without_navigation(page, problems, world):
    _kindergarten_with_activity(world)
    login = world.director.login
    db.session.commit()
    sign_in(page, login, then="/director/report")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Отчёт об использовании")
    expect(page.locator("#chart-daily svg")).to_be_visible()
    expect(page.get_by_role("button", name="Печать")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.locator("nav.tabbar")).to_be_hidden()
    expect(page.locator("form.month-form")).to_be_hidden()
    expect(page.locator("#report-chats")).to_be_visible()
    expect(page.locator(".signature")).to_be_visible()
    page.emulate_media(media="screen")
    expect(page.locator(".signature")).to_be_hidden()
    problems.assert_none()
