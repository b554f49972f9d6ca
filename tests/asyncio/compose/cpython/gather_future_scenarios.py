# gather() as a future (asyncio's _GatheringFuture): held, awaited later, cancelled, inspected.
# The scenarios of test_gather.cpp's GatherFuture tests; run with python3.13 in this folder. The output
# it printed is gather_future_scenarios.out.
import asyncio

from vtime import at, run


async def after(delay, value):
    await asyncio.sleep(delay)
    return value


async def held_and_awaited_later():
    g = asyncio.gather(after(1, "a"), after(2, "b"))
    print("pending:", g.done(), g.cancelled())
    await asyncio.sleep(3)
    print("done before the await:", g.done(), g.cancelled(), g.exception(), g.result())
    print(at(f"awaited: {await g}"))


async def cancel_while_children_run():
    a = asyncio.ensure_future(after(1, "a"))
    b = asyncio.ensure_future(after(2, "b"))
    g = asyncio.gather(a, b)
    await asyncio.sleep(0)
    print("cancel:", g.cancel("stop"))
    try:
        await g
    except asyncio.CancelledError as e:
        print(at(f"await raised CancelledError{e.args}"))
    print("children cancelled:", a.cancelled(), b.cancelled())
    print("gather done:", g.done(), "cancelled:", g.cancelled(),
          "exception:", repr(g.exception()))
    print("cancel once done:", g.cancel())


async def a_cancelled_child_finishes_the_gather():
    a = asyncio.ensure_future(after(1, "a"))
    b = asyncio.ensure_future(after(2, "b"))
    g = asyncio.gather(a, b)
    await asyncio.sleep(0)
    a.cancel("child")
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    print("done:", g.done(), "cancelled:", g.cancelled(), "exception:", repr(g.exception()))
    print("b still running:", not b.done())
    print(at(f"b: {await b}"))


async def return_exceptions_gives_outcomes():
    async def fail():
        await asyncio.sleep(1)
        raise ValueError("boom")
    g = asyncio.gather(after(2, "a"), fail(), return_exceptions=True)
    await g
    print(at(f"result: {[repr(r) for r in g.result()]}"))


async def shield_of_a_gather():
    a = asyncio.ensure_future(after(1, "a"))
    b = asyncio.ensure_future(after(2, "b"))
    g = asyncio.gather(a, b)

    async def waiter():
        return await asyncio.shield(g)
    w = asyncio.ensure_future(waiter())
    await asyncio.sleep(0)
    w.cancel()
    try:
        await w
    except asyncio.CancelledError:
        print(at("waiter cancelled"))
    print(at(f"gather still runs: {not g.done()}; gathered {await g}"))


async def gather_of_shields():
    a = asyncio.ensure_future(after(1, "a"))
    b = asyncio.ensure_future(after(2, "b"))
    g = asyncio.gather(asyncio.shield(a), asyncio.shield(b))
    await asyncio.sleep(0)
    print("cancel:", g.cancel())
    try:
        await g
    except asyncio.CancelledError:
        print(at("gather raised CancelledError"))
    print(at(f"the shielded children run on: {await a}, {await b}"))


if __name__ == "__main__":
    for scenario in [held_and_awaited_later, cancel_while_children_run,
                     a_cancelled_child_finishes_the_gather, return_exceptions_gives_outcomes,
                     shield_of_a_gather, gather_of_shields]:
        print(f"-- {scenario.__name__}")
        run(scenario())
