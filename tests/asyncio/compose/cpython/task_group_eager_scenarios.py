# A TaskGroup child that fails in its first, eager, step (asyncio 3.14 passes create_task's
# eager_start on; 3.13 has it per task through asyncio.Task(..., eager_start=True), used here by a
# task factory). The scenario of test_task_group.cpp's
# TaskGroup.AnEagerChildThatFailsAtOnceStillFailsTheGroup; run with python3.13 in this folder
# (task_group_eager_scenarios.out is what 3.13.0 printed). 3.13.0 calls the group's done callback
# at once for a task already done, so c is cancelled before it starts; gh-128550 (3.14, 3.13.2)
# schedules it, so c starts first and logs "c cancelled at 0" -- the newest, which weft follows.
import asyncio

from vtime import at, name_of, run


async def main():
    log = []
    loop = asyncio.get_running_loop()

    async def child(name, delay):
        try:
            await asyncio.sleep(delay)
        except asyncio.CancelledError:
            log.append(at(f"{name} cancelled"))
            raise

    async def fail():
        raise RuntimeError("eager")

    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(child("c", 10))
            loop.set_task_factory(lambda loop, coro, **kw: asyncio.Task(coro, loop=loop,
                                                                        eager_start=True, **kw))
            eager = tg.create_task(fail())
            loop.set_task_factory(None)
            log.append(f"eager done on return: {eager.done()}")
    except BaseException as e:
        log.append(at(f"caught {name_of(e)}"))
    print("an_eager_child_that_fails_at_once:", log)


if __name__ == "__main__":
    run(main())
