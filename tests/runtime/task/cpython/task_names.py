# Only tasks that get the default name advance the Task-N counter (Python 3.13; 3.11 and 3.12 advance
# it for named tasks too). The scenario of test_create_task.cpp's
# CreateTask.OnlyDefaultNamedTasksAdvanceTheCounter. task_names.out holds what python3.13.0 and
# python3.11.7 printed.
import asyncio


async def main():
    a = asyncio.create_task(asyncio.sleep(0))
    named = asyncio.create_task(asyncio.sleep(0), name="x")
    b = asyncio.create_task(asyncio.sleep(0))
    print(a.get_name(), named.get_name(), b.get_name())
    await asyncio.gather(a, named, b)


asyncio.run(main())
