# The single-worker Lock scenarios of tests/asyncio/sync/test_lock.cpp, in asyncio: run with
# python3.11 and compare with the expected logs there.
import asyncio


async def fifo():
    lock, log = asyncio.Lock(), []

    async def worker(name, hold):
        async with lock:
            log.append(f"{name} in")
            await asyncio.sleep(hold)
            log.append(f"{name} out")

    await lock.acquire()
    tasks = [asyncio.create_task(worker(n, 0.1)) for n in "abcd"]
    await asyncio.sleep(0)
    log.append(f"waiters queued locked={lock.locked()}")
    lock.release()
    await asyncio.gather(*tasks)
    print("fifo:", log)


async def cancel_after_release():
    lock, log = asyncio.Lock(), []

    async def worker(name):
        try:
            await lock.acquire()
        except asyncio.CancelledError:
            log.append(f"{name} cancelled")
            raise
        log.append(f"{name} got it")
        lock.release()

    await lock.acquire()
    a = asyncio.create_task(worker("a"))
    b = asyncio.create_task(worker("b"))
    await asyncio.sleep(0)
    lock.release()  # wakes a ...
    a.cancel()      # ... which is cancelled before it runs: b must get the lock
    await asyncio.gather(a, b, return_exceptions=True)
    print("cancel_after_release:", log, "locked:", lock.locked())


async def cancel_while_waiting():
    lock, log = asyncio.Lock(), []

    async def worker(name):
        try:
            async with lock:
                log.append(f"{name} got it")
        except asyncio.CancelledError:
            log.append(f"{name} cancelled")
            raise

    await lock.acquire()
    tasks = [asyncio.create_task(worker(n)) for n in "abc"]
    await asyncio.sleep(0)
    tasks[1].cancel()
    await asyncio.sleep(0)
    log.append(repr(lock).split("[")[1])
    lock.release()
    await asyncio.gather(*tasks, return_exceptions=True)
    print("cancel_while_waiting:", log)


async def errors():
    lock = asyncio.Lock()
    try:
        lock.release()
    except RuntimeError as e:
        print("errors:", repr(e))


for scenario in (fifo, cancel_after_release, cancel_while_waiting, errors):
    asyncio.run(scenario())


async def no_barging():
    lock, log = asyncio.Lock(), []

    async def worker():
        async with lock:
            log.append("a got it")

    await lock.acquire()
    a = asyncio.create_task(worker())
    await asyncio.sleep(0)
    lock.release()          # wakes a, which has not run yet
    await lock.acquire()    # so main queues behind it
    log.append("main got it")
    lock.release()
    await a
    print("no_barging:", log)


asyncio.run(no_barging())
