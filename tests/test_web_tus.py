"""tus-js-client, the library Uppy uploads with, in Chromium: a page on our origin (under
our pages' Content-Security-Policy) uploads a Blob with nothing but the endpoint, the
room token and metadata; chunked, in the creation request, and resumed after an abort.
The library comes from the npm registry, installed once into a cache directory."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, Route

from mediation.http.security_headers import security_headers
from tests.browser import REPORT_CSP_VIOLATIONS, launch
from tests.conftest import RunningServer
from tests.files import download, pdf, sha256, staged
from tests.npm_packages import npm_file

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])

KIB = 1024
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>tus</title>
<script src="/tus-test/tus.min.js"></script></head><body>tus-js-client</body></html>"""

UPLOAD = """async ({endpoint, token, name, channel, chunkSize, duringCreation, stopAfter}) => {
  const blob = await (await fetch('/tus-test/evidence.pdf')).blob();
  // the same file chosen again: same name, type, size and modification time (the fingerprint)
  const file = new File([blob], name, {type: 'application/pdf', lastModified: 1700000000000});
  const options = {
    endpoint,
    chunkSize: chunkSize ?? Infinity,  // tus-js-client's default: one request
    uploadDataDuringCreation: duringCreation,
    metadata: {filename: name, filetype: file.type, channel},
    headers: {Authorization: `Bearer ${token}`},
    retryDelays: [],
  };
  const previous = await new tus.Upload(file, options).findPreviousUploads();
  return await new Promise((resolve, reject) => {
    let sent = 0;
    const upload = new tus.Upload(file, {
      ...options,
      onError: (error) => reject(String(error)),
      onChunkComplete: (_chunk, accepted) => {
        sent += 1;
        if (stopAfter && sent === stopAfter) {  // the tab is closed mid-upload
          upload.abort().then(() => resolve({url: upload.url, offset: accepted, done: false}));
        }
      },
      onSuccess: ({lastResponse}) => resolve({
        url: upload.url, done: true, status: lastResponse.getStatus(),
        body: JSON.parse(lastResponse.getBody()), resumed: previous.length > 0,
      }),
    });
    if (previous.length) upload.resumeFromPreviousUpload(previous[0]);
    upload.start();
  });
}"""


def tus_js_client() -> Path:
    """tus.min.js of tus-js-client 4, from the npm registry (cached)."""
    return npm_file("tus-js-client", "4", "dist/tus.min.js")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async for browser in launch():
        yield browser


async def tus_page(browser: Browser, server: RunningServer, data: bytes) -> tuple[Page, list[str]]:
    """A page of our origin with tus-js-client loaded and `data` to upload; its errors."""
    script = tus_js_client().read_bytes()
    context = await browser.new_context()
    await context.add_init_script(REPORT_CSP_VIOLATIONS)
    headers = security_headers("/", False, ())  # the policy our own pages run under

    async def serve(route: Route) -> None:
        path = route.request.url.removeprefix(server.base_url)
        body, kind = {
            "/tus-test/page.html": (PAGE.encode(), "text/html; charset=utf-8"),
            "/tus-test/tus.min.js": (script, "text/javascript"),
            "/tus-test/evidence.pdf": (data, "application/pdf"),
        }[path]
        await route.fulfill(status=200, body=body, headers={**headers, "content-type": kind})

    await context.route(f"{server.base_url}/tus-test/*", serve)
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(f"{server.base_url}/tus-test/page.html")
    return page, errors


async def upload_in_page(page: Page, server: RunningServer, room: str, **options: Any) -> Any:
    return await page.evaluate(
        UPLOAD,
        {
            "endpoint": f"{server.base_url}/api/rooms/{room}/uploads",
            "duringCreation": False,
            "stopAfter": 0,
            **options,
        },
    )


async def test_tus_js_client_uploads_a_blob_byte_identical(
    server: RunningServer, browser: Browser
) -> None:
    await asyncio.to_thread(tus_js_client)  # first: skip early if the registry is unreachable
    room = await server.platform.open_room("T-tus-js")
    token = await server.platform.token(room, "c-1", "client")
    data = pdf(333 * KIB + 17)
    page, errors = await tus_page(browser, server, data)
    chunked = await upload_in_page(
        page,
        server,
        room,
        token=token,
        name="invoice März.pdf",
        channel="caucus:client",
        chunkSize=64 * KIB + 3,
    )
    assert chunked["done"], chunked
    facts = chunked["body"]
    assert (chunked["status"], facts["name"], facts["channel"], facts["sha256"]) == (
        201,
        "invoice März.pdf",
        "caucus:client",
        sha256(data),
    )
    assert chunked["url"].endswith(f"/uploads/{facts['file']}")
    assert (await download(server, room, token, facts["file"])).content == data

    # the whole file in the creation request (creation-with-upload)
    whole = await upload_in_page(
        page, server, room, token=token, name="one.pdf", channel="joint", duringCreation=True
    )
    assert (whole["status"], whole["body"]["sha256"], whole["body"]["channel"]) == (
        201,
        sha256(data),
        "joint",
    )
    assert (await download(server, room, token, whole["body"]["file"])).content == data
    assert await staged(server) == (0, 0)
    assert not errors, errors


async def test_tus_js_client_resumes_an_aborted_upload(
    server: RunningServer, browser: Browser
) -> None:
    await asyncio.to_thread(tus_js_client)
    room = await server.platform.open_room("T-tus-js-resume")
    token = await server.platform.token(room, "c-1", "client")
    data = pdf(290 * KIB + 1)
    page, errors = await tus_page(browser, server, data)
    options = {
        "token": token,
        "name": "photos.pdf",
        "channel": "joint",
        "chunkSize": 50 * KIB,
        "duringCreation": True,  # the first chunk goes with the creation
    }
    first = await upload_in_page(page, server, room, stopAfter=3, **options)
    assert (first["done"], first["offset"]) == (False, 150 * KIB)
    second = await upload_in_page(page, server, room, **options)  # found in localStorage
    assert (second["done"], second["resumed"], second["url"]) == (True, True, first["url"])
    facts = second["body"]
    assert facts["sha256"] == sha256(data)
    assert (await download(server, room, token, facts["file"])).content == data
    assert await staged(server) == (0, 0)
    assert not errors, errors
