# The one-worker wait_for scenarios of tests/asyncio/compose/test_wait_for.cpp, in asyncio (run
# with python3.11 in this folder); each prints the log the C++ test expects.
import asyncio

from vtime import at, name_of, outcome, run


async def inner(log, delay=10, value=1, cleanup=0, on_cancel="raise"):
    log.append(at("inner start"))
    try:
        await asyncio.sleep(delay)
    except asyncio.CancelledError:
        log.append(at("inner cancelled"))
        if cleanup:
            await asyncio.sleep(cleanup)
            log.append(at("inner cleanup done"))
        if on_cancel == "swallow":
            return -1
        if on_cancel == "fail":
            raise ValueError("during cancel")
        raise
    log.append(at("inner end"))
    return value


async def attempt(log, aw, timeout):
    try:
        log.append(at(f"got {await asyncio.wait_for(aw, timeout)}"))
    except BaseException as e:
        log.append(at(f"caught {name_of(e)}"))


async def value_in_time():
    log = []
    await attempt(log, inner(log, 1, 7), 2)
    print("value_in_time:", log)


async def timeout_cancels_inner():
    log = []
    t = asyncio.create_task(inner(log))
    await attempt(log, t, 1)
    log.append(f"inner {outcome(t)}")
    print("timeout_cancels_inner:", log)


async def cleanup_runs_before_timeout_error_task():
    log = []
    t = asyncio.create_task(inner(log, cleanup=0.5))
    await attempt(log, t, 1)
    log.append(f"inner {outcome(t)}")
    print("cleanup_runs_before_timeout_error_task:", log)


async def cleanup_runs_before_timeout_error_coroutine():
    log = []
    await attempt(log, inner(log, cleanup=0.5), 1)
    print("cleanup_runs_before_timeout_error_coroutine:", log)


async def exception_during_cancellation():
    log = []
    await attempt(log, inner(log, on_cancel="fail"), 1)
    print("exception_during_cancellation:", log)


async def cancelling_the_waiter_cancels_inner():
    log = []
    t = asyncio.create_task(inner(log))

    async def waiter():
        await attempt(log, t, 10)
        raise asyncio.CancelledError  # attempt() logged it; keep the task cancelled

    w = asyncio.create_task(waiter())
    await asyncio.sleep(1)
    w.cancel()
    await asyncio.sleep(0.5)
    log.append(f"inner {outcome(t)}, waiter {outcome(w)}")
    print("cancelling_the_waiter_cancels_inner:", log)


async def cancelling_the_waiter_cancels_inner_coroutine():
    log = []

    async def waiter():
        await attempt(log, inner(log, cleanup=0.5), 10)

    w = asyncio.create_task(waiter())
    await asyncio.sleep(1)
    w.cancel()
    await w
    log.append(at(f"waiter {outcome(w)}"))
    print("cancelling_the_waiter_cancels_inner_coroutine:", log)


async def none_waits_forever():
    log = []
    await attempt(log, inner(log, 3600, 1), None)
    await attempt(log, inner(log, 3600, 2), None)
    print("none_waits_forever:", log)


async def zero_timeout_on_done_task():
    log = []
    t = asyncio.create_task(inner(log, 1, 5))
    await t
    await attempt(log, t, 0)
    await attempt(log, t, -1)
    print("zero_timeout_on_done_task:", log)


async def zero_timeout_on_pending_task():
    log = []
    t = asyncio.create_task(inner(log, cleanup=0.5))
    await asyncio.sleep(0)
    await attempt(log, t, 0)
    log.append(f"inner {outcome(t)}")
    print("zero_timeout_on_pending_task:", log)


async def zero_timeout_on_coroutine():
    log = []
    await attempt(log, inner(log), 0)
    print("zero_timeout_on_coroutine:", log)


async def inner_swallowing_cancellation():
    log = []
    await attempt(log, inner(log, on_cancel="swallow"), 1)
    print("inner_swallowing_cancellation:", log)


async def chrono_duration():
    log = []
    await attempt(log, inner(log), 1.5)
    print("chrono_duration:", log)


async def nothing_back():
    log = []

    async def work():
        await asyncio.sleep(1)

    t = asyncio.create_task(work())
    log.append(at(f"task: {await asyncio.wait_for(t, 2)}"))
    log.append(at(f"done task, timeout 0: {await asyncio.wait_for(t, 0)}"))
    f = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_later(1, f.set_result, None)
    log.append(at(f"future: {await asyncio.wait_for(f, 2)}"))
    log.append(at(f"coroutine: {await asyncio.wait_for(work(), 2)}"))
    print("nothing_back:", log)


if __name__ == "__main__":
    for scenario in [value_in_time, timeout_cancels_inner,
                     cleanup_runs_before_timeout_error_task,
                     cleanup_runs_before_timeout_error_coroutine,
                     exception_during_cancellation, cancelling_the_waiter_cancels_inner,
                     cancelling_the_waiter_cancels_inner_coroutine, none_waits_forever,
                     zero_timeout_on_done_task, zero_timeout_on_pending_task,
                     zero_timeout_on_coroutine, inner_swallowing_cancellation,
                     chrono_duration, nothing_back]:
        run(scenario())
