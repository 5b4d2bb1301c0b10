"""Headless Chromium for the web app's tests: Debian's browser driven by Playwright.

Every page opened here fails its test on any console error or uncaught page
error, a Content-Security-Policy violation included. Screenshots go to
tests/artifacts/ (git-ignored) for people to look at.
"""

import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    ViewportSize,
    async_playwright,
)

CHROMIUM = Path(os.environ.get("MEDIATION_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE: ViewportSize = {"width": 360, "height": 740}
# Anything the Content-Security-Policy blocks, in any frame, is a console error: a failure.
REPORT_CSP_VIOLATIONS = """
document.addEventListener('securitypolicyviolation', (e) => {
  console.error(`CSP violation: ${e.effectiveDirective} blocked ${e.blockedURI || 'inline'}`);
});
"""
DESKTOP: ViewportSize = {"width": 1280, "height": 800}


def chromium_or_skip() -> Path:
    """The browser, or a skip (a failure under CI=true, where .ci/run installs it)."""
    if CHROMIUM.exists():
        return CHROMIUM
    message = f"{CHROMIUM} is missing: apt-get install -y chromium"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


async def launch() -> AsyncIterator[Browser]:
    executable = chromium_or_skip()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(executable), args=ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Watched:
    """A page whose console errors and uncaught exceptions are collected."""

    name: str
    context: BrowserContext
    page: Page
    errors: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)  # console errors a test provokes on purpose

    def expect_console_error(self, text: str) -> None:
        """Chromium logs every refused request ("...status of 415...") as a console error:
        tolerate the ones matching `text`, which the test causes and checks itself."""
        self.expected.append(text)

    async def shot(self, label: str, full_page: bool = False) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{label}.png"
        await self.page.screenshot(path=str(path), full_page=full_page)
        return path


async def open_page(
    browser: Browser,
    name: str,
    url: str,
    viewport: ViewportSize | None = None,
    expected: Sequence[str] = (),
) -> Watched:
    """`url` in a fresh context; `expected`: console errors the page causes as it loads
    (see `Watched.expect_console_error`, for those that come later)."""
    context = await browser.new_context(viewport=viewport or DESKTOP)
    await context.add_init_script(REPORT_CSP_VIOLATIONS)
    page = await context.new_page()
    watched = Watched(name, context, page, expected=list(expected))

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not any(e in message.text for e in watched.expected):
            watched.errors.append(f"{name}: console: {message.text}")

    def on_error(error: Exception) -> None:
        watched.errors.append(f"{name}: page error: {error}")

    page.on("console", on_console)
    page.on("pageerror", on_error)
    await page.goto(url)
    return watched


def assert_no_errors(*pages: Watched) -> None:
    errors = [e for p in pages for e in p.errors]
    assert not errors, "\n".join(errors)


async def attach(page: Page, path: Path, channel: str = "Joint") -> None:
    """Choose `path` with the Attach button of the visible `channel` composer."""
    async with page.expect_file_chooser() as chooser:
        await page.get_by_role("button", name=f"Attach a file to {channel}").click()
    await (await chooser.value).set_files(str(path))
