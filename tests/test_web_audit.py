"""The auditor page verifies bundles in the browser exactly as `mediation verify` does."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.browser import assert_no_errors, launch, open_page
from tests.conftest import RunningServer
from transcripts.verify import verify

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async for browser in launch():
        yield browser


def tampered(bundle: bytes) -> bytes:
    """The same bundle with one message's text changed, as someone might try."""
    return bundle.replace("Ünïcödé “quotes” \\n".encode(), "Unicode “quotes” \\n".encode())


async def test_a_dropped_bundle_passes_or_fails_as_offline(
    server: RunningServer, browser: Browser, tmp_path: Path
) -> None:
    platform = server.platform
    room = await platform.open_room("T-web-audit")
    client, _ = await server.peer(room, "c-1", "client")
    for n, body in enumerate(["plain", "Ünïcödé “quotes” \n\t\x01 😀 </script>"]):
        ack = await client.act({"type": "send", "id": f"m{n}", "channel": "joint", "body": body})
        assert ack["type"] == "ack", ack
    await client.act({"type": "edit", "id": "e1", "channel": "joint", "target": 1, "body": "fixed"})
    exported = await platform.http.get(f"/api/rooms/{room}/export", headers=platform.auth)
    assert exported.status_code == 200
    good = tmp_path / "room.transcript.jsonl"
    good.write_bytes(exported.content)
    bad = tmp_path / "altered.transcript.jsonl"
    bad.write_bytes(tampered(exported.content))
    assert bad.read_bytes() != good.read_bytes()

    page = await open_page(browser, "auditor", f"{server.base_url}/audit.html")
    verdict = page.page.locator("#verify-result")
    await page.page.set_input_files("#verify-file", str(good))
    await expect(verdict).to_have_attribute("data-result", "pass")
    signing = server.services.signing()
    public = signing.public()[signing.active]
    offline = verify(exported.content.splitlines(keepends=True), public)
    await expect(verdict.locator(".verdict-reason")).to_have_text(offline.reason)
    await page.shot("audit-verify-pass")

    await page.page.set_input_files("#verify-file", str(bad))
    await expect(verdict).to_have_attribute("data-result", "fail")
    offline = verify(bad.read_bytes().splitlines(keepends=True), public)
    assert not offline.ok
    await expect(verdict.locator(".verdict-reason")).to_have_text(offline.reason)
    await page.shot("audit-verify-fail")
    assert_no_errors(page)


async def test_a_room_named_in_the_fragment_opens_at_once(
    server: RunningServer, browser: Browser
) -> None:
    """The link a Zendesk note gives (`#room=ID`), with the auditor's token beside it."""
    platform = server.platform
    room = await platform.open_room("T-web-audit-link")
    body = {"user": "ada", "role": "auditor", "purpose": "quality review of a Zendesk ticket"}
    minted = await platform.http.post("/api/staff/tokens", json=body, headers=platform.auth)
    assert minted.status_code == 201, minted.text
    token = minted.json()["token"]
    page = await open_page(
        browser, "auditor", f"{server.base_url}/audit.html#token={token}&room={room}"
    )
    await expect(page.page.locator("#room .verdict")).to_have_attribute("data-result", "pass")
    assert_no_errors(page)
