# asyncio.iscoroutine / iscoroutinefunction and Task.get_coro for the cases of
# tests/asyncio/compose/test_inspect.cpp (run with python3.11 in this folder).
import asyncio

from vtime import run


async def fetch(x):
    return x


async def main():
    coro = fetch(1)
    task = asyncio.create_task(fetch(2))
    fut = asyncio.get_running_loop().create_future()
    print("iscoroutine:", [asyncio.iscoroutine(o) for o in (coro, task, fut, 42, fetch)])
    print("iscoroutinefunction:",
          [asyncio.iscoroutinefunction(o) for o in (fetch, lambda: 0, len, coro)])
    print("get_coro:", task.get_coro().__name__, asyncio.iscoroutine(task.get_coro()))
    coro.close()
    await task
    fut.cancel()


if __name__ == "__main__":
    run(main())
