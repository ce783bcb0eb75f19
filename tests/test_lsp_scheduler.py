import asyncio

import pytest

from lsp_server.scheduler import LatestWins, Superseded


@pytest.mark.asyncio
async def test_a_newer_request_supersedes_and_stops_the_older_one():
    scheduler = LatestWins()
    started, stopped = [], []

    async def work(name):
        started.append(name)
        try:
            await asyncio.sleep(1)
        except asyncio.CancelledError:
            stopped.append(name)
            raise
        return name

    first = asyncio.create_task(scheduler.run("doc", 0, lambda: work("first")))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(scheduler.run("doc", 0, lambda: work("second")))
    other = asyncio.create_task(scheduler.run("other-doc", 0, lambda: work("other")))
    with pytest.raises(Superseded):
        await first
    assert await second == "second" and await other == "other"
    assert stopped == ["first"] and scheduler.superseded == 1


@pytest.mark.asyncio
async def test_a_burst_during_the_debounce_runs_the_work_once():
    scheduler = LatestWins()
    calls = []

    async def work(i):
        calls.append(i)
        return i

    tasks = [asyncio.create_task(scheduler.run("doc", 0.05, lambda i=i: work(i))) for i in range(5)]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert calls == [4]
    assert results[-1] == 4 and all(isinstance(r, Superseded) for r in results[:-1])


@pytest.mark.asyncio
async def test_cancelling_the_caller_cancels_the_work_and_is_not_superseded():
    scheduler = LatestWins()
    stopped = asyncio.Event()

    async def work():
        try:
            await asyncio.sleep(5)
        finally:
            stopped.set()

    caller = asyncio.create_task(scheduler.run("doc", 0, work))
    await asyncio.sleep(0.05)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert stopped.is_set() and scheduler.superseded == 0
