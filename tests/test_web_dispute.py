"""A whole dispute through the web app alone, in three browsers: client, freelancer, moderator.

The platform only opens the room, mints the parties' join links and the
moderator's staff link, and stores one macro. Everything else is clicked and
typed: the claim from the queue, a macro, an upload (and a refused one), a caucus with each side, a
proposal, a counter and a middle ground both accept on its card, a forced
disconnect with messages sent on both sides of it, the settlement, both
ratings, and the auditor reading and verifying the transcript.
"""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser import PHONE, Watched, assert_no_errors, attach, launch, open_page
from tests.conftest import RunningServer
from tests.files import minimal_pdf, sha256
from transcripts.verify import verify

pytestmark = [pytest.mark.parametrize("backend", ["sqlite"]), pytest.mark.slow]

MACRO = "Hello ${client} and ${freelancer}, I am ${moderator}; I will help with ${ticket}."


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async for browser in launch():
        yield browser


async def staff_token(server: RunningServer, user: str, role: str, purpose: str = "") -> str:
    platform = server.platform
    body = {"user": user, "role": role, **({"purpose": purpose} if purpose else {})}
    response = await platform.http.post("/api/staff/tokens", json=body, headers=platform.auth)
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


async def say(page: Page, channel_label: str, text: str) -> None:
    box = page.get_by_label(f"Message to {channel_label}")
    await box.fill(text)
    await box.press("Enter")


async def shortcut(page: Page, key: str) -> None:
    """Press a console shortcut with the focus outside any text field."""
    await page.evaluate("document.activeElement && document.activeElement.blur()")
    await page.keyboard.press(key)


async def seen_once(watched: Watched, text: str) -> None:
    """`text` is shown in exactly one message of the page: nothing missing, nothing doubled."""
    await expect(watched.page.locator("li.msg .body", has_text=text)).to_have_count(1)


async def test_a_dispute_from_opening_to_resolution_in_the_browser(
    server: RunningServer, browser: Browser, tmp_path: Path
) -> None:
    platform = server.platform
    room = await platform.open_room("T-e2e", client="alice", freelancer="bob", priority="high")
    stored = await platform.http.put(
        "/api/macros/welcome",
        json={"title": "Welcome", "body": MACRO},
        headers=platform.auth,
    )
    assert stored.status_code in (200, 201), stored.text
    link = f"{server.base_url}/#room={room}&token="
    alice = await open_page(browser, "alice", link + await platform.token(room, "alice", "client"))
    bob = await open_page(
        browser, "bob", link + await platform.token(room, "bob", "freelancer"), PHONE
    )
    maya_token = await staff_token(server, "maya", "moderator")
    maya_link = f"{server.base_url}/console.html#token={maya_token}"
    maya = await open_page(browser, "maya", maya_link)
    everyone = (alice, bob, maya)

    # the client opens the dispute; the freelancer sees it and who is online
    await say(alice.page, "Joint", "The logo files were never delivered.")
    await expect(alice.page.locator("li.msg.own[data-state=delivered]")).to_have_count(1)
    await seen_once(bob, "logo files were never delivered")
    await expect(bob.page.locator(".person[data-role=client]")).to_have_attribute(
        "data-online", "true"
    )
    await bob.page.get_by_label("Message to Joint").fill("They were")
    await expect(alice.page.locator(".typing")).to_contain_text("bob")
    await expect(alice.page.locator(".typing")).to_be_empty(timeout=8000)  # a hint, not a state

    # the moderator claims the room from the live queue
    claim = maya.page.get_by_role("button", name="Claim local/T-e2e")
    await expect(claim).to_be_visible()
    entry = maya.page.locator(".queue-item", has_text="T-e2e")
    await expect(entry.locator("time.since").first).to_be_visible()
    await maya.shot("console-queue")
    await claim.click()
    for watched in everyone:
        await expect(watched.page.locator(".room-meta")).to_contain_text("mediating")
    await expect(alice.page.locator("li.msg.system", has_text="maya has joined")).to_be_visible()
    await expect(maya.page.get_by_role("button", name="Open local/T-e2e")).to_be_visible()

    # the shortcuts are listed under ?
    await shortcut(maya.page, "?")
    help_dialog = maya.page.get_by_role("dialog", name="Keyboard shortcuts")
    await expect(help_dialog).to_contain_text("Open or close a private session")
    await maya.shot("console-shortcuts")
    await maya.page.keyboard.press("Escape")
    await expect(help_dialog).to_be_hidden()

    # a macro, filled in for this room, checked and sent with the keyboard
    await shortcut(maya.page, "m")
    await maya.page.locator("dialog button.macro[data-macro=welcome]").click()
    composer = maya.page.get_by_label("Message to Joint")
    await expect(composer).to_have_value("Hello alice and bob, I am maya; I will help with T-e2e.")
    await composer.press("Enter")
    for watched in everyone:
        await seen_once(watched, "Hello alice and bob, I am maya")
    announcer = alice.page.locator("div.sr-only[aria-live=polite]")  # read to screen readers
    await expect(announcer).to_contain_text("maya in Joint: Hello alice and bob")

    # the client attaches the brief as evidence: a progress bar, then a card for everyone;
    # the moderator downloads the very same bytes. A page named .png is refused, nothing stored.
    brief = tmp_path / "project brief.pdf"
    brief.write_bytes(minimal_pdf("Logo files due May 3", padding=20_000))
    await attach(alice.page, brief)
    upload = alice.page.locator("li.upload", has_text="project brief.pdf")
    await expect(upload.locator("progress")).to_be_attached()
    await expect(upload).to_have_attribute("data-state", "done")
    await expect(upload.locator("progress")).to_have_js_property("value", len(brief.read_bytes()))
    for watched in everyone:
        card = watched.page.locator("li.attachment", has_text="project brief.pdf")
        await expect(card.locator(".file-hash code")).to_have_text(sha256(brief.read_bytes())[:12])
    async with maya.page.expect_download() as download_info:
        await maya.page.get_by_role("button", name="Download project brief.pdf").click()
    downloaded = tmp_path / "brief-downloaded.pdf"
    await (await download_info.value).save_as(downloaded)
    assert downloaded.read_bytes() == brief.read_bytes()
    fake = tmp_path / "proof.png"
    fake.write_text("<html><body>not an image</body></html>")
    alice.expect_console_error("status of 415")
    await attach(alice.page, fake)
    refused = alice.page.locator("li.upload[data-state=failed]", has_text="proof.png")
    await expect(refused).to_contain_text("This type of file is not accepted")
    await alice.shot("party-desktop-attachment")
    await refused.get_by_role("button", name="Dismiss the failed upload of proof.png").click()
    await say(alice.page, "Joint", "The brief is attached.")
    for watched in everyone:  # a stored refusal would have come before this message
        await seen_once(watched, "The brief is attached.")
        await expect(watched.page.locator("li.attachment")).to_have_count(1)
    await bob.shot("party-phone-attachment")

    # a caucus with each side: the other side only sees that one runs
    for side, label, insider, outsider in (
        ("client", "Caucus: client", alice, bob),
        ("freelancer", "Caucus: freelancer", bob, alice),
    ):
        await shortcut(maya.page, side[0])
        await expect(outsider.page.locator(".caucus-indicator")).to_contain_text(
            f"private session with the {side}"
        )
        await expect(insider.page.locator(".caucus-indicator")).to_contain_text("with you")
        await say(maya.page, label, f"Just between us, {side}: what would you accept?")
        tab = insider.page.get_by_role("tab", name="Private with moderator")
        await expect(tab.locator(".badge")).to_contain_text("1 unread")
        await tab.click()
        await seen_once(insider, f"Just between us, {side}")
        await say(insider.page, "Private with moderator", f"{side} would take a fair split")
        await seen_once(maya, f"{side} would take a fair split")
        if side == "client":
            await maya.shot("console-room-caucus")
            await bob.shot("party-phone-caucus-indicator")
        await shortcut(maya.page, side[0])
        await expect(outsider.page.locator(".caucus-indicator")).to_be_hidden()
        await insider.page.get_by_role("tab", name="Joint").click()
    await expect(alice.page.locator("li.msg", has_text="freelancer would take")).to_have_count(0)
    await expect(bob.page.locator("li.msg", has_text="client would take")).to_have_count(0)

    # a proposal from the moderator, a counter from the freelancer
    await maya.page.get_by_role("tab", name="Joint").click()
    await shortcut(maya.page, "p")
    await maya.page.get_by_label("Amount").fill("1000")
    await maya.page.get_by_label("Milestone (optional)").fill("M2")
    await maya.page.get_by_label("Terms in words (optional)").fill("Refund for the missing files")
    await maya.page.get_by_role("button", name="Send proposal").click()
    first = bob.page.locator("li.card.proposal[data-status=open]")
    await expect(first).to_contain_text("USD 1,000.00")
    await first.get_by_role("button", name="Counter…").click()
    await bob.page.get_by_label("Amount").fill("1200")
    await bob.page.get_by_role("button", name="Send proposal").click()
    counter = maya.page.locator("li.card.proposal[data-status=open]")
    await expect(counter).to_contain_text("USD 1,200.00")
    await expect(alice.page.locator("li.card.proposal[data-status=countered]")).to_have_count(1)

    # a forced disconnect: the client's socket dies while both sides keep talking
    # (a reconnect attempt while offline, 0.4 s on under load, is logged by Chromium)
    alice.expect_console_error("ERR_INTERNET_DISCONNECTED")
    await alice.context.set_offline(True)
    await alice.page.evaluate("window.mediation.client._ws && window.mediation.client._ws.close()")
    await expect(alice.page.locator(".banner")).to_contain_text("Reconnecting")
    await expect(bob.page.locator(".person[data-role=client]")).to_have_attribute(
        "data-online", "false"
    )
    await say(alice.page, "Joint", "Sorry, my train went into a tunnel.")
    await expect(alice.page.locator("li.msg.own[data-state=sending]")).to_have_count(1)
    await say(maya.page, "Joint", "While you were away: I will suggest a middle ground.")
    await alice.shot("party-desktop-reconnecting")
    await alice.context.set_offline(False)
    await expect(alice.page.locator(".banner")).to_be_hidden(timeout=15_000)
    await expect(alice.page.locator("li.msg.own[data-state=sending]")).to_have_count(0)
    for watched in everyone:
        await seen_once(watched, "my train went into a tunnel")
        await seen_once(watched, "While you were away")
        await seen_once(watched, "The logo files were never delivered.")

    # the moderator's middle ground; both parties accept it on its card
    await counter.get_by_role("button", name="Counter…").click()
    await maya.page.get_by_label("Amount").fill("1100")
    await maya.page.get_by_label("Milestone (optional)").fill("M2")
    await maya.page.get_by_role("button", name="Send proposal").click()
    for party in (alice, bob):
        card = party.page.locator("li.card.proposal[data-status=open]")
        await expect(card).to_contain_text("USD 1,100.00")
        await card.get_by_role("button", name="Accept").click()

    for watched in everyone:
        outcome = watched.page.locator(".outcome")
        await expect(outcome).to_contain_text("Resolved")
        await expect(outcome).to_contain_text("USD 1,100.00 for M2")
        settled = watched.page.locator("li.card[data-status=settled]")
        await expect(settled).to_contain_text("1,100.00")
    await maya.shot("console-room-resolved")

    # both rate the mediation; the moderator sees the ratings in each caucus
    for party, stars in ((alice, "5 out of 5"), (bob, "4 out of 5")):
        await expect(party.page.locator(".csat form")).to_be_visible()
        await party.shot(f"party-{party.name}-csat")
        await party.page.get_by_label(stars).check()
        await party.page.get_by_label("Anything you would like to tell us?").fill("Fair and quick")
        await party.page.get_by_role("button", name="Send rating").click()
        await expect(party.page.locator(".csat")).to_contain_text("Thank you")
    await maya.page.get_by_role("tab", name="Private with bob (freelancer)").click()
    rating = maya.page.locator("li.msg.system", has_text="rated the mediation 4")
    await expect(rating).to_be_visible()
    await alice.shot("party-desktop-resolved")
    await bob.shot("party-phone-resolved")

    # the auditor finds the room by its ticket, reads it and exports the signed bundle
    auditor_link = await staff_token(server, "ada", "auditor", "quality review of T-e2e")
    ada = await open_page(browser, "ada", f"{server.base_url}/audit.html#token={auditor_link}")
    await ada.page.get_by_label("Ticket id").fill("T-e2e")
    await ada.page.get_by_role("button", name="Find").click()
    await ada.page.get_by_role("button", name="Read transcript").click()
    await expect(ada.page.locator("#room .verdict")).to_have_attribute("data-result", "pass")
    transcript = ada.page.locator("ol.transcript")
    await expect(transcript.locator("li.record", has_text="client would take")).to_contain_text(
        "Caucus: client"
    )
    evidence = transcript.locator("li.record.kind-file", has_text="project brief.pdf")
    await expect(evidence).to_contain_text(sha256(brief.read_bytes()))
    await ada.shot("audit-transcript", full_page=True)
    async with ada.page.expect_download() as download_info:
        await ada.page.get_by_role("button", name="Download signed bundle (.jsonl)").click()
    bundle = tmp_path / "bundle.jsonl"
    await (await download_info.value).save_as(bundle)
    signing = server.services.signing()
    public = signing.public()[signing.active]
    verdict = verify(bundle.read_bytes().splitlines(keepends=True), public)
    assert verdict.ok, verdict.reason

    assert_no_errors(*everyone, ada)
