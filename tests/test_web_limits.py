"""The bundled web client under the limits of issue 12: it resends rate-limited
messages in order by itself (F5), and an embedded room takes a fresh token from
the host page before the old one runs out (F6)."""

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, expect

from mediation.config import Settings
from tests.browser import PHONE, assert_no_errors, launch, open_page
from tests.conftest import ServerFactory

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async for browser in launch():
        yield browser


async def test_the_web_client_resends_rate_limited_messages_in_order(
    start_server: ServerFactory, settings: Settings, browser: Browser
) -> None:
    # a wait shorter than a token's refill: past the burst, sends are refused at first
    server = await start_server(
        dataclasses.replace(settings, rate_per_second=10.0, rate_burst=5, rate_max_wait=0.05)
    )
    room = await server.platform.open_room("T-web-rate", client="alice", freelancer="bob")
    token = await server.platform.token(room, "alice", "client")
    alice = await open_page(browser, "alice", f"{server.base_url}/#room={room}&token={token}")
    await expect(alice.page.locator(".room-meta")).to_contain_text("T-web-rate")
    bodies = [f"n{i:02}" for i in range(30)]
    await alice.page.evaluate(
        "bodies => bodies.forEach((b) => window.mediation.client.send('joint', b))", bodies
    )
    delivered = alice.page.locator("li.msg.own[data-state=delivered]")
    await expect(delivered).to_have_count(len(bodies), timeout=20_000)
    records = await server.services.store.read(room, "joint", 0, 1000, 1000)
    assert [r.body for r in records] == bodies
    assert_no_errors(alice)


async def test_an_embedded_room_takes_a_fresh_token_from_the_host_page(
    start_server: ServerFactory, settings: Settings, browser: Browser
) -> None:
    server = await start_server(dataclasses.replace(settings, token_leeway=0))
    platform = server.platform
    room = await platform.open_room("T-web-refresh", client="carol", freelancer="dan")
    fresh = await platform.token(room, "carol", "client", ttl=3600)
    short = await platform.token(room, "carol", "client", ttl=3)
    url = f"{server.base_url}/embed-example.html#room={room}&token={short}"
    host = await open_page(browser, "host", url, PHONE)
    # the host mounts the room with a way to get a fresh token when asked
    await host.page.evaluate(
        """([room, token, fresh]) => {
            window.asked = [];
            const target = document.querySelector('#dispute');
            target.addEventListener('mediation:token-expiring', (e) => window.asked.push(e.detail));
            MediationEmbed.mount(target, { room, token, onTokenExpiring: () => fresh });
        }""",
        [room, short, fresh],
    )
    frame = host.page.frame_locator("#dispute iframe")
    await expect(frame.locator(".room-meta")).to_contain_text("T-web-refresh")
    await asyncio.sleep(4.0)  # past the first token's expiry
    asked = await host.page.evaluate("window.asked")
    assert asked and asked[0]["room"] == room and asked[0]["expired"] is False, asked
    await frame.get_by_label("Message to Joint").fill("still here after the first token")
    await frame.get_by_label("Message to Joint").press("Enter")
    await expect(frame.locator("li.msg.own[data-state=delivered]")).to_have_count(1)
    assert_no_errors(host)
