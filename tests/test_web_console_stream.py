"""The console's live queue in a real browser: the staff token never in a URL (F1), the
stream read with fetch and a header, and pages that run under the strict CSP (F9)."""

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Request, expect

from tests.browser import assert_no_errors, launch, open_page
from tests.conftest import RunningServer
from tests.test_web_dispute import staff_token

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])

PARSE = """async () => {
  const { EventParser } = await import('/shared/events.js');
  const got = [];
  const parser = new EventParser((e) => got.push(e));
  const chunks = ['retry: 2000\\r', '\\n: keep-alive\\r\\n\\r', '\\nevent: queue\\ndata: {"ro',
    'om": "r1"}\\n\\n', 'id: 7\\ndata: a\\ndata:b\\n\\n', 'data: c\\r\\n\\r\\n'];
  for (const chunk of chunks) parser.push(chunk);
  return { got, retry: parser.retry };
}"""

RECONNECT = """async () => {
  const { EventStream } = await import('/shared/events.js');
  const calls = [];
  const bodies = ['id: 41\\nevent: queue\\ndata: {"room": "r1"}\\n\\n', ''];
  const seen = [];
  return await new Promise((resolve) => {
    const fetchImpl = async (url, init) => {
      calls.push({ url, headers: init.headers });
      if (calls.length === 3) return new Response('{}', { status: 401 });
      const headers = { 'content-type': 'text/event-stream' };
      return new Response(bodies[calls.length - 1], { headers });
    };
    const stream = new EventStream('/api/queue/events', 'T0KEN', {
      fetchImpl, on: { queue: (e) => seen.push(e.data) },
      onFail: (status) => resolve({ calls, seen, status }),
    });
    stream.base = 5;
    stream.start();
  });
}"""

INLINE_STYLE = """() => new Promise((resolve) => {
  const seen = (e) => resolve(e.effectiveDirective);
  document.addEventListener('securitypolicyviolation', seen, { once: true });
  setTimeout(() => resolve('no violation'), 5000);
  const div = document.createElement('div');
  div.innerHTML = '<span style="color: red">styled inline</span>';
  document.body.append(div);
})"""


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async for browser in launch():
        yield browser


async def test_the_console_queue_streams_with_a_header_never_a_url(
    server: RunningServer, browser: Browser
) -> None:
    token = await staff_token(server, "maya", "moderator")
    maya = await open_page(browser, "maya", f"{server.base_url}/console.html#token={token}")
    requests: list[Request] = []
    maya.page.on("request", lambda request: requests.append(request))
    await maya.page.reload()  # every request, from the first, seen
    await expect(maya.page.locator(".queue-empty").first).to_be_visible()
    await maya.page.wait_for_timeout(300)  # the stream is open
    await server.platform.open_room("T-live-stream")
    # the 30 s refresh is far off: only the stream's event brings the room this soon
    await expect(maya.page.get_by_role("button", name="Claim local/T-live-stream")).to_be_visible(
        timeout=10_000
    )
    assert [r.url for r in requests if token in r.url] == []
    streams = [r for r in requests if "/api/queue/events" in r.url]
    assert streams, "the queue stream was never opened"
    for request in streams:
        assert request.url.endswith("/api/queue/events")
        assert (await request.all_headers())["authorization"] == f"Bearer {token}"
    assert_no_errors(maya)


async def test_the_stream_parser_and_its_reconnects(
    server: RunningServer, browser: Browser
) -> None:
    page = await open_page(browser, "parser", f"{server.base_url}/console.html")
    parsed = await page.page.evaluate(PARSE)
    assert parsed["retry"] == 2000
    assert parsed["got"] == [
        {"type": "queue", "data": '{"room": "r1"}', "id": ""},
        {"type": "message", "data": "a\nb", "id": "7"},
        {"type": "message", "data": "c", "id": "7"},
    ]
    run = await page.page.evaluate(RECONNECT)
    assert run["seen"] == ['{"room": "r1"}']
    assert run["status"] == 401  # a refused token: it stops retrying
    first, second, third = run["calls"]
    assert first["headers"]["authorization"] == "Bearer T0KEN"
    assert "last-event-id" not in first["headers"]
    assert second["headers"]["last-event-id"] == third["headers"]["last-event-id"] == "41"
    assert all(call["url"] == "/api/queue/events" for call in run["calls"])


async def test_the_pages_run_under_a_policy_that_refuses_inline_style(
    server: RunningServer, browser: Browser
) -> None:
    page = await open_page(browser, "csp", f"{server.base_url}/audit.html")
    page.expect_console_error("CSP violation: style-src-attr")
    page.expect_console_error("Content Security Policy")
    assert await page.page.evaluate(INLINE_STYLE) == "style-src-attr"
    assert_no_errors(page)
