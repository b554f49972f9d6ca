# The single-worker Barrier scenarios of tests/asyncio/sync/test_barrier.cpp, in asyncio.
import asyncio


async def phases():
    barrier, log = asyncio.Barrier(3), []

    async def party(name, delay):
        for phase in range(2):
            await asyncio.sleep(delay)
            log.append(f"{name} arrives phase {phase} (waiting {barrier.n_waiting})")
            index = await barrier.wait()
            log.append(f"{name} passes phase {phase} with index {index}")

    tasks = [asyncio.create_task(party(n, d)) for n, d in (("a", 1), ("b", 2), ("c", 3))]
    await asyncio.gather(*tasks)
    log.append(repr(barrier).split("[")[1])
    print("phases:", log)


async def abort():
    barrier, log = asyncio.Barrier(3), []

    async def party(name):
        try:
            await barrier.wait()
            log.append(f"{name} passed")
        except asyncio.BrokenBarrierError as e:
            log.append(f"{name}: {e}")

    tasks = [asyncio.create_task(party(n)) for n in "ab"]
    await asyncio.sleep(0)
    log.append(f"before abort: {repr(barrier).split('[')[1]} broken={barrier.broken}")
    await barrier.abort()
    await asyncio.gather(*tasks)
    log.append(f"after abort: {repr(barrier).split('[')[1]} broken={barrier.broken}")
    await party("late")
    await barrier.reset()
    log.append(f"after reset: {repr(barrier).split('[')[1]} broken={barrier.broken}")
    tasks = [asyncio.create_task(party(n)) for n in "xyz"]
    await asyncio.gather(*tasks)
    print("abort:", log)


async def reset_while_waiting():
    barrier, log = asyncio.Barrier(2), []

    async def party(name):
        try:
            index = await barrier.wait()
            log.append(f"{name} passed with {index}")
        except asyncio.BrokenBarrierError as e:
            log.append(f"{name}: {e}")

    a = asyncio.create_task(party("a"))
    await asyncio.sleep(0)
    log.append(f"waiting: {barrier.n_waiting}")
    await barrier.reset()
    log.append(f"after reset: {repr(barrier).split('[')[1]}")
    await a
    log.append(f"after a left: {repr(barrier).split('[')[1]}")
    tasks = [asyncio.create_task(party(n)) for n in "bc"]
    await asyncio.gather(*tasks)
    print("reset_while_waiting:", log)


async def cancelled_party():
    barrier, log = asyncio.Barrier(2), []

    async def party(name):
        try:
            index = await barrier.wait()
            log.append(f"{name} passed with {index}")
        except asyncio.CancelledError:
            log.append(f"{name} cancelled")
            raise

    a = asyncio.create_task(party("a"))
    await asyncio.sleep(0)
    a.cancel()
    await asyncio.gather(a, return_exceptions=True)
    log.append(f"after cancel: {repr(barrier).split('[')[1]}")
    tasks = [asyncio.create_task(party(n)) for n in "bc"]
    await asyncio.gather(*tasks)
    print("cancelled_party:", log)


async def errors():
    try:
        asyncio.Barrier(0)
    except ValueError as e:
        print("errors:", repr(e))
    print("errors: parties", asyncio.Barrier(4).parties)


for scenario in (phases, abort, reset_while_waiting, cancelled_party, errors):
    asyncio.run(scenario())
