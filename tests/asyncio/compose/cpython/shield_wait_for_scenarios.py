# shield() of a done future is that future; wait_for with a timeout <= 0 never starts the
# coroutine and raises TimeoutError chained to the CancelledError; the timeout's TimeoutError has
# no message. Run with python3.13 in this folder (shield_wait_for_scenarios.out is what 3.13.0
# printed).
import asyncio

from vtime import run


async def main():
    fut = asyncio.get_running_loop().create_future()
    fut.set_result(5)
    print("shield(done) is the future:", asyncio.shield(fut) is fut)
    pending = asyncio.get_running_loop().create_future()
    print("shield(pending) is the future:", asyncio.shield(pending) is pending)
    pending.cancel()

    for timeout in (0, -1):
        ran = []

        async def body():
            ran.append(True)
            return 1
        try:
            await asyncio.wait_for(body(), timeout)
        except TimeoutError as e:
            print(f"wait_for(coro, {timeout}): TimeoutError args={e.args}, body ran: {bool(ran)},",
                  "cause:", type(e.__cause__).__name__)

    try:
        async with asyncio.timeout(0.5):
            await asyncio.sleep(1)
    except TimeoutError as e:
        print("timeout(): TimeoutError args=", e.args, "cause:", type(e.__cause__).__name__)
    try:
        await asyncio.wait_for(asyncio.sleep(1), 0.5)
    except TimeoutError as e:
        print("wait_for(): TimeoutError args=", e.args, "cause:", type(e.__cause__).__name__)


if __name__ == "__main__":
    run(main())
