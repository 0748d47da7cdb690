"""Reg 004 §20–27 on two or three phones (390×844): the educator records four violations from the
messages' «⋯» menu and blocks the parent for a week; the parent's open chat turns into the block's
banner without a reload; they read but cannot post, and apologise. With another parent's
objection the early unblock stays disabled and says why; with none, 24 hours later the educator
lifts the block and the parent writes again."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from playwright.sync_api import expect

from sferum_lite.extensions import db
from sferum_lite.models import Block, Message, utcnow

from .. import factories as f
from .conftest import new_phone
from .test_chat_live import open_chat

pytestmark = pytest.mark.browser

LIVE_MS = 3_000
SPAM = "Продаю самокат, недорого! Пишите в личку."


@pytest.fixture
def story(world):
    """The group's chat: the educator moderates; the parent wrote four messages against the
    rules; a second parent of the group is there too."""
    second = f.make_parent(
        world.kindergarten, "Ольга Белова", children=[f.make_child(world.group, "Белов", "Иван")]
    )
    chat = f.make_chat(
        world.kindergarten,
        world.educator,
        group=world.group,
        members=[world.parent, second],
    )
    spam = [f.make_message(chat, world.parent, f"{SPAM} ({n})") for n in range(1, 5)]
    return chat.id, [m.id for m in spam], second


def menu_action(page, message_id: int, name: str) -> None:
    """Two taps: «⋯» on the message, then the action."""
    message = page.locator(f"#m-{message_id}")
    message.locator(".msg-menu summary").click()
    message.locator(".msg-menu .menu").get_by_text(name).click()


def choose_clause(page, number: int, scope=None) -> None:
    (scope or page).locator("fieldset.clauses label").nth(number - 1).click()


@pytest.mark.parametrize("objection", [True, False], ids=["objected", "nobody-objects"])
def test_violations_block_apology_and_early_unblock(
    page, browser, live_server, problems, world, story, objection
):
    chat_id, spam, second = story
    open_chat(page, world.parent, chat_id)  # the parent's phone, with the chat open

    educator_context = new_phone(browser, live_server, problems)
    educator = educator_context.new_page()
    try:
        open_chat(educator, world.educator, chat_id, stream=False)
        for number, message_id in enumerate(spam, start=1):
            menu_action(educator, message_id, "Записать нарушение")
            expect(educator.locator("h1")).to_have_text("Записать нарушение")
            choose_clause(educator, 3)
            educator.get_by_role("button", name="Записать нарушение").click()
            expect(educator.locator(".flash").first).to_contain_text(
                f"нарушений в этом чате: {number}"
            )

        menu_action(educator, spam[-1], "Нарушения и блокировка автора")
        expect(educator.locator("h1")).to_contain_text(world.parent.name)
        educator.locator("summary", has_text="Заблокировать").click()
        form = educator.locator("#block-form")
        form.get_by_text("1 неделя").click()
        choose_clause(educator, 3, scope=form)
        form.get_by_role("button", name="Заблокировать участника").click()
        expect(educator.locator(".flash").first).to_contain_text("заблокирован(а) до")
        db.session.commit()
        block = db.session.scalar(db.select(Block).where(Block.chat_id == chat_id))
        assert block.ends_at - block.starts_at == timedelta(days=7)
        db.session.commit()

        # the parent's open chat: the composer gives way to the block's banner, live
        page.bring_to_front()
        banner = page.locator(".blocked-banner")
        expect(banner).to_be_visible(timeout=LIVE_MS)
        expect(banner).to_contain_text("Вы заблокированы в этом чате до")
        expect(page.locator("form#composer")).to_have_count(0)
        expect(page.locator(f"#m-{spam[0]}")).to_contain_text(SPAM)  # still reads
        banner.locator("summary", has_text="Принести извинения").click()
        banner.locator("textarea").fill("Простите, пожалуйста. Больше не буду.")
        banner.get_by_role("button", name="Принести извинения").click()
        apology = page.locator("li.msg", has=page.locator(".apology-label"))
        expect(apology).to_contain_text("Простите, пожалуйста")
        expect(page.locator(".blocked-banner")).to_contain_text("Вы принесли извинения")

        if objection:
            neighbour_context = new_phone(browser, live_server, problems)
            try:
                neighbour = neighbour_context.new_page()
                open_chat(neighbour, second, chat_id, stream=False)
                neighbour.on("dialog", lambda dialog: dialog.accept())
                theirs = neighbour.locator("li.msg", has=neighbour.locator(".apology-label"))
                theirs.get_by_role("button", name="Против досрочной разблокировки").click()
                expect(neighbour.locator(".flash").first).to_contain_text("возражение учтено")
                theirs = neighbour.locator("li.msg", has=neighbour.locator(".apology-label"))
                expect(theirs).to_contain_text("Против досрочной разблокировки: 1")
            finally:
                neighbour_context.close()

        # a day later: the window for objections has passed
        with time_machine.travel(utcnow() + timedelta(hours=24, minutes=1), tick=True):
            educator.bring_to_front()
            educator.goto(f"/chats/{chat_id}")
            mine = educator.locator("li.msg", has=educator.locator(".apology-label"))
            lift = mine.get_by_role("button", name="Разблокировать досрочно")
            if objection:
                expect(lift).to_be_disabled()
                expect(mine).to_contain_text("возразил")
                expect(mine).to_contain_text("она невозможна (п. 25 положения)")
            else:
                expect(lift).to_be_enabled()
                lift.click()
                expect(educator.locator(".flash").first).to_contain_text("Блокировка снята")

            page.bring_to_front()
            page.reload()
            if objection:
                expect(page.locator(".blocked-banner")).to_be_visible()
                expect(page.locator("form#composer")).to_have_count(0)
            else:
                page.get_by_label("Сообщение", exact=True).fill("Спасибо, что разблокировали.")
                page.get_by_role("button", name="Отправить").click()
                expect(page.locator("#messages > li.msg").last).to_contain_text("Спасибо")
    finally:
        educator_context.close()
    db.session.commit()
    last = db.session.scalar(
        db.select(Message).where(Message.chat_id == chat_id).order_by(Message.id.desc())
    )
    assert (last.text == "Спасибо, что разблокировали.") is not objection
    problems.assert_none()
