"""Who reads a message, who a person is, who pays whom, and one number for a record, in a
real browser: the party view, the console's room view and the audit page (issue 18)."""

import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.browser import assert_no_errors, launch, open_page
from tests.conftest import RunningServer
from tests.test_web_dispute import say, staff_token

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])

PEOPLE = [
    {"user": "c-1", "name": "Alice Doe"},
    {"user": "f-1", "name": "Bruno Roy"},
]
SENTENCE = "Client Alice Doe pays freelancer Bruno Roy USD 150.00"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async for browser in launch():
        yield browser


async def background(locator: Locator) -> str:
    colour: str = await locator.evaluate("(node) => getComputedStyle(node).backgroundColor")
    return colour


async def composer_words(page: Page, channel: str) -> tuple[str | None, str]:
    """The placeholder and the send button of the composer of `channel`'s tab."""
    panel = page.locator(f'.panel[data-channel="{channel}"]')
    placeholder = await panel.locator("textarea").get_attribute("placeholder")
    send = await panel.locator('form.composer button[type="submit"]').inner_text()
    return placeholder, send


async def test_each_channel_names_its_audience_before_sending(
    server: RunningServer, browser: Browser
) -> None:
    platform = server.platform
    room = await platform.open_room("T-audience", people=PEOPLE)
    claimed = await platform.http.post(
        f"/api/rooms/{room}/claim", json={"moderator": "maya"}, headers=platform.auth
    )
    assert claimed.status_code == 200, claimed.text
    token = await platform.token(room, "c-1", "client")
    alice = await open_page(browser, "alice", f"{server.base_url}/#room={room}&token={token}")
    maya_token = await staff_token(server, "maya", "moderator")
    maya = await open_page(
        browser, "maya", f"{server.base_url}/console.html#token={maya_token}&room={room}"
    )
    for watched in (alice, maya):
        await expect(watched.page.locator(".room-meta")).to_contain_text("mediating")

    # a party: joint addressed to everyone; the private tab locked, to the moderator
    page = alice.page
    assert await composer_words(page, "joint") == (
        "Message everyone (client, freelancer, moderator)…",
        "Send to everyone",
    )
    private = page.get_by_role("tab", name="Private with moderator")
    await expect(private.locator("svg.lock-icon")).to_have_count(1)
    await expect(page.get_by_role("tab", name="Joint").locator("svg.lock-icon")).to_have_count(0)
    await private.click()
    assert await composer_words(page, "caucus:client") == (
        "Private to the moderator…",
        "Send privately",
    )
    strip = page.locator('.panel[data-channel="caucus:client"] .audience-strip')
    await expect(strip).to_contain_text("only you and the moderator")
    joint_look = await background(page.locator('.panel[data-channel="joint"]'))
    assert await background(page.locator('.panel[data-channel="caucus:client"]')) != joint_look
    await alice.shot("audience-party-private")

    # the moderator: each caucus tab names the party by name, with a lock
    page = maya.page
    caucus = page.get_by_role("tab", name="Private with Alice Doe (client)")
    await expect(caucus.locator("svg.lock-icon")).to_have_count(1)
    other = page.get_by_role("tab", name="Private with Bruno Roy (freelancer)")
    await expect(other.locator("svg.lock-icon")).to_have_count(1)
    await caucus.click()
    assert await composer_words(page, "caucus:client") == (
        "Private to Alice Doe (client)…",
        "Send privately",
    )
    # internal notes: labelled above the conversation and on the composer, and tinted
    await page.get_by_role("tab", name="Internal notes").click()
    notes = page.locator('.panel[data-channel="notes"]')
    await expect(notes.locator(".audience-strip")).to_be_visible()
    await expect(notes.locator(".audience-strip .audience-label")).to_have_text(
        "Only moderators and auditors"
    )
    await expect(notes.locator("form.composer .audience-to")).to_have_text(
        "Only moderators and auditors"
    )
    assert await composer_words(page, "notes") == (
        "Note for moderators and auditors…",
        "Save note",
    )
    notes_look = await background(notes)
    await page.get_by_role("tab", name="Joint").click()
    joint = page.locator('.panel[data-channel="joint"]')
    assert notes_look != await background(joint), notes_look
    assert await composer_words(page, "joint") == (
        "Message everyone (client, freelancer, moderator)…",
        "Send to everyone",
    )
    # a note looks like a note, not like a chat bubble
    await page.get_by_role("tab", name="Internal notes").click()
    box = page.get_by_label("Message to Internal notes")
    await box.fill("The client seems ready to settle.")
    await box.press("Enter")
    note = notes.locator("li.msg.own[data-state=delivered]")
    await expect(note).to_have_count(1)
    await page.get_by_role("tab", name="Joint").click()
    await alice.page.get_by_role("tab", name="Joint").click()
    await say(alice.page, "Joint", "Hello, I am here.")
    bubble = joint.locator("li.msg", has_text="Hello, I am here.")
    await expect(bubble).to_be_visible()
    await page.get_by_role("tab", name="Internal notes").click()
    assert await background(note) != await background(bubble)
    await maya.shot("audience-console-notes")
    await maya.page.emulate_media(color_scheme="dark")
    assert await background(notes) != notes_look  # the dark scheme has tints of its own
    await maya.shot("audience-console-notes-dark")
    assert_no_errors(alice, maya)


async def test_names_initials_who_pays_whom_and_one_number_everywhere(
    server: RunningServer, browser: Browser
) -> None:
    platform = server.platform
    room = await platform.open_room("T-identity", people=PEOPLE)
    claimed = await platform.http.post(
        f"/api/rooms/{room}/claim", json={"moderator": "maya"}, headers=platform.auth
    )
    assert claimed.status_code == 200, claimed.text
    link = f"{server.base_url}/#room={room}&token="
    alice = await open_page(browser, "alice", link + await platform.token(room, "c-1", "client"))
    bruno = await open_page(
        browser, "bruno", link + await platform.token(room, "f-1", "freelancer")
    )
    for watched in (alice, bruno):
        await expect(watched.page.locator(".room-meta")).to_contain_text("mediating")

    # names and initials, a colour per role, in messages, participants and typing
    await bruno.page.get_by_label("Message to Joint").fill("typing a")
    await expect(alice.page.locator(".typing .avatar")).to_have_text("BR")
    await expect(alice.page.locator(".typing")).to_contain_text("Bruno Roy")
    await say(alice.page, "Joint", "The files never came.")
    message = bruno.page.locator("li.msg", has_text="The files never came.")
    await expect(message.locator(".who")).to_have_text("Alice Doe")
    initials = message.locator(".meta .avatar")
    await expect(initials).to_have_text("AD")
    await expect(initials).to_have_class(re.compile(r"\brole-client\b"))
    people = bruno.page.locator("ul.participants")
    await expect(people.locator("li[data-role=client] .avatar")).to_have_text("AD")
    await expect(people.locator("li[data-role=freelancer] .avatar")).to_have_text("BR")
    await expect(people.locator("li[data-role=freelancer] .avatar")).to_have_class(
        re.compile(r"\brole-freelancer\b")
    )
    client_colour = await background(people.locator("li[data-role=client] .avatar"))
    freelancer_colour = await background(people.locator("li[data-role=freelancer] .avatar"))
    assert client_colour != freelancer_colour
    for shown in (bruno.page.get_by_role("list", name="Messages in Joint"), people):
        await expect(shown).not_to_contain_text("c-1")

    # who pays whom: the terms a deadline would resolve with
    maya, _ = await server.peer(room, "maya", "moderator")
    ack = await maya.act(
        {
            "type": "deadline",
            "id": "dl-1",
            "party": "freelancer",
            "outcome": "resolve",
            "business_days": 3,
            "amount": "900",
            "currency": "USD",
        }
    )
    assert ack["type"] == "ack", ack
    await expect(alice.page.locator(".deadline-then")).to_contain_text(
        "Client Alice Doe pays freelancer Bruno Roy USD 900.00"
    )

    # who pays whom, on the proposal card of each party
    await alice.page.get_by_role("button", name="Propose settlement").click()
    await alice.page.get_by_label("Amount").fill("150")
    await alice.page.get_by_role("button", name="Send proposal").click()
    card = bruno.page.locator("li.card.proposal")
    await expect(card.locator(".amount")).to_have_text(SENTENCE)
    await expect(card.locator(".meta .avatar")).to_have_text("AD")
    await expect(alice.page.locator("li.card.proposal .amount")).to_have_text(SENTENCE)
    number = await card.get_attribute("data-proposal")
    assert number is not None
    await expect(card.locator(".card-title")).to_have_text(f"Settlement proposal #{number}")
    await expect(alice.page.locator("li.card.proposal .card-title")).to_have_text(
        f"Settlement proposal #{number}"
    )
    await card.get_by_role("button", name="Accept").click()
    for watched in (alice, bruno):
        await expect(watched.page.locator(".outcome")).to_contain_text(SENTENCE)
    await bruno.shot("identity-party-settled")

    # the auditor reads the same sentence and the same number for the proposal
    auditor = await staff_token(server, "ada", "auditor", "review of T-identity")
    ada = await open_page(browser, "ada", f"{server.base_url}/audit.html#token={auditor}")
    await ada.page.get_by_label("Ticket id").fill("T-identity")
    await ada.page.get_by_role("button", name="Find").click()
    await ada.page.get_by_role("button", name="Read transcript").click()
    record = ada.page.locator("li.record.kind-proposal")
    await expect(record.locator(".record-number")).to_have_text(f"#{number}")
    await expect(record.locator(".record-body")).to_have_text(f"Proposal #{number}: {SENTENCE}")
    position = await record.get_attribute("data-position")
    assert position != number  # the room-wide position is not what is shown
    await expect(record.locator(".avatar")).to_have_text("AD")
    await ada.shot("identity-audit", full_page=True)
    assert_no_errors(alice, bruno, ada)
