# The single-worker Semaphore scenarios of tests/asyncio/sync/test_semaphore.cpp, in asyncio.
import asyncio


async def fifo_and_limit():
    sem, log = asyncio.Semaphore(2), []

    async def worker(name, hold):
        async with sem:
            log.append(f"{name} in")
            await asyncio.sleep(hold)
            log.append(f"{name} out")

    tasks = [asyncio.create_task(worker(n, h)) for n, h in zip("abcde", (3.5, 1, 1, 1, 1))]
    await asyncio.sleep(0)
    log.append(repr(sem).split("[")[1])
    await asyncio.gather(*tasks)
    log.append(repr(sem).split("[")[1])
    print("fifo_and_limit:", log)


async def cancel_after_release():
    sem, log = asyncio.Semaphore(0), []

    async def worker(name):
        try:
            await sem.acquire()
        except asyncio.CancelledError:
            log.append(f"{name} cancelled")
            raise
        log.append(f"{name} got a permit")

    a = asyncio.create_task(worker("a"))
    b = asyncio.create_task(worker("b"))
    await asyncio.sleep(0)
    sem.release()  # the permit goes to a...
    a.cancel()     # ...which is cancelled before it runs: b must get it
    await asyncio.gather(a, b, return_exceptions=True)
    log.append(f"value={sem._value} locked={sem.locked()}")
    print("cancel_after_release:", log)


async def newcomer_waits_its_turn():
    sem, log = asyncio.Semaphore(1), []

    async def worker(name):
        async with sem:
            log.append(f"{name} in")
            await asyncio.sleep(0)
            log.append(f"{name} out")

    await sem.acquire()
    a = asyncio.create_task(worker("a"))
    await asyncio.sleep(0)
    sem.release()  # a is woken, the permit is taken for it
    log.append(f"locked after release: {sem.locked()}")
    b = asyncio.create_task(worker("b"))
    await asyncio.gather(a, b)
    print("newcomer_waits_its_turn:", log)


async def errors():
    try:
        asyncio.Semaphore(-1)
    except ValueError as e:
        print("errors:", repr(e))
    sem = asyncio.BoundedSemaphore(2)
    await sem.acquire()
    sem.release()
    try:
        sem.release()
    except ValueError as e:
        print("errors:", repr(e))
    print("errors:", repr(sem).split("[")[1])
    sem2 = asyncio.Semaphore(1)
    sem2.release()
    sem2.release()
    print("errors:", repr(sem2).split("[")[1])


for scenario in (fifo_and_limit, cancel_after_release, newcomer_waits_its_turn, errors):
    asyncio.run(scenario())
