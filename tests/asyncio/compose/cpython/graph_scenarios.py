# The await graphs of tests/asyncio/compose/test_call_graph.cpp and cpython/test_graph.cpp in
# asyncio 3.14 (asyncio.format_call_graph / capture_call_graph). Needs python3.14, which this
# machine does not have: graph_scenarios.out was written from graph.py's rules (4 spaces a level;
# "* Task(name=..., id=0x...)", "  + Call stack:", "  |   File '...', line N, in async f()",
# "  + Awaited by:"; a call stack innermost first), with ids shown as 0x... and the line numbers
# of this file. The C++ tests check the same text with their own file, lines and ids.
#
# Where weft differs, by construction (see test_graph.cpp):
# - plain functions are not frames (no "in capture()" line); the coroutine running them is the
#   top frame, at the line that called;
# - the frames of the library's own helpers (TaskGroup.__aexit__, _aexit, wait, _wait,
#   Event.wait, wait_for) are not shown: the user's line that entered them stands for them.
import asyncio


async def example_test():
    print(asyncio.format_call_graph())


async def example_main():
    async with asyncio.TaskGroup() as g:
        g.create_task(example_test(), name='test')


async def leaf(go):
    await go.wait()


async def main():
    go = asyncio.Event()
    a = asyncio.create_task(leaf(go), name='a')
    b = asyncio.create_task(leaf(go), name='b')
    c = asyncio.create_task(leaf(go), name='c')

    async def gatherer():
        await asyncio.gather(a, b)
        await asyncio.shield(c)

    async def timed():
        await asyncio.wait_for(c, 100)

    w = asyncio.create_task(gatherer(), name='gatherer')
    t = asyncio.create_task(timed(), name='timed')
    await asyncio.sleep(0.001)
    print(asyncio.format_call_graph(a))
    print(asyncio.format_call_graph(c))
    go.set()
    await w
    await t


asyncio.run(example_main())
asyncio.run(main())
