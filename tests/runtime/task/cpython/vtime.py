# A virtual-time event loop for the scenarios: when nothing is ready, the clock jumps to the next
# timer instead of sleeping (what weft's RunOptions::virtual_time does), so the times printed are
# exact and the scenarios run at once. One thread: asyncio's FIFO order, as weft's one worker.
import asyncio
import selectors


class _JumpingSelector(selectors.DefaultSelector):
    def __init__(self, loop):
        super().__init__()
        self._loop = loop

    def select(self, timeout=None):
        if timeout is None:
            raise RuntimeError("deadlock: nothing ready and no timer")
        if timeout > 0:
            self._loop._now += timeout
        return super().select(0)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self):
        self._now = 0.0
        super().__init__(selector=_JumpingSelector(self))

    def time(self):
        return self._now


def run(main):
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(main)


def now():
    return round(asyncio.get_running_loop().time(), 3)


def num(x):
    """A number as C++'s ostream prints a double: 3, 1.5 (None stays None)."""
    if x is None:
        return None
    x = round(x, 3)
    return int(x) if x == int(x) else x


def at(what):
    return f"{what} at {num(now())}"


def name_of(exc):
    """How the C++ tests' name_of() prints an exception."""
    if isinstance(exc, asyncio.CancelledError):
        return "CancelledError"
    if isinstance(exc, TimeoutError):
        return "TimeoutError"
    if isinstance(exc, BaseExceptionGroup):
        return "ExceptionGroup: [" + ", ".join(name_of(e) for e in exc.exceptions) + "]"
    return f"{type(exc).__name__}: {exc}"


def outcome(fut):
    if fut.cancelled():
        return "CancelledError"
    exc = fut.exception()
    return "ok" if exc is None else name_of(exc)
