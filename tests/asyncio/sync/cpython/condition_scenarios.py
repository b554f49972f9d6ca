# The single-worker Condition scenarios of tests/asyncio/sync/test_condition.cpp, in asyncio.
import asyncio


async def notify_in_fifo_order():
    cond, log = asyncio.Condition(), []

    async def waiter(name):
        async with cond:
            log.append(f"{name} waits")
            await cond.wait()
            log.append(f"{name} notified")

    tasks = [asyncio.create_task(waiter(n)) for n in "abcd"]
    await asyncio.sleep(0)
    async with cond:
        log.append(repr(cond).split("[")[1])
        cond.notify(2)
        log.append("notified 2")
    await asyncio.sleep(0)
    async with cond:
        cond.notify_all()
        log.append("notified all")
    await asyncio.gather(*tasks)
    print("notify_in_fifo_order:", log)


async def wait_for_predicate():
    cond, log, items = asyncio.Condition(), [], []

    async def consumer(name):
        async with cond:
            got = await cond.wait_for(lambda: len(items) >= 2)
            log.append(f"{name} sees {len(items)} items, predicate returned {got}")

    tasks = [asyncio.create_task(consumer(n)) for n in "ab"]
    for i in range(3):
        await asyncio.sleep(1)
        async with cond:
            items.append(i)
            log.append(f"put {i}")
            cond.notify_all()
    await asyncio.gather(*tasks)
    print("wait_for_predicate:", log)


async def cancelled_waiter_reacquires():
    cond, log = asyncio.Condition(), []

    async def waiter():
        async with cond:
            try:
                await cond.wait()
            except asyncio.CancelledError:
                log.append(f"cancelled, holds the lock: {cond.locked()}")
                raise

    t = asyncio.create_task(waiter())
    await asyncio.sleep(0)
    await cond.acquire()
    t.cancel()
    await asyncio.sleep(1)
    log.append(f"still waiting for the lock: {not t.done()}")
    cond.release()
    try:
        await t
    except asyncio.CancelledError:
        log.append("task cancelled")
    log.append(f"locked at end: {cond.locked()}")
    print("cancelled_waiter_reacquires:", log)


async def errors():
    cond = asyncio.Condition()
    try:
        await cond.wait()
    except RuntimeError as e:
        print("errors:", repr(e))
    try:
        cond.notify()
    except RuntimeError as e:
        print("errors:", repr(e))
    try:
        cond.notify_all()
    except RuntimeError as e:
        print("errors:", repr(e))


async def notified_then_cancelled():
    # 3.11 loses this notification: b keeps waiting. CPython 3.13 (gh-112202) passes it on to
    # b, and weft does as 3.13 does.
    cond, log = asyncio.Condition(), []

    async def waiter(name):
        async with cond:
            try:
                await cond.wait()
                log.append(f"{name} notified")
            except asyncio.CancelledError:
                log.append(f"{name} cancelled")
                raise

    a = asyncio.create_task(waiter("a"))
    b = asyncio.create_task(waiter("b"))
    await asyncio.sleep(0)
    async with cond:
        cond.notify(1)  # a is notified...
        a.cancel()      # ...and cancelled before it runs
    await asyncio.sleep(1)
    log.append(f"b done: {b.done()}")
    b.cancel()
    await asyncio.gather(a, b, return_exceptions=True)
    print("notified_then_cancelled:", log)


for scenario in (notified_then_cancelled, notify_in_fifo_order, wait_for_predicate, cancelled_waiter_reacquires, errors):
    asyncio.run(scenario())
