"""The console's peer review in Chromium: the inbox lists the week's assignment, the
review page shows the room's transcript read-only (read through the access-logged path)
beside the scorecard form, and the reviewed moderator sees the result."""

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from playwright.async_api import Browser, expect

from mediation.config import Settings
from tests.browser import assert_no_errors, launch, open_page
from tests.conftest import RunningServer
from tests.test_peer_review import resolve
from tests.test_web_dispute import staff_token


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, reviews_per_week=1, reviewers=("m-1",))


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async for browser in launch():
        yield browser


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_reviewer_scores_a_room_from_the_console(
    server: RunningServer, browser: Browser
) -> None:
    api = server.platform
    await resolve(server, "T-mine", "m-1", 5)
    room = await resolve(server, "T-theirs", "m-2", 4)
    done = await api.http.post("/api/review/assign", headers=api.auth)
    assert done.json()["assigned"] == 1

    token = await staff_token(server, "m-1", "moderator")
    reviewer = await open_page(browser, "m-1", f"{server.base_url}/console.html#token={token}")
    await reviewer.page.get_by_text("Peer review").click()
    item = reviewer.page.locator(".review-item")
    await expect(item).to_have_count(1)
    await expect(item).to_contain_text(f"m-2 · room {room}")
    await item.get_by_role("button", name=f"Review room {room}").click()
    page = reviewer.page.get_by_role("region", name=f"Review of room {room}")
    await expect(page.locator(".transcript")).to_contain_text("Hello both")
    form = page.get_by_role("form", name="Scorecard")
    for label in ("Empathy", "Neutrality", "Accuracy of terms", "Time to resolution"):
        await form.get_by_label(f"{label} (weight 1)").select_option("4")
    await form.get_by_label("Comment for the moderator").fill("Calm and clear")
    await form.get_by_role("button", name="Submit review").click()
    await expect(form.locator(".review-status")).to_have_text("Review sent: weighted score 4")
    await expect(item).to_contain_text("Reviewed")
    await reviewer.shot("console-peer-review")

    log = (await api.http.get("/api/audit-log", headers=api.auth)).json()["entries"]
    reads = [e for e in log if e["action"] == "review_read"]
    assert [(e["actor"]["user"], e["purpose"], e["room"]) for e in reads] == [
        ("m-1", "peer review", room)
    ]

    theirs = await staff_token(server, "m-2", "moderator")
    reviewed = await open_page(browser, "m-2", f"{server.base_url}/console.html#token={theirs}")
    await reviewed.page.get_by_text("Peer review").click()
    result = reviewed.page.locator(".review-result")
    await expect(result).to_contain_text("weighted 4")
    await expect(result).to_contain_text("Calm and clear")
    assert_no_errors(reviewer, reviewed)
