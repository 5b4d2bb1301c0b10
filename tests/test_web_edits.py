"""Editing and retracting one's own messages in a real browser (room/edits.js): the other
party and the moderator's console see the new text marked edited, the console keeps the
earlier version; a retracted message says so; nobody is offered to change another's
message; a refusal shows under the message under its own title."""

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.browser import PHONE, Watched, assert_no_errors, launch, open_page
from tests.conftest import RunningServer
from tests.test_web_dispute import say as say_in
from tests.test_web_dispute import staff_token

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async for browser in launch():
        yield browser


async def say(page: Page, text: str) -> Locator:
    await say_in(page, "Joint", text)
    own = page.locator("li.msg.own[data-state=delivered]", has_text=text)
    await expect(own).to_have_count(1)
    return own


def message(watched: Watched, text: str) -> Locator:
    return watched.page.locator("li.msg", has_text=text)


async def test_a_party_edits_and_retracts_and_everyone_sees_it(
    server: RunningServer, browser: Browser
) -> None:
    platform = server.platform
    room = await platform.open_room("T-web-edit", client="alice", freelancer="bob")
    link = f"{server.base_url}/#room={room}&token="
    alice = await open_page(browser, "alice", link + await platform.token(room, "alice", "client"))
    bob_link = link + await platform.token(room, "bob", "freelancer")
    bob = await open_page(browser, "bob", bob_link, PHONE)
    touch = await bob.context.new_cdp_session(bob.page)  # a touch screen: no hover
    await touch.send("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 1})
    maya_token = await staff_token(server, "maya", "moderator")
    maya = await open_page(browser, "maya", f"{server.base_url}/console.html#token={maya_token}")
    await maya.page.get_by_role("button", name="Claim local/T-web-edit").click()
    await expect(maya.page.locator(".room-meta")).to_contain_text("mediating")

    first = await say(alice.page, "The files came on day 9.")
    bobs = await say(bob.page, "They came on day 5.")
    # on a touch screen the actions are always shown
    await expect(bobs.locator(".msg-actions")).to_have_css("opacity", "1")
    await expect(bobs.get_by_role("button", name="Edit your message #2")).to_be_visible()
    await expect(message(alice, "They came on day 5.")).to_have_count(1)
    # nobody is offered to change someone else's message
    theirs = message(alice, "They came on day 5.")
    await expect(theirs.get_by_role("button", name="Edit your message")).to_have_count(0)
    await expect(theirs.locator(".msg-actions")).to_have_count(0)
    await expect(message(bob, "The files came on day 9.").locator(".msg-actions")).to_have_count(0)
    await expect(message(maya, "The files came on day 9.").locator(".msg-actions")).to_have_count(0)

    # the actions show on hover and on keyboard focus, and are reached with Tab
    actions = first.locator(".msg-actions")
    await expect(actions).to_have_css("opacity", "0")
    await first.hover()
    await expect(actions).to_have_css("opacity", "1")
    await alice.page.mouse.move(0, 0)
    await expect(actions).to_have_css("opacity", "0")
    edit = first.get_by_role("button", name="Edit your message #1")
    await edit.focus()
    await expect(actions).to_have_css("opacity", "1")

    # Esc cancels an edit: nothing is sent
    await alice.page.keyboard.press("Enter")
    box = first.get_by_label("New text of your message")
    await expect(box).to_be_focused()
    await expect(box).to_have_value("The files came on day 9.")
    await box.fill("a change I do not want")
    await box.press("Escape")
    await expect(box).to_have_count(0)
    await expect(first.locator(".body")).to_have_text("The files came on day 9.")
    await expect(edit).to_be_focused()

    # Enter saves: the new text, marked edited with the time, for everyone; the console
    # keeps the earlier version
    await edit.click()
    await box.fill("The files came on day 7.")
    await alice.shot("edits-editing")
    await box.press("Enter")
    for watched in (alice, bob, maya):
        shown = message(watched, "The files came on day 7.")
        await expect(shown.locator(".body")).to_have_text("The files came on day 7.")
        await expect(shown.locator(".meta .edited")).to_contain_text("edited")
        await expect(shown.locator(".meta .edited time")).to_have_count(1)
    await expect(message(maya, "The files came on day 7.").locator(".earlier")).to_have_text(
        "Earlier version: The files came on day 9."
    )
    await expect(message(bob, "The files came on day 7.").locator(".earlier")).to_have_count(0)
    await expect(alice.page.locator("li.msg .body", has_text="day 9")).to_have_count(0)

    # Retract asks first, in a dialog; then "Message retracted" for the parties, and the
    # console keeps the text, struck through
    second = await say(alice.page, "I will not pay anything.")
    await expect(message(maya, "I will not pay anything.")).to_have_count(1)
    seq = await second.get_attribute("data-seq")  # 4: the edit took a seq of its own
    assert seq == "4"
    retract = second.get_by_role("button", name=f"Retract your message #{seq}")
    await retract.click()
    dialog = alice.page.get_by_role("dialog", name="Retract this message?")
    await expect(dialog).to_be_visible()
    await alice.shot("edits-retract-dialog")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_have_count(0)
    await expect(second.locator(".body")).to_have_text("I will not pay anything.")
    await expect(retract).to_be_focused()  # back where it was
    await retract.click()
    await dialog.get_by_role("button", name="Retract").click()
    for watched in (alice, bob):
        retracted = watched.page.locator("li.msg.retracted[data-seq='4'] .body")
        await expect(retracted).to_have_text("Message retracted")
    struck = maya.page.locator("li.msg.struck", has_text="I will not pay anything.")
    await expect(struck).to_have_count(1)
    await expect(alice.page.locator("li.msg[data-seq='4'] .msg-actions")).to_be_hidden()
    await alice.shot("edits-done")
    await bob.shot("edits-phone")
    await maya.shot("edits-console-history")

    # the auditor page lists each message with its history beneath it, as before
    ada_token = await staff_token(server, "ada", "auditor", "quality review of T-web-edit")
    ada = await open_page(browser, "ada", f"{server.base_url}/audit.html#token={ada_token}")
    await ada.page.get_by_label("Ticket id").fill("T-web-edit")
    await ada.page.get_by_role("button", name="Find").click()
    await ada.page.get_by_role("button", name="Read transcript").click()
    transcript = ada.page.locator("ol.transcript")
    original = transcript.locator("li.record.kind-message", has_text="The files came on day 9.")
    await expect(original.locator("ul.history")).to_contain_text("The files came on day 7.")
    pulled = transcript.locator("li.record.kind-message", has_text="I will not pay anything.")
    await expect(pulled.locator("ul.history")).to_contain_text("retracted")

    # after a reload the replay shows the same
    await bob.page.reload()
    await expect(message(bob, "The files came on day 7.").locator(".edited")).to_have_count(1)
    await expect(bob.page.locator("li.msg.retracted[data-seq='4'] .body")).to_have_text(
        "Message retracted"
    )
    assert_no_errors(alice, bob, maya, ada)


async def test_a_refused_edit_shows_under_the_message(
    server: RunningServer, browser: Browser
) -> None:
    platform = server.platform
    room = await platform.open_room("T-web-edit-refused", client="alice", freelancer="bob")
    link = f"{server.base_url}/#room={room}&token="
    alice = await open_page(browser, "alice", link + await platform.token(room, "alice", "client"))
    maya = await open_page(browser, "maya", link + await platform.token(room, "maya", "moderator"))
    mine = await say(alice.page, "my card is 4111 1111 1111 1111")
    await expect(message(maya, "4111")).to_have_count(1)

    # alice edits while offline; meanwhile the moderator removes the text; back online,
    # the edit goes out and the server refuses it (conflict)
    alice.expect_console_error("ERR_INTERNET_DISCONNECTED")  # the reconnect attempts
    await alice.context.set_offline(True)
    await alice.page.evaluate("window.mediation.client._ws && window.mediation.client._ws.close()")
    await expect(alice.page.locator(".banner")).to_contain_text("Reconnecting")
    await mine.get_by_role("button", name="Edit your message #1").click()
    await mine.get_by_label("New text of your message").fill("my card is on file")
    await mine.get_by_label("New text of your message").press("Enter")
    await expect(mine.locator(".amend-state")).to_have_text("Saving…")
    await message(maya, "4111").get_by_role("button", name="Remove text of message #1").click()
    await maya.page.get_by_role("button", name="Remove text").last.click()
    await expect(maya.page.locator("li.msg.redacted")).to_have_count(1)
    await alice.context.set_offline(False)
    refusal = alice.page.locator("li.msg[data-seq='1'] .amend-error")
    await expect(refusal).to_contain_text(
        "The moderator removed this message's text: it cannot be changed", timeout=15_000
    )
    await expect(alice.page.locator("li.msg[data-seq='1'] .msg-actions")).to_be_hidden()
    await expect(alice.page.locator("li.msg[data-seq='1'] .body")).to_contain_text(
        "Removed by the moderator"
    )
    await alice.shot("edits-refused")
    assert_no_errors(alice, maya)
