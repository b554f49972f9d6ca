# close() returns what a generator or coroutine returned from its GeneratorExit handler (Python
# 3.13, gh-104770; earlier versions return None). The scenario of test_coroutine_throw_close.cpp's
# CoroutineClose.CloseReturnValue. close_return_value.out is what python3.13.0 printed.
import types


@types.coroutine
def suspend():
    yield


async def returns():
    try:
        await suspend()
    except GeneratorExit:
        return 1
    return 0


async def propagates():
    await suspend()
    return 0


c = returns()
c.send(None)
print("returned from the handler:", c.close())
print("closed already:", c.close())
p = propagates()
p.send(None)
print("GeneratorExit propagated:", p.close())
u = returns()
print("not started:", u.close())
