# The one-worker as_completed scenarios of tests/asyncio/compose/test_as_completed.cpp, in
# asyncio (run with python3.11 in this folder); each prints the log the C++ test expects.
import asyncio

from vtime import at, name_of, outcome, run


async def after(delay, value, fail=False):
    await asyncio.sleep(delay)
    if fail:
        raise ValueError(str(value))
    return value


async def drain(log, aws, **kw):
    for next_one in asyncio.as_completed(aws, **kw):
        try:
            log.append(at(f"got {await next_one}"))
        except BaseException as e:
            log.append(at(f"caught {name_of(e)}"))


async def earliest_first():
    log = []
    tasks = [asyncio.create_task(after(d, d)) for d in (3, 1, 2)]
    await drain(log, tasks)
    print("earliest_first:", log)


async def timeout_first():
    log = []
    tasks = [asyncio.create_task(after(d, d)) for d in (1, 5, 4)]
    await drain(log, tasks, timeout=2)
    log.append(at(f"slow ones: {await tasks[1]} {outcome(tasks[1])}, {await tasks[2]} {outcome(tasks[2])}"))
    print("timeout_first:", log)


async def duplicates_once():
    log = []
    t = asyncio.create_task(after(1, 1))
    u = asyncio.create_task(after(2, 2))
    n = 0
    for next_one in asyncio.as_completed([t, u, t]):
        n += 1
        log.append(at(f"got {await next_one}"))
    log.append(f"{n} awaitables")
    print("duplicates_once:", log)


async def coroutines_become_tasks():
    log = []
    await drain(log, [after(2, "a"), after(1, "b")])
    print("coroutines_become_tasks:", log)


async def exceptions_in_completion_order():
    log = []
    tasks = [asyncio.create_task(after(2, 2)), asyncio.create_task(after(1, "boom", True)),
             asyncio.create_task(after(3, 3))]
    await drain(log, tasks)
    print("exceptions_in_completion_order:", log)


async def already_done():
    log = []
    done = asyncio.create_task(after(0, 1))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    later = asyncio.create_task(after(1, 3))
    await drain(log, [later, done])
    print("already_done:", log)


if __name__ == "__main__":
    for scenario in [earliest_first, timeout_first, duplicates_once, coroutines_become_tasks,
                     exceptions_in_completion_order, already_done]:
        run(scenario())
