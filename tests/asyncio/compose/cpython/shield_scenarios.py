# The one-worker shield scenarios of tests/asyncio/compose/test_shield.cpp, in asyncio (run with
# python3.11 in this folder); each prints the log the C++ test expects.
import asyncio

from vtime import at, name_of, outcome, run


async def slow(log, value=42, delay=2):
    try:
        await asyncio.sleep(delay)
    except asyncio.CancelledError:
        log.append(at("inner cancelled"))
        raise
    log.append(at("inner finished"))
    return value


async def caller_cancelled_inner_keeps_running():
    log = []
    inner = asyncio.create_task(slow(log))

    async def caller():
        try:
            return await asyncio.shield(inner)
        except asyncio.CancelledError:
            log.append(at("caller CancelledError"))
            raise

    c = asyncio.create_task(caller())
    await asyncio.sleep(1)
    c.cancel()
    try:
        await c
    except asyncio.CancelledError:
        log.append(at(f"caller {outcome(c)}, inner done: {inner.done()}"))
    log.append(at(f"inner result {await inner}, {outcome(inner)}"))
    print("caller_cancelled_inner_keeps_running:", log)


async def shielded_coroutine_runs_in_its_own_task():
    log = []

    async def caller():
        return await asyncio.shield(slow(log, 7))

    c = asyncio.create_task(caller())
    await asyncio.sleep(1)
    c.cancel()
    await asyncio.sleep(0)
    log.append(at(f"caller {outcome(c)}"))
    await asyncio.sleep(2)
    print("shielded_coroutine_runs_in_its_own_task:", log)


async def cancelling_inner_cancels_shield():
    log = []
    inner = asyncio.create_task(slow(log))

    async def caller():
        try:
            return await asyncio.shield(inner)
        except asyncio.CancelledError:
            log.append(at("caller CancelledError"))
            raise

    c = asyncio.create_task(caller())
    await asyncio.sleep(1)
    inner.cancel()
    await asyncio.sleep(0.5)
    log.append(f"caller {outcome(c)}, inner {outcome(inner)}")
    print("cancelling_inner_cancels_shield:", log)


async def shield_of_done_task():
    log = []
    inner = asyncio.create_task(slow(log, 5, 1))
    await inner
    log.append(at(f"shielded result {await asyncio.shield(inner)}"))

    async def fail():
        raise ValueError("boom")

    failed = asyncio.create_task(fail())
    await asyncio.sleep(0)
    try:
        await asyncio.shield(failed)
    except ValueError as e:
        log.append(at(f"shielded failure {name_of(e)}"))
    print("shield_of_done_task:", log)


async def inner_exception_propagates():
    log = []

    async def fail():
        await asyncio.sleep(1)
        raise ValueError("boom")

    try:
        await asyncio.shield(fail())
    except ValueError as e:
        log.append(at(f"caught {name_of(e)}"))
    print("inner_exception_propagates:", log)


async def suppressed_cancellation_pattern():
    log = []
    inner = asyncio.create_task(slow(log))

    async def caller():
        try:
            res = await asyncio.shield(inner)
        except asyncio.CancelledError:
            res = None
        log.append(at(f"caller res={res}"))
        return res

    c = asyncio.create_task(caller())
    await asyncio.sleep(1)
    c.cancel()
    log.append(at(f"caller returned {await c}"))
    log.append(at(f"inner {await inner}"))
    print("suppressed_cancellation_pattern:", log)


if __name__ == "__main__":
    for scenario in [caller_cancelled_inner_keeps_running,
                     shielded_coroutine_runs_in_its_own_task, cancelling_inner_cancels_shield,
                     shield_of_done_task, inner_exception_propagates,
                     suppressed_cancellation_pattern]:
        run(scenario())
