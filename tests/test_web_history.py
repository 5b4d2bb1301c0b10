"""A long room in a real browser (room/history.js): the page opens on the newest messages
(hello `recent`), loads earlier pages when the reader scrolls to the top or presses
"Load earlier messages", in order and without duplicates, keeps what the reader sees in
place, applies edits and retractions that came before their message was shown, and ends
with "Beginning of the conversation"."""

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Locator, expect

from tests.browser import Watched, assert_no_errors, launch, open_page
from tests.conftest import RunningServer

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])

MESSAGES = 120  # more than two pages of 50
PAGE = 50


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async for browser in launch():
        yield browser


async def long_room(server: RunningServer) -> str:
    """A room whose joint conversation holds MESSAGES messages of bob's, the 3rd edited and
    the 5th retracted (both amendments stored long after their message)."""
    platform = server.platform
    room = await platform.open_room("T-web-long", client="alice", freelancer="bob")
    bob, _ = await server.peer(room, "bob", "freelancer")
    for i in range(1, MESSAGES + 1):
        await bob.send(f"m{i}", "joint", f"message {i}")
        ack = await bob.next("ack", "error")
        assert ack["type"] == "ack" and ack["seq"] == i, ack
    edit = {"type": "edit", "id": "e3", "channel": "joint", "target": 3, "body": "message 3 again"}
    await bob.send_json(edit)
    await bob.send_json({"type": "retract", "id": "r5", "channel": "joint", "target": 5})
    assert [(await bob.next("ack", "error"))["type"] for _ in range(2)] == ["ack", "ack"]
    await bob.ws.close()
    return room


async def reader(server: RunningServer, browser: Browser, user: str, role: str) -> Watched:
    """`user`'s page on a new long room (`long_room`), as `role`."""
    room = await long_room(server)
    token = await server.platform.token(room, user, role)
    return await open_page(browser, user, f"{server.base_url}/#room={room}&token={token}")


def bodies(watched: Watched) -> Locator:
    return watched.page.locator("section[data-channel=joint] li.msg:not(.system) .body")


def earlier_button(watched: Watched) -> Locator:
    return watched.page.get_by_role("button", name="Load earlier messages")


async def texts(watched: Watched) -> list[str]:
    return await bodies(watched).all_inner_texts()


async def top_of(watched: Watched, text: str, scroll_to_top: bool = False) -> float:
    """Where the message saying `text` is, in the joint list's own coordinates; with
    `scroll_to_top`, right after scrolling the list to its top (in the same task, so before
    the page's observer can load anything)."""
    return float(
        await watched.page.locator("section[data-channel=joint] ol.messages").evaluate(
            """(list, [text, scroll]) => {
                if (scroll) list.scrollTop = 0;
                const item = [...list.querySelectorAll('li.msg')].find(
                    (li) => li.querySelector('.body').textContent === text);
                return item.getBoundingClientRect().top - list.getBoundingClientRect().top;
            }""",
            [text, scroll_to_top],
        )
    )


def beginning(watched: Watched) -> Locator:
    return watched.page.locator(".history-status", has_text="Beginning of the conversation")


def expected(first: int, last: int) -> list[str]:
    shown = {3: "message 3 again", 5: "Message retracted"}
    return [shown.get(i, f"message {i}") for i in range(first, last + 1)]


async def test_scrolling_to_the_top_loads_earlier_pages_in_order(
    server: RunningServer, browser: Browser
) -> None:
    alice = await reader(server, browser, "alice", "client")
    joint = alice.page.locator("section[data-channel=joint] ol.messages")

    # the newest page only: the edit and retract take seqs 121 and 122, so 73..120 show
    await expect(bodies(alice).last).to_have_text(f"message {MESSAGES}")
    await expect(bodies(alice)).to_have_count(PAGE - 2)
    assert await texts(alice) == expected(73, MESSAGES)
    await expect(alice.page.get_by_text("message 1", exact=True)).to_have_count(0)
    load = earlier_button(alice)
    await expect(load).to_have_count(1)
    await alice.shot("history-newest-page")

    # what was left out counts as held: a reconnect replays none of it
    assert (await alice.page.evaluate("window.mediation.client.since()"))["joint"] == MESSAGES + 2
    await alice.page.evaluate("window.mediation.client._ws.close()")
    await expect(alice.page.locator(".banner")).to_contain_text("Reconnecting")
    await expect(alice.page.locator(".banner")).to_be_hidden(timeout=10_000)
    await alice.page.wait_for_timeout(500)  # the replay, had there been one
    assert await texts(alice) == expected(73, MESSAGES)

    # scrolled to the top, the page before comes, and what was read stays where it was
    before = await top_of(alice, "message 73", scroll_to_top=True)
    await expect(bodies(alice)).to_have_count(MESSAGES - 22, timeout=10_000)
    assert await texts(alice) == expected(23, MESSAGES)
    after = await top_of(alice, "message 73")
    assert abs(after - before) <= 1, (before, after)
    assert await joint.evaluate("(list) => list.scrollTop") > 1000  # the new page is above
    await expect(beginning(alice)).to_have_count(0)

    before = await top_of(alice, "message 23", scroll_to_top=True)
    await expect(beginning(alice)).to_be_visible(timeout=10_000)
    await expect(bodies(alice)).to_have_count(MESSAGES)
    after = await top_of(alice, "message 23")
    assert abs(after - before) <= 1, (before, after)
    assert await texts(alice) == expected(1, MESSAGES)  # in order, none twice
    await expect(load).to_have_count(0)
    await alice.shot("history-beginning")

    # a message sent now still lands at the end, once
    box = alice.page.get_by_label("Message to Joint")
    await box.fill("and one more")
    await box.press("Enter")
    await expect(alice.page.locator("li.msg.own[data-state=delivered]")).to_have_count(1)
    assert await texts(alice) == [*expected(1, MESSAGES), "and one more"]
    assert_no_errors(alice)


async def test_the_load_earlier_button_works_from_the_keyboard(
    server: RunningServer, browser: Browser
) -> None:
    maya = await reader(server, browser, "maya", "moderator")
    await expect(bodies(maya)).to_have_count(PAGE - 2)
    load = earlier_button(maya)
    await load.focus()  # scrolls the list to its top, where the button is
    # as the keyboard focuses (the reader has not used the mouse: focus shows)
    assert await load.evaluate("(button) => button.matches(':focus-visible')") is True
    joint = maya.page.locator("section[data-channel=joint] ol.messages")
    assert await joint.evaluate("(list) => list.scrollTop") < 64
    # the reader on the button chose it: nothing loads by itself (it did, and a press
    # then loaded a second page or none, depending on when it came)
    await maya.page.wait_for_timeout(500)
    await expect(load).to_have_text("Load earlier messages")
    await expect(bodies(maya)).to_have_count(PAGE - 2)
    await maya.page.keyboard.press("Enter")
    await expect(bodies(maya)).to_have_count(MESSAGES - 22)
    await expect(load).to_be_focused()
    await maya.page.keyboard.press("Enter")
    await expect(beginning(maya)).to_be_visible()
    await expect(bodies(maya)).to_have_count(MESSAGES)
    # staff see every version of the messages amended before they were shown
    third = maya.page.locator("li.msg[data-seq='3']")
    await expect(third.locator(".body")).to_have_text("message 3 again")
    await expect(third.locator(".earlier")).to_have_text("Earlier version: message 3")
    await expect(maya.page.locator("li.msg.struck[data-seq='5'] .body")).to_have_text("message 5")
    assert_no_errors(maya)


async def test_a_button_focused_by_a_click_leaves_scrolling_up_to_load_by_itself(
    server: RunningServer, browser: Browser
) -> None:
    bob = await reader(server, browser, "bob", "freelancer")
    await expect(bodies(bob)).to_have_count(PAGE - 2)
    load = earlier_button(bob)
    # Focus as a click leaves it, without the race of clicking (reaching the button with
    # the pointer scrolls to it, and the observer loads on the way): the reader last used
    # the mouse, then the button takes the focus, not visibly and without scrolling.
    await bodies(bob).last.click()
    await load.evaluate("(button) => button.focus({preventScroll: true})")
    assert await load.evaluate("(button) => button.matches(':focus-visible')") is False
    assert await load.evaluate("(button) => document.activeElement === button")
    await top_of(bob, "message 73", scroll_to_top=True)
    await expect(bodies(bob)).to_have_count(MESSAGES - 22, timeout=10_000)
    assert await texts(bob) == expected(23, MESSAGES)
    assert_no_errors(bob)
