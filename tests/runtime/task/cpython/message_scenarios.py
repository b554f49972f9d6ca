# asyncio's messages, which weft's begin with (weft's advice follows them); and
# concurrent.futures.CancelledError apart from asyncio.CancelledError. Run with python3.13 in this
# folder (message_scenarios.out is what 3.13.0 printed).
import asyncio
import os
import sys
import concurrent.futures
import threading
import time

# The virtual-time loop shared with the compose scenarios.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                "asyncio", "compose", "cpython"))
from vtime import run  # noqa: E402


def show(what, fn):
    try:
        fn()
    except BaseException as e:
        print(f"{what}: {type(e).__module__}.{type(e).__name__}: {e}")


async def inside():
    fut = asyncio.get_running_loop().create_future()
    show("result() of a pending future", fut.result)
    show("exception() of a pending future", fut.exception)
    fut.set_result(1)
    show("set_result() twice", lambda: fut.set_result(2))
    coro = asyncio.sleep(0)
    show("asyncio.run() inside a loop", lambda: asyncio.run(coro))
    coro.close()


def outside():
    show("get_running_loop() outside", asyncio.get_running_loop)


def concurrent_cancelled():
    loop = asyncio.new_event_loop()
    started = threading.Event()

    async def forever():
        started.set()
        await asyncio.sleep(3600)
    t = threading.Thread(target=loop.run_forever)
    t.start()
    f = asyncio.run_coroutine_threadsafe(forever(), loop)
    started.wait()
    f.cancel()
    try:
        f.result()
    except BaseException as e:
        print("concurrent result() of a cancelled submission:", type(e).__module__ + "." + type(e).__qualname__,
              "| is asyncio.CancelledError:", type(e) is asyncio.CancelledError)
    print("concurrent.futures.CancelledError is asyncio.CancelledError:",
          concurrent.futures.CancelledError is asyncio.CancelledError)
    print("concurrent.futures.CancelledError is an Exception:",
          issubclass(concurrent.futures.CancelledError, Exception),
          "| asyncio.CancelledError is an Exception:",
          issubclass(asyncio.CancelledError, Exception))
    time.sleep(0.1)  # let the loop deliver the cancellation to the task
    loop.call_soon_threadsafe(loop.stop)
    t.join()
    loop.close()


if __name__ == "__main__":
    run(inside())
    outside()
    concurrent_cancelled()
