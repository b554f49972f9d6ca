# The one-worker gather scenarios of tests/asyncio/compose/test_gather.cpp, in asyncio (run with
# python3.11 in this folder); each prints the log the C++ test expects.
import asyncio
import gc
import logging

from vtime import at, name_of, outcome, run


async def after(log, name, delay, value):
    log.append(at(f"{name} start"))
    await asyncio.sleep(delay)
    log.append(at(f"{name} end"))
    return value


async def coroutines_are_wrapped_in_tasks():
    log = []
    main = asyncio.current_task()

    async def child(name):
        log.append(f"{name} in own task: {asyncio.current_task() is not main}")
        await asyncio.sleep(1)
        return name

    r = await asyncio.gather(child("a"), child("b"))
    log.append(at(f"gathered {r}"))
    print("coroutines_are_wrapped_in_tasks:", log)


async def tuple_in_argument_order():
    log = []
    a, b, c = await asyncio.gather(after(log, "a", 3, 1), after(log, "b", 1, "two"),
                                   after(log, "c", 2, 3.5))
    log.append(at(f"results {a} {b} {c}"))
    print("tuple_in_argument_order:", log)


async def range_in_argument_order():
    log = []
    tasks = [asyncio.create_task(after(log, str(i), d, i)) for i, d in enumerate([3, 1, 2])]
    r = await asyncio.gather(*tasks)
    log.append(at(f"results {r}"))
    print("range_in_argument_order:", log)


async def empty_range():
    r = await asyncio.gather(*[])
    print("empty_range:", [at(f"returned {r}")])


async def first_exception_propagates():
    log = []

    async def fail():
        await asyncio.sleep(1)
        raise ValueError("boom")

    b = asyncio.create_task(after(log, "b", 2, 2))
    c = asyncio.create_task(after(log, "c", 3, 3))
    try:
        await asyncio.gather(b, c, fail())
    except ValueError as e:
        log.append(at(f"caught {name_of(e)}"))
    log.append(f"b done: {b.done()}, c done: {c.done()}")
    log.append(at(f"b {await b}, c {await c}"))
    log.append(f"b {outcome(b)}, c {outcome(c)}")
    print("first_exception_propagates:", log)


async def later_exceptions_are_retrieved():
    log = []
    records = []

    class H(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    logging.getLogger("asyncio").addHandler(H())

    async def fail(name, delay):
        await asyncio.sleep(delay)
        raise ValueError(name)

    try:
        await asyncio.gather(fail("first", 1), fail("second", 2))
    except ValueError as e:
        log.append(at(f"caught {name_of(e)}"))
    await asyncio.sleep(2)
    gc.collect()
    log.append(f"reports: {len(records)}")
    print("later_exceptions_are_retrieved:", log)


async def return_exceptions():
    log = []

    async def fail():
        await asyncio.sleep(1)
        raise ValueError("boom")

    victim = asyncio.create_task(after(log, "victim", 5, 0))
    asyncio.get_running_loop().call_later(2, victim.cancel)
    r = await asyncio.gather(after(log, "a", 3, 1), fail(), victim, return_exceptions=True)
    log.append(at(", ".join(name_of(x) if isinstance(x, BaseException) else f"value {x}"
                            for x in r)))
    print("return_exceptions:", log)


async def cancelling_the_awaiter_cancels_children():
    log = []

    async def child(name, delay):
        try:
            await asyncio.sleep(delay)
            log.append(at(f"{name} done"))
        except asyncio.CancelledError:
            log.append(at(f"{name} cancelled"))
            raise

    a = asyncio.create_task(child("a", 1))
    b = asyncio.create_task(child("b", 10))
    c = asyncio.create_task(child("c", 10))

    async def awaiter():
        try:
            await asyncio.gather(a, b, c)
        except asyncio.CancelledError:
            log.append(at("awaiter cancelled"))
            raise

    w = asyncio.create_task(awaiter())
    await asyncio.sleep(2)
    w.cancel()
    await asyncio.sleep(0.5)
    log.append(f"a {outcome(a)}, b {outcome(b)}, c {outcome(c)}, awaiter {outcome(w)}")
    print("cancelling_the_awaiter_cancels_children:", log)


async def cancelled_child_does_not_cancel_gather():
    log = []
    a = asyncio.create_task(after(log, "a", 1, 1))
    b = asyncio.create_task(after(log, "b", 10, 2))
    c = asyncio.create_task(after(log, "c", 3, 3))

    async def awaiter():
        try:
            await asyncio.gather(a, b, c)
        except asyncio.CancelledError:
            log.append(at(f"awaiter got CancelledError, cancelling={asyncio.current_task().cancelling()}"))
            return "survived"

    w = asyncio.create_task(awaiter())
    await asyncio.sleep(2)
    b.cancel()
    log.append(at(f"awaiter {await w}"))
    await asyncio.sleep(2)
    log.append(f"a {outcome(a)}, b {outcome(b)}, c {outcome(c)}")
    print("cancelled_child_does_not_cancel_gather:", log)


async def gather_cancel_propagates_despite_return_exceptions():
    log = []

    async def child(name, swallow):
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            log.append(at(f"{name} cancelled"))
            if swallow:
                return name
            raise

    async def awaiter():
        try:
            r = await asyncio.gather(child("a", False), child("b", True), return_exceptions=True)
            log.append(f"awaiter got {r}")
        except asyncio.CancelledError:
            log.append(at("awaiter CancelledError"))
            raise

    w = asyncio.create_task(awaiter())
    await asyncio.sleep(1)
    w.cancel()
    try:
        await w
    except asyncio.CancelledError:
        pass
    log.append(f"awaiter {outcome(w)}")
    print("gather_cancel_propagates_despite_return_exceptions:", log)


async def same_task_twice():
    log = []
    t = asyncio.create_task(after(log, "t", 1, 7))
    u = asyncio.create_task(after(log, "u", 2, 8))
    r = await asyncio.gather(t, u, t)
    log.append(at(f"results {r}"))
    print("same_task_twice:", log)


async def awaiter_cancelled_after_every_child_ended():
    # The gather cannot cancel a child (all ended; its callbacks are still queued): the awaiter
    # keeps waiting for it, then raises CancelledError; nothing is left unretrieved.
    log = []
    records = []

    class H(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    logging.getLogger("asyncio").addHandler(H())

    async def fail():
        raise ValueError("boom")

    async def awaiter(a):
        return await asyncio.gather(a)

    a = asyncio.create_task(fail())
    w = asyncio.create_task(awaiter(a))
    await asyncio.sleep(0)
    log.append(f"a done: {a.done()}, w done: {w.done()}")
    log.append(f"cancel accepted: {w.cancel()}")
    try:
        await w
    except asyncio.CancelledError:
        log.append("awaiter CancelledError")
    log.append(f"a {outcome(a)}, w {outcome(w)}")
    del a, w
    gc.collect()
    log.append(f"reports: {len(records)}")
    print("awaiter_cancelled_after_every_child_ended:", log)


if __name__ == "__main__":
    for scenario in [coroutines_are_wrapped_in_tasks, tuple_in_argument_order,
                     range_in_argument_order, empty_range, first_exception_propagates,
                     later_exceptions_are_retrieved, return_exceptions,
                     cancelling_the_awaiter_cancels_children,
                     cancelled_child_does_not_cancel_gather,
                     gather_cancel_propagates_despite_return_exceptions, same_task_twice,
                     awaiter_cancelled_after_every_child_ended]:
        run(scenario())
