# The single-worker Event scenarios of tests/asyncio/sync/test_event.cpp, in asyncio.
import asyncio


async def set_wakes_all_in_order():
    ev, log = asyncio.Event(), []

    async def waiter(name):
        log.append(f"{name} waits")
        await ev.wait()
        log.append(f"{name} woke")

    tasks = [asyncio.create_task(waiter(n)) for n in "abc"]
    await asyncio.sleep(0)
    log.append(repr(ev).split("[")[1])
    ev.set()
    log.append("set")
    await asyncio.gather(*tasks)
    log.append(f"wait when set: {await ev.wait()}")
    ev.clear()
    log.append(f"cleared: is_set={ev.is_set()}")
    print("set_wakes_all_in_order:", log)


async def cancelled_waiter():
    ev, log = asyncio.Event(), []

    async def waiter(name):
        try:
            await ev.wait()
            log.append(f"{name} woke")
        except asyncio.CancelledError:
            log.append(f"{name} cancelled")
            raise

    tasks = [asyncio.create_task(waiter(n)) for n in "ab"]
    await asyncio.sleep(0)
    tasks[0].cancel()
    await asyncio.sleep(0)
    log.append(repr(ev).split("[")[1])
    ev.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    print("cancelled_waiter:", log)


async def clear_right_after_set():
    # set() then clear() before the waiter runs: it still wakes (its future was completed).
    ev, log = asyncio.Event(), []

    async def waiter():
        await ev.wait()
        log.append("woke")

    t = asyncio.create_task(waiter())
    await asyncio.sleep(0)
    ev.set()
    ev.clear()
    await t
    log.append(f"is_set={ev.is_set()}")
    print("clear_right_after_set:", log)


for scenario in (set_wakes_all_in_order, cancelled_waiter, clear_right_after_set):
    asyncio.run(scenario())
