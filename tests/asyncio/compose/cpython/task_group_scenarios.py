# The one-worker TaskGroup scenarios of tests/asyncio/compose/test_task_group.cpp, in asyncio
# (run with python3.11 in this folder); each prints the log the C++ test expects.
#
# weft's TaskGroup takes back the group's own cancellation of the parent (uncancel) after waiting
# for the children, as later CPython does; 3.11's __aexit__ does it before the wait, so a child
# that fails while the parent already waits there leaves the parent's cancelling() at 1. The
# scenario that shows it runs both: stock 3.11 and LaterTaskGroup (3.11's code with the uncancel
# moved after the wait).
import asyncio
from asyncio import exceptions

from vtime import at, name_of, outcome, run


class LaterTaskGroup(asyncio.TaskGroup):
    async def __aexit__(self, et, exc, tb):
        self._exiting = True
        if exc is not None and self._is_base_error(exc) and self._base_error is None:
            self._base_error = exc
        propagate_cancellation_error = exc if et is exceptions.CancelledError else None
        if et is not None and not self._aborting:
            self._abort()
        while self._tasks:
            if self._on_completed_fut is None:
                self._on_completed_fut = self._loop.create_future()
            try:
                await self._on_completed_fut
            except exceptions.CancelledError as ex:
                if not self._aborting:
                    propagate_cancellation_error = ex
                    self._abort()
            self._on_completed_fut = None
        if self._base_error is not None:
            raise self._base_error
        if self._parent_cancel_requested:  # moved here, after the wait
            if self._parent_task.uncancel() == 0:
                propagate_cancellation_error = None
        if propagate_cancellation_error and not self._errors:
            raise propagate_cancellation_error
        if et is not None and et is not exceptions.CancelledError:
            self._errors.append(exc)
        if self._errors:
            try:
                raise BaseExceptionGroup('unhandled errors in a TaskGroup', self._errors) from None
            finally:
                self._errors = None


async def child(log, name, delay, value=None, fail=None, on_cancel=None):
    try:
        await asyncio.sleep(delay)
    except asyncio.CancelledError:
        log.append(at(f"{name} cancelled"))
        if on_cancel:
            raise on_cancel
        raise
    if fail:
        log.append(at(f"{name} fails"))
        raise fail
    log.append(at(f"{name} done"))
    return value


async def guarded(log, coro):
    try:
        r = await coro
        log.append(at(f"scope ok {r}" if r is not None else "scope ok"))
    except BaseException as e:
        log.append(at(f"caught {name_of(e)}"))


async def tasks_awaited_at_scope_end():
    log = []

    async def scope():
        async with asyncio.TaskGroup() as tg:
            a = tg.create_task(child(log, "a", 1, 1))
            b = tg.create_task(child(log, "b", 2, 2))
            log.append(at("body end"))
        log.append(at(f"results {a.result()} {b.result()}"))

    await guarded(log, scope())
    print("tasks_awaited_at_scope_end:", log)


async def first_failure_cancels_the_rest():
    log = []

    async def scope():
        async with asyncio.TaskGroup() as tg:
            tg.create_task(child(log, "a", 1, fail=RuntimeError("boom")))
            tg.create_task(child(log, "b", 10))
            tg.create_task(child(log, "c", 10))

    await guarded(log, scope())
    print("first_failure_cancels_the_rest:", log)


async def failure_cancels_the_parent_body():
    log = []
    me = asyncio.current_task()

    async def scope():
        async with asyncio.TaskGroup() as tg:
            tg.create_task(child(log, "a", 1, fail=RuntimeError("boom")))
            await child(log, "body", 10)

    await guarded(log, scope())
    log.append(f"cancelling {me.cancelling()}")
    print("failure_cancels_the_parent_body:", log)


async def two_failures():
    log = []

    async def scope():
        async with asyncio.TaskGroup() as tg:
            tg.create_task(child(log, "a", 1, fail=RuntimeError("a")))
            tg.create_task(child(log, "b", 1, fail=RuntimeError("b")))
            tg.create_task(child(log, "c", 10))

    await guarded(log, scope())
    print("two_failures:", log)


async def failure_in_a_cancel_handler():
    log = []

    async def scope():
        async with asyncio.TaskGroup() as tg:
            tg.create_task(child(log, "a", 1, fail=RuntimeError("boom")))
            tg.create_task(child(log, "b", 10, on_cancel=ValueError("cleanup failed")))

    await guarded(log, scope())
    print("failure_in_a_cancel_handler:", log)


async def body_exception():
    log = []

    async def scope():
        async with asyncio.TaskGroup() as tg:
            tg.create_task(child(log, "a", 10))
            await asyncio.sleep(1)
            raise ValueError("body")

    await guarded(log, scope())
    print("body_exception:", log)


async def body_exception_after_children_errors():
    log = []

    async def scope():
        async with asyncio.TaskGroup() as tg:
            tg.create_task(child(log, "a", 10, on_cancel=RuntimeError("a cleanup")))
            await asyncio.sleep(1)
            raise ValueError("body")

    await guarded(log, scope())
    print("body_exception_after_children_errors:", log)


async def create_task_after_finish():
    log = []
    tg = asyncio.TaskGroup()
    async with tg:
        tg.create_task(child(log, "a", 1))
    coro = child(log, "late", 1)
    try:
        tg.create_task(coro)
    except RuntimeError as e:
        coro.close()
        log.append(f"RuntimeError: {str(e).replace(repr(tg) + ' ', '')}")
    print("create_task_after_finish:", log)


async def create_task_while_shutting_down():
    log = []

    async def scope():
        async with asyncio.TaskGroup() as tg:
            tg.create_task(child(log, "a", 1, fail=RuntimeError("boom")))
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                coro = child(log, "late", 1)
                try:
                    tg.create_task(coro)
                except RuntimeError as e:
                    coro.close()
                    log.append(at(f"RuntimeError: {str(e).replace(repr(tg) + ' ', '')}"))
                raise

    await guarded(log, scope())
    print("create_task_while_shutting_down:", log)


async def cancelling_back_to_zero(group_class):
    log = []
    me = asyncio.current_task()

    async def scope():
        async with group_class() as tg:
            tg.create_task(child(log, "a", 1, fail=RuntimeError("boom")))
            tg.create_task(child(log, "b", 10))
            log.append(at("body end"))  # the failure comes while the parent waits in the exit

    await guarded(log, scope())
    log.append(f"cancelling {me.cancelling()}")
    print(f"cancelling_back_to_zero ({group_class.__name__}):", log)


async def cancelling_the_parent_in_the_body():
    log = []

    async def scope():
        async with asyncio.TaskGroup() as tg:
            tg.create_task(child(log, "a", 10))
            tg.create_task(child(log, "b", 10))
            await child(log, "body", 10)

    w = asyncio.create_task(guarded(log, scope()))
    await asyncio.sleep(1)
    w.cancel()
    await w
    print("cancelling_the_parent_in_the_body:", log)


async def cancelling_the_parent_while_exiting():
    log = []

    async def scope():
        async with asyncio.TaskGroup() as tg:
            tg.create_task(child(log, "a", 10))
            log.append(at("body end"))

    async def parent():
        try:
            await scope()
        except asyncio.CancelledError:
            log.append(at("parent CancelledError"))
            raise

    w = asyncio.create_task(parent())
    await asyncio.sleep(1)
    w.cancel()
    try:
        await w
    except asyncio.CancelledError:
        pass
    log.append(f"parent {outcome(w)}")
    print("cancelling_the_parent_while_exiting:", log)


async def a_cancelled_child_is_not_a_failure():
    log = []

    async def scope():
        async with asyncio.TaskGroup() as tg:
            a = tg.create_task(child(log, "a", 10))
            tg.create_task(child(log, "b", 2))
            asyncio.get_running_loop().call_later(1, a.cancel)

    await guarded(log, scope())
    print("a_cancelled_child_is_not_a_failure:", log)


async def tasks_added_while_exiting():
    log = []

    async def scope():
        async with asyncio.TaskGroup() as tg:
            async def spawner():
                await asyncio.sleep(1)
                tg.create_task(child(log, "late", 1))
                log.append(at("spawned"))

            tg.create_task(spawner())
            log.append(at("body end"))

    await guarded(log, scope())
    print("tasks_added_while_exiting:", log)


if __name__ == "__main__":
    for scenario in [tasks_awaited_at_scope_end, first_failure_cancels_the_rest,
                     failure_cancels_the_parent_body, two_failures, failure_in_a_cancel_handler,
                     body_exception, body_exception_after_children_errors,
                     create_task_after_finish, create_task_while_shutting_down,
                     lambda: cancelling_back_to_zero(asyncio.TaskGroup),
                     lambda: cancelling_back_to_zero(LaterTaskGroup),
                     cancelling_the_parent_in_the_body, cancelling_the_parent_while_exiting,
                     a_cancelled_child_is_not_a_failure, tasks_added_while_exiting]:
        run(scenario())
