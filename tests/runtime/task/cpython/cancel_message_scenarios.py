# Two cancel() calls on a waiting task: the coroutine sees the first message (asyncio 3.11+). The
# scenarios of test_cancel.cpp's FirstCancelMessageWins tests; run with python3.13 in this folder
# (cancel_message_scenarios.out is what 3.13.0 printed).
import asyncio
import os
import sys

# The virtual-time loop shared with the compose scenarios.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                "asyncio", "compose", "cpython"))
from vtime import run  # noqa: E402


async def body(wait):
    try:
        await wait()
    except asyncio.CancelledError as e:
        print("coroutine saw:", e.args)
        raise


async def two_cancels(what, wait):
    t = asyncio.ensure_future(body(wait))
    await asyncio.sleep(0)  # t waits now
    print(what, "cancel first:", t.cancel("first"), "cancel second:", t.cancel("second"))
    try:
        await t
    except asyncio.CancelledError as e:
        print(what, "awaiting the task raised:", e.args, "cancelling:", t.cancelling())


async def main():
    await two_cancels("sleep", lambda: asyncio.sleep(10))
    fut = asyncio.get_running_loop().create_future()
    await two_cancels("future", lambda: fut)
    print("the awaited future:", fut.cancelled())

    # Not yet started: both requests land before the first step, and the last message is kept.
    t = asyncio.ensure_future(body(lambda: asyncio.sleep(10)))
    print("unstarted cancel first:", t.cancel("first"), "cancel second:", t.cancel("second"))
    try:
        await t
    except asyncio.CancelledError as e:
        print("unstarted: awaiting the task raised:", e.args)


if __name__ == "__main__":
    run(main())
