# The single-worker Queue scenarios of tests/asyncio/sync/test_queue.cpp, in asyncio.
import asyncio


async def bounded_put_blocks():
    q, log = asyncio.Queue(2), []

    async def producer():
        for i in range(5):
            await q.put(i)
            log.append(f"put {i} (qsize {q.qsize()}, full {q.full()})")

    async def consumer():
        for _ in range(5):
            await asyncio.sleep(1)
            log.append(f"got {await q.get()}")
            q.task_done()

    await asyncio.gather(producer(), consumer())
    log.append(f"empty {q.empty()}")
    print("bounded_put_blocks:", log)


async def nowait_errors():
    q = asyncio.Queue(1)
    try:
        q.get_nowait()
    except asyncio.QueueEmpty as e:
        print("nowait_errors: QueueEmpty", repr(e))
    q.put_nowait("x")
    try:
        q.put_nowait("y")
    except asyncio.QueueFull as e:
        print("nowait_errors: QueueFull", repr(e))
    print("nowait_errors:", q.get_nowait())
    try:
        q.task_done()
        q.task_done()
    except ValueError as e:
        print("nowait_errors:", repr(e))
    print("nowait_errors:", asyncio.Queue().full(), asyncio.Queue(-3).full(), asyncio.Queue(-3).maxsize)


async def join_waits_for_task_done():
    q, log = asyncio.Queue(), []

    async def worker(name):
        while True:
            item = await q.get()
            await asyncio.sleep(item)
            log.append(f"{name} done {item}")
            q.task_done()

    for item in (3, 1, 2):
        q.put_nowait(item)
    workers = [asyncio.create_task(worker(n)) for n in "ab"]
    await q.join()
    log.append(f"joined at {asyncio.get_running_loop().time() - start:.0f}")
    for w in workers:
        w.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    print("join_waits_for_task_done:", log)


async def lifo_and_priority():
    lq, pq = asyncio.LifoQueue(), asyncio.PriorityQueue()
    for i in (1, 2, 3):
        lq.put_nowait(i)
    for i in (5, 1, 4, 2, 3):
        pq.put_nowait(i)
    print("lifo_and_priority:", [lq.get_nowait() for _ in range(3)],
          [pq.get_nowait() for _ in range(5)])


async def getters_fifo_and_cancel_after_put():
    q, log = asyncio.Queue(), []

    async def getter(name):
        try:
            log.append(f"{name} got {await q.get()}")
        except asyncio.CancelledError:
            log.append(f"{name} cancelled")
            raise

    tasks = [asyncio.create_task(getter(n)) for n in "abc"]
    await asyncio.sleep(0)
    q.put_nowait(1)  # wakes a...
    tasks[0].cancel()  # ...which is cancelled before it runs: b must get the item
    q.put_nowait(2)  # wakes c (b was already woken)
    await asyncio.gather(*tasks, return_exceptions=True)
    log.append(f"qsize {q.qsize()}")
    print("getters_fifo_and_cancel_after_put:", log)


async def putters_fifo_and_cancel_after_get():
    q, log = asyncio.Queue(1), []

    async def putter(name, item):
        try:
            await q.put(item)
            log.append(f"{name} put {item}")
        except asyncio.CancelledError:
            log.append(f"{name} cancelled")
            raise

    q.put_nowait(0)
    tasks = [asyncio.create_task(putter(n, i)) for n, i in (("a", 1), ("b", 2), ("c", 3))]
    await asyncio.sleep(0)
    log.append(f"got {q.get_nowait()}")  # wakes a...
    tasks[0].cancel()  # ...which is cancelled before it runs: b must get the slot
    await asyncio.sleep(1)
    log.append(f"got {q.get_nowait()}")
    await asyncio.sleep(1)
    log.append(f"got {q.get_nowait()}")
    await asyncio.gather(*tasks, return_exceptions=True)
    print("putters_fifo_and_cancel_after_get:", log)


start = 0


async def main():
    global start
    for scenario in (bounded_put_blocks, nowait_errors, lifo_and_priority,
                     getters_fifo_and_cancel_after_put, putters_fifo_and_cancel_after_get):
        await scenario()
    start = asyncio.get_running_loop().time()
    await join_waits_for_task_done()

asyncio.run(main())
