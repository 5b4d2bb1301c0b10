"""Attachments in the browser: upload with progress, live cards, download, refusals, delete.

Three browsers (client on a desktop, freelancer on a phone, moderator in the
console) and an auditor. Every file goes through the page's own controls:
the Attach button's file chooser, a drop on the conversation; every refusal
is the server's own (the page never guesses a type or a size limit).
"""

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, CDPSession, expect

from mediation.config import Settings
from tests.browser import PHONE, assert_no_errors, attach, launch, open_page
from tests.conftest import RunningServer
from tests.files import minimal_pdf, sha256
from tests.test_web_dispute import staff_token

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])

LIMIT = 200_000  # bytes per file on this test's server, so a refusal for size is cheap


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, files_max_bytes=LIMIT)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async for browser in launch():
        yield browser


async def network(cdp: CDPSession, offline: bool = False, upload: int = -1) -> None:
    """Chromium's network emulation for one page: offline, or uploads at `upload` bytes/s."""
    conditions = {"latency": 0, "downloadThroughput": -1, "uploadThroughput": upload}
    await cdp.send("Network.emulateNetworkConditions", {"offline": offline, **conditions})


async def test_files_are_attached_seen_downloaded_refused_and_removed(
    server: RunningServer, browser: Browser, tmp_path: Path
) -> None:
    platform = server.platform
    room = await platform.open_room("T-web-files", client="alice", freelancer="bob")
    link = f"{server.base_url}/#room={room}&token="
    alice = await open_page(browser, "alice", link + await platform.token(room, "alice", "client"))
    bob = await open_page(
        browser, "bob", link + await platform.token(room, "bob", "freelancer"), PHONE
    )
    maya_link = (
        f"{server.base_url}/console.html#token={await staff_token(server, 'maya', 'moderator')}"
    )
    maya = await open_page(browser, "maya", maya_link)
    everyone = (alice, bob, maya)
    await maya.page.get_by_role("button", name="Claim local/T-web-files").click()
    for watched in everyone:
        await expect(watched.page.locator(".room-meta")).to_contain_text("mediating")

    # the client attaches a real PDF through the file chooser; a slowed upload shows its progress
    contract = tmp_path / "signed contract.pdf"
    contract.write_bytes(minimal_pdf("Deliver the logo by May 3", padding=60_000))
    cdp = await alice.context.new_cdp_session(alice.page)
    await cdp.send("Network.enable")
    await network(cdp, upload=40_000)
    await attach(alice.page, contract)
    row = alice.page.locator("li.upload")
    await expect(row).to_have_attribute("data-state", "uploading")
    progress = alice.page.get_by_label("Uploading signed contract.pdf")
    await expect(progress).to_be_visible()
    await alice.shot("attach-desktop-progress")
    await expect(row).to_have_attribute("data-state", "done", timeout=20_000)
    await expect(row.locator("progress")).to_have_js_property("value", len(contract.read_bytes()))
    announcer = alice.page.locator("div.sr-only[aria-live=polite]")  # read to screen readers
    await expect(announcer).to_contain_text("signed contract.pdf uploaded")
    await network(cdp)

    # everyone sees the card live: name, size, type, who, the start of the hash
    digest = sha256(contract.read_bytes())
    for watched in everyone:
        card = watched.page.locator("li.attachment", has_text="signed contract.pdf")
        await expect(card).to_have_count(1)
        await expect(card).to_contain_text("PDF document")
        await expect(card).to_contain_text("kB")
        await expect(card.locator(".who")).to_have_text("alice")
        await expect(card.locator(".file-hash code")).to_have_text(digest[:12])
        await expect(card.locator(".file-hash code")).to_have_attribute("title", digest)
    await expect(alice.page.locator("li.upload")).to_have_count(0, timeout=10_000)
    await expect(bob.page.locator("div.sr-only[aria-live=polite]")).to_contain_text(
        "alice attached signed contract.pdf in Joint"
    )

    # the moderator downloads it: the same bytes, fetched with the room token
    card = maya.page.locator("li.attachment", has_text="signed contract.pdf")
    async with maya.page.expect_download() as download_info:
        await card.get_by_role("button", name="Download signed contract.pdf").click()
    download = await download_info.value
    assert download.suggested_filename == "signed contract.pdf"
    saved = tmp_path / "downloaded.pdf"
    await download.save_as(saved)
    assert saved.read_bytes() == contract.read_bytes()

    # an HTML page named .png, and a file over the limit: the server's refusal, no card anywhere
    fake = tmp_path / "screenshot.png"
    fake.write_bytes(b"<!doctype html><script>alert(1)</script>")
    alice.expect_console_error("status of 415")
    await attach(alice.page, fake)
    refused = alice.page.locator("li.upload[data-state=failed]", has_text="screenshot.png")
    await expect(refused).to_contain_text("This type of file is not accepted")
    await expect(refused).to_contain_text("text/html")
    await expect(refused.get_by_role("button", name="Retry")).to_have_count(0)
    huge = tmp_path / "scan.pdf"
    huge.write_bytes(minimal_pdf("scan", padding=LIMIT))
    alice.expect_console_error("status of 413")
    await attach(alice.page, huge)
    too_big = alice.page.locator("li.upload[data-state=failed]", has_text="scan.pdf")
    await expect(too_big).to_contain_text("The file is too large")
    await alice.shot("attach-desktop-refused")
    await alice.page.get_by_label("Message to Joint").fill("Sorry, wrong files.")
    await alice.page.get_by_label("Message to Joint").press("Enter")
    for watched in everyone:  # anything the refusals had stored would have arrived before this
        await expect(watched.page.locator("li.msg", has_text="wrong files")).to_have_count(1)
        await expect(watched.page.locator("li.attachment")).to_have_count(1)
    await too_big.get_by_role("button", name="Dismiss the failed upload of scan.pdf").click()
    await expect(too_big).to_have_count(0)

    # the network fails mid-way: Retry sends it again once it is back
    notes = tmp_path / "timeline.txt"
    notes.write_text("May 1: brief\nMay 3: deadline\nMay 7: nothing delivered\n")
    await network(cdp, offline=True)
    alice.expect_console_error("ERR_INTERNET_DISCONNECTED")
    await attach(alice.page, notes)
    failed = alice.page.locator("li.upload[data-state=failed]", has_text="timeline.txt")
    await expect(failed).to_contain_text("The connection failed")
    await network(cdp)
    await failed.get_by_role("button", name="Retry the upload of timeline.txt").click()
    await expect(alice.page.locator("li.upload", has_text="timeline.txt")).to_have_attribute(
        "data-state", "done"
    )
    await expect(bob.page.locator("li.attachment", has_text="timeline.txt")).to_contain_text(
        "Plain text"
    )

    # a cancelled upload leaves nothing (slow enough, 15 s, that Cancel comes first on a busy box)
    await network(cdp, upload=4_000)
    await attach(alice.page, contract)
    running = alice.page.locator("li.upload[data-state=uploading]")
    await running.get_by_role("button", name="Cancel the upload of signed contract.pdf").click()
    await expect(alice.page.locator("li.upload", has_text="signed contract.pdf")).to_have_count(0)
    await expect(announcer).to_contain_text("Upload of signed contract.pdf cancelled")
    await network(cdp)
    await alice.page.get_by_label("Message to Joint").fill("Never mind that one.")
    await alice.page.get_by_label("Message to Joint").press("Enter")
    for watched in everyone:
        await expect(watched.page.locator("li.msg", has_text="Never mind")).to_have_count(1)
        await expect(watched.page.locator("li.attachment", has_text="contract")).to_have_count(1)

    # the moderator drops a file on the client's caucus: the freelancer never sees it
    await maya.page.get_by_role("tab", name="Private with alice (client)").click()
    await maya.page.evaluate(
        """() => {
            const panel = document.querySelector('.panel[data-channel="caucus:client"]');
            const data = new DataTransfer();
            data.items.add(new File(['Private: the client paid half.'], 'ledger.txt'));
            for (const type of ['dragenter', 'drop']) {
                panel.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true,
                    cancelable: true }));
            }
        }"""
    )
    await expect(maya.page.locator("li.attachment", has_text="ledger.txt")).to_be_visible()
    private_tab = alice.page.get_by_role("tab", name="Private with moderator")
    await expect(private_tab.locator(".badge")).to_contain_text("1 unread")
    await private_tab.click()
    await expect(alice.page.locator("li.attachment", has_text="ledger.txt")).to_be_visible()
    await alice.page.get_by_role("tab", name="Joint").click()
    await maya.page.get_by_role("tab", name="Joint").click()

    # the freelancer pastes a screenshot (a real PNG, drawn on a canvas) into his message box
    await bob.page.get_by_label("Message to Joint").evaluate(
        """async (box) => {
            const canvas = document.createElement('canvas');
            canvas.width = 40;
            canvas.height = 20;
            canvas.getContext('2d').fillRect(0, 0, 20, 20);
            const png = await new Promise((done) => canvas.toBlob(done, 'image/png'));
            const data = new DataTransfer();
            data.items.add(new File([png], 'image.png', { type: 'image/png' }));
            box.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true,
                cancelable: true }));
        }"""
    )
    for watched in everyone:
        pasted = watched.page.locator("li.attachment", has_text="image.png")
        await expect(pasted).to_contain_text("PNG image")
        await expect(pasted.locator(".who")).to_have_text("bob")

    # the freelancer may not delete the client's file; the client may: the card stays, greyed
    bob_card = bob.page.locator("li.attachment", has_text="signed contract.pdf")
    await expect(
        bob_card.get_by_role("button", name="Download signed contract.pdf")
    ).to_be_visible()
    await expect(bob_card.locator(".file-delete")).to_have_count(0)
    await bob.shot("attach-phone-cards")
    await maya.shot("attach-console-cards")
    alice_card = alice.page.locator("li.attachment", has_text="signed contract.pdf")
    await alice_card.get_by_role("button", name="Delete signed contract.pdf").click()
    dialog = alice.page.get_by_role("dialog", name="Delete signed contract.pdf?")
    await dialog.get_by_label("Reason (optional, shown to everyone)").fill("Wrong version")
    await dialog.get_by_role("button", name="Delete file").click()
    for watched in everyone:
        card = watched.page.locator("li.attachment", has_text="signed contract.pdf")
        await expect(card).to_have_attribute("data-state", "deleted")
        await expect(card).to_contain_text("File removed by alice")
        await expect(card).to_contain_text("Wrong version")
        await expect(card.get_by_role("button")).to_have_count(0)
    await alice.shot("attach-desktop-cards")
    await bob.shot("attach-phone-deleted")
    await bob.page.emulate_media(color_scheme="dark")
    await bob.shot("attach-phone-dark")

    # the auditor's transcript lists the files with their hashes, and downloads the one left
    auditor = await staff_token(server, "ada", "auditor", "review of T-web-files")
    ada = await open_page(browser, "ada", f"{server.base_url}/audit.html#token={auditor}")
    await ada.page.get_by_label("Ticket id").fill("T-web-files")
    await ada.page.get_by_role("button", name="Find").click()
    await ada.page.get_by_role("button", name="Read transcript").click()
    await expect(ada.page.locator("#room .verdict")).to_have_attribute("data-result", "pass")
    transcript = ada.page.locator("ol.transcript")
    pdf_record = transcript.locator("li.record.kind-file", has_text="signed contract.pdf")
    await expect(pdf_record).to_contain_text(digest)
    await expect(pdf_record).to_contain_text("(file removed)")
    await expect(transcript.locator("li.record.kind-file_deleted")).to_contain_text(
        "removed signed contract.pdf: Wrong version"
    )
    timeline = transcript.locator("li.record.kind-file", has_text="timeline.txt")
    async with ada.page.expect_download() as download_info:
        await timeline.get_by_role("button", name="Download timeline.txt").click()
    text = tmp_path / "timeline-audited.txt"
    await (await download_info.value).save_as(text)
    assert text.read_bytes() == notes.read_bytes()
    await ada.shot("audit-transcript-files", full_page=True)

    assert_no_errors(*everyone, ada)
