# The one-worker wait() scenarios of tests/asyncio/compose/test_wait.cpp, in asyncio (run with
# python3.11 in this folder); each prints the log the C++ test expects. Sets are printed sorted
# by task name.
import asyncio

from vtime import at, name_of, outcome, run


async def after(delay, value, fail=False):
    await asyncio.sleep(delay)
    if fail:
        raise ValueError(value)
    return value


def make(specs):
    return {name: asyncio.create_task(after(*spec), name=name) for name, spec in specs.items()}


def names(fs):
    return "{" + ", ".join(sorted(f.get_name() for f in fs)) + "}"


async def show(log, aws, **kw):
    done, pending = await asyncio.wait(aws, **kw)
    log.append(at(f"done {names(done)} pending {names(pending)}"))
    return done, pending


async def all_completed():
    log = []
    t = make({"a": (3, 1), "b": (1, 2), "c": (2, 3)})
    await show(log, t.values())
    print("all_completed:", log)


async def first_completed():
    log = []
    t = make({"a": (3, 1), "b": (1, 2), "c": (2, 3)})
    await show(log, t.values(), return_when=asyncio.FIRST_COMPLETED)
    print("first_completed:", log)


async def first_completed_counts_cancellation():
    log = []
    t = make({"a": (3, 1), "b": (2, 2)})
    asyncio.get_running_loop().call_later(1, t["b"].cancel)
    await show(log, t.values(), return_when=asyncio.FIRST_COMPLETED)
    log.append(f"b {outcome(t['b'])}")
    print("first_completed_counts_cancellation:", log)


async def first_exception():
    log = []
    t = make({"a": (3, 1), "b": (1, "boom", True), "c": (2, 3)})
    await show(log, t.values(), return_when=asyncio.FIRST_EXCEPTION)
    print("first_exception:", log)


async def first_exception_without_exception():
    log = []
    t = make({"a": (3, 1), "b": (1, 2), "c": (2, 3)})
    asyncio.get_running_loop().call_later(1.5, t["c"].cancel)
    await show(log, t.values(), return_when=asyncio.FIRST_EXCEPTION)
    print("first_exception_without_exception:", log)


async def timeout_never_cancels():
    log = []
    t = make({"a": (2, 1), "b": (3, 2)})
    await show(log, t.values(), timeout=1)
    log.append(at(f"a {await t['a']} {outcome(t['a'])}, b {await t['b']} {outcome(t['b'])}"))
    print("timeout_never_cancels:", log)


async def cancelled_waiter_cancels_nothing():
    log = []
    t = make({"a": (2, 1)})
    w = asyncio.create_task(asyncio.wait(t.values()))
    await asyncio.sleep(1)
    w.cancel()
    await asyncio.sleep(0)
    log.append(at(f"waiter {outcome(w)}, a done: {t['a'].done()}"))
    log.append(at(f"a {await t['a']}"))
    print("cancelled_waiter_cancels_nothing:", log)


async def empty_set():
    log = []
    try:
        await asyncio.wait(set())
    except ValueError as e:
        log.append(name_of(e))
    print("empty_set:", log)


async def duplicates_collapse():
    log = []
    t = make({"a": (1, 1), "b": (2, 2)})
    done, pending = await show(log, [t["a"], t["b"], t["a"]])
    log.append(f"{len(done)} done")
    print("duplicates_collapse:", log)


async def futures_too():
    log = []
    loop = asyncio.get_running_loop()
    f = loop.create_future()
    g = loop.create_future()
    loop.call_later(1, f.set_result, 5)
    done, pending = await asyncio.wait([f, g], return_when=asyncio.FIRST_COMPLETED)
    log.append(at(f"f in done: {f in done}, g in pending: {g in pending}, f {f.result()}"))
    print("futures_too:", log)


async def already_done():
    log = []
    t = make({"a": (0, 1), "b": (5, 2)})
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    await show(log, t.values(), return_when=asyncio.FIRST_COMPLETED)
    print("already_done:", log)


if __name__ == "__main__":
    for scenario in [all_completed, first_completed, first_completed_counts_cancellation,
                     first_exception, first_exception_without_exception,
                     timeout_never_cancels, cancelled_waiter_cancels_nothing, empty_set,
                     duplicates_collapse, futures_too, already_done]:
        run(scenario())
