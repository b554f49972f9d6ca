// The core's costs, one layer at a time: a raw Boost.Context switch (the floor), weft's fiber
// switch (adds the sanitizer hooks and the exception-state hand-over), a coroutine's send/suspend
// round trip (adds the state word and the value slots), a generator step, and a coroutine's
// whole life (create, run, destroy: frame allocation and a pooled stack).
#include <benchmark/benchmark.h>
#include <boost/context/detail/fcontext.hpp>

#include <cstdlib>
#include <memory>

#include <weft/core.hpp>
#include <weft/detail/fiber.hpp>

namespace {

namespace ctx = boost::context::detail;

// ---- the floor: two jump_fcontext calls (in and back out), nothing else.

void raw_entry(ctx::transfer_t from) {
  for (;;) from = ctx::jump_fcontext(from.fctx, nullptr);
}

void BM_RawFcontextRoundTrip(benchmark::State& state) {
  constexpr std::size_t kStackSize = 64 * 1024;
  std::unique_ptr<char[]> stack(new char[kStackSize]);
  ctx::fcontext_t fiber = ctx::make_fcontext(stack.get() + kStackSize, kStackSize, &raw_entry);
  for (auto _ : state) {
    ctx::transfer_t back = ctx::jump_fcontext(fiber, nullptr);
    fiber = back.fctx;
  }
  // The fiber is left suspended in its loop; its stack is plain memory, freed with the buffer.
}
BENCHMARK(BM_RawFcontextRoundTrip);

// ---- weft's fiber: resume() + suspend(), with the exception-state swap on each side.

struct FiberLoop {
  weft::detail::Fiber fiber;
  bool stop = false;
  static void entry(void* self) {
    auto* loop = static_cast<FiberLoop*>(self);
    while (!loop->stop) loop->fiber.suspend();
    loop->fiber.finish();
  }
};

void BM_FiberResumeSuspend(benchmark::State& state) {
  FiberLoop loop;
  loop.fiber.start(&FiberLoop::entry, &loop, 64 * 1024);
  for (auto _ : state) loop.fiber.resume();
  loop.stop = true;
  loop.fiber.resume();
}
BENCHMARK(BM_FiberResumeSuspend);

// ---- a coroutine: send() in, weft::suspend() out, through the state word.

void BM_CoroutineSendSuspend(benchmark::State& state) {
  auto c = weft::coro([] {
    for (;;) weft::suspend();
  });
  for (auto _ : state) benchmark::DoNotOptimize(c.send());
  c.close();
}
BENCHMARK(BM_CoroutineSendSuspend);

// ---- a generator: next() to the following yield.

void BM_GeneratorNext(benchmark::State& state) {
  weft::Generator<long> counter([](auto& yield_) {
    for (long i = 0;; ++i) yield_(i);
  });
  for (auto _ : state) benchmark::DoNotOptimize(counter.send().yielded());
}
BENCHMARK(BM_GeneratorNext);

// ---- a coroutine's whole life: create, run to its return, destroy.

void BM_CoroutineCreateRunDestroy(benchmark::State& state) {
  int argument = 41;
  for (auto _ : state) {
    auto c = weft::coro([](int x) { return x + 1; }, argument);
    benchmark::DoNotOptimize(c.send().value());
  }
}
BENCHMARK(BM_CoroutineCreateRunDestroy);

}  // namespace
