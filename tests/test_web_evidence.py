"""Evidence requests in the browser: the moderator asks from the console, the client sees
the request open above the conversation and attaches for it, a late answer is marked
late, the review closes it for everyone."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser import assert_no_errors, launch, open_page
from tests.conftest import RunningServer
from tests.files import minimal_pdf
from tests.test_web_dispute import staff_token

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async for browser in launch():
        yield browser


async def attach_for(page: Page, card_text: str, path: Path) -> None:
    card = page.locator("li.evidence", has_text=card_text)
    async with page.expect_file_chooser() as chooser:
        await card.get_by_role("button", name=f"Attach a file for the request: {card_text}").click()
    await (await chooser.value).set_files(str(path))


async def test_a_request_is_asked_answered_late_and_reviewed_in_the_browser(
    server: RunningServer, browser: Browser, tmp_path: Path
) -> None:
    platform = server.platform
    room = await platform.open_room("T-web-evidence", client="alice", freelancer="bob")
    link = f"{server.base_url}/#room={room}&token="
    alice = await open_page(browser, "alice", link + await platform.token(room, "alice", "client"))
    bob = await open_page(browser, "bob", link + await platform.token(room, "bob", "freelancer"))
    maya_link = (
        f"{server.base_url}/console.html#token={await staff_token(server, 'maya', 'moderator')}"
    )
    maya = await open_page(browser, "maya", maya_link)
    await maya.page.get_by_role("button", name="Claim local/T-web-evidence").click()
    await expect(alice.page.locator(".room-meta")).to_contain_text("mediating")

    # the moderator asks from the console's toolbar (default due date: in three days)
    await maya.page.get_by_role("button", name="Ask for evidence…").click()
    dialog = maya.page.get_by_role("dialog")
    await dialog.get_by_label("What is asked for").fill("The signed contract")
    await dialog.get_by_role("button", name="Send the request").click()
    for watched in (alice, bob, maya):
        card = watched.page.locator("li.evidence", has_text="The signed contract")
        await expect(card).to_have_attribute("data-status", "open")
        await expect(card).to_contain_text("Evidence requested from the Client")
    summary = alice.page.locator("section.evidence-open")
    await expect(summary).to_contain_text("The signed contract")
    await expect(summary).to_contain_text("asked of you")
    await expect(bob.page.locator("li.evidence").get_by_role("button")).to_have_count(0)

    # the client attaches for it, in time
    contract = tmp_path / "contract.pdf"
    contract.write_bytes(minimal_pdf("signed", padding=2000))
    await attach_for(alice.page, "The signed contract", contract)
    answer = maya.page.locator("li.evidence", has_text="The signed contract").locator(
        "li.evidence-answer", has_text="contract.pdf"
    )
    await expect(answer).to_have_count(1)
    await expect(answer).not_to_have_class("evidence-answer late")

    # a second request, due in two seconds (sent over the moderator's own socket), answered late
    moderator, _ = await server.peer(room, "maya", "moderator")
    due = datetime.now(UTC) + timedelta(seconds=2)
    frame = {"type": "request_evidence", "id": "soon", "party": "client"}
    await moderator.acked(frame | {"item": "Delivery screenshots", "due_at": due.isoformat()})
    await expect(alice.page.locator("li.evidence", has_text="Delivery screenshots")).to_be_visible()
    await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 0.3)
    shots = tmp_path / "screens.pdf"
    shots.write_bytes(minimal_pdf("screens", padding=1000))
    await attach_for(alice.page, "Delivery screenshots", shots)
    for watched in (alice, maya):
        late = watched.page.locator("li.evidence", has_text="Delivery screenshots").locator(
            "li.evidence-answer.late"
        )
        await expect(late).to_contain_text("late")
    await alice.shot("evidence-party-late")

    # the moderator reviews: closed for everyone, gone from the open list
    card = maya.page.locator("li.evidence", has_text="The signed contract")
    await card.get_by_role("button", name="Review…").click()
    dialog = maya.page.get_by_role("dialog")
    await dialog.get_by_label("Verdict").select_option("not_satisfied")
    await dialog.get_by_label("Note").fill("Not signed by the freelancer")
    await dialog.get_by_role("button", name="Save the verdict").click()
    for watched in (alice, bob, maya):
        reviewed = watched.page.locator("li.evidence", has_text="The signed contract")
        await expect(reviewed).to_have_attribute("data-status", "not_satisfied")
        await expect(reviewed).to_contain_text("Not signed by the freelancer")
    await expect(summary).not_to_contain_text("The signed contract")
    await expect(summary).to_contain_text("Delivery screenshots")
    await expect(
        alice.page.locator("li.evidence", has_text="The signed contract").get_by_role("button")
    ).to_have_count(0)
    await maya.shot("evidence-console")
    await moderator.close()
    assert_no_errors(alice, bob, maya)
