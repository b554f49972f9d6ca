# Done callbacks and awaiting tasks run in the order they were added; remove_done_callback(fn)
# removes every registration of fn and returns how many. The scenarios of test_done_callbacks.cpp;
# run with python3.13 in this folder (done_callback_scenarios.out is what 3.13.0 printed).
import asyncio
import os
import sys

# The virtual-time loop shared with the compose scenarios.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                "asyncio", "compose", "cpython"))
from vtime import run  # noqa: E402


async def callbacks_and_awaiters_in_registration_order():
    log = []
    fut = asyncio.get_running_loop().create_future()

    async def awaiter(name):
        await fut
        log.append(f"{name} resumed")

    fut.add_done_callback(lambda f: log.append("callback 1"))
    a = asyncio.ensure_future(awaiter("task A"))
    await asyncio.sleep(0)  # A awaits now
    fut.add_done_callback(lambda f: log.append("callback 2"))
    b = asyncio.ensure_future(awaiter("task B"))
    await asyncio.sleep(0)
    fut.add_done_callback(lambda f: log.append("callback 3"))
    fut.set_result(None)
    await asyncio.gather(a, b)
    print("order:", log)


def record(log):
    def cb(f):
        log.append("ran")
    return cb


async def remove_by_callable():
    log = []
    fut = asyncio.get_running_loop().create_future()

    def cb(f):
        log.append("cb")

    def other(f):
        log.append("other")

    fut.add_done_callback(cb)
    fut.add_done_callback(other)
    fut.add_done_callback(cb)
    print("removed:", fut.remove_done_callback(cb))
    print("removed again:", fut.remove_done_callback(cb))
    fut.set_result(1)
    await asyncio.sleep(0)
    print("ran:", log)


if __name__ == "__main__":
    run(callbacks_and_awaiters_in_registration_order())
    run(remove_by_callable())
