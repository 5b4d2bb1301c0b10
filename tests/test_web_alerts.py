"""The party view meets the party where they are (issue 18): what needs an answer arrives as
an alert above any tab, with its actions; the resolved state keeps the conversation and the
composer in view; a waiting panel says what happens next; unread counts survive a reload
and count only what was not read."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.async_api import Browser, Frame, FrameLocator, Locator, Page, ViewportSize, expect

from tests.browser import Watched, assert_no_errors, launch, open_page
from tests.conftest import RunningServer
from tests.peers import Peer

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])

PHONE_390: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async for browser in launch():
        yield browser


async def claimed(server: RunningServer, ticket: str) -> tuple[str, Peer, Peer, Peer]:
    """A room claimed by maya: its id and the sockets of maya, alice (client), bob."""
    platform = server.platform
    room = await platform.open_room(ticket, client="alice", freelancer="bob")
    answer = await platform.http.post(
        f"/api/rooms/{room}/claim", json={"moderator": "maya"}, headers=platform.auth
    )
    assert answer.status_code == 200, answer.text
    maya, _ = await server.peer(room, "maya", "moderator")
    alice, _ = await server.peer(room, "alice", "client")
    bob, _ = await server.peer(room, "bob", "freelancer")
    return room, maya, alice, bob


async def say(peer: Peer, cid: str, channel: str, body: str) -> dict[str, Any]:
    return await peer.acked({"type": "send", "id": cid, "channel": channel, "body": body})


async def party_page(
    server: RunningServer,
    browser: Browser,
    room: str,
    user: str,
    role: str,
    viewport: ViewportSize = DESKTOP,
) -> Watched:
    token = await server.platform.token(room, user, role)
    watched = await open_page(
        browser, user, f"{server.base_url}/#room={room}&token={token}", viewport
    )
    await expect(watched.page.locator(".room-meta")).to_contain_text("T-")
    return watched


async def test_a_proposal_deadline_and_request_reach_the_private_tab(
    server: RunningServer, browser: Browser
) -> None:
    room, maya, _, _ = await claimed(server, "T-alerts")
    alice = await party_page(server, browser, room, "alice", "client")
    page = alice.page
    await page.get_by_role("tab", name="Private with moderator").click()

    proposal = await maya.acked(
        {"type": "propose", "id": "p1", "amount": "450", "currency": "USD", "text": "Half back"}
    )
    bar = page.locator(".alerts section.alert-bar", has_text="New proposal")
    await expect(bar).to_be_visible()
    await expect(bar).to_contain_text("450.00")
    await expect(bar.get_by_role("heading")).to_contain_text("New proposal from maya")
    # read out once, by the page's one live region: the bar is no second one
    assert await bar.locator("xpath=ancestor-or-self::*[@aria-live or @role='alert']").count() == 0
    # still on the private tab: the bar is above that conversation
    await expect(page.get_by_role("tab", name="Private with moderator")).to_have_attribute(
        "aria-selected", "true"
    )

    # a deadline for the client to answer it
    due = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0).isoformat()
    await maya.acked(
        {
            "type": "deadline",
            "id": "dl-1",
            "party": "client",
            "outcome": "accept_proposal",
            "proposal": proposal["seq"],
            "at": due,
            "reason": "Please answer the refund.",
        }
    )
    deadline = page.locator(".alert-deadline")
    await expect(deadline).to_contain_text("Your answer is due by")
    await expect(deadline).to_contain_text("Please answer the refund.")
    await alice.shot("alerts-private-tab")
    await page.emulate_media(color_scheme="dark")
    await alice.shot("alerts-private-tab-dark")
    await page.emulate_media(color_scheme="light")

    # View proposal: the joint tab, the card in focus
    await bar.get_by_role("button", name="View proposal").click()
    await expect(page.get_by_role("tab", name="Joint")).to_have_attribute("aria-selected", "true")
    card = page.locator(f"li.card.proposal[data-proposal='{proposal['seq']}'] article")
    await expect(card).to_be_focused()

    # back on the private tab, Accept from the bar: the server records the acceptance
    await page.get_by_role("tab", name="Private with moderator").click()
    await bar.get_by_role("button", name="Accept").click()
    response = await maya.event("response", target=proposal["seq"])
    assert response["answer"] == "accept"
    assert response["sender"]["user"] == "alice"
    # answered: the proposal's bar goes, and so does the deadline's
    await expect(page.locator(".alert-bar")).to_have_count(0)
    await expect(page.locator(".alerts")).to_be_hidden()

    # an evidence request asked of her in her caucus: Attach for this request, View
    soon = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    await maya.acked(
        {
            "type": "request_evidence",
            "id": "ev-1",
            "party": "client",
            "item": "The signed contract",
            "due_at": soon,
            "channel": "caucus:client",
        }
    )
    await page.get_by_role("tab", name="Joint").click()
    request = page.locator(".alerts section.alert-bar", has_text="The signed contract")
    await expect(request).to_contain_text("maya asks you for evidence")
    await expect(
        request.get_by_role("button", name="Attach a file for the request: The signed contract")
    ).to_be_visible()
    # dismissed, it stays dismissed after a reload
    await request.get_by_role("button", name="Dismiss: maya asks you for evidence").click()
    await expect(page.locator(".alert-bar")).to_have_count(0)
    await page.reload()
    await expect(page.locator(".room-meta")).to_contain_text("mediating")
    await expect(page.locator("li.evidence", has_text="The signed contract")).to_have_count(1)
    await expect(page.locator(".alert-bar")).to_have_count(0)
    assert_no_errors(alice)


async def box(locator: Locator) -> dict[str, float]:
    found = await locator.bounding_box()
    assert found is not None
    return {
        "top": found["y"],
        "bottom": found["y"] + found["height"],
        "height": found["height"],
    }


async def check_stars(scope: Page | Frame | FrameLocator) -> None:
    """Stars, not radio circles: each input invisible over its visible star."""
    stars = scope.locator(".csat .star")
    await expect(stars).to_have_count(5)
    for i in range(5):
        star = stars.nth(i)
        await expect(star.locator("input")).to_have_css("opacity", "0")
        glyph = await box(star.locator(".star-glyph"))
        assert glyph["height"] >= 20, glyph


async def test_the_resolved_state_keeps_the_conversation_and_composer_in_view(
    server: RunningServer, browser: Browser
) -> None:
    room, maya, alice, bob = await claimed(server, "T-resolved")
    for i in range(12):
        await say(alice if i % 2 else bob, f"m{i}", "joint", f"Message number {i} about the logo")
    offer = await maya.acked({"type": "propose", "id": "p1", "amount": "300", "currency": "EUR"})
    for who, peer in (("a", alice), ("b", bob)):
        answer = {"type": "respond", "id": f"r-{who}", "proposal": offer["seq"], "answer": "accept"}
        await peer.acked(answer)
    await alice.event("state", state="resolved")

    pages: dict[str, Watched] = {}
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE_390)):
        watched = await party_page(server, browser, room, "alice", "client", viewport)
        pages[label] = watched
        page = watched.page
        await expect(page.locator(".csat form")).to_be_visible()
        await check_stars(page)
        composer = await box(page.get_by_label("Message to Joint"))
        assert composer["top"] >= 0 and composer["bottom"] <= viewport["height"], composer
        messages = await box(page.locator(".panel:not([hidden]) ol.messages"))
        assert messages["height"] > (300 if label == "desktop" else 120), messages
        await watched.shot(f"alerts-resolved-{label}")

    # the embed, 560 px high (the example host page's height), on a wide page and a phone
    token = await server.platform.token(room, "bob", "freelancer")
    url = f"{server.base_url}/embed-example.html#room={room}&token={token}"
    hosts = []
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE_390)):
        host = await open_page(browser, f"host-{label}", url, viewport)
        hosts.append(host)
        iframe = host.page.locator("#dispute iframe")
        frame = host.page.frame_locator("#dispute iframe")
        await expect(frame.locator(".csat form")).to_be_visible()
        await check_stars(frame)
        await iframe.scroll_into_view_if_needed()
        outer = await box(iframe)
        assert 540 <= outer["height"] <= 580, outer
        composer = await box(frame.get_by_label("Message to Joint"))
        inside = outer["top"] <= composer["top"] and composer["bottom"] <= outer["bottom"]
        assert inside, (label, composer, outer)
        messages = await box(frame.locator(".panel:not([hidden]) ol.messages"))
        assert messages["height"] > 90, (label, messages)
        await iframe.screenshot(path=str(await host.shot(f"alerts-resolved-embed-{label}")))

    # a radio group by keyboard: arrows move the choice, the focus ring shows on the star
    page = pages["desktop"].page
    await page.get_by_label("1 out of 5").focus()
    for _ in range(3):
        await page.keyboard.press("ArrowRight")
    await expect(page.get_by_label("4 out of 5")).to_be_checked()
    await expect(page.locator(".csat .stars")).to_have_attribute("data-value", "4")
    await expect(page.locator(".csat-chosen")).to_have_text("4 out of 5")
    # a chosen star offers the comment field (folded until then)
    await expect(page.get_by_label("Anything you would like to tell us?")).to_be_visible()
    composer = await box(page.get_by_label("Message to Joint"))
    assert composer["bottom"] <= DESKTOP["height"], composer
    outline = await (
        page.locator(".csat .star").nth(3).evaluate("(el) => getComputedStyle(el).outlineStyle")
    )
    assert outline == "solid", outline
    await pages["desktop"].shot("alerts-resolved-stars-focused")
    await page.get_by_role("button", name="Send rating").click()
    await expect(page.locator(".csat")).to_contain_text("Thank you")
    assert_no_errors(*hosts, *pages.values())


async def test_the_waiting_panel_says_what_happens_next(
    server: RunningServer, browser: Browser
) -> None:
    platform = server.platform
    room = await platform.open_room("T-waiting", client="alice", freelancer="bob")
    alice = await party_page(server, browser, room, "alice", "client", PHONE_390)
    page = alice.page
    panel = page.locator("section.waiting")
    await expect(panel.get_by_role("heading", name="Waiting for a moderator")).to_be_visible()
    await expect(panel).to_contain_text("What happens next")
    await expect(panel).to_contain_text("A moderator will join")
    await expect(panel).to_contain_text("Meanwhile you can")
    await expect(panel).to_contain_text("Attach evidence")
    await alice.shot("alerts-waiting-phone")
    await page.emulate_media(color_scheme="dark")
    await alice.shot("alerts-waiting-phone-dark")
    await page.emulate_media(color_scheme="light")
    composer = await box(page.get_by_label("Message to Joint"))
    assert composer["bottom"] <= PHONE_390["height"], composer
    # no number is made up: the party's token cannot read the queue
    text = await panel.inner_text()
    assert not any(ch.isdigit() for ch in text), text

    # its actions: the file chooser of Joint, the composer of the private tab
    async with page.expect_file_chooser():
        await panel.get_by_role("button", name="Attach evidence").click()
    await expect(page.get_by_role("tab", name="Joint")).to_have_attribute("aria-selected", "true")
    await panel.get_by_role("button", name="Write to the moderator").click()
    await expect(page.get_by_role("tab", name="Private with moderator")).to_have_attribute(
        "aria-selected", "true"
    )
    await expect(page.get_by_label("Message to Private with moderator")).to_be_focused()
    await page.get_by_label("Message to Private with moderator").fill("The files never came.")
    await page.keyboard.press("Enter")
    await expect(page.locator("li.msg.own[data-state=delivered]")).to_have_count(1)
    # once the party has written, the panel folds to its title
    await expect(panel.locator("details")).not_to_have_attribute("open", "")
    await expect(panel.get_by_role("heading", name="Waiting for a moderator")).to_be_visible()

    # the other party, on a wide screen: the same panel, escalated rooms say so in its title
    bob = await party_page(server, browser, room, "bob", "freelancer")
    wide = bob.page.locator("section.waiting")
    await expect(wide.get_by_role("heading", name="Waiting for a moderator")).to_be_visible()
    await expect(wide.get_by_role("button", name="Write in Joint")).to_be_visible()
    await bob.shot("alerts-waiting-desktop")

    claim = await platform.http.post(
        f"/api/rooms/{room}/claim", json={"moderator": "maya"}, headers=platform.auth
    )
    assert claim.status_code == 200, claim.text
    await expect(panel).to_be_hidden()
    await expect(wide).to_be_hidden()
    assert_no_errors(alice, bob)


async def test_unread_counts_survive_a_reload_and_count_only_the_unread(
    server: RunningServer, browser: Browser
) -> None:
    room, maya, _, bob = await claimed(server, "T-unread")
    alice = await party_page(server, browser, room, "alice", "client")
    page = alice.page
    private = page.get_by_role("tab", name="Private with moderator")
    joint = page.get_by_role("tab", name="Joint")
    for i in range(3):
        await say(maya, f"a{i}", "caucus:client", f"Private question {i}")
    await expect(private.locator(".badge")).to_contain_text("3")
    await private.click()  # read them
    await expect(private.locator(".badge")).to_be_hidden()
    await joint.click()
    for i in range(2):
        await say(maya, f"b{i}", "caucus:client", f"Later question {i}")
    await say(bob, "j1", "joint", "Seen in Joint while it is open")
    await expect(private.locator(".badge")).to_contain_text("2")

    await page.reload()
    await expect(page.locator("li.msg", has_text="Later question 1")).to_have_count(1)
    await expect(private.locator(".badge")).to_contain_text("2")
    await expect(private.locator(".badge .sr-only")).to_have_text("2 unread")
    await expect(joint.locator(".badge")).to_be_hidden()

    # read on the private tab, then nothing is unread after another reload
    await private.click()
    await page.reload()
    await expect(page.locator("li.msg", has_text="Later question 1")).to_have_count(1)
    await say(bob, "j2", "joint", "One more to be sure the replay is over")
    await expect(page.locator("li.msg", has_text="One more to be sure")).to_have_count(1)
    await expect(private.locator(".badge")).to_be_hidden()
    assert_no_errors(alice)
