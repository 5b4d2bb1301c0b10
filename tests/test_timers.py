"""The shared timers (mediation.timers) fire like the loop's own: in order, once, not
when cancelled, and one failing callback does not stop the others."""

import asyncio
from typing import Any

from mediation import timers as timers_module
from mediation.timers import Timers, timers


async def test_timers_fire_in_order_of_due_time_and_not_when_cancelled() -> None:
    fired: list[str] = []
    shared = timers()
    assert timers() is shared  # one per loop
    shared.call_later(0.06, fired.append, "late")
    shared.call_later(0.02, fired.append, "early")
    dropped = shared.call_later(0.04, fired.append, "cancelled")
    dropped.cancel()
    dropped.cancel()  # twice is once
    await asyncio.sleep(0.1)
    assert fired == ["early", "late"]


async def test_a_failing_callback_is_reported_and_the_others_still_run() -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    fired: list[int] = []
    try:
        own = Timers()
        own.call_later(0.01, lambda: 1 / 0)
        own.call_later(0.01, fired.append, 2)
        await asyncio.sleep(0.05)
    finally:
        loop.set_exception_handler(previous)
    assert fired == [2]
    assert isinstance(reported[0]["exception"], ZeroDivisionError)


async def test_cancelled_timers_do_not_pile_up() -> None:
    own = Timers()
    for _ in range(10 * timers_module.COMPACT_AT):
        own.call_later(3600, print).cancel()  # a socket that came and went
    assert len(own) == 0
    assert len(own._heap) <= 2 * timers_module.COMPACT_AT
