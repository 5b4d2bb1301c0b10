"""The party view lists each side's people, in a real browser: a second client added over
the API shows under the client side (by name), and leaves the list when she is removed."""

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, expect

from tests.browser import assert_no_errors, launch, open_page
from tests.conftest import RunningServer

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async for browser in launch():
        yield browser


async def test_the_party_view_lists_each_sides_people(
    server: RunningServer, browser: Browser
) -> None:
    platform = server.platform
    room = await platform.open_room("T-web-members")
    members = f"/api/rooms/{room}/members"
    anna = {"user": "c-2", "side": "client", "name": "Anna Berg"}
    assert (await platform.http.post(members, json=anna, headers=platform.auth)).status_code == 201
    token = await platform.token(room, "f-1", "freelancer")
    bruno = await open_page(browser, "bruno", f"{server.base_url}/#room={room}&token={token}")
    people = bruno.page.locator("ul.participants")
    await expect(people.locator("li.side")).to_have_text(["Client side", "Freelancer side"])
    await expect(people.locator("li[data-role=client] .name")).to_have_text(["c-1", "Anna Berg"])
    await expect(people.locator("li[data-role=freelancer] .name")).to_have_text(["f-1"])

    fred = {"user": "f-2", "side": "freelancer"}
    assert (await platform.http.post(members, json=fred, headers=platform.auth)).status_code == 201
    await expect(people.locator("li[data-role=freelancer] .name")).to_have_text(["f-1", "f-2"])
    gone = await platform.http.delete(f"{members}/client/c-2", headers=platform.auth)
    assert gone.status_code == 200, gone.text
    await expect(people.locator("li[data-role=client] .name")).to_have_text(["c-1"])
    await bruno.shot("party-members")
    assert_no_errors(bruno)
