"""axe-core (WCAG 2.0/2.1 A and AA) on every page and main state, at 1280x800 and on a
390x844 phone, in the light and the dark scheme; a screenshot of each in
tests/artifacts/screens/ (git-ignored), with an index.html gallery to look through.

One dispute is driven through the UI (party view, console, audit page, embed example);
at each state the page is switched through the four looks and checked. The violations
of every state are gathered and reported together at the end, one line each.

Selectors are few and by role or visible text, so the UI may change around them."""

import html
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from tests.axe import violations
from tests.browser import (
    ARTIFACTS,
    DESKTOP,
    Watched,
    assert_no_errors,
    attach,
    launch,
    open_page,
)
from tests.conftest import RunningServer
from tests.files import minimal_pdf
from tests.peers import Peer
from tests.test_web_dispute import shortcut, staff_token

pytestmark = [pytest.mark.parametrize("backend", ["sqlite"]), pytest.mark.slow]

SCREENS = ARTIFACTS / "screens"
PHONE: ViewportSize = {"width": 390, "height": 844}
LOOKS: list[tuple[str, ViewportSize, str]] = [
    ("1280-light", DESKTOP, "light"),
    ("1280-dark", DESKTOP, "dark"),
    ("390-light", PHONE, "light"),
    ("390-dark", PHONE, "dark"),
]


# After a resize: the conversations show their newest lines, as on a page opened at that size.
SETTLE = """() => new Promise((done) => requestAnimationFrame(() => {
  for (const list of document.querySelectorAll('.messages')) list.scrollTop = list.scrollHeight;
  requestAnimationFrame(done);
}))"""

# WCAG 1.4.10 (reflow): nothing makes the page scroll sideways; the elements past its edge.
SIDEWAYS = """() => {
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= width) return [];
  return [...document.querySelectorAll('body *')]
    .filter((e) => e.getBoundingClientRect().right > width + 1)
    .map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
      + [...e.classList].map((c) => '.' + c).join(''))
    .slice(0, 8);
}"""


async def sideways(page: Page, label: str) -> list[str]:
    past = await page.evaluate(SIDEWAYS)
    return [f"{label}: the page scrolls sideways; past its edge: {', '.join(past)}"] if past else []


# WCAG 2.4.7 (focus visible), which axe-core does not check: whatever Tab reaches shows a ring
# (an outline, or one on the label that wraps it, as the rating's stars do).
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const ringed = (e) => {
    const s = getComputedStyle(e);
    return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== 'none';
  };
  if (ringed(el) || (el.parentElement && ringed(el.parentElement))) return '';
  const name = el.getAttribute('aria-label') || el.textContent.trim().slice(0, 40) || el.name || '';
  return `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''} "${name}"`;
}"""


async def focus_rings(page: Page, label: str, presses: int = 30) -> list[str]:
    """Tab through the page from its top; every stop without a visible focus ring."""
    await page.evaluate("document.activeElement && document.activeElement.blur()")
    bare: list[str] = []
    for _ in range(presses):
        await page.keyboard.press("Tab")
        found = await page.evaluate(FOCUSED)
        if found and found not in bare:
            bare.append(found)
    await page.evaluate("document.activeElement && document.activeElement.blur()")
    return [f"{label}: no visible focus ring on {what}" for what in bare]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async for browser in launch():
        yield browser


@dataclass
class Survey:
    """The violations and screenshots gathered so far, and the gallery of the latter."""

    found: list[str] = field(default_factory=list)
    shots: list[tuple[str, str]] = field(default_factory=list)  # (file name, caption)
    checked: int = 0

    async def check(
        self, watched: Watched, state: str, caption: str, full: bool = True, tab: bool = False
    ) -> None:
        """Check `watched` as it is, in each look; screenshot each look; with `tab`, Tab
        through it at 1280 px looking for focus rings."""
        page = watched.page
        if tab:
            await page.set_viewport_size(DESKTOP)
            self.found += await focus_rings(page, state)
        for look, viewport, scheme in LOOKS:
            await page.set_viewport_size(viewport)
            await page.emulate_media(color_scheme="dark" if scheme == "dark" else "light")
            await page.evaluate(SETTLE)
            self.found += await violations(page, f"{state} [{look}]")
            self.found += await sideways(page, f"{state} [{look}]")
            self.checked += 1
            name = f"{state}-{look}.png"
            SCREENS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SCREENS / name), full_page=full)
            self.shots.append((name, f"{caption} — {look.replace('-', ' px, ')}"))
        await page.set_viewport_size(DESKTOP if watched.name != "bob" else PHONE)
        await page.emulate_media(color_scheme="light")
        self.write_gallery()

    def write_gallery(self) -> None:
        figures = "\n".join(
            f'<figure><a href="{html.escape(name)}"><img src="{html.escape(name)}" '
            f'alt="{html.escape(caption)}" loading="lazy"></a>'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
            for name, caption in self.shots
        )
        (SCREENS / "index.html").write_text(
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            "<title>Screens of the web app</title><style>"
            "body{font:15px system-ui;margin:1rem}main{display:flex;flex-wrap:wrap;gap:1rem}"
            "figure{margin:0;width:22rem}img{width:100%;border:1px solid #999}"
            "</style></head><body><h1>Screens of the web app</h1>"
            f"<p>{len(self.shots)} screenshots by tests/test_web_a11y.py.</p>"
            f"<main>{figures}</main></body></html>",
            encoding="utf-8",
        )


async def test_every_page_and_state_passes_axe_in_every_look(
    server: RunningServer, browser: Browser, tmp_path: Path
) -> None:
    platform = server.platform
    survey = Survey()
    shutil.rmtree(SCREENS, ignore_errors=True)  # the gallery shows this run's screens only

    # the console before anything waits: an empty queue
    console = f"{server.base_url}/console.html#token="
    maya = await open_page(
        browser, "maya", console + await staff_token(server, "maya", "moderator")
    )
    await expect(maya.page.get_by_text("Nobody is waiting")).to_be_visible()
    await survey.check(maya, "console-empty-queue", "Console, empty queue")

    # the party view while no moderator has come: waiting
    room = await platform.open_room("T-a11y", client="alice", freelancer="bob")
    link = f"{server.base_url}/#room={room}&token="
    alice = await open_page(browser, "alice", link + await platform.token(room, "alice", "client"))
    await expect(alice.page.get_by_role("tab").first).to_be_visible()
    await survey.check(alice, "party-waiting", "Party view, waiting for a moderator")

    # the queue with the room in it
    claim = maya.page.get_by_role("button", name="Claim local/T-a11y")
    await expect(claim).to_be_visible()
    await survey.check(maya, "console-queue", "Console, a room waiting in the queue")

    # the moderator claims; the room fills (through the protocol: the words are the test's,
    # not the UI's); the client attaches a file from the page
    bob = await open_page(browser, "bob", link + await platform.token(room, "bob", "freelancer"))
    await claim.click()
    await expect(maya.page.get_by_role("tab").first).to_be_visible()  # the room opened
    said = iter(range(100))

    async def act(peer: Peer, frame: dict[str, Any]) -> None:
        await peer.acked({"id": f"a11y-{next(said)}", **frame})

    client, _ = await server.peer(room, "alice", "client")
    moderator, _ = await server.peer(room, "maya", "moderator")
    await act(client, {"type": "send", "channel": "joint", "body": "The logo was never delivered."})
    await act(moderator, {"type": "send", "channel": "joint", "body": "Let us look at the files."})
    await expect(alice.page.locator("li.msg", has_text="look at the files")).to_be_visible()
    brief = tmp_path / "project brief.pdf"
    brief.write_bytes(minimal_pdf("Logo files due May 3"))
    await attach(alice.page, brief)
    await expect(alice.page.locator("li.attachment", has_text="project brief.pdf")).to_be_visible()
    await survey.check(alice, "party-joint", "Party view, joint conversation with a file", tab=True)

    # a private session with the client, a note; the console's room on each of its tabs
    await act(moderator, {"type": "caucus", "party": "client", "open": True})
    await act(moderator, {"type": "send", "channel": "caucus:client", "body": "Just between us?"})
    await act(moderator, {"type": "send", "channel": "notes", "body": "Open to a partial refund."})
    await expect(maya.page.locator("li.msg", has_text="partial refund")).to_be_attached()
    tabs = maya.page.get_by_role("tab")
    for n in range(await tabs.count()):
        await tabs.nth(n).click()
        name = " ".join((await tabs.nth(n).inner_text()).split())
        await survey.check(
            maya, f"console-room-tab-{n + 1}", f"Console, room open on {name}", tab=n == 0
        )

    # the party's private tab (the second)
    await alice.page.get_by_role("tab").nth(1).click()
    await expect(alice.page.locator("li.msg", has_text="Just between us?")).to_be_visible()
    await survey.check(alice, "party-private", "Party view, private tab with the moderator")
    await alice.page.get_by_role("tab").first.click()

    # a dialog: the proposal form in the party view; the shortcuts in the console
    await alice.page.get_by_role("button", name="Propose settlement").click()
    await expect(alice.page.get_by_role("dialog")).to_be_visible()
    await survey.check(alice, "party-dialog-propose", "Party view, proposal dialog", full=False)
    await alice.page.keyboard.press("Escape")
    await shortcut(maya.page, "?")
    await expect(maya.page.get_by_role("dialog")).to_be_visible()
    await survey.check(maya, "console-dialog-shortcuts", "Console, shortcuts dialog", full=False)
    await maya.page.keyboard.press("Escape")

    # a proposal card for the other party
    offer = {"type": "propose", "amount": "1200", "currency": "USD", "milestone": "M2"}
    await act(client, offer)
    card = bob.page.locator("li.card.proposal", has_text="1,200.00")
    await expect(card.get_by_role("button", name="Accept")).to_be_visible()
    await survey.check(bob, "party-proposal", "Party view, an open proposal card")

    # an observer reads the room, read-only
    tom_token = await staff_token(server, "tom", "observer")
    tom = await open_page(browser, "tom", f"{console}{tom_token}&room={room}")
    await expect(tom.page.get_by_text("read-only").first).to_be_visible()
    await survey.check(tom, "console-observer", "Console, an observer (read-only)")

    # the embed example: the party view in a host page's iframe
    embed_url = f"{server.base_url}/embed-example.html#room={room}&token="
    host = await open_page(
        browser, "host", embed_url + await platform.token(room, "alice", "client")
    )
    frame = host.page.frame_locator("#dispute iframe")
    await expect(frame.locator("li.card.proposal")).to_be_visible()
    await survey.check(host, "embed-example", "Embed example: the party view in a host page")

    # resolved: the freelancer accepts, the client is asked for a rating
    await card.get_by_role("button", name="Accept").click()
    await expect(alice.page.get_by_role("radio").first).to_be_visible()
    await survey.check(alice, "party-resolved", "Party view, resolved, with the rating", tab=True)
    await survey.check(host, "embed-resolved", "Embed example, resolved, with the rating")

    # the audit page: search, transcript, verify pass and fail
    ada_token = await staff_token(server, "ada", "auditor", "accessibility review")
    ada = await open_page(browser, "ada", f"{server.base_url}/audit.html#token={ada_token}")
    await ada.page.get_by_label("Ticket id").fill("T-a11y")
    await ada.page.get_by_role("button", name="Find").click()
    read = ada.page.get_by_role("button", name="Read transcript")
    await expect(read).to_be_visible()
    await survey.check(ada, "audit-search", "Audit page, a search result")
    await read.click()
    await expect(ada.page.locator("li", has_text="Open to a partial refund.")).to_be_visible()
    await survey.check(ada, "audit-transcript", "Audit page, the transcript", tab=True)
    exported = await platform.http.get(f"/api/rooms/{room}/export", headers=platform.auth)
    good = tmp_path / "room.transcript.jsonl"
    good.write_bytes(exported.content)
    bad = tmp_path / "altered.transcript.jsonl"
    bad.write_bytes(exported.content.replace(b"never delivered", b"ever delivered"))
    assert bad.read_bytes() != good.read_bytes()
    verify = ada.page.locator("#verify-file")
    await verify.set_input_files(str(good))
    await expect(ada.page.locator("#verify-result")).to_have_attribute("data-result", "pass")
    await survey.check(ada, "audit-verify-pass", "Audit page, a bundle verified: PASS")
    await verify.set_input_files(str(bad))
    await expect(ada.page.locator("#verify-result")).to_have_attribute("data-result", "fail")
    await survey.check(ada, "audit-verify-fail", "Audit page, an altered bundle: FAIL")

    await client.close()
    await moderator.close()
    assert survey.checked >= 4 * 20, survey.checked
    assert not survey.found, (
        f"{len(survey.found)} accessibility problems (axe-core, reflow):\n"
        + "\n".join(survey.found)
    )
    assert_no_errors(maya, alice, bob, tom, host, ada)
