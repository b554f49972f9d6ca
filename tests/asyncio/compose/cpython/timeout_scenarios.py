# The one-worker timeout()/timeout_at() scenarios of tests/asyncio/compose/test_timeout.cpp, in
# asyncio (run with python3.11 -- 3.11.7 has 3.12's cancel-count rule -- in this folder); each
# prints the log the C++ test expects.
import asyncio

from vtime import at, name_of, num, run


async def sleeper(log, delay, name="body"):
    try:
        await asyncio.sleep(delay)
    except asyncio.CancelledError:
        log.append(at(f"{name} cancelled"))
        raise
    log.append(at(f"{name} done"))


async def guarded(log, coro):
    try:
        await coro
        log.append(at("scope ok"))
    except BaseException as e:
        log.append(at(f"caught {name_of(e)}"))


def loop_time():
    return asyncio.get_running_loop().time()


async def body_cancelled_and_timeout_error():
    log = []

    async def scope():
        async with asyncio.timeout(1):
            await sleeper(log, 10)

    await guarded(log, scope())
    print("body_cancelled_and_timeout_error:", log)


async def expired():
    log = []
    cms = []

    async def scope(delay):
        async with asyncio.timeout(1) as cm:
            cms.append(cm)
            log.append(f"expired inside: {cm.expired()}")
            await sleeper(log, delay)

    await guarded(log, scope(0.5))
    log.append(f"in time: expired {cms[-1].expired()}")
    await guarded(log, scope(5))
    log.append(f"late: expired {cms[-1].expired()}")
    print("expired:", log)


async def reschedule_later():
    log = []

    async def scope():
        async with asyncio.timeout(1) as cm:
            cm.reschedule(loop_time() + 5)
            await sleeper(log, 3)
        log.append(f"expired {cm.expired()}")

    await guarded(log, scope())
    print("reschedule_later:", log)


async def reschedule_earlier():
    log = []

    async def scope():
        async with asyncio.timeout(10) as cm:
            cm.reschedule(loop_time() + 1)
            await sleeper(log, 5)

    await guarded(log, scope())
    print("reschedule_earlier:", log)


async def reschedule_none():
    log = []

    async def scope():
        async with asyncio.timeout(1) as cm:
            cm.reschedule(None)
            log.append(f"when {cm.when()}")
            await sleeper(log, 3)

    await guarded(log, scope())
    print("reschedule_none:", log)


async def when():
    log = []
    await asyncio.sleep(1)
    async with asyncio.timeout_at(5) as cm:
        log.append(f"timeout_at(5).when() {num(cm.when())}")
    async with asyncio.timeout(2) as cm:
        log.append(f"timeout(2).when() {num(cm.when())}")
    print("when:", log)


async def timeout_at_uses_loop_clock():
    log = []
    await asyncio.sleep(1)

    async def scope():
        async with asyncio.timeout_at(loop_time() + 2):
            await sleeper(log, 5)

    await guarded(log, scope())
    print("timeout_at_uses_loop_clock:", log)


async def nested_inner_expires():
    log = []

    async def scope():
        async with asyncio.timeout(10) as outer:
            try:
                async with asyncio.timeout(1) as inner:
                    await sleeper(log, 5)
            except TimeoutError:
                log.append(at("inner timeout"))
            await asyncio.sleep(1)
            log.append(at("outer body done"))
        log.append(f"outer expired {outer.expired()}, inner expired {inner.expired()}")

    await guarded(log, scope())
    print("nested_inner_expires:", log)


async def nested_outer_expires():
    log = []
    cms = []

    async def scope():
        async with asyncio.timeout(1) as outer:
            cms.append(outer)
            try:
                async with asyncio.timeout(10) as inner:
                    cms.append(inner)
                    await sleeper(log, 5)
            except asyncio.CancelledError:
                log.append(at("inner scope raised CancelledError"))
                raise

    await guarded(log, scope())
    log.append(f"outer expired {cms[0].expired()}, inner expired {cms[1].expired()}")
    print("nested_outer_expires:", log)


async def outside_cancellation():
    log = []
    cms = []

    async def scope():
        async with asyncio.timeout(10) as cm:
            cms.append(cm)
            await sleeper(log, 5)

    w = asyncio.create_task(guarded(log, scope()))
    await asyncio.sleep(1)
    w.cancel()
    await w
    log.append(f"expired {cms[0].expired()}")
    print("outside_cancellation:", log)


async def outside_cancellation_during_expiry():
    log = []
    cms = []

    async def scope():
        async with asyncio.timeout(1) as cm:
            cms.append(cm)
            try:
                await asyncio.sleep(5)
            except asyncio.CancelledError:
                log.append(at("body cancelled, cleaning up"))
                await sleeper(log, 1, "cleanup")

    w = asyncio.create_task(guarded(log, scope()))
    await asyncio.sleep(1.5)
    w.cancel()
    await w
    log.append(f"expired {cms[0].expired()}")
    print("outside_cancellation_during_expiry:", log)


async def cancel_counts_balance():
    log = []
    me = asyncio.current_task()

    async def scope(delay, body):
        async with asyncio.timeout(delay):
            await body

    await guarded(log, scope(1, asyncio.sleep(5)))
    log.append(f"after an expired scope: cancelling {me.cancelling()}")
    await guarded(log, scope(5, asyncio.sleep(1)))
    log.append(f"after a scope in time: cancelling {me.cancelling()}")

    async def nested():
        async with asyncio.timeout(1):
            async with asyncio.timeout(10):
                await asyncio.sleep(5)

    await guarded(log, nested())
    log.append(f"after nested scopes: cancelling {me.cancelling()}")
    print("cancel_counts_balance:", log)


async def reschedule_after_exit():
    log = []
    async with asyncio.timeout(1) as done_in_time:
        pass
    try:
        done_in_time.reschedule(10)
    except RuntimeError as e:
        log.append(f"RuntimeError: {e}")
    try:
        async with asyncio.timeout(1) as expired_one:
            await asyncio.sleep(5)
    except TimeoutError:
        pass
    try:
        expired_one.reschedule(10)
    except RuntimeError as e:
        log.append(f"RuntimeError: {e}")
    print("reschedule_after_exit:", log)


async def late_timer_never_fires():
    log = []
    async with asyncio.timeout(1):
        value = 5
    log.append(at(f"scope returned {value}"))
    await sleeper(log, 2, "after the scope")
    print("late_timer_never_fires:", log)


async def none_never_expires():
    log = []

    async def scope():
        async with asyncio.timeout(None) as cm:
            log.append(f"when {cm.when()}")
            await sleeper(log, 3600)

    await guarded(log, scope())
    print("none_never_expires:", log)


async def body_exception_propagates():
    log = []

    async def scope():
        async with asyncio.timeout(1):
            await asyncio.sleep(0.5)
            raise ValueError("boom")

    await guarded(log, scope())
    print("body_exception_propagates:", log)


async def past_deadline():
    log = []

    async def quick():
        async with asyncio.timeout(0):
            log.append("body without await")
        return 1

    async def sleepy(delay):
        async with asyncio.timeout(delay):
            await sleeper(log, 1)

    await guarded(log, quick())
    await guarded(log, sleepy(0))
    await guarded(log, sleepy(-1))
    print("past_deadline:", log)


async def entered_with_pending_cancellation():
    log = []
    me = asyncio.current_task()

    async def inner_task():
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            log.append(at(f"cancelled, cancelling {asyncio.current_task().cancelling()}"))
        try:
            async with asyncio.timeout(1):
                await asyncio.sleep(5)
        except TimeoutError:
            log.append(at(f"TimeoutError, cancelling {asyncio.current_task().cancelling()}"))

    t = asyncio.create_task(inner_task())
    await asyncio.sleep(1)
    t.cancel()
    await t
    print("entered_with_pending_cancellation:", log)


if __name__ == "__main__":
    for scenario in [body_cancelled_and_timeout_error, expired, reschedule_later,
                     reschedule_earlier, reschedule_none, when, timeout_at_uses_loop_clock,
                     nested_inner_expires, nested_outer_expires, outside_cancellation,
                     outside_cancellation_during_expiry, cancel_counts_balance,
                     reschedule_after_exit, late_timer_never_fires, none_never_expires,
                     body_exception_propagates, past_deadline,
                     entered_with_pending_cancellation]:
        run(scenario())
