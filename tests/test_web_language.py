"""The web app's language in a real browser: the person's locale (the room's people), else
the browser's languages, else English; the header's language menu switches every page, and
the choice outlives a reload. Dates, amounts and plurals follow the language."""

import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, ConsoleMessage, expect

from tests.browser import DESKTOP, PHONE, REPORT_CSP_VIOLATIONS, Watched, assert_no_errors, launch
from tests.conftest import RunningServer

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])

GERMAN_DAY = re.compile(r"(Montag|Dienstag|Mittwoch|Donnerstag|Freitag|Samstag|Sonntag), \d+\. ")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async for browser in launch():
        yield browser


async def open_in(browser: Browser, name: str, url: str, locale: str) -> Watched:
    """`tests.browser.open_page` with the browser's language set (navigator.languages and
    Accept-Language), as a person's browser would have it."""
    context = await browser.new_context(viewport=DESKTOP, locale=locale)
    await context.add_init_script(REPORT_CSP_VIOLATIONS)
    page = await context.new_page()
    watched = Watched(name, context, page)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            watched.errors.append(f"{name}: console: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: watched.errors.append(f"{name}: page error: {error}"))
    await page.goto(url)
    return watched


async def plural(watched: Watched, key: str, count: int) -> str:
    """What the page's own t() says for `key` and `count` (the module the page runs)."""
    said: str = await watched.page.evaluate(
        "([key, count]) => import('/i18n.js').then((m) => m.t(key, { count }))", [key, count]
    )
    return said


async def test_the_room_opens_in_the_persons_language_and_the_menu_switches_it(
    server: RunningServer, browser: Browser
) -> None:
    platform = server.platform
    people = [{"user": "hans", "name": "Hans Weber", "locale": "de-AT"}]
    room = await platform.open_room("T-web-lang", client="hans", freelancer="rosa", people=people)
    rosa, _ = await server.peer(room, "rosa", "freelancer")
    offer = {"type": "propose", "id": "p-de", "amount": "1350", "currency": "eur"}
    assert (await rosa.act(offer | {"expires_in": 3600}))["type"] == "ack"
    link = f"{server.base_url}/#room={room}&token="

    # hans's browser speaks English; his locale in the room's people is de-AT: German
    hans = await open_in(
        browser, "hans", link + await platform.token(room, "hans", "client"), "en-US"
    )
    page = hans.page
    reloaded = 15_000  # ms: a page drawn, a welcome, a reload, a welcome, on a busy machine
    await expect(page.locator("html")).to_have_attribute("lang", "de", timeout=reloaded)
    await expect(page.locator(".people-title")).to_have_text("Teilnehmende")
    await expect(page.get_by_role("tab", name=re.compile("^Gemeinsam"))).to_be_visible()
    await expect(page.get_by_label("Nachricht an Gemeinsam")).to_be_visible()
    await expect(page.locator(".room-meta")).to_contain_text("wartet auf einen Moderator")
    card = page.locator("li.proposal")
    await expect(card).to_contain_text("Einigungsvorschlag")
    await expect(card).to_contain_text("1.350,00")  # German grouping and decimal comma
    await expect(card.locator(".expires")).to_contain_text(GERMAN_DAY)  # "Mittwoch, 2. …"
    assert await page.title() == "Schlichtungsraum"
    assert await plural(hans, "queue.arrived", 1) == "1 neuer Raum in der Warteschlange"
    assert await plural(hans, "queue.arrived", 3) == "3 neue Räume in der Warteschlange"
    await hans.shot("language-party-de")

    # his choice in the menu beats his locale, and outlives a reload
    await page.get_by_label("Sprache").select_option("es")
    await expect(page.locator("html")).to_have_attribute("lang", "es", timeout=reloaded)
    await expect(page.locator(".people-title")).to_have_text("Participantes")
    await expect(page.locator("li.proposal")).to_contain_text("1350,00")  # es: no group under 10⁴
    await page.reload()
    await expect(page.locator(".people-title")).to_have_text("Participantes")
    await expect(page.get_by_label("Idioma")).to_have_value("es")
    assert_no_errors(hans)
    await hans.context.close()


async def test_a_spanish_browser_opens_in_spanish_and_english_sticks_after_reload(
    server: RunningServer, browser: Browser
) -> None:
    platform = server.platform
    room = await platform.open_room("T-web-lang-es", client="carla", freelancer="rosa")
    url = f"{server.base_url}/#room={room}&token={await platform.token(room, 'carla', 'client')}"
    carla = await open_in(browser, "carla", url, "es-ES")  # Accept-Language: es-ES
    page = carla.page
    await expect(page.locator("html")).to_have_attribute("lang", "es")
    await expect(page.locator(".people-title")).to_have_text("Participantes")
    await expect(page.get_by_label("Mensaje para Conjunto")).to_be_visible()
    await expect(page.locator(".room-meta")).to_contain_text("esperando a un moderador")
    assert await plural(carla, "evidence.open", 1) == "Abierta: 1 archivo enviado hasta ahora."
    assert await plural(carla, "evidence.open", 2) == "Abierta: 2 archivos enviados hasta ahora."
    await carla.shot("language-party-es")
    await page.set_viewport_size(PHONE)
    await expect(page.get_by_label("Idioma")).to_be_in_viewport()
    await carla.shot("language-party-es-phone")
    await page.set_viewport_size(DESKTOP)

    await page.get_by_label("Idioma").select_option("en")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.locator(".people-title")).to_have_text("Participants")
    await page.reload()
    await expect(page.locator(".people-title")).to_have_text("Participants")
    await expect(page.get_by_label("Message to Joint")).to_be_visible()
    await expect(page.get_by_label("Language")).to_have_value("en")
    assert await plural(carla, "evidence.open", 1) == "Open: 1 file sent so far."
    assert_no_errors(carla)
    await carla.context.close()


async def test_the_console_and_the_audit_page_have_the_menu_too(
    server: RunningServer, browser: Browser
) -> None:
    audit = await open_in(browser, "auditor", f"{server.base_url}/audit.html", "de-DE")
    page = audit.page
    await expect(page.locator("html")).to_have_attribute("lang", "de")
    await expect(page.locator("#verify-title")).to_have_text("Eine Protokolldatei prüfen")
    await page.get_by_label("Sprache").select_option("es")
    await expect(page.locator("#verify-title")).to_have_text(
        "Verificar un archivo de transcripción"
    )
    # the same browser (localStorage) opens the console in the language picked
    await page.goto(f"{server.base_url}/console.html")
    await expect(page.locator("html")).to_have_attribute("lang", "es")
    await expect(page.locator("h1")).to_have_text("Consola de moderación")
    await expect(page.locator("#console-status")).to_contain_text("enlace de personal")
    await page.get_by_label("Idioma").select_option("de")
    await expect(page.locator("h1")).to_have_text("Moderationskonsole")
    await audit.shot("language-console-de")
    assert_no_errors(audit)
    await audit.context.close()
