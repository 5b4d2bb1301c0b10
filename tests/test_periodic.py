"""The background step every scheduler repeats: an outage is logged and retried, never the
end of it; closing stops it; `wait_first` lets a period pass before the first step."""

import asyncio

import pytest

from mediation.periodic import Periodic


async def test_a_failing_step_is_logged_and_tried_again(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []

    async def step() -> None:
        calls.append(len(calls))
        if len(calls) <= 2:
            raise ConnectionError("the database is away")

    every = Periodic("test step", step, 0.01, wait_first=False)
    every.start()
    every.start()  # a second start runs nothing twice
    for _ in range(200):
        if len(calls) >= 4:
            break
        await asyncio.sleep(0.01)
    await every.close()
    seen = len(calls)
    assert seen >= 4  # it went on after two failures
    assert [r.getMessage() for r in caplog.records].count("test step: ConnectionError") == 2
    await asyncio.sleep(0.05)
    assert len(calls) == seen  # closed: no step runs any more


async def test_wait_first_lets_a_period_pass_before_the_first_step() -> None:
    calls: list[float] = []

    async def step() -> None:
        calls.append(asyncio.get_running_loop().time())

    loop = asyncio.get_running_loop()
    started = loop.time()
    every = Periodic("waits", step, 0.2, wait_first=True)
    every.start()
    await asyncio.sleep(0.1)
    assert calls == []
    await asyncio.sleep(0.2)
    await every.close()
    assert calls and calls[0] - started >= 0.19
