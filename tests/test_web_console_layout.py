"""The console's second edition in a real browser (issue 18): nothing spills out of the
people beside the room, the room's title once, a toolbar with a hierarchy (main actions
apart, the rare moves in an accessible "More" menu, every shortcut still working), a
resolved room still counted under "My rooms", a phone layout that keeps the selected tab
and the composer in view, and honest error states instead of "Nobody is waiting"."""

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from tests.browser import Watched, assert_no_errors, launch, open_page
from tests.conftest import RunningServer
from tests.test_web_dispute import shortcut, staff_token

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])

PHONE_390: ViewportSize = {"width": 390, "height": 844}

# (scrollWidth, clientWidth) of the people beside the room, and whether `user`'s name
# takes one line (its height is at most one line's)
PEOPLE = """(user) => {
  const people = document.querySelector('.room-pane .people');
  const name = people.querySelector(`.name[data-user="${user}"]`);
  const line = parseFloat(getComputedStyle(name).lineHeight);
  return { scroll: people.scrollWidth, client: people.clientWidth,
           oneLine: name.getBoundingClientRect().height <= line * 1.2 };
}"""


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async for browser in launch():
        yield browser


async def console(
    server: RunningServer, browser: Browser, name: str, viewport: ViewportSize | None = None
) -> Watched:
    token = await staff_token(server, "mod-1", "moderator")
    return await open_page(browser, name, f"{server.base_url}/console.html#token={token}", viewport)


async def claim(page: Page, ticket: str) -> None:
    await page.get_by_role("button", name=f"Claim local/{ticket}").click()
    await expect(page.locator(".room-meta")).to_contain_text("mediating")


async def background(page: Page, selector: str) -> str:
    color: str = await page.locator(selector).evaluate(
        "(el) => getComputedStyle(el).backgroundColor"
    )
    return color


async def test_at_1280_nothing_spills_the_title_shows_once_and_actions_have_a_hierarchy(
    server: RunningServer, browser: Browser
) -> None:
    await server.platform.open_room("T-layout", client="alice", freelancer="bob")
    mod = await console(server, browser, "mod-desktop")
    page = mod.page
    await claim(page, "T-layout")
    await expect(page.locator(".person[data-role=moderator]")).to_have_attribute(
        "data-online", "true"
    )

    # the people beside the room: no horizontal overflow, "mod-1" on one line
    people = await page.evaluate(PEOPLE, "mod-1")
    assert people["scroll"] <= people["client"], people
    assert people["oneLine"], people

    # the ticket is the title, said once (the line under it keeps the state)
    header = page.locator(".room-pane .topbar")
    assert (await header.inner_text()).count("T-layout") == 1
    await expect(page.locator(".room-meta")).to_have_text("State: mediating")

    # Resolve, Propose and the private sessions are the main group, and look it
    main = page.get_by_role("group", name="Main actions")
    for name in ("Resolve", "Propose", "Private: client", "Private: freelancer"):
        await expect(main.get_by_role("button", name=name)).to_be_visible()
    tools = page.get_by_role("group", name="Tools")
    await expect(tools.get_by_role("button", name="Macros")).to_be_visible()
    resolve = await background(page, "button[data-action=resolve]")
    macros = await background(page, "button[data-action=macros]")
    assert resolve != macros, (resolve, macros)
    for rare in ("Escalate", "Transfer", "Mediation failed", "Close room"):
        await expect(page.get_by_role("button", name=rare)).to_have_count(0)

    # the More menu with the keyboard: opens on its first item, arrows move, Esc returns
    more = page.get_by_role("button", name="More")
    await expect(more).to_have_attribute("aria-haspopup", "menu")
    await expect(more).to_have_attribute("aria-expanded", "false")
    await more.focus()
    await page.keyboard.press("Enter")
    await expect(more).to_have_attribute("aria-expanded", "true")
    menu = page.get_by_role("menu", name="More actions")
    await expect(menu).to_be_visible()
    await expect(menu.get_by_role("menuitem", name="Escalate")).to_be_focused()
    await page.keyboard.press("ArrowDown")
    await expect(menu.get_by_role("menuitem", name="Transfer")).to_be_focused()
    await page.keyboard.press("ArrowUp")
    await page.keyboard.press("ArrowUp")  # wraps to the last enabled item
    await expect(menu.get_by_role("menuitem", name="Mediation failed")).to_be_focused()
    await expect(menu.get_by_role("menuitem", name="Close room")).to_be_disabled()
    await mod.shot("console-more-menu")
    await page.emulate_media(color_scheme="dark")
    await mod.shot("console-more-menu-dark")
    await page.emulate_media(color_scheme="light")
    await page.keyboard.press("Escape")
    await expect(menu).to_be_hidden()
    await expect(more).to_be_focused()
    await expect(more).to_have_attribute("aria-expanded", "false")
    await page.keyboard.press(" ")  # Space opens it too, and it stays open
    await expect(menu.get_by_role("menuitem", name="Escalate")).to_be_focused()
    await page.keyboard.press("End")
    await expect(menu.get_by_role("menuitem", name="Mediation failed")).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(menu).to_be_hidden()

    # the shortcuts still reach what moved into the menu: e opens the escalation form
    await shortcut(page, "e")
    dialog = page.get_by_role("dialog", name="Escalate to the next tier")
    await expect(dialog).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()

    # and the menu's items work: escalate through it, with the keyboard
    await more.focus()
    await page.keyboard.press("ArrowDown")
    await expect(menu.get_by_role("menuitem", name="Escalate")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(menu).to_be_hidden()
    await dialog.get_by_label("Reason (shown to everyone)").fill("Needs a senior look.")
    await dialog.get_by_label("Hand-off brief").fill("Client wants a refund; nothing agreed.")
    await dialog.get_by_role("button", name="Escalate").click()
    await expect(page.locator(".room-meta")).to_contain_text("escalated")
    await expect(more).to_be_focused()  # the dialog gives the focus back to the menu's button
    await mod.shot("console-desktop-escalated")
    assert_no_errors(mod)


async def test_a_resolved_room_stays_counted_in_my_rooms(
    server: RunningServer, browser: Browser
) -> None:
    await server.platform.open_room("T-resolved", client="alice", freelancer="bob")
    mod = await console(server, browser, "mod-resolve")
    page = mod.page
    await claim(page, "T-resolved")
    await expect(page.locator("#queue-mine-title .count")).to_have_text("(1)")
    await (
        page.get_by_role("group", name="Main actions").get_by_role("button", name="Resolve").click()
    )
    dialog = page.get_by_role("dialog", name="Resolve the dispute")
    await dialog.get_by_label("Reason").fill("Settled by phone.")
    await dialog.get_by_role("button", name="Resolve").click()
    await expect(page.locator(".room-meta")).to_contain_text("resolved")
    await page.keyboard.press("g")  # re-read the queue now
    mine = page.locator("#queue-mine-title + .queue-list .queue-item", has_text="T-resolved")
    await expect(mine).to_contain_text("resolved")
    await expect(page.locator("#queue-mine-title .count")).to_have_text("(1)")
    # closing it is now in the menu, enabled
    await page.get_by_role("button", name="More").click()
    await expect(page.get_by_role("menuitem", name="Close room")).to_be_enabled()
    await page.keyboard.press("Escape")
    assert_no_errors(mod)


async def test_on_a_390_phone_the_queue_is_a_drawer_and_the_room_stays_in_view(
    server: RunningServer, browser: Browser
) -> None:
    await server.platform.open_room("T-phone", client="alice", freelancer="bob")
    mod = await console(server, browser, "mod-phone", viewport=PHONE_390)
    page = mod.page
    rooms = page.get_by_role("button", name="Rooms")
    await expect(rooms).to_have_attribute("aria-expanded", "true")  # nothing open: the queue
    await mod.shot("console-phone-queue")
    await claim(page, "T-phone")
    await expect(rooms).to_have_attribute("aria-expanded", "false")
    await expect(page.locator("#queue")).to_be_hidden()
    await expect(rooms).to_contain_text("(1)")

    # the last tab, chosen with its shortcut, is in view, and so is its composer
    await shortcut(page, "4")
    tab = page.get_by_role("tab", name="Internal notes")
    await expect(tab).to_have_attribute("aria-selected", "true")
    await page.wait_for_timeout(200)  # let the strip scroll
    box = await tab.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE_390["width"] + 0.5, box
    assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE_390["height"], box
    composer = await page.get_by_label("Message to Internal notes").bounding_box()
    assert composer is not None
    assert composer["y"] + composer["height"] <= PHONE_390["height"], composer
    assert composer["x"] + composer["width"] <= PHONE_390["width"], composer
    scroll = await page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
    )
    assert scroll[0] <= PHONE_390["width"] and scroll[1] <= PHONE_390["height"], scroll
    # and back to the first: the strip scrolls back
    await shortcut(page, "1")
    joint = page.get_by_role("tab", name="Joint")
    await expect(joint).to_have_attribute("aria-selected", "true")
    await page.wait_for_timeout(200)
    joint_box = await joint.bounding_box()
    assert joint_box is not None and joint_box["x"] >= 0, joint_box
    await mod.shot("console-phone-room")

    # the drawer: Rooms shows the queue instead of the room, and back
    await rooms.click()
    await expect(page.locator("#queue")).to_be_visible()
    await expect(page.get_by_role("button", name="Open local/T-phone")).to_be_visible()
    await expect(page.locator("#room-pane")).to_be_hidden()
    await page.get_by_role("button", name="Open local/T-phone").click()
    await expect(page.locator("#room-pane")).to_be_visible()
    await expect(page.locator("#queue")).to_be_hidden()
    await expect(page.locator("#room-pane")).to_be_focused()  # the focus follows the room
    assert_no_errors(mod)


async def test_a_refused_token_and_a_failing_server_are_said_never_an_empty_queue(
    server: RunningServer, browser: Browser
) -> None:
    bad = await open_page(
        browser,
        "bad-token",
        f"{server.base_url}/console.html#token=abc.def.ghi",
        expected=["status of 401"],  # the refusals, logged by Chromium as the page loads
    )
    status = bad.page.locator("#console-status")
    await expect(status).to_contain_text("This console link is invalid or has expired.")
    await expect(status).to_contain_text("new staff link")
    await expect(status).to_have_attribute("role", "alert")
    await bad.page.wait_for_timeout(500)  # both queue reads and the stream have answered
    await expect(bad.page.get_by_text("Nobody is waiting")).to_have_count(0)
    await expect(bad.page.locator(".queue-empty")).to_have_count(0)
    await expect(bad.page.locator("#queue-waiting-title .count")).to_have_text("")
    await bad.shot("console-bad-token")

    # the server out of reach: said, with Retry, and still never "Nobody is waiting"
    mod = await console(server, browser, "mod-offline")
    mod.expect_console_error("net::ERR_FAILED")
    await expect(mod.page.locator(".queue-empty").first).to_be_visible()
    await mod.context.route("**/api/queue**", lambda route: route.abort())
    await mod.page.reload()
    problem = mod.page.locator(".problem[data-problem=network]")
    await expect(problem).to_contain_text("The server cannot be reached.")
    await expect(mod.page.get_by_text("Nobody is waiting")).to_have_count(0)
    await expect(mod.page.locator("#console-status")).to_be_hidden()  # not a token problem
    await mod.shot("console-offline")
    await mod.context.unroute("**/api/queue**")
    await problem.get_by_role("button", name="Retry").click()
    await expect(problem).to_have_count(0)
    await expect(mod.page.get_by_text("Nobody is waiting.")).to_be_visible()
    # a later failure keeps what was read, said to be possibly out of date
    await mod.context.route("**/api/queue**", lambda route: route.abort())
    await shortcut(mod.page, "g")
    await expect(problem.locator(".problem-stale")).to_contain_text("may be out of date")
    await expect(mod.page.get_by_text("Nobody is waiting")).to_have_count(0)
    await mod.context.unroute("**/api/queue**")
    assert_no_errors(bad, mod)
