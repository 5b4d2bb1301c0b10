"""The party view offers the signed settlement once both parties accepted: the browser
saves the document byte for byte as the server signed it."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.browser import assert_no_errors, launch, open_page
from tests.conftest import RunningServer
from tests.test_settlement_artifact import bearer, download, settle

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async for browser in launch():
        yield browser


async def test_a_party_downloads_the_signed_settlement(
    server: RunningServer, browser: Browser, tmp_path: Path
) -> None:
    platform = server.platform
    room, _ = await settle(server, "T-web-settled")
    link = f"{server.base_url}/#room={room}&token="
    freelancer = await open_page(
        browser, "f-1", link + await platform.token(room, "f-1", "freelancer")
    )
    outcome = freelancer.page.locator(".outcome")
    await expect(outcome).to_contain_text("300.00")
    async with freelancer.page.expect_download() as download_info:
        await outcome.get_by_role("button", name="Download the signed settlement").click()
    saved = tmp_path / "saved.json"
    await (await download_info.value).save_as(saved)
    signed = await download(server, room, bearer(await platform.token(room, "c-1", "client")))
    assert saved.read_bytes() == signed.content
    assert_no_errors(freelancer)
