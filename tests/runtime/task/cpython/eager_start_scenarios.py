# Eager tasks: create_task(coro, eager_start=True) (3.14) runs the coroutine at once, inside
# create_task, until it first suspends; one that ends without suspending is done on return.
# Python 3.13 has the same per task through asyncio.Task(coro, eager_start=True) (what 3.12's
# eager_task_factory uses), which this script calls. The scenarios of test_eager_start.cpp; run
# with python3.13 in this folder (eager_start_scenarios.out is what 3.13.0 printed).
import asyncio


def eager(coro, name=None):
    return asyncio.Task(coro, loop=asyncio.get_running_loop(), name=name, eager_start=True)


async def runs_until_its_first_suspension():
    log = []

    async def body():
        log.append(f"body starts in {asyncio.current_task().get_name()}")
        await asyncio.sleep(0)
        log.append("body resumes")
        return 7

    log.append("before create_task")
    t = eager(body(), name="eager")
    log.append(f"after create_task: done={t.done()}")
    log.append(f"result {await t}")
    print("runs_until_its_first_suspension:", log)


async def done_at_once_without_suspending():
    async def body():
        return 5

    t = eager(body())
    print("done_at_once_without_suspending:", t.done(), t.result())


async def an_exception_in_the_first_step_finishes_the_task():
    async def body():
        raise ValueError("boom")

    t = eager(body())
    print("an_exception_in_the_first_step_finishes_the_task:", t.done(), repr(t.exception()))


async def the_creator_resumes_before_the_lazy_tasks_it_made():
    log = []

    async def child(name):
        log.append(f"{name} starts")
        await asyncio.sleep(0)
        log.append(f"{name} ends")

    lazy = asyncio.create_task(child("lazy"))
    first = eager(child("eager"))
    log.append("creator continues")
    await asyncio.gather(lazy, first)
    print("the_creator_resumes_before_the_lazy_tasks_it_made:", log)


if __name__ == "__main__":
    for scenario in [runs_until_its_first_suspension, done_at_once_without_suspending,
                     an_exception_in_the_first_step_finishes_the_task,
                     the_creator_resumes_before_the_lazy_tasks_it_made]:
        asyncio.run(scenario())
