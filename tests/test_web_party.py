"""The party view in a real browser: chat, proposal cards, resolution and CSAT, a phone."""

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, expect

from tests.browser import PHONE, assert_no_errors, launch, open_page
from tests.conftest import RunningServer

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async for browser in launch():
        yield browser


async def test_parties_settle_on_proposal_cards(server: RunningServer, browser: Browser) -> None:
    platform = server.platform
    room = await platform.open_room("T-web-party", client="alice", freelancer="bob")
    link = f"{server.base_url}/#room={room}&token="
    alice = await open_page(browser, "alice", link + await platform.token(room, "alice", "client"))
    bob = await open_page(
        browser, "bob", link + await platform.token(room, "bob", "freelancer"), PHONE
    )
    for watched in (alice, bob):
        await expect(watched.page.locator(".room-meta")).to_contain_text("T-web-party")

    await alice.page.get_by_label("Message to Joint").fill("The logo files never arrived.")
    await alice.page.get_by_label("Message to Joint").press("Enter")
    await expect(alice.page.locator("li.msg.own[data-state=delivered]")).to_have_count(1)
    await expect(bob.page.locator("li.msg", has_text="logo files never arrived")).to_have_count(1)

    claimed = await platform.http.post(
        f"/api/rooms/{room}/claim", json={"moderator": "maya"}, headers=platform.auth
    )
    assert claimed.status_code == 200, claimed.text
    await expect(alice.page.locator(".room-meta")).to_contain_text("mediating")

    await alice.page.get_by_role("button", name="Propose settlement").click()
    await alice.page.get_by_label("Amount").fill("1200")
    await alice.page.get_by_label("Milestone (optional)").fill("M2")
    await alice.page.get_by_label("Terms in words (optional)").fill("Refund for missing files")
    await alice.page.get_by_role("button", name="Send proposal").click()
    card = bob.page.locator("li.card.proposal")
    await expect(card).to_contain_text("1,200.00")
    await card.get_by_role("button", name="Counter…").click()
    await bob.page.get_by_label("Amount").fill("800")
    await bob.page.get_by_role("button", name="Send proposal").click()
    counter = alice.page.locator("li.card.proposal[data-status=open]")
    await expect(counter).to_contain_text("800.00")
    await counter.get_by_role("button", name="Accept").click()

    for watched in (alice, bob):
        outcome = watched.page.locator(".outcome")
        await expect(outcome).to_contain_text("Resolved")
        await expect(outcome).to_contain_text("800.00")
        await expect(watched.page.locator(".csat form")).to_be_visible()
        # settled: no more proposals to make
        await expect(watched.page.get_by_role("button", name="Propose settlement")).to_be_hidden()
    await alice.shot("party-desktop-resolved")
    await bob.shot("party-phone-resolved")
    await alice.page.get_by_label("5 out of 5").check()
    await alice.page.get_by_role("button", name="Send rating").click()
    await expect(alice.page.locator(".csat")).to_contain_text("Thank you")
    assert_no_errors(alice, bob)


async def test_the_host_page_embeds_the_party_view(server: RunningServer, browser: Browser) -> None:
    platform = server.platform
    room = await platform.open_room("T-web-embed", client="carol", freelancer="dan")
    token = await platform.token(room, "carol", "client")
    # the documented example page stands in for the marketplace's own page
    url = f"{server.base_url}/embed-example.html#room={room}&token={token}"
    host = await open_page(browser, "host", url, PHONE)
    frame = host.page.frame_locator("#dispute iframe")
    await expect(frame.locator(".room-meta")).to_contain_text("T-web-embed")
    await frame.get_by_label("Message to Joint").fill("Hello from inside the marketplace")
    await frame.get_by_label("Message to Joint").press("Enter")
    await expect(frame.locator("li.msg.own[data-state=delivered]")).to_have_count(1)
    await host.shot("party-embedded-phone")
    assert_no_errors(host)


async def test_a_page_opened_later_shows_room_events_where_they_happened(
    server: RunningServer, browser: Browser
) -> None:
    # the replay comes channel by channel (joint's messages, then the room's events):
    # the page puts each event among the messages by when it was written
    platform = server.platform
    room = await platform.open_room("T-web-order", client="alice", freelancer="bob")
    alice, _ = await server.peer(room, "alice", "client")
    await alice.acked({"id": "m-1", "type": "send", "channel": "joint", "body": "before the claim"})
    claimed = await platform.http.post(
        f"/api/rooms/{room}/claim", json={"moderator": "maya"}, headers=platform.auth
    )
    assert claimed.status_code == 200, claimed.text
    await alice.acked({"id": "m-2", "type": "send", "channel": "joint", "body": "after the claim"})

    link = f"{server.base_url}/#room={room}&token="
    bob = await open_page(browser, "bob", link + await platform.token(room, "bob", "freelancer"))
    joint = bob.page.locator('.panel[data-channel="joint"] li.msg')
    await expect(joint.filter(has_text="after the claim")).to_be_visible()
    lines = [" ".join(text.split()) for text in await joint.all_inner_texts()]
    where = {
        what: next(n for n, line in enumerate(lines) if what in line)
        for what in ("before the claim", "as your moderator", "after the claim")
    }
    assert where["before the claim"] < where["as your moderator"] < where["after the claim"], lines
    assert_no_errors(bob)


async def test_the_people_beside_the_conversation_stay_in_their_column(
    server: RunningServer, browser: Browser
) -> None:
    platform = server.platform
    room = await platform.open_room("T-web-people", client="alice", freelancer="bob")
    claimed = await platform.http.post(
        f"/api/rooms/{room}/claim", json={"moderator": "maya-the-moderator"}, headers=platform.auth
    )
    assert claimed.status_code == 200, claimed.text
    await server.peer(room, "maya-the-moderator", "moderator")  # online, and the lead
    link = f"{server.base_url}/#room={room}&token="
    bob = await open_page(browser, "bob", link + await platform.token(room, "bob", "freelancer"))
    lead = bob.page.locator(".person[data-role=moderator]")
    await expect(lead).to_have_attribute("data-online", "true")
    await expect(lead).to_contain_text("lead")
    widths = await bob.page.evaluate(
        "() => { const p = document.querySelector('.people');"
        " return [p.scrollWidth, p.clientWidth]; }"
    )
    assert widths[0] <= widths[1], widths  # "· online" and the tags wrap, never spill
    assert_no_errors(bob)
