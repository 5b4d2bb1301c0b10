"""SLA policies end to end: managed over HTTP (who may, what is refused, what is
audited), obeyed by the clocks (an urgent room falls due by its policy while a normal one
does not), applied to clocks already running, and seen by a second process."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from mediation.config import Settings
from mediation.sla.retiming import REREADS, Retimed, retime_priority, write_due
from rooms.clocks import Targets
from rooms.workflow import Workflow
from tests.browser import assert_no_errors, launch, open_page
from tests.conftest import RunningServer, ServerFactory, free_port
from tests.test_web_dispute import staff_token
from transcripts.schema import rooms

URGENT = {"first_response": 0.5, "answer": 0.5, "reply": 0.8}
PRIORITIES = ["urgent", "high", "normal", "low"]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, clock_tick=0.1, sla_editors=("m-lead",))


async def staff(server: RunningServer, user: str) -> dict[str, str]:
    minted = await server.platform.http.post(
        "/api/staff/tokens", json={"user": user, "role": "moderator"}, headers=server.platform.auth
    )
    assert minted.status_code == 201, minted.text
    return {"authorization": f"Bearer {minted.json()['token']}"}


async def put(
    server: RunningServer, priority: str, body: Any, auth: dict[str, str] | None = None
) -> httpx.Response:
    return await server.platform.http.put(
        f"/api/sla-policies/{priority}", json=body, headers=auth or server.platform.auth
    )


async def policies(server: RunningServer, auth: dict[str, str] | None = None) -> dict[str, Any]:
    listed = await server.platform.http.get(
        "/api/sla-policies", headers=auth or server.platform.auth
    )
    assert listed.status_code == 200, listed.text
    found: dict[str, Any] = listed.json()
    return found


async def queue_entry(server: RunningServer, room: str) -> dict[str, Any]:
    answer = await server.platform.http.get("/api/queue", headers=server.platform.auth)
    return next(r for r in answer.json()["rooms"] if r["id"] == room)


async def flagged(server: RunningServer, room: str) -> list[str]:
    """The room's overdue clocks once one is flagged (within five seconds), read from the
    database: whichever process fired the alarm."""
    for _ in range(50):
        overdue = [o["clock"] for o in (await queue_entry(server, room))["overdue"]]
        if overdue:
            return overdue
        await asyncio.sleep(0.1)
    return []


async def test_policies_are_listed_for_every_priority_over_the_defaults(
    server: RunningServer,
) -> None:
    listed = await policies(server)
    assert [p["priority"] for p in listed["policies"]] == PRIORITIES
    defaults = server.settings.targets
    for policy in listed["policies"]:
        assert policy["default"] is True
        assert (policy["first_response"], policy["answer"], policy["reply"]) == (
            defaults.first_response,
            defaults.answer,
            defaults.reply,
        )
    assert listed["editable"] is True  # the API key


async def test_the_api_key_and_named_editors_change_policies_other_moderators_read_them(
    server: RunningServer,
) -> None:
    anyone = await staff(server, "m-1")
    lead = await staff(server, "m-lead")
    assert (await server.platform.http.get("/api/sla-policies")).status_code == 401
    assert (await policies(server, anyone))["editable"] is False
    refused = await put(server, "urgent", URGENT, anyone)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
    created = await put(server, "urgent", URGENT)
    assert created.status_code == 201, created.text
    assert created.json() | {"updated_at": None} == {
        "priority": "urgent",
        **URGENT,
        "default": False,
        "proposal_answer_days": None,
        "updated_by": "api-key",
        "updated_at": None,
        "rooms_retimed": 0,
    }
    replaced = await put(server, "urgent", {**URGENT, "reply": 60}, lead)
    assert replaced.status_code == 200, replaced.text
    listed = await policies(server, lead)
    assert listed["editable"] is True
    urgent = listed["policies"][0]
    assert (urgent["reply"], urgent["updated_by"], urgent["default"]) == (60, "m-lead", False)
    assert [p["default"] for p in listed["policies"][1:]] == [True, True, True]
    unset = await server.platform.http.delete(
        "/api/sla-policies/urgent", headers=server.platform.auth
    )
    assert unset.status_code == 200
    assert (unset.json()["default"], unset.json()["first_response"]) == (
        True,
        server.settings.first_response_target,
    )
    again = await server.platform.http.delete(
        "/api/sla-policies/urgent", headers=server.platform.auth
    )
    assert (again.status_code, again.json()["error"]["code"]) == (404, "not_found")
    log = await server.platform.http.get("/api/audit-log", headers=server.platform.auth)
    changes = [
        (e["actor"]["user"], e["action"])
        for e in log.json()["entries"]
        if e["action"].startswith("sla_")
    ]
    assert changes == [
        ("api-key", "sla_put:urgent"),
        ("m-lead", "sla_put:urgent"),
        ("api-key", "sla_delete:urgent"),
    ]


@pytest.mark.parametrize(
    ("priority", "body", "status", "code"),
    [
        ("urgent", {**URGENT, "first_response": 0}, 400, "invalid"),
        ("urgent", {**URGENT, "answer": -1}, 400, "invalid"),
        ("urgent", {**URGENT, "reply": 10**9}, 400, "invalid"),
        ("urgent", {"first_response": 60}, 400, "invalid"),
        ("urgent", {**URGENT, "business_hours": "9-17"}, 400, "invalid"),
        ("urgent", "sixty", 400, "invalid"),
        ("urgent", {**URGENT, "proposal_answer_days": 0}, 400, "invalid"),
        ("urgent", {**URGENT, "proposal_answer_days": 61}, 400, "invalid"),
        ("urgent", {**URGENT, "proposal_answer_days": 1.5}, 400, "invalid"),
        ("critical", URGENT, 404, "not_found"),
    ],
)
async def test_bad_policies_are_refused_with_a_stable_code_and_change_nothing(
    server: RunningServer, priority: str, body: Any, status: int, code: str
) -> None:
    refused = await put(server, priority, body)
    assert (refused.status_code, refused.json()["error"]["code"]) == (status, code)
    assert all(p["default"] for p in (await policies(server))["policies"])


async def test_an_urgent_room_falls_due_by_its_policy_while_a_normal_room_does_not(
    server: RunningServer,
) -> None:
    assert (await put(server, "urgent", URGENT)).status_code == 201
    urgent = await server.platform.open_room("T-urgent", priority="urgent")
    normal = await server.platform.open_room("T-normal", priority="normal")
    on_urgent, _ = await server.peer(urgent, "m-1", "moderator")
    on_normal, _ = await server.peer(normal, "m-1", "moderator")
    alarm = await on_urgent.event("overdue", clock="unclaimed")
    assert alarm["channel"] == "notes"
    await asyncio.sleep(0.5)  # five more ticks
    assert [f for f in await on_normal.drain() if f.get("kind") == "overdue"] == []
    flagged, waiting = await queue_entry(server, urgent), await queue_entry(server, normal)
    assert [o["clock"] for o in flagged["overdue"]] == ["unclaimed"]
    assert flagged["targets"] == URGENT
    assert waiting["overdue"] == []
    assert waiting["targets"]["first_response"] == server.settings.first_response_target


async def test_a_shorter_policy_re_times_a_room_already_waiting(server: RunningServer) -> None:
    room = await server.platform.open_room("T-waiting", priority="high")
    await server.platform.open_room("T-waiting-too", priority="high")
    await server.platform.open_room("T-other", priority="low")
    watcher, _ = await server.peer(room, "m-1", "moderator")
    before = await queue_entry(server, room)
    changed = await put(server, "high", {**URGENT, "first_response": 2})
    assert changed.json()["rooms_retimed"] == 2  # of that priority only
    after = await queue_entry(server, room)
    assert after["next_alarm_at"] < before["next_alarm_at"]
    await watcher.event("overdue", clock="unclaimed")


async def test_a_room_moved_meanwhile_by_a_record_timed_the_old_way_is_re_timed_again(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record committed between the re-timing's read and its write, timed by targets
    this process had not re-read yet, does not leave the room on the longer target (the
    joined record of a moderator who had just arrived did it in CI)."""
    room = await server.platform.open_room("T-late", priority="high")
    client, _ = await server.peer(room, "c-1", "client")
    await client.acked({"type": "send", "id": "first", "channel": "joint", "body": "hello"})
    db, write = server.services.db, server.services.db.write

    @asynccontextmanager
    async def after_a_record_timed_the_old_way() -> AsyncIterator[AsyncConnection]:
        monkeypatch.setattr(db, "write", write)  # once
        await client.acked({"type": "send", "id": "late", "channel": "joint", "body": "there?"})
        async with write() as conn:
            yield conn

    monkeypatch.setattr(db, "write", after_a_record_timed_the_old_way)
    shorter = Workflow(targets_for=lambda _: Targets(first_response=2, answer=2, reply=2))
    assert await retime_priority(db, shorter, "high") == 1
    row = await server.services.store.room(room)
    assert row is not None and row.position == 3  # joined, hello, there?
    assert row.due_at == shorter.queue_fields(shorter.load(row.state, row.workflow or {})).due_at


async def test_a_room_records_keep_moving_is_read_again_a_bounded_number_of_times(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record lands between every read and write of the re-timing: it gives up on the
    room after `REREADS` reads (its records time it) instead of chasing it for ever."""
    room = await server.platform.open_room("T-busy", priority="high")
    client, _ = await server.peer(room, "c-1", "client")
    await client.acked({"type": "send", "id": "first", "channel": "joint", "body": "hello"})
    db, write = server.services.db, server.services.db.write
    writes, sending = 0, False

    @asynccontextmanager
    async def after_another_record() -> AsyncIterator[AsyncConnection]:
        nonlocal writes, sending
        if not sending:  # the re-timing's write (not the commit of the record it waits for)
            writes += 1
            if writes > 2 * REREADS:
                raise AssertionError("the re-timing chases a busy room without end")
            sending = True
            try:
                sent = {"type": "send", "id": f"m{writes}", "channel": "joint", "body": "?"}
                await client.acked(sent)
            finally:
                sending = False
        async with write() as conn:
            yield conn

    monkeypatch.setattr(db, "write", after_another_record)
    shorter = Workflow(targets_for=lambda _: Targets(first_response=2, answer=2, reply=2))
    assert await retime_priority(db, shorter, "high") == 0
    assert writes == REREADS


async def test_a_due_time_left_too_early_is_re_timed_by_the_scheduler_not_fired(
    server: RunningServer,
) -> None:
    """As a row written under a shorter policy that has since grown: nothing is due, so
    the scheduler writes the later time instead of finding the room on every tick."""
    room = await server.platform.open_room("T-early")
    watcher, _ = await server.peer(room, "m-1", "moderator")
    written = (await queue_entry(server, room))["next_alarm_at"]
    async with server.services.db.write() as conn:
        past = datetime.now(UTC) - timedelta(seconds=5)
        await conn.execute(update(rooms).where(rooms.c.id == room).values(due_at=past))
    for _ in range(50):
        await asyncio.sleep(0.1)
        if (await queue_entry(server, room))["next_alarm_at"] == written:
            break
    assert (await queue_entry(server, room))["next_alarm_at"] == written
    assert [f for f in await watcher.drain() if f.get("kind") == "overdue"] == []


async def test_a_re_timing_yields_to_a_record_committed_since_it_read_the_room(
    server: RunningServer,
) -> None:
    room = await server.platform.open_room("T-race")
    read = await server.services.store.room(room)
    assert read is not None
    claimed = await server.platform.http.post(
        f"/api/rooms/{room}/claim", json={"moderator": "m-1"}, headers=server.platform.auth
    )
    assert claimed.status_code == 200
    long_ago = datetime(2000, 1, 1, tzinfo=UTC)
    assert await write_due(server.services.db, [Retimed(room, read.position, long_ago)]) == 0
    now = await server.services.store.room(room)
    assert now is not None and now.due_at != long_ago
    assert await write_due(server.services.db, [Retimed(room, now.position, long_ago)]) == 1


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_policy_changed_on_one_process_is_obeyed_by_another(
    start_server: ServerFactory, settings: Settings
) -> None:
    first = await start_server(settings)
    second = await start_server(replace(settings, port=free_port()))
    opened_before = await second.platform.open_room("T-before", priority="urgent")
    assert (await put(first, "urgent", URGENT)).json()["rooms_retimed"] == 1
    for _ in range(50):  # the second process re-reads the table every clock tick
        if (await queue_entry(second, opened_before))["targets"] == URGENT:
            break
        await asyncio.sleep(0.1)
    assert (await queue_entry(second, opened_before))["targets"] == URGENT
    assert await flagged(second, opened_before) == ["unclaimed"]


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_room_timed_by_a_process_that_had_not_seen_the_change_is_re_timed_by_it(
    start_server: ServerFactory, settings: Settings
) -> None:
    """The second process commits under the old policy until it re-reads the table; when
    it does, it re-times what it wrote meanwhile."""
    first = await start_server(settings)
    second = await start_server(replace(settings, port=free_port()))
    await second.services.sla.close()  # its re-reading is driven by hand below
    assert (await put(first, "urgent", URGENT)).status_code == 201
    room = await second.platform.open_room("T-stale", priority="urgent")
    stale = await second.services.store.room(room)
    assert stale is not None and stale.due_at is not None
    assert stale.due_at - stale.created_at > timedelta(minutes=14)  # the default, 15 minutes
    await asyncio.sleep(1)  # ten of the first process's ticks: the room is not due yet
    assert (await queue_entry(first, room))["overdue"] == []
    assert await second.services.sla.changed() == 1
    assert await flagged(first, room) == ["unclaimed"]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async for browser in launch():
        yield browser


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_the_console_shows_each_priority_s_targets_and_an_editor_changes_one(
    server: RunningServer, browser: Browser
) -> None:
    await server.platform.open_room("T-console", priority="urgent")
    anyone = await staff_token(server, "m-1", "moderator")
    reader = await open_page(browser, "m-1", f"{server.base_url}/console.html#token={anyone}")
    await reader.page.get_by_text("SLA targets").click()
    items = reader.page.locator(".sla-item")
    await expect(items).to_have_count(4)
    await expect(items.first).to_contain_text("first response 15 min · answer 30 min · reply 24 h")
    await expect(items.first).to_contain_text("The deployment default")
    assert await reader.page.locator(".sla-form").count() == 0  # not an editor

    lead = await staff_token(server, "m-lead", "moderator")
    editor = await open_page(browser, "m-lead", f"{server.base_url}/console.html#token={lead}")
    room = editor.page.locator(".queue-item", has_text="local/T-console")
    await expect(room).to_contain_text("SLA: first response 15 min")
    await editor.page.get_by_text("SLA targets").click()
    form = editor.page.get_by_role("form", name="Targets for urgent tickets")
    await form.get_by_label("First response (minutes)").fill("5")
    await form.get_by_role("button", name="Save").click()
    urgent = editor.page.locator('.sla-item[data-priority="urgent"]')
    await expect(urgent).to_contain_text("Set by m-lead")
    await expect(urgent).to_contain_text("first response 5 min")
    await expect(room).to_contain_text("SLA: first response 5 min")
    assert (await policies(server))["policies"][0]["first_response"] == 300
    await editor.shot("console-sla-panel")
    await urgent.get_by_role("button", name="Back to default").click()
    await expect(urgent).to_contain_text("The deployment default")
    assert_no_errors(reader, editor)


async def test_a_priority_s_policy_sets_a_deadline_on_the_party_a_proposal_waits_for(
    server: RunningServer,
) -> None:
    slow = {"first_response": 3600, "answer": 3600, "reply": 86400, "proposal_answer_days": 5}
    created = await put(server, "high", slow)
    assert (created.status_code, created.json()["proposal_answer_days"]) == (201, 5)
    room = await server.platform.open_room("T-policy-deadline", priority="high")
    other = await server.platform.open_room("T-no-policy", priority="normal")
    for opened, ticket in ((room, "high"), (other, "normal")):
        moderator, _ = await server.peer(opened, "m-1", "moderator")
        await moderator.acked({"type": "transition", "id": f"claim-{ticket}", "to": "mediating"})
        client, _ = await server.peer(opened, "c-1", "client")
        freelancer, _ = await server.peer(opened, "f-1", "freelancer")
        offer = {"type": "propose", "id": f"p-{ticket}", "amount": "300", "currency": "USD"}
        await client.acked({**offer, "expires_in": 30 * 24 * 60})
        made = await freelancer.event("proposal")
        if ticket == "normal":  # no policy of its own, and the deployment sets none
            await asyncio.sleep(0.3)
            assert not [f for f in freelancer.received if f.get("kind") == "deadline"]
            continue
        set_ = await freelancer.event("deadline", party="freelancer")
        assert set_["sender"] == {"user": "mediation", "role": "system"}
        assert (set_["outcome"], set_["target"], set_["business_days"]) == (
            "accept_proposal",
            made["seq"],
            5,
        )
        due = datetime.fromisoformat(set_["due_at"])
        assert timedelta(days=5) <= due - datetime.now(UTC) <= timedelta(days=11)
