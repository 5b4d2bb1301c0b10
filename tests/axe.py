"""axe-core in the browser tests: every page and state checked against WCAG 2.0/2.1 A and AA.

axe-core comes from the npm registry (a pinned version), installed once into the tests'
cache directory, like tus-js-client in test_web_tus.py. It is served to the page from its
own origin by a Playwright route (`/__axe__/axe.min.js`, never reaching the server) and
added as a `<script src>`: the pages' Content-Security-Policy (`script-src 'self'`) allows
that, where Playwright's `add_script_tag(content=...)` (an inline script) is refused and
logged as a violation. So the page under test keeps its real policy.

`check_page(page, label)` fails with the violations, one line each: rule, impact, the
element's selector, what to fix. `violations(page, label)` returns those lines instead.
"""

from pathlib import Path
from typing import Any
from weakref import WeakSet

from playwright.async_api import BrowserContext, Page, Route

from tests.npm_packages import npm_file

AXE_VERSION = "4.14.1"
SCRIPT_PATH = "/__axe__/axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

RUN = """async (tags) => {
  const result = await axe.run(document, {
    runOnly: {type: 'tag', values: tags},
    resultTypes: ['violations'],
    iframes: true,
  });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({target: n.target, summary: n.failureSummary})),
  }));
}"""

_routed: "WeakSet[BrowserContext]" = WeakSet()


def axe_script() -> Path:
    """axe.min.js of the pinned axe-core, from the npm registry (cached)."""
    return npm_file("axe-core", AXE_VERSION, "axe.min.js")


async def _route_axe(context: BrowserContext) -> None:
    """Answer `/__axe__/axe.min.js` on any origin with axe-core, in this context."""
    if context in _routed:
        return
    body = axe_script().read_bytes()

    async def serve(route: Route) -> None:
        await route.fulfill(status=200, body=body, headers={"content-type": "text/javascript"})

    await context.route(f"**{SCRIPT_PATH}", serve)
    _routed.add(context)


async def _inject(page: Page) -> None:
    """axe-core in the page and in each of its frames of an http origin."""
    await _route_axe(page.context)
    for frame in page.frames:
        if not frame.url.startswith("http") or frame.is_detached():
            continue
        if not await frame.evaluate("typeof window.axe === 'object'"):
            await frame.add_script_tag(url=SCRIPT_PATH)  # a same-origin file: script-src 'self'


def describe(label: str, found: list[dict[str, Any]]) -> list[str]:
    """One readable line per element in violation."""
    lines = []
    for violation in found:
        for node in violation["nodes"]:
            target = " » ".join(str(t) for t in node["target"])
            summary = " ".join((node["summary"] or "").split())
            if len(summary) > 240:
                summary = summary[:239] + "…"
            lines.append(
                f"{label}: {violation['id']} ({violation['impact']}) at {target}: "
                f"{violation['help']}. {summary}"
            )
    return lines


async def violations(page: Page, label: str) -> list[str]:
    """axe-core's WCAG 2.0/2.1 A and AA violations on the page as it is now."""
    await _inject(page)
    found: list[dict[str, Any]] = await page.evaluate(RUN, TAGS)
    return describe(label, found)


async def check_page(page: Page, label: str) -> None:
    """Fail, listing every violation, unless axe-core finds none on the page."""
    lines = await violations(page, label)
    assert not lines, "axe-core found violations:\n" + "\n".join(lines)
