# What Task.get_stack / print_stack give in asyncio for the scenarios of
# tests/asyncio/compose/test_get_stack.cpp (run with python3.11 in this folder). The C++ tests
# check the same shapes: one frame (file, line, function) for a suspended task, the header lines
# "Stack for <repr> (most recent call last):", "Traceback for <repr> (most recent call last):"
# plus the exception line, "No stack for <repr>", and the "  File ..., line N, in f" / source
# line pairs of the traceback module.
#
# Where weft differs, by construction:
# - a failed task: CPython's frames are the traceback's (the raise line); a C++ exception carries
#   no traceback, so weft gives the frame of the last await the task left before raising;
# - a task awaiting a coroutine inline: CPython's one frame is the task's own coroutine at its
#   `await helper()` line; weft records the innermost await or sleep on the fiber (helper's);
# - the running task asking for its own stack: CPython gives the current line; weft none.
import asyncio
import io

from vtime import run


async def sleeper():
    await asyncio.sleep(10)  # print_stack shows this line


async def failing():
    await asyncio.sleep(1)
    raise ValueError("boom")


async def helper():
    await asyncio.sleep(10)


async def nested():
    await helper()


def show(title, task, limit=None):
    out = io.StringIO()
    task.print_stack(limit=limit, file=out)
    frames = [(f.f_code.co_name, f.f_lineno) for f in task.get_stack(limit=limit)]
    print(f"{title}: frames {frames}")
    print(out.getvalue(), end="")


async def main():
    t = asyncio.create_task(sleeper(), name="sleeper")
    await asyncio.sleep(1)
    show("suspended", t)
    show("limit 0", t, 0)
    show("limit -1", t, -1)
    t.cancel()
    await asyncio.sleep(0)
    show("cancelled", t)
    f = asyncio.create_task(failing(), name="failing")
    await asyncio.sleep(2)
    show("failed", f)
    f.exception()  # retrieved: no "never retrieved" report
    q = asyncio.create_task(asyncio.sleep(0, 1), name="quick")
    await q
    show("finished", q)
    n = asyncio.create_task(nested(), name="nested")
    await asyncio.sleep(1)
    show("nested (the task's own frame)", n)
    n.cancel()
    s = asyncio.create_task(sleeper(), name="not started")
    show("not started (the def line)", s)
    s.cancel()


if __name__ == "__main__":
    run(main())
